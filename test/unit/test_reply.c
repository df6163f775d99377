/* test_reply.c - bg_reply_build, bg_reply_codes. */
#include "unit.h"

#include <stdint.h>
#include <string.h>

#include "reply.h"

#define DEFAULT_TMPL "{rcpt}: {scope} suppressed after {what} on {since} ({reason})"

static void hard(struct bg_record *r)
{
    memset(r, 0, sizeof *r);
    r->cls = BG_CLASS_HARD;
    strcpy(r->reason, "userunknown");
    strcpy(r->status, "5.1.1");
    r->first_seen = 1795132800; /* 2026-11-20 00:00:00 UTC */
    r->last_seen = 1795132800;
    r->count = 1;
}

/* No "%" that is not part of a "%%" pair, no control or 8-bit byte. */
static void assert_safe(const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        ck_assert(c >= 0x20 && c < 0x7f);
        if (c == '%') {
            ck_assert_int_eq(s[i + 1], '%');
            i++;
        }
    }
}

START_TEST(test_default_template)
{
    struct bg_record r;
    char out[BG_REPLY_MAX];
    int n;

    hard(&r);
    n = bg_reply_build(DEFAULT_TMPL, "bob@example.com", 0, &r, out, sizeof out);
    ck_assert_str_eq(out, "<bob@example.com>: recipient suppressed after hard "
                          "bounce on 2026-11-20 (userunknown)");
    ck_assert_int_eq(n, (int)strlen(out));
    /* the header's macro is the same template; NULL means the default */
    ck_assert_str_eq(BG_REPLY_DEFAULT_TEMPLATE, DEFAULT_TMPL);
    ck_assert_int_eq(bg_reply_build(NULL, "bob@example.com", 0, &r, out, sizeof out), n);
    ck_assert_str_eq(out, "<bob@example.com>: recipient suppressed after hard "
                          "bounce on 2026-11-20 (userunknown)");
    /* last second of the day is still that day (UTC) */
    r.first_seen = 1795132800 + 86399;
    bg_reply_build(NULL, "bob@example.com", 0, &r, out, sizeof out);
    ck_assert_ptr_nonnull(strstr(out, " on 2026-11-20 "));
}
END_TEST

START_TEST(test_what_and_fields)
{
    static const struct { enum bg_class c; const char *what; } t[] = {
        {BG_CLASS_HARD, "hard bounce"},
        {BG_CLASS_SOFT, "repeated soft bounces"},
        {BG_CLASS_COMPLAINT, "spam complaint"},
        {BG_CLASS_MANUAL, "manual suppression"},
        {BG_CLASS_BLOCK, "block"},
        {BG_CLASS_NONE, "suppression"},
        {BG_CLASS_UNDETERMINED, "suppression"},
        {(enum bg_class)77, "suppression"},
    };
    struct bg_record r;
    char out[BG_REPLY_MAX];

    hard(&r);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        r.cls = t[i].c;
        bg_reply_build("{what}", "a@b", 0, &r, out, sizeof out);
        ck_assert_str_eq(out, t[i].what);
    }
    r.cls = BG_CLASS_COMPLAINT;
    r.reason[0] = '\0';
    r.status[0] = '\0';
    r.first_seen = 0;
    bg_reply_build("{class}|{reason}|{status}|{since}|{scope}|{rcpt}", "example.com",
                   1, &r, out, sizeof out);
    ck_assert_str_eq(out, "complaint|-|-|-|domain|<example.com>");
    hard(&r);
    bg_reply_build("{class}|{reason}|{status}|{since}|{scope}", "a@b", 0, &r, out,
                   sizeof out);
    ck_assert_str_eq(out, "hard|userunknown|5.1.1|2026-11-20|recipient");
    /* NULL record and NULL rcpt do not crash */
    bg_reply_build("{rcpt} {what} {reason}", NULL, 0, NULL, out, sizeof out);
    ck_assert_str_eq(out, "<> suppression -");
}
END_TEST

START_TEST(test_unknown_placeholders)
{
    struct bg_record r;
    char out[BG_REPLY_MAX];

    hard(&r);
    bg_reply_build("{foo} {RCPT} {rcpt {} { {{class}} {class", "a@b", 0, &r, out,
                   sizeof out);
    ck_assert_str_eq(out, "{foo} {RCPT} {rcpt {} { {hard} {class");
    bg_reply_build("{abcdefghijklmnopqrstuvwxyz}", "a@b", 0, &r, out, sizeof out);
    ck_assert_str_eq(out, "{abcdefghijklmnopqrstuvwxyz}");
    bg_reply_build("", "a@b", 0, &r, out, sizeof out);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_percent_and_controls)
{
    struct bg_record r;
    char out[BG_REPLY_MAX];

    hard(&r);
    strcpy(r.reason, "100%\r\n250 ok");
    bg_reply_build("50% {reason} %s%n", "a%b@x\t.example", 0, &r, out, sizeof out);
    ck_assert_str_eq(out, "50%% 100%%??250 ok %%s%%n");
    assert_safe(out);
    bg_reply_build("{rcpt}", "j\xc3\xb6rg@x.example", 0, &r, out, sizeof out);
    ck_assert_str_eq(out, "<j??rg@x.example>");
    bg_reply_build("line1\r\nline2\x7f", "a@b", 0, &r, out, sizeof out);
    ck_assert_str_eq(out, "line1??line2?");
}
END_TEST

