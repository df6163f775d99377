/* store.h - the suppression set in memcached.
 *
 * Thread-safe: every call borrows a connection from libmemcachedutil's
 * pool (memcached_st itself is not thread-safe) and returns it.
 * Keys are built by key.h, values are records (record.h). An entry whose
 * record says it expired is treated as absent even if memcached still
 * holds it (clocks differ between hosts).
 */
#ifndef BG_STORE_H
#define BG_STORE_H

#include <stddef.h>
#include "breaker.h"
#include "key.h"
#include "record.h"

struct bg_store;
struct bg_journal;

/* Called with every state change of the store's circuit breaker
 * (breaker.h), once per change, on the thread whose call caused it, with
 * no lock held. ev->error is the failure that caused OPENED/REOPENED. */
typedef void bg_store_breaker_fn(void *arg, const struct bg_breaker_event *ev);

struct bg_store_opts {
    const char *config;      /* libmemcached configuration string */
    const char *prefix;      /* KeyPrefix */
    unsigned timeout_ms;     /* deadline of one call, waiting for a pooled
                                connection included */
    unsigned pool_max;       /* most connections held */
    unsigned breaker_failures;    /* BreakerFailures; 0: no breaker */
    unsigned breaker_cooldown_ms; /* BreakerCooldown */
    bg_store_breaker_fn *on_breaker; /* may be NULL */
    void *on_breaker_arg;
    struct bg_journal *journal; /* NULL: none. Not owned: close it after
                                   the store. put/del of recipient and
                                   domain entries append to it first. */
    /* Several servers (see docs/memcached.md). Each is
     * set on the pool's master before any connection is cloned from it. */
    unsigned failure_limit;  /* MemcachedFailureLimit: SERVER_FAILURE_LIMIT; 0 = as
                                the Memcached string says */
    unsigned retry_timeout_s;/* MemcachedRetryTimeout: RETRY_TIMEOUT; 0 = 1 s */
    unsigned dead_timeout_s; /* MemcachedDeadTimeout: DEAD_TIMEOUT; 0 = not set */
    const char *sasl_user;   /* MemcachedUser; NULL or "" = no SASL */
    const char *sasl_password; /* the first line of MemcachedPasswordFile */
};

/* Every call below returns BG_STORE_SKIPPED (< 0, so "-1 on error" tests
 * still hold) without any network I/O while the breaker is open, with a
 * message in err. Failures that count for the breaker: a timeout or any
 * other error from memcached or the pool; a record that does not decode
 * or a key that cannot be built do not (the server answered). */
#define BG_STORE_SKIPPED (-2)

/* BG_STORE_BUSY (< 0 too): every pooled connection stayed in use for the
 * whole wait (ten LookupTimeouts, at least BG_STORE_BUSY_WAIT_MS and at
 * most BG_STORE_BUSY_WAIT_MAX_MS): a local shortage, not a memcached
 * fault, so it never counts for the breaker. memcached was not asked. */
#define BG_STORE_BUSY (-3)
#define BG_STORE_BUSY_WAIT_MS 2000
#define BG_STORE_BUSY_WAIT_MAX_MS 5000

/* Returns NULL and a message in err when the configuration string is bad.
 * Does not connect: a memcached that is down is found at the first call. */
struct bg_store *bg_store_open(const struct bg_store_opts *o, char *err, size_t errsz);
void bg_store_close(struct bg_store *s);

/* The breaker's prober, for a background thread (the daemon calls it every
 * 100 ms): while the breaker is open and its cooldown is over, one get
 * asks memcached, and the answer closes the breaker (or opens it for
 * another cooldown); the state change goes to on_breaker as for any call.
 * A recipient's lookup never probes. 1 memcached answered, 0 nothing to
 * do (closed, cooling down, no connection free), -1 the probe failed. */
int bg_store_probe(struct bg_store *s);

/* The breaker's state now (for tests and diagnostics). */
enum bg_breaker_state bg_store_breaker_state(struct bg_store *s);

/* One round trip (a multi-get of the recipient key and the domain key).
 * Returns 1 when either is suppressed (the recipient entry wins over the
 * domain entry; *domain_hit tells which), 0 when neither, -1 on error
 * (message in err). addr and domain are normalized. */
int bg_store_lookup(struct bg_store *s, const char *addr, const char *domain,
                    struct bg_record *rec, int *domain_hit, char *err, size_t errsz);

/* Single-entry operations for the admin tool and learning.
 * get: 1 found, 0 absent, -1 error. put: 0 or -1. del: 1 deleted,
 * 0 absent, -1 error. put refuses a record that has already expired.
 * With a journal, put and del of BG_KIND_RCPT/BG_KIND_DOMAIN append the
 * change to it before memcached is written (a del always, even when
 * memcached has no such entry or the breaker is open); a journal failure
 * makes the call return -1 ("journal: ...") although memcached was
 * written. */
int bg_store_get(struct bg_store *s, enum bg_kind kind, const char *name,
                 struct bg_record *rec, char *err, size_t errsz);
int bg_store_put(struct bg_store *s, enum bg_kind kind, const char *name,
                 const struct bg_record *rec, char *err, size_t errsz);
