/* mime.c - bounded MIME helpers; see mime.h. */
#include "mime.h"

#include <string.h>

static int lc(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
static int is_ws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Offset just past the end of the line starting at i (past the LF), and
 * the line's content length without CR/LF in *cl. */
static size_t line_end(const char *p, size_t len, size_t i, size_t *cl)
{
    const char *nl = i < len ? memchr(p + i, '\n', len - i) : NULL;
    size_t e = nl ? (size_t)(nl - p) : len;
    size_t c = e;
    if (c > i && p[c - 1] == '\r')
        c--;
    if (cl)
        *cl = c - i;
    return nl ? e + 1 : len;
}

size_t bg_mime_split(const char *p, size_t len, size_t *body_off)
{
    size_t i = 0;
    while (i < len) {
        size_t cl;
        size_t next = line_end(p, len, i, &cl);
        if (cl == 0) {
            /* empty line: headers end before it */
            if (body_off)
                *body_off = next;
            return i;
        }
        i = next;
    }
    if (body_off)
        *body_off = len;
    return len;
}

int bg_mime_next_field(const char *h, size_t hlen, size_t *pos,
                       char *name, size_t namesz, char *val, size_t valsz)
{
    size_t i = *pos;
    if (namesz)
        name[0] = 0;
    if (valsz)
        val[0] = 0;
    while (i < hlen) {
        size_t cl;
        size_t next = line_end(h, hlen, i, &cl);
        /* continuation lines of a field we skipped, or garbage */
        if (cl == 0 || h[i] == ' ' || h[i] == '\t') {
            i = next;
            continue;
        }
        const char *colon = memchr(h + i, ':', cl);
        if (!colon) {
            i = next;
            continue;
        }
        size_t nlen = (size_t)(colon - (h + i));
        while (nlen > 0 && (h[i + nlen - 1] == ' ' || h[i + nlen - 1] == '\t'))
            nlen--;
        size_t k;
        for (k = 0; k < nlen && k + 1 < namesz; k++)
            name[k] = (char)lc((unsigned char)h[i + k]);
        if (namesz)
            name[k] = 0;
        /* value: rest of this line plus continuation lines */
        size_t o = 0;
        int pend_sp = 0;
        size_t j = (size_t)(colon - h) + 1;
        size_t lend = i + cl;
        for (;;) {
            while (j < lend) {
                unsigned char c = (unsigned char)h[j];
                if (c == ' ' || c == '\t' || c == '\r' || c == 0) {
                    pend_sp = o > 0;
                    j++;
                    continue;
                }
                /* a run of non-blank bytes, copied at once */
                size_t r = j + 1;
                while (r < lend && h[r] != ' ' && h[r] != '\t' && h[r] != '\r' && h[r] != 0)
                    r++;
                if (pend_sp && o + 1 < valsz)
                    val[o++] = ' ';
                pend_sp = 0;
                if (o + 1 < valsz) {
                    size_t cp = r - j, room = valsz - 1 - o;
                    if (cp > room)
                        cp = room;
                    memcpy(val + o, h + j, cp);
                    o += cp;
                }
                j = r;
            }
            i = next;
            if (i < hlen && (h[i] == ' ' || h[i] == '\t')) {
                next = line_end(h, hlen, i, &cl);
                j = i;
                lend = i + cl;
                pend_sp = o > 0;
                continue;
            }
            break;
        }
        if (valsz)
            val[o] = 0;
        *pos = i;
        return 1;
    }
    *pos = hlen;
    return 0;
}

int bg_mime_header(const char *h, size_t hlen, const char *name,
                   char *val, size_t valsz)
{
    /* Compare names in place and decode only the matching field: a header
     * block is looked up many times, and most fields are not wanted. */
    size_t nl = strlen(name);
    size_t i = 0;
    while (i < hlen) {
        const char *e = memchr(h + i, '\n', hlen - i);
        size_t next = e ? (size_t)(e - h) + 1 : hlen;
        size_t lend = e ? (size_t)(e - h) : hlen;
        if (h[i] != ' ' && h[i] != '\t' && lend - i > nl) {
            size_t k = 0;
            while (k < nl && lc((unsigned char)h[i + k]) == lc((unsigned char)name[k]))
                k++;
            if (k == nl) {
                size_t j = i + nl;
                while (j < lend && (h[j] == ' ' || h[j] == '\t'))
                    j++;
                if (j < lend && h[j] == ':') {
                    char n[64];
                    size_t pos = i;
                    if (bg_mime_next_field(h, hlen, &pos, n, sizeof n, val, valsz))
                        return 1;
                }
            }
        }
        i = next;
    }
    if (valsz)
        val[0] = 0;
    return 0;
}

void bg_mime_media_type(const char *ctval, char *out, size_t outsz)
{
    size_t o = 0;
    const char *s = ctval;
    while (*s && is_ws((unsigned char)*s))
        s++;
    for (; *s && *s != ';' && !is_ws((unsigned char)*s); s++)
        if (o + 1 < outsz)
            out[o++] = (char)lc((unsigned char)*s);
    if (outsz)
        out[o] = 0;
}

int bg_mime_param(const char *ctval, const char *param, char *out,
                  size_t outsz)
{
    size_t plen = strlen(param);
    const char *s = ctval;
    if (outsz)
        out[0] = 0;
    /* skip media type */
    while (*s) {
        /* find next ';' outside quotes */
        int q = 0;
        while (*s && (q || *s != ';')) {
            if (*s == '"')
                q = !q;
            else if (*s == '\\' && q && s[1])
                s++;
            s++;
        }
        if (!*s)
            break;
        s++; /* past ';' */
        while (*s && is_ws((unsigned char)*s))
            s++;
        size_t k = 0;
        while (k < plen && s[k] && lc((unsigned char)s[k]) == lc((unsigned char)param[k]))
            k++;
        if (k != plen)
            continue;
        const char *t = s + k;
        while (*t == ' ' || *t == '\t')
            t++;
        if (*t != '=')
            continue;
        t++;
        while (*t == ' ' || *t == '\t')
            t++;
        size_t o = 0;
        if (*t == '"') {
            t++;
            while (*t && *t != '"') {
                if (*t == '\\' && t[1])
                    t++;
                if (o + 1 < outsz)
                    out[o++] = *t;
                t++;
            }
        } else {
            while (*t && *t != ';' && !is_ws((unsigned char)*t)) {
                if (o + 1 < outsz)
                    out[o++] = *t;
                t++;
            }
        }
        if (outsz)
            out[o] = 0;
        return 1;
    }
    return 0;
}

enum bg_mime_enc bg_mime_encoding(const char *v)
{
    char t[32];
    bg_mime_media_type(v, t, sizeof t);
    if (strcmp(t, "base64") == 0)
        return BG_ENC_BASE64;
    if (strcmp(t, "quoted-printable") == 0)
        return BG_ENC_QP;
    return BG_ENC_IDENTITY;
}

static int b64v(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

size_t bg_mime_b64_decode(const char *in, size_t inlen, char *out,
                          size_t outsz)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < inlen && o < outsz; i++) {
        int v = b64v((unsigned char)in[i]);
        if (v < 0) {
            if (in[i] == '=') { /* padding: drop partial bits */
                acc = 0;
                bits = 0;
            }
            continue;
        }
        acc = ((acc << 6) | (unsigned)v) & 0xffffffu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    return o;
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = lc(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static size_t qp_generic(const char *in, size_t inlen, char *out,
                         size_t outsz, int underscore)
{
    size_t o = 0;
    for (size_t i = 0; i < inlen && o < outsz; i++) {
        if (!underscore) {
            /* copy the run up to the next '=' in one go */
            size_t lim = inlen - i < outsz - o ? inlen - i : outsz - o;
            const char *eq = memchr(in + i, '=', lim);
            size_t run = eq ? (size_t)(eq - (in + i)) : lim;
            memcpy(out + o, in + i, run);
            o += run;
            i += run;
            if (i >= inlen || o >= outsz)
                break;
        }
        unsigned char c = (unsigned char)in[i];
        if (c == '=') {
            if (i + 2 < inlen && hexv((unsigned char)in[i + 1]) >= 0 &&
                hexv((unsigned char)in[i + 2]) >= 0) {
                out[o++] = (char)(hexv((unsigned char)in[i + 1]) * 16 +
                                  hexv((unsigned char)in[i + 2]));
                i += 2;
                continue;
            }
            /* soft line break: '=' then optional spaces then (CR)LF */
            size_t j = i + 1;
            while (j < inlen && (in[j] == ' ' || in[j] == '\t'))
                j++;
            if (j < inlen && in[j] == '\r')
                j++;
            if (j < inlen && in[j] == '\n') {
                i = j;
                continue;
            }
            if (j >= inlen) {
                i = j;
                continue;
            }
            out[o++] = '=';
            continue;
        }
        if (underscore && c == '_') {
            out[o++] = ' ';
            continue;
        }
        out[o++] = (char)c;
    }
    return o;
}

size_t bg_mime_qp_decode(const char *in, size_t inlen, char *out,
                         size_t outsz)
{
    return qp_generic(in, inlen, out, outsz, 0);
}

size_t bg_mime_decode(enum bg_mime_enc enc, const char *in, size_t inlen,
                      char *out, size_t outsz)
{
    if (enc == BG_ENC_BASE64)
        return bg_mime_b64_decode(in, inlen, out, outsz);
    if (enc == BG_ENC_QP)
        return bg_mime_qp_decode(in, inlen, out, outsz);
    size_t n = inlen < outsz ? inlen : outsz;
    if (n)
        memcpy(out, in, n);
    return n;
}

/* One encoded word at s ("=?cs?X?text?="): decode into out, return the
 * length of the word consumed or 0 if it is not one. */
static size_t enc_word(const char *s, char *out, size_t outsz, size_t *wrote)
{
    if (s[0] != '=' || s[1] != '?')
        return 0;
    const char *cs = s + 2;
    const char *q1 = strchr(cs, '?');
    if (!q1 || q1 - cs > 64 || q1 == cs)
        return 0;
    char e = (char)lc((unsigned char)q1[1]);
    if ((e != 'b' && e != 'q') || q1[2] != '?')
        return 0;
    const char *txt = q1 + 3;
    const char *end = strstr(txt, "?=");
    if (!end || end - txt > 2000)
        return 0;
    size_t n = (size_t)(end - txt);
    *wrote = e == 'b' ? bg_mime_b64_decode(txt, n, out, outsz)
                      : qp_generic(txt, n, out, outsz, 1);
    return (size_t)(end + 2 - s);
}

void bg_mime_decode_words(const char *in, char *out, size_t outsz)
{
    size_t o = 0;
    const char *s = in;
    int last_was_word = 0;
    if (!outsz)
        return;
    while (*s && o + 1 < outsz) {
        if (s[0] == '=' && s[1] == '?') {
            size_t w = 0;
            size_t used = enc_word(s, out + o, outsz - 1 - o, &w);
            if (used) {
                o += w;
                s += used;
                last_was_word = 1;
                continue;
            }
        }
        if (last_was_word && is_ws((unsigned char)*s)) {
            /* white space between two encoded words is dropped */
            const char *t = s;
            while (*t && is_ws((unsigned char)*t))
                t++;
            if (t[0] == '=' && t[1] == '?') {
                s = t;
                continue;
            }
        }
        last_was_word = 0;
        out[o++] = *s++;
    }
    out[o] = 0;
}

/* Does the line at p (content length cl) delimit boundary b? 1 = part
 * delimiter, 2 = close delimiter, 0 = no. */
static int is_delim(const char *p, size_t cl, const char *b, size_t blen)
{
    if (cl < blen + 2 || p[0] != '-' || p[1] != '-' ||
        memcmp(p + 2, b, blen) != 0)
        return 0;
    size_t k = blen + 2;
    int close = 0;
    if (k + 2 <= cl && p[k] == '-' && p[k + 1] == '-') {
        close = 1;
        k += 2;
    }
    for (; k < cl; k++)
        if (p[k] != ' ' && p[k] != '\t')
            return 0;
    return close ? 2 : 1;
}

/* A multipart without a usable boundary parameter (broken folding, or
 * MIME headers stripped by a relay): take the first "--token" line that
 * is followed by a "Content-" header line. Looks at the first 64 KiB. */
static int guess_boundary(const char *p, size_t len, char *b, size_t bsz)
{
    size_t i = 0, lim = len < 65536 ? len : 65536;
    while (i < lim) {
        size_t cl;
        size_t next = line_end(p, len, i, &cl);
        if (cl >= 3 && cl - 2 <= BG_MIME_BOUNDARY_MAX && p[i] == '-' && p[i + 1] == '-' &&
            !is_ws((unsigned char)p[i + 2]) && next + 8 < len) {
            size_t k = 0;
            static const char cont[] = "content-";
            while (k < 8 && lc((unsigned char)p[next + k]) == cont[k])
                k++;
            if (k == 8) {
                size_t n = cl - 2;
                if (n >= 2 && p[i + cl - 1] == '-' && p[i + cl - 2] == '-')
                    n -= 2;
                if (n == 0 || n + 1 > bsz)
                    return 0;
                memcpy(b, p + i + 2, n);
                b[n] = 0;
                for (size_t j = 0; j < n; j++)
                    if (is_ws((unsigned char)b[j]))
                        return 0;
                return 1;
            }
        }
        i = next;
    }
    return 0;
}

struct walk {
    struct bg_mime_part *parts;
    size_t max, n;
    int maxdepth;
};

static void walk_entity(struct walk *w, const char *p, size_t len, int depth,
                        const char *deftype)
{
    if (w->n >= w->max)
        return;
    size_t boff;
    size_t hl = bg_mime_split(p, len, &boff);
    struct bg_mime_part *pt = &w->parts[w->n++];
    char v[512];
    memset(pt, 0, sizeof *pt);
    pt->hdr = p;
    pt->hdr_len = hl;
    pt->body = p + boff;
    pt->body_len = len - boff;
    pt->depth = depth;
    int has_ct = bg_mime_header(p, hl, "content-type", v, sizeof v) && v[0];
    if (has_ct)
        bg_mime_media_type(v, pt->type, sizeof pt->type);
    if (!strchr(pt->type, '/')) {
        size_t k = strlen(deftype);
        if (k >= sizeof pt->type)
            k = sizeof pt->type - 1;
        memcpy(pt->type, deftype, k);
        pt->type[k] = 0;
    }
    char te[64];
    if (bg_mime_header(p, hl, "content-transfer-encoding", te, sizeof te))
        pt->enc = bg_mime_encoding(te);
    char b[BG_MIME_BOUNDARY_MAX + 2];
    int guessed = 0;
    if (depth >= w->maxdepth)
        return;
    if (strncmp(pt->type, "multipart/", 10) == 0) {
        /* the boundary parameter can be longer than v holds: re-read it */
        char big[BG_MIME_BOUNDARY_MAX * 2 + 128];
        if (!bg_mime_header(p, hl, "content-type", big, sizeof big) ||
            !bg_mime_param(big, "boundary", b, sizeof b)) {
            if (!guess_boundary(pt->body, pt->body_len, b, sizeof b))
                return;
            guessed = 1;
        }
    } else if (depth == 0 && !has_ct &&
               guess_boundary(pt->body, pt->body_len, b, sizeof b)) {
        memcpy(pt->type, "multipart/mixed", sizeof "multipart/mixed");
        guessed = 1;
    } else {
        return;
    }
    size_t blen = strlen(b);
    if (blen == 0 || blen > BG_MIME_BOUNDARY_MAX)
        return;
    pt->multipart = 1;
    const char *child_def =
        strcmp(pt->type, "multipart/digest") == 0 ? "message/rfc822" : "text/plain";
    const char *body = pt->body;
    size_t blen_body = pt->body_len;
    size_t i = 0;
    size_t start = 0;
    int in_part = 0;
    int found = 0;
    while (i < blen_body && w->n < w->max) {
        size_t cl;
        size_t next = line_end(body, blen_body, i, &cl);
        int d = is_delim(body + i, cl, b, blen);
        if (d) {
            if (!found && guessed && i > 0) {
                /* a guessed boundary may be the returned original's: keep
                 * the text before it */
                struct bg_mime_part *pre = &w->parts[w->n++];
                memset(pre, 0, sizeof *pre);
                pre->hdr = body;
                pre->body = body;
                pre->body_len = i;
                pre->depth = depth + 1;
                memcpy(pre->type, "text/plain", sizeof "text/plain");
                if (w->n >= w->max)
                    break;
            }
            found = 1;
            if (in_part) {
                /* the line break before the delimiter belongs to it */
                size_t e = i;
                if (e > start && body[e - 1] == '\n')
                    e--;
                if (e > start && body[e - 1] == '\r')
                    e--;
                walk_entity(w, body + start, e - start, depth + 1, child_def);
            }
            if (d == 2) {
                in_part = 0;
                break;
            }
            in_part = 1;
            start = next;
        }
        i = next;
    }
    if (in_part && start < blen_body && w->n < w->max)
        walk_entity(w, body + start, blen_body - start, depth + 1, child_def);
    if (!found) {
        /* broken multipart: let callers see the body as plain text */
        pt->multipart = 0;
        memcpy(pt->type, "text/plain", sizeof "text/plain");
    }
}

size_t bg_mime_walk(const char *msg, size_t len, int maxdepth,
                    struct bg_mime_part *parts, size_t maxparts)
{
    struct walk w = { parts, maxparts, 0, maxdepth };
    if (!msg || !parts || !maxparts)
        return 0;
    walk_entity(&w, msg, len, 0, "text/plain");
    return w.n;
}
