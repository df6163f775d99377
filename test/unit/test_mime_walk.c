/* test_mime_walk.c - the decoders (base64, quoted-printable, encoded
 * words) and the multipart walk (bg_mime_walk, bg_mime_walk_hdrs): part
 * delimiters, guessed boundaries, folded types, near misses. Every input
 * is copied into an exact-size heap buffer (no NUL after it) so
 * valgrind/ASan catch any read past its length. */
#include "mime.h"
#include "unit.h"
#include "mime_fixture.h"

#include <stdio.h>
#include <string.h>

static void walk_both(const char *m, size_t n, struct bg_mime_part *pa, size_t *na)
{
    struct bg_mime_part pb[16];
    struct bg_mime_hdrs x;
    size_t hl = bg_mime_split(m, n, NULL);
    bg_mime_index(m, hl, &x);
    memset(pa, 0, 16 * sizeof *pa);
    memset(pb, 0, sizeof pb);
    *na = bg_mime_walk(m, n, 8, pa, 16);
    size_t nb = bg_mime_walk_hdrs(m, n, &x, 8, pb, 16);
    ck_assert_uint_eq(*na, nb);
    ck_assert(memcmp(pa, pb, sizeof pb) == 0);
    /* the index bg_mime_index_msg makes gives the same walk */
    struct bg_mime_hdrs y;
    size_t boff;
    ck_assert_uint_eq(bg_mime_index_msg(m, n, &boff, &y), hl);
    memset(pb, 0, sizeof pb);
    nb = bg_mime_walk_hdrs(m, n, &y, 8, pb, 16);
    ck_assert_uint_eq(*na, nb);
    ck_assert(memcmp(pa, pb, sizeof pb) == 0);
    /* so does one of a shorter message at the same place: ignored */
    if (n > 0) {
        bg_mime_index_msg(m, n - 1, NULL, &y);
        memset(pb, 0, sizeof pb);
        nb = bg_mime_walk_hdrs(m, n, &y, 8, pb, 16);
        ck_assert_uint_eq(*na, nb);
        ck_assert(memcmp(pa, pb, sizeof pb) == 0);
    }
    /* an index of some other block is ignored */
    bg_mime_index(m, hl / 2, &x);
    memset(pb, 0, sizeof pb);
    nb = bg_mime_walk_hdrs(m, n, &x, 8, pb, 16);
    ck_assert_uint_eq(*na, nb);
    ck_assert(memcmp(pa, pb, sizeof pb) == 0);
}

static int body_is(const struct bg_mime_part *pt, const char *s)
{
    return pt->body_len == strlen(s) && memcmp(pt->body, s, pt->body_len) == 0;
}

START_TEST(walk_delimiters)
{
    /* only whole lines starting "--B" delimit: not "--B" mid-line, not
     * "--BX"; trailing blanks and a CR are allowed; the close delimiter
     * ends the parts */
    static const char m[] =
        "Content-Type: multipart/mixed;\r\n boundary=\"B\"\r\n"
        "Content-Transfer-Encoding: 7bit\r\n\r\n"
        "preamble --B\r\n"
        "--B \t\r\n"
        "\r\none --B\r\n--BX\r\n"
        "--B\n"
        "Content-Type: text/html\n"
        "Content-Transfer-Encoding: Base64\n\n"
        "dHdv\n"
        "--B--  \r\n"
        "--B\r\nepilogue\r\n";
    size_t n = sizeof m - 1;
    char *p = dup_exact(m, n);
    struct bg_mime_part pt[16];
    size_t np;
    walk_both(p, n, pt, &np);
    ck_assert_uint_eq(np, 3);
    ck_assert(pt[0].multipart);
    ck_assert_str_eq(pt[0].type, "multipart/mixed");
    ck_assert_str_eq(pt[1].type, "text/plain");
    ck_assert(body_is(&pt[1], "one --B\r\n--BX"));
    ck_assert_str_eq(pt[2].type, "text/html");
    ck_assert_int_eq(pt[2].enc, BG_ENC_BASE64);
    ck_assert(body_is(&pt[2], "dHdv"));
    free(p);
}
END_TEST

