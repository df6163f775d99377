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
    pthread_mutex_t mu;
    unsigned max;                    /* names per hour */
    /* counted since the last flush */
    struct dent *t;                  /* open addressing; dom[0] == 0: empty */
    size_t cap, n;                   /* cap a power of two, n <= cap / 2 */
    unsigned long long other[BG_STAT_N];
    /* the flusher's own: the names of the current hour */
    long long hour;
    char (*named)[DOM_MAX];
    size_t nnamed;
};

struct bg_stats *bg_stats_new(unsigned max_domains)
{
    if (max_domains == 0)
        max_domains = 1;
    struct bg_stats *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->max = max_domains;
    st->cap = 16;
    while (st->cap < (size_t)max_domains * 8)
        st->cap *= 2;
    st->t = calloc(st->cap, sizeof *st->t);
    st->named = calloc(max_domains, sizeof *st->named);
    if (st->t == NULL || st->named == NULL) {
        free(st->t);
        free(st->named);
        free(st);
        return NULL;
    }
    st->hour = -1;
    pthread_mutex_init(&st->mu, NULL);
    return st;
}

void bg_stats_free(struct bg_stats *st)
{
    if (st == NULL)
        return;
    pthread_mutex_destroy(&st->mu);
    free(st->t);
    free(st->named);
    free(st);
}

/* The sender's domain, lower-cased, as a key and a list can carry it:
 * letters, digits and . - _ [ ] : only (an address literal included);
 * anything else, or nothing, is "-". */
