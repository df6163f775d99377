/* key.c - memcached keys for suppression entries (see key.h). */
#include "key.h"
#include "bg.h"

#include <nettle/sha2.h>
#include <string.h>

/* memcached refuses keys longer than this (KEY_MAX_LENGTH). */
#define MC_KEY_LIMIT 250

int bg_key_bytes_ok(const char *s, size_t len)
{
    if (len > MC_KEY_LIMIT)
        return 0;
    if (len > 0 && !s)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return 0;
    }
    return 1;
}

static int prefix_ok(const char *prefix, size_t *plen)
{
    size_t n;

    if (!prefix)
        return 0;
    n = strnlen(prefix, BG_PREFIX_MAX + 1);
    if (n == 0 || n > BG_PREFIX_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)prefix[i];
        if (c < 0x21 || c > 0x7e)
            return 0;
    }
    *plen = n;
    return 1;
}

static int kind_ok(enum bg_kind kind)
{
    switch (kind) {
    case BG_KIND_RCPT: case BG_KIND_DOMAIN: case BG_KIND_SOFT: case BG_KIND_META:
    case BG_KIND_EVENT: case BG_KIND_OUTAGE: case BG_KIND_OUTAGE_N:
    case BG_KIND_DEAD: case BG_KIND_DEAD_N: case BG_KIND_STAT:
        return 1;
    }
    return 0;
}

int bg_key_build(char *out, size_t outsz, const char *prefix,
                 enum bg_kind kind, const char *name)
{
    static const char hex[] = "0123456789abcdef";
    size_t plen, nlen;

    if (!out || outsz == 0)
        return -1;
    out[0] = '\0';
    if (!prefix_ok(prefix, &plen) || !kind_ok(kind) || !name)
        return -1;
    /* The name is bounded by nothing but its NUL; we only need to know
     * whether it exceeds what a plain key can carry, then hash it all. */
    nlen = strlen(name);

    if (plen + 2 + nlen <= MC_KEY_LIMIT && bg_key_bytes_ok(name, nlen)) {
        size_t total = plen + 2 + nlen;
        if (total + 1 > outsz)
            return -1;
        memcpy(out, prefix, plen);
        out[plen] = (char)kind;
        out[plen + 1] = ':';
        memcpy(out + plen + 2, name, nlen + 1);
        return (int)total;
    }

    /* Hashed form: prefix, kind, '#', 64 hex digits. '#' instead of ':'
     * keeps the hashed and plain key spaces disjoint. */
    {
        struct sha256_ctx ctx;
        uint8_t digest[SHA256_DIGEST_SIZE];
        size_t total = plen + 2 + 2 * SHA256_DIGEST_SIZE;
        char *p;

        if (total + 1 > outsz)
            return -1;
        sha256_init(&ctx);
        sha256_update(&ctx, nlen, (const uint8_t *)name);
        sha256_digest(&ctx, sizeof digest, digest);
        memcpy(out, prefix, plen);
        out[plen] = (char)kind;
        out[plen + 1] = '#';
        p = out + plen + 2;
        for (size_t i = 0; i < sizeof digest; i++) {
            *p++ = hex[digest[i] >> 4];
            *p++ = hex[digest[i] & 0x0f];
        }
        *p = '\0';
        return (int)total;
    }
}