START_TEST(walk_first_line_and_guessed)
{
    /* a delimiter on the very first body line; a guessed boundary keeps
     * the text before it as a part */
    static const char m1[] = "Content-Type: multipart/report; boundary=Z\n\n--Z\n\nfirst\n--Z--";
    static const char m2[] = "Subject: x\n\nYour mail failed.\n--guess\nContent-Type: "
                             "message/rfc822\n\nFrom: a\n--guess--\n";
    struct bg_mime_part pt[16];
    size_t np;
    char *p = dup_exact(m1, sizeof m1 - 1);
    walk_both(p, sizeof m1 - 1, pt, &np);
    ck_assert_uint_eq(np, 2);
    ck_assert(body_is(&pt[1], "first"));
    free(p);
    p = dup_exact(m2, sizeof m2 - 1);
    walk_both(p, sizeof m2 - 1, pt, &np);
    ck_assert_uint_eq(np, 3);
    ck_assert_str_eq(pt[0].type, "multipart/mixed");
    ck_assert(body_is(&pt[1], "Your mail failed.\n"));
    ck_assert_str_eq(pt[2].type, "message/rfc822");
    ck_assert(body_is(&pt[2], "From: a"));
    free(p);
}
END_TEST

START_TEST(walk_long_line_of_boundaries)
{
    /* 1 MB without a line break, full of "--B": one line, no delimiter
     * after the first; then the same with a break before each */
    size_t n = 1 << 20;
    char *m = malloc(n);
    ck_assert_ptr_nonnull(m);
    static const char hd[] = "Content-Type: multipart/mixed; boundary=B\n\n--B\n";
    memcpy(m, hd, sizeof hd - 1);
    for (size_t i = sizeof hd - 1; i < n; i++)
        m[i] = "--B"[(i - (sizeof hd - 1)) % 3];
    struct bg_mime_part pt[16];
    size_t np;
    walk_both(m, n, pt, &np);
    ck_assert_uint_eq(np, 2);
    ck_assert_uint_eq(pt[1].body_len, 0); /* the part is all header */
    ck_assert_uint_eq(pt[1].hdr_len, n - (sizeof hd - 1));
    for (size_t i = sizeof hd - 1; i < n; i += 4)
        m[i] = '\n';
    walk_both(m, n, pt, &np);
    ck_assert_uint_eq(np, 16); /* capped by maxparts */
    free(m);
}
END_TEST

START_TEST(decoders_cut)
{
    /* whole quads and single digits give the same bytes: every output
     * size gets a prefix of the whole; both alphabets, line breaks and
     * garbage skipped, padding drops partial bits */
    static const char b64[] = "SGVsbG8gV29y\r\nbGQh-_8=Pz8/\nQQ==QUJD*RA";
    static const char want[] = "Hello World!\xfb\xff???AABCD";
    char out[64];
    size_t wl = sizeof want - 1;
    for (size_t sz = 0; sz <= wl + 2; sz++) {
        memset(out, 'Z', sizeof out);
        size_t n = bg_mime_b64_decode(b64, sizeof b64 - 1, out, sz);
        ck_assert_uint_eq(n, sz < wl ? sz : wl);
        ck_assert(memcmp(out, want, n) == 0);
        ck_assert_int_eq(out[n], 'Z');
    }
    static const char qp[] = "caf=C3=A9 =3d=\r\nsoft =  \nbreak =ZZ =4";
    static const char qwant[] = "caf\xc3\xa9 =soft break =ZZ =4";
    size_t ql = sizeof qwant - 1;
    for (size_t sz = 0; sz <= ql + 2; sz++) {
        memset(out, 'Z', sizeof out);
        size_t n = bg_mime_qp_decode(qp, sizeof qp - 1, out, sz);
        ck_assert_uint_eq(n, sz < ql ? sz : ql);
        ck_assert(memcmp(out, qwant, n) == 0);
        ck_assert_int_eq(out[n], 'Z');
    }
}
END_TEST

