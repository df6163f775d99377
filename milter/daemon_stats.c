/* daemon_stats.c - the daemon's sender statistics (stats.h): one table
 * that every milter worker counts into (a mutex and a hash, no I/O on
 * the RCPT path), added to memcached by a thread of its own every
 * StatsInterval, and once more at stop.
 *
 * After each flush the thread judges the fleet's last hour (the figures
 * every MTA added) against the limits:
 *   - alerts (AlertHardRate, AlertBounceRate, AlertComplaintRate, over
 *     AlertMinRecipients sent): the first daemon of the fleet to see a
 *     sender domain over a limit logs one "action=alert" line (a memcached
 *     marker, add, kept an hour: once per window), and the first to see
 *     it back under logs "action=alert-recovered";
 *   - the brake (BrakeHardRate): a sender domain over it gets 451 4.7.1 at
 *     MAIL FROM on every daemon, each judging the same shared figures,
 *     until the rate falls or `bouncegatectl release DOMAIN` (a marker,
 *     an hour) lifts it; "action=brake" and "action=brake-lifted" logged
 *     once for the fleet the same way. "other" is never judged: it is
 *     many senders. When the figures cannot be read, nobody is paused:
 *     bouncegate fails open.
 * Alerts and their recoveries are logged at most once an hour each per
 * domain and limit (markers that are not deleted: a rate that hovers at
 * the limit does not repeat them).
 *
 * The thread also keeps the figures of the last 1h (each judgement), 24h
 * (each minute, or at once when they count less than the last hour's) and
 * 7d (each 5 minutes, or when behind the day's) for /metrics and the
 * status page (stats_figures): a scrape or a page load never reads
 * memcached itself. */
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "stats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MARK_TTL 3600          /* alert, brake and release markers: the window */
#define BRAKES_MAX 256

static struct bg_stats *table;
static struct bg_stats *logins;      /* by SASL login: sent and refused */
static atomic_int counting;          /* StatsInterval of the current config > 0 */
static atomic_int stopping;
static pthread_t thread;
static int thread_running;

/* ------------------------------------------------------------ figures kept */

static const long long windows[3] = { 3600, 86400, 7 * 86400 };
static const long long refresh[3] = { 0, 60, 300 };   /* 0: every judgement */
static pthread_mutex_t fig_mu = PTHREAD_MUTEX_INITIALIZER;
static struct bg_stats_row *fig_rows[3];
static size_t fig_n[3];
static long long fig_at[3];              /* when read; 0: never */
static int fig_ok[3];

/* Keep rows (taken over) as the figures of window w. */
static void figures_set(int w, struct bg_stats_row *rows, size_t n, int ok)
{
    pthread_mutex_lock(&fig_mu);
    if (ok) {
        free(fig_rows[w]);
        fig_rows[w] = rows;
        fig_n[w] = n;
        fig_at[w] = (long long)time(NULL);
    }
    fig_ok[w] = ok;
    pthread_mutex_unlock(&fig_mu);
}

int stats_figures(int w, struct bg_stats_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    if (w < 0 || w > 2)
        return 0;
    pthread_mutex_lock(&fig_mu);
    int ok = fig_ok[w] && fig_at[w] != 0;
    if (fig_rows[w] != NULL && (*rows = malloc((fig_n[w] ? fig_n[w] : 1) * sizeof **rows)))
        memcpy(*rows, fig_rows[w], fig_n[w] * sizeof **rows), *n = fig_n[w];
    pthread_mutex_unlock(&fig_mu);
    return ok;
}

void stats_count(const char *sender, const char *login, enum bg_stat what)
{
    if (!atomic_load_explicit(&counting, memory_order_relaxed))
        return;
    bg_stats_count(table, sender, what);
    if (login != NULL && login[0] != '\0')
        bg_stats_count(logins, login, what);
}

/* ------------------------------------------------------------ the brake */

struct brake {
    char domain[256];
    char reason[160];
};
static pthread_rwlock_t brake_mu = PTHREAD_RWLOCK_INITIALIZER;
static struct brake *brakes;         /* the current set, replaced whole */
static atomic_size_t nbrakes;        /* read without the lock: 0 = nothing to look at */

