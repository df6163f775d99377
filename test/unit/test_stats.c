/* test_stats.c - judging a sender's figures against the limits
 * (bg_stats_over, bg_stats_over_one, bg_stats_rate), table-driven: the
 * limit is strict, nothing is judged below the volume, the largest
 * counts read back cannot wrap the arithmetic. The counting, flushing
 * and reading need memcached: test/integration/90-stats.sh. */
#include "unit.h"

#include <string.h>

#include "stats.h"

static const struct {
    unsigned long long sent, hard, soft, block, complaint;
    unsigned lim_hard, lim_bounce, lim_complaint, min_sent;
    unsigned want;
} cases[] = {
    /* 1% hard of 100: not over 1% (strict), over 0.99% */
    { 100, 1, 0, 0, 0, 10000, 20000, 1000, 100, 0 },
    { 100, 1, 0, 0, 0, 9900, 20000, 1000, 100, BG_OVER_HARD },
    /* 3 of 100: hard and bounce over 1% and 2% */
    { 100, 3, 0, 0, 0, 10000, 20000, 1000, 100, BG_OVER_HARD | BG_OVER_BOUNCE },
    /* bounces add up: 1 hard + 1 soft + 1 block = 3% over 2%, hard 1% not */
    { 100, 1, 1, 1, 0, 10000, 20000, 1000, 100, BG_OVER_BOUNCE },
    /* complaints: 2 of 1000 = 0.2% over 0.1% */
    { 1000, 0, 0, 0, 2, 10000, 20000, 1000, 100, BG_OVER_COMPLAINT },
    /* below the volume nothing is judged */
    { 99, 50, 0, 0, 50, 10000, 20000, 1000, 100, 0 },
    { 0, 5, 0, 0, 0, 10000, 20000, 1000, 0, 0 },
    /* a limit of 0 is never crossed */
    { 100, 100, 0, 0, 100, 0, 0, 0, 1, 0 },
    /* the largest counts read back (2^40) do not wrap */
    { 1ULL << 40, 1ULL << 40, 0, 0, 0, 1000000, 1000000, 1000000, 1, 0 },
    { 1ULL << 40, 1ULL << 40, 0, 0, 0, 999999, 1000000, 1000000, 1, BG_OVER_HARD },
    { 1ULL << 40, 1, 0, 0, 0, 1, 1, 1, 1, 0 },
};

START_TEST(test_over)
{
    struct bg_stats_row r;
    memset(&r, 0, sizeof r);
    r.v[BG_STAT_SENT] = cases[_i].sent;
    r.v[BG_STAT_HARD] = cases[_i].hard;
    r.v[BG_STAT_SOFT] = cases[_i].soft;
    r.v[BG_STAT_BLOCK] = cases[_i].block;
    r.v[BG_STAT_COMPLAINT] = cases[_i].complaint;
    struct bg_stats_limits l = { cases[_i].lim_hard, cases[_i].lim_bounce,
                                 cases[_i].lim_complaint, cases[_i].min_sent };
    ck_assert_uint_eq(bg_stats_over(&r, &l), cases[_i].want);
}
END_TEST

START_TEST(test_rate_and_names)
{
    ck_assert(bg_stats_rate(3, 100) == 3.0);
    ck_assert(bg_stats_rate(1, 0) == 0.0);
    ck_assert(bg_stats_rate(0, 7) == 0.0);
    ck_assert_str_eq(bg_stat_name(BG_STAT_SENT), "sent");
    ck_assert_str_eq(bg_stat_name(BG_STAT_DELIVERED), "delivered");
    ck_assert_str_eq(bg_stat_name((enum bg_stat)99), "?");
    ck_assert_int_eq(bg_stats_over_one(2, 100, 10000), 1);
    ck_assert_int_eq(bg_stats_over_one(1, 100, 10000), 0);
    ck_assert_int_eq(bg_stats_over_one(1, 0, 10000), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_add_loop_test(tc, test_over, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_rate_and_names);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(suite)
