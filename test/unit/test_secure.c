/* test_secure.c - permission checks and the secret file reader. */
#include "unit.h"
#include "secure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[64];

static void mkfile(const char *text, mode_t mode)
{
    snprintf(path, sizeof path, "/tmp/test_secure.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(modes)
{
    static const struct { mode_t mode; int secret, want; const char *says; } t[] = {
        { 0600, 1, 0, NULL }, { 0640, 1, 0, NULL }, { 0440, 1, 0, NULL },
        { 0644, 1, -1, "unsafe permissions 0644" }, { 0660, 1, -1, "0660" },
        { 0602, 1, -1, "0602" },
        { 0644, 0, 0, NULL }, { 0640, 0, 0, NULL },
        { 0664, 0, 1, "writable by the group" }, { 0646, 0, 1, "writable by others" },
        { 0666, 0, 1, "writable by others" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char msg[400] = "";
        mkfile("x\n", t[i].mode);
        ck_assert_int_eq(bg_file_check(path, t[i].secret, msg, sizeof msg), t[i].want);
        if (t[i].says != NULL) {
            ck_assert_ptr_nonnull(strstr(msg, t[i].says));
            ck_assert_ptr_nonnull(strstr(msg, path));    /* names the file */
        }
        unlink(path);
    }
    char msg[400];
    ck_assert_int_eq(bg_file_check("/nonexistent/x", 0, msg, sizeof msg), -1);
    ck_assert_int_eq(bg_file_check("/tmp", 0, msg, sizeof msg), -1);
}
END_TEST

START_TEST(secret_read)
{
    char out[64], err[400];
    mkfile("  pass word \t\r\nsecond line\n", 0640);
    ck_assert_int_eq(bg_secret_read(path, out, sizeof out, err, sizeof err), 0);
    ck_assert_str_eq(out, "  pass word");
    chmod(path, 0644);
    ck_assert_int_eq(bg_secret_read(path, out, sizeof out, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "unsafe permissions 0644"));
    unlink(path);
    mkfile("\nx\n", 0600);
    ck_assert_int_eq(bg_secret_read(path, out, sizeof out, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "empty first line"));
    unlink(path);
    mkfile("0123456789012345678901234567890123456789\n", 0600);
    ck_assert_int_eq(bg_secret_read(path, out, 16, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "too long"));
    unlink(path);
}
END_TEST

START_TEST(store_opts)
{
    struct bg_config c;
    struct bg_store_opts so;
    char pw[64], err[400];
    bg_config_defaults(&c);
    ck_assert_int_eq(bg_store_opts_from_config(&c, &so, pw, sizeof pw, err, sizeof err), 0);
    ck_assert_ptr_null(so.sasl_user);
    ck_assert_uint_eq(so.retry_timeout_s, 1);
    snprintf(c.mc_user, sizeof c.mc_user, "bg");
    ck_assert_int_eq(bg_store_opts_from_config(&c, &so, pw, sizeof pw, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "MemcachedPasswordFile is not"));
    mkfile("s3cret\n", 0640);
    snprintf(c.mc_password_file, sizeof c.mc_password_file, "%s", path);
    ck_assert_int_eq(bg_store_opts_from_config(&c, &so, pw, sizeof pw, err, sizeof err), 0);
    ck_assert_str_eq(so.sasl_user, "bg");
    ck_assert_str_eq(so.sasl_password, "s3cret");
    chmod(path, 0604);
    ck_assert_int_eq(bg_store_opts_from_config(&c, &so, pw, sizeof pw, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "MemcachedPasswordFile: "));
    unlink(path);
    c.mc_user[0] = '\0';
    ck_assert_int_eq(bg_store_opts_from_config(&c, &so, pw, sizeof pw, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "MemcachedUser is not"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("secure");
    TCase *tc = tcase_create("secure");
    tcase_add_test(tc, modes);
    tcase_add_test(tc, secret_read);
    tcase_add_test(tc, store_opts);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(suite)
