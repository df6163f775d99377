/* dsn_vendor.c - bounces without a delivery-status part (qmail, Exim,
 * Exchange, Gmail, Yahoo, Domino, ...): which MTA wrote it, from a table
 * of marks (data: the first in table order that occurs wins), and the
 * failed recipients found in the text before the returned original, each
 * with its details (dsn_region.c).
 */
#include "dsn_int.h"

#include <string.h>

struct fmt_mark {
    const char *fmt;
    const char *mark;
};

static const struct fmt_mark fmt_marks[] = {
    { "qmail", "This is the qmail-send program" },
    { "qmail", "qmail-send program" },
    { "exim", "This message was created automatically by mail delivery software" },
    { "exim", "SMTP error from remote mail server after" },
    { "postfix", "This is the mail system at host" },
    { "postfix", "I'm sorry to have to inform you that your message could not" },
    { "courier", "running the Courier mail server" },
    { "sendmail", "----- Transcript of session follows -----" },
    { "sendmail", "The original message was received at" },
    { "exchange", "Diagnostic information for administrators" },
    { "exchange", "Delivery has failed to these recipients or groups" },
    { "exchange", "The following recipient(s) cannot be reached" },
    { "exchange", "did not reach the following recipient" },
    { "exchange", "Remote Server returned" },
    { "googlegroups", "groups.google.com/support" },
    { "gmail", "Delivery to the following recipient" },
    { "gmail", "Technical details of permanent failure" },
    { "yahoo", "Sorry, we were unable to deliver your message to the following address" },
    { "domino", "was not delivered to:" },
    { "ses", "\"bounceType\"" },
    { "ses", "\"bouncedRecipients\"" },
    { "ses", "\"complainedRecipients\"" },
    { "ses", "\"notificationType\"" },
    { "opensmtpd", "This is the MAILER-DAEMON, please DO NOT REPLY" },
    { "messagingserver", "This report relates to a message you sent" },
    { "aol", "Your mail to the following recipients could not be delivered" },
    { "generic", "could not be delivered" },
    { "generic", "couldn't be delivered" },
    { "generic", "undeliverable" },
    { "generic", "undelivered" },
    { "generic", "delivery failed" },
    { "generic", "delivery has failed" },
    { "generic", "permanent fatal errors" },
    { "generic", "failed recipient" },
    { "generic", "unable to deliver" },
    { "generic", "not be delivered" },
    { "generic", "user unknown" },
    { "generic", "mailbox unavailable" },
    { "generic", "was not delivered" },
    { "generic", "delivery failure" },
    { "generic", "returned mail" },
    { "generic", "Invalid final delivery userid" },
    { "generic", "RCPT TO:" },
    { NULL, NULL } };

/* The marks alone, in table order, for the scanner. fmt_run[k]: the
 * first index of the run of marks up to k with k's format - once k is
 * found, those can no longer change the answer (only an earlier mark of
 * another format can). */
static const char *fmt_mark_text[64];
static unsigned char fmt_run[64];
static size_t fmt_n;     /* the format marks: [0, fmt_n); the cut marks follow */
static size_t cut_maxlen; /* of the longest cut mark */
static struct mscan fmt_ms;
static pthread_once_t fmt_once = PTHREAD_ONCE_INIT;
static void fmt_build(void)
{
    size_t nm = 0;
    for (; fmt_marks[nm].fmt && nm < 64 - N_CUT_MARKS; nm++) {
        fmt_mark_text[nm] = fmt_marks[nm].mark;
        size_t r = nm;
        while (r > 0 && strcmp(fmt_marks[r - 1].fmt, fmt_marks[nm].fmt) == 0)
            r--;
        fmt_run[nm] = (unsigned char)r;
    }
    fmt_n = nm;
    for (size_t k = 0; k < N_CUT_MARKS; k++) {
        fmt_mark_text[nm + k] = cut_marks[k];
        size_t l = strlen(cut_marks[k]);
        if (l > cut_maxlen)
            cut_maxlen = l;
    }
    mscan_init(&fmt_ms, fmt_mark_text, nm + N_CUT_MARKS);
}
static const struct mscan *fmt_scanner(void)
{
    pthread_once(&fmt_once, fmt_build);
    return &fmt_ms;
}

