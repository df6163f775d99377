/* dsn.c - parse bounces, complaints and auto-replies; see dsn.h.
 *
 * Plan: split the MIME tree (mime_walk.c, bounded depth and part count), read
 * machine-readable parts first (message/delivery-status,
 * message/global-delivery-status, message/feedback-report), then the
 * human-readable text for everything vendors send without a DSN part,
 * and for details a DSN part leaves out (the SMTP command, the remote
 * server's reply). Every scan is linear in the bytes looked at; the only
 * heap use is one block per message (context, decode buffer and text),
 * kept by the thread for its next message when at most CTX_KEEP bytes
 * (freed with the thread), else freed before returning.
 */
#include "dsn_int.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_SCAN ((size_t)1 << 20)

struct bg_dsn_rcpt *rcpt_add(struct bg_dsn *out, const char *addr)
{
    for (size_t i = 0; i < out->nrcpt; i++)
        if (ci_eq(out->r[i].rcpt, addr))
            return &out->r[i];
    if (out->nrcpt >= BG_DSN_MAX_RCPT)
        return NULL;
    struct bg_dsn_rcpt *r = &out->r[out->nrcpt++];
    memset(r, 0, sizeof *r);
    scpy(r->rcpt, sizeof r->rcpt, addr);
    return r;
}

/* Every address of an address-list header value. */
void add_addr_list(struct bg_dsn *out, const char *v)
{
    size_t n = strlen(v);
    const char *p = v;
    const char *at;
    while ((at = memchr(p, '@', n - (size_t)(p - v))) != NULL) {
        size_t b, e;
        if (addr_bounds(v, n, (size_t)(at - v), &b, &e)) {
            char a[320];
            scopy(a, sizeof a, v + b, e - b);
            rcpt_add(out, a);
            p = v + e;
        } else {
            p = at + 1;
        }
        if ((size_t)(p - v) >= n)
            break;
    }
}

static void take_original(struct ctx *c, const struct bg_mime_part *pt, int headers_only)
{
    if (c->out->orig_headers || pt->enc != BG_ENC_IDENTITY)
        return;
    const char *b = pt->body;
    size_t n = pt->body_len;
    /* skip leading blank lines */
    while (n > 0 && (*b == '\n' || *b == '\r')) {
        b++;
        n--;
    }
    /* headers_only or not, the headers end at the first empty line */
    (void)headers_only;
    struct bg_mime_hdrs *hx = &c->orig_hx;
    size_t hl = bg_mime_index_msg(b, n, NULL, hx);
    if (hl == 0)
        return;
    c->have_orig = 1;
    c->out->orig_headers = b;
    c->out->orig_headers_len = hl;
    char v[512];
    if (bg_mime_hdr_get(hx, "message-id", v, sizeof v)) {
        char a[320];
        value_addr(v, a, sizeof a);
        scpy(c->out->orig_message_id, sizeof c->out->orig_message_id, a);
    }
    if (bg_mime_hdr_get(hx, "from", v, sizeof v) ||
        bg_mime_hdr_get(hx, "return-path", v, sizeof v)) {
        value_addr(v, c->out->orig_from, sizeof c->out->orig_from);
    }
    /* To: and X-HmXmrOriginalRecipient: later, if asked (orig_to_get,
     * hmxmr_get) */
}

/* The returned original's To: ("" without an original or the field),
 * looked up on first use. */
static const char *orig_to_get(struct ctx *c)
{
    if (!c->orig_to_done) {
        c->orig_to_done = 1;
        if (c->have_orig)
            bg_mime_hdr_get(&c->orig_hx, "to", c->orig_to, sizeof c->orig_to);
    }
    return c->orig_to;
}

/* The address in the original's X-HmXmrOriginalRecipient: (Hotmail's
 * JMRP), "" if none, looked up on first use. */
static const char *hmxmr_get(struct ctx *c)
{
    if (!c->hmxmr_done) {
        c->hmxmr_done = 1;
        char v[512];
        if (c->have_orig &&
            bg_mime_hdr_get(&c->orig_hx, "x-hmxmroriginalrecipient", v, sizeof v))
            value_addr(v, c->hmxmr, sizeof c->hmxmr);
    }
    return c->hmxmr;
}


