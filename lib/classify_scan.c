/* classify_scan.c - one linear pass of a rule set's automaton over a
 * diagnostic text: every text= and notext= pattern found, as bits of a
 * hit bitmap (rules_int.h, struct ac). No regex, no backtracking.
 */
#include "rules_int.h"

#include <stdint.h>
#include <string.h>

/* Lowercase ASCII, collapse whitespace runs to one space, trim. */
size_t normalize(const char *in, size_t inlen, unsigned char *out,
                        size_t outsz)
{
    size_t o = 0;
    int pending_space = 0;
    for (size_t i = 0; i < inlen && in[i] != '\0'; i++) {
        unsigned char c = (unsigned char)in[i];
        if (is_blank(c)) {
            pending_space = o > 0;
            continue;
        }
        if (pending_space) {
            if (o + 1 >= outsz)
                break;
            out[o++] = ' ';
            pending_space = 0;
        }
        if (o + 1 >= outsz)
            break;
        out[o++] = (unsigned char)lc(c);
    }
    return o;
}


/* One text byte (class k) through the sparse state j: its goto edge if
 * it has one, else down the fail chain until a state has the edge or is
 * dense. Every fail link leads to a shallower state and the root is
 * dense, so this ends within depth steps. Returns the transition: a state
 * code with AC_EMIT. */
static uint32_t ac_step_sparse(const struct ac *a, uint32_t j, uint32_t k)
{
    if (k == 0)
        return 0;            /* a byte in no pattern: back to the root */
    for (;;) {
        const struct ac_state *x = &a->st[j];
        for (uint32_t e = x->edge_first; e < x->edge_first + x->edge_n; e++)
            if (a->ecls[e] == k)
                return a->eto[e];
        j = x->fail;
        if (j < a->ndense)
            return a->dense[(size_t)j * a->ncls + k];
    }
}

/* Entered the state with code c (the transition had AC_EMIT) with the
 * byte t[end - 1]: set the target bits of every pattern ending there,
 * along the dictionary chain. A verify entry stands for a pattern whose
 * anchor is t[end - AC_ANCHOR, end): its target is hit when the rest of
 * the pattern follows in t[end, n). */
static void ac_emit(const struct ac *a, uint32_t c, uint64_t *hits,
                    const unsigned char *t, size_t n, size_t end)
{
    uint32_t j = ac_state_num(a, c);
    for (uint32_t o = a->st[j].emit; o != 0; o = a->st[o].dict) {
        const uint32_t *p = a->outs + a->st[o].out_first;
        for (uint32_t q = 0; q < a->st[o].out_n; q++) {
            uint32_t x = p[q];
            if (x & AC_VERIFY) {
                /* t has 8 zero bytes after its end: the 8-byte load is
                 * always inside it */
                const struct ac_verify *v = &a->ver[x & ~AC_VERIFY];
                size_t rest = v->rest;
                uint64_t w;
                memcpy(&w, t + end, 8);
                if (rest > n - end || (w & a->vmask[rest < 8 ? rest : 8]) != v->head ||
                    (rest > 8 && memcmp(t + end + 8, a->pool + v->off + AC_ANCHOR + 8,
                                        rest - 8) != 0))
                    continue;
                x = v->target;
            }
            bitmap_set(hits, x);
        }
    }
}


/* The 16-bit layout over the normalized t[0, n) (8 zero bytes after it).
 * Each byte is a table load whose address depends on the previous load, so
 * one walk waits out the load latency byte after byte. A text of at least
 * AC_SPLIT_MIN bytes is walked as AC_CHAINS independent walks instead, in
 * one loop, their loads overlapping. That is exact because the trie is at
 * most AC_ANCHOR deep: the state after t[p - 1] is the longest suffix of
 * t[0, p) in the trie, so it is also the state reached from the root over
 * t[p - AC_ANCHOR, p). Walk j > 0 starts from the root AC_ANCHOR bytes
 * before its part, and reports nothing in those AC_ANCHOR bytes: walk
 * j - 1 ends on them with the true states and reports what is there. */
#define AC_CHAINS 3
#define AC_SPLIT_MIN 64

/* The transition on byte b from the state with code c (AC16_EMIT set
 * when the new state reports something). */
static inline __attribute__((always_inline)) uint32_t
ac_next16(const struct ac *a, uint32_t c, unsigned char b)
{
    return a->dense16[(size_t)c * AC16_SCALE + a->cls[b]];
}

