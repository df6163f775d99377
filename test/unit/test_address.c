/* test_address.c - bg_addr_normalize, bg_domain_normalize, bg_addr_domain. */
#include "unit.h"

#include <string.h>

#include "address.h"
#include "bg.h"

/* in/inlen: inlen 0 means strlen(in) (so NULs inside can be tested with an
 * explicit length). want NULL: must fail, with why == err when err set. */
struct acase {
    const char *in;
    size_t inlen;
    const char *want;
    const char *err;
};

static const struct acase addr_cases[] = {
    /* plain forms */
    {"bob@example.com", 0, "bob@example.com", NULL},
    {"<bob@example.com>", 0, "bob@example.com", NULL},
    {"  <bob@example.com>\t", 0, "bob@example.com", NULL},
    {"< bob@example.com >", 0, "bob@example.com", NULL},
    {"Bob.Smith@Example.COM", 0, "bob.smith@example.com", NULL},
    {"bob@example.com.", 0, "bob@example.com", NULL},
    {"bob+tag@example.com", 0, "bob+tag@example.com", NULL},
    {"o'brien@example.ie", 0, "o'brien@example.ie", NULL},
    {"a!#$%&'*+-/=?^_`{|}~z@example.com", 0,
     "a!#$%&'*+-/=?^_`{|}~z@example.com", NULL},
    {"bob@localhost", 0, "bob@localhost", NULL},
    {"bob@under_score.example", 0, "bob@under_score.example", NULL},
    /* quoting */
    {"\"bob\"@example.com", 0, "bob@example.com", NULL},
    {"\"Bob.Smith\"@example.com", 0, "bob.smith@example.com", NULL},
    {"\"\\b\\o\\b\"@example.com", 0, "bob@example.com", NULL},
    {"\"john smith\"@example.com", 0, "\"john smith\"@example.com", NULL},
    {"\"a\\\"b\"@example.com", 0, "\"a\\\"b\"@example.com", NULL},
    {"\"a\\\\b\"@example.com", 0, "\"a\\\\b\"@example.com", NULL},
    {"\"a@b\"@example.com", 0, "\"a@b\"@example.com", NULL},
    {"\".bob\"@example.com", 0, "\".bob\"@example.com", NULL},
    {"bob..smith@docomo.ne.jp", 0, "\"bob..smith\"@docomo.ne.jp", NULL},
    {"\"bob..smith\"@docomo.ne.jp", 0, "\"bob..smith\"@docomo.ne.jp", NULL},
    {"\"\"@example.com", 0, NULL, "empty local part"},
    {"\"bob@example.com", 0, NULL, "unbalanced quotes"},
    {"\"bob\\\"@example.com", 0, NULL, "unbalanced quotes"},
    {"\"bob\"x@example.com", 0, NULL, "bad quoting"},
    {"b\"o\"b@example.com", 0, NULL, "bad quoting"},
    {"\"a\"@b@example.com", 0, NULL, "bad quoting"},
    {"\"a\tb\"@example.com", 0, NULL, "control byte in local part"},
    /* several '@': the last one separates */
    {"a@b@example.com", 0, "\"a@b\"@example.com", NULL},
    /* source routes */
    {"<@a.example,@b.example:user@c.example>", 0, "user@c.example", NULL},
    {"<@a.example:User@C.example>", 0, "user@c.example", NULL},
    {"@[192.0.2.1]:u@c.example", 0, "u@c.example", NULL},
    {"<@a.example,b.example:u@c.example>", 0, NULL, "bad source route"},
    {"<@:u@c.example>", 0, NULL, "bad source route"},
    {"<@a.example:>", 0, NULL, "empty"},
    /* null sender, empty, brackets */
    {"<>", 0, NULL, "null sender"},
    {"< >", 0, NULL, "null sender"},
    {"", 0, NULL, "empty"},
    {"   ", 0, NULL, "empty"},
    {"<bob@example.com", 0, NULL, "unbalanced brackets"},
    {"bob@example.com>", 0, NULL, "unbalanced brackets"},
    {"<", 0, NULL, "unbalanced brackets"},
    {"bob", 0, NULL, "no domain"},
    {"bob@", 0, NULL, "no domain"},
    {"bob@.", 0, NULL, "no domain"},
    {"@example.com", 0, NULL, "empty local part"},
    /* hostile bytes */
    {"bob@example.com\0evil", 15, "bob@example.com", NULL},
    {"bob@exa\0mple.com", 16, NULL, "nul byte"},
    {"bo b@example.com", 0, NULL, "blank in local part"},
    {"bob@exa mple.com", 0, NULL, "control or blank in domain"},
    {"bob\r\n@example.com", 0, NULL, "control byte in local part"},
    {"bob@example.com\r\nRCPT TO:<x@y>", 0, NULL, NULL},
    {"bo\x7f" "b@example.com", 0, NULL, "control byte in local part"},
    {"bob(comment)@example.com", 0, NULL, "bad character in local part"},
    {"bob\\@example.com", 0, NULL, "bad character in local part"},
    {"bob@exa..mple.com", 0, NULL, "empty label"},
    {"bob@.example.com", 0, NULL, "empty label"},
    {"bob@example.com..", 0, NULL, "empty label"},
    {"bob@exa!mple.com", 0, NULL, "bad character in domain"},
    {"bob@exam[ple.com", 0, NULL, "unbalanced brackets"},
    /* address literals */
    {"bob@[192.0.2.1]", 0, "bob@[192.0.2.1]", NULL},
    {"bob@[IPv6:2001:DB8::1]", 0, "bob@[ipv6:2001:db8::1]", NULL},
    {"bob@[IPv6:2001:db8:0:0:0:0:0:1]", 0, "bob@[ipv6:2001:db8::1]", NULL},
    {"bob@[192.0.2.1", 0, NULL, "unbalanced brackets"},
    {"bob@[192.0.2.256]", 0, NULL, "bad address literal"},
    {"bob@[]", 0, NULL, "empty address literal"},
    {"bob@[IPv6:zz::1]", 0, NULL, "bad address literal"},
    {"bob@[X-Foo:Bar]", 0, "bob@[x-foo:bar]", NULL},
    /* IDN */
    {"bob@b\xc3\xbc" "cher.example", 0, "bob@xn--bcher-kva.example", NULL},
    {"bob@B\xc3\x9c" "CHER.example", 0, "bob@xn--bcher-kva.example", NULL},
    {"bob@xn--bcher-kva.example", 0, "bob@xn--bcher-kva.example", NULL},
    {"bob@stra\xc3\x9f" "e.de", 0, "bob@xn--strae-oqa.de", NULL},
    {"bob@\xe4\xbe\x8b\xe3\x81\x88\xe3\x80\x82\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", 0,
     "bob@xn--r8jz45g.xn--zckzah", NULL},
    {"bob@b\xfc" "cher.example", 0, NULL, "bad idna"},
    /* UTF-8 local part: bytes kept, only ASCII folded */
    {"J\xc3\x96RG@example.com", 0, "j\xc3\x96rg@example.com", NULL},
    {"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd@example.com", 0,
     "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd@example.com", NULL},
};