/* The kind of a (lower-cased) media type: decided once per part, where
 * the loops over the parts compared each type with up to ten names. The
 * length picks the candidates; the compare is exact. */
static unsigned char part_kind(const char *t)
{
#define IS(lit) (memcmp(t, lit, sizeof lit - 1) == 0) /* t has as many bytes */
    switch (strlen(t)) {
    case 9: return IS("text/html") ? PK_HTML : PK_OTHER;
    case 10: return IS("text/plain") ? PK_PLAIN : PK_OTHER;
    case 11: return IS("text/rfc822") ? PK_HDRS : PK_OTHER;
    case 13: return IS("text/enriched") ? PK_PLAIN : PK_OTHER;
    case 14: return IS("message/rfc822") ? PK_RFC822 : IS("message/global") ? PK_MSG : PK_OTHER;
    case 15: return IS("message/partial") ? PK_MSG : PK_OTHER;
    case 19: return IS("text/rfc822-headers") ? PK_HDRS : PK_OTHER;
    case 20: return IS("text/delivery-status") ? PK_DS : PK_OTHER;
    case 22: return IS("message/global-headers") ? PK_HDRS : PK_OTHER;
    case 23:
        return IS("message/delivery-status") ? PK_DS
               : IS("message/feedback-report") ? PK_FB : PK_OTHER;
    case 30: return IS("message/global-delivery-status") ? PK_DS : PK_OTHER;
    default: return PK_OTHER;
    }
#undef IS
}

static int subject_autoreply(const char *s)
{
    static const char *const pats[] = {
        "out of office", "out of the office", "auto:", "automatic reply",
        "autoreply", "auto-reply", "auto reply", "auto response",
        "autoresponse", "auto-response", "vacation", "away from",
        "abwesenheit", "absence", "r\xc3\xa9ponse automatique",
        "automatische antwort", "i am away", "away until", NULL };
    size_t n = strlen(s);
    for (int i = 0; pats[i]; i++)
        if (ci_find(s, n, pats[i]))
            return 1;
    return 0;
}

/* Does any of the patterns occur: one pass for all (ASCII patterns
 * only, see mscan), not one per pattern. */
static const char *const bounce_subjects[] = {
    "undeliver", "delivery status", "failure", "returned mail",
    "mail delivery", "delivery notification", "failed", "not delivered",
    "nondeliver", "non-deliver", "bounce", "rejected", "could not",
    "couldn't", "error", "delayed", "warning", NULL };
MSCAN_STATIC(bounce_subjects, bounce_subjects)
static int subject_bounce(const char *s)
{
    size_t at;
    return mscan_next(bounce_subjects_scanner(), s, strlen(s), 0, ~0ULL, &at) >= 0;
}

static const char *const daemon_names[] = {
    "mailer-daemon", "postmaster", "mail delivery", "mailerdaemon", "mail-daemon",
    "post_master", NULL };
MSCAN_STATIC(daemon_names, daemon_names)
static int from_daemon(const char *f)
{
    size_t at;
    return mscan_next(daemon_names_scanner(), f, strlen(f), 0, ~0ULL, &at) >= 0;
}

static void set_autoreply(struct ctx *c)
{
    struct bg_dsn *out = c->out;
    out->kind = BG_REPORT_AUTOREPLY;
    scpy(out->format, sizeof out->format, "rfc3834");
    out->nrcpt = 0;
    char a[320];
    value_addr(c->from, a, sizeof a);
    if (strchr(a, '@'))
        rcpt_add(out, a);
}

