/* mime_walk.c - the multipart walk: a message's MIME tree, depth-first,
 * into a bounded table of parts (type, encoding, body), finding each
 * boundary once per line, guessing one a sender left out, at most
 * maxdepth levels deep. See mime.h.
 */
#include "mime_int.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

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



size_t bg_mime_next_lf2(const char *p, size_t len, size_t from, size_t end, char c1, char c2)
{
    (void)len;   /* end + 2 <= len: p[k + 2] is in bounds for every k < end */
    size_t k = from;
    while (k < end) {
        /* libc's memchr finds the LFs (it is vectorised there, not here) */
        const char *nl = memchr(p + k, '\n', end - k);
        if (nl == NULL)
            return end;
        k = (size_t)(nl - p);
        if (p[k + 1] == c1 && p[k + 2] == c2)
            return k;
        k++;
    }
    return end;
}

/* The next LF at or after from (and before end) that starts "\n--": the
 * line after it is the next that may be a delimiter. */
static size_t dd_next(const char *p, size_t len, size_t from, size_t end)
{
    return bg_mime_next_lf2(p, len, from, end, '-', '-');
}

/* A multipart without a usable boundary parameter (broken folding, or
 * MIME headers stripped by a relay): take the first "--token" line that
 * is followed by a "Content-" header line. Looks at the first 64 KiB. */
static int guess_boundary(const char *p, size_t len, char *b, size_t bsz)
{
    size_t i = 0, lim = len < 65536 ? len : 65536;
    /* Only lines that start with "--" can be taken: the first line, and
     * after it those after an LF that "--" follows, looked for a block
     * at a time rather than a line at a time. A line starts before lim:
     * its LF is before lim - 1; the LF and "--" are within len. */
    if (lim == 0)
        return 0;
    size_t end = len >= 3 ? (lim - 1 < len - 2 ? lim - 1 : len - 2) : 0, from = 0;
    for (int first = 1;; first = 0) {
        if (!first) {
            size_t k = dd_next(p, len, from, end);
            if (k >= end)
                return 0;
            i = k + 1;
        }
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
        from = next - 1; /* the LF that ends the line (or past end) */
    }
}

/* A search for "\n--" boundary (f.m bytes, at most 255) through a body,
 * set up once per multipart: Horspool's, which skips by the last byte of
 * the window. Linear: a window is compared in full only when it starts
 * at an LF, and the needle's only LF is its first byte, so the compare
 * stops by the next LF of the body. */
struct finder {
    size_t m;
    unsigned char nd[BG_MIME_BOUNDARY_MAX + 3];
    unsigned char shift[256];
};

_Static_assert(BG_MIME_BOUNDARY_MAX + 3 <= 255, "shifts fit a byte");

static void finder_init(struct finder *f)
{
    memset(f->shift, (int)f->m, sizeof f->shift);
    for (size_t k = 0; k + 1 < f->m; k++)
        f->shift[f->nd[k]] = (unsigned char)(f->m - 1 - k);
}

/* The first match at or after from, NOT_FOUND if none. */
static size_t finder_next(const struct finder *f, const char *t, size_t n, size_t from)
{
    size_t m = f->m;
    if (n < m || from > n - m)
        return NOT_FOUND;
    const unsigned char *u = (const unsigned char *)t;
    const unsigned char last = f->nd[m - 1];
    size_t pos = from, end = n - m;
    for (;;) {
        unsigned char c = u[pos + m - 1];
        if (c == last && u[pos] == '\n' && memcmp(u + pos + 1, f->nd + 1, m - 2) == 0)
            return pos;
        pos += f->shift[c];
        if (pos > end)
            return NOT_FOUND;
    }
}

/* The first token of the value of the field whose line's first ':' is at
 * colon and whose line ends at eol (its LF, or hlen): what media_type_n
 * (outsz <= 64) makes of the value value_of would store, read from the
 * header bytes. A part's type and transfer encoding are all that most
 * parts need of those fields: no copy of the unfolded value. The value
 * starts at the first byte that is not vblank, here or on a continuation
 * line, and the token ends at a vblank (a run of them is one space in the
 * value), ';' or the line's end (the continuation after it starts with a
 * blank). Returns 0 when the value is empty, else the token, lower-cased
 * and cut to outsz - 1 bytes, is in out and its length in *tl. h[0, rd)
 * (rd >= hlen: the entity the block starts) may be read. */