/* One byte, t[p], from the state with code c; returns the new code. */
static inline __attribute__((always_inline)) uint32_t
ac_step16(const struct ac *a, uint32_t c, const unsigned char *t, size_t n,
          size_t p, uint64_t *hits)
{
    uint32_t v = ac_next16(a, c, t[p]);
    c = v & ~AC16_EMIT;
    if (__builtin_expect((v & AC16_EMIT) != 0, 0))
        ac_emit(a, c, hits, t, n, p + 1);
    return c;
}

static void ac_scan16(const struct ac *a, const unsigned char *t, size_t n,
                      uint64_t *hits)
{
    if (n < AC_SPLIT_MIN) {
        uint32_t c = 0;
        for (size_t i = 0; i < n; i++)
            c = ac_step16(a, c, t, n, i, hits);
        return;
    }
    /* L steps each; walk j starts at j * d, d = L - AC_ANCHOR, so the parts
     * meet. L rounds up: the last walk may read up to AC_CHAINS - 1 of the
     * zero bytes after t, which lead to the root and emit nothing. */
    size_t L = (n + (AC_CHAINS - 1) * AC_ANCHOR + AC_CHAINS - 1) / AC_CHAINS;
    size_t d = L - AC_ANCHOR;
    uint32_t c0 = 0, c1 = 0, c2 = 0;
    size_t i = 0;
    /* the warm-up of walks 1 and 2: states only; what they would report
     * there, the walk before reports at the same bytes */
    for (; i < AC_ANCHOR; i++) {
        c0 = ac_step16(a, c0, t, n, i, hits);
        c1 = ac_next16(a, c1, t[i + d]) & ~AC16_EMIT;
        c2 = ac_next16(a, c2, t[i + 2 * d]) & ~AC16_EMIT;
    }
    for (; i < L; i++) {
        c0 = ac_step16(a, c0, t, n, i, hits);
        c1 = ac_step16(a, c1, t, n, i + d, hits);
        c2 = ac_step16(a, c2, t, n, i + 2 * d, hits);
    }
}
_Static_assert(AC_CHAINS == 3 && AC_SPLIT_MIN > AC_CHAINS * AC_ANCHOR,
               "ac_scan16 walks three parts, each longer than AC_ANCHOR");

/* The automaton over t[0, n), already normalized; emits at once, as the
 * whole text is known. */
static void ac_scan_norm(const struct ac *a, const unsigned char *t, size_t n,
                         uint64_t *hits)
{
    if (a->dense16) {
        ac_scan16(a, t, n, hits);
        return;
    }
    const uint32_t *dense = a->dense;
    const uint32_t dlim = a->dlim;
    uint32_t c = 0;                         /* the root's code */
    for (size_t i = 0; i < n; i++) {
        uint32_t k = a->cls[t[i]];
        uint32_t v = c < dlim ? dense[c + k]
                              : ac_step_sparse(a, c - dlim + a->ndense, k);
        c = v & ~AC_EMIT;
        if (v & AC_EMIT)
            ac_emit(a, c, hits, t, n, i + 1);
    }
}

/* Set the target bits of every pattern occurring in the diagnostic text
 * in[0, inlen) AS NORMALIZED by normalize(in, inlen, buf, TEXT_SCAN_MAX).
 *
 * One pass normalizes into t[] and walks the automaton (with the 16-bit
 * layout a text of AC_SPLIT_MIN bytes or more is only normalized, and
 * ac_scan16 walks t after). A state that reports something is rare
 * (about two per text); its verify entries need the text after the
 * anchor, which is not normalized yet, so the pass only notes where it
 * entered such a state and the notes are worked off once the text is
 * complete. Should a text enter more than EMIT_MAX
 * of them, the notes are dropped and the automaton walks the finished
 * text again, emitting at once: the same hits, only slower.
 *
 * While inlen < TEXT_SCAN_MAX the output, never longer than the input,
 * cannot reach normalize()'s bound, so the loop has no test for it; a
 * longer text is normalized by normalize() itself first. */
#define EMIT_MAX 64

/* Where the pass entered a state that reports something. */
struct ac_notes {
    uint32_t code[EMIT_MAX];
    uint16_t end[EMIT_MAX];
    size_t n;
    int overflow;
};

