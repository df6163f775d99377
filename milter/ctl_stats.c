/* ctl_stats.c - `bouncegatectl stats [--window 1h|24h|7d] [--sender DOMAIN |
 * --logins] [--json]`: the fleet's per-sender-domain figures (stats.h)
 * from memcached, one row per sender domain (or SASL login), busiest
 * first; and `release
 * DOMAIN`, which lifts the brake of a sender domain for an hour.
 *
 * Rates are of the recipients accepted at RCPT (sent): bounce = hard +
 * soft + block, hard, complaint. A rate over its limit (AlertHardRate,
 * AlertBounceRate, AlertComplaintRate: by default the mailbox providers'
 * published 1%, 2% and 0.1%) is marked "!" (in JSON: "over") once the
 * domain has sent AlertMinRecipients (100). */
#include "ctl.h"
#include "address.h"
#include "bg.h"
#include "config.h"
#include "log.h"
#include "stats.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct bg_stats_limits lim;
static enum bg_stats_kind by = BG_STATS_SENDERS;

struct rates {
    double bounce, hard, complaint;
    int over_bounce, over_hard, over_complaint;
};

static void rates_of(const struct bg_stats_row *r, struct rates *x)
{
    unsigned long long sent = r->v[BG_STAT_SENT];
    unsigned long long b = r->v[BG_STAT_HARD] + r->v[BG_STAT_SOFT] + r->v[BG_STAT_BLOCK];
    x->bounce = bg_stats_rate(b, sent);
    x->hard = bg_stats_rate(r->v[BG_STAT_HARD], sent);
    x->complaint = bg_stats_rate(r->v[BG_STAT_COMPLAINT], sent);
    unsigned over = bg_stats_over(r, &lim);
    x->over_bounce = (over & BG_OVER_BOUNCE) != 0;
    x->over_hard = (over & BG_OVER_HARD) != 0;
    x->over_complaint = (over & BG_OVER_COMPLAINT) != 0;
}

static void print_json(FILE *fp, const char *window, long long now,
                       const struct bg_stats_row *rows, size_t n)
{
    fprintf(fp, "{\"window\":");
    ctl_json_str(fp, window);
    fprintf(fp, ",\"time\":%lld,\"limits\":{\"hard_rate\":%g,\"bounce_rate\":%g,"
            "\"complaint_rate\":%g,\"min_sent\":%u},\"senders\":[", now, lim.hard / 10000.0,
            lim.bounce / 10000.0, lim.complaint / 10000.0, lim.min_sent);
    for (size_t i = 0; i < n; i++) {
        struct rates x;
        rates_of(&rows[i], &x);
        fprintf(fp, "%s{\"%s\":", i ? "," : "", by == BG_STATS_LOGINS ? "login" : "domain");
        ctl_json_str(fp, rows[i].domain);
        for (int k = 0; k < BG_STAT_N; k++)
            fprintf(fp, ",\"%s\":%llu", bg_stat_name((enum bg_stat)k), rows[i].v[k]);
        fprintf(fp, ",\"bounce_rate\":%.3f,\"hard_rate\":%.3f,\"complaint_rate\":%.3f,"
                "\"over\":[", x.bounce, x.hard, x.complaint);
        const char *sep = "";
        if (x.over_bounce) { fprintf(fp, "%s\"bounce_rate\"", sep); sep = ","; }
        if (x.over_hard) { fprintf(fp, "%s\"hard_rate\"", sep); sep = ","; }
        if (x.over_complaint) fprintf(fp, "%s\"complaint_rate\"", sep);
        fprintf(fp, "]}");
    }
    fprintf(fp, "]}\n");
}

