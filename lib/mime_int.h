/* mime_int.h - what the MIME files share: byte helpers, the line and
 * field primitives of the header reader (mime.c) that the content-type
 * readers (mime_decode.c) and the multipart walk (mime_walk.c) use. Not
 * an API: mime.h is.
 */
#ifndef BG_MIME_INT_H
#define BG_MIME_INT_H

#include "mime.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int lc(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
static inline int is_ws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Eight bytes with ASCII capitals made small (SWAR: a byte is a capital
 * when its low seven bits are in 'A'..'Z' and its high bit is clear; the
 * additions cannot carry into the next byte). Names are compared and
 * lower-cased eight bytes at a time with it: a byte at a time costs more
 * than the rest of a header lookup. */
static inline uint64_t lower8(uint64_t x)
{
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7full, high = 0x8080808080808080ull;
    uint64_t h7 = x & low7;
    uint64_t ge_a = h7 + 0x3f3f3f3f3f3f3f3full; /* 0x80 - 'A' */
    uint64_t gt_z = h7 + 0x2525252525252525ull; /* 0x80 - ('Z' + 1) */
    uint64_t cap = ge_a & ~gt_z & ~x & high;
    return x | cap >> 2;
}

static inline uint64_t load8(const char *s)
{
    uint64_t x;
    memcpy(&x, s, 8);
    return x;
}

/* Stores the n bytes at s lower-cased at d (the same way, never past n). */
static inline void lower_copy(char *d, const char *s, size_t n)
{
    if (n >= 8) {
        size_t m = 0;
        for (; m + 8 < n; m += 8) {
            uint64_t x = lower8(load8(s + m));
            memcpy(d + m, &x, 8);
        }
        uint64_t x = lower8(load8(s + n - 8));
        memcpy(d + n - 8, &x, 8);
        return;
    }
    if (n >= 4) {
        /* the first and the last four bytes (they may overlap), each
         * lowered as a word whose high bytes are zero */
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        a = (uint32_t)lower8(a);
        b = (uint32_t)lower8(b);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
        return;
    }
    for (size_t m = 0; m < n; m++) {
        unsigned ch = (unsigned char)s[m];
        d[m] = (char)(ch | (unsigned)((ch - 'A') < 26u) << 5);
    }
}

/* Offset just past the end of the line starting at i (past the LF), and
 * the line's content length without CR/LF in *cl. */
static inline size_t line_end(const char *p, size_t len, size_t i, size_t *cl)
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

/* The bytes a field value drops (runs of them become one space): NUL,
 * TAB, CR and SP. */
static inline int vblank(unsigned c)
{
    return c <= ' ' && ((0x100002201ull >> c) & 1);
}

#define NOT_FOUND ((size_t)-1)

struct want {
    const char *name;
    size_t nl;
    size_t at;    /* line of the first field so named, NOT_FOUND if none */
    size_t colon; /* its ':' */
    size_t eol;   /* the LF ending its line, or the end of the block */
};

/* The bytes that end a media type: NUL, TAB, LF, CR, SP and ';' (all
 * below 64: a bit each). */
#define TYPE_STOP (1ull | 1ull << '\t' | 1ull << '\n' | 1ull << '\r' | 1ull << ' ' | 1ull << ';')

/* ---- mime.c */
/* Do the n bytes at s equal name (lower case, n bytes) but for ASCII
 * case? */
int ci_name(const char *s, const char *name, size_t n);

/* The value of the field whose line's first ':' is at colon and whose
 * line ends at eol (its LF, or hlen); returns its length. */
size_t value_of(const char *h, size_t hlen, size_t colon, size_t eol, char *val, size_t valsz);

/* find_fields(h, len, 0, 1, body_off, w, 2) for the fields a part's walk
 * needs, w[0] Content-Type and w[1] Content-Transfer-Encoding: a line
 * names either only when its first eight bytes are "content-" (but for
 * case), one compare of a word. */
size_t find_ct_te(const char *h, size_t len, size_t *body_off, struct want *w);

/* Where the field called name is (its ':' and line end), from the index. */
int idx_find(const struct bg_mime_hdrs *x, const char *name, size_t nl,
             size_t *colon, size_t *eol);

/* ---- mime_decode.c */
/* The media type at the start of v[0, n) (no NUL in it), lower-cased into
 * out, cut to outsz - 1 bytes: its length. (The walk reads a part's type
 * with first_token, from the header bytes.) */
size_t media_type_n(const char *v, size_t n, char *out, size_t outsz);

/* bg_mime_param of v[0, n) (no NUL in it) and a name of plen bytes. */
int param_n(const char *v, size_t n, const char *param, size_t plen,
            char *out, size_t outsz);

/* The encoding a lower-cased token of tl bytes names. */
enum bg_mime_enc encoding_of(const char *t, size_t tl);

#endif