int bg_store_del(struct bg_store *s, enum bg_kind kind, const char *name,
                 char *err, size_t errsz);

/* Counters and markers (learning). ttl is seconds from now (0 = never).
 * add: 1 when the marker was created, 0 when it existed, -1 error.
 * incr: adds delta (0 reads) to a counter created as 0 with ttl when
 * missing; the new value in *value. 0 or -1. Both are atomic across
 * clients and work with the text and the binary protocol. */
int bg_store_add(struct bg_store *s, enum bg_kind kind, const char *name,
                 long long ttl, char *err, size_t errsz);
int bg_store_incr(struct bg_store *s, enum bg_kind kind, const char *name,
                  unsigned delta, long long ttl, unsigned long long *value,
                  char *err, size_t errsz);

/* get_value (store.c; bg_store_meta_getn is it for BG_KIND_META): the
 * value at name, truncated to valsz - 1 bytes and NUL-terminated ("" when
 * absent), its whole length in *len; 1 found, 0 absent, -1 error.
 * Sender statistics (stats.h; store_stats.c): list_add appends " word"
 * to the value at name, creating it (with ttl) when missing, 0 or -1;
 * counters reads the decimal counters at names[0..n-1] into values (0
 * when absent), in multi-gets of 100, 0 or -1. */
int bg_store_list_add(struct bg_store *s, enum bg_kind kind, const char *name,
                      const char *word, long long ttl, char *err, size_t errsz);
int bg_store_get_value(struct bg_store *s, enum bg_kind kind, const char *name,
                       char *val, size_t valsz, size_t *len, char *err, size_t errsz);
int bg_store_counters(struct bg_store *s, enum bg_kind kind, const char *const *names,
                      size_t n, unsigned long long *values, char *err, size_t errsz);

/* Restore (restore.h): write val (an encoded record expiring at
 * expires) with memcached add, which never overwrites a newer entry; with
 * val NULL, delete. Never journals. 1 written/deleted, 0 already
 * there/absent, -1 error (or BG_STORE_SKIPPED). */
int bg_store_restore(struct bg_store *s, enum bg_kind kind, const char *name,
                     const char *val, size_t vlen, long long expires,
                     char *err, size_t errsz);
/* A bookkeeping value under KeyPrefix + "m:" + name (no expiry).
 * get: 1 found (value in val, truncated to valsz), 0 absent, -1 error.
 * set: 0 or -1. */
int bg_store_meta_get(struct bg_store *s, const char *name, char *val, size_t valsz,
                      char *err, size_t errsz);
int bg_store_meta_set(struct bg_store *s, const char *name, const char *val,
                      char *err, size_t errsz);
/* getn: as get, and *len is the whole value's length (val holds the
 * first valsz - 1 bytes of it, NULs included), so a caller can tell a
 * truncated or NUL-holding value (delsync.h: notes are untrusted).
 * set_ttl: as set, expiring ttl seconds from now (0 = never). */
int bg_store_meta_getn(struct bg_store *s, const char *name, char *val, size_t valsz,
                       size_t *len, char *err, size_t errsz);
int bg_store_meta_set_ttl(struct bg_store *s, const char *name, const char *val,
                          long long ttl, char *err, size_t errsz);

/* memcached expiry for an absolute expiry time: 0 for never, seconds from
 * now when at most 30 days ahead, else the absolute Unix time (memcached
 * reads values over 30 days as absolute). -1 when already expired. */
long long bg_store_exptime(long long expires, long long now);

/* Who each memcached server is: its process id and its start time (its
 * own clock: time - uptime). A server that restarted (empty) shows a new
 * pid or start; the journal restore uses this to refill a cluster node
 * that came back empty, which the marker key alone cannot see (the marker
 * lives on one node). Servers that do not answer are left out.
 * Returns the number filled (0..max), or -1 with err. */
#define BG_STORE_MAX_SERVERS 32
struct bg_server_epoch {
    char name[80];           /* host:port */
    long long pid;
    long long started;
};
int bg_store_epochs(struct bg_store *s, struct bg_server_epoch *e, size_t max,
                    char *err, size_t errsz);

/* One server of the cluster on its own (store_node.c), to refill it after
 * it restarted empty: writes go to it directly, never elsewhere, whatever
 * the pooled connections remember of its failure. name is "host:port" as
 * in bg_server_epoch. NULL with err when no such server. Not shared
 * between threads. */
struct bg_store_node;
struct bg_store_node *bg_store_node_open(struct bg_store *s, const char *name, char *err,
                                         size_t errsz);
void bg_store_node_close(struct bg_store_node *n);
/* As bg_store_restore, on the node only, for an entry the node holds in
 * the cluster (its first copy or a replica): 1 written (add; val NULL:
 * deleted), 0 present already (absent, for a delete) or expired,
 * BG_NODE_ELSEWHERE when the entry lives on other servers only, -1 err. */
#define BG_NODE_ELSEWHERE 2
int bg_store_node_restore(struct bg_store_node *n, enum bg_kind kind, const char *name,
                          const char *val, size_t vlen, long long expires, char *err,
                          size_t errsz);

#endif