int stats_braked(const char *sender, char *reason, size_t reasonsz)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed) == 0 ||
        atomic_load_explicit(&nbrakes, memory_order_relaxed) == 0)
        return 0;
    const char *at = sender != NULL ? strrchr(sender, '@') : NULL;
    if (at == NULL)
        return 0;
    int hit = 0;
    pthread_rwlock_rdlock(&brake_mu);
    size_t nb = atomic_load_explicit(&nbrakes, memory_order_relaxed);
    for (size_t i = 0; brakes != NULL && i < nb && !hit; i++)
        if (strcasecmp(brakes[i].domain, at + 1) == 0) {
            snprintf(reason, reasonsz, "%s", brakes[i].reason);
            hit = 1;
        }
    pthread_rwlock_unlock(&brake_mu);
    return hit;
}

/* ------------------------------------------------------------ judging */

/* Which (domain, limit) pairs this daemon saw over: only those are
 * checked for recovery, so a check costs no memcached call per domain. */
struct seen {
    char domain[256];
    unsigned over;           /* BG_OVER_* seen over */
    int braked;
    int visited;             /* in this judgement's figures */
};
static struct seen *seen;
static size_t nseen, capseen;
#define SEEN_MAX 4096                /* a bound: past it, new domains are not judged */

static struct seen *seen_get(const char *domain, int create)
{
    for (size_t i = 0; i < nseen; i++)
        if (strcmp(seen[i].domain, domain) == 0)
            return &seen[i];
    if (!create || nseen >= SEEN_MAX)
        return NULL;
    if (nseen == capseen) {
        size_t nc = capseen ? capseen * 2 : 16;
        struct seen *n = realloc(seen, nc * sizeof *n);
        if (n == NULL)
            return NULL;
        seen = n;
        capseen = nc;
    }
    struct seen *s = &seen[nseen++];
    memset(s, 0, sizeof *s);
    snprintf(s->domain, sizeof s->domain, "%s", domain);
    return s;
}

static const char *pct(char *buf, size_t sz, double v)
{
    snprintf(buf, sz, "%.2f%%", v);
    return buf;
}

static const char *limit_text(char *buf, size_t sz, unsigned millionths)
{
    snprintf(buf, sz, "%g%%", millionths / 10000.0);
    return buf;
}

static void alerts(struct runtime *r, const struct bg_stats_row *row, unsigned over,
                   struct seen *sn)
{
    static const struct {
        unsigned bit;
        const char *name;
    } kinds[] = { { BG_OVER_HARD, "hard" }, { BG_OVER_BOUNCE, "bounce" },
                  { BG_OVER_COMPLAINT, "complaint" } };
    const unsigned long long *v = row->v;
    unsigned long long sent = v[BG_STAT_SENT];
    double rates[3] = {
        bg_stats_rate(v[BG_STAT_HARD], sent),
        bg_stats_rate(v[BG_STAT_HARD] + v[BG_STAT_SOFT] + v[BG_STAT_BLOCK], sent),
        bg_stats_rate(v[BG_STAT_COMPLAINT], sent),
    };
    unsigned limits[3] = { r->cfg.alert_hard, r->cfg.alert_bounce, r->cfg.alert_complaint };
    for (int k = 0; k < 3; k++) {
        char name[300], err[256], a[32], b[32];
        snprintf(name, sizeof name, "alert|%s|%s", kinds[k].name, row->domain);
        if (over & kinds[k].bit) {
            sn->over |= kinds[k].bit;
            if (bg_store_add(r->store, BG_KIND_META, name, MARK_TTL, err, sizeof err) == 1) {
                bg_log(LOG_WARNING, "stats", "action=alert domain=%s rate=%s value=%s limit=%s "
                       "sent=%llu hard=%llu soft=%llu block=%llu complaint=%llu window=1h",
                       row->domain, kinds[k].name, pct(a, sizeof a, rates[k]),
                       limit_text(b, sizeof b, limits[k]), sent, v[BG_STAT_HARD],
                       v[BG_STAT_SOFT], v[BG_STAT_BLOCK], v[BG_STAT_COMPLAINT]);
                bg_metrics_alert();
            }
        } else if (sn->over & kinds[k].bit) {
            sn->over &= ~kinds[k].bit;
            snprintf(name, sizeof name, "alert-recovered|%s|%s", kinds[k].name, row->domain);
            if (bg_store_add(r->store, BG_KIND_META, name, MARK_TTL, err, sizeof err) == 1)
                bg_log(LOG_NOTICE, "stats", "action=alert-recovered domain=%s rate=%s "
                       "value=%s limit=%s sent=%llu window=1h", row->domain, kinds[k].name,
                       pct(a, sizeof a, rates[k]), limit_text(b, sizeof b, limits[k]), sent);
        }
    }
}

