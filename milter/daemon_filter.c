/* daemon_filter.c - the milter callbacks: scope, lookup, reject or remove.
 *
 * libmilter may run one session's callbacks on different worker threads,
 * so all session state lives behind smfi_setpriv, every callback checks it
 * for NULL, and macro values are copied, never kept as pointers.
 *
 * Per message on the outbound path: one memcached round trip per
 * recipient (address and domain in one multi-get) and nothing per body
 * byte: HELO is negotiated away; mail that needs nothing more is accepted
 * at MAIL (out of scope) or DATA; mail that only needs end of message (a
 * tag to add, recipients to remove on the non-SMTP path) skips its body at
 * the first chunk. Only reports (null sender, ReportRecipients) are read,
 * up to MaxScanBytes.
 */
#include "daemon.h"
#include "metrics.h"
#include "address.h"
#include "log.h"
#include "reply.h"
#include "sign.h"

#include <libmilter/mfapi.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A recipient to remove at end of message (non-SMTP path). One allocation
 * each, sized to its strings: a non-SMTP message may carry a hundred
 * thousand suppressed recipients. */
struct pending {
    struct pending *next;
    char *arg;             /* the RCPT argument exactly as the MTA gave it */
    char *detail;          /* class=... reason=... since=... for the log */
    char *rcpt;            /* normalized */
    char mem[];
};

static struct pending *pending_new(const char *arg, const char *rcpt, const char *detail)
{
    size_t la = strlen(arg) + 1, lr = strlen(rcpt) + 1, ld = strlen(detail) + 1;
    struct pending *p = malloc(sizeof *p + la + lr + ld);
    if (p == NULL)
        return NULL;
    p->next = NULL;
    p->arg = memcpy(p->mem, arg, la);
    p->rcpt = memcpy(p->mem + la, rcpt, lr);
    p->detail = memcpy(p->mem + la + lr, detail, ld);
    return p;
}

/* Above this many pending recipients the freed heap is handed back to the
 * system at the end of the message (glibc keeps it per thread arena). */
#define PENDING_TRIM 1000

struct sess {
    char sid[20];
    char client_addr[64];
    int client_port;       /* 0: Postfix's emulated client (non-SMTP path) */
    char daemon_name[64];
    int sendmail;          /* the MTA prefixes the reply with "<rcpt>... " */
    /* per message */
    char qid[32];
    char from[BG_ADDR_MAX];  /* MAIL FROM, normalized ("" when it is not) */
    char report_to[BG_ADDR_MAX]; /* a report's first recipient: the original sender */
    char login[BG_ADDR_MAX]; /* {auth_authen}: the SASL login, or "" */
    int checking;          /* recipients of this message are looked up */
    int nonsmtp;           /* Postfix sendmail(1)/pickup path: never reject */
    unsigned nrcpt;
    unsigned ndel;
    struct pending *del;
    /* a report to learn from: the message is buffered, up to MaxScanBytes */
    int report;            /* 0 no, REPORT_LOCAL or REPORT_REMOTE */
    char *buf;
    size_t len, cap;
    /* outbound mail to tag (SigningKeyFile): accepted recipients counted,
     * the first kept; only a message with exactly one is tagged */
    unsigned ntag;
    char tag_rcpt[BG_ADDR_MAX];
    int tagging;           /* SigningKeyFile at MAIL FROM: this message may be tagged */
    int notag;             /* a RCPT asked for success or delay notices */
    int can_skip;          /* the MTA agreed to SMFIS_SKIP for the body */
};

#define REPORT_LOCAL 1     /* Postfix's own DSN: DSNDaemonName, non-SMTP, null sender */
#define REPORT_REMOTE 2    /* from outside: must be verified */
#define REPORT_SUBMITTED 3 /* null sender submitted locally (sendmail -f ''):
                              anyone's, must be verified like REMOTE */

static _Atomic unsigned long long sid_counter;
static unsigned long long sid_base;

void filter_init(void)
{
    sid_base = ((unsigned long long)time(NULL) << 16) ^ (unsigned long long)getpid();
}

static void msg_reset(struct sess *s)
{
    struct pending *p = s->del;
    while (p != NULL) {
        struct pending *n = p->next;
        free(p);
        p = n;
    }
    if (s->ndel > PENDING_TRIM)
        malloc_trim(0);
    s->del = NULL;
    s->ndel = s->nrcpt = 0;
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
    s->report = 0;
    s->ntag = 0;
    s->tag_rcpt[0] = '\0';
    s->tagging = s->notag = 0;
    s->checking = s->nonsmtp = 0;
    s->qid[0] = '\0';
    s->from[0] = s->report_to[0] = s->login[0] = '\0';
}

