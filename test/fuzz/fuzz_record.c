/* fuzz_record.c - libFuzzer target for bg_record_decode (the suppression
 * record as read back from memcached, which anyone with access to the
 * memcached can write).
 *
 * The input is copied to an exact-size heap buffer (no NUL after it) so
 * ASan catches any read past len. When it decodes:
 *   - every string field is NUL-terminated within its array and the class
 *     is a valid one;
 *   - it encodes again (BG_RECORD_MAX bounds every decodable record), and
 *     that encoding decodes to an equal record;
 *   - encoding into an exact-size buffer gives the same text, and into a
 *     buffer one byte short fails cleanly (-1, no write past it). */
#include "record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELD_OK(r, f) (memchr((r)->f, '\0', sizeof (r)->f) != NULL)

static void check_fields(const struct bg_record *r)
{
    if (!FIELD_OK(r, reason) || !FIELD_OK(r, status) || !FIELD_OK(r, rule) ||
        !FIELD_OK(r, source) || !FIELD_OK(r, id) || !FIELD_OK(r, diag))
        abort();
    if (strcmp(bg_class_name(r->cls), "invalid") == 0)
        abort();
}

static int same(const struct bg_record *a, const struct bg_record *b)
{
    return a->cls == b->cls && strcmp(a->reason, b->reason) == 0 &&
           strcmp(a->status, b->status) == 0 && strcmp(a->rule, b->rule) == 0 &&
           strcmp(a->source, b->source) == 0 && strcmp(a->id, b->id) == 0 &&
           strcmp(a->diag, b->diag) == 0 && a->first_seen == b->first_seen &&
           a->last_seen == b->last_seen && a->expires == b->expires &&
           a->count == b->count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bg_record r1, r2;
    static char enc[BG_RECORD_MAX + 1];
    char *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    memset(&r1, 0xA5, sizeof r1);
    int rc = bg_record_decode(buf, size, &r1);
    free(buf);
    if (rc == -1)
        return 0;
    if (rc != 0)
        abort();
    check_fields(&r1);

    int n = bg_record_encode(&r1, enc, sizeof enc);
    if (n <= 0 || (size_t)n != strlen(enc) || n > BG_RECORD_MAX)
        abort();
    memset(&r2, 0x5A, sizeof r2);
    if (bg_record_decode(enc, (size_t)n, &r2) != 0)
        abort();
    check_fields(&r2);
    if (!same(&r1, &r2))
        abort();

    char *exact = malloc((size_t)n + 1);
    char *shy = malloc((size_t)n);
    if (!exact || !shy)
        abort();
    if (bg_record_encode(&r1, exact, (size_t)n + 1) != n || memcmp(exact, enc, (size_t)n + 1))
        abort();
    if (bg_record_encode(&r1, shy, (size_t)n) != -1 || shy[0] != '\0')
        abort();
    free(exact);
    free(shy);
    return 0;
}