START_TEST(walk_near_miss_boundaries)
{
    /* a long boundary and a body of lines that all nearly match it (the
     * search stays linear), then one that does */
    char b[BG_MIME_BOUNDARY_MAX + 1];
    memset(b, 'a', BG_MIME_BOUNDARY_MAX);
    b[BG_MIME_BOUNDARY_MAX] = 0;
    size_t lines = 4000, ll = 3 + BG_MIME_BOUNDARY_MAX;
    size_t cap = 300 + (lines + 2) * (ll + 2);
    char *m = malloc(cap);
    ck_assert_ptr_nonnull(m);
    size_t n = (size_t)snprintf(m, cap, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n", b);
    for (size_t i = 0; i < lines; i++) {
        n += (size_t)snprintf(m + n, cap - n, "--%s\n", b);
        m[n - 2 - (i % BG_MIME_BOUNDARY_MAX)] = 'b'; /* a miss somewhere */
    }
    n += (size_t)snprintf(m + n, cap - n, "--%s\n\nx\n--%s--\n", b, b);
    struct bg_mime_part pt[16];
    size_t np;
    walk_both(m, n, pt, &np);
    ck_assert_uint_eq(np, 2);
    ck_assert(pt[0].multipart);
    ck_assert(body_is(&pt[1], "x"));
    free(m);
}
END_TEST

/* A quoted-printable decoder a byte at a time, as documented: the
 * reference for the block-wise one. */
static size_t qp_ref(const char *in, size_t inlen, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < inlen && o < outsz; i++) {
        if (in[i] != '=') {
            out[o++] = in[i];
            continue;
        }
        const char *hx = "0123456789ABCDEF0123456789abcdef";
        const char *a = i + 2 < inlen ? strchr(hx, in[i + 1]) : NULL;
        const char *b = a && in[i + 1] ? strchr(hx, in[i + 2]) : NULL;
        if (a && b && in[i + 2]) {
            out[o++] = (char)(((a - hx) % 16) * 16 + (b - hx) % 16);
            i += 2;
            continue;
        }
        size_t j = i + 1;
        while (j < inlen && (in[j] == ' ' || in[j] == '\t'))
            j++;
        if (j < inlen && in[j] == '\r')
            j++;
        if (j >= inlen || in[j] == '\n') {
            i = j;
            continue;
        }
        out[o++] = '=';
    }
    return o;
}

START_TEST(qp_blocks)
{
    /* runs of every length around the sixteen-byte blocks, escapes in a
     * row, soft breaks (CRLF, LF, blanks before them), a bad escape, and
     * an '=' at the very end; every output size, nothing stored past the
     * count */
    char in[2048];
    size_t n = 0;
    for (int r = 0; r < 40; r++) {
        for (int k = 0; k < r; k++)
            in[n++] = (char)('a' + (r + k) % 26);
        static const char *tails[] = { "=3D", "=\r\n", "=\n", "=E3=81=82", "= \t\r\n", "=zz", "=4" };
        const char *t = tails[r % 7];
        memcpy(in + n, t, strlen(t));
        n += strlen(t);
    }
    in[n++] = '=';
    char *src = dup_exact(in, n);
    char want[2048], got[2048 + 16];
    size_t wl = qp_ref(src, n, want, sizeof want);
    for (size_t sz = 0; sz <= wl + 20; sz++) {
        memset(got, 'Z', sizeof got);
        size_t g = bg_mime_qp_decode(src, n, got, sz);
        ck_assert_uint_eq(g, sz < wl ? sz : wl);
        ck_assert(memcmp(got, want, g) == 0);
        ck_assert_uint_eq(span_of(got, g, sizeof got, 'Z'), sizeof got);
    }
    free(src);
}
END_TEST

