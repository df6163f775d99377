/* metrics.c - this daemon's counters and the Prometheus text format (see
 * metrics.h). */
#include "metrics.h"

#include <stdatomic.h>
#include <string.h>

static atomic_ullong rcpt[BG_M_DECISIONS];
static const char *const decision_names[BG_M_DECISIONS] = {
    "accepted", "refused", "removed", "exempt", "unchecked", "unparsed"
};

static const char *const unchecked_names[] = {
    "store-failure", "breaker-open", "no-connection-free"
};
#define NUNCHECKED (sizeof unchecked_names / sizeof unchecked_names[0])
static atomic_ullong unchecked[NUNCHECKED];

/* Upper bounds in seconds: a lookup on loopback takes ~0.2 ms, the
 * LookupTimeout default is 250 ms. */
static const double bounds[] = { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25, 0.5, 1.0 };
#define NBOUNDS (sizeof bounds / sizeof bounds[0])
static atomic_ullong lookup_le[NBOUNDS + 1];     /* the last one: +Inf */
static atomic_ullong lookup_usec;                /* the sum, in microseconds */

static const char *const class_names[] = { "hard", "soft", "block", "complaint" };
static const char *const source_names[] = {
    "postfix-dsn", "remote-dsn", "local-dsn", "arf", "local-arf", "log", "other"
};
#define NCLASSES (sizeof class_names / sizeof class_names[0])
#define NSOURCES (sizeof source_names / sizeof source_names[0])
static atomic_ullong learned[NCLASSES][NSOURCES];

static atomic_ullong alerts, brakes_set, brakes_lifted, paused;

void bg_metrics_alert(void)
{
    atomic_fetch_add_explicit(&alerts, 1, memory_order_relaxed);
}

void bg_metrics_brake(int on)
{
    atomic_fetch_add_explicit(on ? &brakes_set : &brakes_lifted, 1, memory_order_relaxed);
}

void bg_metrics_paused(void)
{
    atomic_fetch_add_explicit(&paused, 1, memory_order_relaxed);
}

void bg_metrics_rcpt(enum bg_m_decision d)
{
    if ((unsigned)d < BG_M_DECISIONS)
        atomic_fetch_add_explicit(&rcpt[d], 1, memory_order_relaxed);
}

void bg_metrics_unchecked(const char *reason)
{
    for (size_t i = 0; i < NUNCHECKED; i++)
        if (strcmp(reason, unchecked_names[i]) == 0) {
            atomic_fetch_add_explicit(&unchecked[i], 1, memory_order_relaxed);
            return;
        }
}

void bg_metrics_lookup(double seconds)
{
    size_t i = 0;
    while (i < NBOUNDS && seconds > bounds[i])
        i++;
    atomic_fetch_add_explicit(&lookup_le[i], 1, memory_order_relaxed);
    if (seconds > 0)
        atomic_fetch_add_explicit(&lookup_usec, (unsigned long long)(seconds * 1e6),
                                  memory_order_relaxed);
}

void bg_metrics_learned(enum bg_class cls, const char *source)
{
    size_t c;
    switch (cls) {
    case BG_CLASS_HARD: c = 0; break;
    case BG_CLASS_SOFT: c = 1; break;
    case BG_CLASS_BLOCK: c = 2; break;
    case BG_CLASS_COMPLAINT: c = 3; break;
    default: return;
    }
    size_t s = NSOURCES - 1;
    for (size_t i = 0; i + 1 < NSOURCES; i++)
        if (source != NULL && strcmp(source, source_names[i]) == 0)
            s = i;
    atomic_fetch_add_explicit(&learned[c][s], 1, memory_order_relaxed);
}

void bg_metrics_label(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(fp, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", fp);
        else
            fputc(*s, fp);
    }
    fputc('"', fp);
}

