/* mime.c - the header block of a message or MIME part: where it ends,
 * its fields one by one (unfolded, bounded), a lookup by name, and the
 * index of a block's names that makes repeated lookups cheap. See mime.h;
 * content-type values and decoding are in mime_decode.c, the multipart
 * walk in mime_walk.c.
 */
#include "mime_int.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>


/* Do the bytes a and b match but for ASCII case? */
static int ci_eq(unsigned char a, unsigned char b)
{
    return a == b || ((a | 0x20u) == (b | 0x20u) && (unsigned)((a | 0x20u) - 'a') < 26u);
}

/* ci_eq for each of the eight bytes of a and b: where b has an ASCII
 * letter (either case; b | 0x20 is then a small letter: SWAR range test
 * as in lower8) both may differ only in bit 5, so setting that bit on
 * both sides there makes them equal; elsewhere they must be equal.
 * Equal words, the common case, cost a compare. */
static inline int ci_eq8(uint64_t a, uint64_t b)
{
    const uint64_t bit5 = 0x2020202020202020ull, high = 0x8080808080808080ull;
    if (a == b)
        return 1;
    uint64_t x = b | bit5, x7 = x & 0x7f7f7f7f7f7f7f7full;
    uint64_t small = (x7 + 0x1f1f1f1f1f1f1f1full) /* >= 'a' */ &
                     ~(x7 + 0x0505050505050505ull) /* > 'z' */ & ~x & high;
    uint64_t m = small >> 2; /* 0x20 in each letter byte of b */
    return (a | m) == (b | m);
}

/* Do the n bytes at s name name (case-insensitively)? Words at 0, 8, ...
 * and one more that ends at n (it may overlap the one before), never
 * past n. */
static inline __attribute__((always_inline)) int
ci_name_in(const char *s, const char *name, size_t n)
{
    if (n >= 8) {
        size_t m = 0;
        for (; m + 8 < n; m += 8)
            if (!ci_eq8(load8(s + m), load8(name + m)))
                return 0;
        return ci_eq8(load8(s + n - 8), load8(name + n - 8));
    }
    for (size_t m = 0; m < n; m++)
        if (!ci_eq((unsigned char)s[m], (unsigned char)name[m]))
            return 0;
    return 1;
}

int ci_name(const char *s, const char *name, size_t n)
{
    return ci_name_in(s, name, n);
}

/* The end of the line at i (< len): its '\n', or len. */
static inline size_t nl_next(const char *p, size_t len, size_t i)
{
    const char *nl = i < len ? memchr(p + i, '\n', len - i) : NULL;
    return nl ? (size_t)(nl - p) : len;
}

/* Does an empty line ("", or a lone CR) start at i (< len)? Then the
 * offset of what follows it in *next. */
static int empty_line(const char *p, size_t len, size_t i, size_t *next)
{
    if (p[i] == '\n') {
        *next = i + 1;
        return 1;
    }
    if (p[i] == '\r' && (i + 1 == len || p[i + 1] == '\n')) {
        *next = i + 1 == len ? len : i + 2;
        return 1;
    }
    return 0;
}

