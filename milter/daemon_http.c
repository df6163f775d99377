/* daemon_http.c - the MetricsListen listener: GET /metrics (Prometheus
 * text format, metrics.h) and GET / (the status page, daemon_page.c).
 *
 * HTTP is libmicrohttpd's (one thread of its own polling every
 * connection), not ours: at most 16 connections, 10 s each, GET and HEAD
 * only, no request body, nothing read from the query. Started after the
 * daemon has dropped its privileges; MetricsListen is read at start. */
#include "daemon.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "stats.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static struct MHD_Daemon *httpd;

/* The fleet's figures over the first nw windows (1h, 24h, 7d), as the
 * stats thread last read them: a scrape or a page load never asks
 * memcached itself (one page load used to read a week's counters). */
static int read_senders(struct bg_stats_row **rows, size_t *n, int nw)
{
    int ok = 1;
    for (int w = 0; w < nw; w++)
        ok &= stats_figures(w, &rows[w], &n[w]);
    return ok;
}

static long long journal_bytes(const struct runtime *r)
{
    struct stat st;
    if (r->cfg.journal[0] == '\0')
        return -1;
    return stat(r->cfg.journal, &st) == 0 ? (long long)st.st_size : 0;
}

static void write_metrics(FILE *fp, struct runtime *r)
{
    struct bg_stats_row *rows[2];
    size_t n[2];
    struct bg_metrics_view v = {
        .version = BG_VERSION,
        .breaker_open = bg_store_breaker_state(r->store) != BG_BREAKER_CLOSED,
        .journal_bytes = journal_bytes(r),
        .windows = { "1h", "24h" },
    };
    v.stats_ok = read_senders(rows, n, 2);
    for (int w = 0; w < 2; w++) {
        v.rows[w] = rows[w];
        v.nrows[w] = n[w];
    }
    bg_metrics_write(fp, &v);
    free(rows[0]);
    free(rows[1]);
}

static void write_page(FILE *fp, struct runtime *r)
{
    struct bg_page_view v;
    memset(&v, 0, sizeof v);
    v.stats_ok = read_senders(v.rows, v.nrows, 3);
    page_write(fp, r, &v);
    for (int w = 0; w < 3; w++)
        free(v.rows[w]);
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned code, const char *type,
                               char *body, size_t len)
{
    struct MHD_Response *res =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (res == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(res, "Content-Type", type);
    MHD_add_response_header(res, "Cache-Control", "no-store");
    MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(res, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(res, "Allow", "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(c, code, res);
    MHD_destroy_response(res);
    return rc;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned code, const char *msg)
{
    char *b = strdup(msg);
    return b != NULL ? respond(c, code, "text/plain; charset=utf-8", b, strlen(b)) : MHD_NO;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload, size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    (void)upload;
    (void)state;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n");
    if (*upload_size != 0)
        return text(c, MHD_HTTP_BAD_REQUEST, "no body expected\n");
    int metrics = strcmp(url, "/metrics") == 0;
    if (!metrics && strcmp(url, "/") != 0)
        return text(c, MHD_HTTP_NOT_FOUND, "not found: /metrics and / only\n");
    struct runtime *r = rt_get();
    if (r == NULL)
        return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping\n");
    char *body = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&body, &len);
    if (fp == NULL) {
        rt_put(r);
        return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    if (metrics)
        write_metrics(fp, r);
    else
        write_page(fp, r);
    rt_put(r);
    if (fclose(fp) != 0) {
        free(body);
        return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    return respond(c, MHD_HTTP_OK,
                   metrics ? "text/plain; version=0.0.4; charset=utf-8"
                           : "text/html; charset=utf-8",
                   body, len);
}

int http_start(const char *spec)
{
    if (spec == NULL || spec[0] == '\0')
        return 0;
    struct sockaddr_storage ss;
    socklen_t sl;
    char err[200];
    if (bg_listen_parse(spec, &ss, &sl, err, sizeof err) < 0) {
        bg_log(LOG_ERR, "start", "problem=metrics-listen value=%s error=\"%s\"", spec, err);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    httpd = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)8,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
                             MHD_OPTION_END);
    if (httpd == NULL) {
        bg_log(LOG_ERR, "start", "problem=metrics-listen value=%s error=\"cannot listen "
               "(in use, or not an address of this host)\"", spec);
        return -1;
    }
    bg_log(LOG_NOTICE, "start", "action=listen metrics=%s", spec);
    return 0;
}

void http_stop(void)
{
    if (httpd != NULL)
        MHD_stop_daemon(httpd);
    httpd = NULL;
}
