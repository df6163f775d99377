/* fuzz_dsn.c - libFuzzer target for bg_dsn_parse. The input is copied to
 * an exact-size heap buffer so ASan catches any read past len. */
#include "dsn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bg_dsn out; /* fuzzer is single-threaded */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    if (bg_dsn_parse(buf, size, NULL, &out) == 0) {
        /* touch every string: they must be NUL-terminated in bounds */
        volatile size_t n = strlen(out.format) + strlen(out.feedback_type) +
                            strlen(out.reporting_mta) + strlen(out.queue_id) +
                            strlen(out.orig_message_id) + strlen(out.orig_from);
        if (out.nrcpt > BG_DSN_MAX_RCPT)
            abort();
        for (size_t i = 0; i < out.nrcpt; i++)
            n += strlen(out.r[i].rcpt) + strlen(out.r[i].diag) +
                 strlen(out.r[i].status) + strlen(out.r[i].reply_code) +
                 strlen(out.r[i].command) + strlen(out.r[i].remote_mta) +
                 strlen(out.r[i].orig_rcpt) + strlen(out.r[i].diag_type);
        if (out.orig_headers &&
            (out.orig_headers < buf || out.orig_headers + out.orig_headers_len > buf + size))
            abort();
        (void)n;
    }
    free(buf);
    return 0;
}
