/* mime_fixture.h - helpers of test_mime*.c. */
#ifndef BG_MIME_FIXTURE_H
#define BG_MIME_FIXTURE_H
#include <stdlib.h>
#include <string.h>
#include "unit.h"

static inline char *dup_exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, s, n);
    return p;
}

/* The end of the run of byte c in b[from, n): n when all of it is c.
 * One assertion on it instead of one per byte (Check writes a pipe per
 * assertion: a byte loop of them made the suite take seconds). */
static inline size_t span_of(const char *b, size_t from, size_t n, char c)
{
    while (from < n && b[from] == c)
        from++;
    return from;
}

#endif
