/* daemon_stats.c - the daemon's sender statistics (stats.h): one table
 * that every milter worker counts into (a mutex and a hash, no I/O on
 * the RCPT path), added to memcached by a thread of its own every
 * StatsInterval, and once more at stop. */
#include "daemon.h"
#include "log.h"
#include "stats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static struct bg_stats *table;
static atomic_int counting;          /* StatsInterval of the current config > 0 */

void stats_count(const char *sender, enum bg_stat what)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        bg_stats_count(table, sender, what);
}

/* Add the table to memcached with the current runtime's store. */
static void flush_now(struct runtime *r)
{
    char err[512];
    if (bg_stats_flush(table, r->store, (long long)time(NULL), err, sizeof err) < 0)
        rt_warn_store(r, "stats", "stats-flush", err);
}

static void *stats_thread(void *arg)
{
    (void)arg;
    long long last = (long long)time(NULL);
    for (;;) {
        struct runtime *r = rt_get();
        if (r == NULL)
            break; /* stopping */
        unsigned every = r->cfg.stats_interval;
        atomic_store(&counting, every > 0);
        long long now = (long long)time(NULL);
        if (every > 0 && now - last >= (long long)every) {
            last = now;
            flush_now(r);
        }
        rt_put(r);
        struct timespec tick = { 0, 200 * 1000000L };
        nanosleep(&tick, NULL);
    }
    return NULL;
}

int stats_start(unsigned max_domains, unsigned interval)
{
    table = bg_stats_new(max_domains);
    if (table == NULL)
        return -1;
    atomic_store(&counting, interval > 0);
    pthread_t th;
    if (pthread_create(&th, NULL, stats_thread, NULL) != 0)
        return -1;
    pthread_detach(th);
    return 0;
}

void stats_stop(void)
{
    struct runtime *r = rt_get();
    if (r != NULL) {
        flush_now(r);
        rt_put(r);
    }
}
