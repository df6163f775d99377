/* store.c - memcached client for the suppression set (libmemcached 1.1 +
 * libmemcachedutil pool). */
#include "store.h"
#include "bg.h"
#include "journal.h"

#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/pool.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define THIRTY_DAYS (30LL * 86400)

struct bg_store {
    memcached_pool_st *pool;
    char prefix[BG_PREFIX_MAX + 1];
    unsigned timeout_ms;
    struct bg_journal *journal;  /* not owned; NULL = none */
};

static void seterr(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errsz == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

/* Case-insensitive search for an option name in the configuration string
 * (strcasestr is a GNU extension; this is C11 + POSIX only). */
static int has_option(const char *conf, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = conf; *p; p++)
        if (strncasecmp(p, opt, n) == 0)
            return 1;
    return 0;
}

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

struct bg_store *bg_store_open(const struct bg_store_opts *o, char *err, size_t errsz)
{
    char conf[1400];
    struct bg_store *s;

    if (strlen(o->prefix) > BG_PREFIX_MAX) {
        seterr(err, errsz, "key prefix too long");
        return NULL;
    }
    /* Pool size from our own key unless the string sets it. */
    if (!has_option(o->config, "--POOL-MAX"))
        snprintf(conf, sizeof conf, "%s --POOL-MIN=1 --POOL-MAX=%u", o->config,
                 o->pool_max ? o->pool_max : 16);
    else
        snprintf(conf, sizeof conf, "%s", o->config);

    char cerr[256];
    memcached_return_t rc = libmemcached_check_configuration(conf, strlen(conf), cerr,
                                                             sizeof cerr);
    if (rc != MEMCACHED_SUCCESS) {
        seterr(err, errsz, "bad Memcached configuration: %s", cerr);
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        seterr(err, errsz, "out of memory");
        return NULL;
    }
    s->pool = memcached_pool(conf, strlen(conf));
    if (s->pool == NULL) {
        seterr(err, errsz, "cannot create memcached pool from '%s'", conf);
        free(s);
        return NULL;
    }
    memcpy(s->prefix, o->prefix, strlen(o->prefix) + 1);
    s->timeout_ms = o->timeout_ms ? o->timeout_ms : 250;
    s->journal = o->journal;
    /* Bound every network wait by the lookup deadline: connect, poll and
     * socket I/O. RCV/SND timeouts are in microseconds. */
    memcached_pool_behavior_set(s->pool, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, s->timeout_ms);
    memcached_pool_behavior_set(s->pool, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, s->timeout_ms);
    memcached_pool_behavior_set(s->pool, MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
                                (uint64_t)s->timeout_ms * 1000);
    memcached_pool_behavior_set(s->pool, MEMCACHED_BEHAVIOR_SND_TIMEOUT,
                                (uint64_t)s->timeout_ms * 1000);
    /* A dead server is retried after a second, not on every call. */
    memcached_pool_behavior_set(s->pool, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1);
    return s;
}

void bg_store_close(struct bg_store *s)
{
    if (s == NULL)
        return;
    memcached_pool_destroy(s->pool);
    free(s);
}

static memcached_st *borrow(struct bg_store *s, char *err, size_t errsz)
{
    struct timespec wait = { (time_t)(s->timeout_ms / 1000),
                             (long)(s->timeout_ms % 1000) * 1000000L };
    memcached_return_t rc;
    memcached_st *m = memcached_pool_fetch(s->pool, &wait, &rc);
    if (m == NULL)
        seterr(err, errsz, "no memcached connection free: %s", memcached_strerror(NULL, rc));
    return m;
}

static void give_back(struct bg_store *s, memcached_st *m)
{
    memcached_pool_release(s->pool, m);
}

/* Decode a stored value; expired records count as absent (returns 0). */
static int accept_value(const char *key, const char *val, size_t len,
                        struct bg_record *rec, char *err, size_t errsz)
{
    if (bg_record_decode(val, len, rec) < 0) {
        seterr(err, errsz, "undecodable record at key %s", key);
        return -1;
    }
    if (rec->expires != 0 && rec->expires <= (long long)time(NULL))
        return 0;
    return 1;
}

int bg_store_lookup(struct bg_store *s, const char *addr, const char *domain,
                    struct bg_record *rec, int *domain_hit, char *err, size_t errsz)
{
    char kr[BG_KEY_MAX], kd[BG_KEY_MAX];
    int lr = bg_key_build(kr, sizeof kr, s->prefix, BG_KIND_RCPT, addr);
    int ld = bg_key_build(kd, sizeof kd, s->prefix, BG_KIND_DOMAIN, domain);
    if (lr < 0 || ld < 0) {
        seterr(err, errsz, "cannot build key");
        return -1;
    }
    const char *keys[2] = { kr, kd };
    size_t lens[2] = { (size_t)lr, (size_t)ld };

