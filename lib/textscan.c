/* textscan.c - case-insensitive text search for the bounce parser: one
 * needle (ci_find: a word-at-a-time filter on the first byte, with
 * Knuth-Morris-Pratt once the compares cost more than a few passes, so
 * the time stays linear in the input), many needles in one pass (mscan),
 * white-space collapsing and line helpers. See textscan.h.
 */
#include "textscan.h"

#include <stdint.h>
#include <string.h>

/* ASCII lower-casing by table: the scanners below call it per byte. */
const unsigned char textscan_lc_tab[256] = {
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
 * (eight bytes at a time, a word test in plain C), compare the rest;
 * when the comparisons cost more than a few passes over the input (hostile, repetitive text), continue with Knuth-Morris-Pratt,
 * so the time stays linear in n whatever the needle. */
const char *ci_find(const char *hay, size_t n, const char *needle)
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

void mscan_init(struct mscan *ms, const char *const *nd, size_t cnt)
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

/* First match at or after pos of a needle in the set `want`: returns its
 * index and sets *at, or -1. */
int mscan_next(const struct mscan *ms, const char *hay, size_t n, size_t pos,
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

int ci_prefix(const char *s, const char *pre)
{
    while (*pre) {
        if (lc((unsigned char)*s) != lc((unsigned char)*pre))
            return 0;
        s++;
        pre++;
    }
    return 1;
}

int ci_eq(const char *a, const char *b)
{
    while (*a && *b && lc((unsigned char)*a) == lc((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == 0 && *b == 0;
}

/* Collapse runs of white space to one space, trim; in place. */
size_t collapse_n(char *s, size_t n)
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

void collapse(char *s)
{
    collapse_n(s, strlen(s));
}

/* Copy n bytes of text collapsed into dst. */
void copy_collapsed(char *dst, size_t dsz, const char *src, size_t n)
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

/* Length of the line at p (up to n), without CR/LF. */
size_t line_len(const char *p, size_t n, size_t *adv)
{
    const char *nl = memchr(p, '\n', n);
    size_t e = nl ? (size_t)(nl - p) : n;
    *adv = nl ? e + 1 : n;
    if (e > 0 && p[e - 1] == '\r')
        e--;
    return e;
}

/* Just after the last '\n' of t[rb - lim, rb) (from t[0] when rb < lim),
 * else its start: the start of rb's line, at most lim bytes back. */
size_t line_start_back(const char *t, size_t rb, size_t lim)
{
    size_t lo = rb > lim ? rb - lim : 0, i = rb;
    while (i > lo && t[i - 1] != '\n')
        i--;
    return i;
}
