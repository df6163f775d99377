/* test_record.c - class names, record encode/decode, bg_strlcpy. */
#include "unit.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "record.h"

static void sample(struct bg_record *r)
{
    memset(r, 0, sizeof *r);
    r->cls = BG_CLASS_HARD;
    strcpy(r->reason, "userunknown");
    strcpy(r->status, "5.1.1");
    strcpy(r->source, "manual");
    r->first_seen = 1763596800;
    r->last_seen = 1763596800;
    r->count = 1;
}

static void assert_same(const struct bg_record *a, const struct bg_record *b)
{
    ck_assert_int_eq(a->cls, b->cls);
    ck_assert_str_eq(a->reason, b->reason);
    ck_assert_str_eq(a->status, b->status);
    ck_assert_str_eq(a->rule, b->rule);
    ck_assert_str_eq(a->source, b->source);
    ck_assert_str_eq(a->id, b->id);
    ck_assert_str_eq(a->diag, b->diag);
    ck_assert(a->first_seen == b->first_seen);
    ck_assert(a->last_seen == b->last_seen);
    ck_assert(a->expires == b->expires);
    ck_assert_uint_eq(a->count, b->count);
}

START_TEST(test_class_names)
{
    static const char *const names[] = {"none", "hard", "soft", "block",
                                        "complaint", "manual", "undetermined"};
    enum bg_class c;

    for (int i = 0; i <= BG_CLASS_UNDETERMINED; i++) {
        ck_assert_str_eq(bg_class_name((enum bg_class)i), names[i]);
        ck_assert_int_eq(bg_class_parse(names[i], &c), 0);
        ck_assert_int_eq(c, i);
    }
    ck_assert_int_eq(bg_class_parse("HARD", &c), 0);
    ck_assert_int_eq(c, BG_CLASS_HARD);
    ck_assert_int_eq(bg_class_parse("hardx", &c), -1);
    ck_assert_int_eq(bg_class_parse("har", &c), -1);
    ck_assert_int_eq(bg_class_parse("", &c), -1);
    ck_assert_int_eq(bg_class_parse(NULL, &c), -1);
    ck_assert_str_eq(bg_class_name((enum bg_class)99), "invalid");
    ck_assert_int_eq(bg_class_parse(bg_class_name((enum bg_class)99), &c), -1);
}
END_TEST

START_TEST(test_encode_exact)
{
    struct bg_record r;
    char out[BG_RECORD_MAX + 1];
    int n;

    sample(&r);
    n = bg_record_encode(&r, out, sizeof out);
    ck_assert_str_eq(out, "bg1 class=hard reason=userunknown status=5.1.1 "
                          "first=1763596800 last=1763596800 count=1 expires=0 "
                          "source=manual rule=- id=- diag=-");
    ck_assert_int_eq(n, (int)strlen(out));
}
END_TEST

START_TEST(test_round_trip_hostile)
{
    struct bg_record r, d;
    char out[BG_RECORD_MAX + 1];
    int n;

    sample(&r);
    r.cls = BG_CLASS_COMPLAINT;
    strcpy(r.rule, "arf=abuse");
    strcpy(r.id, "<20261120.1234@mx.example>");
    strcpy(r.diag, "550 5.1.1 <bob@example.com>: 100% \"gone\" a=b\r\n"
                   "X-Injected: yes\tTAB \x7f \xc3\xa9t\xc3\xa9 %41 -");
    r.first_seen = -5;
    r.last_seen = INT64_MAX;
    r.expires = INT64_MIN;
    r.count = UINT32_MAX;
    n = bg_record_encode(&r, out, sizeof out);
    ck_assert_int_gt(n, 0);
    /* one line, printable ASCII, no '=' inside values, single spaces */
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        ck_assert(c >= 0x20 && c < 0x7f);
        if (c == ' ')
            ck_assert(out[i + 1] != ' ');
    }
    ck_assert_ptr_nonnull(strstr(out, " diag=550%205.1.1%20"));
    ck_assert_ptr_nonnull(strstr(out, "100%25%20"));
    ck_assert_ptr_nonnull(strstr(out, "a%3Db%0D%0AX-Injected"));
    ck_assert_ptr_nonnull(strstr(out, "%C3%A9t%C3%A9"));
    ck_assert_int_eq(bg_record_decode(out, (size_t)n, &d), 0);
    assert_same(&r, &d);
}
END_TEST

