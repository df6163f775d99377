/* err.c - see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void bg_seterr(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errsz == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

void bg_err_print(FILE *fp, const char *prog, const char *err)
{
    const char *p = err ? err : "";
    do {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(fp, "%s: %.*s\n", prog, len, p);
        p = nl ? nl + 1 : NULL;
    } while (p != NULL && *p != '\0');
}

void bg_err_oneline(char *err)
{
    for (char *p = err; p && *p; p++)
        if (*p == '\n')
            *p = ' ';
}
