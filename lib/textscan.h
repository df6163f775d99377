/* textscan.h - searching text from strangers: case-insensitive search of
 * one needle (linear whatever the input), a multi-needle scanner for the
 * fixed phrase lists of the bounce parser, and the small byte helpers
 * they share (ASCII only: no locale). Used by the dsn_*.c files.
 */
#ifndef BG_TEXTSCAN_H
#define BG_TEXTSCAN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ASCII lower-casing by table: the scanners call it per byte. */
extern const unsigned char textscan_lc_tab[256];
static inline int lc(int c) { return textscan_lc_tab[(unsigned char)c]; }
static inline int is_digit(int c) { return c >= '0' && c <= '9'; }
static inline int is_alnum(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline int is_alpha_c(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static inline int is_sp(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Copy at most n bytes of src, always NUL-terminated within dsz. */
static inline void scopy(char *dst, size_t dsz, const char *src, size_t n)
{
    if (!dsz)
        return;
    if (n >= dsz)
        n = dsz - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static inline void scpy(char *dst, size_t dsz, const char *src)
{
    scopy(dst, dsz, src, strlen(src));
}

/* The multi-needle scanner.
 * Several ASCII needles (at most 64) searched in one pass: a bit set per
 * (lower-cased) first and second byte filters the candidates, survivors
 * are compared in full, eight bytes at a time (a word test in plain C).
 * Needles are fixed strings of the parser, so the work per input byte is
 * bounded by a constant: linear time.
 *
 * The scanners are built once (MSCAN_STATIC) and only read afterwards, so
 * threads share them. (An SSSE3/AVX2 "Teddy" filter ran here before
 * issue 16: sixteen or thirty-two positions at a time, with scalar twins.
 * The parser reads bounces, a few percent of a site's mail, and is far
 * off the RCPT path: the plain loop is what is kept; see
 * test/bench/classify-bench.sh for what it costs.) No library does this
 * for a fixed needle set: libc's memmem takes one needle, and a regex
 * engine would be a dependency for 60 strings. */
struct mscan {
    const char *const *nd;
    size_t cnt;
    unsigned char len[64];
    size_t maxlen;            /* of the longest needle */
    unsigned char first[256]; /* byte may start some needle (either case) */
    /* the needles whose first (t0) and second (t1) byte is the index,
     * lower case; 0 from 0x80 on (no needle has such a byte, and a byte
     * from 0x80 on after a one-byte needle was never a match either), so
     * any byte can index them */
    unsigned long long t0[256], t1[256];
    /* the first 8 bytes (fewer when shorter) of each needle, lower case,
     * as one word: the input's 8 bytes with the 0x20 bit forced on where
     * the needle has a letter (cs) equal it under mask exactly when
     * they match case-insensitively (for a non-letter lc() changes no
     * byte that could equal it) */
    uint64_t pre[64], cs[64], pmask[64];
    /* the same for the needle's bytes 8..15 (pmask2 0 when it has no
     * more than 8): "delivery failed" and "delivery has failed" part
     * there, and one word test beats eight byte compares */
    uint64_t pre2[64], cs2[64], pmask2[64];
    /* compat[d]: the needles that can match where exactly d (1..7) of the
     * 8 bytes from the candidate on are its first byte, or at least 8 (8):
     * a needle whose first byte is no letter must repeat it exactly as
     * often ("-----Original" only where five dashes and no sixth); runs of
     * dashes would otherwise try every dashed needle at every byte */
    unsigned long long compat[9];
    unsigned long long all;   /* every needle */
};

/* Case-insensitive search of needle (NUL-terminated, < 512 bytes) in
 * hay[0,n): where it starts, or NULL. Linear in n whatever the needle. */
const char *ci_find(const char *hay, size_t n, const char *needle);

/* Builds a scanner for nd[0, cnt) (at most 64 ASCII needles; nd must
 * outlive it). MSCAN_STATIC below builds one once, for a constant list. */
void mscan_init(struct mscan *ms, const char *const *nd, size_t cnt);

/* First match at or after pos of a needle in the set `want`: returns its
 * index and sets *at, or -1. */
int mscan_next(const struct mscan *ms, const char *hay, size_t n, size_t pos,
               unsigned long long want, size_t *at);

/* Does s start with pre, ignoring ASCII case? (s is NUL-terminated.) */
int ci_prefix(const char *s, const char *pre);

/* Are a and b equal, ignoring ASCII case? */
int ci_eq(const char *a, const char *b);

/* Collapse runs of white space to one space, trim; in place. */
size_t collapse_n(char *s, size_t n);

/* collapse_n of a NUL-terminated string. */
void collapse(char *s);

/* Copy n bytes of text collapsed into dst. */
void copy_collapsed(char *dst, size_t dsz, const char *src, size_t n);

/* Length of the line at p (up to n), without CR/LF; *adv is where the
 * next line starts. */
size_t line_len(const char *p, size_t n, size_t *adv);

/* Just after the last '\n' of t[rb - lim, rb) (from t[0] when rb < lim),
 * else its start: the start of rb's line, at most lim bytes back. */
size_t line_start_back(const char *t, size_t rb, size_t lim);

/* Is there a needle of `want` at h[i]? Its index, or -1. (Inlined into
 * the scan loop: a call per candidate cost more than the check.) */
__attribute__((always_inline)) static inline int
mscan_at(const struct mscan *ms, const unsigned char *h, size_t n, size_t i,
         unsigned long long want)
{
    unsigned char b0 = h[i];
    unsigned char b1 = i + 1 < n ? h[i + 1] : 0;
    unsigned long long mk = ms->t0[lc(b0)] & ms->t1[lc(b1)] & want;
    if (!mk)
        return -1;
    /* eight bytes at once where there are eight (little-endian words) */
    uint64_t w = 0;
    int wide = n - i >= 8;
    if (wide && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
        memcpy(&w, h + i, 8);
        uint64_t x = w ^ (0x0101010101010101ULL * b0);
        mk &= ms->compat[x ? __builtin_ctzll(x) >> 3 : 8];
    }
    while (mk) {
        int k = __builtin_ctzll(mk);
        mk &= mk - 1;
        size_t l = ms->len[k];
        if (l > n - i)
            continue;
        const char *nd = ms->nd[k];
        size_t j = 2;
        if (wide && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
            if (((w | ms->cs[k]) ^ ms->pre[k]) & ms->pmask[k])
                continue;
            j = l < 8 ? l : 8;
            if (l > 8 && n - i >= 16) {
                uint64_t w2;
                memcpy(&w2, h + i + 8, 8);
                if (((w2 | ms->cs2[k]) ^ ms->pre2[k]) & ms->pmask2[k])
                    continue;
                j = l < 16 ? l : 16;
            }
        }
        while (j < l && lc(h[i + j]) == lc((unsigned char)nd[j]))
            j++;
        if (j >= l)
            return k;
    }
    return -1;
}

/* MSCAN_STATIC(name, needles): a scanner for a constant needle array,
 * built on first use; name_scanner() returns it. */
#define MSCAN_STATIC(name, needles)                                        \
    static struct mscan name##_ms;                                         \
    static pthread_once_t name##_once = PTHREAD_ONCE_INIT;                 \
    static void name##_build(void)                                         \
    {                                                                      \
        mscan_init(&name##_ms, needles, sizeof needles / sizeof needles[0] - 1); \
    }                                                                      \
    static const struct mscan *name##_scanner(void)                        \
    {                                                                      \
        pthread_once(&name##_once, name##_build);                          \
        return &name##_ms;                                                 \
    }

#endif
