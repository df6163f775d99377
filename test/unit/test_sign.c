/* test_sign.c - recipient tags: made for one recipient, valid only for it,
 * only with the key, only while fresh; key files with unsafe modes refused. */
#include "sign.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct bg_signer key_a(void)
{
    struct bg_signer s;
    memset(&s, 0, sizeof s);
    memcpy(s.key, "0123456789abcdef-site-a", 23);
    s.keylen = 23;
    return s;
}

static int headers_with(const char *value, char *buf, size_t bufsz)
{
    return snprintf(buf, bufsz,
                    "Received: from x\r\n\tby y\r\n"
                    "Subject: hello\r\n"
                    "X-Bouncegate-Tag: %s\r\n"
                    "Message-ID: <1@x>\r\n",
                    value);
}

START_TEST(roundtrip)
{
    struct bg_signer s = key_a();
    const char *rcpts[] = { "bob@example.com", "carol@example.org" };
    char v[BG_SIGN_VALUE_MAX], h[2048];
    int n = bg_sign_value(&s, 1763900000, rcpts, 2, v, sizeof v);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq((int)strlen(v), n);
    ck_assert_ptr_nonnull(strstr(v, "v=1; t=1763900000; r="));
    ck_assert_ptr_null(strstr(v, "bob"));   /* no address in the clear */
    headers_with(v, h, sizeof h);
    const char *why = NULL;
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "bob@example.com", 1763900100,
                                    30 * 86400, &why), 1);
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "carol@example.org", 1763900100,
                                    30 * 86400, &why), 1);
    /* another recipient */
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "eve@example.com", 1763900100,
                                    30 * 86400, &why), 0);
    ck_assert_str_eq(why, "no tag for recipient");
    /* too old */
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "bob@example.com",
                                    1763900000 + 31 * 86400, 30 * 86400, &why), 0);
    ck_assert_str_eq(why, "too old");
    /* another key */
    struct bg_signer other = key_a();
    other.key[0] = 'X';
    ck_assert_int_eq(bg_sign_verify(&other, h, strlen(h), "bob@example.com", 1763900100,
                                    30 * 86400, &why), 0);
}
END_TEST

START_TEST(folded_and_case)
{
    struct bg_signer s = key_a();
    const char *rcpts[] = { "a@x.example", "b@x.example", "c@x.example" };
    char v[BG_SIGN_VALUE_MAX], h[2048];
    bg_sign_value(&s, 1763900000, rcpts, 3, v, sizeof v);
    /* fold after the second tag, as a relay may do, and lower-case the name */
    char *comma = strchr(strchr(v, ',') + 1, ',');
    char folded[BG_SIGN_VALUE_MAX + 8];
    snprintf(folded, sizeof folded, "%.*s,\r\n\t%s", (int)(comma - v), v, comma + 1);
    snprintf(h, sizeof h, "x-bouncegate-tag: %s\nSubject: s\n", folded);
    const char *why;
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "c@x.example", 1763900001, 0, &why), 1);
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "a@x.example", 1763900001, 0, &why), 1);
}
END_TEST

START_TEST(no_header_and_garbage)
{
    struct bg_signer s = key_a();
    const char *why;
    const char *h1 = "Subject: x\r\nFrom: y\r\n";
    ck_assert_int_eq(bg_sign_verify(&s, h1, strlen(h1), "bob@example.com", 1, 0, &why), 0);
    ck_assert_str_eq(why, "no tag header");
    const char *h2 = "X-Bouncegate-Tag: v=1; t=abc; r=\r\n";
    ck_assert_int_eq(bg_sign_verify(&s, h2, strlen(h2), "bob@example.com", 1, 0, &why), 0);
    ck_assert_str_eq(why, "bad header");
    const char *h3 = "X-Bouncegate-Tag:";
    ck_assert_int_eq(bg_sign_verify(&s, h3, strlen(h3), "bob@example.com", 1, 0, &why), 0);
    /* not NUL-terminated: only len bytes are read */
    char h4[40];
    memset(h4, 'X', sizeof h4);
    ck_assert_int_eq(bg_sign_verify(&s, h4, sizeof h4, "bob@example.com", 1, 0, &why), 0);
}
END_TEST

START_TEST(limits)
{
    struct bg_signer s = key_a();
    const char *many[BG_SIGN_MAX_RCPT + 1];
    for (size_t i = 0; i <= BG_SIGN_MAX_RCPT; i++)
        many[i] = "someone@example.com";
    char v[BG_SIGN_VALUE_MAX];
    ck_assert_int_eq(bg_sign_value(&s, 1, many, 0, v, sizeof v), 0);
    ck_assert_int_eq(bg_sign_value(&s, 1, many, BG_SIGN_MAX_RCPT + 1, v, sizeof v), 0);
    ck_assert_int_gt(bg_sign_value(&s, 1763900000, many, BG_SIGN_MAX_RCPT, v, sizeof v), 0);
    ck_assert_int_lt((int)strlen(v), 998 - (int)sizeof BG_SIGN_HEADER - 2);
    char tiny[10];
    ck_assert_int_eq(bg_sign_value(&s, 1, many, 1, tiny, sizeof tiny), -1);
}
END_TEST

START_TEST(key_file)
{
    char path[64], err[256];
    struct bg_signer s;
    snprintf(path, sizeof path, "/tmp/bg-test-key-%ld", (long)getpid());
    FILE *fp = fopen(path, "w");
    fputs("  a-secret-of-enough-length  \nsecond line ignored\n", fp);
    fclose(fp);
    chmod(path, 0644);
    ck_assert_int_eq(bg_sign_load_key(path, &s, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "unsafe permissions"));
    chmod(path, 0640);
    ck_assert_int_eq(bg_sign_load_key(path, &s, err, sizeof err), 0);
    ck_assert_uint_eq(s.keylen, strlen("a-secret-of-enough-length"));
    fp = fopen(path, "w");
    fputs("short\n", fp);
    fclose(fp);
    ck_assert_int_eq(bg_sign_load_key(path, &s, err, sizeof err), -1);
    unlink(path);
    ck_assert_int_eq(bg_sign_load_key(path, &s, err, sizeof err), -1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("sign");
    TCase *tc = tcase_create("sign");
    tcase_add_test(tc, roundtrip);
    tcase_add_test(tc, folded_and_case);
    tcase_add_test(tc, no_header_and_garbage);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, key_file);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