START_TEST(test_round_trip_dash_and_full)
{
    struct bg_record r, d;
    char out[BG_RECORD_MAX + 1];
    int n;

    /* a literal "-" must not come back empty */
    sample(&r);
    strcpy(r.reason, "-");
    n = bg_record_encode(&r, out, sizeof out);
    ck_assert_ptr_nonnull(strstr(out, "reason=%2D "));
    ck_assert_int_eq(bg_record_decode(out, (size_t)n, &d), 0);
    ck_assert_str_eq(d.reason, "-");

    /* every field full, every byte escaped: still within BG_RECORD_MAX */
    memset(&r, 0xff, sizeof r);
    r.cls = BG_CLASS_UNDETERMINED;
    r.reason[sizeof r.reason - 1] = '\0';
    r.status[sizeof r.status - 1] = '\0';
    r.rule[sizeof r.rule - 1] = '\0';
    r.source[sizeof r.source - 1] = '\0';
    r.id[sizeof r.id - 1] = '\0';
    r.diag[sizeof r.diag - 1] = '\0';
    n = bg_record_encode(&r, out, sizeof out);
    ck_assert_int_gt(n, 0);
    ck_assert_int_le(n, BG_RECORD_MAX);
    ck_assert_int_eq(bg_record_decode(out, (size_t)n, &d), 0);
    assert_same(&r, &d);

    /* unterminated string fields are read only up to their size */
    r.reason[sizeof r.reason - 1] = 'x';
    n = bg_record_encode(&r, out, sizeof out);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(bg_record_decode(out, (size_t)n, &d), 0);
    ck_assert_uint_eq(strlen(d.reason), sizeof d.reason - 1);
}
END_TEST

START_TEST(test_encode_bounds)
{
    struct bg_record r;
    char out[BG_RECORD_MAX + 1];
    int full;

    sample(&r);
    full = bg_record_encode(&r, out, sizeof out);
    ck_assert_int_gt(full, 0);
    /* exactly enough room, then one byte short */
    ck_assert_int_eq(bg_record_encode(&r, out, (size_t)full + 1), full);
    memset(out, 'Z', sizeof out);
    ck_assert_int_eq(bg_record_encode(&r, out, (size_t)full), -1);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(bg_record_encode(&r, out, 0), -1);
    r.cls = (enum bg_class)42;
    ck_assert_int_eq(bg_record_encode(&r, out, sizeof out), -1);
    ck_assert_int_eq(bg_record_encode(NULL, out, sizeof out), -1);
}
END_TEST

START_TEST(test_decode_unknown_and_defaults)
{
    struct bg_record d;
    const char *in = "bg1 class=soft future=x%20y count=3 zz_9-z=- last=10";

    ck_assert_int_eq(bg_record_decode(in, strlen(in), &d), 0);
    ck_assert_int_eq(d.cls, BG_CLASS_SOFT);
    ck_assert_uint_eq(d.count, 3);
    ck_assert(d.last_seen == 10);
    ck_assert(d.first_seen == 0);
    ck_assert_str_eq(d.reason, "");
    /* not NUL-terminated: only len bytes are read */
    {
        char buf[64];
        memcpy(buf, "bg1 class=hard count=12", 23);
        memset(buf + 23, '9', sizeof buf - 23);
        ck_assert_int_eq(bg_record_decode(buf, 23, &d), 0);
        ck_assert_uint_eq(d.count, 12);
    }
    /* lower-case hex escapes are accepted */
    in = "bg1 class=hard diag=a%3db";
    ck_assert_int_eq(bg_record_decode(in, strlen(in), &d), 0);
    ck_assert_str_eq(d.diag, "a=b");
}
END_TEST

START_TEST(test_decode_diag_truncated)
{
    struct bg_record d;
    char in[BG_RECORD_MAX + 1];
    size_t n;

    strcpy(in, "bg1 class=hard diag=");
    n = strlen(in);
    for (int i = 0; i < 300; i++)
        in[n++] = 'd';
    in[n] = '\0';
    ck_assert_int_eq(bg_record_decode(in, n, &d), 0);
    ck_assert_uint_eq(strlen(d.diag), sizeof d.diag - 1);

    /* truncation never leaves half a UTF-8 character */
    strcpy(in, "bg1 class=hard diag=");
    n = strlen(in);
    for (int i = 0; i < 254; i++)
        in[n++] = 'd';
    memcpy(in + n, "%E2%82%AC", 9); /* euro sign, 3 bytes: does not fit */
    n += 9;
    ck_assert_int_eq(bg_record_decode(in, n, &d), 0);
    ck_assert_uint_eq(strlen(d.diag), 254);

    /* ... but the cut part must still be a valid encoding */
    memcpy(in + n, "%G1", 3);
    ck_assert_int_eq(bg_record_decode(in, n + 3, &d), -1);
}
END_TEST

