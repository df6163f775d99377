/* err.h - the one way libbouncegate reports an error: a formatted,
 * bounded message into the caller's buffer (which may be NULL). */
#ifndef BG_ERR_H
#define BG_ERR_H

#include <stddef.h>
#include <stdio.h>

void bg_seterr(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An error may hold several lines (every mistake of a config file):
 * bg_err_print writes each as "PROG: LINE" to fp; bg_err_oneline joins
 * them with blanks in place, for a log line. */
void bg_err_print(FILE *fp, const char *prog, const char *err);
void bg_err_oneline(char *err);

#endif
