/* breaker.h - a circuit breaker in front of the store.
 *
 * A memcached that accepts connections and never answers costs a full
 * LookupTimeout on every call; the breaker turns that into one timeout per
 * BreakerFailures calls and nothing in between:
 *
 *   closed     every call goes through; a failure adds one to a run of
 *              consecutive failures, a success ends the run. When the run
 *              reaches the threshold the breaker opens.
 *   open       calls are skipped (the caller fails open at once). Once the
 *              cooldown has passed, bg_breaker_probe hands out the probe
 *              ticket and the breaker goes half-open. Probes come from a
 *              background thread, never from a call a recipient waits for
 *              (a hung memcached would cost that recipient the deadline).
 *   half-open  exactly one call (the probe) goes through, every other call
 *              is still skipped. The probe's success closes the breaker,
 *              its failure opens it again for another cooldown.
 *
 * Use: t = bg_breaker_enter(); if t == BG_BREAKER_SKIP do not call the
 * store; else make the call and report it with bg_breaker_leave(t, ok).
 * The prober: t = bg_breaker_probe(); if t == BG_BREAKER_PROBE, make a
 * call and report it the same way.
 * Every ticket other than SKIP must be given back exactly once. A PASS
 * ticket that comes back after the breaker left "closed" (a call that
 * started before it opened) changes nothing: only the probe decides.
 *
 * Each state change is returned by the call that caused it, to exactly one
 * caller, so the caller can log it once (never once per skipped call).
 *
 * Thread-safe. Closed-state calls take no lock (two atomic loads on the way
 * in and out, plus a tiny mutex only while failures are being counted);
 * open and half-open take the mutex. No allocation. Time is passed in by
 * the caller (milliseconds of a monotonic clock), so tests inject theirs.
 */
#ifndef BG_BREAKER_H
#define BG_BREAKER_H

#include <pthread.h>
#include <stdatomic.h>

enum bg_breaker_state {
    BG_BREAKER_CLOSED = 0,
    BG_BREAKER_OPEN,
    BG_BREAKER_HALF_OPEN
};

enum bg_breaker_ticket {
    BG_BREAKER_SKIP = 0,   /* do not call the store */
    BG_BREAKER_PASS,       /* normal call (closed) */
    BG_BREAKER_PROBE       /* the one trial call (half-open) */
};

enum bg_breaker_change {
    BG_BREAKER_NONE = 0,
    BG_BREAKER_OPENED,      /* closed -> open */
    BG_BREAKER_REOPENED,    /* half-open -> open: the probe failed */
    BG_BREAKER_CLOSED_AGAIN /* half-open -> closed: the probe succeeded */
};

struct bg_breaker_event {
    enum bg_breaker_change change;
    unsigned failures;            /* OPENED: the run of failures that opened it */
    unsigned retry_in_ms;         /* OPENED, REOPENED: the cooldown */
    long long open_ms;            /* REOPENED, CLOSED_AGAIN: since it first opened */
    unsigned long long skipped;   /* REOPENED, CLOSED_AGAIN: calls skipped since then */
    const char *error;            /* OPENED, REOPENED: the last failure (may be NULL);
                                     set by the store, not by the breaker */
};

struct bg_breaker {
    pthread_mutex_t mu;
    _Atomic int state;            /* enum bg_breaker_state; written under mu */
    _Atomic unsigned failures;    /* consecutive failures; written under mu */
    unsigned threshold;           /* 0: the breaker never opens */
    unsigned cooldown_ms;
    long long opened_at;          /* under mu: when this outage began */
    long long retry_at;           /* under mu: end of the current cooldown */
    unsigned long long skipped;   /* under mu: skipped since opened_at */
};

/* threshold 0 disables the breaker: every call passes. */
void bg_breaker_init(struct bg_breaker *b, unsigned threshold, unsigned cooldown_ms);
void bg_breaker_destroy(struct bg_breaker *b);

/* PASS while closed, else SKIP (counted in skipped). */
enum bg_breaker_ticket bg_breaker_enter(struct bg_breaker *b, long long now_ms);

/* PROBE when open and the cooldown is over (the breaker goes half-open),
 * else SKIP (not counted). */
enum bg_breaker_ticket bg_breaker_probe(struct bg_breaker *b, long long now_ms);

/* Reports the outcome of a call made with ticket t (ok: 1 the store
 * answered, 0 it failed). Returns the state change this caused (also in
 * *ev when ev is not NULL; ev->change is BG_BREAKER_NONE otherwise). */
enum bg_breaker_change bg_breaker_leave(struct bg_breaker *b, enum bg_breaker_ticket t,
                                        int ok, long long now_ms,
                                        struct bg_breaker_event *ev);

enum bg_breaker_state bg_breaker_state(struct bg_breaker *b);

#endif