/* Has `bouncegatectl release` lifted the brake of domain (this hour)? */
static int released(struct runtime *r, const char *domain)
{
    char name[300], val[8], err[256];
    snprintf(name, sizeof name, "release|%s", domain);
    return bg_store_meta_get(r->store, name, val, sizeof val, err, sizeof err) == 1;
}

/* Replace the set of paused domains (nb taken over, NULL: none). */
static void brakes_set(struct brake *nb, size_t nnb)
{
    pthread_rwlock_wrlock(&brake_mu);
    struct brake *old = brakes;
    brakes = nb;
    atomic_store(&nbrakes, nb != NULL ? nnb : 0);
    pthread_rwlock_unlock(&brake_mu);
    free(old);
}

static void judge(struct runtime *r)
{
    struct bg_stats_row *rows;
    size_t n;
    char err[256];
    if (bg_stats_read(r->store, BG_STATS_SENDERS, (long long)time(NULL), 3600, NULL, &rows, &n,
                      err,
                      sizeof err) < 0) {
        /* memcached trouble (logged by the flush or the breaker): no
         * figures, so nobody is paused - and nothing else is judged */
        brakes_set(NULL, 0);
        figures_set(0, NULL, 0, 0);
        return;
    }
    for (size_t i = 0; i < nseen; i++)
        seen[i].visited = 0;
    struct bg_stats_limits al = { r->cfg.alert_hard, r->cfg.alert_bounce,
                                  r->cfg.alert_complaint, r->cfg.alert_min };
    struct bg_stats_limits bl = { r->cfg.brake_hard, 0, 0, r->cfg.brake_min };
    struct brake *nb = calloc(BRAKES_MAX, sizeof *nb);
    size_t nnb = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bg_stats_row *row = &rows[i];
        if (strcmp(row->domain, BG_STATS_OTHER) == 0 || strcmp(row->domain, "-") == 0)
            continue;
        unsigned over = bg_stats_over(row, &al);
        int brake = r->cfg.brake_hard != 0 && (bg_stats_over(row, &bl) & BG_OVER_HARD) &&
                    !released(r, row->domain);
        struct seen *sn = seen_get(row->domain, over != 0 || brake);
        if (sn == NULL)
            continue;
        sn->visited = 1;
        alerts(r, row, over, sn);
        char name[300], a[32], b[32];
        snprintf(name, sizeof name, "brake|%s", row->domain);
        double hard = bg_stats_rate(row->v[BG_STAT_HARD], row->v[BG_STAT_SENT]);
        if (brake && nb != NULL && nnb < BRAKES_MAX) {
            struct brake *k = &nb[nnb++];
            snprintf(k->domain, sizeof k->domain, "%s", row->domain);
            snprintf(k->reason, sizeof k->reason, "sender paused: %s hard bounces in the "
                     "last hour, limit %s", pct(a, sizeof a, hard),
                     limit_text(b, sizeof b, r->cfg.brake_hard));
            /* Added again at every judgement while it lasts: a brake longer
             * than the marker's hour keeps one, and its lift is logged. */
            if (bg_store_add(r->store, BG_KIND_META, name, MARK_TTL, err, sizeof err) == 1 &&
                !sn->braked) {
                bg_log(LOG_WARNING, "stats", "action=brake domain=%s value=%s limit=%s "
                       "sent=%llu hard=%llu window=1h", row->domain, a, b,
                       row->v[BG_STAT_SENT], row->v[BG_STAT_HARD]);
                bg_metrics_brake(1);
            }
            sn->braked = 1;
        } else if (sn->braked) {
            sn->braked = 0;
            if (bg_store_restore(r->store, BG_KIND_META, name, NULL, 0, 0, err,
                                 sizeof err) == 1) {
                bg_log(LOG_NOTICE, "stats", "action=brake-lifted domain=%s reason=%s "
                       "value=%s sent=%llu window=1h", row->domain,
                       released(r, row->domain) ? "released" : "rate-fell",
                       pct(a, sizeof a, hard), row->v[BG_STAT_SENT]);
                bg_metrics_brake(0);
            }
        }
    }
    /* A domain judged before and gone from the figures (nothing counted
     * for it in the hour): under every limit now. */
    for (size_t i = 0; i < nseen; i++) {
        if (seen[i].visited)
            continue;
        struct bg_stats_row gone;
        memset(&gone, 0, sizeof gone);
        snprintf(gone.domain, sizeof gone.domain, "%s", seen[i].domain);
        alerts(r, &gone, 0, &seen[i]);
        if (seen[i].braked) {
            char name[300];
            seen[i].braked = 0;
            snprintf(name, sizeof name, "brake|%s", seen[i].domain);
            if (bg_store_restore(r->store, BG_KIND_META, name, NULL, 0, 0, err,
                                 sizeof err) == 1) {
                bg_log(LOG_NOTICE, "stats", "action=brake-lifted domain=%s reason=rate-fell "
                       "value=0.00%% sent=0 window=1h", seen[i].domain);
                bg_metrics_brake(0);
            }
        }
    }
    /* Forget the ones with nothing left to recover from. */
    size_t keep = 0;
    for (size_t i = 0; i < nseen; i++)
        if (seen[i].over != 0 || seen[i].braked)
            seen[keep++] = seen[i];
    nseen = keep;
    figures_set(0, rows, n, 1);
    brakes_set(nb, nnb);
}

