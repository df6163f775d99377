/* classify_internal.h - for lib/classify.c, its unit test and fuzzer only. */
#ifndef BG_CLASSIFY_INTERNAL_H
#define BG_CLASSIFY_INTERNAL_H

#include <stddef.h>
#include "classify.h"

/* The text of conf/rules.conf, compiled in (lib/rules_default.c, made by
 * test/tools/gen-rules-default.sh; test_classify checks they are equal). */
extern const char bg_rules_default_text[];

/* Parse rules from memory. name is used in error messages ("name:line:
 * message"). On success *out is a rule set with no fallback (next = NULL);
 * free with bg_rules_free. Returns 0 or -1 with err filled. */
int bg_rules_parse_text(const char *name, const char *txt, size_t len,
                        struct bg_rules **out, char *err, size_t errsz);

#endif
