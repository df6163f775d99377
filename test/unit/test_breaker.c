/* test_breaker.c - the circuit breaker's state machine, with an injected
 * clock: threshold, cooldown, the single probe, stale tickets, and
 * concurrent callers. */
#include "breaker.h"
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define COOL 10000u   /* cooldown of most tests, ms */

/* n failed calls at time now; returns the number of OPENED changes seen. */
static int fail_n(struct bg_breaker *b, int n, long long now)
{
    int opened = 0;
    for (int i = 0; i < n; i++) {
        enum bg_breaker_ticket t = bg_breaker_enter(b, now);
        if (t == BG_BREAKER_SKIP)
            continue;
        if (bg_breaker_leave(b, t, 0, now, NULL) == BG_BREAKER_OPENED)
            opened++;
    }
    return opened;
}

START_TEST(closed_passes)
{
    struct bg_breaker b;
    bg_breaker_init(&b, 5, COOL);
    for (int i = 0; i < 100; i++) {
        enum bg_breaker_ticket t = bg_breaker_enter(&b, i);
        ck_assert_int_eq(t, BG_BREAKER_PASS);
        ck_assert_int_eq(bg_breaker_leave(&b, t, 1, i, NULL), BG_BREAKER_NONE);
    }
    ck_assert_int_eq(bg_breaker_state(&b), BG_BREAKER_CLOSED);
    bg_breaker_destroy(&b);
}
END_TEST

START_TEST(opens_after_n_consecutive)
{
    struct bg_breaker b;
    struct bg_breaker_event ev;
    bg_breaker_init(&b, 5, COOL);
    ck_assert_int_eq(fail_n(&b, 4, 1000), 0);
    ck_assert_int_eq(bg_breaker_state(&b), BG_BREAKER_CLOSED);
    enum bg_breaker_ticket t = bg_breaker_enter(&b, 1000);
    ck_assert_int_eq(t, BG_BREAKER_PASS);
    ck_assert_int_eq(bg_breaker_leave(&b, t, 0, 1000, &ev), BG_BREAKER_OPENED);
    ck_assert_int_eq(ev.change, BG_BREAKER_OPENED);
    ck_assert_uint_eq(ev.failures, 5);
    ck_assert_uint_eq(ev.retry_in_ms, COOL);
    ck_assert_int_eq(bg_breaker_state(&b), BG_BREAKER_OPEN);
    bg_breaker_destroy(&b);
}
END_TEST

START_TEST(success_ends_the_run)
{
    struct bg_breaker b;
    bg_breaker_init(&b, 5, COOL);
    ck_assert_int_eq(fail_n(&b, 4, 0), 0);
    enum bg_breaker_ticket t = bg_breaker_enter(&b, 0);
    ck_assert_int_eq(bg_breaker_leave(&b, t, 1, 0, NULL), BG_BREAKER_NONE);
    ck_assert_int_eq(fail_n(&b, 4, 0), 0);
    ck_assert_int_eq(bg_breaker_state(&b), BG_BREAKER_CLOSED);
    ck_assert_int_eq(fail_n(&b, 1, 0), 1);
    bg_breaker_destroy(&b);
}
END_TEST

START_TEST(skips_until_cooldown_then_one_probe)
{
    struct bg_breaker b;
    struct bg_breaker_event ev;
    bg_breaker_init(&b, 3, COOL);
    ck_assert_int_eq(fail_n(&b, 3, 1000), 1);
    /* The whole cooldown: skipped, and a skip changes nothing. */
    for (long long now = 1000; now < 1000 + COOL; now += 100) {
        enum bg_breaker_ticket t = bg_breaker_enter(&b, now);
        ck_assert_int_eq(t, BG_BREAKER_SKIP);
        ck_assert_int_eq(bg_breaker_leave(&b, t, 0, now, NULL), BG_BREAKER_NONE);
    }
    /* Before the end of the cooldown the prober gets nothing (not counted
     * as a skip). */
    ck_assert_int_eq(bg_breaker_probe(&b, 1000 + COOL - 1), BG_BREAKER_SKIP);
    /* A call a recipient waits for never probes, even after the cooldown
     * (101 skipped so far)... */
    ck_assert_int_eq(bg_breaker_enter(&b, 1000 + COOL), BG_BREAKER_SKIP);
    ck_assert_int_eq(bg_breaker_state(&b), BG_BREAKER_OPEN);
    /* ...the prober does: one probe... */
    enum bg_breaker_ticket probe = bg_breaker_probe(&b, 1000 + COOL);
    ck_assert_int_eq(probe, BG_BREAKER_PROBE);
    ck_assert_int_eq(bg_breaker_probe(&b, 1000 + COOL), BG_BREAKER_SKIP);
    ck_assert_int_eq(bg_breaker_state(&b), BG_BREAKER_HALF_OPEN);
    /* ...and everyone else still skips while it runs, however late. */
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(bg_breaker_enter(&b, 1000 + 5 * COOL), BG_BREAKER_SKIP);
    ck_assert_int_eq(bg_breaker_leave(&b, probe, 1, 1000 + COOL + 300, &ev),
                     BG_BREAKER_CLOSED_AGAIN);
    ck_assert_int_eq(ev.open_ms, COOL + 300);
    ck_assert_uint_eq(ev.skipped, 111);
    ck_assert_int_eq(bg_breaker_state(&b), BG_BREAKER_CLOSED);
    ck_assert_int_eq(bg_breaker_enter(&b, 1000 + COOL + 301), BG_BREAKER_PASS);
    /* Closed again means a fresh run: it takes 3 new failures. */
    ck_assert_int_eq(fail_n(&b, 2, 20000), 0);
    ck_assert_int_eq(fail_n(&b, 1, 20000), 1);
    bg_breaker_destroy(&b);
}
END_TEST

