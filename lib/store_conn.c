/* store_conn.c - the store's connections: the libmemcached pool, the gate
 * that waits for a free connection, each call's deadline, retries on
 * another server, the circuit breaker (breaker.h) and its prober. The
 * operations themselves (lookup, put, incr...) are in store.c.
 *
 * How long one call can take (measured against test/tools/blackhole, a
 * server that accepts connections and never answers; libmemcached 1.1.4):
 *
 * - The network part waits once, not once per step: memcached_mget only
 *   writes the request into the socket buffer, memcached_fetch_result then
 *   waits POLL_TIMEOUT, times out and closes the connection. With a 100 ms
 *   deadline one bg_store_lookup took 100.4-102.5 ms, text or binary
 *   protocol, alone or 20 at a time. A server that never completes the TCP
 *   handshake costs CONNECT_TIMEOUT instead; one that answers part of a
 *   multi-get and then stalls could cost a POLL_TIMEOUT per reply, so the
 *   poll timeout is re-armed with what is left of the deadline before every
 *   step (below).
 * - The wait for a pooled connection did not follow the deadline:
 *   memcached_pool_fetch turns its "relative" timespec into
 *   time(NULL) + tv_sec with tv_nsec kept, i.e. a deadline counted from the
 *   start of the current second. A sub-second LookupTimeout therefore mostly
 *   did not wait at all (all connections busy meant an immediate failure,
 *   even with a healthy server under load), and a 1 s one waited anywhere
 *   from 0 to 1 s before the call's own 1 s: measured 1001 + 417 ms. So the
 *   pool is now only asked when a connection is known to be free: a gate of
 *   our own (mutex + condition variable on CLOCK_MONOTONIC, as many slots
 *   as the pool has connections) does the waiting, up to the call's
 *   deadline, and the call gets what is left of it. Measured after the
 *   change, 100 ms deadline: 99.4-103.5 ms for every call, alone, 20
 *   threads on 16 connections, or 20 on 4 (those that waited for a
 *   connection included); 1 s deadline, 6 threads on 2 connections:
 *   1000.2-1004.7 ms (was up to 1 s wait + 1 s call).
 * - SERVER_FAILURE_LIMIT / DEAD_TIMEOUT / REMOVE_FAILED_SERVERS (the
 *   first two only through memcached_behavior_set - MemcachedFailureLimit,
 *   MemcachedDeadTimeout, set on our master before the pool clones it -
 *   the last as "--REMOVE-FAILED-SERVERS=1" with the "=1") make
 *   libmemcached itself skip a failed server of several, but that state
 *   lives in each memcached_st, i.e. in each pooled connection separately,
 *   so every one of them meets the failure once: retry_elsewhere() below
 *   makes that call again instead of failing it. The breaker is shared by
 *   all connections and counts every kind of failure, timeouts included;
 *   RETRY_TIMEOUT is MemcachedRetryTimeout (default 1 s, as before).
 * - Measured with three servers on loopback, one SIGKILLed
 *   (test/integration/60-cluster.sh): 1,000 lookups through the daemon, 10
 *   at a time, all found, none failed, same 0.4 s as with all three up.
 *   Before the retry, 3-6 of the first 1,000 failed (one per pooled
 *   connection) and some of those came back from libmemcached as END, a
 *   silent miss; hence the last-error check after the fetch loop
 *   (bg_store_lookup, store.c).
 */
#include "store_conn.h"
#include "mcerr.h"
#include "err.h"
#include "bg.h"
#include "key.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* The number in "--POOL-MAX=N" of a configuration string, 0 when absent. */
static unsigned pool_max_option(const char *conf)
{
    static const char opt[] = "--POOL-MAX=";
    for (const char *p = conf; *p; p++)
        if (strncasecmp(p, opt, sizeof opt - 1) == 0) {
            char *end;
            unsigned long v = strtoul(p + sizeof opt - 1, &end, 10);
            return v > 0 && v <= 100000 ? (unsigned)v : 0;
        }
    return 0;
}

