/* classify_internal.h - for the classifier (lib/rules_*.c, classify*.c), its unit test and fuzzer only. */
#ifndef BG_CLASSIFY_INTERNAL_H
#define BG_CLASSIFY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "classify.h"

/* The text of conf/rules.conf, compiled in (lib/rules_default.c, made by
 * test/tools/gen-rules-default.sh; test_classify checks they are equal). */
extern const char bg_rules_default_text[];

/* Parse rules from memory. name is used in error messages ("name:line:
 * message"). On success *out is a rule set with no fallback (next = NULL);
 * free with bg_rules_free. Returns 0 or -1 with err filled. */
int bg_rules_parse_text(const char *name, const char *txt, size_t len,
                        struct bg_rules **out, char *err, size_t errsz);

/* The differential check of the text scan: the hit bitmap of
 * diag[0, min(len, 4096)) (a NUL ends it) under r alone (not its
 * fallback), from the automaton into fast and from a naive search of
 * every text=/notext= pattern and command needle in the normalized text
 * into ref. Both have nw words; they must be equal. Returns the number
 * of words used, or -1 (r has no automaton, nw too small). */
int bg_classify_hits(const struct bg_rules *r, const char *diag, size_t len,
                     uint64_t *fast, uint64_t *ref, size_t nw);

#endif
