/* stats.h - per-sender-domain figures for the whole fleet: how many
 * recipients each sender domain had accepted and refused at RCPT, and
 * what was learned of its mail (hard, soft, block, complaint).
 *
 * bouncegate-logwatch counts the deliveries (status=sent) and what it
 * learns from the log, with the sender its queue id was logged with.
 *
 * Counting is local and costs no round trip: bg_stats_count adds to a
 * table in memory (a mutex and a hash), and bg_stats_flush, called from a
 * background thread every StatsInterval, adds the table to counters in
 * memcached with atomic increments, so every MTA of the site adds to the
 * same figures and any host can read them (bg_stats_read). A flush that
 * fails loses those figures, never mail.
 *
 * Counters are kept in two sizes of time bucket: ten minutes (kept two
 * hours: the 1h window is the last six, the current one included) and one
 * hour (kept eight days: the 24h and 7d windows are the last 24 and 168).
 * Keys: KeyPrefix + "c:" + GRANULARITY BUCKET "|" COUNTER "|" DOMAIN,
 * e.g. "bg:c:h493000|sent|site.example"; the domains counted by name in
 * an hour are listed under "h" BUCKET "|domains".
 *
 * Bounded: a daemon names at most StatsDomains sender domains per hour,
 * the first it counts in that hour; the others are counted as "other".
 * Between two flushes it holds at most four times that many domains.
 */
#ifndef BG_STATS_H
#define BG_STATS_H

#include <stddef.h>
#include "store.h"

enum bg_stat {
    BG_STAT_SENT = 0,        /* recipient accepted at RCPT */
    BG_STAT_REFUSED,         /* recipient refused (or removed): suppressed */
    BG_STAT_HARD,            /* learned: hard bounce */
    BG_STAT_SOFT,            /* learned: soft bounce */
    BG_STAT_BLOCK,           /* learned: blocked (the sender's fault) */
    BG_STAT_COMPLAINT,       /* learned: complaint */
    BG_STAT_DELIVERED,       /* the log's status=sent (bouncegate-logwatch) */
    BG_STAT_N
};

/* "sent", "refused", "hard", "soft", "block", "complaint", "delivered". */
const char *bg_stat_name(enum bg_stat what);

#define BG_STATS_OTHER "other"
/* The most names per hour a table keeps (StatsDomains above it is cut). */
#define BG_STATS_DOMAINS_MAX 10000
/* A counter read back is taken as at most this (2^40): what memcached
 * holds may have been written by anyone who can reach it. */
#define BG_STATS_COUNT_MAX (1ULL << 40)


struct bg_stats;

/* What a table counts by: the sender's domain, or the SASL login that
 * submitted the mail (logins: the recipients sent and refused only; a
 * bounce does not say who logged in). A login's counters sit beside the
 * domains' as "~LOGIN" (no domain has a '~'), listed under
 * "h" BUCKET "|logins". */
enum bg_stats_kind { BG_STATS_SENDERS = 0, BG_STATS_LOGINS };

/* A counting table naming at most max_domains names per hour (1 to
 * BG_STATS_DOMAINS_MAX). NULL when out of memory. */
struct bg_stats *bg_stats_new(unsigned max_domains, enum bg_stats_kind kind);
void bg_stats_free(struct bg_stats *st);

/* Count one event for the sender (an address or a bare domain; its
 * domain, lower-cased, is what counts; "" or no domain counts as "-") or,
 * in a table of logins, for the login (lower-cased). Thread-safe; no I/O.
 * NULL st: nothing. */
void bg_stats_count(struct bg_stats *st, const char *sender, enum bg_stat what);

/* Add what was counted since the last flush to memcached, as of time now.
 * 0, or -1 with err (the figures of that flush are lost). */
int bg_stats_flush(struct bg_stats *st, struct bg_store *s, long long now,
                   char *err, size_t errsz);

/* ---- reading */

struct bg_stats_row {
    char domain[256];
    unsigned long long v[BG_STAT_N];
};

/* The figures of the last window_s seconds (<= 3600: ten-minute buckets,
 * else hourly ones; at most 8 days) as of now, one row per sender domain
 * (or login)
 * with any count, "other" included, busiest (sent + refused) first; only
 * the domain `only` when not NULL. *rows is malloc'ed (free it), also
 * when *nrows is 0. 0 or -1 with err. */
int bg_stats_read(struct bg_store *s, enum bg_stats_kind kind, long long now,
                  long long window_s, const char *only, struct bg_stats_row **rows,
                  size_t *nrows, char *err, size_t errsz);

/* Percent of n over d, 0 when d is 0. */
double bg_stats_rate(unsigned long long n, unsigned long long d);

/* Limits in millionths of the recipients sent (10000 = 1%; 0 = none) and
 * the volume below which nothing is judged (AlertHardRate...). */
struct bg_stats_limits {
    unsigned hard, bounce, complaint;
    unsigned min_sent;
};
#define BG_OVER_HARD 1u
#define BG_OVER_BOUNCE 2u
#define BG_OVER_COMPLAINT 4u
/* The limits the row is over (strictly), as BG_OVER_* bits; 0 when it
 * sent fewer than min_sent. Integer arithmetic: no rounding at the edge. */
unsigned bg_stats_over(const struct bg_stats_row *r, const struct bg_stats_limits *l);
/* Is count over limit (millionths) of sent? Counts up to
 * BG_STATS_COUNT_MAX. */
int bg_stats_over_one(unsigned long long count, unsigned long long sent, unsigned limit);

#endif