/* Failure handling for several servers and SASL, on the master handle.
 * NULL, or what went wrong. */
static const char *master_setup(memcached_st *m, const struct bg_store_opts *o)
{
    /* A failed server is retried after RETRY_TIMEOUT (1 s unless set), not
     * on every call. */
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT,
                           o->retry_timeout_s ? o->retry_timeout_s : 1);
    if (o->failure_limit &&
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT,
                               o->failure_limit) != MEMCACHED_SUCCESS)
        return "cannot set the server failure limit";
    if (o->dead_timeout_s &&
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_DEAD_TIMEOUT,
                               o->dead_timeout_s) != MEMCACHED_SUCCESS)
        return "cannot set the dead timeout";
    if (o->sasl_user != NULL && o->sasl_user[0]) {
        if (!memcached_behavior_get(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL))
            return "SASL (MemcachedUser) needs --BINARY-PROTOCOL in the Memcached string";
        if (memcached_set_sasl_auth_data(m, o->sasl_user,
                                         o->sasl_password ? o->sasl_password : "")
            != MEMCACHED_SUCCESS)
            return "cannot set the SASL user and password (libmemcached without SASL?)";
    }
    return NULL;
}

struct bg_store *bg_store_open(const struct bg_store_opts *o, char *err, size_t errsz)
{
    char conf[1400];
    struct bg_store *s;
    unsigned pool_max = o->pool_max ? o->pool_max : 100;

    if (strlen(o->prefix) > BG_PREFIX_MAX) {
        bg_seterr(err, errsz, "key prefix too long");
        return NULL;
    }
    /* Pool size from our own key unless the string sets it. */
    if (!has_option(o->config, "--POOL-MAX")) {
        snprintf(conf, sizeof conf, "%s --POOL-MIN=1 --POOL-MAX=%u", o->config, pool_max);
    } else {
        snprintf(conf, sizeof conf, "%s", o->config);
        pool_max = pool_max_option(o->config);
        if (pool_max == 0) {
            bg_seterr(err, errsz, "bad --POOL-MAX in the Memcached configuration");
            return NULL;
        }
    }

