/* mime.c - bounded MIME helpers; see mime.h. */
#define _GNU_SOURCE /* memmem */
#include "mime.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

static int lc(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
static int is_ws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Do the bytes a and b match but for ASCII case? */
static int ci_eq(unsigned char a, unsigned char b)
{
    return a == b || ((a | 0x20u) == (b | 0x20u) && (unsigned)((a | 0x20u) - 'a') < 26u);
}

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

static int ci_name(const char *s, const char *name, size_t n)
{
    return ci_name_in(s, name, n);
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

/* The bytes a field value drops (runs of them become one space): NUL,
 * TAB, CR and SP. */
static int vblank(unsigned c)
{
    return c <= ' ' && ((0x100002201ull >> c) & 1);
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
static inline __attribute__((always_inline)) size_t
value_of(const char *h, size_t hlen, size_t colon, size_t eol, char *val, size_t valsz)
{
    size_t lend = eol, vl;
    /* h[colon] is ':', so a CR before the LF is never the colon */
    if (h[lend - 1] == '\r')
        lend--;
    field_value(h, hlen, colon, lend, eol < hlen ? eol + 1 : hlen, val, valsz, &vl);
    return vl;
}

#define NOT_FOUND ((size_t)-1)

struct want {
    const char *name;
    size_t nl;
    size_t at;    /* line of the first field so named, NOT_FOUND if none */
    size_t colon; /* its ':' */
    size_t eol;   /* the LF ending its line, or the end of the block */
};

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
static size_t find_ct_te(const char *h, size_t len, size_t *body_off, struct want *w)
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
static inline int idx_find(const struct bg_mime_hdrs *x, const char *name, size_t nl,
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

/* The bytes that end a media type: NUL, TAB, LF, CR, SP and ';' (all
 * below 64: a bit each). */
#define TYPE_STOP (1ull | 1ull << '\t' | 1ull << '\n' | 1ull << '\r' | 1ull << ' ' | 1ull << ';')

/* The media type at the start of v[0, n) (no NUL in it), lower-cased into
 * out, cut to outsz - 1 bytes: its length. (The walk reads a part's type
 * with first_token, from the header bytes.) */
static size_t media_type_n(const char *v, size_t n, char *out, size_t outsz)
{
    size_t i = 0;
    while (i < n && is_ws((unsigned char)v[i]))
        i++;
    if (!outsz)
        return 0;
    size_t lim = n - i < outsz - 1 ? n : i + outsz - 1, k = i;
    for (unsigned ch; k < lim && ((ch = (unsigned char)v[k]) > ';' || !((TYPE_STOP >> ch) & 1)); k++)
        ;
    lower_copy(out, v + i, k - i);
    out[k - i] = 0;
    return k - i;
}

void bg_mime_media_type(const char *ctval, char *out, size_t outsz)
{
    const char *s = ctval;
    while (*s && is_ws((unsigned char)*s))
        s++;
    /* no more than fits out is looked at */
    media_type_n(s, outsz ? strnlen(s, outsz - 1) : 0, out, outsz);
}

/* The offset of the first a or b in s[0, n), or n: parameter lists are
 * scanned between quotes and ';'s. */
static size_t find2(const char *s, size_t n, char a, char b)
{
    size_t k = 0;
    while (k < n && s[k] != a && s[k] != b)
        k++;
    return k;
}

/* bg_mime_param of v[0, n) (no NUL in it) and a name of plen bytes. */
static int param_n(const char *v, size_t n, const char *param, size_t plen,
                   char *out, size_t outsz)
{
    size_t i = 0;
    if (outsz)
        out[0] = 0;
    for (;;) {
        /* the next ';' outside quotes (the first one ends the media
         * type); a '\\' in quotes escapes the byte after it */
        for (;;) {
            i += find2(v + i, n - i, ';', '"');
            if (i >= n)
                return 0;
            if (v[i] == ';')
                break;
            for (i++;;) {
                i += find2(v + i, n - i, '"', '\\');
                if (i >= n)
                    return 0;
                if (v[i] == '"')
                    break;
                i += i + 1 < n ? 2 : 1;
            }
            i++;
        }
        i++; /* past ';' */
        while (i < n && is_ws((unsigned char)v[i]))
            i++;
        /* not this parameter: the search goes on from its name */
        if (n - i < plen || !ci_name(v + i, param, plen))
            continue;
        size_t t = i + plen;
        while (t < n && (v[t] == ' ' || v[t] == '\t'))
            t++;
        if (t >= n || v[t] != '=')
            continue;
        t++;
        while (t < n && (v[t] == ' ' || v[t] == '\t'))
            t++;
        size_t o = 0;
        if (t < n && v[t] == '"') {
            t++;
            while (t < n && v[t] != '"') {
                /* a run up to the closing quote or a '\\', then that */
                size_t r = find2(v + t, n - t, '"', '\\');
                size_t room = outsz > o + 1 ? outsz - 1 - o : 0;
                size_t c = r < room ? r : room;
                memcpy(out + o, v + t, c);
                o += c;
                t += r;
                if (t >= n || v[t] == '"')
                    break;
                if (t + 1 < n)
                    t++; /* the escaped byte */
                if (o + 1 < outsz)
                    out[o++] = v[t];
                t++;
            }
        } else {
            while (t < n && v[t] != ';' && !is_ws((unsigned char)v[t])) {
                if (o + 1 < outsz)
                    out[o++] = v[t];
                t++;
            }
        }
        if (outsz)
            out[o] = 0;
        return 1;
    }
}

int bg_mime_param(const char *ctval, const char *param, char *out,
                  size_t outsz)
{
    return param_n(ctval, strlen(ctval), param, strlen(param), out, outsz);
}

/* The encoding a lower-cased token of tl bytes names. */
static enum bg_mime_enc encoding_of(const char *t, size_t tl)
{
    if (tl == 6 && memcmp(t, "base64", 6) == 0)
        return BG_ENC_BASE64;
    if (tl == 16 && memcmp(t, "quoted-printable", 16) == 0)
        return BG_ENC_QP;
    return BG_ENC_IDENTITY;
}

enum bg_mime_enc bg_mime_encoding(const char *v)
{
    char t[32];
    while (*v && is_ws((unsigned char)*v))
        v++;
    /* the token is cut to 31 bytes: what follows is not looked at */
    size_t tl = media_type_n(v, strnlen(v, sizeof t - 1), t, sizeof t);
    return encoding_of(t, tl);
}

/* The value of each base64 digit (both alphabets), -1 for other bytes. */
static const signed char b64v[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, 62, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

size_t bg_mime_b64_decode(const char *in, size_t inlen, char *out,
                          size_t outsz)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)in;
    for (size_t i = 0; i < inlen && o < outsz; i++) {
        if (bits == 0) {
            /* whole quads of digits: three bytes each (what the digit
             * at a time below makes of them) */
            while (inlen - i >= 4 && outsz - o >= 3) {
                int a = b64v[u[i]], b = b64v[u[i + 1]], c = b64v[u[i + 2]], d = b64v[u[i + 3]];
                if ((a | b | c | d) < 0)
                    break;
                acc = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)c << 6 | (unsigned)d;
                out[o] = (char)(acc >> 16);
                out[o + 1] = (char)(acc >> 8);
                out[o + 2] = (char)acc;
                o += 3;
                i += 4;
            }
            if (i >= inlen || o >= outsz)
                break;
        }
        int v = b64v[u[i]];
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

/* Each hex digit's value plus one (both cases); 0 for other bytes. */
static const unsigned char hex1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
    ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The '=' at in[i] (i < inlen) of quoted-printable text: "=XX" is a byte,
 * '=' then blanks then a line break (or the end of the input) is a soft
 * line break and is dropped, any other '=' stands for itself. Stores at
 * most one byte at out[*o] (the caller has room for one) and returns the
 * offset after what it consumed. */
static inline size_t qp_escape(const char *in, size_t inlen, size_t i, char *out, size_t *o)
{
    unsigned hi, lo;
    if (i + 2 < inlen && (hi = hex1[(unsigned char)in[i + 1]]) != 0 &&
        (lo = hex1[(unsigned char)in[i + 2]]) != 0) {
        out[(*o)++] = (char)((hi - 1) << 4 | (lo - 1));
        return i + 3;
    }
    size_t j = i + 1;
    while (j < inlen && (in[j] == ' ' || in[j] == '\t'))
        j++;
    if (j < inlen && in[j] == '\r')
        j++;
    if (j >= inlen)
        return inlen;
    if (in[j] == '\n')
        return j + 1;
    out[(*o)++] = '=';
    return i + 1;
}



size_t bg_mime_qp_decode(const char *in, size_t inlen, char *out,
                         size_t outsz)
{
    size_t o = 0, i = 0;
    while (i < inlen && o < outsz) {
        if (in[i] == '=')
            i = qp_escape(in, inlen, i, out, &o);
        else
            out[o++] = in[i++];
    }
    return o;
}

/* The Q encoding of RFC 2047 words: quoted-printable where '_' is a
 * space. Words are short: a byte at a time. */
static size_t q_word_decode(const char *in, size_t inlen, char *out, size_t outsz)
{
    size_t o = 0, i = 0;
    while (i < inlen && o < outsz) {
        char c = in[i];
        if (c == '=') {
            i = qp_escape(in, inlen, i, out, &o);
            continue;
        }
        out[o++] = c == '_' ? ' ' : c;
        i++;
    }
    return o;
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
                      : q_word_decode(txt, n, out, outsz);
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
        /* what comes before the next '=' is copied as it is */
        size_t run = (size_t)(strchrnul(s, '=') - s), room = outsz - 1 - o;
        if (run > room)
            run = room;
        memcpy(out + o, s, run);
        o += run;
        s += run;
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
