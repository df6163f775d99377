/* dsn_region.c - one recipient's details from the text around its
 * mention: the remote server's own words (after a vendor's mark such as
 * " said:" or "Remote Server returned"), the remote host, the SMTP
 * command; and, for reports that give the reason before the recipient,
 * the text before it (preamble_details). One pass of one scanner per
 * recipient, bounded to 8 KB after the mention.
 */
#include "dsn_int.h"

#include <string.h>
#include <strings.h>

static const char *const host_keys[] = { "host ", "talking to ", "remote host ",
                                         "Remote-MTA: dns; ", "mta ", NULL };
#define N_HOST_KEYS (sizeof host_keys / sizeof host_keys[0] - 1)
/* Remote host from "host mx.example.com[..] said", "talking to x.y": the
 * first host name after the earliest key of the list that has one after
 * it. One pass (region_details): a key found with a host name is the
 * answer unless an earlier key of the list has one further on, so only
 * those are looked for after it (no two keys can start at the same
 * byte). host_at: the host name after key l (len kl) at s[at], if any:
 * 1 with *hb and *hk set. */
static int host_at(const char *s, size_t n, size_t at, size_t kl, size_t *hb, size_t *hk)
{
    size_t q = at + kl, k = 0;
    while (q + k < n && (is_alnum((unsigned char)s[q + k]) || s[q + k] == '.' ||
                         s[q + k] == '-'))
        k++;
    while (k > 0 && s[q + k - 1] == '.')
        k--;
    if (k > 3 && memchr(s + q, '.', k)) {
        *hb = q;
        *hk = k;
        return 1;
    }
    return 0;
}

static const char *const strong_marks[] = {
    "Remote Server returned ", "The error that the other server returned was:",
    " said:", "SMTP error from remote mail server", "<<< ", "Remote host said:",
    "reason: ",
    /* weaker: a vendor's heading before its summary (Gmail) */
    "Technical details of permanent failure:", "Technical details of temporary failure:",
    "The response was:", "did not reach the following recipient(s):", NULL };
#define N_STRONG_MARKS (sizeof strong_marks / sizeof strong_marks[0] - 1)
/* One scanner for the three searches of region_details: the strong
 * marks (indexes 0..10), the host keys (11..15), the command leads
 * (16..25). */