static int first_token(const char *h, size_t hlen, size_t rd, size_t colon, size_t eol,
                       char *out, size_t outsz, size_t *tl)
{
    size_t j = colon + 1, lend = eol, next = eol < hlen ? eol + 1 : hlen;
    if (h[lend - 1] == '\r') /* never the ':' */
        lend--;
    out[0] = 0;
    *tl = 0;
    for (;;) {
        while (j < lend && vblank((unsigned char)h[j]))
            j++;
        if (j < lend)
            break;
        if (next >= hlen || (h[next] != ' ' && h[next] != '\t'))
            return 0;
        size_t cl;
        j = next;
        next = line_end(h, hlen, j, &cl);
        lend = j + cl;
    }
    size_t lim = lend - j < outsz - 1 ? lend : j + outsz - 1, k = j;
    (void)rd;
    for (unsigned ch; k < lim && ((ch = (unsigned char)h[k]) > ';' || !((TYPE_STOP >> ch) & 1)); k++)
        ;
    lower_copy(out, h + j, k - j);
    out[k - j] = 0;
    *tl = k - j;
    return 1;
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
    /* Where Content-Type and Content-Transfer-Encoding are: the split
     * and both fields in one pass over the header block, or from the
     * caller's index of it. The type and the encoding are read from the
     * header bytes; only a multipart's Content-Type is unfolded (for its
     * boundary parameter). */
    int ct_found, te_found;
    size_t boff, hl, ct_colon = 0, ct_eol = 0, te_colon = 0, te_eol = 0;
    if (depth == 0 && w->top && w->top->h == p && w->top->msg_len == len) {
        hl = w->top->hlen;
        boff = w->top->body_off;
        ct_found = idx_find(w->top, "content-type", 12, &ct_colon, &ct_eol);
        te_found = idx_find(w->top, "content-transfer-encoding", 25, &te_colon, &te_eol);
    } else {
        struct want wt[2] = { { "content-type", 12, NOT_FOUND, 0, 0 },
                              { "content-transfer-encoding", 25, NOT_FOUND, 0, 0 } };
        hl = find_ct_te(p, len, &boff, wt);
        ct_found = wt[0].at != NOT_FOUND;
        te_found = wt[1].at != NOT_FOUND;
        ct_colon = wt[0].colon;
        ct_eol = wt[0].eol;
        te_colon = wt[1].colon;
        te_eol = wt[1].eol;
    }
    struct bg_mime_part *pt = &w->parts[w->n++];
    memset(pt, 0, sizeof *pt);
    pt->hdr = p;
    pt->hdr_len = hl;
    pt->body = p + boff;
    pt->body_len = len - boff;
    pt->depth = depth;
    /* lengths are known: no strlen, strchr or strcmp on the type */
    size_t tl = 0;
    int has_ct = ct_found && first_token(p, hl, len, ct_colon, ct_eol, pt->type, sizeof pt->type, &tl);
    if (!memchr(pt->type, '/', tl)) {
        size_t k = strlen(deftype);
        if (k >= sizeof pt->type)
            k = sizeof pt->type - 1;
        memcpy(pt->type, deftype, k);
        pt->type[k] = 0;
        tl = k;
    }
    if (te_found) {
        char t[32];
        size_t el;
        first_token(p, hl, len, te_colon, te_eol, t, sizeof t, &el);
        pt->enc = encoding_of(t, el);
    }
    char b[BG_MIME_BOUNDARY_MAX + 2];
    int guessed = 0;
    if (depth >= w->maxdepth)
        return;
    if (tl >= 10 && memcmp(pt->type, "multipart/", 10) == 0) {
        /* the boundary parameter, big enough (the media type is cut far
         * shorter) */
        char ct[BG_MIME_BOUNDARY_MAX * 2 + 128];
        size_t ct_len = ct_found ? value_of(p, hl, ct_colon, ct_eol, ct, sizeof ct) : 0;
        if (!ct_found || !param_n(ct, ct_len, "boundary", 8, b, sizeof b)) {
            if (!guess_boundary(pt->body, pt->body_len, b, sizeof b))
                return;
            guessed = 1;
        }
    } else if (depth == 0 && !has_ct &&
               guess_boundary(pt->body, pt->body_len, b, sizeof b)) {
        memcpy(pt->type, "multipart/mixed", sizeof "multipart/mixed");
        tl = sizeof "multipart/mixed" - 1;
        guessed = 1;
    } else {
        return;
    }
    size_t blen = strlen(b);
    if (blen == 0 || blen > BG_MIME_BOUNDARY_MAX)
        return;
    pt->multipart = 1;
    const char *child_def =
        tl == 16 && memcmp(pt->type, "multipart/digest", 16) == 0 ? "message/rfc822" : "text/plain";
    const char *body = pt->body;
    size_t blen_body = pt->body_len;
    size_t start = 0;
    int in_part = 0;
    int found = 0;
    /* Delimiters are lines starting with "--" boundary: visit only those,
     * the first line and then every "\n--boundary". Each match is a
     * different line (the needle has one LF, at its start), and the next
     * search starts at the LF that ends the line: linear in blen_body. */
    struct finder f;
    f.m = blen + 3;
    f.nd[0] = '\n';
    f.nd[1] = '-';
    f.nd[2] = '-';
    memcpy(f.nd + 3, b, blen);
    finder_init(&f);
    size_t i = 0;
    int cand = blen_body >= blen + 2 && memcmp(body, f.nd + 1, blen + 2) == 0;
    while (w->n < w->max) {
        if (!cand) {
            size_t at = finder_next(&f, body, blen_body, i);
            if (at == NOT_FOUND)
                break;
            i = at + 1;
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

