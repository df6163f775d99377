/* stats.c - per-sender-domain figures for the whole fleet (see stats.h):
 * counted in memory, added to memcached counters by a background flush,
 * read back over a window. */
#include "stats.h"
#include "err.h"
#include "key.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOM_MAX 256
#define MINUTE_BUCKET 600            /* ten minutes */
#define HOUR_BUCKET 3600
#define MINUTE_TTL (3 * 3600)        /* the 1h window, and some */
#define HOUR_TTL (8 * 86400)         /* the 7d window, and a day */
#define LIST_MAX (64 * 1024)         /* a list of names read back */
#define READ_DOMAINS_MAX 10000

static const char *const names[BG_STAT_N] = {
    "sent", "refused", "hard", "soft", "block", "complaint", "delivered"
};

const char *bg_stat_name(enum bg_stat what)
{
    return (unsigned)what < BG_STAT_N ? names[what] : "?";
}

struct dent {
    char dom[DOM_MAX];
    unsigned long long v[BG_STAT_N];
};

struct bg_stats {
    enum bg_stats_kind kind;
    pthread_mutex_t mu;              /* the counting table: t, n, other */
    unsigned max;                    /* names per hour */
    /* counted since the last flush */
    struct dent *t;                  /* open addressing; dom[0] == 0: empty */
    struct dent *spare;              /* the other table, swapped in at a flush */
    size_t cap, n;                   /* cap a power of two, n <= cap / 2 */
    unsigned long long other[BG_STAT_N];
    /* the flusher's own (flush_mu: one flush at a time): the names of the
     * current hour */
    pthread_mutex_t flush_mu;
    long long hour;
    char (*named)[DOM_MAX];
    size_t nnamed;
};

struct bg_stats *bg_stats_new(unsigned max_domains, enum bg_stats_kind kind)
{
    if (max_domains == 0)
        max_domains = 1;
    if (max_domains > BG_STATS_DOMAINS_MAX)
        max_domains = BG_STATS_DOMAINS_MAX;
    struct bg_stats *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->max = max_domains;
    st->kind = kind;
    st->cap = 16;
    while (st->cap < (size_t)max_domains * 8)
        st->cap *= 2;
    st->t = calloc(st->cap, sizeof *st->t);
    st->spare = calloc(st->cap, sizeof *st->spare);
    st->named = calloc(max_domains, sizeof *st->named);
    if (st->t == NULL || st->spare == NULL || st->named == NULL) {
        free(st->t);
        free(st->spare);
        free(st->named);
        free(st);
        return NULL;
    }
    st->hour = -1;
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->flush_mu, NULL);
    return st;
}

void bg_stats_free(struct bg_stats *st)
{
    if (st == NULL)
        return;
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->flush_mu);
    free(st->t);
    free(st->spare);
    free(st->named);
    free(st);
}

/* A character of a name: a domain's (letters, digits and . - _ [ ] :,
 * an address literal included), a login's (letters, digits and
 * . - _ @ +). */
static int name_char(enum bg_stats_kind kind, unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')
        return 1;
    return kind == BG_STATS_LOGINS ? c == '@' || c == '+'
                                   : c == '[' || c == ']' || c == ':';
}

/* The name counted: the sender's domain (the part after the last '@'),
 * or the whole login, lower-cased, as a key and a list can carry it;
 * anything else, or nothing, is "-". */
static void name_of(enum bg_stats_kind kind, const char *sender, char *out)
{
    const char *at = sender != NULL && kind == BG_STATS_SENDERS ? strrchr(sender, '@') : NULL;
    const char *d = at != NULL ? at + 1 : sender != NULL ? sender : "";
    size_t n = 0;
    for (; d[n] != '\0'; n++) {
        unsigned char c = (unsigned char)d[n];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        int ok = name_char(kind, c);
        if (!ok || n >= DOM_MAX - 1) {
            n = 0;
            break;
        }
        out[n] = (char)c;
    }
    out[n] = '\0';
    if (n == 0 || strcmp(out, BG_STATS_OTHER) == 0)   /* "other" is the rest's */
        snprintf(out, DOM_MAX, "-");
}