static const char *const bad_inputs[] = {
    "",
    "bg",
    "bg1",                                /* no class */
    "bg2 class=hard",                     /* other version */
    "bg1x class=hard",
    "BG1 class=hard",
    " bg1 class=hard",
    "class=hard bg1",
    "bg1  class=hard",                    /* double space */
    "bg1 class=hard ",                    /* trailing space */
    "bg1 class=hard\n",                   /* trailing newline */
    "bg1\tclass=hard",
    "bg1 class=bogus",
    "bg1 class=",                         /* empty value */
    "bg1 class",                          /* no '=' */
    "bg1 =hard",                          /* no name */
    "bg1 class=hard class=soft",          /* duplicate */
    "bg1 class=hard count=-1",
    "bg1 class=hard count=4294967296",    /* > UINT32_MAX */
    "bg1 class=hard count=1x",
    "bg1 class=hard count=+1",
    "bg1 class=hard first=9223372036854775808",
    "bg1 class=hard first=-9223372036854775809",
    "bg1 class=hard first=99999999999999999999999",
    "bg1 class=hard first=-",
    "bg1 class=hard first=",
    "bg1 class=hard reason=a%2",          /* truncated escape */
    "bg1 class=hard reason=a%",
    "bg1 class=hard reason=a%zz",
    "bg1 class=hard reason=a%00b",        /* NUL */
    "bg1 class=hard reason=a=b",          /* raw '=' */
    "bg1 class=hard reason=caf\xc3\xa9",  /* raw 8-bit */
    "bg1 class=hard reason=a\x01",        /* raw control */
    "bg1 class=hard Class=hard",          /* bad field name */
    "bg1 class=hard x.y=1",
    "bg1 class=hard unknown=a%zz",        /* unknown, still well-formed */
    "bg1 class=hard status=5.1.1.1.1.1.1.1.1", /* 17 bytes > status[16] */
    "bg1 class=hard reason=abcdefghijklmnopqrstuvwxyz0123456", /* 33 > 31 */
};

START_TEST(test_decode_bad)
{
    struct bg_record d;
    const char *in = bad_inputs[_i];

    memset(&d, 0x5a, sizeof d);
    ck_assert_msg(bg_record_decode(in, strlen(in), &d) == -1,
                  "accepted: '%s'", in);
    /* a failed decode leaves the output untouched */
    ck_assert_int_eq(((unsigned char *)&d)[0], 0x5a);
}
END_TEST

START_TEST(test_decode_limits)
{
    struct bg_record d, r;
    char in[BG_RECORD_MAX + 64];
    int n;

    ck_assert_int_eq(bg_record_decode(NULL, 0, &d), -1);
    ck_assert_int_eq(bg_record_decode("bg1 class=hard", 14, NULL), -1);
    /* exactly fitting values are accepted */
    n = sprintf(in, "bg1 class=hard reason=%s first=-9223372036854775808 "
                    "last=9223372036854775807 count=4294967295",
                "abcdefghijklmnopqrstuvwxyz01234");
    ck_assert_int_eq(bg_record_decode(in, (size_t)n, &d), 0);
    ck_assert(d.first_seen == INT64_MIN);
    ck_assert(d.last_seen == INT64_MAX);
    ck_assert_uint_eq(d.count, UINT32_MAX);
    /* longer than BG_RECORD_MAX: refused even if well-formed */
    strcpy(in, "bg1 class=hard x=");
    n = (int)strlen(in);
    memset(in + n, 'a', BG_RECORD_MAX + 1 - (size_t)n);
    ck_assert_int_eq(bg_record_decode(in, BG_RECORD_MAX + 1, &d), -1);
    ck_assert_int_eq(bg_record_decode(in, BG_RECORD_MAX, &d), 0);
    /* every prefix of a valid record either decodes or is refused cleanly */
    sample(&r);
    strcpy(r.diag, "x y");
    n = bg_record_encode(&r, in, sizeof in);
    for (int len = 0; len < n; len++)
        (void)bg_record_decode(in, (size_t)len, &d);
}
END_TEST

START_TEST(test_strlcpy)
{
    char b[4];

    ck_assert_int_eq(bg_strlcpy(b, "abc", sizeof b), 0);
    ck_assert_str_eq(b, "abc");
    ck_assert_int_eq(bg_strlcpy(b, "abcd", sizeof b), 1);
    ck_assert_str_eq(b, "abc");
    ck_assert_int_eq(bg_strlcpy(b, "", sizeof b), 0);
    ck_assert_str_eq(b, "");
    ck_assert_int_eq(bg_strlcpy(b, NULL, sizeof b), 0);
    ck_assert_str_eq(b, "");
    ck_assert_int_eq(bg_strlcpy(b, "x", 1), 1);
    ck_assert_str_eq(b, "");
    ck_assert_int_eq(bg_strlcpy(b, "x", 0), 1);
    ck_assert_int_eq(bg_strlcpy(b, "", 0), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_class_names);
    tcase_add_test(tc, test_encode_exact);
    tcase_add_test(tc, test_round_trip_hostile);
    tcase_add_test(tc, test_round_trip_dash_and_full);
    tcase_add_test(tc, test_encode_bounds);
    tcase_add_test(tc, test_decode_unknown_and_defaults);
    tcase_add_test(tc, test_decode_diag_truncated);
    tcase_add_loop_test(tc, test_decode_bad, 0,
                        (int)(sizeof bad_inputs / sizeof bad_inputs[0]));
    tcase_add_test(tc, test_decode_limits);
    tcase_add_test(tc, test_strlcpy);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
