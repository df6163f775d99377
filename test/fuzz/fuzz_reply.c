/* fuzz_reply.c - libFuzzer target for bg_reply_build: a fuzzed RejectText
 * template, fuzzed record fields (which come from memcached) and a fuzzed
 * recipient.
 *
 * Input layout:
 *   byte 0      flags: bit 0 domain scope, bit 1 template NULL (default),
 *               bit 2 record NULL, bit 3 recipient NULL
 *   byte 1      class (any value, including invalid ones)
 *   bytes 2-3   output size, 0..1024 (little endian, modulo 1025)
 *   bytes 4-11  first_seen (int64, little endian)
 *   rest        NUL-separated: template, recipient, reason, status. The
 *               reason and status arrays are filled with up to their full
 *               size, so they may be unterminated.
 * Strings are exact-size heap copies; the output buffer is exactly outsz
 * bytes.
 *
 * Invariants: -1 exactly when outsz is 0; otherwise the result is
 * NUL-terminated, its length is the return value and below outsz, it
 * holds only printable ASCII (no CR, LF, control or 8-bit byte), every
 * '%' is doubled, and it is a prefix of the same reply built into a large
 * buffer (truncation never rewrites what came before). */
#include "reply.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dup_n(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void check_text(const char *s, int n, size_t outsz)
{
    if (n < 0 || (size_t)n >= outsz || strlen(s) != (size_t)n)
        abort();
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f)
            abort();
        if (c == '%') {
            if (s[i + 1] != '%')
                abort();   /* a lone '%' would be a format directive */
            i++;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { HDR = 12, BIG = 8192 };
    if (size < HDR)
        return 0;
    uint8_t flags = data[0];
    struct bg_record rec;
    memset(&rec, 0, sizeof rec);
    rec.cls = (enum bg_class)data[1];
    size_t outsz = (size_t)(le(data + 2, 2) % 1025);
    rec.first_seen = (int64_t)le(data + 4, 8);
    data += HDR;
    size -= HDR;

    /* split the rest at NUL bytes into up to four pieces */
    const uint8_t *piece[4] = {data, data + size, data + size, data + size};
    size_t plen[4] = {size, 0, 0, 0};
    size_t k = 0;
    for (size_t i = 0; i < size && k < 3; i++)
        if (data[i] == 0) {
            plen[k] = (size_t)(data + i - piece[k]);
            piece[++k] = data + i + 1;
            plen[k] = (size_t)(data + size - piece[k]);
        }
    char *tmpl = dup_n(piece[0], plen[0]);
    char *rcpt = dup_n(piece[1], plen[1]);
    memcpy(rec.reason, piece[2], plen[2] < sizeof rec.reason ? plen[2] : sizeof rec.reason);
    memcpy(rec.status, piece[3], plen[3] < sizeof rec.status ? plen[3] : sizeof rec.status);
    rec.count = 1;

    const char *t = (flags & 2) ? NULL : tmpl;
    const char *rc_ = (flags & 8) ? NULL : rcpt;
    const struct bg_record *r = (flags & 4) ? NULL : &rec;
    int dom = flags & 1;

    char *out = malloc(outsz ? outsz : 1);
    static char big[BIG];
    if (!out)
        abort();
    memset(out, 'X', outsz ? outsz : 1);
    int n = bg_reply_build(t, rc_, dom, r, out, outsz);
    if (outsz == 0) {
        if (n != -1 || out[0] != 'X')
            abort();
    } else {
        check_text(out, n, outsz);
        int nb = bg_reply_build(t, rc_, dom, r, big, sizeof big);
        check_text(big, nb, sizeof big);
        if (nb < n || memcmp(big, out, (size_t)n) != 0)
            abort();
        if (outsz > (size_t)nb && nb != n)
            abort();   /* it fitted, so it must not have been cut */
    }
    free(out);
    free(tmpl);
    free(rcpt);
    return 0;
}
