/* test_mime.c - the header index (bg_mime_index, bg_mime_index_msg,
 * bg_mime_hdr_get), field values and the string helpers. The decoders
 * and the multipart walk: test_mime_walk.c. Every input is copied into an
 * exact-size heap buffer (no NUL after it) so valgrind/ASan catch any
 * read past its length. */
#include "mime.h"
#include "unit.h"
#include "mime_fixture.h"

#include <stdio.h>
#include <string.h>

/* bg_mime_hdr_get must answer exactly as bg_mime_header: found or not,
 * and the same value, for every valsz. */
static void same_as_header(const struct bg_mime_hdrs *x, const char *name)
{
    static const size_t sizes[] = { 1, 2, 5, 16, 600 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char a[600], b[600];
        memset(a, 'A', sizeof a);
        memset(b, 'B', sizeof b);
        int ra = bg_mime_header(x->h, x->hlen, name, a, sizes[s]);
        int rb = bg_mime_hdr_get(x, name, b, sizes[s]);
        ck_assert_msg(ra == rb, "found differs for \"%s\"", name);
        ck_assert_msg(strcmp(a, b) == 0, "\"%s\": \"%s\" vs \"%s\"", name, a, b);
    }
}

START_TEST(index_lookups)
{
    static const char h[] =
        "Received: from a\r\n\tby b; Mon, 1 Jan 2024\r\n"
        "SUBJECT:  Undelivered \t Mail\r\n   Returned\r\n"
        "From : MAILER-DAEMON@example.org\r\n"
        "garbage line without a colon\r\n"
        " Indented: not a field\r\n"
        "To:\r\n"
        "x y: spaced name\r\n"
        "a:b: colon\r\n"
        ":empty name\r\n"
        "Subject: second subject\r\n"
        "X-Nul: a\0b\r\n"
        "Content-Type: text/plain;\r\n charset=us-ascii\r\n"
        "Last: no newline";
    size_t n = sizeof h - 1;
    char *p = dup_exact(h, n);
    struct bg_mime_hdrs x;
    bg_mime_index(p, n, &x);
    ck_assert_uint_eq(x.rest, n); /* everything indexed */

    char v[128];
    ck_assert(bg_mime_hdr_get(&x, "subject", v, sizeof v));
    ck_assert_str_eq(v, "Undelivered Mail Returned"); /* first one, unfolded */
    ck_assert(bg_mime_hdr_get(&x, "from", v, sizeof v));
    ck_assert_str_eq(v, "MAILER-DAEMON@example.org");
    ck_assert(bg_mime_hdr_get(&x, "TO", v, sizeof v));
    ck_assert_str_eq(v, "");
    ck_assert(bg_mime_hdr_get(&x, "content-type", v, sizeof v));
    ck_assert_str_eq(v, "text/plain; charset=us-ascii");
    ck_assert(bg_mime_hdr_get(&x, "last", v, sizeof v));
    ck_assert_str_eq(v, "no newline");
    ck_assert(!bg_mime_hdr_get(&x, "indented", v, sizeof v));
    ck_assert_str_eq(v, "");
    ck_assert(!bg_mime_hdr_get(&x, "x-failed-recipients", v, sizeof v));

    static const char *const names[] = {
        "subject", "Subject", "from", "to", "received", "garbage line without a colon",
        "indented", "x y", "x", "a", "a:b", "", "x-nul", "content-type", "last",
        "to ", "content", "content-type-x", "nothere", "x\ty", "x y ", "x  y",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        same_as_header(&x, names[i]);
    free(p);
}
END_TEST

START_TEST(index_overflow)
{
    /* more fields than the index holds: later ones are still found, and
     * the first match still wins */
    size_t cap = 200 * 40 + 200;
    char *h = malloc(cap);
    ck_assert_ptr_nonnull(h);
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(h + n, cap - n, "X-F%d: value %d\n", i, i);
    n += (size_t)snprintf(h + n, cap - n, "X-F5: again\nX-Tail: end");
    char *p = dup_exact(h, n);
    free(h);
    struct bg_mime_hdrs x;
    bg_mime_index(p, n, &x);
    ck_assert_uint_eq(x.n, BG_MIME_HDRS_MAX);
    ck_assert_uint_lt(x.rest, n);
    char v[64];
    ck_assert(bg_mime_hdr_get(&x, "x-f5", v, sizeof v));
    ck_assert_str_eq(v, "value 5");
    ck_assert(bg_mime_hdr_get(&x, "X-F150", v, sizeof v));
    ck_assert_str_eq(v, "value 150");
    ck_assert(bg_mime_hdr_get(&x, "x-tail", v, sizeof v));
    ck_assert_str_eq(v, "end");
    ck_assert(!bg_mime_hdr_get(&x, "x-f200", v, sizeof v));
    static const char *const names[] = { "x-f0", "x-f63", "x-f64", "x-f65", "x-f199",
                                         "x-tail", "x-f", "x y", "nothere" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        same_as_header(&x, names[i]);
    free(p);
}
END_TEST

START_TEST(index_hostile)
{
    /* empty block, a lone colon, NULs, and a 1 MB line */
    struct bg_mime_hdrs x;
    char v[32];
    bg_mime_index("", 0, &x);
    ck_assert(!bg_mime_hdr_get(&x, "subject", v, sizeof v));
    ck_assert_str_eq(v, "");

    size_t n = 1 << 20;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    memset(p, 'a', n);
    memcpy(p, "Subject", 7);
    p[n / 2] = ':';
    p[n / 3] = 0;
    bg_mime_index(p, n, &x);
    ck_assert_uint_eq(x.n, 1);
    ck_assert(!bg_mime_hdr_get(&x, "subject", v, sizeof v));
    same_as_header(&x, "subject");
    memset(p, 'a', n);
    memcpy(p, "Subject: ", 9);
    bg_mime_index(p, n, &x);
    ck_assert(bg_mime_hdr_get(&x, "subject", v, sizeof v));
    ck_assert_uint_eq(strlen(v), sizeof v - 1);
    same_as_header(&x, "subject");
    free(p);
}
END_TEST

/* bg_mime_index_msg = bg_mime_split + bg_mime_index of the block */
static void index_msg_agrees(const char *m, size_t n)
{
    char *p = dup_exact(m, n);
    size_t b1 = 12345, b2 = 54321;
    size_t h1 = bg_mime_split(p, n, &b1);
    static struct bg_mime_hdrs x, y;
    size_t h2 = bg_mime_index_msg(p, n, &b2, &y);
    ck_assert_uint_eq(h1, h2);
    ck_assert_uint_eq(b1, b2);
    ck_assert_uint_eq(bg_mime_index_msg(p, n, NULL, &y), h1);
    bg_mime_index(p, h1, &x);
    ck_assert_ptr_eq(x.h, y.h);
    ck_assert_uint_eq(x.hlen, y.hlen);
    ck_assert_uint_eq(x.n, y.n);
    ck_assert_uint_eq(x.rest, y.rest);
    for (size_t i = 0; i < x.n; i++) {
        ck_assert_uint_eq(x.e[i].off, y.e[i].off);
        ck_assert_uint_eq(x.e[i].colon, y.e[i].colon);
        ck_assert_uint_eq(x.e[i].eol, y.e[i].eol);
        ck_assert(x.e[i].key == y.e[i].key);
    }
    static const char *const names[] = { "subject", "from", "to", "x-f3", "x-f70", "x-tail",
                                         "body", "a:b", "content-type", "" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        same_as_header(&x, names[i]);
        same_as_header(&y, names[i]);
    }
    free(p);
}

START_TEST(index_msg_split)
{
    static const char *const msgs[] = {
        "", "\n", "\r", "\r\n", "\r\r\n", "Subject: a\n", "Subject: a",
        "Subject: a\r\n\r\nBody: b\r\n", "Subject: a\n\nBody: b\n",
        "Subject: a\r\rBody: b", "Subject: a\n\rBody: b", "Subject: a\n\r",
        "Subject: a\n \nBody: b\n\n", "From: x\n\tfolded\n\nTo: y\n",
        "a:b: colon\nA:B : v\n\nbody", ":\n\n", "To\n\nSubject: not a header\n",
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
        index_msg_agrees(msgs[i], strlen(msgs[i]));
    /* more fields than the index holds, then a body with more of them */
    size_t cap = 100 * 40 + 200;
    char *h = malloc(cap);
    ck_assert_ptr_nonnull(h);
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(h + n, cap - n, "X-F%d: value %d\r\n", i, i);
    n += (size_t)snprintf(h + n, cap - n, "X-Tail: end\r\n\r\nBody: x\r\nX-F3: no\r\n");
    index_msg_agrees(h, n);
    index_msg_agrees(h, n - 30);
    free(h);
}
END_TEST

START_TEST(index_name_with_colon)
{
    /* a looked-up name with a ':' matches lines starting with it; the
     * value starts after the line's first ':' */
    static const char m[] = "A:B : v\r\nx: y\r\n";
    char *p = dup_exact(m, sizeof m - 1);
    struct bg_mime_hdrs x;
    bg_mime_index(p, sizeof m - 1, &x);
    char v[32];
    ck_assert(bg_mime_hdr_get(&x, "a:b", v, sizeof v));
    ck_assert_str_eq(v, "B : v");
    ck_assert(bg_mime_header(p, sizeof m - 1, "a:b", v, sizeof v));
    ck_assert_str_eq(v, "B : v");
    ck_assert(bg_mime_hdr_get(&x, "a", v, sizeof v));
    ck_assert_str_eq(v, "B : v");
    free(p);
}
END_TEST

START_TEST(name_case_every_byte_pair)
{
    /* names are compared eight bytes at a time (SWAR): a byte of a field
     * name matches a byte of the looked-up name exactly when they are equal
     * or the same ASCII letter in either case, for every pair of bytes
     * (those that would end the name or the line left out) */
    char h[16] = "abXdefghi: v\n", name[10] = "abXdefghi", v[8];
    for (unsigned a = 1; a < 256; a++) {
        if (a == '\n' || a == '\r' || a == ':')
            continue;
        h[2] = (char)a;
        struct bg_mime_hdrs x;
        bg_mime_index(h, 13, &x);
        for (unsigned b = 1; b < 256; b++) {
            if (b == ':')
                continue;
            name[2] = (char)b;
            unsigned la = a | 0x20u;
            int want = a == b || (la == (b | 0x20u) && la >= 'a' && la <= 'z');
            /* (an if, not ck_assert: Check writes a pipe per assertion,
             * and 2 x 64,000 of them took seconds) */
            if (bg_mime_hdr_get(&x, name, v, sizeof v) != want ||
                bg_mime_header(h, 13, name, v, sizeof v) != want)
                ck_abort_msg("byte %u against %u: want %d", a, b, want);
        }
    }
}
END_TEST

START_TEST(index_name_runtime)
{
    /* bg_mime_hdr_get is inline (strlen and the ':' / trailing blank
     * checks fold for literals): names only known at run time, odd or
     * not, answer as bg_mime_header does, and bg_mime_hdr_get_n with the
     * same length and oddness answers the same */
    static const char m[] = "A:B : v\r\nx : y\r\nSubject: s\r\n";
    static const char *const names[] = { "a:b", "a", "x ", "x\t", "x", "subject",
                                         "SUBJECT", "subject:", "", "nope", "nope " };
    char *p = dup_exact(m, sizeof m - 1);
    struct bg_mime_hdrs x;
    bg_mime_index(p, sizeof m - 1, &x);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char name[16], a[32], b[32], c[32];
        volatile size_t n = strlen(names[k]); /* keep the name opaque */
        memcpy(name, names[k], n + 1);
        int ra = bg_mime_header(p, sizeof m - 1, name, a, sizeof a);
        ck_assert_int_eq(bg_mime_hdr_get(&x, name, b, sizeof b), ra);
        ck_assert_str_eq(a, b);
        int odd = (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t')) ||
                  strchr(name, ':') != NULL;
        ck_assert_int_eq(bg_mime_hdr_get_n(&x, name, n, odd, c, sizeof c), ra);
        ck_assert_str_eq(a, c);
    }
    free(p);
}
END_TEST

/* The value bg_mime_next_field must give: blanks (NUL, TAB, CR, SP) and
 * folds collapsed to one space, trimmed, cut to valsz - 1 bytes. */
static void naive_value(const char *v, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    int sp = 0;
    for (size_t i = 0; i < n && o + 1 < outsz; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == 0 || c == '\t' || c == '\r' || c == ' ' || c == '\n') {
            sp = o > 0;
            continue;
        }
        if (sp) {
            out[o++] = ' ';
            sp = 0;
            if (o + 1 >= outsz)
                break;
        }
        out[o++] = (char)c;
    }
    if (outsz)
        out[o] = 0;
}

START_TEST(field_value_runs)
{
    /* long runs (copied eight bytes at a time), control bytes inside
     * runs, blanks of every kind, folds; cut at every size */
    static const char v[] = "  abcdefghijklmnopqrstuvwxyz0123456789\x01\x02" "ABCDEFGH\x7f\xff"
                            "xyz \t\r a\0b\x1f" "cdefghij\r\n\tfolded-run-of-many-bytes   \r\n"
                            " 12345678 1234567 123456789\x08" "0123456789abcdef";
    static const char pre[] = "X-Long:";
    size_t vl = sizeof v - 1, n = sizeof pre - 1 + vl;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    memcpy(p, pre, sizeof pre - 1);
    memcpy(p + sizeof pre - 1, v, vl);
    for (size_t sz = 0; sz <= 200; sz++) {
        char a[256], b[256], nm[16];
        memset(a, 'A', sizeof a);
        memset(b, 'B', sizeof b);
        naive_value(v, vl, b, sz);
        size_t pos = 0;
        ck_assert(bg_mime_next_field(p, n, &pos, nm, sizeof nm, a, sz));
        ck_assert_uint_eq(pos, n);
        ck_assert_str_eq(nm, "x-long");
        if (sz)
            ck_assert_str_eq(a, b);
        else
            ck_assert_int_eq(a[0], 'A'); /* nothing written */
    }
    free(p);
}
END_TEST

START_TEST(string_helpers)
{
    char out[64];
    /* media type: lower-cased, ends at blanks and ';', cut to size */
    bg_mime_media_type(" \tMultiPart/REPORT ;x", out, sizeof out);
    ck_assert_str_eq(out, "multipart/report");
    bg_mime_media_type("Text/Plain", out, 5);
    ck_assert_str_eq(out, "text");
    bg_mime_media_type("\xc1@[`{Z", out, sizeof out);
    ck_assert_str_eq(out, "\xc1@[`{z");
    out[0] = 'X';
    bg_mime_media_type("a", out, 0);
    ck_assert_int_eq(out[0], 'X');
    ck_assert_int_eq(bg_mime_encoding(" BASE64 "), BG_ENC_BASE64);
    ck_assert_int_eq(bg_mime_encoding("Quoted-Printable;"), BG_ENC_QP);
    ck_assert_int_eq(bg_mime_encoding("7bit"), BG_ENC_IDENTITY);
    /* parameters: ';' inside quotes is not a separator, escapes */
    static const char ct[] = "multipart/mixed; a=\"x;boundary=no\\\";\"; Boundary = \"b\\\"q;\"; c=d";
    ck_assert(bg_mime_param(ct, "boundary", out, sizeof out));
    ck_assert_str_eq(out, "b\"q;");
    ck_assert(bg_mime_param(ct, "a", out, sizeof out));
    ck_assert_str_eq(out, "x;boundary=no\";");
    ck_assert(bg_mime_param(ct, "c", out, 2));
    ck_assert_str_eq(out, "d");
    ck_assert(!bg_mime_param(ct, "d", out, sizeof out));
    ck_assert(!bg_mime_param("text/plain; x=\"unterminated;boundary=b", "boundary", out, sizeof out));
    /* encoded words; plain runs between them copied as they are, cut */
    bg_mime_decode_words("Re: =?utf-8?B?SGVsbG8=?= =?x?Q?w=6Frld_!?= plain = text", out, sizeof out);
    ck_assert_str_eq(out, "Re: Helloworld ! plain = text");
    bg_mime_decode_words("abcdefgh=?bad", out, 5);
    ck_assert_str_eq(out, "abcd");
    bg_mime_decode_words("abc=?bad", out, sizeof out);
    ck_assert_str_eq(out, "abc=?bad");
}
END_TEST

START_TEST(names_case_bits)
{
    /* names that differ only in bit 5 of a byte that is not a letter
     * ('[' and '{', '@' and '`') are different names; eight bytes and
     * more are compared a word at a time */
    static const char h[] =
        "X-Foo-Bar[Baz: one\r\n"
        "AB@CDEFGH: two\r\n"
        "Content-TYPE: three\r\n";
    char *p = dup_exact(h, sizeof h - 1);
    struct bg_mime_hdrs x;
    bg_mime_index(p, sizeof h - 1, &x);
    char v[32];
    ck_assert_int_eq(bg_mime_hdr_get(&x, "x-foo-bar{baz", v, sizeof v), 0);
    ck_assert_int_eq(bg_mime_hdr_get(&x, "x-FOO-bar[baz", v, sizeof v), 1);
    ck_assert_str_eq(v, "one");
    ck_assert_int_eq(bg_mime_hdr_get(&x, "ab`cdefgh", v, sizeof v), 0);
    ck_assert_int_eq(bg_mime_hdr_get(&x, "ab@cdefgh", v, sizeof v), 1);
    ck_assert_str_eq(v, "two");
    ck_assert_int_eq(bg_mime_hdr_get(&x, "content-type", v, sizeof v), 1);
    ck_assert_str_eq(v, "three");
    static const char *names[] = { "x-foo-bar{baz", "X-FOO-BAR[BAZ", "ab`cdefgh", "AB@CDEFGH",
                                   "content-type", "content-typ[", "x-foo-bar[ba" };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        same_as_header(&x, names[k]);
    free(p);
}
END_TEST

/* A reference index of the block [0, hlen): every line that does not
 * start with a blank and has a ':' is a field (memchr per line). */
struct ref_ent {
    size_t off, colon, eol;
};

static size_t ref_index(const char *h, size_t hlen, struct ref_ent *e, size_t max, size_t *rest)
{
    size_t n = 0, i = 0;
    *rest = hlen;
    while (i < hlen) {
        const char *nl = memchr(h + i, '\n', hlen - i);
        size_t lend = nl ? (size_t)(nl - h) : hlen;
        const char *c = h[i] != ' ' && h[i] != '\t' ? memchr(h + i, ':', lend - i) : NULL;
        if (c) {
            if (n == max) {
                *rest = i;
                break;
            }
            e[n].off = i;
            e[n].colon = (size_t)(c - h);
            e[n].eol = lend;
            n++;
        }
        i = lend + 1;
    }
    return n;
}

static unsigned rnd_next(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

/* The index must find the same lines as the reference, and the split
 * the same end, whatever the lines' lengths against the windows the
 * line ends are found in (64 bytes): lines of 0 to 150 bytes, folded
 * lines, CRLF and LF, NUL and CR bytes inside lines, lines without a
 * ':', blocks with and without the empty line and the final LF, and
 * more fields than are indexed. */
START_TEST(index_line_windows)
{
    unsigned seed = 7;
    static char buf[16384];
    for (int round = 0; round < 400; round++) {
        size_t n = 0;
        int lines = 1 + (int)(rnd_next(&seed) % (round % 3 == 0 ? 90 : 20));
        for (int l = 0; l < lines && n < sizeof buf - 400; l++) {
            unsigned kind = rnd_next(&seed) % 8;
            size_t len = rnd_next(&seed) % (kind == 0 ? 150 : 70);
            size_t st = n;
            if (kind == 1)
                buf[n++] = rnd_next(&seed) & 1 ? ' ' : '\t'; /* folded */
            for (size_t k = 0; k < len; k++) {
                unsigned r = rnd_next(&seed) % 40;
                buf[n++] = r == 0 ? ':' : r == 1 ? ' ' : r == 2 ? '\0' : r == 3 ? '\r'
                         : (char)('a' + r % 26);
            }
            if (kind >= 4 && n - st > 2)
                buf[st + 1 + rnd_next(&seed) % (n - st - 2)] = ':';
            if (rnd_next(&seed) & 1)
                buf[n++] = '\r';
            buf[n++] = '\n';
        }
        unsigned end = rnd_next(&seed) % 4;
        if (end == 0)
            n--; /* no final LF */
        else if (end == 1) {
            memcpy(buf + n, "\r\nbody: x\n", 10); /* an empty line, CRLF */
            n += 10;
        } else if (end == 2) {
            memcpy(buf + n, "\nbody\n", 6);
            n += 6;
        } else {
            buf[n++] = '\r'; /* a lone CR ends the block and the input */
        }
        char *p = dup_exact(buf, n);
        struct ref_ent re[BG_MIME_HDRS_MAX];
        struct bg_mime_hdrs x;
        size_t rest;

        size_t rn = ref_index(p, n, re, BG_MIME_HDRS_MAX, &rest);
        bg_mime_index(p, n, &x);
        ck_assert_uint_eq(x.n, rn);
        ck_assert_uint_eq(x.hlen, n);
        ck_assert_uint_eq(x.rest, rest);
        for (size_t k = 0; k < rn; k++) {
            ck_assert_uint_eq(x.e[k].off, re[k].off);
            ck_assert_uint_eq(x.e[k].colon, re[k].colon);
            ck_assert_uint_eq(x.e[k].eol, re[k].eol);
        }

        size_t boff1, boff2;
        size_t hl1 = bg_mime_split(p, n, &boff1);
        size_t hl2 = bg_mime_index_msg(p, n, &boff2, &x);
        ck_assert_uint_eq(hl1, hl2);
        ck_assert_uint_eq(boff1, boff2);
        ck_assert_uint_eq(x.hlen, hl1);
        rn = ref_index(p, hl1, re, BG_MIME_HDRS_MAX, &rest);
        ck_assert_uint_eq(x.n, rn);
        ck_assert_uint_eq(x.rest, rest);
        for (size_t k = 0; k < rn; k++) {
            ck_assert_uint_eq(x.e[k].off, re[k].off);
            ck_assert_uint_eq(x.e[k].colon, re[k].colon);
            ck_assert_uint_eq(x.e[k].eol, re[k].eol);
        }
        static const char *names[] = { "a", "ab", "abc", "body", "qrstu", "content-type" };
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            same_as_header(&x, names[k]);
        free(p);
    }
}
END_TEST

/* Folded lines whose fold starts right at a window's edge (offsets 63,
 * 64, 65 from the block's start), CRLF and LF. */
START_TEST(index_fold_at_window_edge)
{
    for (size_t at = 58; at < 72; at++) {
        for (int crlf = 0; crlf < 2; crlf++) {
            char buf[512];
            size_t n = 0;
            /* "Subject: xxx...\r\n" ending so that the fold starts at at */
            const char *eol = crlf ? "\r\n" : "\n";
            size_t el = strlen(eol);
            memcpy(buf, "Subject: ", 9);
            n = 9;
            while (n + el < at)
                buf[n++] = 'x';
            memcpy(buf + n, eol, el);
            n += el;
            ck_assert_uint_eq(n, at < 9 + el ? 9 + el : at);
            static const char rest[] = "\tfolded: not a field";
            memcpy(buf + n, rest, sizeof rest - 1);
            n += sizeof rest - 1;
            memcpy(buf + n, eol, el);
            n += el;
            memcpy(buf + n, "To: y", 5);
            n += 5;
            memcpy(buf + n, eol, el);
            n += el;
            memcpy(buf + n, eol, el);
            n += el;
            memcpy(buf + n, "body", 4);
            n += 4;
            char *p = dup_exact(buf, n);
            struct bg_mime_hdrs x;
            size_t boff;
            size_t hl = bg_mime_index_msg(p, n, &boff, &x);
            ck_assert_uint_eq(boff, n - 4);
            ck_assert_uint_eq(hl, n - 4 - el);
            ck_assert_uint_eq(x.n, 2);
            char v[256];
            ck_assert(bg_mime_hdr_get(&x, "subject", v, sizeof v));
            ck_assert_uint_eq(strlen(v), at - el - 9 + 1 + strlen("folded: not a field"));
            ck_assert(strstr(v, "x folded: not a field") != NULL);
            ck_assert_int_eq(bg_mime_hdr_get(&x, "folded", v, sizeof v), 0);
            ck_assert(bg_mime_hdr_get(&x, "to", v, sizeof v));
            ck_assert_str_eq(v, "y");
            free(p);
        }
    }
}
END_TEST

/* Values of words and single spaces (runs copied 16 or 32 bytes at a
 * time) with the stops at every offset of a block: a lone space in a
 * block's last byte, two spaces, a TAB, a control byte, a fold; at
 * every size, against the naive unfolding. */
START_TEST(field_value_random_runs)
{
    unsigned seed = 11;
    static const char pre[] = "X-R:";
    for (int round = 0; round < 300; round++) {
        char v[400];
        size_t vl = 0;
        size_t want = 40 + rnd_next(&seed) % 300;
        while (vl < want) {
            unsigned r = rnd_next(&seed) % 24;
            if (r == 0)
                v[vl++] = '\t';
            else if (r == 1 && vl + 3 < want) {
                memcpy(v + vl, "\r\n ", 3);
                vl += 3;
            } else if (r == 2)
                v[vl++] = '\x01';
            else if (r < 7)
                v[vl++] = ' ';
            else
                v[vl++] = (char)('a' + r);
        }
        size_t n = sizeof pre - 1 + vl;
        char *p = malloc(n);
        ck_assert_ptr_nonnull(p);
        memcpy(p, pre, sizeof pre - 1);
        memcpy(p + sizeof pre - 1, v, vl);
        for (size_t sz = 0; sz <= vl + 2; sz += 1 + (sz > 40) * 3) {
            char a[512], b[512], nm[8];
            memset(a, 'A', sizeof a);
            memset(b, 'B', sizeof b);
            naive_value(v, vl, b, sz);
            size_t pos = 0;
            ck_assert(bg_mime_next_field(p, n, &pos, nm, sizeof nm, a, sz));
            ck_assert_uint_eq(pos, n);
            if (sz)
                ck_assert_str_eq(a, b);
            ck_assert_uint_eq(span_of(a, sz, sizeof a, 'A'), sizeof a); /* nothing past valsz */
        }
        free(p);
    }
}
END_TEST

/* Names of BG_MIME_IDX_NAME_MAX bytes and more (not indexed by key: their
 * lookups scan) and names just below, through bg_mime_hdr_get (the key
 * folded in the caller), bg_mime_hdr_get_n and bg_mime_hdr_get_k. */
START_TEST(index_long_names)
{
    static const size_t lens[] = { BG_MIME_IDX_NAME_MAX - 1, BG_MIME_IDX_NAME_MAX,
                                   BG_MIME_IDX_NAME_MAX + 1, 1500 };
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        size_t nl = lens[t];
        char *name = malloc(nl + 1);
        char *m = malloc(nl + 64);
        ck_assert_ptr_nonnull(name);
        ck_assert_ptr_nonnull(m);
        for (size_t k = 0; k < nl; k++)
            name[k] = (char)('a' + k % 26);
        name[nl] = 0;
        size_t n = 0;
        memcpy(m, "To: x\r\n", 7);
        n = 7;
        for (size_t k = 0; k < nl; k++)
            m[n++] = (char)('A' + k % 26); /* the same name, other case */
        memcpy(m + n, " : long\r\n", 9);
        n += 9;
        char *p = dup_exact(m, n);
        struct bg_mime_hdrs x;
        bg_mime_index(p, n, &x);
        char a[32], b[32], c[32];
        ck_assert_int_eq(bg_mime_header(p, n, name, a, sizeof a), 1);
        ck_assert_str_eq(a, "long");
        ck_assert_int_eq(bg_mime_hdr_get(&x, name, b, sizeof b), 1);
        ck_assert_str_eq(b, "long");
        ck_assert_int_eq(bg_mime_hdr_get_n(&x, name, nl, 0, c, sizeof c), 1);
        ck_assert_str_eq(c, "long");
        ck_assert_int_eq(bg_mime_hdr_get_k(&x, name, nl, 0, bg_mime_name_key(name, nl), c, sizeof c), 1);
        ck_assert_str_eq(c, "long");
        name[nl - 1] = '#';
        ck_assert_int_eq(bg_mime_hdr_get(&x, name, b, sizeof b), 0);
        ck_assert_str_eq(b, "");
        free(p);
        free(m);
        free(name);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("mime");
    TCase *t = tcase_create("index");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, index_lookups);
    tcase_add_test(t, index_overflow);
    tcase_add_test(t, index_hostile);
    tcase_add_test(t, index_msg_split);
    tcase_add_test(t, index_name_with_colon);
    tcase_add_test(t, index_name_runtime);
    tcase_add_test(t, name_case_every_byte_pair);
    tcase_add_test(t, field_value_runs);
    tcase_add_test(t, string_helpers);
    tcase_add_test(t, names_case_bits);
    tcase_add_test(t, index_line_windows);
    tcase_add_test(t, index_fold_at_window_edge);
    tcase_add_test(t, field_value_random_runs);
    tcase_add_test(t, index_long_names);
    suite_add_tcase(s, t);
    return s;
}

BG_UNIT_MAIN(make_suite)