START_TEST(walk_folded_type)
{
    /* the type and the encoding are the first token of the unfolded
     * value: an empty first line, folding blanks, a control byte kept,
     * case folded; a multipart's boundary from the unfolded value */
    static const char m[] =
        "Content-Type:\r\n \t MultiPart/MIXED\x01x ;\r\n\tboundary=\"b  b\"\r\n"
        "Content-Transfer-Encoding: \r\n\r\n"
        "--b b\r\n"
        "Content-Type:  \r\n  Text/PLAIN;charset=x\r\n"
        "Content-Transfer-Encoding:\r\n QUOTED-Printable \r\n"
        "\r\n"
        "a=3Db\r\n"
        "--b b\r\n"
        "content-type: ;x=y\r\n"
        "content-transfer-encoding: base64x\r\n"
        "\r\n"
        "x\r\n"
        "--b b--\r\n";
    char *p = dup_exact(m, sizeof m - 1);
    struct bg_mime_part parts[8];
    size_t n = bg_mime_walk(p, sizeof m - 1, 4, parts, 8);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(parts[0].type, "multipart/mixed\x01x"); /* a control byte is kept */
    ck_assert_int_eq(parts[0].multipart, 1);
    ck_assert_int_eq(parts[0].enc, BG_ENC_IDENTITY);
    free(p);
    static const char m2[] =
        "Content-Type:\r\n \t MultiPart/MIXED ;\r\n\tboundary=\"b  b\"\r\n"
        "Content-Transfer-Encoding: \r\n\r\n"
        "--b b\r\n"
        "Content-Type:  \r\n  Text/PLAIN;charset=x\r\n"
        "Content-Transfer-Encoding:\r\n QUOTED-Printable \r\n"
        "\r\n"
        "a=3Db\r\n"
        "--b b\r\n"
        "content-type: ;x=y\r\n"
        "content-transfer-encoding: base64x\r\n"
        "\r\n"
        "x\r\n"
        "--b b--\r\n";
    p = dup_exact(m2, sizeof m2 - 1);
    n = bg_mime_walk(p, sizeof m2 - 1, 4, parts, 8);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(parts[0].type, "multipart/mixed");
    ck_assert_int_eq(parts[0].multipart, 1);
    ck_assert_str_eq(parts[1].type, "text/plain");
    ck_assert_int_eq(parts[1].enc, BG_ENC_QP);
    ck_assert_str_eq(parts[2].type, "text/plain"); /* no '/': the default */
    ck_assert_int_eq(parts[2].enc, BG_ENC_IDENTITY);
    free(p);
}
END_TEST

/* A part's Content-Type and Content-Transfer-Encoding: names in any
 * case, blanks before the ':', look-alike names that are not them, the
 * first of two, a type on the block's last line and in an entity that
 * has no empty line (no LF after it), NUL bytes in the headers. */
START_TEST(walk_part_field_names)
{
    static const char m[] =
        "Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
        "--zz\r\n"
        "Content-Typo: image/gif\r\n"
        "Content-Type-X: image/png\r\n"
        "content-TRANSFER-encoding \t: Base64\r\n"
        "CONTENT-TYPE  : Text/HTML; charset=x\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        "PGI+\r\n"
        "--zz\r\n"
        "X-A: \0b\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "--zz\r\n"
        "Content-Transfer-Encodin: base64\r\n"
        "Content-Type: application/x-y\n"
        "--zz\r\n"
        "Content-type:text/x-last";
    char *p = dup_exact(m, sizeof m - 1);
    struct bg_mime_part parts[8];
    size_t n = bg_mime_walk(p, sizeof m - 1, 4, parts, 8);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(parts[1].type, "text/html");
    ck_assert_int_eq(parts[1].enc, BG_ENC_BASE64);
    ck_assert_str_eq(parts[2].type, "message/delivery-status");
    ck_assert_int_eq(parts[2].enc, BG_ENC_QP);
    ck_assert_uint_eq(parts[2].body_len, 0);
    ck_assert_str_eq(parts[3].type, "application/x-y");
    ck_assert_int_eq(parts[3].enc, BG_ENC_IDENTITY);
    ck_assert_uint_eq(parts[3].body_len, 0);
    ck_assert_str_eq(parts[4].type, "text/x-last");
    ck_assert_uint_eq(parts[4].hdr_len, strlen("Content-type:text/x-last"));
    free(p);
}
END_TEST

/* The guessed boundary of a message without a Content-Type: the "--"
 * line at every offset around the blocks it is looked for in, as the
 * first line, too close to the end for a "Content-" line after it, and
 * starting just before and just after the first 64 KiB. */
static int walk_guesses(const char *body, size_t n)
{
    static const char hdr[] = "Subject: x\r\n\r\n";
    char *m = malloc(sizeof hdr - 1 + n);
    ck_assert_ptr_nonnull(m);
    memcpy(m, hdr, sizeof hdr - 1);
    memcpy(m + sizeof hdr - 1, body, n);
    char *p = dup_exact(m, sizeof hdr - 1 + n);
    struct bg_mime_part parts[8];
    size_t k = bg_mime_walk(p, sizeof hdr - 1 + n, 4, parts, 8);
    ck_assert_uint_ge(k, 1);
    int g = strcmp(parts[0].type, "multipart/mixed") == 0;
    free(p);
    free(m);
    return g;
}