START_TEST(test_truncation)
{
    struct bg_record r;
    char out[BG_REPLY_MAX];
    char full[BG_REPLY_MAX];
    int n, fl;

    hard(&r);
    fl = bg_reply_build(NULL, "bob@example.com", 0, &r, full, sizeof full);
    for (size_t sz = 1; sz <= (size_t)fl + 1; sz++) {
        memset(out, 'Z', sizeof out);
        n = bg_reply_build(NULL, "bob@example.com", 0, &r, out, sz);
        ck_assert_int_eq(n, (int)strlen(out));
        ck_assert_uint_lt((size_t)n, sz);
        ck_assert_int_eq(out[sz - 1] == '\0' || (size_t)n < sz - 1, 1);
        ck_assert_int_eq(out[sz], 'Z'); /* nothing written past outsz */
        ck_assert_int_eq(strncmp(out, full, (size_t)n), 0);
    }
    ck_assert_int_eq(n, fl);

    /* never split a %% pair: with "%%%%" output and room for 3 chars, only
     * one pair is written */
    for (size_t sz = 1; sz < 8; sz++) {
        n = bg_reply_build("%%%%", "a@b", 0, &r, out, sz);
        ck_assert_int_eq(n, (int)(((sz - 1) / 2) * 2));
        assert_safe(out);
    }
    n = bg_reply_build("a%", "a@b", 0, &r, out, 3);
    ck_assert_str_eq(out, "a");
    ck_assert_int_eq(n, 1);

    ck_assert_int_eq(bg_reply_build(NULL, "a@b", 0, &r, out, 0), -1);
    ck_assert_int_eq(bg_reply_build(NULL, "a@b", 0, &r, NULL, 10), -1);

    /* a huge hostile rcpt is bounded by outsz */
    {
        static char big[4000];
        memset(big, '%', sizeof big - 1);
        n = bg_reply_build(NULL, big, 0, &r, out, sizeof out);
        ck_assert_int_lt(n, (int)sizeof out);
        assert_safe(out);
    }
}
END_TEST

START_TEST(test_codes)
{
    struct bg_record r;
    char rc[4], xc[16];
    static const char *const bad[] = {"", "4.2.2", "5.1", "5.1.", "5..1",
                                      "5.1.1 ", "5.1000.1", "5.1.1000",
                                      "5.a.1", "2.0.0", "5.1.1.1", "55.1.1"};

    hard(&r);
    bg_reply_codes(&r, 0, rc, xc);
    ck_assert_str_eq(rc, "550");
    ck_assert_str_eq(xc, "5.1.1");
    strcpy(r.status, "5.2.1");
    bg_reply_codes(&r, 1, rc, xc);
    ck_assert_str_eq(xc, "5.2.1");
    strcpy(r.status, "5.123.456");
    bg_reply_codes(&r, 0, rc, xc);
    ck_assert_str_eq(xc, "5.123.456");

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(r.status, bad[i]);
        r.cls = BG_CLASS_HARD;
        bg_reply_codes(&r, 0, rc, xc);
        ck_assert_str_eq(rc, "550");
        ck_assert_msg(strcmp(xc, "5.1.1") == 0, "'%s' -> %s", bad[i], xc);
        bg_reply_codes(&r, 1, rc, xc);
        ck_assert_str_eq(xc, "5.1.2");
        r.cls = BG_CLASS_COMPLAINT;
        bg_reply_codes(&r, 0, rc, xc);
        ck_assert_str_eq(xc, "5.7.1");
        bg_reply_codes(&r, 1, rc, xc);
        ck_assert_str_eq(xc, "5.7.1");
    }
    /* an unterminated status field is not trusted */
    memset(r.status, '5', sizeof r.status);
    r.cls = BG_CLASS_SOFT;
    bg_reply_codes(&r, 0, rc, xc);
    ck_assert_str_eq(xc, "5.1.1");
    bg_reply_codes(NULL, 1, rc, xc);
    ck_assert_str_eq(rc, "550");
    ck_assert_str_eq(xc, "5.1.2");
}
END_TEST

/* Regression (fuzz_reply): a first= near the end of gmtime_r's range
 * made tm_year + 1900 overflow int (UB; a negative year in practice). */
START_TEST(test_since_far_future)
{
    struct bg_record r;
    char out[BG_REPLY_MAX];

    hard(&r);
    r.first_seen = 67767976233532799LL; /* last second of year INT_MAX */
    bg_reply_build("{since}", "a@b", 0, &r, out, sizeof out);
    ck_assert_str_eq(out, "2147483647-12-31");
    r.first_seen = 67767976233532800LL; /* year INT_MAX + 1 */
    bg_reply_build("{since}", "a@b", 0, &r, out, sizeof out);
    ck_assert_str_eq(out, "2147483648-01-01");
    r.first_seen = INT64_MAX;           /* beyond gmtime_r: unknown */
    bg_reply_build("{since}", "a@b", 0, &r, out, sizeof out);
    ck_assert_str_eq(out, "-");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("reply");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_default_template);
    tcase_add_test(tc, test_what_and_fields);
    tcase_add_test(tc, test_unknown_placeholders);
    tcase_add_test(tc, test_percent_and_controls);
    tcase_add_test(tc, test_truncation);
    tcase_add_test(tc, test_codes);
    tcase_add_test(tc, test_since_far_future);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
