/* daemon.h - state shared by the parts of the bouncegate daemon. */
#ifndef BG_DAEMON_H
#define BG_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "config.h"
#include "journal.h"
#include "learn.h"
#include "sign.h"
#include "stats.h"
#include "store.h"

/* What the workers use: one immutable config and the store built from it.
 * Replaced as a whole on reload; workers hold a reference for the span of
 * one callback, so a reload never pulls a store out from under a lookup. */
struct runtime {
    struct bg_config cfg;
    struct bg_store *store;
    struct bg_journal *journal;  /* NULL without Journal; the store appends */
    struct bg_learner learner;   /* rules, policy, learning parameters */
    struct bg_signer signer;     /* valid when have_signer */
    int have_signer;
    char warning[400];       /* unsafe permissions of the config file, or "" */
    unsigned refs;           /* guarded by the runtime lock */
};

/* Build a runtime from a config file (NULL: defaults). Returns NULL with
 * err set on failure. cli_socket overrides Socket when non-NULL. */
struct runtime *rt_build(const char *path, const char *cli_socket, char *err,
                         size_t errsz);
void rt_install(struct runtime *r);   /* make current; drops the old one */
struct runtime *rt_get(void);         /* current, with a reference */
void rt_put(struct runtime *r);       /* drop a reference */

/* A warning that repeats (memcached down...) is logged at most once per
 * WarnInterval, with the count of the ones held back. */
void rt_warn_store(const struct runtime *r, const char *id, const char *problem,
                   const char *what);

/* A recipient accepted without a lookup (memcached failed, the breaker is
 * open, no pooled connection came free): its own notice line, at most 20
 * a second, the rest counted into one warning line per second - none is
 * lost. rt_unchecked_flush logs a count held back from a second that is
 * over (all: also the current one; at stop). */
void rt_unchecked(const char *id, const char *sid, const char *from, const char *rcpt,
                  const char *reason);
void rt_unchecked_flush(int all);

/* Reports (daemon_report.c): parse a bounce or complaint held in buf and
 * learn from it. From Postfix (its own DSN, see daemon_filter.c) it is
 * trusted; from outside or submitted locally with a null sender, each
 * recipient must carry a valid tag in the returned headers (sign.h).
 * Never fails the mail. */
enum report_from {
    REPORT_FROM_POSTFIX,     /* source=postfix-dsn */
    REPORT_FROM_OUTSIDE,     /* over SMTP: source=remote-dsn or arf */
    REPORT_FROM_SUBMISSION,  /* sendmail(1) -f '': source=local-dsn or local-arf */
};
void report_learn(struct runtime *r, const char *id, const char *sender, const char *buf,
                  size_t len, enum report_from from);

/* The restore thread (daemon_restore.c): checks the marker at start and
 * every RestoreInterval, replays the Journal into memcached when it was
 * lost, syncs the journal each second and compacts it when it grew. Never
 * runs in a milter worker. 0, or -1 when the thread cannot start. */
int restore_start(void);

/* Have the restore thread check the set at once (within 100 ms): the
 * breaker just closed, and memcached may have come back empty. */
void restore_wake(void);

/* The breaker's prober (daemon_runtime.c): while the breaker is open it
 * alone asks memcached (bg_store_probe), so no recipient pays for a
 * probe. 0, or -1 when the thread cannot start. */
int probe_start(void);

/* Sender statistics (daemon_stats.c, stats.h): count from any worker
 * (no I/O); a thread adds the counts to memcached every StatsInterval
 * (StatsDomains, read at start, bounds the names per hour); stats_stop
 * adds the last ones. stats_start: 0, or -1 when it cannot start. */
int stats_start(unsigned max_domains, unsigned interval);
void stats_count(const char *sender, const char *login, enum bg_stat what);
/* The brake (BrakeHardRate): 1 with the reply's text in reason when the
 * sender's domain is paused, else 0. A lock and a short scan; no I/O. */
int stats_braked(const char *sender, char *reason, size_t reasonsz);
/* The fleet's figures the stats thread keeps for window w (0: 1h, 1:
 * 24h, 2: 7d): a malloc'ed copy in *rows (NULL when none yet), 1 when
 * the last read of them succeeded. */
int stats_figures(int w, struct bg_stats_row **rows, size_t *n);
void stats_stop(void);

/* MetricsListen (daemon_http.c): /metrics and the status page. start:
 * 0 (also when spec is empty: nothing to serve), -1 when it cannot listen
 * (logged). */
int http_start(const char *spec);
void http_stop(void);

/* The status page (daemon_page.c) with the fleet's figures over 1h, 24h
 * and 7d (rows[w]: NULL when they could not be read). */
struct bg_page_view {
    int stats_ok;
    struct bg_stats_row *rows[3];
    size_t nrows[3];
};
void page_write(FILE *fp, struct runtime *r, const struct bg_page_view *v);

/* The milter callbacks (daemon_filter.c). */
extern struct smfiDesc bg_filter_desc;
void filter_init(void);   /* once, before smfi_main */

#endif