#define RG_HOST N_STRONG_MARKS
#define RG_CMD (N_STRONG_MARKS + N_HOST_KEYS)
static const char *region_text[RG_CMD + N_CMD_LEAD];
static struct mscan region_ms;
#define RG_SALL ((1ULL << N_STRONG_MARKS) - 1)
#define RG_SSTRONG ((1ULL << 7) - 1)
#define RG_HALL (((1ULL << N_HOST_KEYS) - 1) << RG_HOST)
#define RG_CALL (((1ULL << N_CMD_LEAD) - 1) << RG_CMD)
static pthread_once_t region_once = PTHREAD_ONCE_INIT;
static void region_build(void)
{
    for (size_t k = 0; k < N_STRONG_MARKS; k++)
        region_text[k] = strong_marks[k];
    for (size_t k = 0; k < N_HOST_KEYS; k++)
        region_text[RG_HOST + k] = host_keys[k];
    for (size_t k = 0; k < N_CMD_LEAD; k++)
        region_text[RG_CMD + k] = cmd_lead[k];
    mscan_init(&region_ms, region_text, RG_CMD + N_CMD_LEAD);
}
static const struct mscan *region_scanner(void)
{
    pthread_once(&region_once, region_build);
    return &region_ms;
}
/* Fill a recipient's diag etc. from the text region [rb, re). */
void region_details(struct bg_dsn_rcpt *r, const char *t, size_t rb, size_t re,
                    int overwrite_diag)
{
    if (re <= rb)
        return;
    /* the reply sits next to the address: bound the work per recipient */
    if (re - rb > 8192)
        re = rb + 8192;
    /* the start of the address' line, at most 256 bytes back */
    size_t rlb = line_start_back(t, rb, 256);
    /* One pass over [rlb, re) for three searches: the SMTP command (as
     * find_command: from the start of the address' line - ">>> RCPT
     * To:<addr>" names it before the address), and from rb on the host
     * (find_host above host_at) and the remote server's own words, where
     * a vendor labels them: the first of the seven strong marks, else
     * the first of any (after a weak mark only strong ones are looked
     * for: a strong one at the same byte would have been found, lower
     * index first). Each set's hits come in the order of its own search:
     * at a byte where one set's needle is found the others' are tried
     * too, and hits of the rb-on sets before rb are dropped. */
    const struct mscan *ms = region_scanner();
    const unsigned long long sall = RG_SALL, hall = RG_HALL, call = RG_CALL;
    unsigned long long cwant = r->command[0] ? 0 : call;
    unsigned long long hwant = r->remote_mta[0] ? 0 : hall;
    unsigned long long swant = r->diag[0] && !overwrite_diag ? 0 : sall;
    int sk = -1, wk = -1;
    size_t sat = 0, wat = 0, hb = 0, hk = 0;
    {
        const char *s = t + rlb;
        const unsigned char *us = (const unsigned char *)s;
        size_t n = re - rlb, off = rb - rlb, pos = 0, at;
        int k;
        while ((cwant | hwant | swant) &&
               (k = mscan_next(ms, s, n, pos, cwant | hwant | swant, &at)) >= 0) {
            unsigned long long bit = 1ULL << k;
            int sl = (bit & sall) ? k : -1, hl = (bit & hall) ? k : -1;
            int cl = (bit & call) ? k : -1;
            if (at < off) {
                sl = hl = -1;
            } else {
                if (sl < 0 && swant)
                    sl = mscan_at(ms, us, n, at, swant);
                if (hl < 0 && hwant)
                    hl = mscan_at(ms, us, n, at, hwant);
            }
            if (cl < 0 && cwant)
                cl = mscan_at(ms, us, n, at, cwant);
            if (cl >= 0) {
                size_t e = at + ms->len[cl];
                const char *cmd = cmd_after_lead((size_t)cl - RG_CMD, s + e, n - e);
                if (cmd) {
                    scpy(r->command, sizeof r->command, cmd);
                    cwant = 0;
                }
            }
            if (hl >= 0 && host_at(s, n, at, ms->len[hl], &hb, &hk))
                hwant = ((1ULL << hl) - 1) & hall;
            if (sl >= 0) {
                if (sl < 7) {
                    sk = sl;
                    sat = at - off;
                    swant = 0;
                } else {
                    wk = sl;
                    wat = at - off;
                    swant = RG_SSTRONG;
                }
            }
            pos = at + 1;
        }
    }
    if (hk)
        scopy(r->remote_mta, sizeof r->remote_mta, t + rlb + hb, hk);
    if (cwant && !r->command[0]) {
        /* Postfix folds its text: "said: 550 No such user here (in\n
         * reply to RCPT TO command)" - the lead split by the fold. Once
         * more over the first KB, blanks collapsed. */
        char flat[1024];
        size_t fl = re - rlb < sizeof flat - 1 ? re - rlb : sizeof flat - 1;
        copy_collapsed(flat, sizeof flat, t + rlb, fl);
        find_command(flat, strlen(flat), r->command, sizeof r->command);
    }
    if (r->diag[0] && !overwrite_diag)
        return;
    /* prefer the first line carrying a reply/status code, with the lines
     * continuing its paragraph */
    size_t i = rb, adv;
    size_t best = re;
    int own_line = 0;
    if (sk < 0 && wk >= 0) {
        sk = wk;
        sat = wat;
    }
    if (sk >= 0) {
        best = rb + sat;
        if (sk != 3)
            best += ms->len[sk];
    }
    {
        /* sendmail's "554 <a@b>... Remote protocol error": the address'
         * own line starts with the reply - it is this recipient's, not
         * the next line's (another recipient's) */
        size_t lb = rlb;
        size_t k = lb;
        while (k < rb && (t[k] == ' ' || t[k] == '\t'))
            k++;
        if (k + 4 < rb && (t[k] == '4' || t[k] == '5') && is_digit((unsigned char)t[k + 1]) &&
            is_digit((unsigned char)t[k + 2]) && (t[k + 3] == ' ' || t[k + 3] == '-') &&
            (t[k + 4] == '<' || t[k + 4] == '\'' || t[k + 4] == '"'))
            best = k, i = re, own_line = 1;
    }
    if (best == re) {
        /* "<a@b> (expanded from <x@y>): reason": the reason follows the
         * parenthesis, the whole paragraph (its code line is mid-way) */
        size_t k = rb;
        while (k < re && k - rb < 8 && strchr("> \t", t[k]))
            k++;
        if (re - k > 14 && strncasecmp(t + k, "(expanded from", 14) == 0) {
            size_t lim = re - k > 400 ? k + 400 : re;
            for (size_t j = k + 14; j + 1 < lim; j++)
                if (t[j] == ')' && t[j + 1] == ':') {
                    best = j + 2;
                    break;
                }
        }
    }
    if (best < re)
        i = re;
    while (i < re) {
        size_t l = line_len(t + i, re - i, &adv);
        if (l > 0 && line_has_code(t + i, l)) {
            best = i;
            break;
        }
        i += adv;
    }
    size_t start = best, end;
    int extra_para = 0;
    if (best == re) {
        /* none: the rest of the first line and its paragraph, else the
         * next paragraph; a line holding nothing but the address (Gmail's
         * indented recipient) is no diagnostic */
        start = rb;
        size_t lb = rlb;
        size_t l = line_len(t + lb, re - lb, &adv);
        size_t k = 0, al = strlen(r->rcpt);
        while (k < l && strchr(" \t<>\"'()[]", t[lb + k]))
            k++;
        if (al && k + al <= l && strncasecmp(t + lb + k, r->rcpt, al) == 0) {
            k += al;
            while (k < l && strchr(" \t<>\"'()[],;.", t[lb + k]))
                k++;
            if (k == l)
                start = lb + adv;
        } else if (lb < rb) {
            /* nothing but blanks after the address on its line: the words
             * before it ("Unable to deliver message to <a@b>") are the
             * diagnostic */
            size_t e = lb + l, j = rb;
            while (j < e && strchr(" \t<>\"'()[],;.", t[j]))
                j++;
            if (j >= e) {
                start = lb;
                extra_para = 1; /* and the reason in the next paragraph */
            }
        }
    }
    end = start;
    int seen_text = 0, heading_done = 0;
    if (own_line) {
        /* that line only: the next one is the next recipient's */
        end += line_len(t + start, re - start, &adv);
        end = end > re ? re : end;
    }
    while (end < re && !own_line) {
        size_t l = line_len(t + end, re - end, &adv);
        int blank = 1;
        for (size_t k = 0; k < l; k++)
            if (!is_sp((unsigned char)t[end + k])) {
                blank = 0;
                break;
            }
        if (blank && seen_text && end - start > 12) {
            /* a lone heading ("For the following reason:", 1&1;
             * "Technical details:" under a rule of '=', X3): its
             * paragraph is the next one */
            size_t z = end;
            while (z > start && is_sp((unsigned char)t[z - 1]))
                z--;
            if (!extra_para && !heading_done && z > start && t[z - 1] == ':' &&
                (ci_find(t + start, z - start, "reason") ||
                 ci_find(t + start, z - start, "details"))) {
                heading_done = 1;
                seen_text = 0;
                end += adv;
                continue;
            }
            if (!extra_para)
                break;
            extra_para = 0;
            seen_text = 0;
        }
        if (!blank)
            seen_text = 1;
        end += adv;
        if (end - start > BG_DSN_DIAG_MAX * 2)
            break;
    }
    if (end > re)
        end = re;
    char d[BG_DSN_DIAG_MAX];
    while (start < end && strchr(">.:;,)]'\" \t\r\n", t[start]) && t[start])
        start++;
    copy_collapsed(d, sizeof d, t + start, end - start);
    if (d[0] && (overwrite_diag || !r->diag[0] || strlen(d) > strlen(r->diag)))
        scpy(r->diag, sizeof r->diag, d);
}