static struct sess *sess_get(SMFICTX *ctx, int create)
{
    struct sess *s = smfi_getpriv(ctx);
    if (s != NULL || !create)
        return s;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->client_port = -1;   /* unknown until connect: never the non-SMTP path */
    /* Session ids: a per-start base plus a counter, so ids of two runs of
     * the daemon don't collide in the log. */
    unsigned long long n = sid_base + atomic_fetch_add(&sid_counter, 1);
    snprintf(s->sid, sizeof s->sid, "%012llX", n & 0xFFFFFFFFFFFFULL);
    if (smfi_setpriv(ctx, s) != MI_SUCCESS) {
        free(s);
        return NULL;
    }
    return s;
}

/* The id a log line starts with: the queue id, or NOQUEUE. */
static const char *log_id(SMFICTX *ctx, struct sess *s)
{
    if (s->qid[0] == '\0') {
        const char *i = smfi_getsymval(ctx, "i");
        if (i != NULL && *i != '\0')
            snprintf(s->qid, sizeof s->qid, "%s", i);
    }
    return s->qid[0] ? s->qid : "NOQUEUE";
}

static void copy_macro(SMFICTX *ctx, const char *name, char *dst, size_t dstsz)
{
    const char *v = smfi_getsymval(ctx, (char *)name);
    snprintf(dst, dstsz, "%s", v ? v : "");
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                             unsigned long f2, unsigned long f3, unsigned long *pf0,
                             unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    (void)f2; (void)f3;
    *pf0 = f0 & (SMFIF_DELRCPT | SMFIF_ADDHDRS);
    /* Steps we never use need not be sent at all. Headers and body are
     * needed for reports only; other mail is accepted at MAIL or DATA, or
     * skipped at the first body chunk, so it costs nothing per body byte. */
    *pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_SKIP);
    struct sess *s = sess_get(ctx, 1);
    if (s != NULL)
        s->can_skip = (f1 & SMFIP_SKIP) != 0;
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat cb_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
    (void)host;
    struct sess *s = sess_get(ctx, 1);
    if (s == NULL)
        return SMFIS_CONTINUE; /* fail open: no state, no checks */
    s->client_addr[0] = '\0';
    s->client_port = -1;
    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, s->client_addr, sizeof s->client_addr);
        s->client_port = ntohs(in->sin_port);
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, s->client_addr, sizeof s->client_addr);
        s->client_port = ntohs(in6->sin6_port);
    }
    copy_macro(ctx, "{daemon_name}", s->daemon_name, sizeof s->daemon_name);
    /* Postfix sends v ("Postfix 3.7.11") at connect by default; Sendmail
     * does not, but sends {if_name}, and it prefixes a refusal with the
     * address ("<bob@x>... "): the reply then leaves out its own. */
    const char *v = smfi_getsymval(ctx, "v"), *ifn = smfi_getsymval(ctx, "{if_name}");
    s->sendmail = v != NULL ? strncmp(v, "Postfix", 7) != 0 : ifn != NULL;
    return SMFIS_CONTINUE;
}

/* Is this message the site's outbound mail? Inbound mail to the site's own
 * users must never be rejected, so anything not matched is left alone. */
