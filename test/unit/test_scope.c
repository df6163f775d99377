/* test_scope.c - network lists, exemptions, name lists. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "scope.h"

START_TEST(test_net_parse_match)
{
    struct bg_netlist l;
    const char *why = NULL;

    ck_assert_int_eq(bg_netlist_parse("127.0.0.0/8 ::1,192.0.2.7 , 2001:db8::/32",
                                      &l, &why), 0);
    ck_assert_uint_eq(l.n, 4);
    ck_assert(bg_netlist_match(&l, "127.0.0.1"));
    ck_assert(bg_netlist_match(&l, "127.255.255.255"));
    ck_assert(!bg_netlist_match(&l, "128.0.0.1"));
    ck_assert(bg_netlist_match(&l, "::1"));
    ck_assert(!bg_netlist_match(&l, "::2"));
    ck_assert(bg_netlist_match(&l, "192.0.2.7"));
    ck_assert(!bg_netlist_match(&l, "192.0.2.8"));
    ck_assert(bg_netlist_match(&l, "2001:db8:ffff::1"));
    ck_assert(bg_netlist_match(&l, "2001:DB8::"));
    ck_assert(!bg_netlist_match(&l, "2001:db9::1"));
    /* Postfix / milter spellings */
    ck_assert(bg_netlist_match(&l, "IPv6:::1"));
    ck_assert(bg_netlist_match(&l, "[IPv6:2001:db8::5]"));
    ck_assert(bg_netlist_match(&l, "[127.0.0.1]"));
    ck_assert(bg_netlist_match(&l, "fe80::1%eth0") == 0);
    /* IPv4 client on a dual-stack socket */
    ck_assert(bg_netlist_match(&l, "::ffff:127.0.0.1"));
    /* unparseable */
    ck_assert(!bg_netlist_match(&l, ""));
    ck_assert(!bg_netlist_match(&l, "localhost"));
    ck_assert(!bg_netlist_match(&l, "127.0.0.1/8"));
    ck_assert(!bg_netlist_match(&l, "127.0.0.1 "));
    ck_assert(!bg_netlist_match(&l, NULL));
    ck_assert(!bg_netlist_match(NULL, "127.0.0.1"));
}
END_TEST

START_TEST(test_net_edges)
{
    struct bg_netlist l;
    const char *why = NULL;

    /* empty lists match nothing */
    ck_assert_int_eq(bg_netlist_parse("", &l, &why), 0);
    ck_assert_uint_eq(l.n, 0);
    ck_assert(!bg_netlist_match(&l, "127.0.0.1"));
    ck_assert_int_eq(bg_netlist_parse(" ,, \t", &l, &why), 0);
    ck_assert_uint_eq(l.n, 0);
    ck_assert_int_eq(bg_netlist_parse(NULL, &l, &why), 0);
    ck_assert_uint_eq(l.n, 0);

    /* /0 matches everything of that family (v4 only covers v4-mapped) */
    ck_assert_int_eq(bg_netlist_parse("0.0.0.0/0", &l, &why), 0);
    ck_assert(bg_netlist_match(&l, "203.0.113.9"));
    ck_assert(!bg_netlist_match(&l, "2001:db8::1"));
    ck_assert_int_eq(bg_netlist_parse("::/0", &l, &why), 0);
    ck_assert(bg_netlist_match(&l, "203.0.113.9"));
    ck_assert(bg_netlist_match(&l, "2001:db8::1"));

    /* odd prefix lengths and host bits */
    ck_assert_int_eq(bg_netlist_parse("10.1.2.3/15", &l, &why), 0);
    ck_assert(bg_netlist_match(&l, "10.0.0.1"));
    ck_assert(bg_netlist_match(&l, "10.1.255.255"));
    ck_assert(!bg_netlist_match(&l, "10.2.0.0"));
    ck_assert_int_eq(bg_netlist_parse("2001:db8::/33", &l, &why), 0);
    ck_assert(bg_netlist_match(&l, "2001:db8:7fff::1"));
    ck_assert(!bg_netlist_match(&l, "2001:db8:8000::1"));
    ck_assert_int_eq(bg_netlist_parse("192.0.2.0/32 [IPv6:2001:db8::1]/128", &l, &why), 0);
    ck_assert(bg_netlist_match(&l, "2001:db8::1"));
}
END_TEST

