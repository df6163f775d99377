/* dsn_text.c - the human-readable text of a bounce: the text parts
 * decoded into one buffer (HTML reduced to text), where the returned
 * original starts in it (cut marks), and how an address in it reads - a
 * failed recipient by the words before it, or a sender never suppressed.
 */
#include "dsn_int.h"

#include <string.h>
#include <strings.h>

/* Offset of the first '<' or '&' in s[i, n), or n. */
static size_t next_markup(const char *s, size_t i, size_t n)
{
    while (i < n && s[i] != '<' && s[i] != '&')
        i++;
    return i;
}

/* Does the tag whose name starts at t ("<br>", "</p>", "<div ...>", ...)
 * end a line? t[0] and t[1] are inside the tag, and its '>' ends the
 * compare of a longer name. The first byte picks the names to compare
 * (every tag was compared with all eight). */
static int tag_breaks_line(const char *t)
{
    switch (lc((unsigned char)t[0])) {
    case 'b': return ci_prefix(t, "br");
    case '/': return ci_prefix(t, "/p") || ci_prefix(t, "/div") || ci_prefix(t, "/tr");
    case 'p': return ci_prefix(t, "p>") || ci_prefix(t, "p ");
    case 'd': return ci_prefix(t, "div");
    case 't': return ci_prefix(t, "tr");
    default: return 0;
    }
}

static size_t html_to_text(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        /* plain text up to the next tag or entity: moved down at once */
        size_t run = next_markup(s, i, n) - i;
        if (run) {
            if (o != i)
                memmove(s + o, s + i, run);
            o += run;
            i += run;
            if (i >= n)
                break;
        }
        if (s[i] == '<') {
            /* the tag's end: the first '>' within 512 bytes */
            size_t lim = n - i > 512 ? i + 512 : n;
            const char *gt = i + 1 < lim ? memchr(s + i + 1, '>', lim - i - 1) : NULL;
            size_t j = gt ? (size_t)(gt - s) : lim;
            if (j < n && s[j] == '>') {
                s[o++] = j - i >= 3 && tag_breaks_line(s + i + 1) ? '\n' : ' ';
                i = j;
                continue;
            }
        }
        if (s[i] == '&') {
#define E(e, ch) { e, sizeof e - 1, ch }
            static const struct { const char *e; size_t el; char ch; } ent[] = {
                E("&lt;", '<'), E("&gt;", '>'), E("&amp;", '&'),
                E("&nbsp;", ' '), E("&quot;", '"'), E("&#39;", '\'') };
#undef E
            int done = 0;
            /* (the byte after '&' picks the one entity it can be) */
            for (size_t k = 0; k < sizeof ent / sizeof ent[0]; k++) {
                size_t el = ent[k].el;
                if (i + el <= n && lc((unsigned char)s[i + 1]) == ent[k].e[1] &&
                    ci_prefix(s + i, ent[k].e)) {
                    s[o++] = ent[k].ch;
                    i += el - 1;
                    done = 1;
                    break;
                }
            }
            if (done)
                continue;
        }
        s[o++] = s[i];
    }
    return o;
}

/* Decode all text/plain parts (or, lacking them, text/html) outside the
 * returned original into c->text. */
void build_text(struct ctx *c)
{
    size_t o = 0;
    size_t cap = c->len;
    int want_html = 0;
    for (int pass = 0; pass < 2 && o == 0; pass++) {
        want_html = pass == 1;
        for (size_t i = 0; i < c->nparts; i++) {
            const struct bg_mime_part *pt = &c->parts[i];
            if (pt->multipart)
                continue;
            if (c->kind[i] != (want_html ? PK_HTML : PK_PLAIN))
                continue;
            /* the top-level entity with no MIME: the whole body */
            size_t room = cap - o;
            if (room < 2)
                break;
            size_t w = bg_mime_decode(pt->enc, pt->body, pt->body_len, c->text + o, room - 1);
            if (want_html)
                w = html_to_text(c->text + o, w);
            o += w;
            c->text[o++] = '\n';
        }
    }
    for (char *z = memchr(c->text, 0, o); z; z = memchr(z + 1, 0, o - (size_t)(z + 1 - c->text)))
        *z = ' ';
    c->text[o] = 0;
    c->text_len = o;
}

