/* dnscheck.c - can a domain receive mail (see dnscheck.h)? c-ares does
 * the DNS: one channel, the queries of up to `concurrency` domains in
 * flight, driven by poll(2) on the channel's sockets. Each domain is a
 * small state machine: MX, then A, then AAAA when there is no MX.
 */
#include "dnscheck.h"
#include "err.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bg_dnscheck {
    ares_channel ch;
};

const char *bg_dns_verdict_name(enum bg_dns_verdict v)
{
    switch (v) {
    case BG_DNS_OK: return "ok";
    case BG_DNS_NO_DOMAIN: return "no-domain";
    case BG_DNS_NULL_MX: return "null-mx";
    case BG_DNS_NO_MAIL_HOST: return "no-mail-host";
    case BG_DNS_ERROR: break;
    }
    return "dns-error";
}

struct bg_dnscheck *bg_dnscheck_new(const char *resolver, unsigned timeout_ms, unsigned tries,
                                    char *err, size_t errsz)
{
    static int lib_ok;
    if (!lib_ok) {
        int rc = ares_library_init(ARES_LIB_INIT_ALL);
        if (rc != ARES_SUCCESS) {
            bg_seterr(err, errsz, "cannot start c-ares: %s", ares_strerror(rc));
            return NULL;
        }
        lib_ok = 1;
    }
    struct bg_dnscheck *d = calloc(1, sizeof *d);
    if (d == NULL) {
        bg_seterr(err, errsz, "out of memory");
        return NULL;
    }
    struct ares_options o;
    memset(&o, 0, sizeof o);
    o.timeout = (int)(timeout_ms ? timeout_ms : 2000);
    o.tries = (int)(tries ? tries : 2);
    o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
    int rc = ares_init_options(&d->ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
    if (rc != ARES_SUCCESS) {
        bg_seterr(err, errsz, "cannot set up the resolver: %s", ares_strerror(rc));
        free(d);
        return NULL;
    }
    if (resolver != NULL && resolver[0]) {
        rc = ares_set_servers_ports_csv(d->ch, resolver);
        if (rc != ARES_SUCCESS) {
            bg_seterr(err, errsz, "bad resolver \"%s\" (HOST or HOST:PORT): %s", resolver,
                      ares_strerror(rc));
            ares_destroy(d->ch);
            free(d);
            return NULL;
        }
    }
    return d;
}

void bg_dnscheck_free(struct bg_dnscheck *d)
{
    if (d == NULL)
        return;
    ares_destroy(d->ch);
    free(d);
}

/* One domain in flight. */
struct job {
    struct run *run;
    size_t i;          /* index into the domains */
    int qtype;         /* the query in flight: MX, A or AAAA */
};

struct run {
    struct bg_dnscheck *d;
    const char *const *domains;
    enum bg_dns_verdict *out;
    char (*detail)[64];
    size_t done, n;
    unsigned inflight;
    void (*progress)(size_t, size_t, void *);
    void *arg;
};

static void finish(struct job *j, enum bg_dns_verdict v, const char *why)
{
    struct run *r = j->run;
    r->out[j->i] = v;
    if (r->detail)
        snprintf(r->detail[j->i], 64, "%s", why);
    r->done++;
    r->inflight--;
    if (r->progress)
        r->progress(r->done, r->n, r->arg);
    free(j);
}

static void answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

static void ask(struct job *j, int qtype)
{
    j->qtype = qtype;
    ares_query(j->run->d->ch, j->run->domains[j->i], ns_c_in, qtype, answer, j);
}

static void answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct job *j = arg;
    (void)timeouts;
    switch (status) {
    case ARES_SUCCESS:
        break;
    case ARES_ENODATA:
        /* the name exists, without this record: the next step */
        if (j->qtype == ns_t_mx)
            ask(j, ns_t_a);
        else if (j->qtype == ns_t_a)
            ask(j, ns_t_aaaa);
        else
            finish(j, BG_DNS_NO_MAIL_HOST, "no mx, a or aaaa");
        return;
    case ARES_ENOTFOUND:
        finish(j, BG_DNS_NO_DOMAIN, "nxdomain");
        return;
    case ARES_ETIMEOUT:
        finish(j, BG_DNS_ERROR, "timeout");
        return;
    case ARES_ESERVFAIL:
        finish(j, BG_DNS_ERROR, "servfail");
        return;
    case ARES_EREFUSED:
        finish(j, BG_DNS_ERROR, "refused");
        return;
    case ARES_ECONNREFUSED:
        /* what c-ares says once every server answered SERVFAIL or
         * REFUSED, or could not be reached */
        finish(j, BG_DNS_ERROR, "servfail or refused");
        return;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        finish(j, BG_DNS_ERROR, "cancelled");
        return;
    default: {
        char why[64];
        snprintf(why, sizeof why, "%s", ares_strerror(status));
        finish(j, BG_DNS_ERROR, why);
        return;
    }
    }
    if (j->qtype != ns_t_mx) {
        finish(j, BG_DNS_OK, j->qtype == ns_t_a ? "a (no mx)" : "aaaa (no mx)");
        return;
    }
    struct ares_mx_reply *mx = NULL;
    if (ares_parse_mx_reply(abuf, alen, &mx) != ARES_SUCCESS || mx == NULL) {
        /* an MX answer that holds no MX record (a CNAME chain only):
         * as no MX */
        if (mx)
            ares_free_data(mx);
        ask(j, ns_t_a);
        return;
    }
    /* RFC 7505: a single MX whose exchange is the root, "." */
    const struct ares_mx_reply *real = NULL;
    size_t count = 0;
    for (const struct ares_mx_reply *m = mx; m; m = m->next) {
        count++;
        if (m->host && m->host[0] && strcmp(m->host, ".") != 0 && real == NULL)
            real = m;
    }
    char why[64];
    if (real == NULL) {
        finish(j, BG_DNS_NULL_MX, count == 1 ? "mx 0 ." : "only null mx records");
    } else {
        snprintf(why, sizeof why, "mx %s", real->host);
        finish(j, BG_DNS_OK, why);
    }
    ares_free_data(mx);
}

