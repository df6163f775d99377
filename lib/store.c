/* store.c - the suppression set's operations on memcached: lookup (the
 * RCPT path: recipient and domain in one multi-get), get, put and delete
 * (journalled first), add, incr, restore, meta keys, server epochs. How a
 * call gets its connection, its deadline and the breaker's verdict is
 * store_conn.c's job. */
#include "store_conn.h"
#include "mcerr.h"
#include "err.h"
#include "bg.h"
#include "journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THIRTY_DAYS (30LL * 86400)

long long bg_store_exptime(long long expires, long long now)
{
    if (expires == 0)
        return 0;
    if (expires <= now)
        return -1;
    if (expires - now <= THIRTY_DAYS)
        return expires - now;
    return expires;
}

/* Decode a stored value; expired records count as absent (returns 0). */
static int accept_value(const char *key, const char *val, size_t len,
                        struct bg_record *rec, char *err, size_t errsz)
{
    if (bg_record_decode(val, len, rec) < 0) {
        bg_seterr(err, errsz, "undecodable record at key %s", key);
        return -1;
    }
    if (rec->expires != 0 && rec->expires <= (long long)time(NULL))
        return 0;
    return 1;
}

static int finish(char *err, size_t errsz, const char *why, int ret)
{
    if (ret < 0)
        bg_seterr(err, errsz, "%s", why);
    return ret;
}

int bg_store_lookup(struct bg_store *s, const char *addr, const char *domain,
                    struct bg_record *rec, int *domain_hit, char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    char kr[BG_KEY_MAX], kd[BG_KEY_MAX];
    int lr = bg_key_build(kr, sizeof kr, s->prefix, BG_KIND_RCPT, addr);
    int ld = bg_key_build(kd, sizeof kd, s->prefix, BG_KIND_DOMAIN, domain);
    if (lr < 0 || ld < 0)
        return finish(err, errsz, "cannot build key", -1);
    const char *keys[2] = { kr, kd };
    size_t lens[2] = { (size_t)lr, (size_t)ld };

    struct call c;
    int b = store_call_begin(s, &c, why, sizeof why);
    if (b < 0)
        return finish(err, errsz, why, b);
    struct bg_record rr, rd;
    int have_r, have_d, failed, tried = 0;
    memcached_result_st *res;
again:
    have_r = have_d = failed = 0;
    memcached_return_t rc = memcached_mget(c.m, keys, lens, 2);
    if (rc != MEMCACHED_SUCCESS) {
        if (store_retry_elsewhere(&c, rc, &tried))
            goto again;
        bg_mc_seterr(why, sizeof why, "mget", c.m);
        store_call_end(s, &c, 0, why);
        return finish(err, errsz, why, -1);
    }
    /* Drain every result so the connection is clean for the next user,
     * each wait bounded by what is left of the deadline (a timeout ends
     * the fetch with an error and libmemcached drops the connection). */
    for (;;) {
        store_call_arm(&c);
        res = memcached_fetch_result(c.m, NULL, &rc);
        if (res == NULL)
            break;
        const char *k = memcached_result_key_value(res);
        size_t kl = memcached_result_key_length(res);
        const char *v = memcached_result_value(res);
        size_t vl = memcached_result_length(res);
        if (kl == (size_t)lr && memcmp(k, kr, kl) == 0) {
            int a = accept_value(kr, v, vl, &rr, why, sizeof why);
            if (a < 0) failed = 1; else have_r = a;
        } else if (kl == (size_t)ld && memcmp(k, kd, kl) == 0) {
            int a = accept_value(kd, v, vl, &rd, why, sizeof why);
            if (a < 0) failed = 1; else have_d = a;
        }
        memcached_result_free(res);
    }
    /* With several servers, two that stay silent past the deadline are
     * waited for together and the fetch may still end with END, nothing
     * recorded: a silent miss, and the next user of the connection would
     * first wait for the replies still owed (found by review, measured
     * with two servers that never answer). So: drop the connections, and
     * it is a failure - unless the recipient's own entry came back, which
     * still refuses it. */
    int silent = store_replies_owed(&c);
    if (silent) {
        memcached_quit(c.m);
        bg_seterr(why, sizeof why, "memcached fetch: a server did not answer within %ums",
                  s->timeout_ms);
    }
    /* A server that failed in the middle of a multi-get is skipped by
     * libmemcached and the fetch still ends with END: with several servers
     * that would be a silent miss. An error recorded during this call
     * (each call starts with none) makes it a failure instead. */
    if (!silent && !have_r && (rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND)) {
        memcached_return_t le = memcached_last_error(c.m);
        if (le != MEMCACHED_SUCCESS && le != MEMCACHED_END && le != MEMCACHED_NOTFOUND)
            rc = le;
    }
    if (!silent && rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS &&
        rc != MEMCACHED_NOTFOUND) {
        if (store_retry_elsewhere(&c, rc, &tried))
            goto again;
        bg_mc_seterr(why, sizeof why, "fetch", c.m);
        store_call_end(s, &c, 0, why);
        return finish(err, errsz, why, -1);
    }
    /* it answered (even if a record was bad), unless a server stayed silent */
    store_call_end(s, &c, !silent, silent ? why : NULL);
    if (have_r) {
        *rec = rr;
        *domain_hit = 0;
        return 1;
    }
    if (silent)
        return finish(err, errsz, why, -1);
    if (have_d) {
        *rec = rd;
        *domain_hit = 1;
        return 1;
    }
    return finish(err, errsz, why, failed ? -1 : 0);
}