static int is_outbound(SMFICTX *ctx, const struct sess *s, const struct bg_config *c)
{
    /* Local submissions (sendmail(1), Postfix's non-SMTP path) are the
     * site's own mail by definition, whatever OutboundNetworks says. */
    if (c->scope == BG_SCOPE_ALL || s->nonsmtp)
        return 1;
    if (s->daemon_name[0] && bg_names_match(&c->outbound_daemons, s->daemon_name))
        return 1;
    if (c->outbound_authenticated) {
        const char *a = smfi_getsymval(ctx, "{auth_authen}");
        if (a != NULL && *a != '\0')
            return 1;
    }
    if (s->client_addr[0] && bg_netlist_match(&c->outbound_networks, s->client_addr))
        return 1;
    return 0;
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    struct sess *s = sess_get(ctx, 1);
    if (s == NULL || argv == NULL || argv[0] == NULL)
        return SMFIS_CONTINUE;
    msg_reset(s);
    const char *from = argv[0];
    const char *fwhy = NULL;
    if (bg_addr_normalize(from, strlen(from), s->from, sizeof s->from, &fwhy) < 0)
        s->from[0] = '\0';
    const char *auth = smfi_getsymval(ctx, "{auth_authen}");
    snprintf(s->login, sizeof s->login, "%s", auth != NULL ? auth : "");
    /* Postfix's non-SMTP path (cleanup emulating SMTP for sendmail(1) and
     * its own bounces) connects as localhost 127.0.0.1 port 0 and passes
     * the address without angle brackets. Both are required: an SMTP
     * client may omit the brackets too (Postfix passes MAIL FROM as typed),
     * but it always has a real source port. Rejecting a RCPT on the
     * non-SMTP path is a configuration error in Postfix, so that path
     * removes recipients at end of message instead. */
    s->nonsmtp = (s->client_port == 0 && from[0] != '<');
    struct runtime *r = rt_get();
    if (r == NULL)
        return SMFIS_ACCEPT;
    /* The null sender (bounces, Postfix's own DSNs) is never rejected or
     * removed; it is read as a report. Only Postfix's own DSNs are
     * trusted as they are: they alone arrive on the non-SMTP path through
     * the cleanup service that Postfix's bounce and defer daemons use
     * (cleanup_service_name; not trace: any local user can ask for its
     * notices with sendmail -bv), whose milter_macro_daemon_name is
     * DSNDaemonName. Any local user can submit a null-sender message with
     * sendmail -f '' (pickup, the default cleanup, another {daemon_name}),
     * so that and everything from outside must prove itself with a tag. */
    if (from[0] == '\0' || strcmp(from, "<>") == 0) {
        if (!s->nonsmtp)
            s->report = REPORT_REMOTE;
        else if (r->cfg.dsn_daemon[0] && strcmp(s->daemon_name, r->cfg.dsn_daemon) == 0)
            s->report = REPORT_LOCAL;
        else
            s->report = REPORT_SUBMITTED;
        rt_put(r);
        return SMFIS_CONTINUE;
    }
    s->checking = is_outbound(ctx, s, &r->cfg);
    s->tagging = r->have_signer;
    if (!s->checking && bg_log_enabled(LOG_DEBUG))
        bg_log(LOG_DEBUG, log_id(ctx, s), "sid=%s action=accept reason=out-of-scope "
               "client=%s daemon=%s", s->sid, s->client_addr[0] ? s->client_addr : "-",
               s->daemon_name[0] ? s->daemon_name : "-");
    /* The brake (BrakeHardRate): a sender whose hard bounces passed the
     * limit waits. Over SMTP only: the non-SMTP path must not be refused. */
    char paused[160];
    if (s->checking && !s->nonsmtp && stats_braked(s->from, paused, sizeof paused)) {
        rt_put(r);
        char text[320];
        size_t o = 0;
        for (const char *p = paused; *p && o + 2 < sizeof text; p++) {
            if (*p == '%')
                text[o++] = '%';   /* smfi_setreply formats the text */
            text[o++] = *p;
        }
        text[o] = '\0';
        if (smfi_setreply(ctx, "451", "4.7.1", text) != MI_SUCCESS)
            bg_log(LOG_WARNING, log_id(ctx, s), "sid=%s problem=setreply-failed", s->sid);
        bg_log(LOG_NOTICE, log_id(ctx, s), "sid=%s action=pause from=<%s> reason=\"%s\"",
               s->sid, s->from, paused);
        bg_metrics_paused();
        return SMFIS_TEMPFAIL;
    }
    /* Mail to the report mailboxes (ReportRecipients) must be seen whole. */
    int want_rcpts = s->checking || r->cfg.report_rcpts.n > 0;
    rt_put(r);
    /* Nothing to check: the rest of this message needs no callbacks. */
    return want_rcpts ? SMFIS_CONTINUE : SMFIS_ACCEPT;
}

static void since_date(long long t, char *out, size_t outsz)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
        snprintf(out, outsz, "-");
    else
        strftime(out, outsz, "%Y-%m-%d", &tm);
}

/* An accepted recipient is counted for the tag that lets its reports be
 * verified later (SigningKeyFile): only a message with one is tagged. */
static void remember_tag(struct sess *s, const char *norm)
{
    /* every recipient counts, whatever a reload says */
    if (s->ntag++ == 0 && norm != NULL)
        snprintf(s->tag_rcpt, sizeof s->tag_rcpt, "%s", norm);
}