int bg_dnscheck_run(struct bg_dnscheck *d, const char *const *domains, size_t n,
                    unsigned concurrency, enum bg_dns_verdict *out, char (*detail)[64],
                    void (*progress)(size_t done, size_t n, void *arg), void *arg,
                    char *err, size_t errsz)
{
    struct run r = { d, domains, out, detail, 0, n, 0, progress, arg };
    size_t next = 0;
    if (concurrency == 0)
        concurrency = 1;
    while (r.done < n) {
        while (next < n && r.inflight < concurrency) {
            struct job *j = calloc(1, sizeof *j);
            if (j == NULL) {
                bg_seterr(err, errsz, "out of memory");
                ares_cancel(d->ch);
                return -1;
            }
            j->run = &r;
            j->i = next++;
            r.inflight++;
            ask(j, ns_t_mx);   /* may finish at once (a bad name) */
        }
        if (r.done >= n)
            break;
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        /* the readable bits are 0..15, the writable ones 16..31 (c-ares'
         * ARES_GETSOCK_WRITABLE shifts a signed 1 into bit 31: undefined
         * behaviour, so the bits are read here as unsigned) */
        unsigned bits = (unsigned)ares_getsock(d->ch, socks, ARES_GETSOCK_MAXNUM);
        struct pollfd pfd[ARES_GETSOCK_MAXNUM];
        int np = 0;
        for (int k = 0; k < ARES_GETSOCK_MAXNUM; k++) {
            short ev = 0;
            if ((bits >> k) & 1u)
                ev |= POLLIN;
            if ((bits >> (k + ARES_GETSOCK_MAXNUM)) & 1u)
                ev |= POLLOUT;
            if (ev) {
                pfd[np].fd = socks[k];
                pfd[np].events = ev;
                pfd[np].revents = 0;
                np++;
            }
        }
        struct timeval tv, *tvp = ares_timeout(d->ch, NULL, &tv);
        int ms = tvp ? (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) + 1 : 1000;
        int pr = poll(pfd, (nfds_t)np, ms);
        if (pr <= 0) {
            /* nothing ready: let c-ares count its timeouts */
            ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            continue;
        }
        for (int k = 0; k < np; k++) {
            if (!pfd[k].revents)
                continue;
            ares_socket_t rd = pfd[k].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[k].fd
                                                                             : ARES_SOCKET_BAD;
            ares_socket_t wr = pfd[k].revents & POLLOUT ? pfd[k].fd : ARES_SOCKET_BAD;
            ares_process_fd(d->ch, rd, wr);
        }
    }
    return 0;
}
