/* daemon_runtime.c - the reference-counted current configuration. */
#include "daemon.h"
#include "log.h"
#include "secure.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *rt_cur;

/* "10s", "0.5s", "12.3s": a duration in ms as seconds, one decimal. */
static void fmt_secs(long long ms, char *out, size_t outsz)
{
    if (ms < 0)
        ms = 0;
    if (ms % 1000 == 0)
        snprintf(out, outsz, "%llds", ms / 1000);
    else
        snprintf(out, outsz, "%lld.%llds", ms / 1000, (ms % 1000) / 100);
}

/* The store's circuit breaker changed state: one line per change. */
static void rt_breaker_log(void *arg, const struct bg_breaker_event *ev)
{
    (void)arg;
    char retry[32], after[32];
    fmt_secs(ev->retry_in_ms, retry, sizeof retry);
    fmt_secs(ev->open_ms, after, sizeof after);
    switch (ev->change) {
    case BG_BREAKER_OPENED:
        bg_log(LOG_WARNING, "store", "action=breaker-open failures=%u retry_in=%s "
               "error=\"%s\"", ev->failures, retry, ev->error ? ev->error : "-");
        break;
    case BG_BREAKER_REOPENED:
        /* Once per cooldown for as long as memcached stays away: info. */
        bg_log(LOG_INFO, "store", "action=breaker-probe-failed after=%s skipped=%llu "
               "retry_in=%s error=\"%s\"", after, ev->skipped, retry,
               ev->error ? ev->error : "-");
        break;
    case BG_BREAKER_CLOSED_AGAIN:
        bg_log(LOG_NOTICE, "store", "action=breaker-closed after=%s skipped=%llu", after,
               ev->skipped);
        /* memcached is back, maybe restarted empty: check the set now,
         * not at the next RestoreInterval. */
        restore_wake();
        break;
    case BG_BREAKER_NONE:
        break;
    }
}

static void rt_destroy(struct runtime *r)
{
    bg_learner_free(&r->learner);
    memset(&r->signer, 0, sizeof r->signer);
    bg_store_close(r->store);
    bg_journal_close(r->journal);
    free(r);
}

struct runtime *rt_build(const char *path, const char *cli_socket, char *err,
                         size_t errsz)
{
    struct runtime *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    bg_config_defaults(&r->cfg);
    if (path != NULL && bg_config_load(&r->cfg, path, err, errsz) < 0) {
        free(r);
        return NULL;
    }
    if (cli_socket != NULL) {
        char serr[256];
        if (strlen(cli_socket) >= sizeof r->cfg.socket) {
            snprintf(err, errsz, "-p %.200s: socket name too long", cli_socket);
            free(r);
            return NULL;
        }
        if (bg_socket_check(cli_socket, serr, sizeof serr) < 0) {
            snprintf(err, errsz, "-p %s: %s", cli_socket, serr);
            free(r);
            return NULL;
        }
        memcpy(r->cfg.socket, cli_socket, strlen(cli_socket) + 1);
    }
    char lerr[512];
    if (bg_learner_setup(&r->learner, &r->cfg, lerr, sizeof lerr) < 0) {
        snprintf(err, errsz, "%s: %s", path ? path : "(defaults)", lerr);
        free(r);
        return NULL;
    }
    if (r->cfg.signing_key_file[0]) {
        if (bg_sign_load_key(r->cfg.signing_key_file, &r->signer, lerr, sizeof lerr) < 0) {
            snprintf(err, errsz, "%s: SigningKeyFile: %s", path ? path : "(defaults)", lerr);
            bg_learner_free(&r->learner);
            free(r);
            return NULL;
        }
        r->have_signer = 1;
    }
    /* A configuration others can change is reported, not refused: the
     * caller logs r->warning. */
    if (path != NULL)
        if (bg_file_check(path, 0, r->warning, sizeof r->warning) <= 0)
            r->warning[0] = '\0';
    char serr[512];
    /* Opening a journal opens no file yet (the daemon starts even when
     * the journal directory is missing; start-up logs the problem). */
    if (r->cfg.journal[0] &&
        (r->journal = bg_journal_open(r->cfg.journal, r->cfg.journal_sync, serr,
                                      sizeof serr)) == NULL) {
        snprintf(err, errsz, "%s: Journal: %s", path ? path : "(defaults)", serr);
        bg_learner_free(&r->learner);
        free(r);
        return NULL;
    }
    struct bg_store_opts so;
    char pw[512];
    if (bg_store_opts_from_config(&r->cfg, &so, pw, sizeof pw, lerr, sizeof lerr) < 0) {
        snprintf(err, errsz, "%s: %s", path ? path : "(defaults)", lerr);
        bg_journal_close(r->journal);
        bg_learner_free(&r->learner);
        free(r);
        return NULL;
    }
    so.timeout_ms = r->cfg.lookup_timeout_ms;
    so.pool_max = r->cfg.pool_size;
    so.breaker_failures = r->cfg.breaker_failures;
    so.breaker_cooldown_ms = r->cfg.breaker_cooldown_ms;
    so.on_breaker = rt_breaker_log;
    so.journal = r->journal;
    r->store = bg_store_open(&so, serr, sizeof serr);
    memset(pw, 0, sizeof pw);
    if (r->store == NULL) {
        snprintf(err, errsz, "%s: Memcached: %s", path ? path : "(defaults)", serr);
        bg_journal_close(r->journal);
        bg_learner_free(&r->learner);
        free(r);
        return NULL;
    }
    r->refs = 1;
    return r;
}

