/* test_metrics.c - the Prometheus text this daemon serves (metrics.h):
 * counters as counted, the lookup histogram cumulative with +Inf equal
 * to the count, label values escaped, the fleet's figures and rates. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *render(const struct bg_metrics_view *v)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(fp);
    bg_metrics_write(fp, v);
    ck_assert_int_eq(fclose(fp), 0);
    return buf;
}

static void has(const char *text, const char *line)
{
    char *l = malloc(strlen(line) + 3);
    sprintf(l, "\n%s\n", line);
    ck_assert_msg(strstr(text, l) != NULL, "missing line: %s", line);
    free(l);
}

START_TEST(test_counters_and_histogram)
{
    bg_metrics_rcpt(BG_M_REFUSED);
    bg_metrics_rcpt(BG_M_ACCEPTED);
    bg_metrics_rcpt(BG_M_ACCEPTED);
    bg_metrics_unchecked("breaker-open");
    bg_metrics_unchecked("no-such-reason");        /* ignored */
    bg_metrics_lookup(0.0002);                     /* le 0.0005 */
    bg_metrics_lookup(0.003);                      /* le 0.005 */
    bg_metrics_lookup(5.0);                        /* +Inf only */
    bg_metrics_learned(BG_CLASS_HARD, "postfix-dsn");
    bg_metrics_learned(BG_CLASS_COMPLAINT, "something-else");
    bg_metrics_learned(BG_CLASS_NONE, "postfix-dsn"); /* not an outcome: ignored */
    struct bg_metrics_view v = { .version = "9.9", .breaker_open = 1, .journal_bytes = -1 };
    char *t = render(&v);
    has(t, "# TYPE bouncegate_rcpt_total counter");
    has(t, "bouncegate_rcpt_total{decision=\"refused\"} 1");
    has(t, "bouncegate_rcpt_total{decision=\"accepted\"} 2");
    has(t, "bouncegate_rcpt_total{decision=\"unparsed\"} 0");
    has(t, "bouncegate_unchecked_total{reason=\"breaker-open\"} 1");
    has(t, "bouncegate_unchecked_total{reason=\"store-failure\"} 0");
    has(t, "bouncegate_lookup_duration_seconds_bucket{le=\"0.0005\"} 1");
    has(t, "bouncegate_lookup_duration_seconds_bucket{le=\"0.002\"} 1");
    has(t, "bouncegate_lookup_duration_seconds_bucket{le=\"0.005\"} 2");
    has(t, "bouncegate_lookup_duration_seconds_bucket{le=\"1\"} 2");
    has(t, "bouncegate_lookup_duration_seconds_bucket{le=\"+Inf\"} 3");
    has(t, "bouncegate_lookup_duration_seconds_count 3");
    has(t, "bouncegate_lookup_duration_seconds_sum 5.003200");
    has(t, "bouncegate_learned_total{class=\"hard\",source=\"postfix-dsn\"} 1");
    has(t, "bouncegate_learned_total{class=\"complaint\",source=\"other\"} 1");
    has(t, "bouncegate_learned_total{class=\"soft\",source=\"postfix-dsn\"} 0");
    has(t, "bouncegate_breaker_open 1");
    has(t, "bouncegate_journal_bytes -1");
    has(t, "bouncegate_info{version=\"9.9\"} 1");
    free(t);
}
END_TEST

START_TEST(test_senders_escaped)
{
    struct bg_stats_row rows[2];
    memset(rows, 0, sizeof rows);
    snprintf(rows[0].domain, sizeof rows[0].domain, "busy.example");
    rows[0].v[BG_STAT_SENT] = 200;
    rows[0].v[BG_STAT_HARD] = 6;
    rows[0].v[BG_STAT_SOFT] = 1;
    rows[0].v[BG_STAT_COMPLAINT] = 1;
    /* what memcached holds is not trusted: a quote, a backslash, a newline */
    snprintf(rows[1].domain, sizeof rows[1].domain, "x\"y\\z\nw");
    struct bg_metrics_view v = { .version = "1", .journal_bytes = 42, .stats_ok = 1,
                                 .windows = { "1h", "24h" }, .rows = { rows, NULL },
                                 .nrows = { 2, 0 } };
    char *t = render(&v);
    has(t, "bouncegate_sender_recipients{window=\"1h\",domain=\"busy.example\",outcome=\"sent\"} 200");
    has(t, "bouncegate_sender_recipients{window=\"1h\",domain=\"busy.example\",outcome=\"hard\"} 6");
    has(t, "bouncegate_sender_rate{window=\"1h\",domain=\"busy.example\",rate=\"hard\"} 0.030000");
    has(t, "bouncegate_sender_rate{window=\"1h\",domain=\"busy.example\",rate=\"bounce\"} 0.035000");
    has(t, "bouncegate_sender_rate{window=\"1h\",domain=\"busy.example\",rate=\"complaint\"} 0.005000");
    has(t, "bouncegate_sender_recipients{window=\"1h\",domain=\"x\\\"y\\\\z\\nw\",outcome=\"sent\"} 0");
    has(t, "bouncegate_sender_rate{window=\"1h\",domain=\"x\\\"y\\\\z\\nw\",rate=\"hard\"} 0.000000");
    ck_assert_ptr_null(strstr(t, "window=\"24h\""));   /* not read: no series */
    has(t, "bouncegate_stats_read_ok 1");
    has(t, "bouncegate_journal_bytes 42");
    free(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_test(tc, test_counters_and_histogram);
    tcase_add_test(tc, test_senders_escaped);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(suite)