    char cerr[256];
    memcached_return_t rc = libmemcached_check_configuration(conf, strlen(conf), cerr,
                                                             sizeof cerr);
    if (rc != MEMCACHED_SUCCESS) {
        bg_seterr(err, errsz, "bad Memcached configuration: %s", cerr);
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        bg_seterr(err, errsz, "out of memory");
        return NULL;
    }
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        bg_seterr(err, errsz, "cannot set up a condition variable");
        free(s);
        return NULL;
    }
    int ce = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (ce == 0)
        ce = pthread_cond_init(&s->gate_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (ce != 0) {
        bg_seterr(err, errsz, "cannot set up a condition variable: %s", strerror(ce));
        free(s);
        return NULL;
    }
    /* The master is ours (not memcached_pool's own) so that SASL data and
     * the failure behaviors are on it before the pool clones the first
     * connection; memcached_clone copies both. */
    const char *merr = NULL;
    s->master = memcached(conf, strlen(conf));
    if (s->master == NULL)
        merr = "cannot create memcached handle";
    else
        merr = master_setup(s->master, o);
    if (merr == NULL && (s->pool = memcached_pool_create(s->master, 1, pool_max)) == NULL)
        merr = "cannot create memcached pool";
    if (merr != NULL) {
        bg_seterr(err, errsz, "%s", merr);
        memcached_free(s->master);
        pthread_cond_destroy(&s->gate_cv);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->gate_mu, NULL);
    s->gate_free = pool_max;
    s->pool_max = pool_max;
    bg_breaker_init(&s->breaker, o->breaker_failures, o->breaker_cooldown_ms);
    s->on_breaker = o->on_breaker;
    s->on_breaker_arg = o->on_breaker_arg;
    s->journal = o->journal;
    memcpy(s->prefix, o->prefix, strlen(o->prefix) + 1);
    s->timeout_ms = o->timeout_ms ? o->timeout_ms : 250;
    /* Bound every network wait by the deadline: connect, poll and socket
     * I/O. RCV/SND timeouts are in microseconds. Connect and poll timeouts
     * are set again on each borrowed connection to what is left of the
     * call's deadline (call_arm). */
    memcached_pool_behavior_set(s->pool, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, s->timeout_ms);
    memcached_pool_behavior_set(s->pool, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, s->timeout_ms);
    memcached_pool_behavior_set(s->pool, MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
                                (uint64_t)s->timeout_ms * 1000);
    memcached_pool_behavior_set(s->pool, MEMCACHED_BEHAVIOR_SND_TIMEOUT,
                                (uint64_t)s->timeout_ms * 1000);
    /* No Nagle: a lookup is written as two small packets (the quiet gets,
     * then the no-op that ends them) and memcached answers nothing to a
     * quiet get that misses, so with Nagle the no-op waited for the ACK of
     * the gets, which the server delays (40 ms on Linux): every lookup of a
     * clean recipient took ~44 ms instead of ~0.2 ms, and 16 pooled
     * connections capped a daemon at ~360 clean recipients/s. Found by
     * test/e2e/70-soak.sh; test/integration/37-latency.sh keeps it fixed. */
    memcached_pool_behavior_set(s->pool, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    return s;
}

void bg_store_close(struct bg_store *s)
{
    if (s == NULL)
        return;
    memcached_pool_destroy(s->pool);
    memcached_free(s->master);
    bg_breaker_destroy(&s->breaker);
    pthread_cond_destroy(&s->gate_cv);
    pthread_mutex_destroy(&s->gate_mu);
    free(s);
}

enum bg_breaker_state bg_store_breaker_state(struct bg_store *s)
{
    return bg_breaker_state(&s->breaker);
}

/* Give the poll and connect timeouts of the borrowed connection what is
 * left of the deadline, at least 1 ms: a reply already waiting in the
 * socket is read even when the thread got the CPU back only after the
 * deadline (on a saturated host that is the scheduler's delay, not
 * memcached's), while a server that says nothing more costs at most 1 ms
 * per step past the deadline. */
void store_call_arm(struct call *c)
{
    long long left = c->deadline - mono_ms();
    if (left < 1)
        left = 1;
    memcached_behavior_set(c->m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, (uint64_t)left);
    memcached_behavior_set(c->m, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, (uint64_t)left);
}

/* With several servers, a call that failed because one of them is gone
 * (refused, reset, marked dead) is made again, at most twice: the first
 * failure marks the server, the next call to it (MemcachedFailureLimit 1
 * and --REMOVE-FAILED-SERVERS=1) takes it out of the distribution and
 * fails with SERVER_MARKED_DEAD, the one after that goes to another
 * server (or, with replicas, reads the copy). Measured with a SIGKILLed
 * server of three: a lookup needs one retry, a write in a fresh process
 * two. 1 when the caller should retry, within what is left of the
 * deadline; never once it has passed. */
int store_retry_elsewhere(struct call *c, memcached_return_t rc, int *tried)
{
    if (*tried >= 2 || memcached_server_count(c->m) < 2 || mono_ms() >= c->deadline)
        return 0;
    switch (rc) {
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_CONNECTION_SOCKET_CREATE_FAILURE:
    case MEMCACHED_SERVER_MARKED_DEAD:
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_ERRNO:
    case MEMCACHED_TIMEOUT:
        break;
    default:
        return 0;
    }
    ++*tried;
    store_call_arm(c);
    return 1;
}

int store_replies_owed(const struct call *c)
{
    uint32_t n = memcached_server_count(c->m);
    for (uint32_t i = 0; i < n; i++) {
        const memcached_instance_st *in = memcached_server_instance_by_position(c->m, i);
        if (in != NULL && memcached_server_response_count(in) > 0)
            return 1;
    }
    return 0;
}

/* Gives back a slot of the gate (a free pooled connection). */
static void gate_release(struct bg_store *s)
{
    pthread_mutex_lock(&s->gate_mu);
    s->gate_free++;
    pthread_cond_signal(&s->gate_cv);
    pthread_mutex_unlock(&s->gate_mu);
}

/* Ends a call begun by call_begin: gives the connection back and tells the
 * breaker how it went (ok: memcached answered). why is the failure for the
 * breaker's log line (may be NULL). */
void store_call_end(struct bg_store *s, struct call *c, int ok, const char *why)
{
    if (c->m != NULL) {
        memcached_pool_release(s->pool, c->m);
        c->m = NULL;
        gate_release(s);
    }
    struct bg_breaker_event ev;
    enum bg_breaker_change ch = bg_breaker_leave(&s->breaker, c->ticket, ok, mono_ms(), &ev);
    if (ch != BG_BREAKER_NONE && s->on_breaker != NULL) {
        ev.error = ok ? NULL : why;
        s->on_breaker(s->on_breaker_arg, &ev);
    }
}

/* Replaces the borrowed connection by a fresh clone of the master,
 * tagged with the current epoch. libmemcached remembers a failed server
 * in each memcached_st and does not even try it again for RetryTimeout,
 * counted in whole seconds (MEMCACHED_SERVER_TEMPORARILY_DISABLED for 1
 * to 2 s): measured with test/bench/recover-time.sh, the prober's pooled
 * connection kept the breaker open 2.0 s after memcached answered again.
 * The probe therefore always uses a fresh connection, and so does the
 * first call on each connection that was pooled before the breaker
 * closed. The pool takes any handle back, so the clone simply takes the
 * old one's place (the master is only read, as the pool's own clones
 * read it). */
static void call_fresh(struct bg_store *s, struct call *c)
{
    memcached_st *f = memcached_clone(NULL, s->master);
    if (f == NULL)
        return; /* keep the old one */
    memcached_free(c->m);
    c->m = f;
    memcached_set_user_data(f, (void *)(uintptr_t)atomic_load(&s->epoch));
}

/* Waits for a free pooled connection. Waiting is local (every connection
 * is busy with other lookups; the machine is short of CPU): it is bounded
 * by its own, longer limit and never counts as a memcached failure - a
 * loaded host once opened the breaker this way and let suppressed
 * recipients through while memcached was healthy (issue 14). 1 when a
 * slot is ours. */
static int gate_take(struct bg_store *s)
{
    /* Ten lookups' time, 2 to 5 s: never near Postfix's
     * milter_command_timeout (30 s), past which it would tempfail. */
    unsigned long long w = (unsigned long long)s->timeout_ms * 10;
    unsigned wait_ms = w < BG_STORE_BUSY_WAIT_MS ? BG_STORE_BUSY_WAIT_MS
                       : w > BG_STORE_BUSY_WAIT_MAX_MS ? BG_STORE_BUSY_WAIT_MAX_MS
                                                       : (unsigned)w;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(wait_ms / 1000);
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->gate_mu);
    int e = 0;
    while (s->gate_free == 0 && e != ETIMEDOUT)
        e = pthread_cond_timedwait(&s->gate_cv, &s->gate_mu, &until);
    int got = s->gate_free > 0;
    if (got)
        s->gate_free--;
    pthread_mutex_unlock(&s->gate_mu);
    return got;
}