int bg_store_get(struct bg_store *s, enum bg_kind kind, const char *name,
                 struct bg_record *rec, char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    if (kl < 0)
        return finish(err, errsz, "cannot build key", -1);
    struct call c;
    int b = store_call_begin(s, &c, why, sizeof why);
    if (b < 0)
        return finish(err, errsz, why, b);
    size_t vl = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    int tried = 0;
    char *v = memcached_get(c.m, key, (size_t)kl, &vl, &flags, &rc);
    while (v == NULL && store_retry_elsewhere(&c, rc, &tried))
        v = memcached_get(c.m, key, (size_t)kl, &vl, &flags, &rc);
    int ret, ok = 1;
    if (v != NULL) {
        ret = accept_value(key, v, vl, rec, why, sizeof why);
        free(v);
    } else if (rc == MEMCACHED_NOTFOUND) {
        ret = 0;
    } else {
        bg_mc_seterr(why, sizeof why, "get", c.m);
        ret = -1;
        ok = 0;
    }
    store_call_end(s, &c, ok, why);
    return finish(err, errsz, why, ret);
}

/* Write-ahead: the journal line goes first, so a restore that reads the
 * journal after replaying it sees every delete whose memcached delete it
 * may have raced with (restore.c). */
static int journal_hook(struct bg_store *s, enum bg_kind kind, const char *name,
                        const struct bg_record *rec, char *err, size_t errsz)
{
    if (s->journal == NULL || (kind != BG_KIND_RCPT && kind != BG_KIND_DOMAIN))
        return 0;
    return bg_journal_append(s->journal, 0, kind, name, rec, err, errsz);
}

/* finish() for put/del: a journal failure fails a call memcached took. */
static int journal_finish(char *err, size_t errsz, const char *why, int ret, int jrc,
                          const char *jerr)
{
    if (jrc < 0 && ret >= 0) {
        bg_seterr(err, errsz, "journal: %s (memcached was written)", jerr);
        return -1;
    }
    return finish(err, errsz, why, ret);
}

int bg_store_put(struct bg_store *s, enum bg_kind kind, const char *name,
                 const struct bg_record *rec, char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    char key[BG_KEY_MAX], val[BG_RECORD_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    int vl = bg_record_encode(rec, val, sizeof val);
    if (kl < 0 || vl < 0)
        return finish(err, errsz, "cannot build key or record", -1);
    long long exp = bg_store_exptime(rec->expires, (long long)time(NULL));
    if (exp < 0)
        return finish(err, errsz, "record has already expired", -1);
    char jerr[WHY_MAX];
    int jrc = journal_hook(s, kind, name, rec, jerr, sizeof jerr);
    struct call c;
    int b = store_call_begin(s, &c, why, sizeof why);
    if (b < 0)
        return finish(err, errsz, why, b);
    memcached_return_t rc = memcached_set(c.m, key, (size_t)kl, val, (size_t)vl,
                                          (time_t)exp, 0);
    int tried = 0;
    while (store_retry_elsewhere(&c, rc, &tried))
        rc = memcached_set(c.m, key, (size_t)kl, val, (size_t)vl, (time_t)exp, 0);
    int ret = 0;
    if (rc != MEMCACHED_SUCCESS) {
        bg_mc_seterr(why, sizeof why, "set", c.m);
        ret = -1;
    }
    store_call_end(s, &c, ret == 0, why);
    return journal_finish(err, errsz, why, ret, jrc, jerr);
}

int bg_store_del(struct bg_store *s, enum bg_kind kind, const char *name,
                 char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    if (kl < 0)
        return finish(err, errsz, "cannot build key", -1);
    char jerr[WHY_MAX];
    int jrc = journal_hook(s, kind, name, NULL, jerr, sizeof jerr);
    struct call c;
    int b = store_call_begin(s, &c, why, sizeof why);
    if (b < 0)
        return finish(err, errsz, why, b);
    memcached_return_t rc = memcached_delete(c.m, key, (size_t)kl, 0);
    int tried = 0;
    while (store_retry_elsewhere(&c, rc, &tried))
        rc = memcached_delete(c.m, key, (size_t)kl, 0);
    int ret;
    if (rc == MEMCACHED_SUCCESS)
        ret = 1;
    else if (rc == MEMCACHED_NOTFOUND)
        ret = 0;
    else {
        bg_mc_seterr(why, sizeof why, "delete", c.m);
        ret = -1;
    }
    store_call_end(s, &c, ret >= 0, why);
    return journal_finish(err, errsz, why, ret, jrc, jerr);
}

/* Relative ttl in seconds -> memcached expiration (absolute past 30 days). */
static time_t ttl_exptime(long long ttl)
{
    if (ttl <= 0)
        return 0;
    return (time_t)bg_store_exptime((long long)time(NULL) + ttl, (long long)time(NULL));
}

int bg_store_add(struct bg_store *s, enum bg_kind kind, const char *name,
                 long long ttl, char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    if (kl < 0)
        return finish(err, errsz, "cannot build key", -1);
    struct call c;
    int b = store_call_begin(s, &c, why, sizeof why);
    if (b < 0)
        return finish(err, errsz, why, b);
    memcached_return_t rc = memcached_add(c.m, key, (size_t)kl, "1", 1, ttl_exptime(ttl), 0);
    int ret;
    if (rc == MEMCACHED_SUCCESS)
        ret = 1;
    else if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS)
        ret = 0;
    else {
        bg_mc_seterr(why, sizeof why, "add", c.m);
        ret = -1;
    }
    store_call_end(s, &c, ret >= 0, why);
    return finish(err, errsz, why, ret);
}

