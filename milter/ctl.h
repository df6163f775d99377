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

#endif
