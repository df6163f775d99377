/* fuzz_delnote.c - libFuzzer target for bg_delnote_parse and
 * bg_delsync_seq_parse (delete notes and their counter as read back from
 * memcached, which anyone with access to the memcached can write).
 *
 * The input is copied to an exact-size heap buffer (no NUL after it) so
 * ASan catches any read past len. When a note parses:
 *   - its strings are NUL-terminated within their arrays, the kind is
 *     recipient or domain, the time positive;
 *   - it formats again (every parsable note fits BG_DELNOTE_MAX), and
 *     that text parses to an equal note;
 *   - formatting into a buffer one byte short fails cleanly (-1). */
#include "delsync.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELD_OK(n, f) (memchr((n)->f, '\0', sizeof (n)->f) != NULL)

static int same(const struct bg_delnote *a, const struct bg_delnote *b)
{
    return a->time == b->time && a->kind == b->kind && strcmp(a->name, b->name) == 0 &&
           strcmp(a->host, b->host) == 0 && strcmp(a->journal, b->journal) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[BG_DELNOTE_MAX + 1];
    struct bg_delnote n1, n2;
    const char *why = NULL;
    char *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);

    unsigned long long seq;
    if (bg_delsync_seq_parse(buf, size, &seq) == 0 && size == 0)
        abort();

    memset(&n1, 0xA5, sizeof n1);
    int rc = bg_delnote_parse(buf, size, &n1, &why);
    free(buf);
    if (rc != 0) {
        if (rc != -1 || why == NULL)
            abort();
        return 0;
    }
    if (!FIELD_OK(&n1, name) || !FIELD_OK(&n1, host) || !FIELD_OK(&n1, journal) ||
        (n1.kind != BG_KIND_RCPT && n1.kind != BG_KIND_DOMAIN) || n1.time <= 0 ||
        n1.name[0] == '\0')
        abort();

    int len = bg_delnote_format(out, sizeof out, &n1);
    if (len <= 0 || (size_t)len != strlen(out))
        abort();
    char *exact = malloc((size_t)len);
    if (!exact)
        abort();
    memcpy(exact, out, (size_t)len);
    memset(&n2, 0x5A, sizeof n2);
    rc = bg_delnote_parse(exact, (size_t)len, &n2, &why);
    free(exact);
    if (rc != 0 || !same(&n1, &n2))
        abort();

    char *shorter = malloc((size_t)len);
    if (!shorter)
        abort();
    if (bg_delnote_format(shorter, (size_t)len, &n1) != -1)
        abort();
    free(shorter);
    return 0;
}
