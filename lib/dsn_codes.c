/* dsn_codes.c - the small facts of a bounce: addresses in field values
 * and text, enhanced status codes ("5.1.1"), SMTP reply codes ("550"),
 * the SMTP command a failure came at, and a recipient's codes filled in
 * from its diagnostic (fill_codes). Every scan is linear and bounded.
 */
#include "dsn_int.h"

#include <string.h>

/* Byte classes of the per-recipient helpers below, by table: they are
 * called per byte of every diagnostic and address. */
enum { CC_DIGIT = 1, CC_ALNUM = 2, CC_LOCAL = 4, CC_DOM = 8 };
/* CC_LOCAL: addr_local_char - alnum, ".!#$%&'*+/=?^_`{|}~-", >= 0x80;
 * CC_DOM: a domain's byte - alnum, ".-_" */
static const unsigned char cc_tab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 4, 0, 4, 4, 4, 4, 4, 0, 0, 4, 4, 0, 12, 12, 4,
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 0, 0, 0, 4, 0, 4,
    0, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
    14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 0, 0, 0, 4, 12,
    4, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
    14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 4, 4, 4, 4, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};
static inline int cc_is(int c, int f) { return cc_tab[(unsigned char)c] & f; }

static int addr_local_char(int c) { return cc_is(c, CC_LOCAL); }

/* Around the '@' at s[at] (s has n bytes): address bounds. 1 if plausible. */
int addr_bounds(const char *s, size_t n, size_t at, size_t *b, size_t *e)
{
    size_t i = at, ilim = at > 128 ? at - 128 : 0; /* at - i < 128 */
    while (i > ilim && addr_local_char((unsigned char)s[i - 1]))
        i--;
    /* a leading quote char of the surrounding text is no part of it */
    while (i < at && (s[i] == '\'' || s[i] == '.'))
        i++;
    /* the domain needs a letter or digit, and no ".." (dd: the second
     * dot of the first one); the trailing dots and dashes cut below are
     * neither */
    size_t j = at + 1, jlim = n - at > 256 ? at + 256 : n; /* j - at < 256 */
    size_t dd = n;
    int ok = 0;
    for (; j < jlim; j++) {
        unsigned f = cc_tab[(unsigned char)s[j]];
        if (!(f & CC_DOM))
            break;
        ok |= (int)(f & CC_ALNUM);
        if (s[j] == '.' && s[j - 1] == '.' && dd == n)
            dd = j;
    }
    while (j > at + 1 && (s[j - 1] == '.' || s[j - 1] == '-'))
        j--;
    if (i == at || j <= at + 1)
        return 0;
    if (!ok || dd < j)
        return 0;
    *b = i;
    *e = j;
    return 1;
}

/* The address in a field value ("rfc822; <a@b>", "Name <a@b>", "a@b"). */
void value_addr(const char *v, char *out, size_t osz)
{
    out[0] = 0;
    const char *semi = strchr(v, ';');
    const char *s = v;
    if (semi && !memchr(v, '@', (size_t)(semi - v)))
        s = semi + 1;
    size_t n = strlen(s);
    const char *lt = memchr(s, '<', n);
    if (lt) {
        const char *gt = memchr(lt, '>', n - (size_t)(lt - s));
        if (gt && memchr(lt, '@', (size_t)(gt - lt))) {
            const char *a = lt + 1;
            while (a < gt && is_sp((unsigned char)*a))
                a++;
            const char *z = gt;
            while (z > a && is_sp((unsigned char)z[-1]))
                z--;
            scopy(out, osz, a, (size_t)(z - a));
            return;
        }
    }
    const char *at = memchr(s, '@', n);
    if (at) {
        size_t b, e;
        if (addr_bounds(s, n, (size_t)(at - s), &b, &e)) {
            scopy(out, osz, s + b, e - b);
            return;
        }
    }
    /* no '@': keep the token as it is (e.g. a bare local part) */
    while (*s && is_sp((unsigned char)*s))
        s++;
    size_t k = 0;
    while (s[k] && !is_sp((unsigned char)s[k]))
        k++;
    scopy(out, osz, s, k);
    if (out[0] == '<') {
        memmove(out, out + 1, strlen(out));
        size_t L = strlen(out);
        if (L && out[L - 1] == '>')
            out[L - 1] = 0;
    }
}

enum { LEAD_STATUS, LEAD_REPLY };

/* Each p in [0, n) with s[p] one of '2', '4', '5' (some of those that
 * kind rules out skipped), in order, into body (a statement that may
 * return). */