    memcached_st *m = borrow(s, err, errsz);
    if (m == NULL)
        return -1;
    memcached_return_t rc = memcached_mget(m, keys, lens, 2);
    if (rc != MEMCACHED_SUCCESS) {
        seterr(err, errsz, "memcached mget: %s", memcached_last_error_message(m));
        give_back(s, m);
        return -1;
    }
    struct bg_record rr, rd;
    int have_r = 0, have_d = 0, failed = 0;
    memcached_result_st *res;
    /* Drain every result so the connection is clean for the next user. */
    while ((res = memcached_fetch_result(m, NULL, &rc)) != NULL) {
        const char *k = memcached_result_key_value(res);
        size_t kl = memcached_result_key_length(res);
        const char *v = memcached_result_value(res);
        size_t vl = memcached_result_length(res);
        if (kl == (size_t)lr && memcmp(k, kr, kl) == 0) {
            int a = accept_value(kr, v, vl, &rr, err, errsz);
            if (a < 0) failed = 1; else have_r = a;
        } else if (kl == (size_t)ld && memcmp(k, kd, kl) == 0) {
            int a = accept_value(kd, v, vl, &rd, err, errsz);
            if (a < 0) failed = 1; else have_d = a;
        }
        memcached_result_free(res);
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
        seterr(err, errsz, "memcached fetch: %s", memcached_last_error_message(m));
        give_back(s, m);
        return -1;
    }
    give_back(s, m);
    if (have_r) {
        *rec = rr;
        *domain_hit = 0;
        return 1;
    }
    if (have_d) {
        *rec = rd;
        *domain_hit = 1;
        return 1;
    }
    return failed ? -1 : 0;
}

int bg_store_get(struct bg_store *s, enum bg_kind kind, const char *name,
                 struct bg_record *rec, char *err, size_t errsz)
{
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    if (kl < 0) {
        seterr(err, errsz, "cannot build key");
        return -1;
    }
    memcached_st *m = borrow(s, err, errsz);
    if (m == NULL)
        return -1;
    size_t vl = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char *v = memcached_get(m, key, (size_t)kl, &vl, &flags, &rc);
    int ret;
    if (v != NULL) {
        ret = accept_value(key, v, vl, rec, err, errsz);
        free(v);
    } else if (rc == MEMCACHED_NOTFOUND) {
        ret = 0;
    } else {
        seterr(err, errsz, "memcached get: %s", memcached_last_error_message(m));
        ret = -1;
    }
    give_back(s, m);
    return ret;
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

int bg_store_put(struct bg_store *s, enum bg_kind kind, const char *name,
                 const struct bg_record *rec, char *err, size_t errsz)
{
    char key[BG_KEY_MAX], val[BG_RECORD_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    int vl = bg_record_encode(rec, val, sizeof val);
    if (kl < 0 || vl < 0) {
        seterr(err, errsz, "cannot build key or record");
        return -1;
    }
    long long exp = bg_store_exptime(rec->expires, (long long)time(NULL));
    if (exp < 0) {
        seterr(err, errsz, "record has already expired");
        return -1;
    }
    char jerr[256];
    int jrc = journal_hook(s, kind, name, rec, jerr, sizeof jerr);
    memcached_st *m = borrow(s, err, errsz);
    if (m == NULL)
        return -1;
    memcached_return_t rc = memcached_set(m, key, (size_t)kl, val, (size_t)vl,
                                          (time_t)exp, 0);
    int ret = 0;
    if (rc != MEMCACHED_SUCCESS) {
        seterr(err, errsz, "memcached set: %s", memcached_last_error_message(m));
        ret = -1;
    }
    give_back(s, m);
    if (jrc < 0 && ret == 0) {
        seterr(err, errsz, "journal: %s (memcached was written)", jerr);
        ret = -1;
    }
    return ret;
}

int bg_store_del(struct bg_store *s, enum bg_kind kind, const char *name,
                 char *err, size_t errsz)
{
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    if (kl < 0) {
        seterr(err, errsz, "cannot build key");
        return -1;
    }
    char jerr[256];
    int jrc = journal_hook(s, kind, name, NULL, jerr, sizeof jerr);
    memcached_st *m = borrow(s, err, errsz);
    if (m == NULL)
        return -1;
    memcached_return_t rc = memcached_delete(m, key, (size_t)kl, 0);
    int ret;
    if (rc == MEMCACHED_SUCCESS)
        ret = 1;
    else if (rc == MEMCACHED_NOTFOUND)
        ret = 0;
    else {
        seterr(err, errsz, "memcached delete: %s", memcached_last_error_message(m));
        ret = -1;
    }
    give_back(s, m);
    if (jrc < 0 && ret >= 0) {
        seterr(err, errsz, "journal: %s (memcached was written)", jerr);
        ret = -1;
    }
    return ret;
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
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    if (kl < 0) {
        seterr(err, errsz, "cannot build key");
        return -1;
    }
    memcached_st *m = borrow(s, err, errsz);
    if (m == NULL)
        return -1;
    memcached_return_t rc = memcached_add(m, key, (size_t)kl, "1", 1, ttl_exptime(ttl), 0);
    int ret;
    if (rc == MEMCACHED_SUCCESS)
        ret = 1;
    else if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS)
        ret = 0;
    else {
        seterr(err, errsz, "memcached add: %s", memcached_last_error_message(m));
        ret = -1;
    }
    give_back(s, m);
    return ret;
}

int bg_store_incr(struct bg_store *s, enum bg_kind kind, const char *name,
                  unsigned delta, long long ttl, unsigned long long *value,
                  char *err, size_t errsz)
{
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    if (kl < 0) {
        seterr(err, errsz, "cannot build key");
        return -1;
    }
    memcached_st *m = borrow(s, err, errsz);
    if (m == NULL)
        return -1;
    /* incr on a missing key fails; then create it with add (which loses
     * to a concurrent creator harmlessly) and incr again. Two tries are
     * enough: a key that vanishes between them expired or was deleted. */
    int ret = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        uint64_t v = 0;
        memcached_return_t rc = memcached_increment(m, key, (size_t)kl, delta, &v);
        if (rc == MEMCACHED_SUCCESS) {
            *value = v;
            ret = 0;
            break;
        }
        if (rc != MEMCACHED_NOTFOUND) {
            seterr(err, errsz, "memcached incr: %s", memcached_last_error_message(m));
            break;
        }
        rc = memcached_add(m, key, (size_t)kl, "0", 1, ttl_exptime(ttl), 0);
        if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTSTORED &&
            rc != MEMCACHED_DATA_EXISTS) {
            seterr(err, errsz, "memcached add: %s", memcached_last_error_message(m));
            break;
        }
        seterr(err, errsz, "counter vanished");
    }
    give_back(s, m);
    return ret;
}