static void print_table(FILE *fp, const char *window, const struct bg_stats_row *rows,
                        size_t n)
{
    fprintf(fp, "# window %s; rates of the recipients sent; ! over the limit "
            "(hard %g%%, bounce %g%%, complaint %g%%, from %u sent)\n", window,
            lim.hard / 10000.0, lim.bounce / 10000.0, lim.complaint / 10000.0, lim.min_sent);
    fprintf(fp, "%-32s %9s %9s %9s %7s %7s %7s %9s %9s %9s %10s\n",
            by == BG_STATS_LOGINS ? "LOGIN" : "SENDER", "SENT",
            "REFUSED", "DELIVERED", "HARD", "SOFT", "BLOCK", "COMPLAINT", "BOUNCE%", "HARD%",
            "COMPLAINT%");
    for (size_t i = 0; i < n; i++) {
        const struct bg_stats_row *r = &rows[i];
        struct rates x;
        rates_of(r, &x);
        char b[16], h[16], c[16];
        snprintf(b, sizeof b, "%.2f%s", x.bounce, x.over_bounce ? "!" : "");
        snprintf(h, sizeof h, "%.2f%s", x.hard, x.over_hard ? "!" : "");
        snprintf(c, sizeof c, "%.3f%s", x.complaint, x.over_complaint ? "!" : "");
        fprintf(fp, "%-32s %9llu %9llu %9llu %7llu %7llu %7llu %9llu %9s %9s %10s\n",
                r->domain, r->v[BG_STAT_SENT], r->v[BG_STAT_REFUSED], r->v[BG_STAT_DELIVERED],
                r->v[BG_STAT_HARD], r->v[BG_STAT_SOFT], r->v[BG_STAT_BLOCK],
                r->v[BG_STAT_COMPLAINT], b, h, c);
    }
}

int ctl_stats(struct bg_store *s, const struct bg_config *cfg, int argc, char **argv)
{
    lim.hard = cfg->alert_hard;
    lim.bounce = cfg->alert_bounce;
    lim.complaint = cfg->alert_complaint;
    lim.min_sent = cfg->alert_min;
    const char *window = "1h", *only = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc) {
            window = argv[++i];
        } else if (strcmp(argv[i], "--sender") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--logins") == 0) {
            by = BG_STATS_LOGINS;
        } else {
            fprintf(stderr, "usage: bouncegatectl stats [--window 1h|24h|7d] "
                    "[--sender DOMAIN | --logins] [--json]\n");
            return 2;
        }
    }
    long long secs;
    if (strcmp(window, "1h") == 0)
        secs = 3600;
    else if (strcmp(window, "24h") == 0 || strcmp(window, "1d") == 0)
        secs = 86400;
    else if (strcmp(window, "7d") == 0 || strcmp(window, "1w") == 0)
        secs = 7 * 86400;
    else {
        fprintf(stderr, "bouncegatectl: stats: --window: expected 1h, 24h or 7d\n");
        return 2;
    }
    char err[512];
    struct bg_stats_row *rows;
    size_t n;
    long long now = (long long)time(NULL);
    if (by == BG_STATS_LOGINS && only != NULL) {
        fprintf(stderr, "bouncegatectl: stats: --logins lists every login: no --sender\n");
        return 2;
    }
    if (bg_stats_read(s, by, now, secs, only, &rows, &n, err, sizeof err) < 0) {
        fprintf(stderr, "bouncegatectl: stats: %s\n", err);
        return 2;
    }
    if (json)
        print_json(stdout, window, now, rows, n);
    else
        print_table(stdout, window, rows, n);
    free(rows);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "bouncegatectl: stats: write error\n");
        return 2;
    }
    return 0;
}

int ctl_release(struct bg_store *s, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: bouncegatectl release DOMAIN\n");
        return 2;
    }
    char dom[BG_ADDR_MAX], name[BG_ADDR_MAX + 16], err[512];
    const char *why = NULL;
    const char *arg = argv[0][0] == '@' ? argv[0] + 1 : argv[0];
    if (bg_domain_normalize(arg, strlen(arg), dom, sizeof dom, &why) < 0) {
        fprintf(stderr, "bouncegatectl: %s: bad domain: %s\n", argv[0], why ? why : "?");
        return 2;
    }
    /* The daemons read the marker at their next judgement (StatsInterval)
     * and do not brake the domain again while it lasts (an hour). */
    snprintf(name, sizeof name, "release|%s", dom);
    if (bg_store_meta_set_ttl(s, name, "1", 3600, err, sizeof err) < 0) {
        fprintf(stderr, "bouncegatectl: release: %s\n", err);
        return 2;
    }
    /* The daemons lift it themselves, and log that (reason=released). */
    char val[8];
    snprintf(name, sizeof name, "brake|%s", dom);
    int was = bg_store_meta_get(s, name, val, sizeof val, err, sizeof err);
    bg_log(LOG_NOTICE, "release", "action=release domain=%s braked=%s for=1h", dom,
           was == 1 ? "yes" : "no");
    printf("release: domain=%s braked=%s for=1h\n", dom, was == 1 ? "yes" : "no");
    return 0;
}