#define FOR_CODE_LEAD(s, n, kind, p, body)                                     \
    do {                                                                       \
        for (size_t p = 0; p < (n); p++)                                       \
            if ((s)[p] == '2' || (s)[p] == '4' || (s)[p] == '5') {             \
                body                                                           \
            }                                                                  \
    } while (0)

/* The end of an enhanced status code "X.Y.Z" starting at s[p] (one of
 * '2', '4', '5'), s having n bytes and no NUL; 0 if none starts there. */
static inline size_t status_end(const char *s, size_t n, size_t p)
{
    if (p + 1 >= n || s[p + 1] != '.')
        return 0;
    if (p > 0 && (cc_is(s[p - 1], CC_ALNUM) || s[p - 1] == '.'))
        return 0;
    size_t q = p + 2;
    int d = 0;
    while (q < n && cc_is(s[q], CC_DIGIT) && d < 4) {
        q++;
        d++;
    }
    if (d < 1 || d > 3 || q >= n || s[q] != '.')
        return 0;
    q++;
    d = 0;
    while (q < n && cc_is(s[q], CC_DIGIT) && d < 4) {
        q++;
        d++;
    }
    if (d < 1 || d > 3)
        return 0;
    if (q + 1 < n && s[q] == '.' && cc_is(s[q + 1], CC_DIGIT))
        return 0; /* an IP address */
    if (q < n && cc_is(s[q], CC_ALNUM))
        return 0;
    return q;
}

/* Find an enhanced status code "X.Y.Z" (X in 2,4,5) in s[0, n), s holding
 * no NUL: the bytes from s[n] on read as the end of the string. */
static int find_status_n(const char *s, size_t n, char *out, size_t osz)
{
    FOR_CODE_LEAD(s, n, LEAD_STATUS, p, {
        size_t q = status_end(s, n, p);
        if (q) {
            scopy(out, osz, s + p, q - p);
            return 1;
        }
    });
    return 0;
}

int find_status(const char *s, char *out, size_t osz)
{
    return find_status_n(s, strlen(s), out, osz);
}

/* Is there an SMTP reply code at s[p] (one of '2', '4', '5'), s having
 * n bytes and no NUL? */
static inline int reply_at(const char *s, size_t n, size_t p)
{
    if (p + 2 >= n || !cc_is(s[p + 1], CC_DIGIT) || !cc_is(s[p + 2], CC_DIGIT))
        return 0;
    if (p > 0) {
        char b = s[p - 1];
        if (cc_is(b, CC_ALNUM) || b == '.' || b == '-' || b == ':' || b == '#' || b == '/')
            return 0;
    }
    char c = p + 3 < n ? s[p + 3] : 0;
    if (!(c == ' ' || c == '-' || c == 0 || c == '\'' || c == ']' || c == ')'))
        return 0;
    return s[p + 1] <= '5';
}

/* Find an SMTP reply code ("550 ", "550-", "550" at end) in s[0, n), s
 * holding no NUL. */
static int find_reply_n(const char *s, size_t n, char *out, size_t osz)
{
    FOR_CODE_LEAD(s, n, LEAD_REPLY, p, {
        if (reply_at(s, n, p)) {
            /* "550 for RCPT", "550 5.1.1", "550 User": all accepted */
            scopy(out, osz, s + p, 3);
            return 1;
        }
    });
    return 0;
}

static int find_reply(const char *s, char *out, size_t osz)
{
    return find_reply_n(s, strlen(s), out, osz);
}

const char *const cmd_lead[] = { "in reply to ", "after ", "response to ",
                                    ">>> ", "command ", "did not like our ",
                                    "most progress was ", "(state ",
                                    /* qmail-remote: the refusal of a RCPT
                                     * TO, and one after the message */
                                    "does not like recipient",
                                    "failed after i sent the message", NULL };
MSCAN_STATIC(cmd_lead, cmd_lead)