const char *const cut_marks[] = {
    "--- Below this line is a copy of the message",
    "------ This is a copy of the message",
    "----- Original message -----",
    "------- Returned mail follows",
    "----- Unsent message follows -----",
    "-----Original Message-----",
    "Original message headers:",
    "Original message follows",
    "The original message follows",
    "Below is a copy of the original message",
    "Original Message Headers",
    "------ Original message ------",
    "The headers of your message",
    "----- The header of the original message",
    "--- The header of the original message",
    "------ Failed message follows",
    "Content-Type: message/rfc822",
    "------- Header of the message follows",
    "------- Returned Message --------",
    NULL };
MSCAN_STATIC(cut_marks, cut_marks)
/* Where the returned original starts inside the human text (the first
 * cut mark), if that is before lim; else lim (at most text_len). A DSN's
 * text seldom has a mark, and its readers only ask about the text up to
 * a recipient's mention: searching the positions before lim, and only
 * those not searched before, spares a pass over the rest. A mark that
 * starts before lim ends before lim + maxlen - 1: that window finds every
 * one, in the order of the whole text's search. */
size_t cut_before(struct ctx *c, size_t lim)
{
    if (lim > c->text_len)
        lim = c->text_len;
    if (c->cut_done)
        return c->cut < lim ? c->cut : lim;
    if (lim <= c->cut_from)
        return lim;
    const struct mscan *ms = cut_marks_scanner();
    size_t w = c->text_len - lim > ms->maxlen ? lim + ms->maxlen - 1 : c->text_len, at;
    if (mscan_next(ms, c->text, w, c->cut_from, ~0ULL, &at) >= 0 && at < lim) {
        c->cut_done = 1;
        c->cut = at;
        return at;
    }
    c->cut_from = lim;
    if (lim == c->text_len) {
        c->cut_done = 1;
        c->cut = lim;
    }
    return lim;
}

int line_is_header_of_original(const char *l, size_t n)
{
    static const struct { const char *s; size_t n; } hdrs[] = {
#define H(x) { x, sizeof x - 1 }
        H("from:"), H("return-path:"), H("sender:"), H("reply-to:"), H("message-id:"),
        H("in-reply-to:"), H("references:"), H("received:"), H("envelope-from"),
        H("reporting-mta:"), H("x-"), H("dkim-"), H("cc:"), H("date:"), H("mail from:"),
        H("list-"), H("errors-to:"), H("resent-"),
#undef H
    };
    while (n > 0 && (*l == ' ' || *l == '\t' || *l == '>')) {
        l++;
        n--;
    }
    /* every name starts with a letter: most lines are out at once */
    if (n == 0 || !strchr("fFrRsSmMiIeExXdDcClL", *l))
        return 0;
    for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++)
        if (n >= hdrs[i].n && lc((unsigned char)*l) == hdrs[i].s[0] && ci_prefix(l, hdrs[i].s))
            return 1;
    return 0;
}

int excluded_addr(struct ctx *c, const char *a)
{
    if (c->from[0]) {
        /* the bounce's From: address, read once per message (was once
         * per address looked at) */
        if (!c->from_addr_done) {
            value_addr(c->from, c->from_addr, sizeof c->from_addr);
            c->from_addr_done = 1;
        }
        if (ci_eq(c->from_addr, a))
            return 1;
    }
    if (c->out->orig_from[0] && ci_eq(c->out->orig_from, a))
        return 1;
    for (int i = 0; i < c->nsenders; i++)
        if (ci_eq(c->senders[i], a))
            return 1;
    if (ci_prefix(a, "mailer-daemon@"))
        return 1;
    return 0;
}

/* Senders: "MAIL FROM:<x>" before the cut, and From:/Return-path: of an
 * original quoted inline after it. Never failed recipients. */
void collect_senders(struct ctx *c, const char *t, size_t n, size_t cut)
{
    static const struct { const char *k; int after_cut; } keys[] = {
        { "MAIL FROM:", 0 }, { "\nFrom:", 1 }, { "\nReturn-path:", 1 } };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && c->nsenders < 4; i++) {
        size_t from = keys[i].after_cut ? cut : 0;
        size_t to = keys[i].after_cut ? (n - cut > 65536 ? cut + 65536 : n) : cut;
        if (to <= from)
            continue;
        const char *h = ci_find(t + from, to - from, keys[i].k);
        if (!h)
            continue;
        const char *v = h + strlen(keys[i].k);
        const char *nl = memchr(v, '\n', n - (size_t)(v - t));
        size_t vl = nl ? (size_t)(nl - v) : n - (size_t)(v - t);
        char val[400], a[320];
        scopy(val, sizeof val, v, vl);
        value_addr(val, a, sizeof a);
        if (strchr(a, '@'))
            scpy(c->senders[c->nsenders++], sizeof c->senders[0], a);
    }
}