/* One failed recipient listed AFTER the reason (Lotus Notes' "Failure
 * Reasons", MailMarshal's "Could not be delivered because of ... The
 * following recipients were affected:", Verizon's "Error message below:
 * 550 ..." then "RCPT TO: a@b", InterScan's "Unable to deliver message to
 * <a@b> (...)"): when the text after the address carried no reply code,
 * the text before it is the reason. A line with a reply/status code in
 * it wins (that line and the rest of its paragraph); else, when the text
 * up to the address' line is short, all of it (through that line). */
void preamble_details(struct bg_dsn_rcpt *r, const char *t, size_t at)
{
    size_t lb = at;
    while (lb > 0 && t[lb - 1] != '\n')
        lb--;
    if (lb == 0)
        return;
    size_t i = 0, adv;
    while (i < lb) {
        size_t l = line_len(t + i, lb - i, &adv);
        if (l > 0 && line_has_code(t + i, l)) {
            size_t e = i;
            while (e < lb) {
                size_t el = line_len(t + e, lb - e, &adv);
                size_t k = 0;
                while (k < el && is_sp((unsigned char)t[e + k]))
                    k++;
                if (k == el)
                    break;
                e += adv;
            }
            char d[BG_DSN_DIAG_MAX];
            copy_collapsed(d, sizeof d, t + i, e - i);
            if (d[0])
                scpy(r->diag, sizeof r->diag, d);
            return;
        }
        i += adv;
    }
    /* no code before it: only two shapes say where the reason is */
    size_t adv2, ll = line_len(t + lb, at + 1024 - lb, &adv2);
    if (ll > 1024)
        return;
    size_t ab = lb;
    while (ab < lb + ll && strchr(" \t<>\"'()[]", t[ab]))
        ab++;
    size_t al = strlen(r->rcpt);
    int alone = 0;
    if (al && ab + al <= lb + ll && strncasecmp(t + ab, r->rcpt, al) == 0) {
        size_t k = ab + al;
        while (k < lb + ll && strchr(" \t<>\"'()[],;.", t[k]))
            k++;
        alone = k == lb + ll;
    }
    size_t start, end;
    if (ll > 3 && strncasecmp(t + lb, "To:", 3) == 0) {
        /* found in the returned original's To: header, quoted in the
         * text (Verizon: "Error: ...\n\nOriginal Message:\nTo: a@b"):
         * the text's first paragraph says why */
        start = 0;
        while (start < lb && is_sp((unsigned char)t[start]))
            start++;
        end = start;
        while (end < lb) {
            size_t el = line_len(t + end, lb - end, &adv);
            size_t k = 0;
            while (k < el && is_sp((unsigned char)t[end + k]))
                k++;
            if (k == el)
                break;
            end += adv;
        }
        if (end >= lb || end - start > BG_DSN_DIAG_MAX)
            return;
    } else if (alone) {
        /* the address alone on its line right under the reason's
         * paragraph (Notes: "User not listed in ...\n a@b") */
        size_t pe = lb - 1; /* the '\n' ending the line above */
        if (pe > 0 && t[pe - 1] == '\r')
            pe--;
        size_t ps = pe;
        while (ps > 0 && t[ps - 1] != '\n')
            ps--;
        size_t k = ps;
        while (k < pe && is_sp((unsigned char)t[k]))
            k++;
        if (k == pe)
            return; /* a blank line above: a list of recipients */
        if (strchr(":-=*", t[pe - 1]))
            return; /* a heading above: "--- had delivery problems ---" */
        while (ps > 0) {
            size_t q = ps - 1, qs = q;
            while (qs > 0 && t[qs - 1] != '\n')
                qs--;
            size_t z = qs;
            while (z < q && is_sp((unsigned char)t[z]))
                z++;
            if (z == q || pe - qs > BG_DSN_DIAG_MAX)
                break;
            ps = qs;
        }
        start = ps;
        end = pe;
    } else {
        /* "Unable to deliver message to <a@b> (and other recipients in
         * the same domain).": words before the address, a parenthesis
         * after it - the whole line */
        size_t k = at;
        while (k < lb + ll && (t[k] == '>' || t[k] == ' ' || t[k] == '\t'))
            k++;
        if (ab == lb + ll || t[ab] == '<' || k >= lb + ll || t[k] != '(' ||
            (lb + ll - k >= 14 && strncasecmp(t + k, "(expanded from", 14) == 0))
            return; /* Postfix's alias note: the reason follows it */
        start = lb;
        end = lb + ll;
    }
    char d[BG_DSN_DIAG_MAX];
    while (start < end && strchr("*-=#> \t\r\n", t[start]))
        start++;
    copy_collapsed(d, sizeof d, t + start, end - start);
    if (d[0])
        scpy(r->diag, sizeof r->diag, d);
}