const char *cmd_after_lead(size_t lead, const char *w, size_t rem)
{
    if (lead == 8)
        return "RCPT";
    if (lead == 9)
        return "DATA";
    return cmd_word(w, rem);
}
/* The command named by the rem bytes at w (just after a lead), or NULL. */
const char *cmd_word(const char *w, size_t rem)
{
#define W(w, cmd) { w, sizeof w - 1, cmd }
    static const struct { const char *w; size_t wl; const char *cmd; } words[] = {
        W("rcpt", "RCPT"), W("mail from", "MAIL"), W("mail", "MAIL"),
        W("end of data", "DATA"), W("data", "DATA"), W("ehlo", "EHLO"),
        W("helo", "HELO"), W("starttls", "STARTTLS"),
        W("initial connection", "CONN"), W("connect", "CONN"),
        W("greeting", "CONN"), W("auth", "AUTH"),
        /* Gmail's "(state N)" after the remote reply: the SMTP state */
        W("6)", "STARTTLS"), W("8)", "AUTH"), W("9)", "STARTTLS"),
        W("12)", "AUTH"), W("13)", "MAIL"), W("14)", "RCPT"),
        W("15)", "DATA"), W("17)", "DATA"), W("18)", "DATA"), { NULL, 0, NULL } };
#undef W
    for (int k = 0; words[k].w; k++) {
        size_t wl = words[k].wl;
        if (wl <= rem && lc((unsigned char)*w) == words[k].w[0] && ci_prefix(w, words[k].w) &&
            (wl == rem || !is_alnum((unsigned char)w[wl])))
            return words[k].cmd;
    }
    return NULL;
}

/* The SMTP command a diagnostic mentions: "in reply to RCPT TO command",
 * "after RCPT TO:<...>", "after end of data", ">>> DATA". (region_details
 * does the same search in its own pass.) */
int find_command(const char *s, size_t n, char *out, size_t osz)
{
    const char *bestcmd = NULL;
    const struct mscan *ms = cmd_lead_scanner();
    size_t pos = 0, at;
    int l;
    while (!bestcmd && (l = mscan_next(ms, s, n, pos, ~0ULL, &at)) >= 0) {
        bestcmd = cmd_after_lead((size_t)l, s + at + ms->len[l], n - (at + ms->len[l]));
        pos = at + 1;
    }
    if (bestcmd) {
        scpy(out, osz, bestcmd);
        return 1;
    }
    return 0;
}

/* A multi-line SMTP reply flattened into one line repeats its code at
 * every line: "550-5.7.1 Messages with multiple 550-5.7.1 addresses in
 * From:". Keep the first, drop the repeats (also Gmail's "550 550 ..."),
 * so the words read as one sentence. In place; returns the new length. */
static size_t strip_repeated_codes(char *d)
{
    if (!((d[0] == '2' || d[0] == '4' || d[0] == '5') && is_digit((unsigned char)d[1]) &&
          is_digit((unsigned char)d[2]) && (d[3] == '-' || d[3] == ' ')))
        return strlen(d);
    char st[16] = "";
    size_t sl = 0;
    {
        const char *q = d + 4;
        while (*q == ' ')
            q++;
        if (*q == d[0] && q[1] == '.') {
            while (sl + 1 < sizeof st && (is_digit((unsigned char)q[sl]) || q[sl] == '.'))
                sl++;
            memcpy(st, q, sl);
            st[sl] = 0;
        }
    }
    /* a repeat starts with d[0]: jump from one d[0] to the next, move
     * the kept text in pieces; w stays 4 or more behind r once a repeat
     * was dropped, so every byte looked at is still the original. A
     * repeat follows a blank IN THE OUTPUT: the byte before x there is
     * x[-1] when text is kept before x, and w[-1] when x starts right
     * where a dropped repeat ended ("550 a 550-550 b": the second "550 "
     * too) - else a second pass would drop what the first kept. */
    char *w = d + 4;
    const char *r = d + 4, *from = r, *x;
    while ((x = strchr(from, d[0])) != NULL) {
        char before = x == r ? w[-1] : x[-1];
        if (before == ' ' && x[1] == d[1] && x[2] == d[2] && (x[3] == '-' || x[3] == ' ')) {
            const char *q = x + 4;
            if (sl && strncmp(q, st, sl) == 0 && (q[sl] == ' ' || q[sl] == 0))
                q += sl;
            while (*q == ' ')
                q++;
            memmove(w, r, (size_t)(x - r));
            w += x - r;
            r = from = q;
            continue;
        }
        from = x + 1;
    }
    size_t k = strlen(r);
    memmove(w, r, k);
    w += k;
    *w = 0;
    size_t L = (size_t)(w - d);
    while (L > 0 && d[L - 1] == ' ')
        d[--L] = 0;
    return L;
}

/* A session transcript in a failure report ("Out: 250 2.1.5 Ok ... Out:
 * 451 4.3.0 Error: queue file write error") shows the accepted steps
 * before the failing one: a 2xx / 2.x.x found first gives way to the
 * first 4xx/5xx after it. Bounded: at most 64 codes are looked at. */