static unsigned long long get(atomic_ullong *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static void head(FILE *fp, const char *name, const char *type, const char *help)
{
    fprintf(fp, "# HELP bouncegate_%s %s\n# TYPE bouncegate_%s %s\n", name, help, name, type);
}

static void write_senders(FILE *fp, const struct bg_metrics_view *v)
{
    head(fp, "sender_recipients", "gauge",
         "Recipients of the whole fleet per sender domain over the window: sent and refused "
         "at RCPT, outcomes learned.");
    for (int w = 0; w < 2; w++)
        for (size_t i = 0; v->rows[w] != NULL && i < v->nrows[w]; i++)
            for (int k = 0; k < BG_STAT_N; k++) {
                fputs("bouncegate_sender_recipients{window=", fp);
                bg_metrics_label(fp, v->windows[w]);
                fputs(",domain=", fp);
                bg_metrics_label(fp, v->rows[w][i].domain);
                fprintf(fp, ",outcome=\"%s\"} %llu\n", bg_stat_name((enum bg_stat)k),
                        v->rows[w][i].v[k]);
            }
    head(fp, "sender_rate", "gauge",
         "Share of the recipients sent per sender domain over the window: bounce (hard, soft "
         "and block), hard, complaint.");
    for (int w = 0; w < 2; w++)
        for (size_t i = 0; v->rows[w] != NULL && i < v->nrows[w]; i++) {
            const unsigned long long *x = v->rows[w][i].v;
            unsigned long long sent = x[BG_STAT_SENT];
            double r[3] = {
                bg_stats_rate(x[BG_STAT_HARD] + x[BG_STAT_SOFT] + x[BG_STAT_BLOCK], sent) / 100,
                bg_stats_rate(x[BG_STAT_HARD], sent) / 100,
                bg_stats_rate(x[BG_STAT_COMPLAINT], sent) / 100,
            };
            static const char *const rn[3] = { "bounce", "hard", "complaint" };
            for (int k = 0; k < 3; k++) {
                fputs("bouncegate_sender_rate{window=", fp);
                bg_metrics_label(fp, v->windows[w]);
                fputs(",domain=", fp);
                bg_metrics_label(fp, v->rows[w][i].domain);
                fprintf(fp, ",rate=\"%s\"} %.6f\n", rn[k], r[k]);
            }
        }
}

void bg_metrics_write(FILE *fp, const struct bg_metrics_view *v)
{
    head(fp, "info", "gauge", "The running bouncegate.");
    fputs("bouncegate_info{version=", fp);
    bg_metrics_label(fp, v->version != NULL ? v->version : "");
    fputs("} 1\n", fp);

    head(fp, "rcpt_total", "counter", "Recipients decided at RCPT by this daemon.");
    for (int d = 0; d < BG_M_DECISIONS; d++)
        fprintf(fp, "bouncegate_rcpt_total{decision=\"%s\"} %llu\n", decision_names[d],
                get(&rcpt[d]));

    head(fp, "unchecked_total", "counter",
         "Recipients accepted without a lookup, by reason.");
    for (size_t i = 0; i < NUNCHECKED; i++)
        fprintf(fp, "bouncegate_unchecked_total{reason=\"%s\"} %llu\n", unchecked_names[i],
                get(&unchecked[i]));

    head(fp, "lookup_duration_seconds", "histogram", "Time of one RCPT lookup in memcached.");
    unsigned long long cum = 0;
    for (size_t i = 0; i < NBOUNDS; i++) {
        cum += get(&lookup_le[i]);
        fprintf(fp, "bouncegate_lookup_duration_seconds_bucket{le=\"%g\"} %llu\n", bounds[i],
                cum);
    }
    cum += get(&lookup_le[NBOUNDS]);
    fprintf(fp, "bouncegate_lookup_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
    fprintf(fp, "bouncegate_lookup_duration_seconds_sum %.6f\n",
            (double)get(&lookup_usec) / 1e6);
    fprintf(fp, "bouncegate_lookup_duration_seconds_count %llu\n", cum);

    head(fp, "learned_total", "counter", "Outcomes learned from reports, by class and source.");
    for (size_t c = 0; c < NCLASSES; c++)
        for (size_t s = 0; s < NSOURCES; s++)
            fprintf(fp, "bouncegate_learned_total{class=\"%s\",source=\"%s\"} %llu\n",
                    class_names[c], source_names[s], get(&learned[c][s]));

    head(fp, "alerts_total", "counter", "Alert lines this daemon logged for the fleet.");
    fprintf(fp, "bouncegate_alerts_total %llu\n", get(&alerts));
    head(fp, "brake_total", "counter", "Brakes this daemon set or lifted for the fleet.");
    fprintf(fp, "bouncegate_brake_total{action=\"set\"} %llu\n", get(&brakes_set));
    fprintf(fp, "bouncegate_brake_total{action=\"lifted\"} %llu\n", get(&brakes_lifted));
    head(fp, "paused_total", "counter", "Messages given 451 at MAIL FROM by the brake.");
    fprintf(fp, "bouncegate_paused_total %llu\n", get(&paused));
    head(fp, "breaker_open", "gauge", "1 while the circuit breaker is open (memcached failing).");
    fprintf(fp, "bouncegate_breaker_open %d\n", v->breaker_open ? 1 : 0);
    head(fp, "journal_bytes", "gauge", "Size of the journal file; -1 without one.");
    fprintf(fp, "bouncegate_journal_bytes %lld\n", v->journal_bytes);
    head(fp, "stats_read_ok", "gauge",
         "1 when the fleet's sender figures could be read from memcached for this scrape.");
    fprintf(fp, "bouncegate_stats_read_ok %d\n", v->stats_ok ? 1 : 0);
    write_senders(fp, v);
}