/* RCPT ... NOTIFY=SUCCESS or DELAY: the sender asks for a notice that
 * returns the message's headers, tag included, to the sender, who could
 * then report the recipient: such a message gets no tag. */
static int asks_notices(char **argv)
{
    for (int i = 1; argv[i] != NULL; i++) {
        if (strncasecmp(argv[i], "NOTIFY=", 7) != 0)
            continue;
        char v[64];         /* NEVER / SUCCESS,FAILURE,DELAY: short */
        size_t n = 0;
        for (const char *p = argv[i] + 7; *p && n < sizeof v - 1; p++)
            v[n++] = (char)toupper((unsigned char)*p);
        v[n] = '\0';
        if (strstr(v, "SUCCESS") != NULL || strstr(v, "DELAY") != NULL)
            return 1;
    }
    return 0;
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
    struct sess *s = sess_get(ctx, 0);
    if (s == NULL || argv == NULL || argv[0] == NULL)
        return SMFIS_CONTINUE;
    char norm[BG_ADDR_MAX];
    const char *why = NULL;
    if (s->report) {
        /* A report's recipients are never refused. The first is the
         * sender of the message it reports on: whose figures it moves. */
        if (s->report_to[0] == '\0' &&
            bg_addr_normalize(argv[0], strlen(argv[0]), norm, sizeof norm, &why) == 0)
            memcpy(s->report_to, norm, strlen(norm) + 1);
        return SMFIS_CONTINUE;
    }
    if (!s->checking) {
        /* Not outbound: only interesting when it goes to a report mailbox. */
        struct runtime *r = rt_get();
        if (r != NULL && bg_addr_normalize(argv[0], strlen(argv[0]), norm, sizeof norm,
                                           &why) == 0 &&
            bg_exempt_match(&r->cfg.report_rcpts, norm)) {
            s->report = REPORT_REMOTE;
            memcpy(s->report_to, norm, strlen(norm) + 1);
        }
        rt_put(r);
        return SMFIS_CONTINUE;
    }
    s->nrcpt++;
    if (asks_notices(argv))
        s->notag = 1;
    const char *id = log_id(ctx, s);
    if (bg_addr_normalize(argv[0], strlen(argv[0]), norm, sizeof norm, &why) < 0) {
        if (bg_log_enabled(LOG_INFO))
            bg_log(LOG_INFO, id, "sid=%s action=accept from=<%s> reason=unparsed-address "
                   "problem=\"%s\"", s->sid, s->from, why ? why : "?");
        remember_tag(s, NULL);   /* would see a tag: counted, never tagged */
        stats_count(s->from, s->login, BG_STAT_SENT);
        bg_metrics_rcpt(BG_M_UNPARSED);
        return SMFIS_CONTINUE;
    }
    struct runtime *r = rt_get();
    if (r == NULL)
        return SMFIS_CONTINUE;
    if (bg_exempt_match(&r->cfg.exempt, norm)) {
        if (bg_log_enabled(LOG_INFO))
            bg_log(LOG_INFO, id, "sid=%s action=accept from=<%s> rcpt=<%s> reason=exempt",
                   s->sid, s->from, norm);
        remember_tag(s, norm);
        stats_count(s->from, s->login, BG_STAT_SENT);
        bg_metrics_rcpt(BG_M_EXEMPT);
        rt_put(r);
        return SMFIS_CONTINUE;
    }
    const char *domain = bg_addr_domain(norm);
    struct bg_record rec;
    int domain_hit = 0;
    char err[256];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int found = bg_store_lookup(r->store, norm, domain ? domain : "", &rec, &domain_hit,
                                err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (found != BG_STORE_SKIPPED && found != BG_STORE_BUSY)
        bg_metrics_lookup((double)(t1.tv_sec - t0.tv_sec) +
                          (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    if (found < 0) {
        /* Fail open: a store failure never blocks mail. Every recipient
         * let through unchecked is reported (rt_unchecked); the cause once
         * per WarnInterval (the breaker logs its own changes). */
        const char *reason = found == BG_STORE_SKIPPED ? "breaker-open"
                             : found == BG_STORE_BUSY  ? "no-connection-free"
                                                       : "store-failure";
        if (found != BG_STORE_SKIPPED)
            rt_warn_store(r, id, reason, err);
        rt_unchecked(id, s->sid, s->from, norm, reason);
        remember_tag(s, norm);
        stats_count(s->from, s->login, BG_STAT_SENT);
        bg_metrics_rcpt(BG_M_UNCHECKED);
        bg_metrics_unchecked(reason);
        rt_put(r);
        return SMFIS_CONTINUE;
    }
    if (found == 0) {
        if (bg_log_enabled(LOG_INFO))
            bg_log(LOG_INFO, id, "sid=%s action=accept from=<%s> rcpt=<%s>", s->sid, s->from,
                   norm);
        remember_tag(s, norm);
        stats_count(s->from, s->login, BG_STAT_SENT);
        bg_metrics_rcpt(BG_M_ACCEPTED);
        rt_put(r);
        return SMFIS_CONTINUE;
    }
    char since[16];
    since_date(rec.first_seen, since, sizeof since);
    char detail[200];
    snprintf(detail, sizeof detail, "class=%s reason=%s since=%s scope=%s",
             bg_class_name(rec.cls), rec.reason[0] ? rec.reason : "-", since,
             domain_hit ? "domain" : "recipient");

    if (s->nonsmtp) {
        /* Postfix forbids rejecting a simulated RCPT: remove it at EOM. */
        struct pending *p = pending_new(argv[0], norm, detail);
        if (p != NULL) {
            p->next = s->del;
            s->del = p;
            s->ndel++;
        } else {
            remember_tag(s, norm);
            bg_log(LOG_ERR, id, "sid=%s action=accept from=<%s> rcpt=<%s> "
                   "reason=out-of-memory", s->sid, s->from, norm);
        }
        stats_count(s->from, s->login, p != NULL ? BG_STAT_REFUSED : BG_STAT_SENT);
        bg_metrics_rcpt(p != NULL ? BG_M_REMOVED : BG_M_ACCEPTED);
        rt_put(r);
        return SMFIS_CONTINUE;
    }

    char text[BG_REPLY_MAX], rcode[4], xcode[16];
    bg_reply_codes(&rec, domain_hit, rcode, xcode);
    const char *tmpl = r->cfg.reject_text;
    if (s->sendmail && strncmp(tmpl, "{rcpt}: ", 8) == 0)
        tmpl += 8;          /* Sendmail names the recipient itself */
    bg_reply_build(tmpl, norm, domain_hit, &rec, text, sizeof text);
    rt_put(r);
    if (smfi_setreply(ctx, rcode, xcode, text) != MI_SUCCESS)
        bg_log(LOG_WARNING, id, "sid=%s problem=setreply-failed rcpt=<%s>", s->sid, norm);
    bg_log(LOG_NOTICE, id, "sid=%s action=reject from=<%s> rcpt=<%s> %s status=%s", s->sid,
           s->from, norm, detail, xcode);
    stats_count(s->from, s->login, BG_STAT_REFUSED);
    bg_metrics_rcpt(BG_M_REFUSED);
    return SMFIS_REJECT;
}

/* Does this message need anything at end of message? */
static int needs_eom(const struct sess *s)
{
    return s->report || (s->nonsmtp && s->ndel > 0) ||
           (s->tagging && s->ntag == 1 && !s->notag);
}

static sfsistat cb_data(SMFICTX *ctx)
{
    struct sess *s = sess_get(ctx, 0);
    if (s == NULL || !needs_eom(s))
        return SMFIS_ACCEPT;
    if (s->report) {
        struct runtime *r = rt_get();
        size_t cap = r ? r->cfg.max_scan_bytes : 1024 * 1024;
        rt_put(r);
        s->buf = malloc(cap);
        s->cap = s->buf ? cap : 0;
        s->len = 0;
    }
    return SMFIS_CONTINUE;
}

static void buf_add(struct sess *s, const void *p, size_t n)
{
    if (s->buf == NULL || s->len >= s->cap)
        return;
    if (n > s->cap - s->len)
        n = s->cap - s->len;   /* MaxScanBytes: the rest is not read */
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    struct sess *s = sess_get(ctx, 0);
    if (s == NULL || !s->report || name == NULL || value == NULL)
        return SMFIS_CONTINUE;
    buf_add(s, name, strlen(name));
    buf_add(s, ": ", 2);
    buf_add(s, value, strlen(value));
    buf_add(s, "\r\n", 2);
    return SMFIS_CONTINUE;
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
    struct sess *s = sess_get(ctx, 0);
    if (s != NULL && s->report)
        buf_add(s, "\r\n", 2);
    return SMFIS_CONTINUE;
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    struct sess *s = sess_get(ctx, 0);
    if (s != NULL && s->report && s->len < s->cap) {
        buf_add(s, chunk, len);
        return SMFIS_CONTINUE;
    }
    /* Not a report, or read far enough: the rest of the body is not ours. */
    return (s != NULL && s->can_skip) ? SMFIS_SKIP : SMFIS_CONTINUE;
}

/* The tag of a message with one accepted recipient, bound to its queue
 * id (sign.h). A message with several gets none: they all see its
 * headers. */
static void add_tag(SMFICTX *ctx, struct sess *s)
{
    if (!s->tagging || s->ntag != 1 || s->notag || s->tag_rcpt[0] == '\0')
        return;
    struct runtime *r = rt_get();
    if (r == NULL)
        return;
    const char *id = log_id(ctx, s);
    char v[BG_SIGN_VALUE_MAX];
    if (r->have_signer && bg_sign_value(&r->signer, (long long)time(NULL), s->qid,
                                        s->tag_rcpt, v, sizeof v) > 0) {
        if (smfi_addheader(ctx, BG_SIGN_HEADER, v) != MI_SUCCESS)
            bg_log(LOG_WARNING, id, "sid=%s problem=addheader-failed", s->sid);
    } else if (r->have_signer && bg_log_enabled(LOG_DEBUG)) {
        bg_log(LOG_DEBUG, id, "sid=%s action=no-tag reason=no-queue-id", s->sid);
    }
    rt_put(r);
}

static sfsistat cb_eom(SMFICTX *ctx)
{
    struct sess *s = sess_get(ctx, 0);
    if (s == NULL)
        return SMFIS_ACCEPT;
    const char *id = log_id(ctx, s);
    if (s->report) {
        /* Learn, and always accept: a bounce is never refused or held. */
        struct runtime *r = rt_get();
        if (r != NULL && s->buf != NULL)
            report_learn(r, id, s->report_to, s->buf, s->len, s->report == REPORT_LOCAL
                                                    ? REPORT_FROM_POSTFIX
                                                    : s->report == REPORT_SUBMITTED
                                                    ? REPORT_FROM_SUBMISSION
                                                    : REPORT_FROM_OUTSIDE);
        rt_put(r);
        msg_reset(s);
        return SMFIS_ACCEPT;
    }
    if (s->ndel == 0) {
        add_tag(ctx, s);
        msg_reset(s);
        return SMFIS_ACCEPT;
    }
    if (s->ndel >= s->nrcpt) {
        for (struct pending *p = s->del; p != NULL; p = p->next)
            bg_log(LOG_NOTICE, id, "sid=%s action=remove from=<%s> rcpt=<%s> %s path=nonsmtp",
                   s->sid, s->from, p->rcpt, p->detail);
        bg_log(LOG_NOTICE, id, "sid=%s action=discard reason=all-recipients-suppressed "
               "rcpts=%u path=nonsmtp", s->sid, s->nrcpt);
        msg_reset(s);
        return SMFIS_DISCARD;
    }
    for (struct pending *p = s->del; p != NULL; p = p->next) {
        if (smfi_delrcpt(ctx, p->arg) == MI_SUCCESS)
            bg_log(LOG_NOTICE, id, "sid=%s action=remove from=<%s> rcpt=<%s> %s path=nonsmtp",
                   s->sid, s->from, p->rcpt, p->detail);
        else {
            bg_log(LOG_WARNING, id, "sid=%s action=accept from=<%s> rcpt=<%s> %s path=nonsmtp "
                   "problem=delrcpt-failed", s->sid, s->from, p->rcpt, p->detail);
            s->ntag++;      /* still a recipient: it would see a tag */
        }
    }
    add_tag(ctx, s);        /* after the removals: the recipients that stay */
    msg_reset(s);
    return SMFIS_ACCEPT;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
    struct sess *s = sess_get(ctx, 0);
    if (s != NULL)
        msg_reset(s);
    return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
    struct sess *s = sess_get(ctx, 0);   /* may be NULL: see libmilter notes */
    if (s != NULL) {
        msg_reset(s);
        free(s);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

struct smfiDesc bg_filter_desc = {
    .xxfi_name = "bouncegate",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_DELRCPT | SMFIF_ADDHDRS,
    .xxfi_header = cb_header,
    .xxfi_eoh = cb_eoh,
    .xxfi_body = cb_body,
    .xxfi_connect = cb_connect,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_envrcpt = cb_envrcpt,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
    .xxfi_data = cb_data,
    .xxfi_negotiate = cb_negotiate,
};
