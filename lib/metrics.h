/* metrics.h - this daemon's own counters, and the Prometheus text format
 * (version 0.0.4) they and the fleet's sender figures are served in
 * (MetricsListen, /metrics).
 *
 * Counting is a relaxed atomic increment: safe from any milter worker,
 * nothing on the RCPT path waits for it. The counters live for the
 * process (a reload keeps them), as Prometheus expects of counters.
 *
 * Series (all prefixed bouncegate_):
 *   rcpt_total{decision}              counter: accepted, refused, removed
 *                                     (non-SMTP), exempt, unchecked, unparsed
 *   unchecked_total{reason}           counter: store-failure, breaker-open,
 *                                     no-connection-free
 *   lookup_duration_seconds           histogram of RCPT lookups
 *   learned_total{class,source}       counter: outcomes learned from reports
 *   alerts_total                      counter: alert lines this daemon logged
 *   brake_total{action}               counter: brakes set and lifted (logged here)
 *   paused_total                      counter: MAIL FROMs paused by the brake
 *   breaker_open                      gauge: 1 while the breaker is open
 *   journal_bytes                     gauge: the journal's size (-1: none)
 *   sender_recipients{window,domain,outcome}
 *                                     gauge: the fleet's figures (stats.h)
 *   sender_rate{window,domain,rate}   gauge: bounce, hard, complaint ratios
 *   stats_read_ok                     gauge: 1 when memcached gave them
 *   info{version}                     gauge, 1
 */
#ifndef BG_METRICS_H
#define BG_METRICS_H

#include <stdio.h>
#include "record.h"
#include "stats.h"

enum bg_m_decision {
    BG_M_ACCEPTED = 0, BG_M_REFUSED, BG_M_REMOVED, BG_M_EXEMPT, BG_M_UNCHECKED,
    BG_M_UNPARSED, BG_M_DECISIONS
};

void bg_metrics_rcpt(enum bg_m_decision d);
/* reason: "store-failure", "breaker-open" or "no-connection-free" */
void bg_metrics_unchecked(const char *reason);
void bg_metrics_lookup(double seconds);
/* cls HARD, SOFT, BLOCK or COMPLAINT; source as in the log's source= */
void bg_metrics_learned(enum bg_class cls, const char *source);
/* An alert logged; a brake set (1) or lifted (0); mail paused at MAIL. */
void bg_metrics_alert(void);
void bg_metrics_brake(int on);
void bg_metrics_paused(void);

/* What the daemon knows at scrape time. rows[w] / nrows[w] are the
 * fleet's figures over windows[w] ("1h", "24h"), NULL when not read. */
struct bg_metrics_view {
    const char *version;
    int breaker_open;
    long long journal_bytes;
    int stats_ok;
    const char *windows[2];
    const struct bg_stats_row *rows[2];
    size_t nrows[2];
};

/* Write every series to fp. */
void bg_metrics_write(FILE *fp, const struct bg_metrics_view *v);

/* A label value as the text format wants it: \, " and newline escaped. */
void bg_metrics_label(FILE *fp, const char *s);

#endif