/* Vendor bounce: find recipients in the human text. Returns 1 if it
 * looks like a bounce. */
int parse_vendor(struct ctx *c, int force)
{
    const char *t = c->text;
    size_t n = c->text_len;
    const char *fmt = NULL;
    size_t scan = n < 65536 ? n : 65536;
    {
        /* one pass: the first mark in table order that occurs, and the
         * first cut mark (cut_before's answer for the whole text) unless
         * known - the same bytes, read once. A byte is searched again
         * after a hit there: the wanted set shrinks at every hit, so the
         * loop ends. */
        const struct mscan *ms = fmt_scanner();
        size_t nm = fmt_n, r = nm;
        unsigned long long fwant = (1ULL << nm) - 1;
        unsigned long long cwant = c->cut_done ? 0 : ms->all & ~fwant;
        size_t pos = 0, at;
        int k, found = -1;
        while ((fwant | cwant) &&
               (k = mscan_next(ms, t, scan, pos, fwant | cwant, &at)) >= 0) {
            if ((size_t)k < nm) {
                found = k;
                r = fmt_run[k]; /* only earlier formats can win */
                fwant = (1ULL << r) - 1;
            } else {
                /* no cut mark starts before at: the cut */
                c->cut_done = 1;
                c->cut = at;
                cwant = 0;
            }
            pos = at;
        }
        if (cwant) {
            /* no cut mark in [0, scan): none starts before scan -
             * (longest - 1), or before n when that is scan */
            if (scan == n) {
                c->cut_done = 1;
                c->cut = n;
            } else if (scan >= cut_maxlen && scan - cut_maxlen + 1 > c->cut_from) {
                c->cut_from = scan - cut_maxlen + 1;
            }
        }
        if (found >= 0)
            fmt = fmt_marks[found].fmt;
    }
    if (!fmt && !force && !c->xfailed[0])
        return 0;
    if (!fmt)
        fmt = "generic";
    scpy(c->out->format, sizeof c->out->format, fmt);
    c->out->kind = BG_REPORT_VENDOR;
    if (strcmp(fmt, "ses") == 0 && parse_ses_json(c, t, n))
        return 1;

    size_t cut = cut_before(c, n);
    size_t first_at[BG_DSN_MAX_RCPT];
    size_t nfound0 = c->out->nrcpt;
    size_t i = 0, adv;
    collect_senders(c, t, n, cut);
    /* X-Failed-Recipients (Exim, Google and others) is authoritative */
    if (c->xfailed[0]) {
        add_addr_list(c->out, c->xfailed);
        for (size_t k = nfound0; k < c->out->nrcpt; k++) {
            const char *h = ci_find(t, cut, c->out->r[k].rcpt);
            first_at[k] = h ? (size_t)(h - t) : cut;
        }
    }
    /* without a format we know, the bounce's own To: is its sender */
    int skip_to = strcmp(fmt, "generic") == 0;
    char to_addr[320] = "";
    char weak[320] = "";      /* a "To:" line's address (rcpt_context) */
    size_t weak_at = 0;
    if (skip_to)
        value_addr(c->to, to_addr, sizeof to_addr);
    /* Only a line with an '@' can name a recipient: go from one such line
     * to the next with one memchr for the '@' (i is a line start, and
     * [i, '@') holds none), not two calls for every line of the text. */
    while (i < cut) {
        const char *a0 = memchr(t + i, '@', cut - i);
        if (!a0)
            break;
        /* the start of its line: after the last '\n' in [i, a0) */
        size_t ls = line_start_back(t, (size_t)(a0 - t), (size_t)(a0 - t) - i);
        size_t l = line_len(t + ls, cut - ls, &adv);
        if (!line_is_header_of_original(t + ls, l)) {
            const char *line = t + ls;
            const char *at;
            size_t off = (size_t)(a0 - line); /* its first '@' */
            while (off < l && (at = memchr(line + off, '@', l - off)) != NULL) {
                size_t ai = (size_t)(at - line), b, e;
                off = ai + 1;
                if (!addr_bounds(line, l, ai, &b, &e))
                    continue;
                off = e;
                int ctx = rcpt_context(line, l, b, e);
                if (!ctx || after_expanded_from(t, ls + b))
                    continue;
                char a[320];
                scopy(a, sizeof a, line + b, e - b);
                if (excluded_addr(c, a) || (to_addr[0] && ci_eq(a, to_addr)))
                    continue;
                if (ctx == RCPT_WEAK) {
                    /* the original's To:, kept aside: used only if the
                     * report names no recipient itself */
                    if (!weak[0]) {
                        scpy(weak, sizeof weak, a);
                        weak_at = ls + e;
                    }
                    continue;
                }
                size_t before = c->out->nrcpt;
                struct bg_dsn_rcpt *r = rcpt_add(c->out, a);
                if (r && c->out->nrcpt > before)
                    first_at[c->out->nrcpt - 1] = ls + e - 0;
            }
        }
        i = ls + adv;
    }
    if (c->out->nrcpt == nfound0 && weak[0]) {
        struct bg_dsn_rcpt *w = rcpt_add(c->out, weak);
        if (w && c->out->nrcpt > nfound0) {
            first_at[c->out->nrcpt - 1] = weak_at;
            w->weak = 1;
        }
    }
    int delay = -1;   /* text_says_delay, asked once if needed */
    for (size_t k = nfound0; k < c->out->nrcpt; k++) {
        struct bg_dsn_rcpt *r = &c->out->r[k];
        size_t rb = k < BG_DSN_MAX_RCPT && first_at[k] <= cut ? first_at[k] : 0;
        size_t re = (k + 1 < c->out->nrcpt && first_at[k + 1] > rb) ? first_at[k + 1] : cut;
        if (k >= nfound0 && r->diag[0] == 0 && rb < re) {
            /* back up to the start of the address' line */
            region_details(r, t, rb, re, 0);
        }
        if (k == nfound0 && c->out->nrcpt == nfound0 + 1 && !c->xfailed[0] &&
            first_at[k] <= cut && !diag_has_code(r->diag))
            preamble_details(r, t, first_at[k]);
        if (!r->diag[0] && strcmp(fmt, "googlegroups") == 0) {
            /* Google Groups sends one templated notice in the sender's
             * language: the group may not exist or the sender may not
             * post. Hand the classifier the notice's meaning, not its
             * greeting. */
            scpy(r->diag, sizeof r->diag,
                 "Google Groups: the group may not exist, or you may not have "
                 "permission to post messages to the group");
        }
        if (!r->diag[0] && c->xfailed[0] && first_at[k] >= cut) {
            /* Exim named the failure by what it delivered to - a file,
             * a pipe, an alias ("save to ...\n generated by ...\n
             * mailbox is full") - not by the address in
             * X-Failed-Recipients: the block under its heading */
            const char *h = ci_find(t, cut, "failed:");
            const char *nl = h ? memchr(h, '\n', cut - (size_t)(h - t)) : NULL;
            if (nl && ci_find(t, (size_t)(h - t) + 7, "following address"))
                region_details(r, t, (size_t)(nl - t) + 1, cut, 0);
        }
        if (!r->diag[0]) /* e.g. X-Failed-Recipients only */
            region_details(r, t, first_ascii_para(t, cut), cut, 0);
        /* Without a DSN part the words say whether the MTA gave up or is
         * still trying, not the status: a final bounce carries the last
         * temporary error's 4.x.x ("450 4.2.2 ... I'm not going to try
         * again"). */
        enum bg_dsn_action said = r->action;
        fill_codes(r);
        if (said == BG_ACTION_UNKNOWN) {
            /* a permanent code is a failure, whatever else the text says
             * ("550 5.1.1 ...; the server will retry other recipients") */
            int perm = r->status[0] == '5' || r->reply_code[0] == '5';
            if (!perm && delay < 0)
                delay = text_says_delay(c);
            r->action = !perm && delay > 0 ? BG_ACTION_DELAYED : BG_ACTION_FAILED;
        }
    }
    return 1;
}
