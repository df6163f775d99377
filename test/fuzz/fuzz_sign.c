/* fuzz_sign.c - libFuzzer target for bg_sign_verify (the headers of a
 * returned message come from anyone on the Internet) and the
 * bg_sign_value / bg_sign_verify round trip, with a fixed key.
 *
 * Input layout:
 *   bytes 0-4   now - 1 (40 bits, little endian): a send time in 1..2^40
 *   bytes 5-8   max_age (32 bits; 0 = no limit)
 *   byte 9      bits 0-5: recipients to sign (0..63, above
 *               BG_SIGN_MAX_RCPT means "no header"); bit 6: fold the
 *               signed header over two lines
 *   rest        recipient, NUL, header block (exact-size heap copy, so
 *               ASan catches a read past len)
 *
 * Invariants:
 *   - verifying the fuzzed block returns 0 or 1 and always sets *why;
 *   - bg_sign_value returns 0 for 0 or too many recipients, else a value
 *     of at most BG_SIGN_VALUE_MAX bytes; placed after the fuzzed block
 *     as an X-Bouncegate-Tag header, it verifies for every signed
 *     recipient, not for one that was not signed, and not once it is
 *     older than max_age. */
#include "sign.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int verify(const struct bg_signer *s, const char *h, size_t len, const char *rcpt,
                  long long now, long long max_age)
{
    const char *why = NULL;
    char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, h, len);
    int rc = bg_sign_verify(s, copy, len, rcpt, now, max_age, &why);
    free(copy);
    if ((rc != 0 && rc != 1) || why == NULL)
        abort();
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { HDR = 10 };
    static struct bg_signer s;
    if (s.keylen == 0) {
        static const char key[] = "fuzz-signing-key-0123456789abcdef";
        memcpy(s.key, key, sizeof key - 1);
        s.keylen = sizeof key - 1;
    }
    if (size < HDR)
        return 0;
    long long now = (long long)le(data, 5) + 1;
    long long max_age = (long long)le(data + 5, 4);
    unsigned nsign = data[9] & 0x3f;
    int fold = (data[9] >> 6) & 1;
    data += HDR;
    size -= HDR;

    const uint8_t *nul = memchr(data, 0, size);
    size_t rlen = nul ? (size_t)(nul - data) : size;
    char *rcpt = malloc(rlen + 1);
    if (!rcpt)
        abort();
    memcpy(rcpt, data, rlen);
    rcpt[rlen] = '\0';
    const char *hdrs = nul ? (const char *)nul + 1 : "";
    size_t hlen = nul ? size - rlen - 1 : 0;

    /* 1. the fuzzed block on its own */
    verify(&s, hdrs, hlen, rcpt, now, max_age);

    /* 2. round trip */
    char *names[64];
    const char *cnames[64];
    for (unsigned i = 0; i < nsign; i++) {
        names[i] = malloc(rlen + 8);
        if (!names[i])
            abort();
        snprintf(names[i], rlen + 8, "%u.%s", i, rcpt);
        cnames[i] = names[i];
    }
    char value[BG_SIGN_VALUE_MAX + 1];
    int vn = bg_sign_value(&s, now, cnames, nsign, value, sizeof value);
    if (nsign == 0 || nsign > BG_SIGN_MAX_RCPT) {
        if (vn != 0)
            abort();
    } else {
        if (vn <= 0 || (size_t)vn != strlen(value) || vn > BG_SIGN_VALUE_MAX)
            abort();
        /* a buffer one byte short must be refused, not overrun */
        char *shy = malloc((size_t)vn);
        if (!shy || bg_sign_value(&s, now, cnames, nsign, shy, (size_t)vn) != -1)
            abort();
        free(shy);

        size_t cap = hlen + (size_t)vn + 64;
        char *block = malloc(cap);
        if (!block)
            abort();
        memcpy(block, hdrs, hlen);
        size_t o = hlen;
        const char *semi = fold ? strstr(value, "; r=") : NULL;
        o += (size_t)snprintf(block + o, cap - o, "\n%s: ", BG_SIGN_HEADER);
        if (semi) {
            size_t head = (size_t)(semi - value) + 1;
            memcpy(block + o, value, head);
            o += head;
            o += (size_t)snprintf(block + o, cap - o, "\r\n\t%s", semi + 2);
        } else {
            o += (size_t)snprintf(block + o, cap - o, "%s", value);
        }
        o += (size_t)snprintf(block + o, cap - o, "\r\nSubject: x\r\n");

        for (unsigned i = 0; i < nsign; i++)
            if (verify(&s, block, o, cnames[i], now, max_age) != 1)
                abort();
        char other[64];
        snprintf(other, sizeof other, "%u.not-signed@example.com", nsign);
        if (verify(&s, block, o, other, now, max_age) != 0)
            abort();
        if (max_age > 0 && verify(&s, block, o, cnames[0], now + max_age + 1, max_age) != 0)
            abort();
        free(block);
    }
    for (unsigned i = 0; i < nsign; i++)
        free(names[i]);
    free(rcpt);
    return 0;
}