static void finish_dsn(struct ctx *c)
{
    for (size_t k = 0; k < c->out->nrcpt; k++) {
        struct bg_dsn_rcpt *r = &c->out->r[k];
        fill_codes(r);
        if (!c->text_len)
            continue;
        /* details the DSN part leaves out, from the human text before the
         * returned original: the first mention in the whole text when it
         * ends before the cut (a later one would end later still) */
        const char *h = ci_find(c->text, c->text_len, r->rcpt);
        if (h) {
            size_t rb = (size_t)(h - c->text), he = rb + strlen(r->rcpt);
            /* one cut search for both questions: the mention ends at he
             * <= rb + 2048 (an address is far shorter) and he <= text_len,
             * so the cut is before he exactly when re is. (re >= he > rb:
             * ds_commit adds no empty address, so re - rb - 1 below does
             * not wrap.) */
            size_t re = cut_before(c, rb + 2048);
            if (re < he)
                continue;
            /* up to the next recipient's mention */
            for (size_t j = 0; j < c->out->nrcpt; j++) {
                if (j == k)
                    continue;
                const char *o = ci_find(c->text + rb + 1, re - rb - 1, c->out->r[j].rcpt);
                if (o && (size_t)(o - c->text) < re)
                    re = (size_t)(o - c->text);
            }
            int had = r->diag[0] != 0;
            region_details(r, c->text, rb, re, 0);
            /* words around the mention that carry no reply or status
             * code of their own: boilerplate, not the remote's answer */
            r->diag_from_text = !had && r->diag[0] != 0 && !diag_has_code(r->diag);
            fill_codes(r);
        }
    }
}

static int parse_msg(const char *msg, size_t len, struct bg_dsn *out, int nest);

/* A thread keeps its last context block (up to CTX_KEEP bytes) for the
 * next message: malloc and free of a block this size took about as many
 * instructions as a short bounce's whole text scan. Taken out while in
 * use (a nested parse_msg allocates its own), freed with the thread. */
#define CTX_KEEP ((size_t)1 << 18)
static pthread_key_t ctx_key;
static int ctx_key_ok;
static pthread_once_t ctx_key_once = PTHREAD_ONCE_INIT;
static void ctx_key_make(void) { ctx_key_ok = pthread_key_create(&ctx_key, free) == 0; }

/* The context of one message, with its two len + 1 byte buffers in the
 * same allocation (one block per message, not three, and that block
 * mostly the thread's kept one), or NULL. Only the fields that may be
 * read before they are written are set: the rest (the part table, the
 * field buffer, string tails) is written first, and clearing all of it
 * cost more than the allocation. */
static struct ctx *ctx_new(const char *msg, size_t len, struct bg_dsn *out)
{
    if (len > (SIZE_MAX - sizeof(struct ctx)) / 2 - 1)
        return NULL;
    size_t need = sizeof(struct ctx) + 2 * (len + 1);
    struct ctx *c = NULL;
    pthread_once(&ctx_key_once, ctx_key_make);
    if (ctx_key_ok) {
        struct ctx *k = pthread_getspecific(ctx_key);
        if (k && k->alloc >= need && pthread_setspecific(ctx_key, NULL) == 0)
            c = k;
    }
    if (!c) {
        /* a little more than needed, so the next, slightly longer
         * message still fits */
        size_t a = need <= CTX_KEEP - 16384 ? (need + 16383) & ~(size_t)16383 : need;
        c = malloc(a);
        if (!c)
            return NULL;
        c->alloc = a;
    }
    c->msg = msg;
    c->len = len;
    c->out = out;
    c->nparts = 0;
    c->buf = (char *)(c + 1);
    c->text = c->buf + len + 1;
    c->text_len = 0;
    c->cut = c->cut_from = 0;
    c->cut_done = 0;
    c->subject[0] = c->from[0] = c->to[0] = 0;
    c->from_addr_done = 0;
    c->have_orig = c->orig_to_done = c->hmxmr_done = 0;
    c->orig_to[0] = c->xfailed[0] = c->hmxmr[0] = 0;
    c->nsenders = 0;
    return c;
}

/* Back to the thread (the larger of its kept block and c, if at most
 * CTX_KEEP), or freed. */
static void ctx_free(struct ctx *c)
{
    if (ctx_key_ok && c->alloc <= CTX_KEEP) {
        struct ctx *k = pthread_getspecific(ctx_key);
        if (!k || k->alloc < c->alloc) {
            if (pthread_setspecific(ctx_key, c) == 0) {
                free(k);
                return;
            }
        }
    }
    free(c);
}

