#!/bin/bash
# Real bounces from a real Postfix (issue 17): for every case of
# cases/real-bounces.tsv a fake remote server answers one reply at RCPT,
# at DATA or at end of data (or is not there at all); Postfix sends one
# message to user@CASE.test through it and returns its bounce to the
# sender; bouncegatectl classify must read each bounce as the table says
# (class, reason, and user@CASE.test as the one failed recipient). Postfix
# tries each message once (maximal_queue_lifetime = 0): a temporary
# failure comes back at once as the final bounce, as after its queue
# lifetime. No milter: this is about reading what Postfix writes.
. "$(dirname "$0")/lib-postfix.sh"
. "$(dirname "$0")/lib-bounces.sh"
bg_tmpdir
rb_servers
pf_setup "$BG_TMP/pf" "" maximal_queue_lifetime=0 bounce_queue_lifetime=0
pf_start
for name in "${RB_CASES[@]}"; do
    printf 'From: app@site.test\nTo: user@%s.test\nSubject: case %s\nMessage-ID: <%s@site.test>\n\nhello\n' \
        "$name" "$name" "$name" | pf_sendmail -f app@site.test "user@$name.test" ||
        bg_fail "postfix $name: sendmail(1) refused the message"
done
rb_wait "${#RB_CASES[@]}"
rb_check postfix
pf_finish