void rt_install(struct runtime *r)
{
    pthread_mutex_lock(&rt_lock);
    struct runtime *old = rt_cur;
    rt_cur = r;
    pthread_mutex_unlock(&rt_lock);
    if (old != NULL)
        rt_put(old);
}

struct runtime *rt_get(void)
{
    pthread_mutex_lock(&rt_lock);
    struct runtime *r = rt_cur;
    if (r != NULL)
        r->refs++;
    pthread_mutex_unlock(&rt_lock);
    return r;
}

void rt_put(struct runtime *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&rt_lock);
    int last = (--r->refs == 0);
    pthread_mutex_unlock(&rt_lock);
    if (last)
        rt_destroy(r);
}

static _Atomic long long warn_last;
static _Atomic unsigned long warn_held;

void rt_warn_store(const struct runtime *r, const char *id, const char *problem,
                   const char *what)
{
    long long now = (long long)time(NULL);
    long long last = atomic_load(&warn_last);
    if (now - last < (long long)r->cfg.warn_interval ||
        !atomic_compare_exchange_strong(&warn_last, &last, now)) {
        atomic_fetch_add(&warn_held, 1);
        return;
    }
    unsigned long held = atomic_exchange(&warn_held, 0);
    bg_log(LOG_WARNING, id, "problem=%s error=\"%s\" similar_held_back=%lu", problem,
           what, held);
}

/* ------------------------------------------------ unchecked recipients */

/* Every recipient accepted without a lookup is logged on a line of its own
 * (action=accept-unchecked), at most UNCHECKED_LINES a second; beyond
 * that they are counted and the count is logged once the second is over
 * (by the next unchecked recipient, by the restore thread's tick, or at
 * stop), so none goes unreported, however long the outage. */
#define UNCHECKED_LINES 20

static pthread_mutex_t unc_mu = PTHREAD_MUTEX_INITIALIZER;
static long long unc_sec;            /* the second being counted */
static unsigned unc_lines;           /* lines logged in it */
static unsigned long unc_held;       /* recipients not logged since unc_since */
static long long unc_since;          /* first of those (epoch seconds) */

/* Logs the held count if its second is over (all: whatever the time).
 * Called with unc_mu held. */
static void unc_flush_locked(long long now, int all)
{
    if (unc_held > 0 && (all || now != unc_sec)) {
        bg_log(LOG_WARNING, "NOQUEUE", "action=accept-unchecked held_back=%lu since=%lld",
               unc_held, unc_since);
        unc_held = 0;
    }
    if (now != unc_sec) {
        unc_sec = now;
        unc_lines = 0;
    }
}

void rt_unchecked(const char *id, const char *sid, const char *from, const char *rcpt,
                  const char *reason)
{
    long long now = (long long)time(NULL);
    pthread_mutex_lock(&unc_mu);
    unc_flush_locked(now, 0);
    int line = unc_lines < UNCHECKED_LINES;
    if (line) {
        unc_lines++;
    } else {
        if (unc_held++ == 0)
            unc_since = now;
    }
    pthread_mutex_unlock(&unc_mu);
    if (line)
        bg_log(LOG_NOTICE, id, "sid=%s action=accept-unchecked from=<%s> rcpt=<%s> reason=%s",
               sid, from, rcpt, reason);
}

void rt_unchecked_flush(int all)
{
    pthread_mutex_lock(&unc_mu);
    unc_flush_locked((long long)time(NULL), all);
    pthread_mutex_unlock(&unc_mu);
}

/* ------------------------------------------------ the breaker's prober */

/* While the breaker is open, memcached is asked by this thread alone,
 * every PROBE_TICK_MS once the cooldown is over: a recipient never waits
 * for a probe of a hung server, and the breaker closes within a tick and
 * one round trip of memcached answering again. While it is closed a tick
 * costs one atomic load. */
#define PROBE_TICK_MS 100

static void *probe_thread(void *arg)
{
    (void)arg;
    for (;;) {
        struct runtime *r = rt_get();
        if (r == NULL)
            break; /* stopping */
        (void)bg_store_probe(r->store);
        rt_put(r);
        struct timespec tick = { 0, PROBE_TICK_MS * 1000000L };
        nanosleep(&tick, NULL);
    }
    return NULL;
}

int probe_start(void)
{
    pthread_t th;
    if (pthread_create(&th, NULL, probe_thread, NULL) != 0)
        return -1;
    pthread_detach(th);
    return 0;
}