size_t bg_mime_split(const char *p, size_t len, size_t *body_off)
{
    /* the first empty line ("", or a lone CR) ends the headers */
    size_t i = 0, next;
    while (i < len) {
        if (empty_line(p, len, i, &next)) {
            if (body_off)
                *body_off = next;
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

/* The high bit of each byte of x below '!', and maybe of bytes after the
 * first such (a borrow): nonzero exactly when x has one, and its lowest
 * bit in memory order marks the first. */
static uint64_t low_bytes(uint64_t x)
{
    return (x - 0x2121212121212121ull) & ~x & 0x8080808080808080ull;
}

/* Is h[j] a space between two bytes of the value that are not blank
 * (h[j - 1] is one, the caller knows)? It stands for itself then: the
 * space the blank run before the next byte becomes. */
static int lone_sp(const char *h, size_t j, size_t lend)
{
    return h[j] == ' ' && j + 1 < lend && !vblank((unsigned char)h[j + 1]);
}

/* Unfold the value of a field whose first ':' is at colon; lend is the end
 * of its line's content (CR excluded: lend is hlen or h[lend] is CR or
 * LF), next the start of the line after.
 * Stores the value into val (see bg_mime_next_field) and returns the
 * offset past the field's continuation lines. */
static size_t field_value(const char *h, size_t hlen, size_t colon, size_t lend,
                          size_t next, char *val, size_t valsz, size_t *olen)
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
            if (pend_sp) {
                pend_sp = 0;
                val[o++] = ' ';
                if (o + 1 >= valsz) {
                    j = lend;
                    break;
                }
            }
            /* a run of non-blank bytes, copied eight at a
             * time while there is room for them (bytes of val past the
             * run may be written: they are overwritten or past the final
             * NUL). j and o move together: val is full when j reaches
             * full, and a block may be loaded and stored while it ends
             * by lim. */
            const size_t full = j + (valsz - 1 - o); /* o + 1 < valsz */
            const size_t lim = full < hlen ? full : hlen;
            for (;;) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                /* the line's end (CR, LF) is below '!' too: eight bytes
                 * may be read past it while they are in the block */
                if (lim - j >= 8) {
                    uint64_t x;
                    memcpy(&x, h + j, 8);
                    memcpy(val + o, &x, 8);
                    uint64_t low = low_bytes(x);
                    if (!low) {
                        o += 8;
                        j += 8;
                        continue;
                    }
                    /* the lowest flagged byte is exact: the first < '!' */
                    size_t k = (size_t)__builtin_ctzll(low) >> 3;
                    o += k; /* j < full: k < 8 */
                    j += k;
                }
#endif
                /* a byte at a time: a control byte or a lone space is
                 * kept, another blank or the line's end ends the run */
                if (j >= lend || j == full ||
                    (vblank((unsigned char)h[j]) && !lone_sp(h, j, lend)))
                    break;
                val[o++] = h[j++];
            }
            if (j == full) {
                j = lend; /* full */
                break;
            }
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
    *olen = o;
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
        if (namesz) {
            size_t lim = nlen < namesz - 1 ? nlen : namesz - 1;
            lower_copy(name, h + i, lim);
            name[lim] = 0;
        }
        /* value: rest of this line plus continuation lines */
        size_t vl;
        *pos = field_value(h, hlen, (size_t)(colon - h), i + cl, next, val, valsz, &vl);
        return 1;
    }
    *pos = hlen;
    return 0;
}

/* The value of the field whose line's first ':' is at colon and whose
 * line ends at eol (its LF, or hlen); returns its length. */
size_t value_of(const char *h, size_t hlen, size_t colon, size_t eol, char *val, size_t valsz)
{
    size_t lend = eol, vl;
    /* h[colon] is ':', so a CR before the LF is never the colon */
    if (h[lend - 1] == '\r')
        lend--;
    field_value(h, hlen, colon, lend, eol < hlen ? eol + 1 : hlen, val, valsz, &vl);
    return vl;
}

/* Does the line [i, lend) name w (not starting with a blank, checked by
 * the caller)? It does when it begins with the name (case-insensitively),
 * then blanks, then ':'. */
static int line_names(const char *h, size_t i, size_t lend, struct want *w)
{
    size_t nl = w->nl;
    /* what follows the name has to be a blank or the ':': a test of one
     * byte that most lines fail before their names are compared */
    if (lend - i <= nl)
        return 0;
    unsigned char after = (unsigned char)h[i + nl];
    if ((after != ':' && after != ' ' && after != '\t') || !ci_name(h + i, w->name, nl))
        return 0;
    size_t j = i + nl;
    while (j < lend && (h[j] == ' ' || h[j] == '\t'))
        j++;
    if (j < lend && h[j] == ':') {
        /* the value starts after the line's first ':', which is in the
         * name when the name has one */
        const char *c = memchr(h + i, ':', nl);
        w->at = i;
        w->colon = c ? (size_t)(c - h) : j;
        w->eol = lend;
        return 1;
    }
    return 0;
}

/* One pass over the lines of h from offset from (a line start): the first
 * field line of each of the k names. A line names name when it does not
 * start with a blank, begins with name (case-insensitively), then blanks,
 * then ':'. Stops once every name is found.
 *
 * split: h is a whole entity (len bytes) and the block ends at its first
 * empty line as in bg_mime_split; returns the block's length and stores
 * the body's offset in *body_off. Otherwise the block is [0, len) and the
 * return value is len. */
static size_t find_fields(const char *h, size_t len, size_t from, int split,
                          size_t *body_off, struct want *w, size_t k)
{
    size_t left = 0;
    for (size_t q = 0; q < k; q++) {
        w[q].at = NOT_FOUND;
        left++;
    }
    size_t i = from, next;
    while (i < len) {
        if (split && empty_line(h, len, i, &next)) {
            *body_off = next;
            return i;
        }
        if (!left && !split)
            break;
        const char *e = memchr(h + i, '\n', len - i);
        size_t lend = e ? (size_t)(e - h) : len;
        if (left && h[i] != ' ' && h[i] != '\t') {
            for (size_t q = 0; q < k; q++)
                if (w[q].at == NOT_FOUND && line_names(h, i, lend, &w[q]))
                    left--;
        }
        if (!e)
            break;
        i = lend + 1;
    }
    if (split)
        *body_off = len;
    return len;
}

/* Does the line [i, lend) (not starting with a blank) name the literal
 * name of nl bytes, as line_names decides? Inline with the name's bytes
 * and length constant: its words are compared unrolled. */
