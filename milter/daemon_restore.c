/* daemon_restore.c - the background thread that keeps memcached holding
 * the suppression set (restore.h) and the journal tidy.
 *
 * It wakes once per second: syncs journal lines written since the last
 * sync (JournalSync interval), and every RestoreInterval (and at start)
 * checks the marker and replays the journal when memcached lost the set,
 * then looks whether the journal needs compacting. Mail never waits for
 * any of this: the milter workers only ever do their own lookups, which
 * fail open while memcached is empty or down. A failed check is retried
 * at the next interval; failures are logged at most once per
 * WarnInterval.
 */
#include "daemon.h"
#include "log.h"
#include "restore.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static long long mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

static void one_check(struct runtime *r, struct bg_restorer *rs, long long *last_warn)
{
    struct bg_restore_result res;
    char err[512];
    int what = bg_restore_check(rs, r->store, r->cfg.journal, &res, err, sizeof err);
    if (what < 0) {
        long long now = mono_s();
        if (*last_warn == 0 || now - *last_warn >= (long long)r->cfg.warn_interval) {
            *last_warn = now;
            bg_log(LOG_WARNING, "restore", "action=restore-failed entries=%zu error=\"%s\" "
                   "retry_in=%us", res.entries, err,
                   r->cfg.restore_interval ? r->cfg.restore_interval : 1);
        }
        return;
    }
    *last_warn = 0;
    if (what == BG_RESTORE_NOTHING)
        return;
    bg_log(LOG_NOTICE, "restore", "action=restore entries=%zu tombstones=%zu seconds=%.3f "
           "added=%zu present=%zu tail_deletes=%zu bad_lines=%zu reason=%s%s%s generation=%s",
           res.entries, res.tombstones, res.seconds, res.added, res.present,
           res.tail_deletes, res.bad,
           what == BG_RESTORE_RESTORED ? "marker-missing"
           : what == BG_RESTORE_NODE   ? "node-restarted"
                                       : "other-host-restored",
           what == BG_RESTORE_NODE ? " node=" : "", what == BG_RESTORE_NODE ? rs->restarted : "",
           rs->gen);
}

static void *restore_thread(void *arg)
{
    (void)arg;
    struct bg_restorer rs;
    memset(&rs, 0, sizeof rs);
    long long last_check = 0, last_warn = 0;
    int first = 1;
    for (;;) {
        struct runtime *r = rt_get();
        if (r == NULL)
            break; /* stopping */
        if (r->journal != NULL) {
            char err[512];
            if (bg_journal_flush(r->journal, err, sizeof err) < 0)
                bg_log(LOG_WARNING, "journal", "problem=sync error=\"%s\"", err);
            long long now = mono_s();
            if (first || (r->cfg.restore_interval &&
                          now - last_check >= (long long)r->cfg.restore_interval)) {
                first = 0;
                last_check = now;
                one_check(r, &rs, &last_warn);
                int c = bg_journal_maintain(r->journal, (long long)time(NULL),
                                            BG_JOURNAL_COMPACT_MIN, err, sizeof err);
                if (c < 0)
                    bg_log(LOG_WARNING, "journal", "problem=compact error=\"%s\"", err);
                else if (c > 0)
                    bg_log(LOG_NOTICE, "journal", "action=compact journal=%s",
                           r->cfg.journal);
            }
        }
        rt_put(r);
        struct timespec one = { 1, 0 };
        nanosleep(&one, NULL);
    }
    return NULL;
}

int restore_start(void)
{
    pthread_t th;
    if (pthread_create(&th, NULL, restore_thread, NULL) != 0)
        return -1;
    pthread_detach(th);
    return 0;
}