static void skip_success_codes(const char *d, char *out, size_t osz,
                               int (*find)(const char *, char *, size_t))
{
    if (out[0] != '2')
        return;
    const char *p = strstr(d, out);
    char tmp[16];
    if (!p)
        return;
    p += strlen(out);
    for (int n = 0; n < 64; n++) {
        if (!find(p, tmp, sizeof tmp))
            return;
        if (tmp[0] != '2') {
            scpy(out, osz, tmp);
            return;
        }
        const char *q = strstr(p, tmp);
        if (!q)
            return;
        p = q + strlen(tmp);
    }
}

void fill_codes(struct bg_dsn_rcpt *r)
{
    size_t dn = strip_repeated_codes(r->diag);
    if (!r->status[0]) {
        if (find_status_n(r->diag, dn, r->status, sizeof r->status))
            skip_success_codes(r->diag, r->status, sizeof r->status, find_status);
    } else if (strcmp(r->status + 1, ".0.0") == 0) {
        /* "Status: 5.0.0" says nothing; the reply may be more precise */
        char s2[16];
        size_t at = dn;
        FOR_CODE_LEAD(r->diag, dn, LEAD_REPLY, p, {
            if (reply_at(r->diag, dn, p)) {
                at = p;
                break;
            }
        });
        if (at < dn) {
            /* the status right after the reply code: "550 5.1.1", "550-'5.7.1"
             * (that reply, not the first "550" of the text: OpenSMTPD writes
             * "user@eod-550-511.test: 550 5.1.1 ...") */
            const char *q = r->diag + at + 3;
            while (*q == ' ' || *q == '-' || *q == '\'' || *q == '"')
                q++;
            if (*q == r->status[0] && q[1] == '.' && find_status(q, s2, sizeof s2) &&
                strncmp(q, s2, strlen(s2)) == 0 && strcmp(s2 + 1, ".0.0") != 0)
                scpy(r->status, sizeof r->status, s2);
        }
    }
    if (!r->reply_code[0] && find_reply_n(r->diag, dn, r->reply_code, sizeof r->reply_code))
        skip_success_codes(r->diag, r->reply_code, sizeof r->reply_code, find_reply);
    if (!r->command[0])
        find_command(r->diag, dn, r->command, sizeof r->command);
    if (r->action == BG_ACTION_UNKNOWN && r->status[0]) {
        if (r->status[0] == '5')
            r->action = BG_ACTION_FAILED;
        else if (r->status[0] == '4')
            r->action = BG_ACTION_DELAYED;
    }
}

enum bg_dsn_action parse_action(const char *v)
{
    if (ci_prefix(v, "fail"))
        return BG_ACTION_FAILED;
    if (ci_prefix(v, "delay"))
        return BG_ACTION_DELAYED;
    if (ci_prefix(v, "deliver"))
        return BG_ACTION_DELIVERED;
    if (ci_prefix(v, "relay"))
        return BG_ACTION_RELAYED;
    if (ci_prefix(v, "expand"))
        return BG_ACTION_EXPANDED;
    return BG_ACTION_UNKNOWN;
}

/* "dns; host.example" -> "host.example" */
void after_type(const char *v, char *out, size_t osz)
{
    const char *semi = strchr(v, ';');
    const char *s = semi ? semi + 1 : v;
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    scopy(out, osz, s, n);
    if (osz)
        collapse_n(out, n < osz ? n : osz - 1);
    else
        collapse(out);
}

/* A usable mailbox address: local@domain.tld, no source route. */
int addr_valid(const char *a)
{
    const char *at = strrchr(a, '@');
    if (!at || at == a || a[0] == '@' || a[0] == '/')
        return 0;
    const char *dot = strchr(at, '.');
    return dot && dot[1] && !strchr(at, ':') && !strchr(at, '/');
}

/* A reply or status code in the line's first 255 bytes, up to a NUL. */
int line_has_code(const char *l, size_t n)
{
    if (n > 255)
        n = 255;
    const char *z = memchr(l, 0, n);
    if (z)
        n = (size_t)(z - l);
    /* one pass over the leads for both kinds (was one pass each): a
     * status code starts with a lead digit too */
    FOR_CODE_LEAD(l, n, LEAD_REPLY, p, {
        if (reply_at(l, n, p) || status_end(l, n, p))
            return 1;
    });
    return 0;
}

/* Does a diagnostic carry a status, or start with a reply code? */
int diag_has_code(const char *d)
{
    char code[16];
    while (*d == ' ' || *d == '>' || *d == '<' || *d == '*')
        d++;
    return find_status(d, code, sizeof code) ||
           ((d[0] == '4' || d[0] == '5') && is_digit((unsigned char)d[1]) &&
            is_digit((unsigned char)d[2]) && !is_alnum((unsigned char)d[3]));
}