static inline __attribute__((always_inline)) int
line_names_lit(const char *h, size_t i, size_t lend, const char *name, size_t nl,
               struct want *w)
{
    if (lend - i <= nl)
        return 0;
    unsigned char after = (unsigned char)h[i + nl];
    if ((after != ':' && after != ' ' && after != '\t') || !ci_name_in(h + i, name, nl))
        return 0;
    size_t j = i + nl;
    while (j < lend && (h[j] == ' ' || h[j] == '\t'))
        j++;
    if (j < lend && h[j] == ':') {
        /* no ':' in the name: the value starts after this one */
        w->at = i;
        w->colon = j;
        w->eol = lend;
        return 1;
    }
    return 0;
}

/* find_fields(h, len, 0, 1, body_off, w, 2) for the fields a part's walk
 * needs, w[0] Content-Type and w[1] Content-Transfer-Encoding: a line
 * names either only when its first eight bytes are "content-" (but for
 * case), one compare of a word. */
size_t find_ct_te(const char *h, size_t len, size_t *body_off, struct want *w)
{
    static const char ct[] = "content-type", te[] = "content-transfer-encoding";
    w[0].at = NOT_FOUND;
    w[1].at = NOT_FOUND;
    int left = 2;
    size_t i = 0, next;
    while (i < len) {
        if (empty_line(h, len, i, &next)) {
            *body_off = next;
            return i;
        }
        const char *e = memchr(h + i, '\n', len - i);
        size_t lend = e ? (size_t)(e - h) : len;
        if (left && lend - i > 12 && ci_eq8(load8(h + i), load8(ct))) {
            if (w[0].at == NOT_FOUND && line_names_lit(h, i, lend, ct, 12, &w[0]))
                left--;
            else if (w[1].at == NOT_FOUND && line_names_lit(h, i, lend, te, 25, &w[1]))
                left--;
        }
        if (!e)
            break;
        i = lend + 1;
    }
    *body_off = len;
    return len;
}

int bg_mime_header(const char *h, size_t hlen, const char *name,
                   char *val, size_t valsz)
{
    /* Compare names in place and decode only the matching field: most
     * fields are not wanted. */
    struct want w = { name, strlen(name), NOT_FOUND, 0, 0 };
    find_fields(h, hlen, 0, 0, NULL, &w, 1);
    if (w.at != NOT_FOUND) {
        value_of(h, hlen, w.colon, w.eol, val, valsz);
        return 1;
    }
    if (valsz)
        val[0] = 0;
    return 0;
}

/* Longer names are not indexed by length (their key matches no lookup's)
 * and lookups of them scan. */
#define IDX_NAME_MAX BG_MIME_IDX_NAME_MAX
#define NO_ENT 0xffu

_Static_assert(BG_MIME_HDRS_MAX < NO_ENT, "entry numbers fit a byte");
_Static_assert((BG_MIME_HDRS_BUCKETS & (BG_MIME_HDRS_BUCKETS - 1)) == 0,
               "a power of two of buckets");

/* The index key of a name of nlen bytes at s (see mime.h): equal for
 * names equal but for case. */
static inline __attribute__((always_inline)) unsigned long long
name_key(const char *s, size_t nlen)
{
    return bg_mime_name_key(s, nlen);
}

static unsigned key_bucket(unsigned long long key)
{
    return (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 40) & (BG_MIME_HDRS_BUCKETS - 1);
}

/* Index the field lines of h: the block [0, len), or with split the
 * header block of the entity h[0, len) (see find_fields). Returns the
 * block's length. */
static size_t index_lines(const char *h, size_t len, int split, struct bg_mime_hdrs *x)
{
    unsigned char tail[BG_MIME_HDRS_BUCKETS];
    memset(x->head, NO_ENT, sizeof x->head);
    x->h = h;
    x->n = 0;
    x->rest = NOT_FOUND;
    size_t i = 0, next, hl = len, boff = len;
    while (i < len) {
        if (split && empty_line(h, len, i, &next)) {
            hl = i;
            boff = next;
            break;
        }
        size_t lend = nl_next(h, len, i);
        const char *c;
        if (x->rest == NOT_FOUND && h[i] != ' ' && h[i] != '\t' &&
            (c = memchr(h + i, ':', lend - i)) != NULL) {
            if (x->n == BG_MIME_HDRS_MAX) {
                x->rest = i;
                if (!split)
                    break;
            } else {
                size_t nlen = (size_t)(c - (h + i));
                while (nlen > 0 && (h[i + nlen - 1] == ' ' || h[i + nlen - 1] == '\t'))
                    nlen--;
                size_t k = x->n++;
                struct bg_mime_hdr_ent *en = &x->e[k];
                en->off = i;
                en->colon = (size_t)(c - h);
                en->eol = lend;
                en->key = name_key(h + i, nlen);
                unsigned b = key_bucket(en->key);
                x->chain[k] = NO_ENT;
                if (x->head[b] == NO_ENT)
                    x->head[b] = (unsigned char)k;
                else
                    x->chain[tail[b]] = (unsigned char)k;
                tail[b] = (unsigned char)k;
            }
        }
        i = lend + 1;
    }
    x->hlen = hl;
    if (x->rest == NOT_FOUND)
        x->rest = hl;
    x->msg_len = split ? len : NOT_FOUND;
    x->body_off = boff;
    return hl;
}