static size_t hash_dom(const char *d)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *d; d++) {
        h ^= (unsigned char)*d;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

void bg_stats_count(struct bg_stats *st, const char *sender, enum bg_stat what)
{
    if (st == NULL || (unsigned)what >= BG_STAT_N)
        return;
    char dom[DOM_MAX];
    name_of(st->kind, sender, dom);
    size_t mask = st->cap - 1;
    pthread_mutex_lock(&st->mu);
    for (size_t i = hash_dom(dom) & mask;; i = (i + 1) & mask) {
        struct dent *e = &st->t[i];
        if (e->dom[0] != '\0' && strcmp(e->dom, dom) == 0) {
            e->v[what]++;
            break;
        }
        if (e->dom[0] == '\0') {
            if (st->n >= st->cap / 2) {
                st->other[what]++;   /* full until the next flush */
            } else {
                memcpy(e->dom, dom, strlen(dom) + 1);
                e->v[what] = 1;
                st->n++;
            }
            break;
        }
    }
    pthread_mutex_unlock(&st->mu);
}

/* ------------------------------------------------------------ flush */

/* Counter keys: "m" BUCKET "|" COUNTER "|" NAME, a login's NAME after a
 * '~' (no domain has one). */
static const char *mark(enum bg_stats_kind kind)
{
    return kind == BG_STATS_LOGINS ? "~" : "";
}

static const char *list_name(enum bg_stats_kind kind)
{
    return kind == BG_STATS_LOGINS ? "logins" : "domains";
}

static int add_counts(struct bg_store *s, enum bg_stats_kind kind, long long now,
                      const char *dom, const unsigned long long *v, char *err, size_t errsz)
{
    char name[DOM_MAX + 64];
    unsigned long long ignored;
    for (int k = 0; k < BG_STAT_N; k++) {
        if (v[k] == 0)
            continue;
        unsigned d = v[k] > 0xffffffffULL ? 0xffffffffU : (unsigned)v[k];
        snprintf(name, sizeof name, "m%lld|%s|%s%s", now / MINUTE_BUCKET, names[k], mark(kind),
                 dom);
        if (bg_store_incr(s, BG_KIND_STAT, name, d, MINUTE_TTL, &ignored, err, errsz) < 0)
            return -1;
        snprintf(name, sizeof name, "h%lld|%s|%s%s", now / HOUR_BUCKET, names[k], mark(kind),
                 dom);
        if (bg_store_incr(s, BG_KIND_STAT, name, d, HOUR_TTL, &ignored, err, errsz) < 0)
            return -1;
    }
    return 0;
}

/* Is dom named this hour? Names it when there is room (listing it in
 * memcached). 1 named, 0 not (counted as "other"), -1 error. */
static int name_domain(struct bg_stats *st, struct bg_store *s, const char *dom,
                       char *err, size_t errsz)
{
    for (size_t i = 0; i < st->nnamed; i++)
        if (strcmp(st->named[i], dom) == 0)
            return 1;
    if (st->nnamed >= st->max)
        return 0;
    char list[64];
    snprintf(list, sizeof list, "h%lld|%s", st->hour, list_name(st->kind));
    if (bg_store_list_add(s, BG_KIND_STAT, list, dom, HOUR_TTL, err, errsz) < 0)
        return -1;
    memcpy(st->named[st->nnamed++], dom, strlen(dom) + 1);
    return 1;
}

int bg_stats_flush(struct bg_stats *st, struct bg_store *s, long long now,
                   char *err, size_t errsz)
{
    if (st == NULL || s == NULL)
        return 0;
    pthread_mutex_lock(&st->flush_mu);
    /* Swap in the empty table: the counters wait for a pointer swap, not
     * for a copy. */
    unsigned long long other[BG_STAT_N];
    pthread_mutex_lock(&st->mu);
    struct dent *pending = st->t;
    st->t = st->spare;
    st->spare = pending;
    st->n = 0;
    memcpy(other, st->other, sizeof other);
    memset(st->other, 0, sizeof st->other);
    pthread_mutex_unlock(&st->mu);

    if (now / HOUR_BUCKET != st->hour) {
        st->hour = now / HOUR_BUCKET;
        st->nnamed = 0;
    }
    int rc = 0;
    for (size_t i = 0; i < st->cap; i++) {
        struct dent *d = &pending[i];
        if (d->dom[0] == '\0')
            continue;
        /* A domain that cannot be named (memcached trouble) counts as
         * "other"; once memcached failed, the rest of this flush is lost. */
        int named = rc == 0 ? name_domain(st, s, d->dom, err, errsz) : 0;
        if (named > 0) {
            if (add_counts(s, st->kind, now, d->dom, d->v, err, errsz) < 0)
                rc = -1;
        } else {
            if (named < 0)
                rc = -1;
            for (int k = 0; k < BG_STAT_N; k++)
                other[k] += d->v[k];
        }
        d->dom[0] = '\0';
        memset(d->v, 0, sizeof d->v);
    }
    if (rc == 0)
        rc = add_counts(s, st->kind, now, BG_STATS_OTHER, other, err, errsz);
    pthread_mutex_unlock(&st->flush_mu);
    return rc;
}

/* ------------------------------------------------------------ reading */

double bg_stats_rate(unsigned long long n, unsigned long long d)
{
    return d == 0 ? 0.0 : 100.0 * (double)n / (double)d;
}

int bg_stats_over_one(unsigned long long count, unsigned long long sent, unsigned limit)
{
    /* count / sent > limit / 1e6, without division; counts stay far below
     * 2^44, so neither side can wrap */
    return limit > 0 && sent > 0 && count * 1000000ULL > (unsigned long long)limit * sent;
}

unsigned bg_stats_over(const struct bg_stats_row *r, const struct bg_stats_limits *l)
{
    unsigned long long sent = r->v[BG_STAT_SENT];
    if (sent == 0 || sent < l->min_sent)
        return 0;
    unsigned long long bounces = r->v[BG_STAT_HARD] + r->v[BG_STAT_SOFT] + r->v[BG_STAT_BLOCK];
    unsigned over = 0;
    if (bg_stats_over_one(r->v[BG_STAT_HARD], sent, l->hard))
        over |= BG_OVER_HARD;
    if (bg_stats_over_one(bounces, sent, l->bounce))
        over |= BG_OVER_BOUNCE;
    if (bg_stats_over_one(r->v[BG_STAT_COMPLAINT], sent, l->complaint))
        over |= BG_OVER_COMPLAINT;
    return over;
}

struct domlist {
    char (*v)[DOM_MAX];
    size_t n;
};

/* A name as name_of makes them, or "other": what the lists in memcached
 * hold unless someone else wrote there. Anything else is skipped: it
 * would end up in log lines, labels and the page. */
static int name_ok(enum bg_stats_kind kind, const char *d, size_t len)
{
    if (len == 0 || len >= DOM_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!name_char(kind, (unsigned char)d[i]))
            return 0;
    return 1;
}

/* The index of d in l, added when new; -1 when not a name or full. */
static long domlist_add(struct domlist *l, enum bg_stats_kind kind, const char *d, size_t len)
{
    if (!name_ok(kind, d, len))
        return -1;
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->v[i]) == len && memcmp(l->v[i], d, len) == 0)
            return (long)i;
    if (l->n >= READ_DOMAINS_MAX)
        return -1;
    memcpy(l->v[l->n], d, len);
    l->v[l->n][len] = '\0';
    return (long)l->n++;
}