int bg_store_incr(struct bg_store *s, enum bg_kind kind, const char *name,
                  unsigned delta, long long ttl, unsigned long long *value,
                  char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    if (kl < 0)
        return finish(err, errsz, "cannot build key", -1);
    struct call c;
    int b = store_call_begin(s, &c, why, sizeof why);
    if (b < 0)
        return finish(err, errsz, why, b);
    /* incr on a missing key fails; then create it with add (which loses
     * to a concurrent creator harmlessly) and incr again. Two tries are
     * enough: a key that vanishes between them expired or was deleted.
     * Every round trip gets what is left of the one deadline. */
    int ret = -1, ok = 1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt > 0)
            store_call_arm(&c);
        uint64_t v = 0;
        memcached_return_t rc = memcached_increment(c.m, key, (size_t)kl, delta, &v);
        if (rc == MEMCACHED_SUCCESS) {
            *value = v;
            ret = 0;
            break;
        }
        if (rc != MEMCACHED_NOTFOUND) {
            bg_mc_seterr(why, sizeof why, "incr", c.m);
            ok = 0;
            break;
        }
        store_call_arm(&c);
        rc = memcached_add(c.m, key, (size_t)kl, "0", 1, ttl_exptime(ttl), 0);
        if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTSTORED &&
            rc != MEMCACHED_DATA_EXISTS) {
            bg_mc_seterr(why, sizeof why, "add", c.m);
            ok = 0;
            break;
        }
        bg_seterr(why, sizeof why, "counter vanished");
    }
    store_call_end(s, &c, ok, why);
    return finish(err, errsz, why, ret);
}

int bg_store_restore(struct bg_store *s, enum bg_kind kind, const char *name,
                     const char *val, size_t vlen, long long expires,
                     char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    if (kl < 0)
        return finish(err, errsz, "cannot build key", -1);
    long long exp = 0;
    if (val != NULL && (exp = bg_store_exptime(expires, (long long)time(NULL))) < 0)
        return 0; /* expired meanwhile: nothing to restore */
    struct call c;
    int b = store_call_begin(s, &c, why, sizeof why);
    if (b < 0)
        return finish(err, errsz, why, b);
    memcached_return_t rc;
    int ret;
    if (val != NULL) {
        rc = memcached_add(c.m, key, (size_t)kl, val, vlen, (time_t)exp, 0);
        if (rc == MEMCACHED_SUCCESS)
            ret = 1;
        else if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS)
            ret = 0;
        else {
            bg_mc_seterr(why, sizeof why, "add", c.m);
            ret = -1;
        }
    } else {
        rc = memcached_delete(c.m, key, (size_t)kl, 0);
        if (rc == MEMCACHED_SUCCESS)
            ret = 1;
        else if (rc == MEMCACHED_NOTFOUND)
            ret = 0;
        else {
            bg_mc_seterr(why, sizeof why, "delete", c.m);
            ret = -1;
        }
    }
    store_call_end(s, &c, ret >= 0, why);
    return finish(err, errsz, why, ret);
}