/* Does the address at line[b,e) look like a failed recipient? The words
 * looked for before it: the key words of a recipient (the first
 * RC_NKEYS), then those of the SMTP dialogue and of a sender - all in
 * one scanner, so one pass over the 60 bytes before the address says
 * where each occurs last (was a search per word). */
static const char *const rcpt_ctx_words[] = {
    "recipient", "address", "delivered to", "deliver to", "message to",
    "mailbox", "user ", "failed:", "to: ", "to <", "sent to", "for <",
    "destinataire", "for ", "account", "to '", "to \"", "userid", "user:",
    "attempts:", "undeliverable to",
    "rcpt to", "original-recipient", "mail from", "from:", "sender",
    /* a help text's address: "For further assistance, please contact
     * <support@isp>", "questions to postmaster@...", and a 551's forward
     * path ("User not local; please try <new@isp>"): never a failed one */
    "contact", "assistance", "questions", "inquiries", "help desk", "helpdesk",
    "administrator", "please try", NULL };
MSCAN_STATIC(rcpt_ctx_words, rcpt_ctx_words)
enum { RC_NKEYS = 21, RC_RCPT_TO = RC_NKEYS, RC_ORIG_RCPT, RC_MAIL_FROM, RC_FROM, RC_SENDER,
       RC_HELP, RC_NWORDS = RC_HELP + 8 };

int rcpt_context(const char *line, size_t ln, size_t b, size_t e)
{
    size_t s = 0;
    while (s < b && (line[s] == ' ' || line[s] == '\t' || line[s] == '*' ||
                      line[s] == '-' || line[s] == '#' || line[s] == '>' ||
                      line[s] == '"' || line[s] == '\'' || line[s] == '<' ||
                      line[s] == '(' || line[s] == '['))
        s++;
    /* where each word starts last in line[from, b) (+1; 0: nowhere): every
     * word found there ends before b, so one that starts at or after x
     * is one that a search of line[x, b) finds */
    const struct mscan *ms = rcpt_ctx_words_scanner();
    const unsigned char *h = (const unsigned char *)line;
    size_t from = b > 60 ? b - 60 : 0, pos = from, at;
    size_t last[RC_NWORDS] = { 0 };
    int any_key = 0;
    while (mscan_next(ms, line, b, pos, ~0ULL, &at) >= 0) {
        /* every word at this byte ("for <" and "for "), not only the first */
        unsigned long long m = ~0ULL;
        int k;
        while ((k = mscan_at(ms, h, b, at, m)) >= 0) {
            m &= ~(1ULL << k);
            last[k] = at + 1;
            any_key |= k < RC_NKEYS;
        }
        pos = at + 1;
    }
#define IN_LAST(k, x) (last[k] > (x)) /* starts at or after x */
    size_t lb = b > 16 ? b - 16 : 0;
    /* "RCPT TO:<addr>" */
    if (IN_LAST(RC_RCPT_TO, lb))
        return 1;
    /* "Original-Recipient: rfc822; x@y" quoted in a text part: the
     * address before aliasing, its Final-Recipient is the one that failed */
    if (IN_LAST(RC_ORIG_RCPT, b > 40 ? b - 40 : 0))
        return 0;
    /* "MAIL FROM:<addr>": the sender, never a recipient */
    if (IN_LAST(RC_MAIL_FROM, lb))
        return 0;
    if (s == b)
        return 1; /* line starts with the address */
    /* "To: a@b" as a line of its own: the header of a message - in a
     * report, the returned original's summary ("Your message / To: list@
     * / Subject: ... / did not reach the following recipient(s): ...").
     * A recipient only when the report names no other (RCPT_WEAK). */
    {
        size_t k = s;
        if (b - k >= 3 && lc((unsigned char)line[k]) == 't' && lc((unsigned char)line[k + 1]) == 'o' &&
            line[k + 2] == ':')
            return RCPT_WEAK;
    }
    /* "<addr>..." as in sendmail's "... <addr>... User unknown" */
    if (b > 0 && line[b - 1] == '<' && e + 4 <= ln && line[e] == '>' &&
        line[e + 1] == '.' && line[e + 2] == '.' && line[e + 3] == '.')
        return 1;
    if (e + 3 <= ln && line[e] == '.' && line[e + 1] == '.' && line[e + 2] == '.')
        return 1;
    /* a help text's address: whatever else the line says */
    for (int k = RC_HELP; k < RC_NWORDS; k++)
        if (IN_LAST(k, from))
            return 0;
    /* a key word shortly before it, and no sender's */
    return any_key && !IN_LAST(RC_FROM, from) && !IN_LAST(RC_SENDER, from);
#undef IN_LAST
}

