/* test_sign.c - recipient tags: made for one recipient of one message,
 * valid only for it, only with the key, only while fresh; version 1 tags
 * refused; key files with unsafe modes refused. */
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

#define AGE (30 * 86400)

START_TEST(roundtrip)
{
    struct bg_signer s = key_a();
    char v[BG_SIGN_VALUE_MAX], h[2048], q[BG_SIGN_QID_MAX];
    int n = bg_sign_value(&s, 1763900000, "4F2A1C3B7D", "bob@example.com", v, sizeof v);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq((int)strlen(v), n);
    ck_assert_ptr_nonnull(strstr(v, "v=2; t=1763900000; q=4F2A1C3B7D; r="));
    ck_assert_int_eq((int)strlen(strstr(v, "r=") + 2), 16);   /* 96 bits */
    ck_assert_ptr_null(strstr(v, "bob"));   /* no address in the clear */
    headers_with(v, h, sizeof h);
    const char *why = NULL;
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "bob@example.com", 1763900100, AGE,
                                    q, &why), 1);
    ck_assert_str_eq(q, "4F2A1C3B7D");     /* the original message */
    /* any other recipient: the tag proves nothing about it */
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "eve@example.com", 1763900100, AGE,
                                    q, &why), 0);
    ck_assert_str_eq(why, "no tag for recipient");
    /* too old, and from the future */
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "bob@example.com",
                                    1763900000 + 31 * 86400, AGE, q, &why), 0);
    ck_assert_str_eq(why, "too old");
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "bob@example.com", 1763900000 - 7200,
                                    AGE, q, &why), 0);
    /* no age limit at all is not a thing: max_age 0 accepts nothing */
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "bob@example.com", 1763900100, 0, q,
                                    &why), 0);
    /* another key */
    struct bg_signer other = key_a();
    other.key[0] = 'X';
    ck_assert_int_eq(bg_sign_verify(&other, h, strlen(h), "bob@example.com", 1763900100,
                                    AGE, q, &why), 0);
}
END_TEST

/* The tag binds the message: the same recipient's tag moved to another
 * queue id or time does not verify. */
START_TEST(bound_to_message)
{
    struct bg_signer s = key_a();
    char v[BG_SIGN_VALUE_MAX], h[2048], q[BG_SIGN_QID_MAX], moved[BG_SIGN_VALUE_MAX];
    const char *why;
    bg_sign_value(&s, 1763900000, "AAA111", "bob@example.com", v, sizeof v);
    const char *r = strstr(v, "r=");
    snprintf(moved, sizeof moved, "v=2; t=1763900000; q=BBB222; %s", r);
    headers_with(moved, h, sizeof h);
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "bob@example.com", 1763900100, AGE,
                                    q, &why), 0);
    ck_assert_str_eq(why, "no tag for recipient");
    snprintf(moved, sizeof moved, "v=2; t=1763900001; q=AAA111; %s", r);
    headers_with(moved, h, sizeof h);
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "bob@example.com", 1763900100, AGE,
                                    q, &why), 0);
    /* fields in another order, the value folded, the name in lower case */
    snprintf(h, sizeof h, "x-bouncegate-tag: %s;\r\n\tq=AAA111; t=1763900000\nSubject: s\n",
             r);
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "bob@example.com", 1763900100, AGE,
                                    q, &why), 0);   /* v= must come first */
    snprintf(h, sizeof h, "x-bouncegate-tag: v=2; %s;\r\n\tq=AAA111; t=1763900000\nSubject: s\n",
             r);
    ck_assert_int_eq(bg_sign_verify(&s, h, strlen(h), "bob@example.com", 1763900100, AGE,
                                    q, &why), 1);
    ck_assert_str_eq(q, "AAA111");
}
END_TEST

START_TEST(no_header_and_garbage)
{
    struct bg_signer s = key_a();
    const char *why;
    char q[BG_SIGN_QID_MAX];
    const char *h1 = "Subject: x\r\nFrom: y\r\n";
    ck_assert_int_eq(bg_sign_verify(&s, h1, strlen(h1), "bob@example.com", 1, AGE, q, &why), 0);
    ck_assert_str_eq(why, "no tag header");
    const char *h2 = "X-Bouncegate-Tag: v=2; t=abc; q=A; r=\r\n";
    ck_assert_int_eq(bg_sign_verify(&s, h2, strlen(h2), "bob@example.com", 1, AGE, q, &why), 0);
    ck_assert_str_eq(why, "bad header");
    const char *h3 = "X-Bouncegate-Tag:";
    ck_assert_int_eq(bg_sign_verify(&s, h3, strlen(h3), "bob@example.com", 1, AGE, q, &why), 0);
    /* a version 1 header (every recipient's tag in one header) is refused */
    const char *h5 = "X-Bouncegate-Tag: v=1; t=1763900000; r=Ab3dEf9hIjKl\r\n";
    ck_assert_int_eq(bg_sign_verify(&s, h5, strlen(h5), "bob@example.com", 1763900001, AGE,
                                    q, &why), 0);
    ck_assert_str_eq(why, "version 1 tag refused");
    /* a queue id with other characters */
    const char *h6 = "X-Bouncegate-Tag: v=2; t=1763900000; q=A|B; r=AAAAAAAAAAAAAAAA\r\n";
    ck_assert_int_eq(bg_sign_verify(&s, h6, strlen(h6), "bob@example.com", 1763900001, AGE,
                                    q, &why), 0);
    ck_assert_str_eq(why, "bad header");
    /* not NUL-terminated: only len bytes are read */
    char h4[40];
    memset(h4, 'X', sizeof h4);
    ck_assert_int_eq(bg_sign_verify(&s, h4, sizeof h4, "bob@example.com", 1, AGE, q, &why), 0);
}
END_TEST

START_TEST(limits)
{
    struct bg_signer s = key_a();
    char v[BG_SIGN_VALUE_MAX];
    /* no usable queue id: no header */
    ck_assert_int_eq(bg_sign_value(&s, 1, "", "a@example.com", v, sizeof v), 0);
    ck_assert_int_eq(bg_sign_value(&s, 1, NULL, "a@example.com", v, sizeof v), 0);
    ck_assert_int_eq(bg_sign_value(&s, 1, "AB CD", "a@example.com", v, sizeof v), 0);
    ck_assert_int_eq(bg_sign_value(&s, 1, "0123456789012345678901234567890123",
                                   "a@example.com", v, sizeof v), 0);
    /* the longest queue id and time fit */
    ck_assert_int_gt(bg_sign_value(&s, 999999999999999999LL, "0123456789012345678901234567890",
                                   "a@example.com", v, sizeof v), 0);
    char tiny[10];
    ck_assert_int_eq(bg_sign_value(&s, 1, "AB", "a@example.com", tiny, sizeof tiny), -1);
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
    tcase_add_test(tc, bound_to_message);
    tcase_add_test(tc, no_header_and_garbage);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, key_file);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
