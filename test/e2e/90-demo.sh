#!/bin/bash
# shellcheck source=test/e2e/lib-postfix.sh
# 90-demo: `make demo` (test/e2e/demo.sh) runs to its end, shows what it
# promises (the bounce learned, bouncegatectl show, the 550 at RCPT TO, the
# other recipient delivered) and leaves nothing behind (temp dir, processes).
. "$(dirname "$0")/lib-postfix.sh"
bg_tmpdir
out=$BG_TMP/demo.out
bash "$BG_TOP/test/e2e/demo.sh" > "$out" 2>&1 < /dev/null
rc=$?
bg_assert_eq 0 "$rc" "demo.sh exits 0"
[ "$rc" = 0 ] || sed 's/^/    /' "$out"
bg_assert_grep '^Step 5 of 5: ' "$out" "it narrates all five steps"
bg_assert_grep 'to=<bob@bad\.test>, .*dsn=5\.1\.1, status=bounced \(host .* said: 550 5\.1\.1 User unknown' "$out" \
    "it shows the remote 550 5.1.1 in Postfix's log"
bg_assert_grep 'bouncegate\[notice\]: [0-9A-F]+: action=suppress rcpt=<bob@bad\.test> class=hard .*source=postfix-dsn' "$out" \
    "it shows the daemon's learning line"
bg_assert_grep '^ +source +postfix-dsn$' "$out" "it shows bouncegatectl show"
bg_assert_grep '^ +RCPT TO:<bob@bad\.test> -> 550 5\.1\.1 <bob@bad\.test>: recipient suppressed after hard bounce' "$out" \
    "it shows the 550 at RCPT TO"
bg_assert_grep 'to=<alice@good\.test>,.* status=sent' "$out" "it shows the other recipient delivered"
dir=$(sed -n 's/^removing \(.*\)\.$/\1/p' "$out")
bg_assert_match '^/.*/bg-demo\.' "$dir" "it names its temp dir"
if [ -n "$dir" ] && [ ! -e "$dir" ]; then bg_pass "temp dir removed"; else bg_fail "temp dir $dir still there"; fi
# Left behind: a process naming the dir on its command line (bouncegate,
# smtp-sink) or in its environment (Postfix's master and children:
# MAIL_CONFIG).
: > "$BG_TMP/left"
if [ -n "$dir" ]; then
    pgrep -f -- "$dir" >> "$BG_TMP/left" 2>&1
    for e in /proc/[0-9]*/environ; do
        grep -qzF -- "MAIL_CONFIG=$dir/" "$e" 2> /dev/null && echo "${e//[^0-9]/}" >> "$BG_TMP/left"
    done
fi
if [ -s "$BG_TMP/left" ]; then
    bg_fail "processes left running: $(tr '\n' ' ' < "$BG_TMP/left")"
else
    bg_pass "no process left running"
fi
pf_finish