/* Where the text's first paragraph that starts in ASCII begins: a
 * notice in an undecoded national charset (EUC-JP, ISO-2022-JP: 8-bit
 * bytes or ESC) often precedes the same notice in English (au/EZweb,
 * Japanese MTAs). At most 8 paragraphs are skipped; 0 when none fits. */
size_t first_ascii_para(const char *t, size_t n)
{
    size_t i = 0, adv;
    int paras = 0, in_para = 0, skip = 0;
    while (i < n && paras <= 8) {
        size_t l = line_len(t + i, n - i, &adv);
        size_t k = 0;
        while (k < l && is_sp((unsigned char)t[i + k]))
            k++;
        if (k == l) {
            in_para = 0;
        } else if (!in_para) {
            unsigned char ch = (unsigned char)t[i + k];
            in_para = 1;
            paras++;
            if (ch < 0x80 && ch != 0x1b)
                return skip ? i : 0;
            skip = 1;
        }
        if (adv == 0)
            break;
        i += adv;
    }
    return 0;
}

/* Postfix names an alias' expansion as "<a@b> (expanded from <x@y>):",
 * the parenthesis often folded onto the next line: x@y is the address
 * the sender used, not a second failed recipient. Is the address at
 * t[b] preceded (across at most one line break) by "expanded from"? */
int after_expanded_from(const char *t, size_t b)
{
    size_t k = b;
    while (k > 0 && (t[k - 1] == '<' || t[k - 1] == ' ' || t[k - 1] == '\t' ||
                     t[k - 1] == '\r' || t[k - 1] == '\n') && b - k < 64)
        k--;
    static const char kw[] = "expanded from";
    size_t m = sizeof kw - 1;
    return k >= m && strncasecmp(t + k - m, kw, m) == 0;
}

/* Words of a delay notice: the MTA is still trying, the final outcome
 * (a bounce, or the delivery) will follow. And words of a final failure,
 * which win when both occur (a final bounce quotes its earlier attempts).
 * One scanner for both lists: the first DELAY_NWORDS are the delay's. */
static const char *const delay_words[] = {
    "will keep trying", "will continue trying", "will continue to try",
    "still trying", "will be retried", "will retry", "will try again",
    "delivery attempts will continue", "this is a warning message only",
    "you do not need to resend", "has been delayed", "have been delayed",
    "not yet been delivered", "not been delivered yet", "delivery is delayed",
    "warning: message", "delayed mail",
    /* final */
    "not going to try again", "giving up", "will not be retried",
    "failed permanently", "permanent failure", "permanent error",
    "could not be delivered", "couldn't be delivered", NULL };
#define DELAY_NWORDS 17
MSCAN_STATIC(delay_words, delay_words)

int text_says_delay(struct ctx *c)
{
    const struct mscan *ms = delay_words_scanner();
    size_t cut = cut_before(c, c->text_len), pos = 0, at;
    int k, delay = 0;
    /* the notice's own subject counts too, by how it starts ("Warning:
     * could not send message for past 4 hours", "Delayed Mail (still
     * being retried)", "Delivery delayed: ...") or Gmail's "(Delay)" -
     * never words of the original's subject quoted after
     * "Undeliverable: " */
    size_t sl = strlen(c->subject);
    if (ci_prefix(c->subject, "warning:") || ci_prefix(c->subject, "delayed mail") ||
        ci_prefix(c->subject, "delivery delayed") ||
        ci_find(c->subject, sl, "notification (delay)"))
        delay = 1;
    while ((k = mscan_next(ms, c->text, cut, pos, ms->all, &at)) >= 0) {
        if (k >= DELAY_NWORDS)
            return 0;
        delay = 1;
        pos = at + 1;
    }
    return delay;
}