START_TEST(test_addr_table)
{
    const struct acase *c = &addr_cases[_i];
    char out[BG_ADDR_MAX];
    const char *why = NULL;
    size_t n = c->inlen ? c->inlen : strlen(c->in);
    int rc = bg_addr_normalize(c->in, n, out, sizeof out, &why);

    if (c->want) {
        ck_assert_msg(rc == 0, "case %d: '%s' failed: %s", _i, c->in,
                      why ? why : "?");
        ck_assert_str_eq(out, c->want);
    } else {
        ck_assert_msg(rc == -1, "case %d: '%s' accepted as '%s'", _i, c->in,
                      out);
        ck_assert_ptr_nonnull(why);
        if (c->err)
            ck_assert_str_eq(why, c->err);
    }
}
END_TEST

START_TEST(test_addr_lengths)
{
    char in[2048], out[BG_ADDR_MAX];
    const char *why;
    size_t i;

    /* local part of 100 octets: longer than RFC 5321's 64, still kept */
    memset(in, 'a', 100);
    strcpy(in + 100, "@example.com");
    ck_assert_int_eq(bg_addr_normalize(in, strlen(in), out, sizeof out, &why), 0);
    ck_assert_uint_eq(strlen(out), 112);

    /* local part too long for the output */
    memset(in, 'a', 600);
    strcpy(in + 600, "@example.com");
    ck_assert_int_eq(bg_addr_normalize(in, strlen(in), out, sizeof out, &why), -1);
    ck_assert_str_eq(why, "too long");

    /* label of 63 is fine, 64 is not */
    strcpy(in, "b@");
    memset(in + 2, 'x', 63);
    strcpy(in + 65, ".example");
    ck_assert_int_eq(bg_addr_normalize(in, strlen(in), out, sizeof out, &why), 0);
    in[2 + 63] = 'x';
    strcpy(in + 66, ".example");
    ck_assert_int_eq(bg_addr_normalize(in, strlen(in), out, sizeof out, &why), -1);
    ck_assert_str_eq(why, "label too long");

    /* domain of 253 ok (63.63.63.61), 255 refused */
    strcpy(in, "b@");
    i = 2;
    for (int l = 0; l < 4; l++) {
        size_t len = l < 3 ? 63 : 61;
        memset(in + i, 'd', len);
        i += len;
        in[i++] = '.';
    }
    in[i - 1] = '\0'; /* 253 bytes of domain */
    ck_assert_uint_eq(strlen(in) - 2, 253);
    ck_assert_int_eq(bg_addr_normalize(in, strlen(in), out, sizeof out, &why), 0);
    /* with a trailing dot: still 253 */
    strcat(in, ".");
    ck_assert_int_eq(bg_addr_normalize(in, strlen(in), out, sizeof out, &why), 0);
    in[strlen(in) - 1] = '\0';
    strcat(in, "dd");
    ck_assert_int_eq(bg_addr_normalize(in, strlen(in), out, sizeof out, &why), -1);
    ck_assert_str_eq(why, "domain too long");

    /* a huge input is refused without being scanned at length */
    {
        static char big[100000];
        memset(big, 'a', sizeof big);
        ck_assert_int_eq(bg_addr_normalize(big, sizeof big, out, sizeof out, &why), -1);
        ck_assert_str_eq(why, "too long");
    }
}
END_TEST

