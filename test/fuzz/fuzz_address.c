/* fuzz_address.c - libFuzzer target for bg_addr_normalize and
 * bg_domain_normalize.
 *
 * Input layout: the first byte selects the mode, the rest is the text.
 *   bit 0     0: bg_addr_normalize, 1: bg_domain_normalize
 *   bit 1     0: output buffer of BG_ADDR_MAX bytes,
 *             1: a small one of 1 + (byte >> 2) bytes (1..64), so the
 *                "too long" paths run against an exact-size heap buffer
 * The text is copied to an exact-size heap buffer (no NUL after it) and
 * the output buffer is exactly outsz bytes, so ASan catches a read past
 * inlen or a write past outsz.
 *
 * Invariants on success:
 *   - the output is NUL-terminated within outsz;
 *   - normalizing the output again succeeds and gives the same output
 *     (one canonical spelling per mailbox);
 *   - the domain of a normalized address is itself a normalized domain;
 *   - the memcached key built from it (bg_key_build) is at most 250 bytes
 *     and passes bg_key_bytes_ok.
 * On failure: a reason is given and the output is still terminated. */
#include "address.h"
#include "bg.h"
#include "key.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*norm_fn)(const char *, size_t, char *, size_t, const char **);

static void check_key(enum bg_kind kind, const char *name)
{
    char key[BG_KEY_MAX];
    int n = bg_key_build(key, sizeof key, "bg:", kind, name);
    if (n < 0 || n > 250 || (size_t)n != strlen(key) || !bg_key_bytes_ok(key, (size_t)n))
        abort();
}

/* out (len bytes) must normalize to itself. */
static void check_fixpoint(norm_fn fn, const char *out, size_t len)
{
    char *in = malloc(len ? len : 1);   /* exact size again */
    char *again = malloc(BG_ADDR_MAX);
    const char *why = NULL;
    if (!in || !again)
        abort();
    memcpy(in, out, len);
    if (fn(in, len, again, BG_ADDR_MAX, &why) != 0 || strcmp(again, out) != 0)
        abort();
    free(in);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    int domain = mode & 1;
    size_t outsz = (mode & 2) ? 1 + (size_t)(mode >> 2) : BG_ADDR_MAX;
    norm_fn fn = domain ? bg_domain_normalize : bg_addr_normalize;

    char *in = malloc(size ? size : 1);
    char *out = malloc(outsz);
    if (!in || !out)
        abort();
    if (size)
        memcpy(in, data, size);
    memset(out, 'X', outsz);

    const char *why = NULL;
    int rc = fn(in, size, out, outsz, &why);
    if (rc != 0 && rc != -1)
        abort();
    const char *nul = memchr(out, '\0', outsz);
    if (nul == NULL)
        abort();
    if (rc != 0) {
        if (why == NULL || why[0] == '\0')
            abort();
    } else {
        size_t len = (size_t)(nul - out);
        if (len == 0)
            abort();
        check_fixpoint(fn, out, len);
        if (domain) {
            check_key(BG_KIND_DOMAIN, out);
        } else {
            const char *d = bg_addr_domain(out);
            if (d == NULL)
                abort();
            check_fixpoint(bg_domain_normalize, d, strlen(d));
            check_key(BG_KIND_RCPT, out);
            check_key(BG_KIND_DOMAIN, d);
        }
    }
    free(in);
    free(out);
    return 0;
}
