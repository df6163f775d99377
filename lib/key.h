/* key.h - memcached keys for suppression entries.
 *
 * Format: KeyPrefix + kind + ':' + name, e.g. "bg:r:bob@example.com".
 * When the result would exceed 250 bytes, or the name holds a byte that
 * memcached keys cannot carry (<= 0x20, 0x7f, or >= 0x80), the name is
 * replaced by the hex SHA-256 of its bytes and ':' by '#':
 * "bg:r#3a7bd3e2...". The prefix itself is validated by the config
 * loader (printable ASCII, no blanks, at most BG_PREFIX_MAX bytes).
 */
#ifndef BG_KEY_H
#define BG_KEY_H

#include <stddef.h>

enum bg_kind {
    BG_KIND_RCPT = 'r',   /* one recipient address */
    BG_KIND_DOMAIN = 'd', /* a whole recipient domain */
    BG_KIND_SOFT = 's',   /* soft-bounce counter for an address */
    BG_KIND_META = 'm',   /* bookkeeping (markers) */
    BG_KIND_EVENT = 'e',  /* "rcpt|message" (soft event counted), "rcpt|message|class"
                             (suppressing event learned): once per message */
    BG_KIND_OUTAGE = 'o', /* "domain|rcpt": counted toward an outage */
    BG_KIND_OUTAGE_N = 'O', /* per-domain count of failing recipients */
    BG_KIND_DEAD = 'h',   /* "domain|rcpt": counted toward a dead domain */
    BG_KIND_DEAD_N = 'H', /* per-domain count of hostunknown recipients */
    BG_KIND_STAT = 'c'    /* sender statistics (stats.h) */
};

/* Writes the key to out (outsz >= BG_KEY_MAX). Returns its length, or -1
 * when the prefix is invalid or out is too small. */
int bg_key_build(char *out, size_t outsz, const char *prefix,
                 enum bg_kind kind, const char *name);

/* Non-zero when s (len bytes) may be sent as (part of) a memcached key. */
int bg_key_bytes_ok(const char *s, size_t len);

#endif
