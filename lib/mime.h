/* mime.h - bounded MIME helpers for parsing mail from strangers.
 *
 * Header blocks, header fields (unfolded), Content-Type parameters,
 * base64 / quoted-printable bodies, RFC 2047 encoded words, and a flat
 * walk over a (nested) multipart tree. Pure functions: no I/O, no
 * globals, no allocation; every input is (pointer, length) and never
 * read past its length; every output is bounded and NUL-terminated.
 */
#ifndef BG_MIME_H
#define BG_MIME_H

#include <stddef.h>
#include <string.h>

/* Longest boundary we accept (RFC 2046 says 70; be a little lenient). */
#define BG_MIME_BOUNDARY_MAX 200
#define BG_MIME_TYPE_MAX 64

enum bg_mime_enc { BG_ENC_IDENTITY = 0, BG_ENC_BASE64, BG_ENC_QP };

/* Split a message into header block and body. Returns the length of the
 * header block (without the empty line); *body_off gets the offset of the
 * body (== len when there is no empty line: the whole input is headers). */
size_t bg_mime_split(const char *p, size_t len, size_t *body_off);

/* Iterate the fields of a header block. *pos starts at 0. On each call
 * stores the field name (lower-cased, truncated) and the unfolded value
 * (folds and runs of white space collapsed to one space, trimmed,
 * truncated) and returns 1; returns 0 at the end. Lines without a colon
 * are skipped. Here and in the lookups below, bytes of val after its
 * terminating NUL (still within valsz) are unspecified. */
int bg_mime_next_field(const char *h, size_t hlen, size_t *pos,
                       char *name, size_t namesz, char *val, size_t valsz);

/* First field called name (case-insensitive). 1 found, 0 not (val=""). */
int bg_mime_header(const char *h, size_t hlen, const char *name,
                   char *val, size_t valsz);

/* A header block indexed once for many lookups: each field line's name
 * (position, length, a few of its bytes case-folded) for the first
 * BG_MIME_HDRS_MAX fields, chained by a hash of that key so a lookup
 * visits only the fields that may match; lookups past those fall back to
 * a scan of the rest. Points into h, which must outlive it. No
 * allocation. */
#define BG_MIME_HDRS_MAX 64
#define BG_MIME_HDRS_BUCKETS 64
struct bg_mime_hdr_ent {
    size_t off;      /* start of the field's line */
    size_t colon;    /* its first ':' */
    size_t eol;      /* the LF that ends the line, or hlen */
    unsigned long long key; /* name length (without trailing blanks) and
                             * its first, middle and last byte, case
                             * folded: a filter before comparing names */
};
struct bg_mime_hdrs {
    const char *h;
    size_t hlen;
    size_t n;        /* entries in e[] */
    size_t rest;     /* lines from here on are not indexed (hlen: none) */
    size_t msg_len;  /* bg_mime_index_msg: length of the message h starts;
                      * bg_mime_index: (size_t)-1 */
    size_t body_off; /* bg_mime_index_msg: offset of the body */
    unsigned char head[BG_MIME_HDRS_BUCKETS]; /* first entry per bucket */
    unsigned char chain[BG_MIME_HDRS_MAX];    /* next entry, same bucket */
    struct bg_mime_hdr_ent e[BG_MIME_HDRS_MAX];
};
void bg_mime_index(const char *h, size_t hlen, struct bg_mime_hdrs *idx);
/* bg_mime_split and bg_mime_index of its header block in one pass over
 * the header lines: returns what bg_mime_split(msg, len, body_off)
 * returns, and idx is what bg_mime_index(msg, <that>, idx) makes. */
size_t bg_mime_index_msg(const char *msg, size_t len, size_t *body_off,
                         struct bg_mime_hdrs *idx);
/* bg_mime_hdr_get with the name's length nl (strlen(name)) and whether
 * it has a ':' or ends with a blank (odd: such a name is looked up by a
 * scan, as bg_mime_header does) given by the caller. */
int bg_mime_hdr_get_n(const struct bg_mime_hdrs *idx, const char *name,
                      size_t nl, int odd, char *val, size_t valsz);
/* The index key of a name of nl bytes (struct bg_mime_hdr_ent's key):
 * its length and its first, middle and last byte, case folded (c | 0x20
 * maps both cases of a letter to one byte). Names of BG_MIME_IDX_NAME_MAX
 * bytes or more are not indexed by it: they get a key no lookup has.
 * Inline so that a literal name's key folds at compile time. */