/* Do the figures of window w count less than those of the shorter
 * window w - 1 for some domain? Then they are behind: a day holds its
 * last hour. With fig_mu held. */
static int behind(int w)
{
    for (size_t i = 0; i < fig_n[w - 1]; i++) {
        const struct bg_stats_row *a = &fig_rows[w - 1][i];
        const struct bg_stats_row *b = NULL;
        for (size_t j = 0; j < fig_n[w] && b == NULL; j++)
            if (strcmp(fig_rows[w][j].domain, a->domain) == 0)
                b = &fig_rows[w][j];
        for (int k = 0; k < BG_STAT_N; k++)
            if (a->v[k] > (b != NULL ? b->v[k] : 0))
                return 1;
    }
    return 0;
}

/* The 24h and 7d figures, when due: every refresh[w] seconds, or at once
 * when they are behind the shorter window's. */
static void refresh_figures(struct runtime *r)
{
    long long now = (long long)time(NULL);
    for (int w = 1; w < 3; w++) {
        pthread_mutex_lock(&fig_mu);
        int due = fig_at[w] == 0 || now - fig_at[w] >= refresh[w] || !fig_ok[w] || behind(w);
        pthread_mutex_unlock(&fig_mu);
        if (!due)
            continue;
        struct bg_stats_row *rows;
        size_t n;
        char err[256];
        int ok = bg_stats_read(r->store, BG_STATS_SENDERS, now, windows[w], NULL, &rows, &n, err,
                               sizeof err) == 0;
        figures_set(w, ok ? rows : NULL, ok ? n : 0, ok);
    }
}

/* ------------------------------------------------------------ the thread */

/* Add the table to memcached with the current runtime's store. */
static void flush_now(struct runtime *r)
{
    char err[512];
    long long now = (long long)time(NULL);
    if (bg_stats_flush(table, r->store, now, err, sizeof err) < 0 ||
        bg_stats_flush(logins, r->store, now, err, sizeof err) < 0)
        rt_warn_store(r, "stats", "stats-flush", err);
}

static void *stats_thread(void *arg)
{
    (void)arg;
    long long last = (long long)time(NULL);
    while (!atomic_load(&stopping)) {
        struct runtime *r = rt_get();
        if (r == NULL)
            break; /* stopping */
        unsigned every = r->cfg.stats_interval;
        atomic_store(&counting, every > 0);
        long long now = (long long)time(NULL);
        if (every > 0 && now - last >= (long long)every) {
            last = now;
            flush_now(r);
            judge(r);
            refresh_figures(r);
        }
        rt_put(r);
        struct timespec tick = { 0, 200 * 1000000L };
        nanosleep(&tick, NULL);
    }
    return NULL;
}

int stats_start(unsigned max_domains, unsigned interval)
{
    table = bg_stats_new(max_domains, BG_STATS_SENDERS);
    logins = bg_stats_new(max_domains, BG_STATS_LOGINS);
    if (table == NULL || logins == NULL)
        return -1;
    atomic_store(&counting, interval > 0);
    if (pthread_create(&thread, NULL, stats_thread, NULL) != 0)
        return -1;
    thread_running = 1;
    return 0;
}

void stats_stop(void)
{
    /* The thread first (it may be flushing), then the last counts. */
    atomic_store(&stopping, 1);
    if (thread_running)
        pthread_join(thread, NULL);
    thread_running = 0;
    struct runtime *r = rt_get();
    if (r != NULL) {
        flush_now(r);
        rt_put(r);
    }
}
