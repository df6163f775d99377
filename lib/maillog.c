/* maillog.c - parse one Postfix or Sendmail delivery log line (maillog.h).
 *
 * Every scan is bounded by the end pointer of the line; nothing assumes a
 * terminating NUL, and a NUL inside the line is just another byte (which
 * makes an address unusable and becomes '?' in the diagnostic text).
 */
#include "maillog.h"

#include <string.h>

#define HEADER_WORDS 8    /* the program tag is among the first words */

/* ------------------------------------------------------------ helpers */

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_alnum(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }
static char up(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }
static char low(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* s[0..n) starts with the NUL-terminated lit. */
static int starts(const char *s, const char *e, const char *lit)
{
    size_t l = strlen(lit);
    return (size_t)(e - s) >= l && memcmp(s, lit, l) == 0;
}

static int starts_ci(const char *s, const char *e, const char *lit)
{
    size_t l = strlen(lit);
    if ((size_t)(e - s) < l)
        return 0;
    for (size_t i = 0; i < l; i++)
        if (low(s[i]) != low(lit[i]))
            return 0;
    return 1;
}

/* Copy [s,e) into dst (size dstsz) verbatim; returns -1 when it does not
 * fit or holds a control byte (NUL included). */
static int copy_clean(char *dst, size_t dstsz, const char *s, const char *e)
{
    size_t n = (size_t)(e - s);
    if (n >= dstsz)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (is_ctl((unsigned char)s[i]))
            return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

/* Copy with truncation, control bytes as '?'. Returns 1 when truncated. */
static int copy_text(char *dst, size_t dstsz, const char *s, const char *e)
{
    size_t n = (size_t)(e - s), i;
    int trunc = 0;
    if (n >= dstsz) {
        n = dstsz - 1;
        trunc = 1;
    }
    for (i = 0; i < n; i++)
        dst[i] = is_ctl((unsigned char)s[i]) ? '?' : s[i];
    dst[i] = '\0';
    return trunc;
}

static const char *find(const char *s, const char *e, const char *lit)
{
    size_t l = strlen(lit);
    if (l == 0)
        return s;
    for (; (size_t)(e - s) >= l; s++) {
        s = memchr(s, lit[0], (size_t)(e - s) - l + 1);
        if (s == NULL)
            return NULL;
        if (memcmp(s, lit, l) == 0)
            return s;
    }
    return NULL;
}

static const char *skip_blanks(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static const char *word_end(const char *p, const char *e)
{
    while (p < e && *p != ' ' && *p != '\t')
        p++;
    return p;
}

/* "X.Y.Z": class 2/4/5, 1-3 digits each. Returns its length or 0. */
static size_t status_len(const char *p, const char *e)
{
    const char *q = p;
    if (q >= e || (*q != '2' && *q != '4' && *q != '5'))
        return 0;
    q++;
    for (int part = 0; part < 2; part++) {
        if (q >= e || *q != '.')
            return 0;
        q++;
        int n = 0;
        while (q < e && is_digit((unsigned char)*q) && n < 4) {
            q++;
            n++;
        }
        if (n == 0 || n > 3)
            return 0;
    }
    if (q < e && (is_digit((unsigned char)*q) || *q == '.'))
        return 0;
    return (size_t)(q - p);
}

/* "550" followed by a blank, '-' or the end. */
static int reply_code_at(const char *p, const char *e)
{
    if (e - p < 3 || (p[0] < '2' || p[0] > '5') || !is_digit((unsigned char)p[1]) ||
        !is_digit((unsigned char)p[2]))
        return 0;
    return e - p == 3 || p[3] == ' ' || p[3] == '-' || p[3] == '\t';
}

/* ------------------------------------------------------------ header */

static const char *const postfix_agents[] = {
    "smtp", "lmtp", "local", "virtual", "error", "retry", "pipe", "discard", "qmgr", NULL
};
static const char *const sendmail_names[] = { "sm-mta", "sendmail", "sm-msp-queue", NULL };

static int tag_char(unsigned char c)
{
    return is_alnum(c) || c == '/' || c == '-' || c == '_' || c == '.';
}

/* Classify a program name: the MTA, or NONE. */
static enum bg_log_mta program_mta(const char *s, const char *e)
{
    size_t n = (size_t)(e - s);
    for (int i = 0; sendmail_names[i]; i++)
        if (n == strlen(sendmail_names[i]) && memcmp(s, sendmail_names[i], n) == 0)
            return BG_LOG_MTA_SENDMAIL;
    if (!starts(s, e, "postfix"))
        return BG_LOG_MTA_NONE;
    const char *slash = NULL;
    for (const char *q = s; q < e; q++)
        if (*q == '/')
            slash = q;
    if (slash == NULL)
        return BG_LOG_MTA_NONE;
    const char *a = slash + 1;
    size_t an = (size_t)(e - a);
    for (int i = 0; postfix_agents[i]; i++)
        if (an == strlen(postfix_agents[i]) && memcmp(a, postfix_agents[i], an) == 0)
            return BG_LOG_MTA_POSTFIX;
    return BG_LOG_MTA_NONE;
}

/* Find the program tag; set *msg to the start of the message and fill
 * program/mta. Returns 0 or -1. */
static int parse_header(const char *p, const char *e, struct bg_logline *out,
                        const char **msg)
{
    for (int w = 0; w < HEADER_WORDS && p < e; w++) {
        p = skip_blanks(p, e);
        const char *we = word_end(p, e);
        const char *t = p;
        while (t < we && tag_char((unsigned char)*t))
            t++;
        if (t > p && (size_t)(t - p) < sizeof out->program) {
            enum bg_log_mta m = program_mta(p, t);
            const char *after = NULL;
            if (m != BG_LOG_MTA_NONE) {
                const char *q = t;
                if (q < we && *q == '[') {                /* name[pid]: */
                    q++;
                    const char *d = q;
                    while (q < we && is_digit((unsigned char)*q))
                        q++;
                    if (q > d && q < we && *q == ']')
                        q++;
                    else
                        q = NULL;
                }
                if (q != NULL && q + 1 == we && *q == ':') {
                    after = we;
                } else if (q == we && t == we) {
                    /* RFC 5424: APP-NAME PROCID MSGID SD MSG */
                    const char *r = we;
                    for (int k = 0; k < 2 && r != NULL; k++) {
                        r = skip_blanks(r, e);
                        const char *re = word_end(r, e);
                        r = re > r ? re : NULL;
                    }
                    if (r != NULL) {
                        r = skip_blanks(r, e);
                        if (r < e && *r == '-') {
                            r++;
                        } else {
                            /* one or more [id param="v"...] elements */
                            int any = 0;
                            while (r < e && *r == '[') {
                                int inq = 0;
                                r++;
                                while (r < e) {
                                    if (*r == '\\' && inq && r + 1 < e)
                                        r += 2;
                                    else if (*r == '"') {
                                        inq = !inq;
                                        r++;
                                    }
                                    else if (*r == ']' && !inq)
                                        break;
                                    else
                                        r++;
                                }
                                if (r >= e)
                                    return -1;
                                r++;
                                any = 1;
                            }
                            if (!any)
                                r = NULL;
                        }
                        if (r != NULL && (r == e || *r == ' '))
                            after = r;
                    }
                }
            }
            if (after != NULL) {
                memcpy(out->program, p, (size_t)(t - p));
                out->program[t - p] = '\0';
                out->mta = m;
                after = skip_blanks(after, e);
                /* A UTF-8 BOM may open an RFC 5424 MSG. */
                if (starts(after, e, "\xEF\xBB\xBF"))
                    after += 3;
                *msg = after;
                return 0;
            }
        }
        p = we;
    }
    return -1;
}

/* ------------------------------------------------------------ fields */

/* A bracketed address at p ('<'): quote-aware scan to the closing '>'.
 * Returns the position after '>' and sets [*as,*ae) to the content, or
 * NULL when there is no closing bracket. */
static const char *bracketed(const char *p, const char *e, const char **as, const char **ae)
{
    const char *q = p + 1;
    int inq = 0;
    /* The quote-aware scan looks no further than the longest address that
     * is kept: without that bound, a run of "<\"x>," elements would each
     * scan to the end of the line (quadratic time). */
    const char *lim = (size_t)(e - q) > BG_LOG_ADDR_MAX + 2 ? q + BG_LOG_ADDR_MAX + 2 : e;
    while (q < lim) {
        if (inq && *q == '\\' && q + 1 < e) {
            q += 2;
            continue;
        }
        if (*q == '"')
            inq = !inq;
        else if (*q == '>' && !inq)
            break;
        q++;
    }
    if (q >= lim) {
        /* Unbalanced quote or an address too long to keep: fall back to
         * the first '>' followed by ',' or the end. The next scan starts
         * where this one ended, so these scans add up to one pass. */
        q = p + 1;
        while (q < e && !(*q == '>' && (q + 1 == e || q[1] == ',')))
            q++;
        if (q >= e)
            return NULL;
    }
    *as = p + 1;
    *ae = q;
    return q + 1;
}

/* Keep one recipient when it fits and is clean; always count it. */
static void add_rcpt(struct bg_logline *out, const char *s, const char *e)
{
    out->rcpt_seen++;
    if (out->nrcpt >= BG_LOG_RCPT_MAX || s == e)
        return;
    if (copy_clean(out->rcpt[out->nrcpt], sizeof out->rcpt[0], s, e) == 0)
        out->nrcpt++;
}

/* The end of a plain field value: the next ", " or the line end. */
static const char *value_end(const char *p, const char *e)
{
    const char *c = find(p, e, ", ");
    return c ? c : e;
}

/* Postfix "to=<addr>": one address. Sendmail "to=<a>,<b>,c": a list.
 * Returns the position after the value, or NULL when malformed. */
static const char *parse_to(const char *p, const char *e, struct bg_logline *out, int list)
{
    for (;;) {
        const char *as, *ae, *q;
        if (p < e && *p == '<') {
            q = bracketed(p, e, &as, &ae);
            if (q == NULL)
                return NULL;
        } else {
            /* bare address up to ',' outside quotes */
            int inq = 0;
            q = p;
            while (q < e && (inq || (*q != ',' && *q != ' '))) {
                if (inq && *q == '\\' && q + 1 < e)
                    q++;
                else if (*q == '"')
                    inq = !inq;
                q++;
            }
            if (inq)
                return NULL;
            as = p;
            ae = q;
        }
        add_rcpt(out, as, ae);
        p = q;
        /* Another list element: ',' not followed by a blank. */
        if (list && p < e && *p == ',' && p + 1 < e && p[1] != ' ' && p[1] != '\t') {
            p++;
            continue;
        }
        return p;
    }
}

/* Host name of a relay value: "mx.x[1.2.3.4]:25" or "mx.x. [1.2.3.4]". */
static void set_relay(struct bg_logline *out, const char *s, const char *e)
{
    const char *q = s;
    while (q < e && *q != '[' && *q != ' ' && *q != ':')
        q++;
    if (q > s && q[-1] == '.')
        q--;
    if ((q - s == 4 && memcmp(s, "none", 4) == 0) || q == s)
        return;
    copy_text(out->relay, sizeof out->relay, s, q);
}

static void set_dsn(struct bg_logline *out, const char *s, const char *e)
{
    size_t n = status_len(s, e);
    if (n > 0 && s + n == e && n < sizeof out->dsn) {
        memcpy(out->dsn, s, n);
        out->dsn[n] = '\0';
    }
}

/* ------------------------------------------------------------ text */

/* "RCPT TO" -> RCPT, "end of DATA" -> DATA, "BDAT" -> DATA. */
static void set_command(struct bg_logline *out, const char *s, const char *e)
{
    s = skip_blanks(s, e);
    if (starts_ci(s, e, "end of "))
        s += 7;
    const char *we = s;
    while (we < e && is_alnum((unsigned char)*we))
        we++;
    if (we == s || (size_t)(we - s) >= sizeof out->command)
        return;
    size_t n = (size_t)(we - s);
    for (size_t i = 0; i < n; i++)
        out->command[i] = up(s[i]);
    out->command[n] = '\0';
    if (strcmp(out->command, "BDAT") == 0)
        memcpy(out->command, "DATA", 5);
    else if (strcmp(out->command, "LHLO") == 0)
        memcpy(out->command, "EHLO", 5);
}

/* Reply code and enhanced status at the start of the diagnostic text. */
static void codes_from_text(struct bg_logline *out, const char *s, const char *e)
{
    if (!reply_code_at(s, e))
        return;
    if (!out->reply_code[0]) {
        memcpy(out->reply_code, s, 3);
        out->reply_code[3] = '\0';
    }
    const char *q = s + 3;
    if (q < e && (*q == ' ' || *q == '-'))
        q++;
    size_t n = status_len(q, e);
    if (n > 0 && !out->dsn[0] && n < sizeof out->dsn && (q + n == e || q[n] == ' ')) {
        memcpy(out->dsn, q, n);
        out->dsn[n] = '\0';
    }
}

/* Postfix's explanation "(...)" text: strip the wrappers Postfix adds,
 * take the command and the codes, keep the rest as diag. */
static void postfix_text(struct bg_logline *out, const char *s, const char *e)
{
    static const char *const pre[] = { "delivery temporarily suspended: ", NULL };
    for (int i = 0; pre[i]; i++)
        if (starts(s, e, pre[i]))
            s += strlen(pre[i]);
    if (starts(s, e, "host ")) {
        const char *h = s + 5;
        const char *he = word_end(h, e);
        if (he > h) {
            if (starts(he, e, " said: ")) {
                s = he + 7;
            } else if (starts(he, e, " refused to talk to me: ")) {
                s = he + 24;
                static const char conn[] = "CONNECT";
                set_command(out, conn, conn + sizeof conn - 1);
            }
        }
    }
    /* "... (in reply to RCPT TO command)" at the end. */
    static const char tail[] = " command)";
    size_t tl = sizeof tail - 1;
    if ((size_t)(e - s) > tl && memcmp(e - tl, tail, tl) == 0) {
        const char *last = NULL, *q = s;
        while ((q = find(q, e - tl, " (in reply to ")) != NULL) {
            last = q;
            q++;
        }
        if (last == NULL && starts(s, e, "(in reply to "))
            last = s - 1;   /* text is only the suffix */
        if (last != NULL) {
            set_command(out, last + 14, e - tl);
            e = last >= s ? last : s;
        }
    }
    if (!out->command[0]) {
        /* "lost connection with X while sending RCPT TO",
         * "conversation with X timed out while sending end of data". */
        const char *w = find(s, e, " while sending ");
        if (w != NULL)
            set_command(out, w + 15, e);
    }
    codes_from_text(out, s, e);
    out->diag_truncated = copy_text(out->diag, sizeof out->diag, s, e);
}

/* Postfix: "status=WORD" then " (TEXT)" or ", returned to sender". */
static int postfix_status(struct bg_logline *out, const char *p, const char *e)
{
    const char *we = p;
    while (we < e && *we != ' ' && *we != ',' && *we != '(')
        we++;
    size_t n = (size_t)(we - p);
    if (n == 4 && memcmp(p, "sent", 4) == 0)
        out->status = BG_LOG_SENT;
    else if (n == 8 && memcmp(p, "deferred", 8) == 0)
        out->status = BG_LOG_DEFERRED;
    else if (n == 7 && memcmp(p, "bounced", 7) == 0)
        out->status = BG_LOG_BOUNCED;
    else if (n == 7 && memcmp(p, "expired", 7) == 0)
        out->status = BG_LOG_EXPIRED;
    else
        return -1;
    p = skip_blanks(we, e);
    if (p < e && *p == '(') {
        /* The text runs to the last ')' of the line; an unterminated one
         * (a truncated line) runs to the end. */
        const char *te = e;
        while (te > p + 1 && (te[-1] == ' ' || te[-1] == '\r' || te[-1] == '\n'))
            te--;
        if (te > p + 1 && te[-1] == ')')
            te--;
        postfix_text(out, p + 1, te);
    }
    return 0;
}

/* Sendmail: "stat=TEXT" to the end of the line (", reply=..." split off). */
static int sendmail_status(struct bg_logline *out, const char *p, const char *e)
{
    while (e > p && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\n'))
        e--;
    /* ", reply=TEXT" after stat=: the remote server's own reply, the
     * better diagnostic. */
    const char *r = find(p, e, ", reply=");
    const char *rv = NULL;
    if (r != NULL) {
        rv = r + 8;
        codes_from_text(out, rv, e);
    }
    const char *re = e;
    if (r != NULL)
        e = r;
    /* "stat=queued": Sendmail put the message in its queue without trying
     * the recipient (queue-only delivery mode, a load limit, a local map
     * or configuration error; it adds dsn=4.4.3). No server was asked:
     * not an outcome for the recipient. */
    if (starts(p, e, "queued") && p + 6 == e)
        return -1;
    const char *t = p;
    if (starts(p, e, "Sent")) {
        out->status = BG_LOG_SENT;
        t = skip_blanks(p + 4, e);
        if (t < e && *t == '(') {
            t++;
            if (e > t && e[-1] == ')')
                e--;
        }
    } else if (starts(p, e, "Deferred")) {
        out->status = BG_LOG_DEFERRED;
        t = p + 8;
        if (t < e && *t == ':')
            t++;
        t = skip_blanks(t, e);
    }
    codes_from_text(out, t, e);
    if (out->status == BG_LOG_STATUS_NONE) {
        char c = out->dsn[0] ? out->dsn[0] : out->reply_code[0];
        if (c == '5')
            out->status = BG_LOG_BOUNCED;
        else if (c == '4')
            out->status = BG_LOG_DEFERRED;
        else
            return -1;
    }
    if (rv != NULL && rv < re)
        out->diag_truncated = copy_text(out->diag, sizeof out->diag, rv, re);
    else
        out->diag_truncated = copy_text(out->diag, sizeof out->diag, t, e);
    return 0;
}

/* ------------------------------------------------------------ line */

int bg_maillog_parse(const char *line, size_t len, struct bg_logline *out)
{
    memset(out, 0, sizeof *out);
    if (line == NULL)
        return 0;
    const char *e = line + len;
    /* A trailing newline is not part of the line. */
    while (e > line && (e[-1] == '\n' || e[-1] == '\r'))
        e--;
    const char *p;
    if (parse_header(line, e, out, &p) < 0)
        goto no;
    int postfix = out->mta == BG_LOG_MTA_POSTFIX;
    int qmgr = postfix && strlen(out->program) >= 5 &&
               strcmp(out->program + strlen(out->program) - 5, "/qmgr") == 0;

    /* Queue id: alphanumeric, then ": ". */
    const char *q = p;
    while (q < e && is_alnum((unsigned char)*q))
        q++;
    if (q - p < 5 || (size_t)(q - p) >= sizeof out->queue_id || !starts(q, e, ": "))
        goto no;
    memcpy(out->queue_id, p, (size_t)(q - p));
    out->queue_id[q - p] = '\0';
    p = q + 2;

    int have_to = 0, have_status = 0;
    const char *reply = NULL, *reply_end = NULL;
    while (p < e) {
        const char *k = p;
        while (p < e && ((*p >= 'a' && *p <= 'z') || *p == '_'))
            p++;
        if (p == k || p >= e || *p != '=')
            break;
        size_t kl = (size_t)(p - k);
        p++;
#define KEY(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, kl) == 0)
        if (postfix && KEY("status")) {
            if (postfix_status(out, p, e) < 0)
                goto no;
            have_status = 1;
            break;
        }
        if (!postfix && KEY("stat")) {
            if (sendmail_status(out, p, e) < 0)
                goto no;
            have_status = 1;
            break;
        }
        const char *ve;
        if (KEY("to") && !have_to && !qmgr) {
            ve = parse_to(p, e, out, !postfix);
            if (ve == NULL)
                goto no;
            have_to = 1;
        } else if (p < e && *p == '<') {
            /* orig_to=, from=, ctladdr=: an address, maybe with more after
             * it (ctladdr=<u@h> (1000/1000)). */
            const char *as, *ae;
            ve = bracketed(p, e, &as, &ae);
            if (ve == NULL)
                goto no;
            if (KEY("orig_to") && postfix)
                copy_clean(out->orig_to, sizeof out->orig_to, as, ae);
            ve = value_end(ve, e);
        } else if (KEY("reply") && !postfix) {
            /* Sendmail 8.15+: "reply=TEXT, stat=TEXT". The remote server's
             * own reply, the better evidence than stat=, may hold ", ": it
             * runs to ", stat=". */
            ve = find(p, e, ", stat=");
            if (ve == NULL)
                ve = value_end(p, e);
            codes_from_text(out, p, ve);
            reply = p;
            reply_end = ve;
        } else {
            ve = value_end(p, e);
            if (KEY("relay"))
                set_relay(out, p, ve);
            else if (KEY("dsn"))
                set_dsn(out, p, ve);
        }
#undef KEY
        p = ve;
        if (p < e) {
            if (!starts(p, e, ", "))
                break;
            p += 2;
        }
    }
    if (!have_status)
        goto no;
    if (reply != NULL && reply < reply_end)
        out->diag_truncated = copy_text(out->diag, sizeof out->diag, reply, reply_end);
    if (qmgr) {
        if (out->status != BG_LOG_EXPIRED)
            goto no;
    } else if (!have_to || out->status == BG_LOG_EXPIRED) {
        goto no;
    }
    return 1;
no:
    memset(out, 0, sizeof *out);
    return 0;
}

int bg_maillog_sender(const char *line, size_t len, char *qid, size_t qidsz, char *from,
                      size_t fromsz)
{
    struct bg_logline hdr;
    memset(&hdr, 0, sizeof hdr);
    if (qidsz > 0)
        qid[0] = '\0';
    if (fromsz > 0)
        from[0] = '\0';
    if (line == NULL || qidsz == 0 || fromsz == 0)
        return 0;
    const char *e = line + len;
    while (e > line && (e[-1] == '\n' || e[-1] == '\r'))
        e--;
    const char *p;
    if (parse_header(line, e, &hdr, &p) < 0)
        return 0;
    size_t pl = strlen(hdr.program);
    if (hdr.mta == BG_LOG_MTA_POSTFIX && !(pl >= 5 && strcmp(hdr.program + pl - 5, "/qmgr") == 0))
        return 0;                       /* Postfix: the queue manager's line */
    const char *q = p;
    while (q < e && is_alnum((unsigned char)*q))
        q++;
    if (q - p < 5 || (size_t)(q - p) >= qidsz || !starts(q, e, ": from=<"))
        return 0;
    const char *as, *ae;
    const char *after = bracketed(q + 7, e, &as, &ae);
    if (after == NULL || (after < e && *after != ','))
        return 0;
    if (ae == as || copy_clean(from, fromsz, as, ae) < 0)
        return 0;                       /* the null sender, or not clean */
    memcpy(qid, p, (size_t)(q - p));
    qid[q - p] = '\0';
    return 1;
}

const char *bg_log_status_name(enum bg_log_status s)
{
    switch (s) {
    case BG_LOG_STATUS_NONE: return "none";
    case BG_LOG_SENT: return "sent";
    case BG_LOG_DEFERRED: return "deferred";
    case BG_LOG_BOUNCED: return "bounced";
    case BG_LOG_EXPIRED: return "expired";
    }
    return "none";
}

const char *bg_log_mta_name(enum bg_log_mta m)
{
    switch (m) {
    case BG_LOG_MTA_NONE: return "none";
    case BG_LOG_MTA_POSTFIX: return "postfix";
    case BG_LOG_MTA_SENDMAIL: return "sendmail";
    }
    return "none";
}