int bg_store_restore(struct bg_store *s, enum bg_kind kind, const char *name,
                     const char *val, size_t vlen, long long expires,
                     char *err, size_t errsz)
{
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, kind, name);
    if (kl < 0) {
        seterr(err, errsz, "cannot build key");
        return -1;
    }
    long long exp = 0;
    if (val != NULL && (exp = bg_store_exptime(expires, (long long)time(NULL))) < 0)
        return 0; /* expired meanwhile: nothing to restore */
    memcached_st *m = borrow(s, err, errsz);
    if (m == NULL)
        return -1;
    memcached_return_t rc;
    int ret;
    if (val != NULL) {
        rc = memcached_add(m, key, (size_t)kl, val, vlen, (time_t)exp, 0);
        if (rc == MEMCACHED_SUCCESS)
            ret = 1;
        else if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS)
            ret = 0;
        else {
            seterr(err, errsz, "memcached add: %s", memcached_last_error_message(m));
            ret = -1;
        }
    } else {
        rc = memcached_delete(m, key, (size_t)kl, 0);
        if (rc == MEMCACHED_SUCCESS)
            ret = 1;
        else if (rc == MEMCACHED_NOTFOUND)
            ret = 0;
        else {
            seterr(err, errsz, "memcached delete: %s", memcached_last_error_message(m));
            ret = -1;
        }
    }
    give_back(s, m);
    return ret;
}

int bg_store_meta_get(struct bg_store *s, const char *name, char *val, size_t valsz,
                      char *err, size_t errsz)
{
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, BG_KIND_META, name);
    if (kl < 0 || valsz == 0) {
        seterr(err, errsz, "cannot build key");
        return -1;
    }
    memcached_st *m = borrow(s, err, errsz);
    if (m == NULL)
        return -1;
    size_t vl = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char *v = memcached_get(m, key, (size_t)kl, &vl, &flags, &rc);
    int ret;
    if (v != NULL) {
        size_t n = vl < valsz - 1 ? vl : valsz - 1;
        memcpy(val, v, n);
        val[n] = '\0';
        free(v);
        ret = 1;
    } else if (rc == MEMCACHED_NOTFOUND) {
        ret = 0;
    } else {
        seterr(err, errsz, "memcached get: %s", memcached_last_error_message(m));
        ret = -1;
    }
    give_back(s, m);
    return ret;
}

int bg_store_meta_set(struct bg_store *s, const char *name, const char *val,
                      char *err, size_t errsz)
{
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, BG_KIND_META, name);
    if (kl < 0) {
        seterr(err, errsz, "cannot build key");
        return -1;
    }
    memcached_st *m = borrow(s, err, errsz);
    if (m == NULL)
        return -1;
    memcached_return_t rc = memcached_set(m, key, (size_t)kl, val, strlen(val), 0, 0);
    int ret = 0;
    if (rc != MEMCACHED_SUCCESS) {
        seterr(err, errsz, "memcached set: %s", memcached_last_error_message(m));
        ret = -1;
    }
    give_back(s, m);
    return ret;
}