START_TEST(failed_probe_reopens)
{
    struct bg_breaker b;
    struct bg_breaker_event ev;
    bg_breaker_init(&b, 2, COOL);
    ck_assert_int_eq(fail_n(&b, 2, 0), 1);
    enum bg_breaker_ticket t = bg_breaker_probe(&b, COOL);
    ck_assert_int_eq(t, BG_BREAKER_PROBE);
    ck_assert_int_eq(bg_breaker_leave(&b, t, 0, COOL + 100, &ev), BG_BREAKER_REOPENED);
    ck_assert_uint_eq(ev.retry_in_ms, COOL);
    ck_assert_int_eq(ev.open_ms, COOL + 100);
    ck_assert_int_eq(bg_breaker_state(&b), BG_BREAKER_OPEN);
    /* The new cooldown runs from the probe's failure. */
    ck_assert_int_eq(bg_breaker_enter(&b, 2 * COOL + 99), BG_BREAKER_SKIP);
    ck_assert_int_eq(bg_breaker_probe(&b, 2 * COOL + 99), BG_BREAKER_SKIP);
    t = bg_breaker_probe(&b, 2 * COOL + 100);
    ck_assert_int_eq(t, BG_BREAKER_PROBE);
    ck_assert_int_eq(bg_breaker_leave(&b, t, 1, 2 * COOL + 150, &ev),
                     BG_BREAKER_CLOSED_AGAIN);
    /* Duration and skips count from the first opening. */
    ck_assert_int_eq(ev.open_ms, 2 * COOL + 150);
    ck_assert_uint_eq(ev.skipped, 1);
    bg_breaker_destroy(&b);
}
END_TEST

START_TEST(stale_tickets_change_nothing)
{
    struct bg_breaker b;
    bg_breaker_init(&b, 3, COOL);
    /* Three calls start while closed and are slow... */
    enum bg_breaker_ticket slow[3];
    for (int i = 0; i < 3; i++) {
        slow[i] = bg_breaker_enter(&b, 0);
        ck_assert_int_eq(slow[i], BG_BREAKER_PASS);
    }
    /* ...meanwhile others fail and open it. */
    ck_assert_int_eq(fail_n(&b, 3, 0), 1);
    /* A late failure does not open it a second time, a late success
     * does not close it: only the probe decides. */
    ck_assert_int_eq(bg_breaker_leave(&b, slow[0], 0, 10, NULL), BG_BREAKER_NONE);
    ck_assert_int_eq(bg_breaker_leave(&b, slow[1], 1, 10, NULL), BG_BREAKER_NONE);
    ck_assert_int_eq(bg_breaker_state(&b), BG_BREAKER_OPEN);
    enum bg_breaker_ticket probe = bg_breaker_probe(&b, COOL);
    ck_assert_int_eq(probe, BG_BREAKER_PROBE);
    ck_assert_int_eq(bg_breaker_leave(&b, slow[2], 1, COOL, NULL), BG_BREAKER_NONE);
    ck_assert_int_eq(bg_breaker_state(&b), BG_BREAKER_HALF_OPEN);
    ck_assert_int_eq(bg_breaker_leave(&b, probe, 0, COOL, NULL), BG_BREAKER_REOPENED);
    bg_breaker_destroy(&b);
}
END_TEST

START_TEST(zero_threshold_never_opens)
{
    struct bg_breaker b;
    bg_breaker_init(&b, 0, COOL);
    ck_assert_int_eq(fail_n(&b, 10000, 0), 0);
    ck_assert_int_eq(bg_breaker_state(&b), BG_BREAKER_CLOSED);
    ck_assert_int_eq(bg_breaker_enter(&b, 0), BG_BREAKER_PASS);
    bg_breaker_destroy(&b);
}
END_TEST

