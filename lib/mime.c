/* mime.c - bounded MIME helpers; see mime.h. */
#define _GNU_SOURCE /* memmem */
#include "mime.h"

#include <limits.h>
#include <stdint.h>
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
    /* the first empty line ("", or a lone CR) ends the headers */
    size_t i = 0;
    while (i < len) {
        if (p[i] == '\n' || (p[i] == '\r' && (i + 1 == len || p[i + 1] == '\n'))) {
            if (body_off)
                *body_off = p[i] == '\n' ? i + 1 : i + 1 == len ? len : i + 2;
            return i;
        }
        const char *nl = memchr(p + i, '\n', len - i);
        if (!nl)
            break;
        i = (size_t)(nl - p) + 1;
    }
    if (body_off)
        *body_off = len;
    return len;
}

/* The bytes a field value drops (runs of them become one space): NUL,
 * TAB, CR and SP. */
static int vblank(unsigned c)
{
    return c <= ' ' && ((0x100002201ull >> c) & 1);
}

/* The first offset in [j, lend) whose byte vblank() takes, lend if none.
 * Eight bytes at a time while none of them is below '!' (the word test is
 * exact for "some byte < 0x21": no borrow happens without one). */
static size_t run_end(const char *h, size_t j, size_t lend)
{
    for (;;) {
        while (lend - j >= 8) {
            uint64_t x;
            memcpy(&x, h + j, 8);
            if (((x - 0x2121212121212121ull) & ~x & 0x8080808080808080ull) != 0)
                break;
            j += 8;
        }
        size_t stop = lend - j >= 8 ? j + 8 : lend;
        for (; j < stop; j++)
            if (vblank((unsigned char)h[j]))
                return j;
        if (j >= lend)
            return lend;
    }
}

/* Unfold the value of a field whose first ':' is at colon; lend is the end
 * of its line's content (CR excluded), next the start of the line after.
 * Stores the value into val (see bg_mime_next_field) and returns the
 * offset past the field's continuation lines. */
