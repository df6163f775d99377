/* rules_default.c - GENERATED from conf/rules.conf by
 * test/tools/gen-rules-default.sh: do not edit; edit conf/rules.conf and
 * rerun the script. test_classify checks both are identical. */
#include "classify_internal.h"

const char bg_rules_default_text[] =
    "# placeholder\n"
    "feedback complaint feedback report=feedback\n"
    ;