START_TEST(test_addr_small_out)
{
    char out[16];
    const char *why;

    /* "bob@example.com" is 15 bytes + NUL: fits exactly */
    ck_assert_int_eq(bg_addr_normalize("bob@example.com", 15, out, 16, &why), 0);
    ck_assert_str_eq(out, "bob@example.com");
    ck_assert_int_eq(bg_addr_normalize("bob@example.com", 15, out, 15, &why), -1);
    ck_assert_str_eq(why, "too long");
    /* quoted output that does not fit: no partial result left behind */
    memset(out, 'Z', sizeof out);
    ck_assert_int_eq(bg_addr_normalize("\"a b c d e\"@x.example", 21, out, 16, &why), -1);
    ck_assert_uint_lt(strnlen(out, sizeof out), sizeof out);
    ck_assert_int_eq(bg_addr_normalize("bob@x", 5, out, 0, &why), -1);
    /* why may be NULL */
    ck_assert_int_eq(bg_addr_normalize("<>", 2, out, sizeof out, NULL), -1);
    ck_assert_int_eq(bg_addr_normalize(NULL, 0, out, sizeof out, &why), -1);
}
END_TEST

START_TEST(test_addr_idempotent)
{
    char a[BG_ADDR_MAX], b[BG_ADDR_MAX];
    const char *why;

    for (size_t i = 0; i < sizeof addr_cases / sizeof addr_cases[0]; i++) {
        const struct acase *c = &addr_cases[i];
        if (!c->want)
            continue;
        ck_assert_int_eq(bg_addr_normalize(c->in, c->inlen ? c->inlen : strlen(c->in),
                                           a, sizeof a, &why), 0);
        ck_assert_msg(bg_addr_normalize(a, strlen(a), b, sizeof b, &why) == 0,
                      "re-normalizing '%s' failed: %s", a, why);
        ck_assert_str_eq(a, b);
    }
}
END_TEST

START_TEST(test_domain)
{
    char out[BG_DOMAIN_MAX];
    const char *why;

    ck_assert_int_eq(bg_domain_normalize("Example.COM.", 12, out, sizeof out, &why), 0);
    ck_assert_str_eq(out, "example.com");
    ck_assert_int_eq(bg_domain_normalize("@example.com", 12, out, sizeof out, &why), 0);
    ck_assert_str_eq(out, "example.com");
    ck_assert_int_eq(bg_domain_normalize(" b\xc3\xbc" "cher.example ", 17, out,
                                         sizeof out, &why), 0);
    ck_assert_str_eq(out, "xn--bcher-kva.example");
    ck_assert_int_eq(bg_domain_normalize("[IPv6:::1]", 10, out, sizeof out, &why), 0);
    ck_assert_str_eq(out, "[ipv6:::1]");
    ck_assert_int_eq(bg_domain_normalize("@", 1, out, sizeof out, &why), -1);
    ck_assert_str_eq(why, "empty");
    ck_assert_int_eq(bg_domain_normalize("a@b", 3, out, sizeof out, &why), -1);
    ck_assert_int_eq(bg_domain_normalize("ex\0ample", 8, out, sizeof out, &why), -1);
    ck_assert_str_eq(why, "nul byte");
    ck_assert_int_eq(bg_domain_normalize("example.com", 11, out, 5, &why), -1);
    ck_assert_str_eq(why, "too long");
    ck_assert_int_eq(bg_domain_normalize("b\xc3\xbc" "cher.example", 14, out, 10, &why), -1);
    ck_assert_str_eq(why, "too long");
}
END_TEST

START_TEST(test_addr_domain)
{
    ck_assert_str_eq(bg_addr_domain("bob@example.com"), "example.com");
    ck_assert_str_eq(bg_addr_domain("\"a@b\"@example.com"), "example.com");
    ck_assert_ptr_null(bg_addr_domain("bob"));
    ck_assert_ptr_null(bg_addr_domain("bob@"));
    ck_assert_ptr_null(bg_addr_domain(NULL));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("address");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_addr_table, 0,
                        (int)(sizeof addr_cases / sizeof addr_cases[0]));
    tcase_add_test(tc, test_addr_lengths);
    tcase_add_test(tc, test_addr_small_out);
    tcase_add_test(tc, test_addr_idempotent);
    tcase_add_test(tc, test_domain);
    tcase_add_test(tc, test_addr_domain);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