/* bg_mime_next_lf2 against a plain loop: every length up to 100, every
 * start and end, a match at every offset (the SIMD steps of 16 and 32
 * and their tails), near misses ("\nF", "\nrF") and none at all. */
START_TEST(next_lf2_every_offset)
{
    char buf[128];
    for (size_t len = 0; len <= 100; len++) {
        for (int pat = 0; pat < 4; pat++) {
            for (size_t i = 0; i < len; i++)
                buf[i] = (char)('a' + (i * 7 + (size_t)pat) % 23);
            /* pat 0: none; 1: "\nFr" near the end; 2: every 9th byte; 3: "\nF" misses */
            if (pat == 1 && len >= 3)
                memcpy(buf + len - 3, "\nFr", 3);
            for (size_t i = 0; pat == 2 && i + 3 <= len; i += 9)
                memcpy(buf + i, "\nFr", 3);
            for (size_t i = 0; pat == 3 && i + 3 <= len; i += 5)
                memcpy(buf + i, i % 2 ? "\nF\n" : "\nrF", 3);
            for (size_t end = 0; end + 2 <= len; end++)
                for (size_t from = 0; from <= end; from++) {
                    size_t want = end;
                    for (size_t k = from; k < end; k++)
                        if (buf[k] == '\n' && buf[k + 1] == 'F' && buf[k + 2] == 'r') {
                            want = k;
                            break;
                        }
                    size_t got = bg_mime_next_lf2(buf, len, from, end, 'F', 'r');
                    if (got != want) /* (a ck_assert per call is slow) */
                        ck_abort_msg("len %zu pat %d [%zu,%zu): %zu, want %zu",
                                     len, pat, from, end, got, want);
                }
        }
    }
}
END_TEST

START_TEST(walk_guess_offsets)
{
    static char body[70000];
    static const char tail[] = "--bnd\r\nContent-Type: text/plain\r\n\r\nx\r\n--bnd--\r\n";
    for (size_t off = 0; off < 80; off++) {
        memset(body, 'a', off);
        if (off > 0)
            body[off - 1] = '\n';
        if (off > 3)
            body[off / 2] = '-'; /* a lone '-' or "\n-" that is no delimiter */
        memcpy(body + off, tail, sizeof tail - 1);
        ck_assert_int_eq(walk_guesses(body, off + sizeof tail - 1), 1);
        /* the "Content-" line cut short: nothing to guess */
        ck_assert_int_eq(walk_guesses(body, off + 13), 0);
        /* "--" without an LF before it */
        if (off > 1) {
            body[off - 1] = 'a';
            ck_assert_int_eq(walk_guesses(body, off + sizeof tail - 1), 0);
        }
    }
    for (size_t at = 65530; at < 65540; at++) {
        memset(body, 'a', at);
        for (size_t k = 70; k < at; k += 71)
            body[k] = '\n';
        body[at - 1] = '\n';
        memcpy(body + at, tail, sizeof tail - 1);
        /* a line that starts in the first 64 KiB may be the delimiter */
        ck_assert_int_eq(walk_guesses(body, at + sizeof tail - 1), at < 65536);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("mime_walk");
    TCase *t = tcase_create("decode");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, decoders_cut);
    tcase_add_test(t, qp_blocks);
    suite_add_tcase(s, t);
    TCase *w = tcase_create("walk");
    tcase_set_timeout(w, 60);
    tcase_add_test(w, walk_delimiters);
    tcase_add_test(w, walk_first_line_and_guessed);
    tcase_add_test(w, walk_long_line_of_boundaries);
    tcase_add_test(w, walk_near_miss_boundaries);
    tcase_add_test(w, walk_folded_type);
    tcase_add_test(w, walk_part_field_names);
    tcase_add_test(w, walk_guess_offsets);
    tcase_add_test(w, next_lf2_every_offset);
    suite_add_tcase(s, w);
    return s;
}

BG_UNIT_MAIN(make_suite)