static size_t field_value(const char *h, size_t hlen, size_t colon,
                          size_t lend, size_t next, char *val, size_t valsz)
{
    size_t o = 0;
    int pend_sp = 0;
    size_t j = colon + 1;
    size_t i;
    for (;;) {
        if (o + 1 >= valsz)
            j = lend; /* val is full: only the end of the field matters */
        while (j < lend) {
            if (vblank((unsigned char)h[j])) {
                pend_sp = o > 0;
                j++;
                continue;
            }
            /* a run of non-blank bytes, copied at once */
            size_t r = run_end(h, j + 1, lend);
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
            size_t cl;
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
    return i;
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
        *pos = field_value(h, hlen, (size_t)(colon - h), i + cl, next, val, valsz);
        return 1;
    }
    *pos = hlen;
    return 0;
}

/* The value of the field whose line's first ':' is at colon. */
static void value_at_colon(const char *h, size_t hlen, size_t colon,
                           char *val, size_t valsz)
{
    const char *e = memchr(h + colon, '\n', hlen - colon);
    size_t lend = e ? (size_t)(e - h) : hlen;
    size_t next = e ? lend + 1 : hlen;
    /* h[colon] is ':', so a CR before the LF is never the colon */
    if (h[lend - 1] == '\r')
        lend--;
    field_value(h, hlen, colon, lend, next, val, valsz);
}

/* The value of the field on the line at i, which has a ':'. */
static void value_at(const char *h, size_t hlen, size_t i, char *val,
                     size_t valsz)
{
    const char *e = memchr(h + i, '\n', hlen - i);
    size_t lend = e ? (size_t)(e - h) : hlen;
    const char *colon = memchr(h + i, ':', lend - i);
    value_at_colon(h, hlen, (size_t)(colon - h), val, valsz);
}

#define NOT_FOUND ((size_t)-1)

struct want {
    const char *name;
    size_t nl;
    size_t at; /* line of the first field so named, NOT_FOUND if none */
};

/* One pass over the lines of h from offset from (a line start): the first
 * field line of each of the k names. A line names name when it does not
 * start with a blank, begins with name (case-insensitively), then blanks,
 * then ':'. Stops once every name is found. */
static void find_fields(const char *h, size_t hlen, size_t from,
                        struct want *w, size_t k)
{
    size_t left = 0;
    for (size_t q = 0; q < k; q++) {
        w[q].at = NOT_FOUND;
        left++;
    }
    size_t i = from;
    while (i < hlen && left) {
        const char *e = memchr(h + i, '\n', hlen - i);
        size_t lend = e ? (size_t)(e - h) : hlen;
        if (h[i] != ' ' && h[i] != '\t') {
            for (size_t q = 0; q < k; q++) {
                size_t nl = w[q].nl;
                const char *name = w[q].name;
                if (w[q].at != NOT_FOUND || lend - i <= nl)
                    continue;
                size_t m = 0;
                while (m < nl && lc((unsigned char)h[i + m]) == lc((unsigned char)name[m]))
                    m++;
                if (m != nl)
                    continue;
                size_t j = i + nl;
                while (j < lend && (h[j] == ' ' || h[j] == '\t'))
                    j++;
                if (j < lend && h[j] == ':') {
                    w[q].at = i;
                    left--;
                }
            }
        }
        i = e ? lend + 1 : hlen;
    }
}

int bg_mime_header(const char *h, size_t hlen, const char *name,
                   char *val, size_t valsz)
{
    /* Compare names in place and decode only the matching field: most
     * fields are not wanted. */
    struct want w = { name, strlen(name), NOT_FOUND };
    find_fields(h, hlen, 0, &w, 1);
    if (w.at != NOT_FOUND) {
        value_at(h, hlen, w.at, val, valsz);
        return 1;
    }
    if (valsz)
        val[0] = 0;
    return 0;
}

/* Longer names are not indexed by length (their key matches no lookup's)
 * and lookups of them scan. */
#define IDX_NAME_MAX 1024u
#define KEY_LONG (~0ull)

/* The index key of a name of nlen bytes at s: equal for names equal but
 * for case (c | 0x20 maps both cases of a letter to one byte). */
static unsigned long long name_key(const char *s, size_t nlen)
{
    if (nlen >= IDX_NAME_MAX)
        return KEY_LONG;
    if (nlen == 0)
        return 0;
    unsigned f = (unsigned char)s[0] | 0x20u;
    unsigned m = (unsigned char)s[nlen / 2] | 0x20u;
    unsigned l = (unsigned char)s[nlen - 1] | 0x20u;
    return (unsigned long long)nlen << 32 | f << 16 | m << 8 | l;
}

void bg_mime_index(const char *h, size_t hlen, struct bg_mime_hdrs *x)
{
    x->h = h;
    x->hlen = hlen;
    x->n = 0;
    x->rest = hlen;
    size_t i = 0;
    while (i < hlen) {
        const char *e = memchr(h + i, '\n', hlen - i);
        size_t lend = e ? (size_t)(e - h) : hlen;
        const char *c;
        if (h[i] != ' ' && h[i] != '\t' && (c = memchr(h + i, ':', lend - i)) != NULL) {
            if (x->n == BG_MIME_HDRS_MAX) {
                x->rest = i;
                return;
            }
            size_t nlen = (size_t)(c - (h + i));
            while (nlen > 0 && (h[i + nlen - 1] == ' ' || h[i + nlen - 1] == '\t'))
                nlen--;
            struct bg_mime_hdr_ent *en = &x->e[x->n++];
            en->off = i;
            en->colon = (size_t)(c - h);
            en->key = name_key(h + i, nlen);
        }
        i = e ? lend + 1 : hlen;
    }
}

int bg_mime_hdr_get(const struct bg_mime_hdrs *x, const char *name,
                    char *val, size_t valsz)
{
    const char *h = x->h;
    /* the index holds names cut at the first ':' and trimmed of trailing
     * blanks: a name with those bytes is looked up the slow way */
    size_t nl = strcspn(name, ": \t");
    if (name[nl] || nl >= IDX_NAME_MAX)
        return bg_mime_header(h, x->hlen, name, val, valsz);
    unsigned long long key = name_key(name, nl);
    for (size_t k = 0; k < x->n; k++) {
        const struct bg_mime_hdr_ent *en = &x->e[k];
        if (en->key != key)
            continue;
        size_t m = 0;
        while (m < nl && lc((unsigned char)h[en->off + m]) == lc((unsigned char)name[m]))
            m++;
        if (m == nl) {
            value_at_colon(h, x->hlen, en->colon, val, valsz);
            return 1;
        }
    }
    if (x->rest < x->hlen) {
        struct want w = { name, nl, NOT_FOUND };
        find_fields(h, x->hlen, x->rest, &w, 1);
        if (w.at != NOT_FOUND) {
            value_at(h, x->hlen, w.at, val, valsz);
            return 1;
        }
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
    const struct bg_mime_hdrs *top; /* the message's header index, or NULL */
};

static void walk_entity(struct walk *w, const char *p, size_t len, int depth,
                        const char *deftype)
{
    if (w->n >= w->max)
        return;
    size_t boff;
    size_t hl = bg_mime_split(p, len, &boff);
    struct bg_mime_part *pt = &w->parts[w->n++];
    memset(pt, 0, sizeof *pt);
    pt->hdr = p;
    pt->hdr_len = hl;
    pt->body = p + boff;
    pt->body_len = len - boff;
    pt->depth = depth;
    /* Content-Type is read once, big enough for the boundary parameter
     * (the media type is cut far shorter); both fields in one pass over
     * the header block, or from the caller's index of it */
    char ct[BG_MIME_BOUNDARY_MAX * 2 + 128];
    char te[64];
    int ct_found, te_found;
    if (depth == 0 && w->top && w->top->h == p && w->top->hlen == hl) {
        ct_found = bg_mime_hdr_get(w->top, "content-type", ct, sizeof ct);
        te_found = bg_mime_hdr_get(w->top, "content-transfer-encoding", te, sizeof te);
    } else {
        struct want wt[2] = { { "content-type", 12, NOT_FOUND },
                              { "content-transfer-encoding", 25, NOT_FOUND } };
        find_fields(p, hl, 0, wt, 2);
        ct_found = wt[0].at != NOT_FOUND;
        te_found = wt[1].at != NOT_FOUND;
        ct[0] = 0;
        if (ct_found)
            value_at(p, hl, wt[0].at, ct, sizeof ct);
        if (te_found)
            value_at(p, hl, wt[1].at, te, sizeof te);
    }
    int has_ct = ct_found && ct[0];
    if (has_ct)
        bg_mime_media_type(ct, pt->type, sizeof pt->type);
    if (!strchr(pt->type, '/')) {
        size_t k = strlen(deftype);
        if (k >= sizeof pt->type)
            k = sizeof pt->type - 1;
        memcpy(pt->type, deftype, k);
        pt->type[k] = 0;
    }
    if (te_found)
        pt->enc = bg_mime_encoding(te);
    char b[BG_MIME_BOUNDARY_MAX + 2];
    int guessed = 0;
    if (depth >= w->maxdepth)
        return;
    if (strncmp(pt->type, "multipart/", 10) == 0) {
        if (!ct_found || !bg_mime_param(ct, "boundary", b, sizeof b)) {
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
    size_t start = 0;
    int in_part = 0;
    int found = 0;
    /* Delimiters are lines starting with "--" boundary: visit only those,
     * the first line and then every "\n--boundary". Each match is a
     * different line (the needle has one LF, at its start), and the next
     * search starts at the LF that ends the line: linear in blen_body. */
    char nd[BG_MIME_BOUNDARY_MAX + 3];
    nd[0] = '\n';
    nd[1] = '-';
    nd[2] = '-';
    memcpy(nd + 3, b, blen);
    size_t i = 0;
    int cand = blen_body >= blen + 2 && memcmp(body, nd + 1, blen + 2) == 0;
    while (w->n < w->max) {
        if (!cand) {
            const char *m = i < blen_body ? memmem(body + i, blen_body - i, nd, blen + 3)
                                          : NULL;
            if (!m)
                break;
            i = (size_t)(m - body) + 1;
        }
        cand = 0;
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
        if (next >= blen_body)
            break;
        i = next - 1; /* the LF that ends this line */
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
    return bg_mime_walk_hdrs(msg, len, NULL, maxdepth, parts, maxparts);
}

size_t bg_mime_walk_hdrs(const char *msg, size_t len,
                         const struct bg_mime_hdrs *idx, int maxdepth,
                         struct bg_mime_part *parts, size_t maxparts)
{
    struct walk w = { parts, maxparts, 0, maxdepth, idx };
    if (!msg || !parts || !maxparts)
        return 0;
    walk_entity(&w, msg, len, 0, "text/plain");
    return w.n;
}