#define BG_MIME_IDX_NAME_MAX 1024u
static inline unsigned long long bg_mime_name_key(const char *s, size_t nl)
{
    if (nl >= BG_MIME_IDX_NAME_MAX)
        return ~0ull;
    if (nl == 0)
        return 0;
    unsigned f = (unsigned char)s[0] | 0x20u;
    unsigned m = (unsigned char)s[nl / 2] | 0x20u;
    unsigned l = (unsigned char)s[nl - 1] | 0x20u;
    return (unsigned long long)nl << 32 | f << 16 | m << 8 | l;
}
/* bg_mime_hdr_get_n with the name's key (bg_mime_name_key(name, nl))
 * given by the caller. */
int bg_mime_hdr_get_k(const struct bg_mime_hdrs *idx, const char *name,
                      size_t nl, int odd, unsigned long long key,
                      char *val, size_t valsz);
/* Same result as bg_mime_header(idx->h, idx->hlen, name, val, valsz).
 * Inline so that for a literal name (all callers' case) the compiler
 * folds strlen, the checks for ':' and a trailing blank (each cost a
 * libc call per lookup) and the name's key. */
static inline int bg_mime_hdr_get(const struct bg_mime_hdrs *idx,
                                  const char *name, char *val, size_t valsz)
{
    size_t nl = strlen(name);
    int odd = (nl > 0 && (name[nl - 1] == ' ' || name[nl - 1] == '\t')) ||
              memchr(name, ':', nl) != NULL;
    return bg_mime_hdr_get_k(idx, name, nl, odd, bg_mime_name_key(name, nl), val, valsz);
}

/* From a Content-Type value: the media type lower-cased ("text/plain"). */
void bg_mime_media_type(const char *ctval, char *out, size_t outsz);
/* A parameter of a structured value (quotes removed); 1 found, 0 not. */
int bg_mime_param(const char *ctval, const char *param, char *out,
                  size_t outsz);
enum bg_mime_enc bg_mime_encoding(const char *cteval);

/* Decoders: write at most outsz bytes, return the number written (no NUL
 * is appended). Garbage is skipped, never an error. */
size_t bg_mime_b64_decode(const char *in, size_t inlen, char *out,
                          size_t outsz);
size_t bg_mime_qp_decode(const char *in, size_t inlen, char *out,
                         size_t outsz);
size_t bg_mime_decode(enum bg_mime_enc enc, const char *in, size_t inlen,
                      char *out, size_t outsz);

/* The first k in [from, end) where p[k] is an LF followed by c1 and c2
 * (a "\n--" that may start a MIME delimiter, an mbox's "\nFr"), or end.
 * end + 2 <= len; reads only p[0, len). */
size_t bg_mime_next_lf2(const char *p, size_t len, size_t from, size_t end,
                        char c1, char c2);

/* RFC 2047 encoded words (B and Q) of a NUL-terminated header value into
 * out (bytes passed through, charset ignored); always NUL-terminates. */
void bg_mime_decode_words(const char *in, char *out, size_t outsz);

struct bg_mime_part {
    const char *hdr;             /* header block of the part (into input) */
    size_t hdr_len;
    const char *body;            /* body (into input, still encoded) */
    size_t body_len;
    char type[BG_MIME_TYPE_MAX]; /* lower-cased media type */
    enum bg_mime_enc enc;
    int depth;                   /* 0 = the message itself */
    int multipart;               /* 1 for a multipart container */
};

/* Walk the MIME tree of a message depth-first (containers before their
 * children), at most maxdepth levels of multipart nesting and at most
 * maxparts parts. message/rfc822 parts are NOT descended into. Returns
 * the number of parts stored. Linear in len per nesting level. */
size_t bg_mime_walk(const char *msg, size_t len, int maxdepth,
                    struct bg_mime_part *parts, size_t maxparts);
/* The same walk for a message whose header block the caller has indexed
 * with bg_mime_index_msg(msg, len, ...): the top-level split and fields
 * are taken from there instead of read again. idx may be NULL; an index
 * made any other way, or of any other message, is ignored. */
size_t bg_mime_walk_hdrs(const char *msg, size_t len,
                         const struct bg_mime_hdrs *idx, int maxdepth,
                         struct bg_mime_part *parts, size_t maxparts);

#endif