/* Starts a call: waits for a free connection (local, not counted), asks
 * the breaker, borrows the connection; the call's deadline (LookupTimeout)
 * runs from then on, while it talks to memcached. 0 with c->m set;
 * BG_STORE_BUSY (no connection free: not counted), BG_STORE_SKIPPED
 * (breaker open; for the prober: no probe due) or -1 (the call is already
 * ended and counted as failed), message in why (whysz bytes, never NULL).
 * probe: the breaker's probe (bg_store_probe), the only call made while
 * it is open. */
static int call_start(struct bg_store *s, struct call *c, char *why, size_t whysz,
                      int probe)
{
    c->m = NULL;
    c->ticket = BG_BREAKER_SKIP;
    if (probe && bg_breaker_state(&s->breaker) != BG_BREAKER_OPEN)
        return BG_STORE_SKIPPED;          /* cheap: no gate, no lock */
    if (!probe && bg_breaker_state(&s->breaker) != BG_BREAKER_CLOSED) {
        /* Skipped anyway: ask the breaker now, not after waiting at the
         * gate behind the probe of a hung server. */
        c->ticket = bg_breaker_enter(&s->breaker, mono_ms());
        if (c->ticket == BG_BREAKER_SKIP) {
            bg_seterr(why, whysz, "memcached not asked: circuit breaker open");
            return BG_STORE_SKIPPED;
        }
    }
    if (!gate_take(s)) {
        /* A PASS ticket here means the breaker closed a moment ago (its
         * failure run is 0): giving it back as a success changes nothing. */
        if (c->ticket != BG_BREAKER_SKIP)
            bg_breaker_leave(&s->breaker, c->ticket, 1, mono_ms(), NULL);
        bg_seterr(why, whysz, "memcached not asked: all %u pooled connections stayed busy "
                  "(raise MemcachedPool)", s->pool_max);
        return BG_STORE_BUSY;
    }
    if (c->ticket == BG_BREAKER_SKIP)
        c->ticket = probe ? bg_breaker_probe(&s->breaker, mono_ms())
                          : bg_breaker_enter(&s->breaker, mono_ms());
    if (c->ticket == BG_BREAKER_SKIP) {
        gate_release(s);
        bg_seterr(why, whysz, "memcached not asked: circuit breaker open");
        return BG_STORE_SKIPPED;
    }
    memcached_return_t rc = MEMCACHED_SUCCESS;
    memcached_st *m = memcached_pool_fetch(s->pool, NULL, &rc);   /* NULL: no wait */
    if (m == NULL) {
        gate_release(s);
        bg_seterr(why, whysz, "no memcached connection: %s", memcached_strerror(NULL, rc));
        store_call_end(s, c, 0, why);
        return -1;
    }
    c->m = m;
    /* The deadline runs from here: only talking to memcached counts (and
     * closing a connection that call_fresh replaces). */
    c->deadline = mono_ms() + s->timeout_ms;
    /* A probe is the only call while the breaker is open, and the one
     * that closes it: the epoch moves on before it asks, so no lookup
     * that follows its success can borrow a connection of the outage as
     * if it were current (found by review: bumped after the close, there
     * was a moment when one could). */
    if (probe)
        atomic_fetch_add(&s->epoch, 1);
    if (probe || (uintptr_t)memcached_get_user_data(m) != atomic_load(&s->epoch))
        call_fresh(s, c);
    store_call_arm(c);
    return 0;
}

int store_call_begin(struct bg_store *s, struct call *c, char *why, size_t whysz)
{
    return call_start(s, c, why, whysz, 0);
}

int bg_store_probe(struct bg_store *s)
{
    char why[WHY_MAX] = "";
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, s->prefix, BG_KIND_META, "probe");
    if (kl < 0)
        return -1;
    struct call c;
    int b = call_start(s, &c, why, sizeof why, 1);
    if (b == BG_STORE_SKIPPED || b == BG_STORE_BUSY)
        return 0;
    if (b < 0)
        return -1;
    size_t vl = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    int tried = 0;
    char *v = memcached_get(c.m, key, (size_t)kl, &vl, &flags, &rc);
    while (v == NULL && rc != MEMCACHED_NOTFOUND && store_retry_elsewhere(&c, rc, &tried))
        v = memcached_get(c.m, key, (size_t)kl, &vl, &flags, &rc);
    int ok = v != NULL || rc == MEMCACHED_NOTFOUND;
    free(v);
    if (!ok)
        bg_mc_seterr(why, sizeof why, "probe get", c.m);
    store_call_end(s, &c, ok, why);
    return ok ? 1 : -1;
}