static int cmp_rows(const void *a, const void *b)
{
    const struct bg_stats_row *x = a, *y = b;
    unsigned long long vx = x->v[BG_STAT_SENT] + x->v[BG_STAT_REFUSED];
    unsigned long long vy = y->v[BG_STAT_SENT] + y->v[BG_STAT_REFUSED];
    if (vx != vy)
        return vx < vy ? 1 : -1;
    return strcmp(x->domain, y->domain);
}

/* Keys read at most (a week of hourly buckets for 500 names a day). */
#define READ_KEYS_MAX 600000
#define BATCH 100

struct want {                        /* one counter to read */
    unsigned dom;                    /* index in the domain list */
    unsigned char what;              /* enum bg_stat */
};

int bg_stats_read(struct bg_store *s, enum bg_stats_kind kind, long long now,
                  long long window_s, const char *only, struct bg_stats_row **rows,
                  size_t *nrows, char *err, size_t errsz)
{
    *rows = NULL;
    *nrows = 0;
    if (window_s < MINUTE_BUCKET)
        window_s = MINUTE_BUCKET;
    if (window_s > HOUR_TTL)
        window_s = HOUR_TTL;
    char gran = window_s <= HOUR_BUCKET ? 'm' : 'h';
    long long size = gran == 'm' ? MINUTE_BUCKET : HOUR_BUCKET;
    long long nb = window_s / size, last = now / size, first = last - nb + 1;
    long long h0 = first * size / HOUR_BUCKET, h1 = now / HOUR_BUCKET;
    size_t nhours = (size_t)(h1 - h0 + 1);

    struct domlist dl = { .v = malloc((size_t)READ_DOMAINS_MAX * DOM_MAX), .n = 0 };
    char *list = malloc(LIST_MAX);
    /* per hour, the domains named in it (indices into dl), "other" first */
    unsigned **hour_doms = calloc(nhours, sizeof *hour_doms);
    size_t *hour_n = calloc(nhours, sizeof *hour_n);
    struct want *w = NULL;
    unsigned long long *vals = NULL;
    struct bg_stats_row *out = NULL;
    char (*knames)[DOM_MAX + 64] = malloc(BATCH * sizeof *knames);
    int rc = -1;
    if (dl.v == NULL || list == NULL || hour_doms == NULL || hour_n == NULL || knames == NULL) {
        bg_seterr(err, errsz, "out of memory");
        goto done;
    }
    for (size_t h = 0; h < nhours; h++) {
        if (only != NULL) {
            char dom[DOM_MAX];
            name_of(kind, only, dom);
            long x = domlist_add(&dl, kind, dom, strlen(dom));
            if ((hour_doms[h] = malloc(sizeof **hour_doms)) == NULL) {
                bg_seterr(err, errsz, "out of memory");
                goto done;
            }
            if (x >= 0)
                hour_doms[h][hour_n[h]++] = (unsigned)x;
            continue;
        }
        char name[64];
        size_t len;
        snprintf(name, sizeof name, "h%lld|%s", h0 + (long long)h, list_name(kind));
        if (bg_store_get_value(s, BG_KIND_STAT, name, list, LIST_MAX, &len, err, errsz) < 0)
            goto done;
        if (len >= LIST_MAX - 1) {
            /* cut: the last name may be partial */
            char *sp = strrchr(list, ' ');
            *(sp != NULL ? sp : list) = '\0';
        }
        size_t words = 1;
        for (const char *p = list; *p; p++)
            words += *p == ' ';
        if ((hour_doms[h] = malloc((words + 1) * sizeof **hour_doms)) == NULL) {
            bg_seterr(err, errsz, "out of memory");
            goto done;
        }
        long ox = domlist_add(&dl, kind, BG_STATS_OTHER, sizeof BG_STATS_OTHER - 1);
        if (ox >= 0)
            hour_doms[h][hour_n[h]++] = (unsigned)ox;
        for (char *p = list; *p;) {
            size_t wl = strcspn(p, " ");
            long x = domlist_add(&dl, kind, p, wl);
            if (x >= 0 && hour_n[h] < words + 1) {
                size_t dup = 0;
                for (size_t q = 0; q < hour_n[h] && !dup; q++)
                    dup = hour_doms[h][q] == (unsigned)x;
                if (!dup)
                    hour_doms[h][hour_n[h]++] = (unsigned)x;
            }
            p += wl;
            p += strspn(p, " ");
        }
    }
    size_t nk = 0;
    for (long long b = first; b <= last; b++)
        nk += hour_n[b * size / HOUR_BUCKET - h0] * BG_STAT_N;
    if (nk > READ_KEYS_MAX) {
        bg_seterr(err, errsz, "too many counters to read (%zu)", nk);
        goto done;
    }
    w = calloc(nk ? nk : 1, sizeof *w);
    vals = calloc(nk ? nk : 1, sizeof *vals);
    out = calloc(dl.n ? dl.n : 1, sizeof *out);
    if (w == NULL || vals == NULL || out == NULL) {
        bg_seterr(err, errsz, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (long long b = first; b <= last; b++) {
        size_t h = (size_t)(b * size / HOUR_BUCKET - h0);
        for (size_t q = 0; q < hour_n[h]; q++)
            for (int c = 0; c < BG_STAT_N; c++) {
                w[k].dom = hour_doms[h][q];
                w[k].what = (unsigned char)c;
                k++;
            }
    }
    /* Ask in batches, the names built in one small buffer. */
    k = 0;
    for (long long b = first; b <= last; b++) {
        size_t h = (size_t)(b * size / HOUR_BUCKET - h0);
        size_t per = hour_n[h] * BG_STAT_N;
        for (size_t off = 0; off < per; off += BATCH) {
            size_t m = per - off < BATCH ? per - off : BATCH;
            const char *np[BATCH];
            for (size_t i = 0; i < m; i++) {
                const struct want *x = &w[k + off + i];
                snprintf(knames[i], sizeof knames[i], "%c%lld|%s|%s%s", gran, b,
                         bg_stat_name((enum bg_stat)x->what), mark(kind), dl.v[x->dom]);
                np[i] = knames[i];
            }
            if (bg_store_counters(s, BG_KIND_STAT, np, m, vals + k + off, err, errsz) < 0)
                goto done;
        }
        k += per;
    }
    for (size_t d = 0; d < dl.n; d++)
        snprintf(out[d].domain, sizeof out[d].domain, "%s", dl.v[d]);
    for (size_t i = 0; i < nk; i++) {
        unsigned long long *v = &out[w[i].dom].v[w[i].what];
        /* what anyone may have written to memcached: bounded, no wrap */
        *v += vals[i] < BG_STATS_COUNT_MAX ? vals[i] : BG_STATS_COUNT_MAX;
        if (*v > BG_STATS_COUNT_MAX)
            *v = BG_STATS_COUNT_MAX;
    }
    size_t n = 0;
    for (size_t d = 0; d < dl.n; d++) {
        int any = 0;
        for (int c = 0; c < BG_STAT_N; c++)
            any |= out[d].v[c] != 0;
        if (any || only != NULL)
            out[n++] = out[d];
    }
    qsort(out, n, sizeof *out, cmp_rows);
    *rows = out;
    *nrows = n;
    out = NULL;
    rc = 0;
done:
    if (hour_doms != NULL)
        for (size_t h = 0; h < nhours; h++)
            free(hour_doms[h]);
    free(hour_doms);
    free(hour_n);
    free(knames);
    free(w);
    free(vals);
    free(out);
    free(list);
    free(dl.v);
    return rc;
}
