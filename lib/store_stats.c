/* store_stats.c - the store operations the sender statistics (stats.h)
 * need beyond store.c's: a word appended to a list, and many counters
 * read in one multi-get. */
#include "store_conn.h"
#include "mcerr.h"
#include "err.h"
#include "bg.h"
#include "key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int finish(char *err, size_t errsz, const char *why, int ret)
{
    if (ret < 0)
        bg_seterr(err, errsz, "%s", why);
    return ret;
}

static time_t ttl_exptime(long long ttl)
{
    long long now = (long long)time(NULL);
    return ttl <= 0 ? 0 : (time_t)bg_store_exptime(now + ttl, now);
}

int bg_store_list_add(struct bg_store *s, enum bg_kind kind, const char *name,
                      const char *word, long long ttl, char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    char key[BG_KEY_MAX], val[300];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    int vl = snprintf(val, sizeof val, " %s", word);
    if (kl < 0 || vl < 2 || (size_t)vl >= sizeof val)
        return finish(err, errsz, "cannot build key or value", -1);
    struct call c;
    int b = store_call_begin(s, &c, why, sizeof why);
    if (b < 0)
        return finish(err, errsz, why, b);
    /* append to a list that exists; else create it (add: a concurrent
     * creator wins harmlessly) and append again */
    int ok = 0, mcfail = 0;
    for (int attempt = 0; attempt < 2 && !ok; attempt++) {
        if (attempt > 0)
            store_call_arm(&c);
        memcached_return_t rc = memcached_append(c.m, key, (size_t)kl, val, (size_t)vl, 0, 0);
        if (rc == MEMCACHED_SUCCESS) {
            ok = 1;
            break;
        }
        if (rc != MEMCACHED_NOTSTORED) {
            bg_mc_seterr(why, sizeof why, "append", c.m);
            mcfail = 1;
            break;
        }
        store_call_arm(&c);
        rc = memcached_add(c.m, key, (size_t)kl, val + 1, (size_t)vl - 1, ttl_exptime(ttl), 0);
        if (rc == MEMCACHED_SUCCESS) {
            ok = 1;
            break;
        }
        if (rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_DATA_EXISTS) {
            bg_mc_seterr(why, sizeof why, "add", c.m);
            mcfail = 1;
            break;
        }
        bg_seterr(why, sizeof why, "list vanished");
    }
    store_call_end(s, &c, !mcfail, why);
    return finish(err, errsz, why, ok ? 0 : -1);
}

/* Keys per multi-get: a few kilobytes of request, well within one
 * deadline. */
#define BATCH 100

static int counters_batch(struct bg_store *s, char (*keys)[BG_KEY_MAX], const size_t *lens,
                          size_t n, unsigned long long *values, char *why, size_t whysz)
{
    const char *kp[BATCH];
    for (size_t i = 0; i < n; i++) {
        kp[i] = keys[i];
        values[i] = 0;
    }
    struct call c;
    int b = store_call_begin(s, &c, why, whysz);
    if (b < 0)
        return b;
    memcached_return_t rc = memcached_mget(c.m, kp, lens, n);
    if (rc != MEMCACHED_SUCCESS) {
        bg_mc_seterr(why, whysz, "mget", c.m);
        store_call_end(s, &c, 0, why);
        return -1;
    }
    memcached_result_st *res;
    for (;;) {
        store_call_arm(&c);
        if ((res = memcached_fetch_result(c.m, NULL, &rc)) == NULL)
            break;
        const char *k = memcached_result_key_value(res);
        size_t kl = memcached_result_key_length(res);
        const char *v = memcached_result_value(res);
        size_t vl = memcached_result_length(res);
        for (size_t i = 0; i < n; i++) {
            if (kl != lens[i] || memcmp(k, keys[i], kl) != 0)
                continue;
            /* a counter: decimal digits (incr leaves trailing blanks in
             * the text protocol); anything else counts as 0 */
            unsigned long long x = 0;
            for (size_t j = 0; j < vl && v[j] >= '0' && v[j] <= '9' && x < (1ULL << 60); j++)
                x = x * 10 + (unsigned long long)(v[j] - '0');
            values[i] = x;
            break;
        }
        memcached_result_free(res);
    }
    int silent = store_replies_owed(&c);
    if (silent)
        memcached_quit(c.m);
    int ok = !silent && (rc == MEMCACHED_END || rc == MEMCACHED_SUCCESS ||
                         rc == MEMCACHED_NOTFOUND);
    if (!ok)
        bg_mc_seterr(why, whysz, "fetch", c.m);
    store_call_end(s, &c, ok, why);
    return ok ? 0 : -1;
}

int bg_store_counters(struct bg_store *s, enum bg_kind kind, const char *const *names,
                      size_t n, unsigned long long *values, char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    char (*keys)[BG_KEY_MAX] = malloc(BATCH * sizeof *keys);
    size_t lens[BATCH];
    if (keys == NULL)
        return finish(err, errsz, "out of memory", -1);
    int ret = 0;
    for (size_t off = 0; off < n && ret == 0; off += BATCH) {
        size_t m = n - off < BATCH ? n - off : BATCH;
        for (size_t i = 0; i < m; i++) {
            int kl = bg_key_build(keys[i], BG_KEY_MAX, s->prefix, kind, names[off + i]);
            if (kl < 0) {
                bg_seterr(why, sizeof why, "cannot build key");
                ret = -1;
                break;
            }
            lens[i] = (size_t)kl;
        }
        if (ret == 0)
            ret = counters_batch(s, keys, lens, m, values + off, why, sizeof why);
    }
    free(keys);
    return finish(err, errsz, why, ret < 0 ? -1 : 0);
}