static const char *const bad_nets[] = {
    "300.0.0.1", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/a",
    "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/0008", "example.com", "/8",
    "10.0.0.0/8/8", "1.2.3", "::1 \"x",
};

START_TEST(test_net_bad)
{
    struct bg_netlist l;
    const char *why = NULL;

    ck_assert_msg(bg_netlist_parse(bad_nets[_i], &l, &why) == -1,
                  "accepted '%s'", bad_nets[_i]);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_net_too_many)
{
    struct bg_netlist l;
    const char *why = NULL;
    char buf[BG_NET_MAX * 16 + 32];
    size_t o = 0;

    for (int i = 0; i < BG_NET_MAX; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "10.0.%d.0/24 ", i);
    ck_assert_int_eq(bg_netlist_parse(buf, &l, &why), 0);
    ck_assert_uint_eq(l.n, BG_NET_MAX);
    ck_assert(bg_netlist_match(&l, "10.0.63.200"));
    snprintf(buf + o, sizeof buf - o, "10.1.0.0/24");
    ck_assert_int_eq(bg_netlist_parse(buf, &l, &why), -1);
    ck_assert_str_eq(why, "too many networks");
}
END_TEST

START_TEST(test_exempt)
{
    struct bg_exempt e;
    const char *why = NULL;

    ck_assert_int_eq(bg_exempt_parse("Postmaster@, @Example.ORG @.b\xc3\xbc" "cher.example,"
                                     "<Bob@Example.com> \"john smith\"@x.example",
                                     &e, &why), 0);
    ck_assert_uint_eq(e.n, 5);
    ck_assert_str_eq(e.entry[0], "postmaster@");
    ck_assert_str_eq(e.entry[1], "@example.org");
    ck_assert_str_eq(e.entry[2], "@.xn--bcher-kva.example");
    ck_assert_str_eq(e.entry[3], "bob@example.com");
    ck_assert_str_eq(e.entry[4], "\"john smith\"@x.example");

    ck_assert(bg_exempt_match(&e, "postmaster@anything.example"));
    ck_assert(!bg_exempt_match(&e, "postmaster2@anything.example"));
    ck_assert(!bg_exempt_match(&e, "xpostmaster@anything.example"));
    ck_assert(!bg_exempt_match(&e, "\"a@postmaster\"@anything.example"));
    ck_assert(bg_exempt_match(&e, "anyone@example.org"));
    ck_assert(!bg_exempt_match(&e, "anyone@sub.example.org"));
    ck_assert(!bg_exempt_match(&e, "anyone@xexample.org"));
    ck_assert(bg_exempt_match(&e, "x@xn--bcher-kva.example"));
    ck_assert(bg_exempt_match(&e, "x@a.b.xn--bcher-kva.example"));
    ck_assert(!bg_exempt_match(&e, "x@axn--bcher-kva.example"));
    ck_assert(bg_exempt_match(&e, "bob@example.com"));
    ck_assert(!bg_exempt_match(&e, "bob@example.comx"));
    ck_assert(!bg_exempt_match(&e, "alice@example.com"));
    ck_assert(bg_exempt_match(&e, "\"john smith\"@x.example"));
    ck_assert(!bg_exempt_match(&e, "bob"));
    ck_assert(!bg_exempt_match(&e, NULL));

    ck_assert_int_eq(bg_exempt_parse("", &e, &why), 0);
    ck_assert_uint_eq(e.n, 0);
    ck_assert(!bg_exempt_match(&e, "bob@example.com"));
}
END_TEST

static const char *const bad_exempts[] = {
    "@", "@.", "bob", "bo b@x", "@exa..mple", "\"unterminated@x", "<>",
    "@.[192.0.2.1]", "a@b\x01", "@b\374cher.example",
};