int bg_store_meta_get(struct bg_store *s, const char *name, char *val, size_t valsz,
                      char *err, size_t errsz)
{
    size_t len;
    return bg_store_meta_getn(s, name, val, valsz, &len, err, errsz);
}

int bg_store_get_value(struct bg_store *s, enum bg_kind kind, const char *name,
                       char *val, size_t valsz, size_t *len, char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    char key[BG_KEY_MAX];
    *len = 0;
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    if (kl < 0 || valsz == 0)
        return finish(err, errsz, "cannot build key", -1);
    struct call c;
    int b = store_call_begin(s, &c, why, sizeof why);
    if (b < 0)
        return finish(err, errsz, why, b);
    size_t vl = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char *v = memcached_get(c.m, key, (size_t)kl, &vl, &flags, &rc);
    int ret;
    if (v != NULL) {
        size_t n = vl < valsz - 1 ? vl : valsz - 1;
        memcpy(val, v, n);
        val[n] = '\0';
        *len = vl;
        free(v);
        ret = 1;
    } else if (rc == MEMCACHED_NOTFOUND) {
        val[0] = '\0';
        ret = 0;
    } else {
        bg_mc_seterr(why, sizeof why, "get", c.m);
        ret = -1;
    }
    store_call_end(s, &c, ret >= 0, why);
    return finish(err, errsz, why, ret);
}

int bg_store_meta_getn(struct bg_store *s, const char *name, char *val, size_t valsz,
                       size_t *len, char *err, size_t errsz)
{
    return bg_store_get_value(s, BG_KIND_META, name, val, valsz, len, err, errsz);
}

int bg_store_meta_set(struct bg_store *s, const char *name, const char *val,
                      char *err, size_t errsz)
{
    return bg_store_meta_set_ttl(s, name, val, 0, err, errsz);
}

int bg_store_meta_set_ttl(struct bg_store *s, const char *name, const char *val,
                          long long ttl, char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, BG_KIND_META, name);
    if (kl < 0)
        return finish(err, errsz, "cannot build key", -1);
    struct call c;
    int b = store_call_begin(s, &c, why, sizeof why);
    if (b < 0)
        return finish(err, errsz, why, b);
    memcached_return_t rc = memcached_set(c.m, key, (size_t)kl, val, strlen(val),
                                          ttl_exptime(ttl), 0);
    int ret = 0;
    if (rc != MEMCACHED_SUCCESS) {
        bg_mc_seterr(why, sizeof why, "set", c.m);
        ret = -1;
    }
    store_call_end(s, &c, ret == 0, why);
    return finish(err, errsz, why, ret);
}

int bg_store_epochs(struct bg_store *s, struct bg_server_epoch *e, size_t max,
                    char *err, size_t errsz)
{
    char why[WHY_MAX] = "";
    struct call c;
    int b = store_call_begin(s, &c, why, sizeof why);
    if (b < 0)
        return finish(err, errsz, why, b);
    /* Asked on a fresh clone: a pooled connection skips a server that
     * failed until its retry and dead timeouts pass, and would not see it
     * come back (the master is only read, as the pool's clones read it). */
    memcached_st *f = memcached_clone(NULL, s->master);
    if (f == NULL) {
        store_call_end(s, &c, 1, why);
        return finish(err, errsz, "cannot clone the memcached handle", -1);
    }
    memcached_behavior_set(f, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, s->timeout_ms);
    memcached_behavior_set(f, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, s->timeout_ms);
    memcached_return_t rc;
    memcached_stat_st *st = memcached_stat(f, NULL, &rc);
    int n = 0;
    if (st == NULL) {
        bg_mc_seterr(why, sizeof why, "stat", f);
        memcached_free(f);
        store_call_end(s, &c, 0, why);
        return finish(err, errsz, why, -1);
    }
    uint32_t count = memcached_server_count(f);
    for (uint32_t i = 0; i < count && (size_t)n < max; i++) {
        const memcached_instance_st *in = memcached_server_instance_by_position(f, i);
        /* A server that did not answer has a zero (or, refused, -1) pid. */
        if (in == NULL || (long long)st[i].pid <= 0)
            continue;
        snprintf(e[n].name, sizeof e[n].name, "%s:%u", memcached_server_name(in),
                 (unsigned)memcached_server_port(in));
        e[n].pid = (long long)st[i].pid;
        e[n].started = (long long)st[i].time - (long long)st[i].uptime;
        n++;
    }
    memcached_stat_free(f, st);
    memcached_free(f);
    /* Partial answers are normal in a cluster with a node down: not a
     * failure of the store as a whole. */
    store_call_end(s, &c, 1, why);
    return n;
}