static void domain_of(const char *sender, char *out)
{
    const char *at = sender != NULL ? strrchr(sender, '@') : NULL;
    const char *d = at != NULL ? at + 1 : sender != NULL ? sender : "";
    size_t n = 0;
    for (; d[n] != '\0'; n++) {
        unsigned char c = (unsigned char)d[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
                 c == '[' || c == ']' || c == ':';
        if (!ok || n >= DOM_MAX - 1) {
            n = 0;
            break;
        }
        out[n] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
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
    domain_of(sender, dom);
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

static int add_counts(struct bg_store *s, long long now, const char *dom,
                      const unsigned long long *v, char *err, size_t errsz)
{
    char name[DOM_MAX + 64];
    unsigned long long ignored;
    for (int k = 0; k < BG_STAT_N; k++) {
        if (v[k] == 0)
            continue;
        unsigned d = v[k] > 0xffffffffULL ? 0xffffffffU : (unsigned)v[k];
        snprintf(name, sizeof name, "m%lld|%s|%s", now / MINUTE_BUCKET, names[k], dom);
        if (bg_store_incr(s, BG_KIND_STAT, name, d, MINUTE_TTL, &ignored, err, errsz) < 0)
            return -1;
        snprintf(name, sizeof name, "h%lld|%s|%s", now / HOUR_BUCKET, names[k], dom);
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
    snprintf(list, sizeof list, "h%lld|domains", st->hour);
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
    /* Take what was counted, leave an empty table to the counters. */
    struct dent *pending = malloc(st->cap * sizeof *pending);
    if (pending == NULL) {
        bg_seterr(err, errsz, "out of memory");
        return -1;
    }
    unsigned long long other[BG_STAT_N];
    size_t np = 0;
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->cap; i++)
        if (st->t[i].dom[0] != '\0') {
            pending[np++] = st->t[i];
            st->t[i].dom[0] = '\0';
            memset(st->t[i].v, 0, sizeof st->t[i].v);
        }
    st->n = 0;
    memcpy(other, st->other, sizeof other);
    memset(st->other, 0, sizeof st->other);
    pthread_mutex_unlock(&st->mu);

    if (now / HOUR_BUCKET != st->hour) {
        st->hour = now / HOUR_BUCKET;
        st->nnamed = 0;
    }
    int rc = 0;
    for (size_t i = 0; i < np && rc == 0; i++) {
        int named = name_domain(st, s, pending[i].dom, err, errsz);
        if (named < 0) {
            rc = -1;
        } else if (named) {
            rc = add_counts(s, now, pending[i].dom, pending[i].v, err, errsz);
        } else {
            for (int k = 0; k < BG_STAT_N; k++)
                other[k] += pending[i].v[k];
        }
    }
    if (rc == 0)
        rc = add_counts(s, now, BG_STATS_OTHER, other, err, errsz);
    free(pending);
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

static void domlist_add(struct domlist *l, const char *d, size_t len)
{
    if (len == 0 || len >= DOM_MAX || l->n >= READ_DOMAINS_MAX)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->v[i]) == len && memcmp(l->v[i], d, len) == 0)
            return;
    memcpy(l->v[l->n], d, len);
    l->v[l->n][len] = '\0';
    l->n++;
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

int bg_stats_read(struct bg_store *s, long long now, long long window_s, const char *only,
                  struct bg_stats_row **rows, size_t *nrows, char *err, size_t errsz)
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

    struct domlist dl = { .v = malloc((size_t)READ_DOMAINS_MAX * DOM_MAX), .n = 0 };
    char *list = malloc(LIST_MAX);
    int rc = -1;
    char **keys = NULL;
    unsigned long long *vals = NULL;
    struct bg_stats_row *out = NULL;
    if (dl.v == NULL || list == NULL) {
        bg_seterr(err, errsz, "out of memory");
        goto done;
    }
    if (only != NULL) {
        char dom[DOM_MAX];
        domain_of(only, dom);
        domlist_add(&dl, dom, strlen(dom));
    } else {
        for (long long h = first * size / HOUR_BUCKET; h <= now / HOUR_BUCKET; h++) {
            char name[64];
            size_t len;
            snprintf(name, sizeof name, "h%lld|domains", h);
            int g = bg_store_get_value(s, BG_KIND_STAT, name, list, LIST_MAX, &len, err, errsz);
            if (g < 0)
                goto done;
            for (char *p = list; *p;) {
                size_t w = strcspn(p, " ");
                domlist_add(&dl, p, w);
                p += w;
                p += strspn(p, " ");
            }
        }
        domlist_add(&dl, BG_STATS_OTHER, sizeof BG_STATS_OTHER - 1);
    }
    size_t nk = dl.n * (size_t)nb * BG_STAT_N;
    keys = calloc(nk ? nk : 1, sizeof *keys);
    vals = calloc(nk ? nk : 1, sizeof *vals);
    out = calloc(dl.n ? dl.n : 1, sizeof *out);
    if (keys == NULL || vals == NULL || out == NULL) {
        bg_seterr(err, errsz, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (size_t d = 0; d < dl.n; d++)
        for (long long b = first; b <= last; b++)
            for (int c = 0; c < BG_STAT_N; c++) {
                char name[DOM_MAX + 64];
                snprintf(name, sizeof name, "%c%lld|%s|%s", gran, b, names[c], dl.v[d]);
                if ((keys[k++] = strdup(name)) == NULL) {
                    bg_seterr(err, errsz, "out of memory");
                    goto done;
                }
            }
    if (bg_store_counters(s, BG_KIND_STAT, (const char *const *)keys, nk, vals, err,
                          errsz) < 0)
        goto done;
    size_t n = 0;
    k = 0;
    for (size_t d = 0; d < dl.n; d++) {
        struct bg_stats_row *r = &out[n];
        memset(r, 0, sizeof *r);
        snprintf(r->domain, sizeof r->domain, "%s", dl.v[d]);
        int any = 0;
        for (long long b = first; b <= last; b++)
            for (int c = 0; c < BG_STAT_N; c++) {
                r->v[c] += vals[k];
                any |= vals[k++] != 0;
            }
        if (any || only != NULL)
            n++;
    }
    qsort(out, n, sizeof *out, cmp_rows);
    *rows = out;
    *nrows = n;
    out = NULL;
    rc = 0;
done:
    if (keys != NULL)
        for (size_t i = 0; i < nk; i++)
            free(keys[i]);
    free(keys);
    free(vals);
    free(out);
    free(list);
    free(dl.v);
    return rc;
}