void bg_mime_index(const char *h, size_t hlen, struct bg_mime_hdrs *x)
{
    index_lines(h, hlen, 0, x);
}

size_t bg_mime_index_msg(const char *msg, size_t len, size_t *body_off,
                         struct bg_mime_hdrs *x)
{
    size_t hl = index_lines(msg, len, 1, x);
    if (body_off)
        *body_off = x->body_off;
    return hl;
}

/* The index lookup of a name of nl (< IDX_NAME_MAX) bytes: the first
 * indexed line whose name (cut at its first ':' and trimmed of trailing
 * blanks) equals it. For a name with no ':' and no blank at its end that
 * is exactly the first line that names it; a name with either matches no
 * indexed name. Stores where the field is: its ':' and its line's end. */
static inline __attribute__((always_inline)) int
idx_probe_key(const struct bg_mime_hdrs *x, const char *name, size_t nl,
              unsigned long long key, size_t *colon, size_t *eol)
{
    for (unsigned k = x->head[key_bucket(key)]; k != NO_ENT; k = x->chain[k]) {
        const struct bg_mime_hdr_ent *en = &x->e[k];
        if (en->key == key && ci_name_in(x->h + en->off, name, nl)) {
            *colon = en->colon;
            *eol = en->eol;
            return 1;
        }
    }
    return 0;
}

static inline __attribute__((always_inline)) int
idx_probe_at(const struct bg_mime_hdrs *x, const char *name, size_t nl,
             size_t *colon, size_t *eol)
{
    /* always inline: the walk's names are literals, so their key and
     * bucket fold at compile time, and a lookup saves the call */
    return idx_probe_key(x, name, nl, name_key(name, nl), colon, eol);
}

/* The same for the lines not indexed (after idx_probe_at missed). */
static int idx_scan_rest(const struct bg_mime_hdrs *x, const char *name, size_t nl,
                         size_t *colon, size_t *eol)
{
    struct want w = { name, nl, NOT_FOUND, 0, 0 };
    find_fields(x->h, x->hlen, x->rest, 0, NULL, &w, 1);
    if (w.at != NOT_FOUND) {
        *colon = w.colon;
        *eol = w.eol;
        return 1;
    }
    return 0;
}

/* Inline: that every line is indexed (the common case) is known without
 * a call. */
static inline int idx_rest_at(const struct bg_mime_hdrs *x, const char *name, size_t nl,
                              size_t *colon, size_t *eol)
{
    return x->rest < x->hlen && idx_scan_rest(x, name, nl, colon, eol);
}

/* Where the field called name is (its ':' and line end), from the index. */
int idx_find(const struct bg_mime_hdrs *x, const char *name, size_t nl,
             size_t *colon, size_t *eol)
{
    return idx_probe_at(x, name, nl, colon, eol) || idx_rest_at(x, name, nl, colon, eol);
}

int bg_mime_hdr_get_n(const struct bg_mime_hdrs *x, const char *name,
                      size_t nl, int odd, char *val, size_t valsz)
{
    return bg_mime_hdr_get_k(x, name, nl, odd, name_key(name, nl), val, valsz);
}

int bg_mime_hdr_get_k(const struct bg_mime_hdrs *x, const char *name,
                      size_t nl, int odd, unsigned long long key,
                      char *val, size_t valsz)
{
    /* the index holds names cut at the first ':' and trimmed of trailing
     * blanks: no indexed name equals an odd name (a ':' in it or a blank
     * at its end), so a hit is the answer, and only a miss needs to know
     * whether the name must be looked up the slow way (blanks inside a
     * name are the same either way) */
    size_t colon, eol;
    if (nl < IDX_NAME_MAX && idx_probe_key(x, name, nl, key, &colon, &eol)) {
        value_of(x->h, x->hlen, colon, eol, val, valsz);
        return 1;
    }
    if (nl >= IDX_NAME_MAX || odd)
        return bg_mime_header(x->h, x->hlen, name, val, valsz);
    if (idx_rest_at(x, name, nl, &colon, &eol)) {
        value_of(x->h, x->hlen, colon, eol, val, valsz);
        return 1;
    }
    if (valsz)
        val[0] = 0;
    return 0;
}
