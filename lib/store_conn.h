/* store_conn.h - internal to store.c and store_conn.c: the store handle
 * and one call's connection, deadline and breaker ticket. */
#ifndef BG_STORE_CONN_H
#define BG_STORE_CONN_H

#include "store.h"
#include "bg.h"
#include "breaker.h"

#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/pool.h>
#include <pthread.h>
#include <stdatomic.h>

struct bg_store {
    memcached_pool_st *pool;
    memcached_st *master;        /* the pool clones its connections from it */
    char prefix[BG_PREFIX_MAX + 1];
    unsigned timeout_ms;
    /* The gate: free pooled connections (see the top of store_conn.c). */
    pthread_mutex_t gate_mu;
    pthread_cond_t gate_cv;      /* on CLOCK_MONOTONIC */
    unsigned gate_free;
    unsigned pool_max;
    struct bg_breaker breaker;
    bg_store_breaker_fn *on_breaker;
    void *on_breaker_arg;
    struct bg_journal *journal;  /* not owned; NULL = none */
    /* Bumped by every probe of the open breaker: a pooled connection
     * tagged with an older one (memcached_set_user_data) may still hold
     * libmemcached's memory of the outage and is replaced by a fresh
     * clone when next borrowed (call_fresh, store_conn.c). */
    atomic_uint epoch;
};

/* One call in progress: its deadline, breaker ticket and connection. */
struct call {
    long long deadline;          /* monotonic ms */
    enum bg_breaker_ticket ticket;
    memcached_st *m;
};

/* Every public call formats its failure into a local buffer first (the
 * breaker's log line needs it even when the caller passes no err) and
 * copies it out at the end. */
#define WHY_MAX 256

/* Starts a call: waits for a free connection (local, never counted as a
 * failure), asks the breaker, borrows the connection, starts the deadline.
 * 0 with c->m set; BG_STORE_BUSY, BG_STORE_SKIPPED, or -1 (the call is
 * already ended and counted as failed); message in why. */
int store_call_begin(struct bg_store *s, struct call *c, char *why, size_t whysz);

/* Ends a call: gives the connection back and tells the breaker how it went
 * (ok: memcached answered); why is the failure for the breaker's log. */
void store_call_end(struct bg_store *s, struct call *c, int ok, const char *why);

/* The poll and connect timeouts of the connection: what is left of the
 * deadline, at least 1 ms. */
void store_call_arm(struct call *c);

/* 1 when a call that failed with rc should be made again on another server
 * (several servers, at most twice, never past the deadline; *tried
 * counts). */
int store_retry_elsewhere(struct call *c, memcached_return_t rc, int *tried);

/* 1 when a server of the call's connection still owes replies (it stayed
 * silent past the deadline while libmemcached ended the fetch). */
int store_replies_owed(const struct call *c);

#endif
