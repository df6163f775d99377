#!/bin/bash
# Every key of the one config table (lib/config_keys.c) is documented in
# bouncegate.conf(5) and in the annotated sample conf/bouncegate.conf, and
# the sample is a valid configuration: the docs cannot drift from the code.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
keys=$(sed -n 's/^[[:space:]]*{ "\([A-Za-z]*\)", KT_.*/\1/p' "$BG_TOP/lib/config_keys.c")
n=$(wc -w <<< "$keys")
[ "$n" -ge 20 ] || bg_fatal "found only $n keys in lib/config_keys.c: the table's layout changed?"
bg_pass "lib/config_keys.c declares $n keys"
for k in $keys; do
    if grep -Eq "^\.(B|BR) (.*[ \"])?$k([ \"]|\$)" "$BG_TOP/man/bouncegate.conf.5"; then
        bg_pass "$k is documented in bouncegate.conf(5)"
    else
        bg_fail "$k is missing from man/bouncegate.conf.5"
    fi
    if grep -Eq "^#?$k[[:space:]]" "$BG_TOP/conf/bouncegate.conf"; then
        bg_pass "$k appears in conf/bouncegate.conf"
    else
        bg_fail "$k is missing from conf/bouncegate.conf"
    fi
done
{ cat "$BG_TOP/conf/bouncegate.conf"; echo "UserID nobody"; } > "$BG_TMP/sample.conf"
bg_assert_rc 0 "conf/bouncegate.conf is a valid configuration" "$BG_DAEMON" -n -c "$BG_TMP/sample.conf"
for m in "$BG_TOP"/man/*.[58]; do
    if out=$(groff -man -ww -z "$m" 2>&1) && [ -z "$out" ]; then
        bg_pass "$(basename "$m") formats without warnings"
    else
        bg_fail "$(basename "$m"): $out"
    fi
done
bg_finish
