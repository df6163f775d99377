/* ctl.h - subcommands of bouncegatectl (milter/ctl_*.c). */
#ifndef BG_CTL_H
#define BG_CTL_H

#include <stddef.h>
#include "classify.h"

/* `bouncegatectl classify [--json] [FILE...]`: argv are the arguments
 * after the word "classify". Prints one line per recipient (see
 * ctl_classify.c). max_scan 0 = 1 MiB. Returns 0, 1 usage, 2 I/O error. */
int ctl_classify(int argc, char **argv, const struct bg_rules *rules,
                 const struct bg_policy *policy, size_t max_scan);

/* ctl_csv.c: `export [FILE]` writes the live set read from the Journal
 * as CSV; `import [FILE]` writes each CSV line through the store (so it
 * is journalled) and reports counts, exit 0 all good, 1 some lines bad
 * (skipped), 2 error; `check [FILE]` looks up one address per line and
 * prints "suppressed=N not_suppressed=N bad=N errors=N", exit 0 all
 * suppressed, 1 some not, 2 bad lines or errors. FILE "-" or none: stdio. */
struct bg_config;
struct bg_store;
struct bg_journal;
int ctl_export(const struct bg_config *cfg, int argc, char **argv);
int ctl_import(const struct bg_config *cfg, struct bg_store *s, struct bg_journal *j,
               int argc, char **argv);
int ctl_check(struct bg_store *s, int argc, char **argv);

#endif