START_TEST(zero_cooldown_probes_at_once)
{
    struct bg_breaker b;
    bg_breaker_init(&b, 1, 0);
    ck_assert_int_eq(fail_n(&b, 1, 5), 1);
    ck_assert_int_eq(bg_breaker_enter(&b, 5), BG_BREAKER_SKIP);
    enum bg_breaker_ticket t = bg_breaker_probe(&b, 5);
    ck_assert_int_eq(t, BG_BREAKER_PROBE);
    ck_assert_int_eq(bg_breaker_probe(&b, 5), BG_BREAKER_SKIP);
    ck_assert_int_eq(bg_breaker_enter(&b, 5), BG_BREAKER_SKIP);
    ck_assert_int_eq(bg_breaker_leave(&b, t, 1, 5, NULL), BG_BREAKER_CLOSED_AGAIN);
    bg_breaker_destroy(&b);
}
END_TEST

/* ---------------------------------------------------------- concurrency */

#define NTHREADS 8

struct shared {
    struct bg_breaker b;
    pthread_barrier_t bar;
    _Atomic long long clock;        /* the injected clock, ms */
    _Atomic int opened, reopened, closed;
    _Atomic int probes_in_flight, max_probes_in_flight;
    _Atomic long passes, skips, probes;
    enum bg_breaker_ticket held[NTHREADS];
    int iterations;
    long long outage_len;           /* stress: alternating outage/healthy periods */
};

static void count_change(struct shared *sh, enum bg_breaker_change c)
{
    if (c == BG_BREAKER_OPENED)
        atomic_fetch_add(&sh->opened, 1);
    else if (c == BG_BREAKER_REOPENED)
        atomic_fetch_add(&sh->reopened, 1);
    else if (c == BG_BREAKER_CLOSED_AGAIN)
        atomic_fetch_add(&sh->closed, 1);
}

/* Everyone fails at once with a frozen clock: exactly one OPENED. */
static void *all_fail(void *arg)
{
    struct shared *sh = arg;
    pthread_barrier_wait(&sh->bar);
    for (int i = 0; i < sh->iterations; i++) {
        enum bg_breaker_ticket t = bg_breaker_enter(&sh->b, 0);
        if (t == BG_BREAKER_SKIP)
            atomic_fetch_add(&sh->skips, 1);
        else
            atomic_fetch_add(&sh->passes, 1);
        count_change(sh, bg_breaker_leave(&sh->b, t, 0, 0, NULL));
    }
    return NULL;
}

START_TEST(concurrent_open_once)
{
    static struct shared sh;
    memset(&sh, 0, sizeof sh);
    bg_breaker_init(&sh.b, 5, COOL);
    pthread_barrier_init(&sh.bar, NULL, NTHREADS);
    sh.iterations = 2000;
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, all_fail, &sh), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(atomic_load(&sh.opened), 1);
    ck_assert_int_eq(atomic_load(&sh.closed), 0);
    ck_assert_int_eq(bg_breaker_state(&sh.b), BG_BREAKER_OPEN);
    /* At least the threshold went through; at most one call per thread
     * beyond it (those already past the closed check when it opened). */
    long passes = atomic_load(&sh.passes);
    ck_assert_int_ge(passes, 5);
    ck_assert_int_le(passes, 5 + NTHREADS);
    ck_assert_int_eq(passes + atomic_load(&sh.skips), (long)NTHREADS * sh.iterations);
    ck_assert_uint_eq(sh.b.skipped, (unsigned long long)atomic_load(&sh.skips));
    pthread_barrier_destroy(&sh.bar);
    bg_breaker_destroy(&sh.b);
}
END_TEST

/* Several probers arrive together after the cooldown: one probe, the rest
 * skip. */
static void *arrive(void *arg)
{
    struct shared *sh = arg;
    static _Atomic int slot;
    int me = atomic_fetch_add(&slot, 1);
    pthread_barrier_wait(&sh->bar);
    sh->held[me] = bg_breaker_probe(&sh->b, atomic_load(&sh->clock));
    return NULL;
}

