/* config_int.h - what config.c (the parser) and config_keys.c (the
 * table of keys) share. Not for other callers: config.h is the
 * interface. */
#ifndef BG_CONFIG_INT_H
#define BG_CONFIG_INT_H

#include <stddef.h>
#include "config.h"

enum ktype {
    KT_STRING,    /* bounded string, any bytes but control */
    KT_SOCKET,    /* libmilter socket, checked by bg_socket_check */
    KT_LISTEN,    /* HOST:PORT of a TCP listener (listen.h), or empty */
    KT_PERCENT,   /* "1%", "0.1%", "2.5": percent, kept in millionths (unsigned) */
    KT_PREFIX,    /* KeyPrefix: printable ASCII, no blanks */
    KT_UINT,      /* unsigned decimal */
    KT_MODE,      /* octal file mode */
    KT_MS,        /* duration, result in ms (unsigned) */
    KT_SECONDS,   /* duration, result in s (unsigned) */
    KT_TTL,       /* duration in s as long long; 0 or "never" = never */
    KT_AGE,       /* duration in s as long long, 1h to 366d: never 0 */
    KT_BYTES,     /* size with optional k/m suffix (size_t) */
    KT_BOOL,
    KT_FACILITY,
    KT_LOGLEVEL,
    KT_SCOPE,
    KT_NAMES,
    KT_NETS,
    KT_EXEMPT,
    KT_JSYNC      /* JournalSync: always, interval, never */
};

struct keydef {
    const char *name;
    enum ktype type;
    size_t off;
    size_t size;       /* field size for strings */
    const char *def;
    const char *doc;
};

#define F(field) offsetof(struct bg_config, field), sizeof(((struct bg_config *)0)->field)

/* Every key, once: config_keys.c. */
extern const struct keydef bg_config_keys[];
extern const size_t bg_config_nkeys;
#define BG_CONFIG_KEYS_MAX 128       /* checked in config_keys.c */

#endif
