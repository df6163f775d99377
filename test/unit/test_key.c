/* test_key.c - bg_key_build, bg_key_bytes_ok. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "bg.h"
#include "key.h"

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

START_TEST(test_plain)
{
    char k[BG_KEY_MAX];

    ck_assert_int_eq(bg_key_build(k, sizeof k, "bg:", BG_KIND_RCPT, "bob@example.com"), 20);
    ck_assert_str_eq(k, "bg:r:bob@example.com");
    ck_assert_int_eq(bg_key_build(k, sizeof k, "bg:", BG_KIND_DOMAIN, "example.com"), 16);
    ck_assert_str_eq(k, "bg:d:example.com");
    ck_assert_int_eq(bg_key_build(k, sizeof k, "bg:", BG_KIND_SOFT, "bob@example.com"), 20);
    ck_assert_str_eq(k, "bg:s:bob@example.com");
    ck_assert_int_eq(bg_key_build(k, sizeof k, "x", BG_KIND_META, "epoch"), 8);
    ck_assert_str_eq(k, "xm:epoch");
}
END_TEST

/* Known-answer: hashing must be plain SHA-256 of the name bytes. */
START_TEST(test_sha256_kat)
{
    char k[BG_KEY_MAX];
    /* sha256("a b") */
    ck_assert_int_eq(bg_key_build(k, sizeof k, "bg:", BG_KIND_RCPT, "a b"), 69);
    ck_assert_str_eq(k, "bg:r#c8687a08aa5d6ed2044328fa6a697ab8e96dc34291e8c2034ae8c38e6fcc6d65");
    /* sha256("\x80"): an 8-bit byte */
    ck_assert_int_eq(bg_key_build(k, sizeof k, "p", BG_KIND_DOMAIN, "\x80"), 67);
    ck_assert_str_eq(k, "pd#76be8b528d0075f7aae98d6fa57a6d3c83ae480a8469e668d7b0af968995ac71");
}
END_TEST

START_TEST(test_hashed_bytes)
{
    static const char *const names[] = {
        "bob smith@example.com", "bob\t@example.com", "bob\r\n@example.com",
        "j\xc3\xb6rg@example.com", "bob\x7f@example.com", "\"a b\"@example.com",
    };
    char k[BG_KEY_MAX];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ck_assert_int_eq(bg_key_build(k, sizeof k, "bg:", BG_KIND_RCPT, names[i]), 69);
        ck_assert_int_eq(strncmp(k, "bg:r#", 5), 0);
        ck_assert(is_hex64(k + 5));
        ck_assert(bg_key_bytes_ok(k, strlen(k)));
    }
    /* different names, different keys; same name, same key */
    {
        char k2[BG_KEY_MAX];
        bg_key_build(k, sizeof k, "bg:", BG_KIND_RCPT, names[0]);
        bg_key_build(k2, sizeof k2, "bg:", BG_KIND_RCPT, names[1]);
        ck_assert_str_ne(k, k2);
        bg_key_build(k2, sizeof k2, "bg:", BG_KIND_RCPT, names[0]);
        ck_assert_str_eq(k, k2);
    }
}
END_TEST

START_TEST(test_long)
{
    char name[640], k[BG_KEY_MAX];
    int n;

    /* longest plain key: prefix 3 + "r:" 2 + 245 = 250 */
    memset(name, 'a', 245);
    name[245] = '\0';
    n = bg_key_build(k, sizeof k, "bg:", BG_KIND_RCPT, name);
    ck_assert_int_eq(n, 250);
    ck_assert_int_eq(k[4], ':');
    ck_assert_uint_eq(strlen(k), 250);
    /* one more byte: hashed */
    memset(name, 'a', 246);
    name[246] = '\0';
    n = bg_key_build(k, sizeof k, "bg:", BG_KIND_RCPT, name);
    ck_assert_int_eq(n, 69);
    ck_assert_int_eq(k[4], '#');
    /* very long address */
    memset(name, 'b', 590);
    memcpy(name + 590, "@x.example", 11);
    n = bg_key_build(k, sizeof k, "bg:", BG_KIND_RCPT, name);
    ck_assert_int_eq(n, 69);
    ck_assert(is_hex64(k + 5));
    /* longest prefix with a long name still fits in BG_KEY_MAX */
    {
        char pfx[BG_PREFIX_MAX + 1];
        memset(pfx, 'p', BG_PREFIX_MAX);
        pfx[BG_PREFIX_MAX] = '\0';
        n = bg_key_build(k, sizeof k, pfx, BG_KIND_RCPT, name);
        ck_assert_int_eq(n, BG_PREFIX_MAX + 2 + 64);
        ck_assert_int_lt(n, BG_KEY_MAX);
    }
}
END_TEST

