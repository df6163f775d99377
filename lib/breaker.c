/* breaker.c - circuit breaker for the store (see breaker.h). */
#include "breaker.h"

#include <string.h>

void bg_breaker_init(struct bg_breaker *b, unsigned threshold, unsigned cooldown_ms)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    atomic_init(&b->state, BG_BREAKER_CLOSED);
    atomic_init(&b->failures, 0);
    b->threshold = threshold;
    b->cooldown_ms = cooldown_ms;
}

void bg_breaker_destroy(struct bg_breaker *b)
{
    pthread_mutex_destroy(&b->mu);
}

enum bg_breaker_state bg_breaker_state(struct bg_breaker *b)
{
    return (enum bg_breaker_state)atomic_load(&b->state);
}

enum bg_breaker_ticket bg_breaker_enter(struct bg_breaker *b, long long now_ms)
{
    /* Fast path: closed (and a disabled breaker never leaves closed). */
    if (atomic_load(&b->state) == BG_BREAKER_CLOSED)
        return BG_BREAKER_PASS;
    (void)now_ms;
    enum bg_breaker_ticket t;
    pthread_mutex_lock(&b->mu);
    if (atomic_load(&b->state) == BG_BREAKER_CLOSED) {
        t = BG_BREAKER_PASS;               /* closed while we took the lock */
    } else {
        b->skipped++;
        t = BG_BREAKER_SKIP;               /* probes are bg_breaker_probe's */
    }
    pthread_mutex_unlock(&b->mu);
    return t;
}

enum bg_breaker_ticket bg_breaker_probe(struct bg_breaker *b, long long now_ms)
{
    if (atomic_load(&b->state) != BG_BREAKER_OPEN)
        return BG_BREAKER_SKIP;
    enum bg_breaker_ticket t = BG_BREAKER_SKIP;
    pthread_mutex_lock(&b->mu);
    if (atomic_load(&b->state) == BG_BREAKER_OPEN && now_ms >= b->retry_at) {
        atomic_store(&b->state, BG_BREAKER_HALF_OPEN);
        t = BG_BREAKER_PROBE;              /* the only one: state is half-open now */
    }
    pthread_mutex_unlock(&b->mu);
    return t;
}

enum bg_breaker_change bg_breaker_leave(struct bg_breaker *b, enum bg_breaker_ticket t,
                                        int ok, long long now_ms,
                                        struct bg_breaker_event *ev)
{
    struct bg_breaker_event e;
    memset(&e, 0, sizeof e);
    switch (t) {
    case BG_BREAKER_SKIP:
        break;
    case BG_BREAKER_PASS:
        if (ok) {
            /* Fast path: nothing to reset. */
            if (atomic_load(&b->failures) == 0)
                break;
            pthread_mutex_lock(&b->mu);
            if (atomic_load(&b->state) == BG_BREAKER_CLOSED)
                atomic_store(&b->failures, 0);
            pthread_mutex_unlock(&b->mu);
            break;
        }
        if (b->threshold == 0)
            break;
        pthread_mutex_lock(&b->mu);
        /* A failure of a call that started before the breaker opened
         * changes nothing: the outage is already known. */
        if (atomic_load(&b->state) == BG_BREAKER_CLOSED) {
            unsigned f = atomic_load(&b->failures) + 1;
            atomic_store(&b->failures, f);
            if (f >= b->threshold) {
                b->opened_at = now_ms;
                b->retry_at = now_ms + b->cooldown_ms;
                b->skipped = 0;
                atomic_store(&b->state, BG_BREAKER_OPEN);
                e.change = BG_BREAKER_OPENED;
                e.failures = f;
                e.retry_in_ms = b->cooldown_ms;
            }
        }
        pthread_mutex_unlock(&b->mu);
        break;
    case BG_BREAKER_PROBE:
        pthread_mutex_lock(&b->mu);
        e.open_ms = now_ms - b->opened_at;
        e.skipped = b->skipped;
        if (ok) {
            atomic_store(&b->failures, 0);
            atomic_store(&b->state, BG_BREAKER_CLOSED);
            e.change = BG_BREAKER_CLOSED_AGAIN;
        } else {
            b->retry_at = now_ms + b->cooldown_ms;
            atomic_store(&b->state, BG_BREAKER_OPEN);
            e.change = BG_BREAKER_REOPENED;
            e.retry_in_ms = b->cooldown_ms;
        }
        pthread_mutex_unlock(&b->mu);
        break;
    }
    if (ev != NULL)
        *ev = e;
    return e.change;
}