int bg_dsn_parse(const char *msg, size_t len, const struct bg_dsn_opts *opts,
                 struct bg_dsn *out)
{
    if (!out)
        return -1;
    memset(out, 0, offsetof(struct bg_dsn, r)); /* r[] is set as recipients are added */
    if (!msg || len == 0)
        return -1;
    size_t cap = opts && opts->max_scan ? opts->max_scan : DEFAULT_MAX_SCAN;
    if (len > cap)
        len = cap;
    return parse_msg(msg, len, out, 0);
}

/* nest: how many message/rfc822 levels deep we are (at most 1: a bounce
 * forwarded or returned inside another message). */
static int parse_msg(const char *msg, size_t len, struct bg_dsn *out, int nest)
{

    struct ctx *c = ctx_new(msg, len, out);
    if (!c)
        return -1;
    int rc = -1;

    struct bg_mime_hdrs hx;
    bg_mime_index_msg(msg, len, NULL, &hx);
    char v[1024];
    if (bg_mime_hdr_get(&hx, "subject", v, sizeof v))
        bg_mime_decode_words(v, c->subject, sizeof c->subject);
    if (bg_mime_hdr_get(&hx, "from", v, sizeof v))
        bg_mime_decode_words(v, c->from, sizeof c->from);
    bg_mime_hdr_get(&hx, "to", c->to, sizeof c->to);
    bg_mime_hdr_get(&hx, "x-failed-recipients", c->xfailed, sizeof c->xfailed);
    if (bg_mime_hdr_get(&hx, "x-postfix-queue-id", v, sizeof v))
        scpy(out->queue_id, sizeof out->queue_id, v);

    c->nparts = bg_mime_walk_hdrs(msg, len, &hx, BG_DSN_MAX_DEPTH, c->parts, MAX_PARTS);
    for (size_t i = 0; i < c->nparts; i++)
        c->kind[i] = part_kind(c->parts[i].type);
    build_text(c);

    /* machine-readable parts */
    int saw_ds = 0, saw_fb = 0;
    for (size_t i = 0; i < c->nparts; i++) {
        const struct bg_mime_part *pt = &c->parts[i];
        if (pt->multipart)
            continue;
        unsigned char kind = c->kind[i];
        if (kind == PK_DS) {
            size_t n = bg_mime_decode(pt->enc, pt->body, pt->body_len, c->buf, len);
            parse_delivery_status(c, c->buf, n);
            saw_ds = 1;
        } else if (kind == PK_FB) {
            size_t n = bg_mime_decode(pt->enc, pt->body, pt->body_len, c->buf, len);
            /* some senders put the fields after a blank line */
            size_t sk = 0;
            while (sk < n && (c->buf[sk] == '\n' || c->buf[sk] == '\r'))
                sk++;
            parse_feedback(c, c->buf + sk, n - sk);
            saw_fb = 1;
        } else if (kind == PK_RFC822 || kind == PK_MSG) {
            take_original(c, pt, 0);
        } else if (kind == PK_HDRS) {
            take_original(c, pt, 1);
        }
    }

    if (saw_fb) {
        out->kind = BG_REPORT_ARF;
        scpy(out->format, sizeof out->format, "arf");
        if (out->nrcpt == 0 && orig_to_get(c)[0])
            add_addr_list(out, c->orig_to);
        rc = 0;
        goto done;
    }
    if (saw_ds && out->nrcpt > 0) {
        /* recipients that are no addresses: try the human text instead */
        size_t valid = 0;
        for (size_t k = 0; k < out->nrcpt; k++)
            valid += (size_t)addr_valid(out->r[k].rcpt);
        if (valid == 0) {
            struct bg_dsn_rcpt keep = out->r[0];
            out->nrcpt = 0;
            if (parse_vendor(c, 1) && out->nrcpt > 0) {
                struct bg_dsn_rcpt *r = &out->r[0];
                if (!r->status[0])
                    scpy(r->status, sizeof r->status, keep.status);
                if (!r->remote_mta[0])
                    scpy(r->remote_mta, sizeof r->remote_mta, keep.remote_mta);
                if (keep.action)
                    r->action = keep.action;
                rc = 0;
                goto done;
            }
            out->r[0] = keep;
            out->nrcpt = 1;
        }
        out->kind = BG_REPORT_DSN;
        scpy(out->format, sizeof out->format, "rfc3464");
        finish_dsn(c);
        rc = 0;
        goto done;
    }

    if (hmxmr_get(c)[0] && strchr(c->hmxmr, '@')) {
        /* Hotmail JMRP complaint: no feedback-report part */
        out->kind = BG_REPORT_ARF;
        scpy(out->format, sizeof out->format, "jmrp");
        scpy(out->feedback_type, sizeof out->feedback_type, "abuse");
        rcpt_add(out, c->hmxmr);
        rc = 0;
        goto done;
    }
    char as[128] = "", xar[128] = "", prec[64] = "";
    bg_mime_hdr_get(&hx, "auto-submitted", as, sizeof as);
    int xauto = bg_mime_hdr_get(&hx, "x-autoreply", xar, sizeof xar) ||
                bg_mime_hdr_get(&hx, "x-autorespond", xar, sizeof xar) ||
                bg_mime_hdr_get(&hx, "x-autoresponder", xar, sizeof xar);
    bg_mime_hdr_get(&hx, "precedence", prec, sizeof prec);
    int daemon = from_daemon(c->from);
    int bsubj = subject_bounce(c->subject);
    int strong_auto = xauto || ci_prefix(prec, "auto_reply") ||
                      (ci_prefix(as, "auto-replied") && !daemon && !bsubj);
    if (strong_auto && !saw_ds) {
        set_autoreply(c);
        rc = 0;
        goto done;
    }
    if (parse_vendor(c, daemon || bsubj || saw_ds)) {
        /* a DSN without recipient blocks ("Delivery report unavailable"):
         * the returned original's single To: is the best we know; action
         * and status stay unknown */
        const char *at1 = strchr(orig_to_get(c), '@');
        if (saw_ds && out->nrcpt == 0 && at1 && !strchr(at1 + 1, '@')) {
            add_addr_list(out, c->orig_to);
            scpy(out->format, sizeof out->format, "rfc3464");
            out->kind = BG_REPORT_DSN;
        }
        rc = 0;
        goto done;
    }
    if (subject_autoreply(c->subject) || ci_prefix(as, "auto-")) {
        set_autoreply(c);
        rc = 0;
        goto done;
    }
    memset(out, 0, offsetof(struct bg_dsn, r)); /* r[] is set as recipients are added */
    rc = -1;
done:
    if ((rc != 0 || out->nrcpt == 0) && nest == 0 &&
        out->kind != BG_REPORT_AUTOREPLY && out->kind != BG_REPORT_ARF) {
        /* a report wrapped in a message/rfc822 part */
        for (size_t i = 0; i < c->nparts; i++) {
            const struct bg_mime_part *pt = &c->parts[i];
            if (c->kind[i] != PK_RFC822 || pt->enc != BG_ENC_IDENTITY)
                continue;
            struct bg_dsn *inner = malloc(sizeof *inner);
            if (!inner)
                break;
            memset(inner, 0, offsetof(struct bg_dsn, r));
            if (parse_msg(pt->body, pt->body_len, inner, nest + 1) == 0 &&
                inner->nrcpt > 0 && inner->kind != BG_REPORT_AUTOREPLY) {
                *out = *inner;
                rc = 0;
            }
            free(inner);
            break;
        }
    }
    ctx_free(c);
    return rc;
}

const char *bg_dsn_action_name(enum bg_dsn_action a)
{
    switch (a) {
    case BG_ACTION_FAILED: return "failed";
    case BG_ACTION_DELAYED: return "delayed";
    case BG_ACTION_DELIVERED: return "delivered";
    case BG_ACTION_RELAYED: return "relayed";
    case BG_ACTION_EXPANDED: return "expanded";
    case BG_ACTION_UNKNOWN: break;
    }
    return "unknown";
}