START_TEST(test_exempt_bad)
{
    struct bg_exempt e;
    const char *why = NULL;

    ck_assert_msg(bg_exempt_parse(bad_exempts[_i], &e, &why) == -1,
                  "accepted '%s'", bad_exempts[_i]);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_exempt_limits)
{
    struct bg_exempt e;
    const char *why = NULL;
    char buf[BG_EXEMPT_MAX * 16 + 300];
    size_t o = 0;

    for (int i = 0; i < BG_EXEMPT_MAX; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "u%d@x.example ", i);
    ck_assert_int_eq(bg_exempt_parse(buf, &e, &why), 0);
    ck_assert_uint_eq(e.n, BG_EXEMPT_MAX);
    ck_assert(bg_exempt_match(&e, "u127@x.example"));
    snprintf(buf + o, sizeof buf - o, "one@more.example");
    ck_assert_int_eq(bg_exempt_parse(buf, &e, &why), -1);
    ck_assert_str_eq(why, "too many exemptions");

    /* an entry that does not fit the 128-byte slot */
    memset(buf, 'a', 130);
    strcpy(buf + 130, "@x.example");
    ck_assert_int_eq(bg_exempt_parse(buf, &e, &why), -1);
    ck_assert_str_eq(why, "entry too long");
    /* 127 bytes fits exactly */
    memset(buf, 'a', 117);
    strcpy(buf + 117, "@x.example");
    ck_assert_int_eq(bg_exempt_parse(buf, &e, &why), 0);
    ck_assert_uint_eq(strlen(e.entry[0]), 127);
}
END_TEST

START_TEST(test_names)
{
    struct bg_names l;
    const char *why = NULL;
    char buf[BG_NAMES_MAX * 8 + 100];
    size_t o = 0;

    ck_assert_int_eq(bg_names_parse("smtpd, submission/smtpd\tsmtps/smtpd", &l, &why), 0);
    ck_assert_uint_eq(l.n, 3);
    ck_assert(bg_names_match(&l, "smtpd"));
    ck_assert(bg_names_match(&l, "submission/smtpd"));
    ck_assert(!bg_names_match(&l, "SMTPD"));
    ck_assert(!bg_names_match(&l, "smtp"));
    ck_assert(!bg_names_match(&l, "smtpdx"));
    ck_assert(!bg_names_match(&l, ""));
    ck_assert(!bg_names_match(&l, NULL));
    ck_assert_int_eq(bg_names_parse("", &l, &why), 0);
    ck_assert(!bg_names_match(&l, "smtpd"));

    memset(buf, 'n', 64);
    buf[64] = '\0';
    ck_assert_int_eq(bg_names_parse(buf, &l, &why), -1);
    ck_assert_str_eq(why, "name too long");
    buf[63] = '\0';
    ck_assert_int_eq(bg_names_parse(buf, &l, &why), 0);
    ck_assert(bg_names_match(&l, buf));
    ck_assert_int_eq(bg_names_parse("a\x01" "b", &l, &why), -1);
    ck_assert_int_eq(bg_names_parse("caf\xc3\xa9", &l, &why), -1);

    for (int i = 0; i < BG_NAMES_MAX; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "n%d ", i);
    ck_assert_int_eq(bg_names_parse(buf, &l, &why), 0);
    ck_assert_uint_eq(l.n, BG_NAMES_MAX);
    snprintf(buf + o, sizeof buf - o, "extra");
    ck_assert_int_eq(bg_names_parse(buf, &l, &why), -1);
    ck_assert_str_eq(why, "too many names");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("scope");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_net_parse_match);
    tcase_add_test(tc, test_net_edges);
    tcase_add_loop_test(tc, test_net_bad, 0,
                        (int)(sizeof bad_nets / sizeof bad_nets[0]));
    tcase_add_test(tc, test_net_too_many);
    tcase_add_test(tc, test_exempt);
    tcase_add_loop_test(tc, test_exempt_bad, 0,
                        (int)(sizeof bad_exempts / sizeof bad_exempts[0]));
    tcase_add_test(tc, test_exempt_limits);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
