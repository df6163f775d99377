/* dsn_fixture.h - loading the parser's fixtures for test_dsn*.c: every
 * input is copied into an exact-size heap buffer (no NUL after it) so
 * valgrind and ASan catch any read past len. */
#ifndef BG_DSN_FIXTURE_H
#define BG_DSN_FIXTURE_H
#include "dsn.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

static inline char *load(const char *name, size_t *len)
{
    static const char *const dirs[] = { "test/fixtures/dsn/", "../fixtures/dsn/",
                                        "../../test/fixtures/dsn/", NULL };
    /* one directory per parser part (test/integration/26-parser-tables.sh) */
    static const char *const parts[] = { "report/", "vendor/", "text/", "autoreply/", NULL };
    char path[512];
    for (int i = 0; dirs[i]; i++)
        for (int j = 0; parts[j]; j++) {
            snprintf(path, sizeof path, "%s%s%s", dirs[i], parts[j], name);
            FILE *f = fopen(path, "rb");
            if (!f)
                continue;
            fseek(f, 0, SEEK_END);
            long n = ftell(f);
            fseek(f, 0, SEEK_SET);
            char *buf = malloc(n > 0 ? (size_t)n : 1);
            ck_assert_ptr_nonnull(buf);
            ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
            fclose(f);
            *len = (size_t)n;
            return buf;
        }
    ck_abort_msg("fixture %s not found (run from the repository root)", name);
    return NULL;
}

static inline struct bg_dsn *parse_file(const char *name, int want_rc)
{
    size_t n;
    char *m = load(name, &n);
    struct bg_dsn *d = malloc(sizeof *d);
    ck_assert_ptr_nonnull(d);
    int rc = bg_dsn_parse(m, n, NULL, d);
    ck_assert_int_eq(rc, want_rc);
    if (d->orig_headers) {
        ck_assert(d->orig_headers >= m && d->orig_headers + d->orig_headers_len <= m + n);
    }
    free(m);
    d->orig_headers = NULL; /* points into freed input now */
    return d;
}

static inline struct bg_dsn *parse_mem(const char *s, size_t n, int *rc)
{
    char *m = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(m);
    memcpy(m, s, n);
    struct bg_dsn *d = malloc(sizeof *d);
    ck_assert_ptr_nonnull(d);
    *rc = bg_dsn_parse(m, n, NULL, d);
    free(m);
    d->orig_headers = NULL;
    return d;
}

#endif