START_TEST(test_bad_prefix)
{
    char k[BG_KEY_MAX], pfx[BG_PREFIX_MAX + 2];

    ck_assert_int_eq(bg_key_build(k, sizeof k, "", BG_KIND_RCPT, "a@b"), -1);
    ck_assert_int_eq(bg_key_build(k, sizeof k, NULL, BG_KIND_RCPT, "a@b"), -1);
    ck_assert_int_eq(bg_key_build(k, sizeof k, "b g:", BG_KIND_RCPT, "a@b"), -1);
    ck_assert_int_eq(bg_key_build(k, sizeof k, "bg\n", BG_KIND_RCPT, "a@b"), -1);
    ck_assert_int_eq(bg_key_build(k, sizeof k, "bg\x7f", BG_KIND_RCPT, "a@b"), -1);
    ck_assert_int_eq(bg_key_build(k, sizeof k, "b\xc3\xa9:", BG_KIND_RCPT, "a@b"), -1);
    memset(pfx, 'p', BG_PREFIX_MAX + 1);
    pfx[BG_PREFIX_MAX + 1] = '\0';
    ck_assert_int_eq(bg_key_build(k, sizeof k, pfx, BG_KIND_RCPT, "a@b"), -1);
    pfx[BG_PREFIX_MAX] = '\0';
    ck_assert_int_eq(bg_key_build(k, sizeof k, pfx, BG_KIND_RCPT, "a@b"), BG_PREFIX_MAX + 5);
    /* printable punctuation is fine */
    ck_assert_int_eq(bg_key_build(k, sizeof k, "~!{bg}#", BG_KIND_RCPT, "a@b"), 12);
    ck_assert_str_eq(k, "~!{bg}#r:a@b");
}
END_TEST

START_TEST(test_bad_args)
{
    char k[BG_KEY_MAX];

    ck_assert_int_eq(bg_key_build(k, sizeof k, "bg:", (enum bg_kind)'x', "a@b"), -1);
    ck_assert_int_eq(bg_key_build(k, sizeof k, "bg:", BG_KIND_RCPT, NULL), -1);
    ck_assert_int_eq(bg_key_build(NULL, 0, "bg:", BG_KIND_RCPT, "a@b"), -1);
    /* out too small: refused, output left empty */
    ck_assert_int_eq(bg_key_build(k, 9, "bg:", BG_KIND_RCPT, "a@b"), 8);
    ck_assert_int_eq(bg_key_build(k, 9, "bg:", BG_KIND_RCPT, "ab@b"), -1);
    ck_assert_str_eq(k, "");
    ck_assert_int_eq(bg_key_build(k, 20, "bg:", BG_KIND_RCPT, "a b"), -1);
}
END_TEST

START_TEST(test_bytes_ok)
{
    char big[300];

    ck_assert(bg_key_bytes_ok("bg:r:bob@example.com", 20));
    ck_assert(bg_key_bytes_ok("", 0));
    ck_assert(!bg_key_bytes_ok("a b", 3));
    ck_assert(!bg_key_bytes_ok("a\0b", 3));
    ck_assert(!bg_key_bytes_ok("a\x7f", 2));
    ck_assert(!bg_key_bytes_ok("\xc3\xa9", 2));
    ck_assert(!bg_key_bytes_ok("a\n", 2));
    ck_assert(bg_key_bytes_ok("a\n", 1)); /* only len bytes are looked at */
    ck_assert(!bg_key_bytes_ok(NULL, 1));
    memset(big, 'a', sizeof big);
    ck_assert(bg_key_bytes_ok(big, 250));
    ck_assert(!bg_key_bytes_ok(big, 251));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("key");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_plain);
    tcase_add_test(tc, test_sha256_kat);
    tcase_add_test(tc, test_hashed_bytes);
    tcase_add_test(tc, test_long);
    tcase_add_test(tc, test_bad_prefix);
    tcase_add_test(tc, test_bad_args);
    tcase_add_test(tc, test_bytes_ok);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
