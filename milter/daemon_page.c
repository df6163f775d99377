/* daemon_page.c - the status page at / on MetricsListen: one read-only
 * HTML page, no script, for a postmaster's browser. Per sender domain, the
 * fleet's figures over 1h, 24h and 7d with the rates over the providers'
 * limits highlighted; the memcached servers that answer and the breaker;
 * the latest suppressions made on this host, with their evidence (the
 * journal's last lines). Every string from memcached or the journal is
 * escaped: the figures and the evidence come from strangers' mail. */
#include "daemon.h"
#include "bg.h"
#include "journal.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LATEST 20
#define TAIL_BYTES (256 * 1024)

static void esc(FILE *fp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default:
            if ((unsigned char)*s < 0x20 || *s == 0x7f)
                fputc(' ', fp);
            else
                fputc(*s, fp);
        }
    }
}

static void utc(char *out, size_t sz, long long t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
        snprintf(out, sz, "-");
    else
        strftime(out, sz, "%Y-%m-%d %H:%M UTC", &tm);
}

static void rate_cell(FILE *fp, double rate, int over, int digits)
{
    fprintf(fp, "<td class=\"num%s\">%.*f%%</td>", over ? " over" : "", digits, rate);
}

static void senders(FILE *fp, const char *window, const struct bg_stats_row *rows, size_t n,
                    const struct bg_stats_limits *lim)
{
    fprintf(fp, "<h2>Senders, last %s</h2>\n", window);
    if (n == 0) {
        fputs("<p class=\"none\">Nothing counted.</p>\n", fp);
        return;
    }
    fprintf(fp, "<table id=\"senders-%s\"><tr><th>sender domain</th><th>sent</th>"
            "<th>refused</th><th>hard</th><th>soft</th><th>block</th><th>complaint</th>"
            "<th>delivered</th>"
            "<th>bounce %%</th><th>hard %%</th><th>complaint %%</th></tr>\n", window);
    for (size_t i = 0; i < n; i++) {
        const unsigned long long *v = rows[i].v;
        unsigned long long sent = v[BG_STAT_SENT];
        unsigned over = bg_stats_over(&rows[i], lim);
        fputs("<tr><td>", fp);
        esc(fp, rows[i].domain);
        fputs("</td>", fp);
        for (int k = 0; k < BG_STAT_N; k++)
            fprintf(fp, "<td class=\"num\">%llu</td>", v[k]);
        rate_cell(fp, bg_stats_rate(v[BG_STAT_HARD] + v[BG_STAT_SOFT] + v[BG_STAT_BLOCK], sent),
                  (over & BG_OVER_BOUNCE) != 0, 2);
        rate_cell(fp, bg_stats_rate(v[BG_STAT_HARD], sent), (over & BG_OVER_HARD) != 0, 2);
        rate_cell(fp, bg_stats_rate(v[BG_STAT_COMPLAINT], sent),
                  (over & BG_OVER_COMPLAINT) != 0, 3);
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n", fp);
}

struct latest {
    const struct bg_journal_entry *e[LATEST];
    size_t n;
};

/* Keep the LATEST newest live entries, newest first. */
static int keep_latest(const struct bg_journal_entry *e, void *arg)
{
    struct latest *l = arg;
    if (e->state != BG_JE_LIVE)
        return 0;
    if (l->n == LATEST && l->e[LATEST - 1]->ts >= e->ts)
        return 0;                      /* older than every one kept */
    size_t i = l->n < LATEST ? l->n++ : LATEST - 1;   /* full: the oldest goes */
    for (; i > 0 && l->e[i - 1]->ts < e->ts; i--)
        l->e[i] = l->e[i - 1];
    l->e[i] = e;
    return 0;
}

static void suppressions(FILE *fp, const struct runtime *r)
{
    fputs("<h2>Latest suppressions on this host</h2>\n", fp);
    struct stat st;
    struct bg_journal_set *set = NULL;
    char err[256];
    if (r->cfg.journal[0] == '\0' || stat(r->cfg.journal, &st) < 0 ||
        bg_journal_load_tail(r->cfg.journal, (long long)time(NULL), st.st_dev, st.st_ino,
                             st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0, 0, &set,
                             NULL, err, sizeof err) < 0) {
        fputs("<p class=\"none\">No journal to read them from (Journal).</p>\n", fp);
        return;
    }
    struct latest l = { .n = 0 };
    memset(l.e, 0, sizeof l.e);
    bg_journal_set_each(set, keep_latest, &l);
    if (l.n == 0) {
        fputs("<p class=\"none\">None.</p>\n", fp);
    } else {
        fputs("<table id=\"latest\"><tr><th>when</th><th>recipient or domain</th><th>class</th>"
              "<th>reason</th><th>status</th><th>source</th><th>evidence</th></tr>\n", fp);
        for (size_t i = 0; i < l.n; i++) {
            const struct bg_journal_entry *e = l.e[i];
            struct bg_record rec;
            if (bg_record_decode(e->rec, e->reclen, &rec) < 0)
                continue;
            char when[40];
            utc(when, sizeof when, e->ts);
            fprintf(fp, "<tr><td>%s</td><td>%s", when, e->kind == BG_KIND_DOMAIN ? "@" : "");
            esc(fp, e->name);
            fprintf(fp, "</td><td>%s</td><td>", bg_class_name(rec.cls));
            esc(fp, rec.reason);
            fputs("</td><td>", fp);
            esc(fp, rec.status);
            fputs("</td><td>", fp);
            esc(fp, rec.source);
            fputs("</td><td class=\"diag\">", fp);
            esc(fp, rec.diag);
            fputs("</td></tr>\n", fp);
        }
        fputs("</table>\n", fp);
    }
    bg_journal_set_free(set);
}

static void health(FILE *fp, struct runtime *r, int stats_ok)
{
    fputs("<h2>memcached</h2>\n", fp);
    enum bg_breaker_state b = bg_store_breaker_state(r->store);
    fprintf(fp, "<p id=\"breaker\" class=\"%s\">Circuit breaker: <b>%s</b>%s</p>\n",
            b == BG_BREAKER_CLOSED ? "ok" : "bad",
            b == BG_BREAKER_CLOSED ? "closed" : b == BG_BREAKER_OPEN ? "open" : "half-open",
            b == BG_BREAKER_CLOSED ? " (lookups are made)"
                                   : " (recipients are accepted unchecked)");
    struct bg_server_epoch e[BG_STORE_MAX_SERVERS];
    char err[256];
    int n = bg_store_epochs(r->store, e, BG_STORE_MAX_SERVERS, err, sizeof err);
    if (n <= 0) {
        fputs("<p id=\"servers\" class=\"bad\">No memcached server answers.</p>\n", fp);
    } else {
        fputs("<table id=\"servers\"><tr><th>server</th><th>pid</th><th>up since</th></tr>\n",
              fp);
        for (int i = 0; i < n; i++) {
            char since[40];
            utc(since, sizeof since, e[i].started);
            fputs("<tr><td>", fp);
            esc(fp, e[i].name);
            fprintf(fp, "</td><td class=\"num\">%lld</td><td>%s</td></tr>\n", e[i].pid, since);
        }
        fputs("</table>\n", fp);
    }
    if (!stats_ok)
        fputs("<p class=\"bad\">The sender figures could not be read from memcached.</p>\n", fp);
}

void page_write(FILE *fp, struct runtime *r, const struct bg_page_view *v)
{
    char host[256] = "", now[40];
    gethostname(host, sizeof host - 1);
    utc(now, sizeof now, (long long)time(NULL));
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>bouncegate on ", fp);
    esc(fp, host);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;margin:1.5em;color:#222}\n"
          "table{border-collapse:collapse;margin-bottom:1em}\n"
          "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;"
          "white-space:nowrap}\n"
          "th{background:#f0f0f0}\n"
          "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
          "td.over{background:#f8d0d0;color:#900;font-weight:bold}\n"
          ".ok{color:#070}.bad{color:#900;font-weight:bold}.none{color:#777}\n"
          "td.diag{font-size:.85em;max-width:40em;white-space:normal}\n"
          "</style></head><body>\n<h1>bouncegate on ", fp);
    esc(fp, host);
    struct bg_stats_limits lim = { r->cfg.alert_hard, r->cfg.alert_bounce,
                                   r->cfg.alert_complaint, r->cfg.alert_min };
    fprintf(fp, "</h1>\n<p>Version %s, %s. The figures are the whole fleet's (every MTA "
            "that shares this memcached); rates are of the recipients sent, highlighted over "
            "hard %g%%, bounce %g%%, complaint %g%% once a domain has sent %u.</p>\n",
            BG_VERSION, now, lim.hard / 10000.0, lim.bounce / 10000.0,
            lim.complaint / 10000.0, lim.min_sent);
    health(fp, r, v->stats_ok);
    static const char *const windows[3] = { "1h", "24h", "7d" };
    for (int w = 0; w < 3; w++)
        senders(fp, windows[w], v->rows[w], v->nrows[w], &lim);
    suppressions(fp, r);
    fputs("</body></html>\n", fp);
}
