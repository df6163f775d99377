/* classify_scan.c - one linear pass of a rule set's automaton over a
 * diagnostic text: every text= and notext= pattern found, as bits of a
 * hit bitmap (rules_int.h, struct ac). No regex, no backtracking.
 */
#include "rules_int.h"

#include <stdint.h>
#include <string.h>

/* Lowercase ASCII, collapse whitespace runs to one space, trim. */
size_t normalize(const char *in, size_t inlen, unsigned char *out, size_t outsz)
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

/* The automaton over t[0, n), normalized, with 8 zero bytes after it (see
 * ac_emit): a dense state (the root and the shallow ones: all of them for
 * the default rules) is one table load per byte, a deeper sparse one its
 * goto edges and fail link. An emit flag on the transition says when the
 * new state reports something, so that costs nothing otherwise. */
static void ac_scan_norm(const struct ac *a, const unsigned char *t, size_t n,
                         uint64_t *hits)
{
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

void ac_scan_text(const struct ac *a, const char *in, size_t inlen, uint64_t *hits)
{
    if (!a->st)
        return;
    unsigned char t[TEXT_SCAN_MAX + 8];
    size_t n = normalize(in, inlen, t, TEXT_SCAN_MAX);
    memset(t + n, 0, 8);                    /* see ac_emit */
    ac_scan_norm(a, t, n, hits);
}
