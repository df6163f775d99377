/* fuzz_mbox.c - libFuzzer target for the mbox reader (lib/mbox.c). The
 * first two bytes choose max_msg (1..256) and the read(2) chunk (1..256);
 * the rest is the mailbox, served from a memfd. Every message handed out
 * must equal what a plain in-memory splitter with the rules of mbox.h
 * finds (same count, index and bytes), so the fuzzer checks the
 * streaming (postmarks split between reads, cut messages, skipped rests)
 * as well as memory safety. */
#define _GNU_SOURCE /* memfd_create, memmem */
#include "mbox.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference: the next message of in[0, n) from *pos, as mbox.h says. */
static int ref_next(const char *in, size_t n, size_t *pos, int *first, size_t max_msg,
                    size_t *index, size_t *ms, size_t *len)
{
    for (;;) {
        size_t p = *pos;
        if (*first) {
            *first = 0;
            if (n < 5 || memcmp(in, "From ", 5) != 0)
                goto body;
        }
        if (p >= n)
            return 0;
        /* p starts a postmark line: skip it */
        const char *nl = memchr(in + p, '\n', n - p);
        if (!nl)
            return 0;
        p = (size_t)(nl - in) + 1;
    body:;
        size_t from = p > 0 ? p - 1 : 0;
        const char *q = from < n ? memmem(in + from, n - from, "\nFrom ", 6) : NULL;
        size_t end = q ? (size_t)(q - in) + 1 : n;
        (*index)++;
        *pos = end;
        size_t l = end - p;
        if (l == 0) {
            if (end >= n)
                return 0;
            continue;
        }
        *ms = p;
        *len = l > max_msg ? max_msg : l;
        return 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max_msg = (size_t)data[0] + 1, chunk = (size_t)data[1] + 1;
    const char *in = (const char *)data + 2;
    size_t n = size - 2;
    int fd = memfd_create("fuzz_mbox", 0);
    if (fd < 0)
        return 0;
    if (n && write(fd, in, n) != (ssize_t)n) {
        close(fd);
        return 0;
    }
    lseek(fd, 0, SEEK_SET);
    struct bg_mbox m;
    if (bg_mbox_open(&m, fd, max_msg, chunk) != 0) {
        close(fd);
        return 0;
    }
    size_t pos = 0, rindex = 0, rms = 0, rlen = 0;
    int first = 1;
    const char *msg;
    size_t len;
    int rc;
    while ((rc = bg_mbox_next(&m, &msg, &len)) == 1) {
        if (len == 0 || len > max_msg)
            abort();
        if (ref_next(in, n, &pos, &first, max_msg, &rindex, &rms, &rlen) != 1)
            abort();                 /* the reader found one more */
        if (m.index != rindex || len != rlen || memcmp(msg, in + rms, len) != 0)
            abort();
    }
    if (rc != 0)
        abort();                     /* a memfd does not fail to read */
    if (ref_next(in, n, &pos, &first, max_msg, &rindex, &rms, &rlen) != 0)
        abort();                     /* the reader missed one */
    bg_mbox_close(&m);
    close(fd);
    return 0;
}
