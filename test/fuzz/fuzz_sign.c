/* fuzz_sign.c - libFuzzer target for bg_sign_verify (the headers of a
 * returned message come from anyone on the Internet) and the
 * bg_sign_value / bg_sign_verify round trip, with a fixed key.
 *
 * Input layout:
 *   bytes 0-4   now - 1 (40 bits, little endian): a send time in 1..2^40
 *   bytes 5-8   max_age (32 bits)
 *   byte 9      bit 0: fold the signed header over two lines
 *   rest        queue id, NUL, recipient, NUL, header block (exact-size
 *               heap copy, so ASan catches a read past len)
 *
 * Invariants:
 *   - verifying the fuzzed block returns 0 or 1 and always sets *why; on 1
 *     the queue id it reports is a usable one (bg_sign_qid_ok);
 *   - bg_sign_value returns 0 exactly when the queue id is not usable,
 *     else a value of at most BG_SIGN_VALUE_MAX bytes, and -1 for a
 *     buffer one byte short; placed after the fuzzed block as an
 *     X-Bouncegate-Tag header, it verifies for its recipient (reporting
 *     its queue id), not for another recipient, not for another queue id,
 *     and not once it is older than max_age (nor ever with max_age 0). */
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
                  long long now, long long max_age, char *qid)
{
    const char *why = NULL;
    char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, h, len);
    char q[BG_SIGN_QID_MAX];
    int rc = bg_sign_verify(s, copy, len, rcpt, now, max_age, q, &why);
    free(copy);
    if ((rc != 0 && rc != 1) || why == NULL)
        abort();
    if (rc == 1 && !bg_sign_qid_ok(q))
        abort();
    if (rc == 1 && qid != NULL)
        memcpy(qid, q, strlen(q) + 1);
    return rc;
}

/* the next NUL-terminated piece of data (a heap copy), advancing it */
static char *piece(const uint8_t **data, size_t *size)
{
    const uint8_t *nul = memchr(*data, 0, *size);
    size_t n = nul ? (size_t)(nul - *data) : *size;
    char *p = malloc(n + 1);
    if (!p)
        abort();
    memcpy(p, *data, n);
    p[n] = '\0';
    *data += nul ? n + 1 : n;
    *size -= nul ? n + 1 : n;
    return p;
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
    int fold = data[9] & 1;
    data += HDR;
    size -= HDR;
    char *qid = piece(&data, &size);
    char *rcpt = piece(&data, &size);
    const char *hdrs = (const char *)data;
    size_t hlen = size;

    /* 1. the fuzzed block on its own */
    verify(&s, hdrs, hlen, rcpt, now, max_age, NULL);

    /* 2. round trip */
    char value[BG_SIGN_VALUE_MAX + 1];
    int vn = bg_sign_value(&s, now, qid, rcpt, value, sizeof value);
    if (!bg_sign_qid_ok(qid)) {
        if (vn != 0)
            abort();
    } else {
        if (vn <= 0 || (size_t)vn != strlen(value) || vn > BG_SIGN_VALUE_MAX)
            abort();
        char *shy = malloc((size_t)vn);
        if (!shy || bg_sign_value(&s, now, qid, rcpt, shy, (size_t)vn) != -1)
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

        char got[BG_SIGN_QID_MAX];
        if (max_age > 0) {
            if (verify(&s, block, o, rcpt, now, max_age, got) != 1 || strcmp(got, qid) != 0)
                abort();
            if (verify(&s, block, o, rcpt, now + max_age + 1, max_age, NULL) != 0)
                abort();
        }
        if (verify(&s, block, o, rcpt, now, 0, NULL) != 0)
            abort();
        char other[64];
        snprintf(other, sizeof other, "%zu.not-signed@example.com", strlen(rcpt));
        if (strcmp(other, rcpt) != 0 && verify(&s, block, o, other, now, max_age, NULL) != 0)
            abort();
        /* the same tag under another queue id */
        char *q = strstr(block + hlen, "; q=");
        if (q != NULL && q[4] != '\0') {
            q[4] = q[4] == 'Z' ? 'Y' : 'Z';
            if (verify(&s, block, o, rcpt, now, max_age, NULL) != 0)
                abort();
        }
        free(block);
    }
    free(qid);
    free(rcpt);
    return 0;
}
