/* fuzz_maillog.c - libFuzzer target for bg_maillog_parse. The input is
 * copied to an exact-size heap buffer (no NUL after it) so ASan catches any
 * read past len; every output string must be terminated within its field
 * and the counts within their bounds. */
#include "maillog.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bg_logline out; /* fuzzer is single-threaded */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    int r = bg_maillog_parse(buf, size, &out);
    if (r != 0 && r != 1)
        abort();
    if (out.nrcpt > BG_LOG_RCPT_MAX || out.nrcpt > out.rcpt_seen)
        abort();
    check_str(out.program, sizeof out.program);
    check_str(out.queue_id, sizeof out.queue_id);
    check_str(out.orig_to, sizeof out.orig_to);
    check_str(out.dsn, sizeof out.dsn);
    check_str(out.relay, sizeof out.relay);
    check_str(out.reply_code, sizeof out.reply_code);
    check_str(out.command, sizeof out.command);
    check_str(out.diag, sizeof out.diag);
    for (unsigned i = 0; i < out.nrcpt; i++) {
        check_str(out.rcpt[i], sizeof out.rcpt[i]);
        if (out.rcpt[i][0] == '\0')
            abort();
        for (const char *p = out.rcpt[i]; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                abort();
    }
    for (const char *p = out.diag; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            abort();
    if (r == 0 && (out.mta != BG_LOG_MTA_NONE || out.queue_id[0] || out.nrcpt))
        abort();
    if (r == 1 && (out.mta == BG_LOG_MTA_NONE || out.status == BG_LOG_STATUS_NONE ||
                   !out.queue_id[0]))
        abort();
    free(buf);
    return 0;
}
