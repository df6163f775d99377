/* test_mbox.c - the mbox reader: postmarks, prologue, empty and cut
 * messages, quoted lines, postmarks split between reads (every case is
 * read with read(2) chunks of 1, 2, 3, 5, 7 bytes and the default). */
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mbox.h"

/* Read all of `in` through a temporary file; each message handed out
 * becomes "INDEX:BYTES|" in out. Returns bg_mbox_next's last result. */
static int read_all(const char *in, size_t inlen, size_t max_msg, size_t chunk,
                    char *out, size_t outsz)
{
    char path[] = "/tmp/bg-mbox-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq((int)write(fd, in, inlen), (int)inlen);
    ck_assert_int_eq((int)lseek(fd, 0, SEEK_SET), 0);
    struct bg_mbox m;
    ck_assert_int_eq(bg_mbox_open(&m, fd, max_msg, chunk), 0);
    size_t o = 0;
    out[0] = '\0';
    const char *msg;
    size_t len;
    int rc;
    while ((rc = bg_mbox_next(&m, &msg, &len)) == 1) {
        ck_assert_uint_gt(len, 0);
        ck_assert_uint_le(len, max_msg);
        int w = snprintf(out + o, outsz - o, "%zu:%.*s|", m.index, (int)len, msg);
        ck_assert(w > 0 && (size_t)w < outsz - o);
        o += (size_t)w;
    }
    bg_mbox_close(&m);
    close(fd);
    return rc;
}

static const struct {
    const char *in;
    size_t max_msg;
    const char *want;
} cases[] = {
    { "From a@b Mon Nov 23 10:00:00 2026\nA\n\nFrom b\nB\n", 100, "1:A\n\n|2:B\n|" },
    { "Hello\nworld\n", 100, "1:Hello\nworld\n|" },
    { "X\nFrom a\nA\n", 100, "1:X\n|2:A\n|" },
    { "From a\nFrom b\nB\n", 100, "2:B\n|" },                   /* empty first */
    { "From a\nA\n>From x\nB\n", 100, "1:A\n>From x\nB\n|" },   /* quoted */
    { "From a\nsay From here\nFrom the start\n", 100, "1:say From here\n|" },
    { "From a\n0123456789\nFrom b\nB\n", 4, "1:0123|2:B\n|" },   /* cut */
    { "From a\n0123456789012345678901234567890123456789\nFrom b\nB\n", 4,
      "1:0123|2:B\n|" },
    { "", 100, "" },
    { "From xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nA\n", 4, "1:A\n|" },
    { "From a\nA\nFrom z", 100, "1:A\n|" },                     /* no newline */
    { "From a\r\nA\r\n\r\nFrom b\r\nB\r\n", 100, "1:A\r\n\r\n|2:B\r\n|" },
    { "From a\nA", 100, "1:A|" },
    { "From a\n\nFrom b\n\n", 100, "1:\n|2:\n|" },
    { "From a\nFrom", 100, "1:From|" },
    { "From a\nxFrom b\nFrom c\nC", 2, "1:xF|2:C|" },
};

START_TEST(table)
{
    static const size_t chunks[] = { 1, 2, 3, 5, 7, 0 };
    char out[4096];
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        int rc = read_all(cases[_i].in, strlen(cases[_i].in), cases[_i].max_msg,
                          chunks[c], out, sizeof out);
        ck_assert_int_eq(rc, 0);
        ck_assert_msg(strcmp(out, cases[_i].want) == 0,
                      "case %d chunk %zu: got \"%s\", want \"%s\"", _i, chunks[c], out,
                      cases[_i].want);
    }
}
END_TEST

/* A mailbox much larger than the buffer: 2,000 messages of varied sizes,
 * some cut, every one found, in order, memory bounded by max_msg. */
START_TEST(many)
{
    static char in[600000], out[300000], want[300000];
    size_t o = 0, w = 0;
    for (int i = 1; i <= 2000; i++) {
        int size = (i * 37) % 250;
        o += (size_t)snprintf(in + o, sizeof in - o, "From sender%d Mon Nov 23\n", i);
        char body[300];
        int bl = 0;
        for (int k = 0; k < size; k++)
            body[bl++] = (char)('a' + (i + k) % 26);
        body[bl++] = '\n';
        memcpy(in + o, body, (size_t)bl);
        o += (size_t)bl;
        int keep = bl < 200 ? bl : 200;
        w += (size_t)snprintf(want + w, sizeof want - w, "%d:%.*s|", i, keep, body);
    }
    in[o] = '\0';
    for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
        ck_assert_int_eq(read_all(in, o, 200, chunk, out, sizeof out), 0);
        size_t d = 0;
        while (out[d] && out[d] == want[d])
            d++;
        ck_assert_msg(out[d] == want[d], "chunk %zu: differs at %zu: got \"%.40s\" want \"%.40s\"", chunk, d, out + d, want + d);
    }
}
END_TEST

START_TEST(bad_fd)
{
    struct bg_mbox m;
    const char *msg;
    size_t len;
    ck_assert_int_eq(bg_mbox_open(&m, -1, 100, 0), 0);
    ck_assert_int_eq(bg_mbox_next(&m, &msg, &len), -1);
    bg_mbox_close(&m);
    ck_assert_int_eq(bg_mbox_open(&m, 0, 0, 0), -1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("mbox");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, table, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, many);
    tcase_add_test(tc, bad_fd);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