START_TEST(concurrent_single_probe)
{
    static struct shared sh;
    memset(&sh, 0, sizeof sh);
    bg_breaker_init(&sh.b, 1, COOL);
    ck_assert_int_eq(fail_n(&sh.b, 1, 0), 1);
    atomic_store(&sh.clock, COOL + 1);
    pthread_barrier_init(&sh.bar, NULL, NTHREADS);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, arrive, &sh), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    int probes = 0, skips = 0, who = -1;
    for (int i = 0; i < NTHREADS; i++) {
        if (sh.held[i] == BG_BREAKER_PROBE) {
            probes++;
            who = i;
        } else if (sh.held[i] == BG_BREAKER_SKIP) {
            skips++;
        }
    }
    ck_assert_int_eq(probes, 1);
    ck_assert_int_eq(skips, NTHREADS - 1);
    ck_assert_int_eq(bg_breaker_leave(&sh.b, sh.held[who], 1, COOL + 2, NULL),
                     BG_BREAKER_CLOSED_AGAIN);
    ck_assert_int_eq(bg_breaker_state(&sh.b), BG_BREAKER_CLOSED);
    pthread_barrier_destroy(&sh.bar);
    bg_breaker_destroy(&sh.b);
}
END_TEST

/* Flapping store under load: the clock ticks with every call, the store
 * fails during alternating outage periods. Never two probes at once, and
 * every opening is matched by one closing (or the breaker is still not
 * closed at the end). */
static void *flap(void *arg)
{
    struct shared *sh = arg;
    pthread_barrier_wait(&sh->bar);
    for (int i = 0; i < sh->iterations; i++) {
        long long now = atomic_fetch_add(&sh->clock, 1);
        enum bg_breaker_ticket t = bg_breaker_enter(&sh->b, now);
        if (t == BG_BREAKER_SKIP) {
            /* every thread is a prober too: still one probe at a time */
            t = bg_breaker_probe(&sh->b, now);
            if (t == BG_BREAKER_SKIP) {
                atomic_fetch_add(&sh->skips, 1);
                continue;
            }
        }
        if (t == BG_BREAKER_PROBE) {
            atomic_fetch_add(&sh->probes, 1);
            int n = atomic_fetch_add(&sh->probes_in_flight, 1) + 1;
            int m = atomic_load(&sh->max_probes_in_flight);
            while (n > m && !atomic_compare_exchange_weak(&sh->max_probes_in_flight, &m, n))
                ;
        } else {
            atomic_fetch_add(&sh->passes, 1);
        }
        long long done = atomic_load(&sh->clock);
        int ok = (done / sh->outage_len) % 2 == 1;   /* even periods: outage */
        if (t == BG_BREAKER_PROBE)
            atomic_fetch_sub(&sh->probes_in_flight, 1);   /* before leave: see below */
        count_change(sh, bg_breaker_leave(&sh->b, t, ok, done, NULL));
    }
    return NULL;
}

START_TEST(concurrent_flapping)
{
    static struct shared sh;
    memset(&sh, 0, sizeof sh);
    bg_breaker_init(&sh.b, 5, 50);
    pthread_barrier_init(&sh.bar, NULL, NTHREADS);
    sh.iterations = 20000;
    sh.outage_len = 2000;
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, flap, &sh), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    /* The in-flight count drops just before leave(), while the breaker is
     * still half-open, so a second probe could only show up here if the
     * breaker handed out two. */
    ck_assert_int_le(atomic_load(&sh.max_probes_in_flight), 1);
    int opened = atomic_load(&sh.opened), closed = atomic_load(&sh.closed);
    int still_open = bg_breaker_state(&sh.b) != BG_BREAKER_CLOSED;
    ck_assert_int_ge(opened, 2);          /* 160000 ticks / 4000 per cycle: many outages */
    ck_assert_int_eq(opened, closed + still_open);
    ck_assert_int_eq(atomic_load(&sh.probes), closed + atomic_load(&sh.reopened) +
                                                  (bg_breaker_state(&sh.b) ==
                                                   BG_BREAKER_HALF_OPEN));
    ck_assert_int_eq(atomic_load(&sh.passes) + atomic_load(&sh.probes) +
                         atomic_load(&sh.skips),
                     (long)NTHREADS * sh.iterations);
    pthread_barrier_destroy(&sh.bar);
    bg_breaker_destroy(&sh.b);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("breaker");
    TCase *tc = tcase_create("state machine");
    tcase_add_test(tc, closed_passes);
    tcase_add_test(tc, opens_after_n_consecutive);
    tcase_add_test(tc, success_ends_the_run);
    tcase_add_test(tc, skips_until_cooldown_then_one_probe);
    tcase_add_test(tc, failed_probe_reopens);
    tcase_add_test(tc, stale_tickets_change_nothing);
    tcase_add_test(tc, zero_threshold_never_opens);
    tcase_add_test(tc, zero_cooldown_probes_at_once);
    suite_add_tcase(s, tc);
    TCase *tcc = tcase_create("concurrency");
    tcase_set_timeout(tcc, 60);
    tcase_add_test(tcc, concurrent_open_once);
    tcase_add_test(tcc, concurrent_single_probe);
    tcase_add_test(tcc, concurrent_flapping);
    suite_add_tcase(s, tcc);
    return s;
}

BG_UNIT_MAIN(make_suite)
