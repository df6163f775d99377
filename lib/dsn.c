/* dsn.c - parse bounces, complaints and auto-replies; see dsn.h.
 *
 * Plan: split the MIME tree (mime.c, bounded depth and part count), read
 * machine-readable parts first (message/delivery-status,
 * message/global-delivery-status, message/feedback-report), then the
 * human-readable text for everything vendors send without a DSN part,
 * and for details a DSN part leaves out (the SMTP command, the remote
 * server's reply). Every scan is linear in the bytes looked at; the only
 * heap use is one block per message (context, decode buffer and text),
 * kept by the thread for its next message when at most CTX_KEEP bytes
 * (freed with the thread), else freed before returning.
 */
#include "dsn.h"
#include "mime.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_SCAN ((size_t)1 << 20)
#define MAX_PARTS 96
#define FIELD_MAX 1024

/* ---- small string helpers -------------------------------------------- */

/* ASCII lower-casing by table: the scanners below call it per byte. */
static const unsigned char lc_tab[256] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
    64, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 91, 92, 93, 94, 95,
    96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,
    128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143,
    144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159,
    160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175,
    176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191,
    192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207,
    208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223,
    224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239,
    240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255,
};
static inline int lc(int c) { return lc_tab[(unsigned char)c]; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alnum(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_alpha_c(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_sp(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static void scopy(char *dst, size_t dsz, const char *src, size_t n)
{
    if (!dsz)
        return;
    if (n >= dsz)
        n = dsz - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static void scpy(char *dst, size_t dsz, const char *src)
{
    scopy(dst, dsz, src, strlen(src));
}

/* KMP from hay[0,n): the fallback that keeps ci_find linear. */
static const char *ci_find_kmp(const char *hay, size_t n, const char *needle, size_t m)
{
    unsigned short fail[512];
    fail[0] = 0;
    for (size_t i = 1, k = 0; i < m; i++) {
        while (k > 0 && lc((unsigned char)needle[i]) != lc((unsigned char)needle[k]))
            k = fail[k - 1];
        if (lc((unsigned char)needle[i]) == lc((unsigned char)needle[k]))
            k++;
        fail[i] = (unsigned short)k;
    }
    for (size_t i = 0, k = 0; i < n; i++) {
        int ch = lc((unsigned char)hay[i]);
        while (k > 0 && ch != lc((unsigned char)needle[k]))
            k = fail[k - 1];
        if (ch == lc((unsigned char)needle[k]))
            k++;
        if (k == m)
            return hay + i + 1 - m;
    }
    return NULL;
}

/* ci_find's check of a candidate h[j] whose first byte matched (m >= 2,
 * j + m within the input): 1 when the needle is there, 0 when not; the
 * bytes compared are paid from *budget, and 2 says it ran out (go on
 * with KMP from j + 1). */
static int ci_rest(const unsigned char *h, size_t j, const char *needle, size_t m,
                   size_t *budget)
{
    size_t k = 1;
    while (k < m && lc(h[j + k]) == lc((unsigned char)needle[k]))
        k++;
    if (k == m)
        return 1;
    if (k > *budget)
        return 2;
    *budget -= k;
    return 0;
}


/* Case-insensitive search of needle (NUL-terminated, < 512 bytes) in
 * hay[0,n). Fast path: find the positions where the first byte occurs
 * (eight bytes at a time, a word test in plain C), compare the rest; when the comparisons cost more than a few passes over
 * the input (hostile, repetitive text), continue with Knuth-Morris-Pratt,
 * so the time stays linear in n whatever the needle. */
static const char *ci_find(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0)
        return hay;
    if (m > n || m >= 512)
        return NULL;
    const unsigned char *h = (const unsigned char *)hay;
    int c0 = lc((unsigned char)needle[0]);
    int u0 = (c0 >= 'a' && c0 <= 'z') ? c0 - 32 : c0;
    size_t budget = 2 * n + 256;
    size_t last = n - m;
    size_t i = 0;
    /* eight bytes at a time while neither case of the first byte occurs
     * (the classic "has zero byte" test on x ^ pattern) */
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    const uint64_t p0 = ones * (uint64_t)c0, pu = ones * (uint64_t)u0;
    for (; i <= last; i++) {
        while (i + 8 <= n) {
            uint64_t w, x, y;
            memcpy(&w, h + i, 8);
            x = w ^ p0;
            y = w ^ pu;
            if ((((x - ones) & ~x) | ((y - ones) & ~y)) & highs)
                break;
            i += 8;
        }
        if (i > last)
            break;
        if (h[i] != c0 && h[i] != u0)
            continue;
        if (m == 1)
            return hay + i;
        int r = ci_rest(h, i, needle, m, &budget);
        if (r == 1)
            return hay + i;
        if (r == 2)
            return ci_find_kmp(hay + i + 1, n - i - 1, needle, m);
    }
    return NULL;
}

/* ---- multi-needle scanner ----------------------------------------------
 * Several ASCII needles (at most 64) searched in one pass: a bit set per
 * (lower-cased) first and second byte filters the candidates, survivors
 * are compared in full, eight bytes at a time (a word test in plain C).
 * Needles are fixed strings of this file, so the work per input byte is
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

static void mscan_init(struct mscan *ms, const char *const *nd, size_t cnt)
{
    memset(ms, 0, sizeof *ms);
    ms->nd = nd;
    ms->cnt = cnt > 64 ? 64 : cnt;
    for (size_t i = 0; i < ms->cnt; i++) {
        ms->all |= 1ULL << i;
        size_t l = strlen(nd[i]);
        ms->len[i] = (unsigned char)(l > 255 ? 255 : l);
        if (ms->len[i] > ms->maxlen)
            ms->maxlen = ms->len[i];
        unsigned char a = (unsigned char)lc((unsigned char)nd[i][0]) & 0x7f;
        unsigned char c1 = l > 1 ? (unsigned char)lc((unsigned char)nd[i][1]) & 0x7f : 0;
        size_t lead = 1, l8 = l < 8 ? l : 8;
        while (lead < l8 && nd[i][lead] == nd[i][0])
            lead++;
        for (unsigned d = 1; d <= 8; d++)
            if (is_alpha_c((unsigned char)nd[i][0]) || (lead == l8 ? d >= lead : d == lead))
                ms->compat[d] |= 1ULL << i;
        for (size_t j = 0; j < 8 && j < l; j++) {
            unsigned char f = (unsigned char)lc((unsigned char)nd[i][j]);
            ms->pre[i] |= (uint64_t)f << (8 * j);
            ms->pmask[i] |= (uint64_t)0xff << (8 * j);
            if (f >= 'a' && f <= 'z')
                ms->cs[i] |= (uint64_t)0x20 << (8 * j);
        }
        for (size_t j = 8; j < 16 && j < l; j++) {
            unsigned char f = (unsigned char)lc((unsigned char)nd[i][j]);
            ms->pre2[i] |= (uint64_t)f << (8 * (j - 8));
            ms->pmask2[i] |= (uint64_t)0xff << (8 * (j - 8));
            if (f >= 'a' && f <= 'z')
                ms->cs2[i] |= (uint64_t)0x20 << (8 * (j - 8));
        }
        ms->t0[a] |= 1ULL << i;
        ms->first[a] = 1;
        if (a >= 'a' && a <= 'z')
            ms->first[a - 32] = 1;
        if (l > 1)
            ms->t1[c1] |= 1ULL << i;
        else
            for (size_t k = 0; k < 128; k++)
                ms->t1[k] |= 1ULL << i;
    }
}

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

/* First match at or after pos of a needle in the set `want`: returns its
 * index and sets *at, or -1. */
static int mscan_next(const struct mscan *ms, const char *hay, size_t n, size_t pos,
                      unsigned long long want, size_t *at)
{
    const unsigned char *h = (const unsigned char *)hay;
    size_t i = pos;
    if (ms->cnt == 0)
        return -1;
    for (; i < n; i++) {
        while (!ms->first[h[i]])
            if (++i >= n)
                return -1;
        int k = mscan_at(ms, h, n, i, want);
        if (k >= 0) {
            *at = i;
            return k;
        }
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

static int ci_prefix(const char *s, const char *pre)
{
    while (*pre) {
        if (lc((unsigned char)*s) != lc((unsigned char)*pre))
            return 0;
        s++;
        pre++;
    }
    return 1;
}

static int ci_eq(const char *a, const char *b)
{
    while (*a && *b && lc((unsigned char)*a) == lc((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == 0 && *b == 0;
}

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


/* Collapse runs of white space to one space, trim; in place. */
static size_t collapse_n(char *s, size_t n)
{
    size_t r = 0, w = 0;
    int sp = 0;
    while (r < n) {
        size_t lim = n - r > 16 ? r + 16 : n;
        for (; r < lim; r++) {
            unsigned char c = (unsigned char)s[r];
            if (c <= 0x20) { /* is_sp(c) || c < 0x20 */
                sp = w != 0;
                continue;
            }
            if (sp)
                s[w++] = ' ';
            sp = 0;
            s[w++] = (char)c;
        }
    }
    s[w] = 0;
    return w;
}

static void collapse(char *s)
{
    collapse_n(s, strlen(s));
}

/* Copy n bytes of text collapsed into dst. */
static void copy_collapsed(char *dst, size_t dsz, const char *src, size_t n)
{
    size_t o = 0, i = 0;
    int sp = 0;
    if (!dsz)
        return;
    while (i < n && o + 1 < dsz) {
        size_t lim = n - i > 16 ? i + 16 : n;
        for (; i < lim && o + 1 < dsz; i++) {
            unsigned char c = (unsigned char)src[i];
            if (c <= 0x20) { /* is_sp(c) || c < 0x20 */
                sp = o > 0;
                continue;
            }
            if (sp && o + 2 < dsz)
                dst[o++] = ' ';
            sp = 0;
            dst[o++] = (char)c;
        }
    }
    dst[o] = 0;
}

/* ---- addresses ---------------------------------------------------------- */

static int addr_local_char(int c) { return cc_is(c, CC_LOCAL); }

/* Around the '@' at s[at] (s has n bytes): address bounds. 1 if plausible. */
static int addr_bounds(const char *s, size_t n, size_t at, size_t *b, size_t *e)
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
static void value_addr(const char *v, char *out, size_t osz)
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

/* ---- codes ---------------------------------------------------------------- */

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

static int find_status(const char *s, char *out, size_t osz)
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

static const char *const cmd_lead[] = { "in reply to ", "after ", "response to ",
                                    ">>> ", "command ", "did not like our ",
                                    "most progress was ", "(state ", NULL };
#define N_CMD_LEAD (sizeof cmd_lead / sizeof cmd_lead[0] - 1)
MSCAN_STATIC(cmd_lead, cmd_lead)
/* The command named by the rem bytes at w (just after a lead), or NULL. */
static const char *cmd_word(const char *w, size_t rem)
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
static int find_command(const char *s, size_t n, char *out, size_t osz)
{
    const char *bestcmd = NULL;
    const struct mscan *ms = cmd_lead_scanner();
    size_t pos = 0, at;
    int l;
    while (!bestcmd && (l = mscan_next(ms, s, n, pos, ~0ULL, &at)) >= 0) {
        bestcmd = cmd_word(s + at + ms->len[l], n - (at + ms->len[l]));
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

static void fill_codes(struct bg_dsn_rcpt *r)
{
    size_t dn = strip_repeated_codes(r->diag);
    if (!r->status[0]) {
        if (find_status_n(r->diag, dn, r->status, sizeof r->status))
            skip_success_codes(r->diag, r->status, sizeof r->status, find_status);
    } else if (strcmp(r->status + 1, ".0.0") == 0) {
        /* "Status: 5.0.0" says nothing; the reply may be more precise */
        char s2[16], code[4];
        if (find_reply_n(r->diag, dn, code, sizeof code)) {
            /* the status right after the reply code: "550 5.1.1", "550-'5.7.1" */
            const char *q = strstr(r->diag, code);
            q = q ? q + 3 : "";
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

/* ---- context ---------------------------------------------------------- */

/* One per message (parse_msg), in one allocation with its two buffers.
 * ctx_new does not zero it (the string buffers come to about 5 KB): it
 * sets every field that can be read before it is written, so a field
 * added here must be set there too. */
struct ctx {
    const char *msg;
    size_t len;
    struct bg_dsn *out;
    size_t nparts;
    char *buf;          /* decode scratch: len + 1 bytes */
    char *text;         /* human-readable text, NUL-terminated, len + 1 bytes */
    size_t text_len;
    /* text_cut(text), found lazily (cut_before): the positions before
     * cut_from hold no cut mark; cut is it once cut_done */
    size_t cut, cut_from;
    int cut_done;
    char subject[512];
    char from[512];
    char from_addr[320]; /* value_addr(from), once from_addr_done */
    int from_addr_done;
    char to[512];
    /* the returned original's header block indexed (take_original), once
     * have_orig: its To: and X-HmXmrOriginalRecipient are looked up only
     * when a path reads them (orig_to_get, hmxmr_get) - most never do. The
     * index points into the input, which outlives the ctx. */
    int have_orig;
    struct bg_mime_hdrs orig_hx;
    int orig_to_done, hmxmr_done;
    char orig_to[1024];   /* set once orig_to_done */
    char xfailed[1024];
    char hmxmr[320];      /* value_addr(X-HmXmrOriginalRecipient), once hmxmr_done */
    char senders[4][320]; /* envelope/header senders seen in the text */
    int nsenders;
    char field[FIELD_MAX];  /* a delivery-status field's value */
    struct bg_mime_part parts[MAX_PARTS]; /* [0,nparts) set */
    unsigned char kind[MAX_PARTS];        /* part_kind of each part */
    size_t alloc;       /* bytes in the allocation (ctx_new, ctx_free) */
    /* buf and text follow in the same allocation (ctx_new) */
};

static struct bg_dsn_rcpt *rcpt_add(struct bg_dsn *out, const char *addr)
{
    for (size_t i = 0; i < out->nrcpt; i++)
        if (ci_eq(out->r[i].rcpt, addr))
            return &out->r[i];
    if (out->nrcpt >= BG_DSN_MAX_RCPT)
        return NULL;
    struct bg_dsn_rcpt *r = &out->r[out->nrcpt++];
    memset(r, 0, sizeof *r);
    scpy(r->rcpt, sizeof r->rcpt, addr);
    return r;
}

static enum bg_dsn_action parse_action(const char *v)
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
static void after_type(const char *v, char *out, size_t osz)
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

/* ---- message/delivery-status ------------------------------------------- */

/* A usable mailbox address: local@domain.tld, no source route. */
static int addr_valid(const char *a)
{
    const char *at = strrchr(a, '@');
    if (!at || at == a || a[0] == '@' || a[0] == '/')
        return 0;
    const char *dot = strchr(at, '.');
    return dot && dot[1] && !strchr(at, ':') && !strchr(at, '/');
}

static void ds_commit(struct ctx *c, struct bg_dsn_rcpt *cur, int *have)
{
    if (!*have)
        return;
    *have = 0;
    /* "@route:user@host" -> "user@host" */
    if (cur->rcpt[0] == '@' && strchr(cur->rcpt, ':'))
        memmove(cur->rcpt, strchr(cur->rcpt, ':') + 1, strlen(strchr(cur->rcpt, ':')));
    if (!addr_valid(cur->rcpt)) {
        if (addr_valid(cur->orig_rcpt)) {
            scpy(cur->rcpt, sizeof cur->rcpt, cur->orig_rcpt);
        } else {
            /* e.g. a file or pipe: "... generated by user@host" */
            const char *at = strchr(cur->diag, '@');
            size_t dn = strlen(cur->diag), b, e;
            while (at) {
                if (addr_bounds(cur->diag, dn, (size_t)(at - cur->diag), &b, &e)) {
                    char a[320];
                    scopy(a, sizeof a, cur->diag + b, e - b);
                    if (addr_valid(a)) {
                        scpy(cur->rcpt, sizeof cur->rcpt, a);
                        break;
                    }
                }
                at = strchr(at + 1, '@');
            }
        }
    }
    if (!cur->rcpt[0])
        return;
    struct bg_dsn *out = c->out;
    for (size_t i = 0; i < out->nrcpt; i++)
        if (ci_eq(out->r[i].rcpt, cur->rcpt))
            return; /* same recipient twice: keep the first */
    if (out->nrcpt >= BG_DSN_MAX_RCPT)
        return;
    out->r[out->nrcpt++] = *cur;
}

static size_t line_len(const char *p, size_t n, size_t *adv);

static void parse_delivery_status(struct ctx *c, const char *p, size_t n)
{
    struct bg_dsn_rcpt cur;
    int have = 0, has_final = 0;
    char name[48];
    char *val = c->field;
    /* clean: cur is all zeros - cleared, and no field nor ds_commit has
     * written to it since (every field sets it to 0 after its branch).
     * The block start and the first Final-Recipient both ask for a clean
     * cur: one memset of the record, not two or three. */
    int clean = 0;
#define CUR_CLEAR()                                                        \
    do {                                                                   \
        if (!clean)                                                        \
            memset(&cur, 0, sizeof cur);                                   \
        clean = 1;                                                         \
    } while (0)
    CUR_CLEAR();
    size_t i = 0;
    while (i < n) {
        /* one block: up to an empty line */
        size_t bstart = i, bend = n, next = n;
        size_t j = i;
        while (j < n) {
            const char *nl = memchr(p + j, '\n', n - j);
            size_t e = nl ? (size_t)(nl - p) : n;
            size_t cl = e - j;
            if (cl > 0 && p[e - 1] == '\r')
                cl--;
            int blank = 1;
            for (size_t k = j; k < j + cl; k++)
                if (p[k] != ' ' && p[k] != '\t') {
                    blank = 0;
                    break;
                }
            if (blank && j > bstart) {
                bend = j;
                next = nl ? e + 1 : n;
                break;
            }
            if (blank) {
                bstart = nl ? e + 1 : n;
            }
            j = nl ? e + 1 : n;
        }
        if (j >= n) {
            bend = n;
            next = n;
        }
        size_t pos = 0;
        /* per-recipient fields written before the block's Final-Recipient
         * (Facebook: Diagnostic-Code, Status, then Final-Recipient) belong
         * to it: keep them in cur until the recipient arrives */
        int pending = 0;
        if (!have)
            CUR_CLEAR();
        while (bstart < bend &&
               bg_mime_next_field(p + bstart, bend - bstart, &pos, name,
                                  sizeof name, val, FIELD_MAX)) {
            if (strcmp(name, "final-recipient") == 0) {
                if (has_final)
                    ds_commit(c, &cur, &have), pending = 0, clean = 0;
                if (!have) {
                    if (!pending)
                        CUR_CLEAR();
                    has_final = 0;
                }
                pending = 0;
                value_addr(val, cur.rcpt, sizeof cur.rcpt);
                have = 1;
                has_final = 1;
            } else if (strcmp(name, "original-recipient") == 0) {
                if (!have) {
                    if (!pending)
                        CUR_CLEAR();
                    has_final = 0;
                } else if (cur.orig_rcpt[0] && has_final) {
                    ds_commit(c, &cur, &have), clean = 0;
                    CUR_CLEAR();
                    has_final = 0;
                }
                pending = 0;
                value_addr(val, cur.orig_rcpt, sizeof cur.orig_rcpt);
                have = 1;
            } else if (strcmp(name, "action") == 0) {
                cur.action = parse_action(val);
                pending |= !have;
            } else if (strcmp(name, "status") == 0) {
                find_status(val, cur.status, sizeof cur.status);
                pending |= !have;
            } else if (strcmp(name, "remote-mta") == 0) {
                after_type(val, cur.remote_mta, sizeof cur.remote_mta);
                pending |= !have;
            } else if (strcmp(name, "diagnostic-code") == 0) {
                pending |= !have;
                {
                    const char *semi = strchr(val, ';');
                    if (semi && semi - val < 16 && semi > val) {
                        size_t k;
                        for (k = 0; val + k < semi && k + 1 < sizeof cur.diag_type; k++)
                            cur.diag_type[k] = (char)lc((unsigned char)val[k]);
                        cur.diag_type[k] = 0;
                        collapse(cur.diag_type);
                        after_type(val, cur.diag, sizeof cur.diag);
                        /* sendmail: "X-Unix; 71" is the local mailer's
                         * exit status (sysexits.h); a bare number says
                         * nothing without its type */
                        size_t dl = strlen(cur.diag), nd = 0;
                        while (nd < dl && is_digit((unsigned char)cur.diag[nd]))
                            nd++;
                        if (strcmp(cur.diag_type, "x-unix") == 0 && dl && nd == dl && dl < 4) {
                            char num[8];
                            scpy(num, sizeof num, cur.diag);
                            scpy(cur.diag, sizeof cur.diag, "X-Unix; ");
                            scpy(cur.diag + 8, sizeof cur.diag - 8, num);
                        }
                    } else {
                        scpy(cur.diag, sizeof cur.diag, val);
                    }
                }
                /* a multi-line reply copied without folding: the lines
                 * that follow start with the same "550-" / "550 " code */
                const char *d = cur.diag;
                if ((d[0] == '2' || d[0] == '4' || d[0] == '5') && is_digit((unsigned char)d[1]) &&
                    is_digit((unsigned char)d[2]) && (d[3] == '-' || d[3] == ' ')) {
                    const char *b = p + bstart;
                    size_t bl = bend - bstart;
                    while (pos + 4 <= bl && memcmp(b + pos, d, 3) == 0 &&
                           (b[pos + 3] == '-' || b[pos + 3] == ' ')) {
                        size_t ladv, ll = line_len(b + pos, bl - pos, &ladv);
                        size_t dl = strlen(cur.diag);
                        if (dl + 2 < sizeof cur.diag) {
                            cur.diag[dl++] = ' ';
                            scopy(cur.diag + dl, sizeof cur.diag - dl, b + pos, ll);
                        }
                        pos += ladv;
                    }
                    collapse(cur.diag);
                }
            } else if (strcmp(name, "reporting-mta") == 0) {
                if (!c->out->reporting_mta[0])
                    after_type(val, c->out->reporting_mta, sizeof c->out->reporting_mta);
            } else if (strcmp(name, "x-postfix-queue-id") == 0) {
                if (!c->out->queue_id[0])
                    scpy(c->out->queue_id, sizeof c->out->queue_id, val);
            }
            clean = 0;
        }
        if (has_final)
            ds_commit(c, &cur, &have), has_final = 0, clean = 0;
        else if (have && cur.orig_rcpt[0] && (cur.action || cur.status[0]))
            ds_commit(c, &cur, &have), clean = 0;
        i = next > i ? next : n;
    }
    ds_commit(c, &cur, &have);
#undef CUR_CLEAR
}

/* ---- ARF ------------------------------------------------------------------ */

static void parse_feedback(struct ctx *c, const char *p, size_t n)
{
    char name[48];
    char val[512];
    char addr[320];
    size_t pos = 0;
    while (bg_mime_next_field(p, n, &pos, name, sizeof name, val, sizeof val)) {
        if (strcmp(name, "feedback-type") == 0) {
            if (!c->out->feedback_type[0]) {
                scpy(c->out->feedback_type, sizeof c->out->feedback_type, val);
                for (char *q = c->out->feedback_type; *q; q++)
                    *q = (char)lc((unsigned char)*q);
            }
        } else if (strcmp(name, "original-rcpt-to") == 0 ||
                   strcmp(name, "removal-recipient") == 0) {
            value_addr(val, addr, sizeof addr);
            if (strchr(addr, '@'))
                rcpt_add(c->out, addr);
        } else if (strcmp(name, "reporting-mta") == 0) {
            if (!c->out->reporting_mta[0])
                after_type(val, c->out->reporting_mta, sizeof c->out->reporting_mta);
        }
    }
}

/* Every address of an address-list header value. */
static void add_addr_list(struct bg_dsn *out, const char *v)
{
    size_t n = strlen(v);
    const char *p = v;
    const char *at;
    while ((at = memchr(p, '@', n - (size_t)(p - v))) != NULL) {
        size_t b, e;
        if (addr_bounds(v, n, (size_t)(at - v), &b, &e)) {
            char a[320];
            scopy(a, sizeof a, v + b, e - b);
            rcpt_add(out, a);
            p = v + e;
        } else {
            p = at + 1;
        }
        if ((size_t)(p - v) >= n)
            break;
    }
}

/* ---- original message ---------------------------------------------------- */

static void take_original(struct ctx *c, const struct bg_mime_part *pt, int headers_only)
{
    if (c->out->orig_headers || pt->enc != BG_ENC_IDENTITY)
        return;
    const char *b = pt->body;
    size_t n = pt->body_len;
    /* skip leading blank lines */
    while (n > 0 && (*b == '\n' || *b == '\r')) {
        b++;
        n--;
    }
    /* headers_only or not, the headers end at the first empty line */
    (void)headers_only;
    struct bg_mime_hdrs *hx = &c->orig_hx;
    size_t hl = bg_mime_index_msg(b, n, NULL, hx);
    if (hl == 0)
        return;
    c->have_orig = 1;
    c->out->orig_headers = b;
    c->out->orig_headers_len = hl;
    char v[512];
    if (bg_mime_hdr_get(hx, "message-id", v, sizeof v)) {
        char a[320];
        value_addr(v, a, sizeof a);
        scpy(c->out->orig_message_id, sizeof c->out->orig_message_id, a);
    }
    if (bg_mime_hdr_get(hx, "from", v, sizeof v) ||
        bg_mime_hdr_get(hx, "return-path", v, sizeof v)) {
        value_addr(v, c->out->orig_from, sizeof c->out->orig_from);
    }
    /* To: and X-HmXmrOriginalRecipient: later, if asked (orig_to_get,
     * hmxmr_get) */
}

/* The returned original's To: ("" without an original or the field),
 * looked up on first use. */
static const char *orig_to_get(struct ctx *c)
{
    if (!c->orig_to_done) {
        c->orig_to_done = 1;
        if (c->have_orig)
            bg_mime_hdr_get(&c->orig_hx, "to", c->orig_to, sizeof c->orig_to);
    }
    return c->orig_to;
}

/* The address in the original's X-HmXmrOriginalRecipient: (Hotmail's
 * JMRP), "" if none, looked up on first use. */
static const char *hmxmr_get(struct ctx *c)
{
    if (!c->hmxmr_done) {
        c->hmxmr_done = 1;
        char v[512];
        if (c->have_orig &&
            bg_mime_hdr_get(&c->orig_hx, "x-hmxmroriginalrecipient", v, sizeof v))
            value_addr(v, c->hmxmr, sizeof c->hmxmr);
    }
    return c->hmxmr;
}

/* What the parser does with a part, by its media type. */
enum { PK_OTHER, PK_PLAIN, PK_HTML, PK_DS, PK_FB, PK_RFC822, PK_MSG, PK_HDRS };

/* The kind of a (lower-cased) media type: decided once per part, where
 * the loops over the parts compared each type with up to ten names. The
 * length picks the candidates; the compare is exact. */
static unsigned char part_kind(const char *t)
{
#define IS(lit) (memcmp(t, lit, sizeof lit - 1) == 0) /* t has as many bytes */
    switch (strlen(t)) {
    case 9: return IS("text/html") ? PK_HTML : PK_OTHER;
    case 10: return IS("text/plain") ? PK_PLAIN : PK_OTHER;
    case 11: return IS("text/rfc822") ? PK_HDRS : PK_OTHER;
    case 13: return IS("text/enriched") ? PK_PLAIN : PK_OTHER;
    case 14: return IS("message/rfc822") ? PK_RFC822 : IS("message/global") ? PK_MSG : PK_OTHER;
    case 15: return IS("message/partial") ? PK_MSG : PK_OTHER;
    case 19: return IS("text/rfc822-headers") ? PK_HDRS : PK_OTHER;
    case 20: return IS("text/delivery-status") ? PK_DS : PK_OTHER;
    case 22: return IS("message/global-headers") ? PK_HDRS : PK_OTHER;
    case 23:
        return IS("message/delivery-status") ? PK_DS
               : IS("message/feedback-report") ? PK_FB : PK_OTHER;
    case 30: return IS("message/global-delivery-status") ? PK_DS : PK_OTHER;
    default: return PK_OTHER;
    }
#undef IS
}

/* ---- human-readable text ---------------------------------------------- */

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
static void build_text(struct ctx *c)
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

static const char *const cut_marks[] = {
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
static size_t cut_before(struct ctx *c, size_t lim)
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

static int line_is_header_of_original(const char *l, size_t n)
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

static int excluded_addr(struct ctx *c, const char *a)
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
static void collect_senders(struct ctx *c, const char *t, size_t n, size_t cut)
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
    "rcpt to", "original-recipient", "mail from", "from:", "sender", NULL };
MSCAN_STATIC(rcpt_ctx_words, rcpt_ctx_words)
enum { RC_NKEYS = 21, RC_RCPT_TO = RC_NKEYS, RC_ORIG_RCPT, RC_MAIL_FROM, RC_FROM, RC_SENDER,
       RC_NWORDS };

static int rcpt_context(const char *line, size_t ln, size_t b, size_t e)
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
    /* "<addr>..." as in sendmail's "... <addr>... User unknown" */
    if (b > 0 && line[b - 1] == '<' && e + 4 <= ln && line[e] == '>' &&
        line[e + 1] == '.' && line[e + 2] == '.' && line[e + 3] == '.')
        return 1;
    if (e + 3 <= ln && line[e] == '.' && line[e + 1] == '.' && line[e + 2] == '.')
        return 1;
    /* a key word shortly before it, and no sender's */
    return any_key && !IN_LAST(RC_FROM, from) && !IN_LAST(RC_SENDER, from);
#undef IN_LAST
}

/* Length of the line at p (up to n), without CR/LF. */
static size_t line_len(const char *p, size_t n, size_t *adv)
{
    const char *nl = memchr(p, '\n', n);
    size_t e = nl ? (size_t)(nl - p) : n;
    *adv = nl ? e + 1 : n;
    if (e > 0 && p[e - 1] == '\r')
        e--;
    return e;
}

/* A reply or status code in the line's first 255 bytes, up to a NUL. */
static int line_has_code(const char *l, size_t n)
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

/* Just after the last '\n' of t[rb - lim, rb) (from t[0] when rb < lim),
 * else its start: the start of rb's line, at most lim bytes back. */
static size_t line_start_back(const char *t, size_t rb, size_t lim)
{
    size_t lo = rb > lim ? rb - lim : 0, i = rb;
    while (i > lo && t[i - 1] != '\n')
        i--;
    return i;
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
 * (16..23). */
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
static void region_details(struct bg_dsn_rcpt *r, const char *t, size_t rb, size_t re,
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
                const char *cmd = cmd_word(s + e, n - e);
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
/* Does a diagnostic carry a status, or start with a reply code? */
static int diag_has_code(const char *d)
{
    char code[16];
    while (*d == ' ' || *d == '>' || *d == '<' || *d == '*')
        d++;
    return find_status(d, code, sizeof code) ||
           ((d[0] == '4' || d[0] == '5') && is_digit((unsigned char)d[1]) &&
            is_digit((unsigned char)d[2]) && !is_alnum((unsigned char)d[3]));
}

static void preamble_details(struct bg_dsn_rcpt *r, const char *t, size_t at)
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
#define N_CUT_MARKS (sizeof cut_marks / sizeof cut_marks[0] - 1)
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

/* SES JSON notifications: "emailAddress":"..." entries. */
static int parse_ses_json(struct ctx *c, const char *t, size_t n)
{
    int found = 0;
    const char *p = t;
    const char *h;
    while ((h = ci_find(p, n - (size_t)(p - t), "\"emailAddress\"")) != NULL) {
        const char *q = h + 14;
        while ((size_t)(q - t) < n && (*q == ' ' || *q == ':'))
            q++;
        if ((size_t)(q - t) < n && *q == '"') {
            q++;
            const char *z = q;
            while ((size_t)(z - t) < n && *z != '"' && z - q < 320)
                z++;
            char a[320];
            scopy(a, sizeof a, q, (size_t)(z - q));
            struct bg_dsn_rcpt *r = strchr(a, '@') ? rcpt_add(c->out, a) : NULL;
            if (r) {
                found = 1;
                /* fields of this object: up to the next '}' */
                const char *end = memchr(z, '}', n - (size_t)(z - t));
                size_t on = end ? (size_t)(end - z) : n - (size_t)(z - t);
                /* the object may start before emailAddress */
                const char *ob = h;
                while (ob > t && *ob != '{' && h - ob < 2000)
                    ob--;
                size_t olen = (size_t)(z - ob) + on;
                const char *d = ci_find(ob, olen, "\"diagnosticCode\"");
                if (d) {
                    const char *v = d + 16;
                    while (v < ob + olen && (*v == ' ' || *v == ':'))
                        v++;
                    if (v < ob + olen && *v == '"') {
                        v++;
                        const char *ve = v;
                        while (ve < ob + olen && *ve != '"')
                            ve++;
                        char dd[BG_DSN_DIAG_MAX];
                        scopy(dd, sizeof dd, v, (size_t)(ve - v));
                        const char *semi = strchr(dd, ';');
                        if (semi && semi - dd < 12) {
                            scopy(r->diag_type, sizeof r->diag_type, dd, (size_t)(semi - dd));
                            scpy(r->diag, sizeof r->diag, semi + 1);
                        } else {
                            scpy(r->diag, sizeof r->diag, dd);
                        }
                        collapse(r->diag);
                    }
                }
                const char *st = ci_find(ob, olen, "\"status\"");
                if (st) {
                    char tmp[64];
                    scopy(tmp, sizeof tmp, st, (size_t)(ob + olen - st));
                    find_status(tmp, r->status, sizeof r->status);
                }
                const char *ac = ci_find(ob, olen, "\"action\"");
                if (ac) {
                    const char *v = ac + 8;
                    while (v < ob + olen && (*v == ' ' || *v == ':' || *v == '"'))
                        v++;
                    char tmp[16];
                    scopy(tmp, sizeof tmp, v, (size_t)(ob + olen - v));
                    r->action = parse_action(tmp);
                }
                fill_codes(r);
            }
            p = z;
        } else {
            p = q;
        }
        if ((size_t)(p - t) >= n)
            break;
    }
    const char *nt = ci_find(t, n, "\"notificationType\":\"Delivery\"");
    const char *rl = nt ? ci_find(nt, n - (size_t)(nt - t), "\"recipients\":[") : NULL;
    if (!found && rl) {
        /* SES delivery notification: "recipients":["a@b", ...] */
        const char *q = rl + 14;
        const char *end = memchr(q, ']', n - (size_t)(q - t));
        char resp[BG_DSN_DIAG_MAX] = "";
        const char *sr = ci_find(nt, n - (size_t)(nt - t), "\"smtpResponse\":\"");
        if (sr) {
            const char *v = sr + 16;
            const char *ve = memchr(v, '"', n - (size_t)(v - t));
            if (ve)
                scopy(resp, sizeof resp, v, (size_t)(ve - v));
        }
        while (end && q < end) {
            const char *a = memchr(q, '"', (size_t)(end - q));
            if (!a)
                break;
            const char *z = memchr(a + 1, '"', (size_t)(end - a - 1));
            if (!z)
                break;
            char addr[320];
            scopy(addr, sizeof addr, a + 1, (size_t)(z - a - 1));
            struct bg_dsn_rcpt *r = strchr(addr, '@') ? rcpt_add(c->out, addr) : NULL;
            if (r) {
                found = 1;
                r->action = BG_ACTION_DELIVERED;
                scpy(r->diag, sizeof r->diag, resp);
                fill_codes(r);
            }
            q = z + 1;
        }
    }
    if (found) {
        const char *ft = ci_find(t, n, "\"complaintFeedbackType\"");
        if (ft) {
            const char *v = ft + 23;
            while ((size_t)(v - t) < n && (*v == ' ' || *v == ':' || *v == '"'))
                v++;
            size_t k = 0;
            while ((size_t)(v - t) + k < n && v[k] != '"' && k < 23)
                k++;
            scopy(c->out->feedback_type, sizeof c->out->feedback_type, v, k);
            c->out->kind = BG_REPORT_ARF;
        }
    }
    return found;
}

/* Vendor bounce: find recipients in the human text. Returns 1 if it
 * looks like a bounce. */
/* Where the text's first paragraph that starts in ASCII begins: a
 * notice in an undecoded national charset (EUC-JP, ISO-2022-JP: 8-bit
 * bytes or ESC) often precedes the same notice in English (au/EZweb,
 * Japanese MTAs). At most 8 paragraphs are skipped; 0 when none fits. */
static size_t first_ascii_para(const char *t, size_t n)
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
static int after_expanded_from(const char *t, size_t b)
{
    size_t k = b;
    while (k > 0 && (t[k - 1] == '<' || t[k - 1] == ' ' || t[k - 1] == '\t' ||
                     t[k - 1] == '\r' || t[k - 1] == '\n') && b - k < 64)
        k--;
    static const char kw[] = "expanded from";
    size_t m = sizeof kw - 1;
    return k >= m && strncasecmp(t + k - m, kw, m) == 0;
}

static int parse_vendor(struct ctx *c, int force)
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
                if (!rcpt_context(line, l, b, e) || after_expanded_from(t, ls + b))
                    continue;
                char a[320];
                scopy(a, sizeof a, line + b, e - b);
                if (excluded_addr(c, a) || (to_addr[0] && ci_eq(a, to_addr)))
                    continue;
                size_t before = c->out->nrcpt;
                struct bg_dsn_rcpt *r = rcpt_add(c->out, a);
                if (r && c->out->nrcpt > before)
                    first_at[c->out->nrcpt - 1] = ls + e - 0;
            }
        }
        i = ls + adv;
    }
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
        fill_codes(r);
        if (r->action == BG_ACTION_UNKNOWN)
            r->action = BG_ACTION_FAILED;
    }
    return 1;
}

/* ---- auto-replies ------------------------------------------------------- */

static int subject_autoreply(const char *s)
{
    static const char *const pats[] = {
        "out of office", "out of the office", "auto:", "automatic reply",
        "autoreply", "auto-reply", "auto reply", "auto response",
        "autoresponse", "auto-response", "vacation", "away from",
        "abwesenheit", "absence", "r\xc3\xa9ponse automatique",
        "automatische antwort", "i am away", "away until", NULL };
    size_t n = strlen(s);
    for (int i = 0; pats[i]; i++)
        if (ci_find(s, n, pats[i]))
            return 1;
    return 0;
}

/* Does any of the patterns occur: one pass for all (ASCII patterns
 * only, see mscan), not one per pattern. */
static const char *const bounce_subjects[] = {
    "undeliver", "delivery status", "failure", "returned mail",
    "mail delivery", "delivery notification", "failed", "not delivered",
    "nondeliver", "non-deliver", "bounce", "rejected", "could not",
    "couldn't", "error", "delayed", "warning", NULL };
MSCAN_STATIC(bounce_subjects, bounce_subjects)
static int subject_bounce(const char *s)
{
    size_t at;
    return mscan_next(bounce_subjects_scanner(), s, strlen(s), 0, ~0ULL, &at) >= 0;
}

static const char *const daemon_names[] = {
    "mailer-daemon", "postmaster", "mail delivery", "mailerdaemon", "mail-daemon",
    "post_master", NULL };
MSCAN_STATIC(daemon_names, daemon_names)
static int from_daemon(const char *f)
{
    size_t at;
    return mscan_next(daemon_names_scanner(), f, strlen(f), 0, ~0ULL, &at) >= 0;
}

static void set_autoreply(struct ctx *c)
{
    struct bg_dsn *out = c->out;
    out->kind = BG_REPORT_AUTOREPLY;
    scpy(out->format, sizeof out->format, "rfc3834");
    out->nrcpt = 0;
    char a[320];
    value_addr(c->from, a, sizeof a);
    if (strchr(a, '@'))
        rcpt_add(out, a);
}

/* ---- entry point -------------------------------------------------------- */

static void finish_dsn(struct ctx *c)
{
    for (size_t k = 0; k < c->out->nrcpt; k++) {
        struct bg_dsn_rcpt *r = &c->out->r[k];
        fill_codes(r);
        if (!c->text_len)
            continue;
        /* details the DSN part leaves out, from the human text before the
         * returned original: the first mention in the whole text when it
         * ends before the cut (a later one would end later still) */
        const char *h = ci_find(c->text, c->text_len, r->rcpt);
        if (h) {
            size_t rb = (size_t)(h - c->text), he = rb + strlen(r->rcpt);
            /* one cut search for both questions: the mention ends at he
             * <= rb + 2048 (an address is far shorter) and he <= text_len,
             * so the cut is before he exactly when re is. (re >= he > rb:
             * ds_commit adds no empty address, so re - rb - 1 below does
             * not wrap.) */
            size_t re = cut_before(c, rb + 2048);
            if (re < he)
                continue;
            /* up to the next recipient's mention */
            for (size_t j = 0; j < c->out->nrcpt; j++) {
                if (j == k)
                    continue;
                const char *o = ci_find(c->text + rb + 1, re - rb - 1, c->out->r[j].rcpt);
                if (o && (size_t)(o - c->text) < re)
                    re = (size_t)(o - c->text);
            }
            region_details(r, c->text, rb, re, 0);
            fill_codes(r);
        }
    }
}

static int parse_msg(const char *msg, size_t len, struct bg_dsn *out, int nest);

/* A thread keeps its last context block (up to CTX_KEEP bytes) for the
 * next message: malloc and free of a block this size took about as many
 * instructions as a short bounce's whole text scan. Taken out while in
 * use (a nested parse_msg allocates its own), freed with the thread. */
#define CTX_KEEP ((size_t)1 << 18)
static pthread_key_t ctx_key;
static int ctx_key_ok;
static pthread_once_t ctx_key_once = PTHREAD_ONCE_INIT;
static void ctx_key_make(void) { ctx_key_ok = pthread_key_create(&ctx_key, free) == 0; }

/* The context of one message, with its two len + 1 byte buffers in the
 * same allocation (one block per message, not three, and that block
 * mostly the thread's kept one), or NULL. Only the fields that may be
 * read before they are written are set: the rest (the part table, the
 * field buffer, string tails) is written first, and clearing all of it
 * cost more than the allocation. */
static struct ctx *ctx_new(const char *msg, size_t len, struct bg_dsn *out)
{
    if (len > (SIZE_MAX - sizeof(struct ctx)) / 2 - 1)
        return NULL;
    size_t need = sizeof(struct ctx) + 2 * (len + 1);
    struct ctx *c = NULL;
    pthread_once(&ctx_key_once, ctx_key_make);
    if (ctx_key_ok) {
        struct ctx *k = pthread_getspecific(ctx_key);
        if (k && k->alloc >= need && pthread_setspecific(ctx_key, NULL) == 0)
            c = k;
    }
    if (!c) {
        /* a little more than needed, so the next, slightly longer
         * message still fits */
        size_t a = need <= CTX_KEEP - 16384 ? (need + 16383) & ~(size_t)16383 : need;
        c = malloc(a);
        if (!c)
            return NULL;
        c->alloc = a;
    }
    c->msg = msg;
    c->len = len;
    c->out = out;
    c->nparts = 0;
    c->buf = (char *)(c + 1);
    c->text = c->buf + len + 1;
    c->text_len = 0;
    c->cut = c->cut_from = 0;
    c->cut_done = 0;
    c->subject[0] = c->from[0] = c->to[0] = 0;
    c->from_addr_done = 0;
    c->have_orig = c->orig_to_done = c->hmxmr_done = 0;
    c->orig_to[0] = c->xfailed[0] = c->hmxmr[0] = 0;
    c->nsenders = 0;
    return c;
}

/* Back to the thread (the larger of its kept block and c, if at most
 * CTX_KEEP), or freed. */
static void ctx_free(struct ctx *c)
{
    if (ctx_key_ok && c->alloc <= CTX_KEEP) {
        struct ctx *k = pthread_getspecific(ctx_key);
        if (!k || k->alloc < c->alloc) {
            if (pthread_setspecific(ctx_key, c) == 0) {
                free(k);
                return;
            }
        }
    }
    free(c);
}

int bg_dsn_parse(const char *msg, size_t len, const struct bg_dsn_opts *opts,
                 struct bg_dsn *out)
{
    if (!out)
        return -1;
    memset(out, 0, offsetof(struct bg_dsn, r)); /* r[] is set as recipients are added */
    if (!msg || len == 0)
        return -1;
    size_t cap = opts && opts->max_scan ? opts->max_scan : DEFAULT_MAX_SCAN;
    if (len > cap)
        len = cap;
    return parse_msg(msg, len, out, 0);
}

/* nest: how many message/rfc822 levels deep we are (at most 1: a bounce
 * forwarded or returned inside another message). */
static int parse_msg(const char *msg, size_t len, struct bg_dsn *out, int nest)
{

    struct ctx *c = ctx_new(msg, len, out);
    if (!c)
        return -1;
    int rc = -1;

    struct bg_mime_hdrs hx;
    bg_mime_index_msg(msg, len, NULL, &hx);
    char v[1024];
    if (bg_mime_hdr_get(&hx, "subject", v, sizeof v))
        bg_mime_decode_words(v, c->subject, sizeof c->subject);
    if (bg_mime_hdr_get(&hx, "from", v, sizeof v))
        bg_mime_decode_words(v, c->from, sizeof c->from);
    bg_mime_hdr_get(&hx, "to", c->to, sizeof c->to);
    bg_mime_hdr_get(&hx, "x-failed-recipients", c->xfailed, sizeof c->xfailed);
    if (bg_mime_hdr_get(&hx, "x-postfix-queue-id", v, sizeof v))
        scpy(out->queue_id, sizeof out->queue_id, v);

    c->nparts = bg_mime_walk_hdrs(msg, len, &hx, BG_DSN_MAX_DEPTH, c->parts, MAX_PARTS);
    for (size_t i = 0; i < c->nparts; i++)
        c->kind[i] = part_kind(c->parts[i].type);
    build_text(c);

    /* machine-readable parts */
    int saw_ds = 0, saw_fb = 0;
    for (size_t i = 0; i < c->nparts; i++) {
        const struct bg_mime_part *pt = &c->parts[i];
        if (pt->multipart)
            continue;
        unsigned char kind = c->kind[i];
        if (kind == PK_DS) {
            size_t n = bg_mime_decode(pt->enc, pt->body, pt->body_len, c->buf, len);
            parse_delivery_status(c, c->buf, n);
            saw_ds = 1;
        } else if (kind == PK_FB) {
            size_t n = bg_mime_decode(pt->enc, pt->body, pt->body_len, c->buf, len);
            /* some senders put the fields after a blank line */
            size_t sk = 0;
            while (sk < n && (c->buf[sk] == '\n' || c->buf[sk] == '\r'))
                sk++;
            parse_feedback(c, c->buf + sk, n - sk);
            saw_fb = 1;
        } else if (kind == PK_RFC822 || kind == PK_MSG) {
            take_original(c, pt, 0);
        } else if (kind == PK_HDRS) {
            take_original(c, pt, 1);
        }
    }

    if (saw_fb) {
        out->kind = BG_REPORT_ARF;
        scpy(out->format, sizeof out->format, "arf");
        if (out->nrcpt == 0 && orig_to_get(c)[0])
            add_addr_list(out, c->orig_to);
        rc = 0;
        goto done;
    }
    if (saw_ds && out->nrcpt > 0) {
        /* recipients that are no addresses: try the human text instead */
        size_t valid = 0;
        for (size_t k = 0; k < out->nrcpt; k++)
            valid += (size_t)addr_valid(out->r[k].rcpt);
        if (valid == 0) {
            struct bg_dsn_rcpt keep = out->r[0];
            out->nrcpt = 0;
            if (parse_vendor(c, 1) && out->nrcpt > 0) {
                struct bg_dsn_rcpt *r = &out->r[0];
                if (!r->status[0])
                    scpy(r->status, sizeof r->status, keep.status);
                if (!r->remote_mta[0])
                    scpy(r->remote_mta, sizeof r->remote_mta, keep.remote_mta);
                if (keep.action)
                    r->action = keep.action;
                rc = 0;
                goto done;
            }
            out->r[0] = keep;
            out->nrcpt = 1;
        }
        out->kind = BG_REPORT_DSN;
        scpy(out->format, sizeof out->format, "rfc3464");
        finish_dsn(c);
        rc = 0;
        goto done;
    }

    if (hmxmr_get(c)[0] && strchr(c->hmxmr, '@')) {
        /* Hotmail JMRP complaint: no feedback-report part */
        out->kind = BG_REPORT_ARF;
        scpy(out->format, sizeof out->format, "jmrp");
        scpy(out->feedback_type, sizeof out->feedback_type, "abuse");
        rcpt_add(out, c->hmxmr);
        rc = 0;
        goto done;
    }
    char as[128] = "", xar[128] = "", prec[64] = "";
    bg_mime_hdr_get(&hx, "auto-submitted", as, sizeof as);
    int xauto = bg_mime_hdr_get(&hx, "x-autoreply", xar, sizeof xar) ||
                bg_mime_hdr_get(&hx, "x-autorespond", xar, sizeof xar) ||
                bg_mime_hdr_get(&hx, "x-autoresponder", xar, sizeof xar);
    bg_mime_hdr_get(&hx, "precedence", prec, sizeof prec);
    int daemon = from_daemon(c->from);
    int bsubj = subject_bounce(c->subject);
    int strong_auto = xauto || ci_prefix(prec, "auto_reply") ||
                      (ci_prefix(as, "auto-replied") && !daemon && !bsubj);
    if (strong_auto && !saw_ds) {
        set_autoreply(c);
        rc = 0;
        goto done;
    }
    if (parse_vendor(c, daemon || bsubj || saw_ds)) {
        /* a DSN without recipient blocks ("Delivery report unavailable"):
         * the returned original's single To: is the best we know; action
         * and status stay unknown */
        const char *at1 = strchr(orig_to_get(c), '@');
        if (saw_ds && out->nrcpt == 0 && at1 && !strchr(at1 + 1, '@')) {
            add_addr_list(out, c->orig_to);
            scpy(out->format, sizeof out->format, "rfc3464");
            out->kind = BG_REPORT_DSN;
        }
        rc = 0;
        goto done;
    }
    if (subject_autoreply(c->subject) || ci_prefix(as, "auto-")) {
        set_autoreply(c);
        rc = 0;
        goto done;
    }
    memset(out, 0, offsetof(struct bg_dsn, r)); /* r[] is set as recipients are added */
    rc = -1;
done:
    if ((rc != 0 || out->nrcpt == 0) && nest == 0 &&
        out->kind != BG_REPORT_AUTOREPLY && out->kind != BG_REPORT_ARF) {
        /* a report wrapped in a message/rfc822 part */
        for (size_t i = 0; i < c->nparts; i++) {
            const struct bg_mime_part *pt = &c->parts[i];
            if (c->kind[i] != PK_RFC822 || pt->enc != BG_ENC_IDENTITY)
                continue;
            struct bg_dsn *inner = malloc(sizeof *inner);
            if (!inner)
                break;
            memset(inner, 0, offsetof(struct bg_dsn, r));
            if (parse_msg(pt->body, pt->body_len, inner, nest + 1) == 0 &&
                inner->nrcpt > 0 && inner->kind != BG_REPORT_AUTOREPLY) {
                *out = *inner;
                rc = 0;
            }
            free(inner);
            break;
        }
    }
    ctx_free(c);
    return rc;
}

const char *bg_dsn_action_name(enum bg_dsn_action a)
{
    switch (a) {
    case BG_ACTION_FAILED: return "failed";
    case BG_ACTION_DELAYED: return "delayed";
    case BG_ACTION_DELIVERED: return "delivered";
    case BG_ACTION_RELAYED: return "relayed";
    case BG_ACTION_EXPANDED: return "expanded";
    case BG_ACTION_UNKNOWN: break;
    }
    return "unknown";
}
