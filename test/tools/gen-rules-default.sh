#!/bin/sh
# gen-rules-default.sh - regenerate lib/rules_default.c from conf/rules.conf
# (the built-in rules as one C string; test_classify checks both agree).
# Run from anywhere: sh test/tools/gen-rules-default.sh
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
in=$here/conf/rules.conf
out=$here/lib/rules_default.c
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT INT TERM
{
    printf '%s\n' '/* rules_default.c - GENERATED from conf/rules.conf by' \
        ' * test/tools/gen-rules-default.sh: do not edit; edit conf/rules.conf and' \
        ' * rerun the script. test_classify checks both are identical. */' \
        '#include "classify_internal.h"' '' 'const char bg_rules_default_text[] ='
    # escape backslash, double quote and "?" (no trigraphs); one C string literal per line
    LC_ALL=C sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/    "/' -e 's/$/\\n"/' "$in"
    printf '%s\n' '    ;'
} > "$tmp"
mv "$tmp" "$out"
trap - EXIT INT TERM
