/* err.h - the one way libbouncegate reports an error: a formatted,
 * bounded message into the caller's buffer (which may be NULL). */
#ifndef BG_ERR_H
#define BG_ERR_H

#include <stddef.h>

void bg_seterr(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