/* Table layouts, for ac_feed: none (the pass only normalizes, for
 * ac_scan16), 16-bit codes (all states dense, see AC16_SCALE), 32-bit
 * codes with every state dense, 32-bit codes with sparse deep states. */
enum { AC_NORM, AC_L16, AC_L32_DENSE, AC_L32 };

/* One normalized byte of class k from the state with code c; returns the
 * new code and notes an emit. layout: AC_L*, a constant at each call, so
 * the compiler makes one loop of ac_pass per layout, none with a test for
 * another. */
static inline __attribute__((always_inline)) uint32_t
ac_feed(const struct ac *a, uint32_t c, uint32_t k, size_t end,
        struct ac_notes *nt, const int layout)
{
    uint32_t v, emit;
    if (layout == AC_NORM)
        return c;
    if (layout == AC_L16) {
        v = a->dense16[(size_t)c * AC16_SCALE + k];
        emit = AC16_EMIT;
    } else {
        v = layout == AC_L32_DENSE || c < a->dlim
                ? a->dense[c + k]
                : ac_step_sparse(a, c - a->dlim + a->ndense, k);
        emit = AC_EMIT;
    }
    c = v & ~emit;
    if (__builtin_expect((v & emit) != 0, 0)) {
        if (nt->n < EMIT_MAX) {
            nt->code[nt->n] = c;
            nt->end[nt->n++] = (uint16_t)end;
        } else {
            nt->overflow = 1;
        }
    }
    return c;
}

/* The single pass of ac_scan_text (inlen < TEXT_SCAN_MAX): returns the
 * normalized length. */
static inline __attribute__((always_inline)) size_t
ac_pass(const struct ac *a, const unsigned char *s, size_t inlen, unsigned char *t,
        struct ac_notes *nt, const int layout)
{
    const uint16_t *raw = a->raw;
    const uint32_t space = a->cls[' '];
    uint32_t c = 0;                         /* the root's code */
    size_t o = 0;
    for (size_t i = 0; i < inlen; i++) {
        uint32_t e = raw[s[i]], k = e >> 8;
        if (__builtin_expect(k >= AC_RAW_BLANK, 0)) {
            if (k == AC_RAW_STOP)
                break;
            /* a run of blanks: one space, if a char came before and one
             * follows (NUL or the end drops it) */
            size_t j = i + 1;
            while (j < inlen && (raw[s[j]] >> 8) == AC_RAW_BLANK)
                j++;
            if (j >= inlen || (raw[s[j]] >> 8) == AC_RAW_STOP)
                break;
            if (o > 0) {
                t[o++] = ' ';
                c = ac_feed(a, c, space, o, nt, layout);
            }
            i = j;
            e = raw[s[i]];
            k = e >> 8;
        }
        t[o++] = (unsigned char)e;
        c = ac_feed(a, c, k, o, nt, layout);
    }
    return o;
}

void ac_scan_text(const struct ac *a, const char *in, size_t inlen,
                         uint64_t *hits)
{
    if (!a->st)
        return;
    unsigned char t[TEXT_SCAN_MAX + 8];
    if (inlen >= TEXT_SCAN_MAX) {
        size_t n = normalize(in, inlen, t, TEXT_SCAN_MAX);
        memset(t + n, 0, 8);                /* see ac_emit */
        ac_scan_norm(a, t, n, hits);
        return;
    }
    const unsigned char *s = (const unsigned char *)in;
    struct ac_notes nt;
    nt.n = 0;
    nt.overflow = 0;
    if (a->dense16 && inlen >= AC_SPLIT_MIN) {
        size_t n = ac_pass(a, s, inlen, t, &nt, AC_NORM);
        memset(t + n, 0, 8);                /* see ac_emit, ac_scan16 */
        ac_scan16(a, t, n, hits);
        return;
    }
    size_t n = a->dense16 ? ac_pass(a, s, inlen, t, &nt, AC_L16)
             : a->ndense == a->nstate ? ac_pass(a, s, inlen, t, &nt, AC_L32_DENSE)
                                      : ac_pass(a, s, inlen, t, &nt, AC_L32);
    memset(t + n, 0, 8);                    /* see ac_emit */
    if (nt.overflow) {
        ac_scan_norm(a, t, n, hits);
        return;
    }
    for (size_t e = 0; e < nt.n; e++)
        ac_emit(a, nt.code[e], hits, t, n, nt.end[e]);
}
