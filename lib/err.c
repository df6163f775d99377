/* err.c - see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

void bg_seterr(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errsz == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}
