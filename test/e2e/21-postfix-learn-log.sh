#!/bin/bash
# shellcheck source=test/e2e/lib-learn.sh disable=SC2119
# 21-postfix-learn-log: bouncegate-logwatch following a real Postfix's
# maillog, writing into the same set (KeyPrefix) the milter enforces and
# learns into.
#
# A. Postfix's DSNs do NOT pass the milter (internal_mail_filter_classes
#    empty: the DSN path is not configured):
#    1. a hard bounce (550 5.1.1 at RCPT) is learned from the log line
#       alone (source log, the queue id as evidence) and the next
#       submission to that address is refused at RCPT TO with 550, the
#       other recipient delivered;
#    2. a delivery resets the soft count: two messages deferred (452 4.2.2,
#       counted 1, 2 from the log), then the server accepts (status=sent ->
#       action=reset), then one more deferral counts 1 again: not
#       suppressed (without the reset it would be the 3rd).
# B. The DSN path switched on (internal_mail_filter_classes = bounce,
#    postfix reload): each soft failure is now reported twice, by the log
#    ("status=deferred", then the message expires: maximal_queue_lifetime
#    = 0) and by Postfix's DSN (Action: failed, Status: 4.2.2). Both carry
#    the original queue id as message key, so each message is counted
#    exactly once, whichever source comes first; the other logs
#    action=duplicate. Three messages -> suppressed with count 3, two ->
#    not. A hard bounce reported by both is one suppression (count 1),
#    not two.
. "$(dirname "$0")/lib-learn.sh"
bg_tmpdir
bg_start_memcached
ln_start_daemon
dlog=$LN_DLOG
conf=$LN_CONF

pf_sinks_start
# flaky.test: a full mailbox that is emptied, then fills up again.
pf_sink flaky -r RCPT -b "452 4.2.2 Mailbox full"
pf_route flaky.test flaky
# No cached SMTP sessions: the flaky server is restarted under Postfix's feet.
pf_setup "$BG_TMP/pf" "$BG_SOCK" maximal_queue_lifetime=0 bounce_queue_lifetime=0 \
    smtp_connection_cache_on_demand=no
pf_postconf internal_mail_filter_classes=
pf_start
bg_pass "Postfix up, its DSNs NOT passed to the milter (internal_mail_filter_classes empty)"
# The log follower writes into the daemon's own set (same config file).
ln_start_logwatch lw "$conf"
lwlog=$BG_TMP/lw.log
bg_pass "bouncegate-logwatch follows $(basename "$PF_MAILLOG") into the daemon's KeyPrefix"

# ------------------------------------------------- A1. hard, from the log
ln_send "$PF_SUBMISSION_PORT" h1 frank@bad.test
q=$LN_QID
pf_wait_log "$q: to=<frank@bad\.test>,.* dsn=5\.1\.1, status=bounced " &&
    bg_pass "log only: the bad.test server refused frank with 550 5.1.1 ($q)"
pf_wait_grep "$lwlog" "$q: action=suppress rcpt=<frank@bad\.test> class=hard reason=userunknown status=5\.1\.1 rule=[^ ]+ source=log expires=never\$" &&
    bg_pass "log only: bouncegate-logwatch learned it from the maillog line"
ln_wait_show "$conf" frank@bad.test && ln_expect_entry "$conf" frank@bad.test hard log "log only"
bg_assert_eq "$q" "$(ln_field id)" "log only: evidence: the queue id"
pf_wait_log "$q: sender non-delivery notification: [0-9A-F]+" && b=${PF_LINE##*: }
pf_wait_log "$b: to=<app@site\.test>,.* status=sent" && bg_pass "log only: Postfix's DSN $b delivered"
bg_assert_not_grep 'source=postfix-dsn' "$dlog" "log only: the milter saw no DSN (the DSN path is off)"
ln_send "$PF_SUBMISSION_PORT" h2 frank@bad.test alice@good.test
bg_assert_grep '^RCPT TO:<frank@bad\.test> -> 550 5\.1\.1 <frank@bad\.test>: recipient suppressed after hard bounce on [0-9-]+ \(userunknown\)$' \
    "$BG_TMP/h2.out" "log only: next submission: frank refused at RCPT TO with 550"
bg_assert_grep '^RCPT TO:<alice@good\.test> -> 250 ' "$BG_TMP/h2.out" "log only: ... alice accepted"
pf_wait_log "$LN_QID: to=<alice@good\.test>,.* status=sent" && bg_pass "log only: alice delivered (status=sent)"

# ------------------------------------------------- A2. a delivery resets
# soft_log ID RCPT N - one message, deferred once then expired; waits for
# the log's counting decision (count N).
soft_log() {
    ln_send "$PF_SUBMISSION_PORT" "$1" "$2"
    pf_wait_log "$LN_QID: to=<${2//./\\.}>,.* dsn=4\.2\.2, status=deferred " > /dev/null &&
    pf_wait_grep "$lwlog" "$LN_QID: action=count rcpt=<${2//./\\.}> class=soft reason=mailboxfull status=4\.2\.2 rule=[^ ]+ source=log count=$3\$" &&
        bg_pass "reset: message $1 ($LN_QID) deferred, counted from the log: count=$3"
}
soft_log r1 ivy@flaky.test 1
soft_log r2 ivy@flaky.test 2
ln_expect_none "$conf" ivy@flaky.test "reset: two soft messages"
pf_sink_restart flaky
ln_send "$PF_SUBMISSION_PORT" r3 ivy@flaky.test
pf_wait_log "$LN_QID: to=<ivy@flaky\.test>,.* status=sent" && bg_pass "reset: the mailbox was emptied: r3 delivered (status=sent)"
pf_wait_grep "$lwlog" "$LN_QID: action=reset rcpt=<ivy@flaky\.test> " &&
    bg_pass "reset: the delivery reset ivy's soft count (action=reset)"
pf_sink_restart flaky -r RCPT -b "452 4.2.2 Mailbox full"
soft_log r4 ivy@flaky.test 1
ln_expect_none "$conf" ivy@flaky.test "reset: soft, soft, sent, soft"

# -------------------------------------- B. both sources, one count each
pf_postconf internal_mail_filter_classes=bounce
bg_pass "DSN path on: internal_mail_filter_classes = bounce, Postfix reloaded"

# both MSG-ID RCPT N - one soft-failed message reported by the log and by
# the DSN; exactly one of them counts it (count N), the other says
# duplicate.
both_soft() {
    local id=$1 rcpt=$2 n=$3 re act=count q
    [ "$n" -ge 3 ] && act=suppress
    ln_send "$PF_SUBMISSION_PORT" "$id" "$rcpt"
    q=$LN_QID
    re="$q: action=[a-z]+ rcpt=<${rcpt//./\\.}> class=soft reason=mailboxfull status=4\.2\.2 "
    pf_wait_grep "$dlog" "$re.*source=postfix-dsn" > /dev/null || return 1
    pf_wait_grep "$lwlog" "$re.*source=log" > /dev/null || return 1
    cat "$dlog" "$lwlog" | grep -E "$re" | sed 's/^.*: action=/action=/' > "$BG_TMP/$id.decisions"
    local counted dup
    counted=$(grep -cE '^action=(count|suppress) ' "$BG_TMP/$id.decisions")
    dup=$(grep -c '^action=duplicate ' "$BG_TMP/$id.decisions")
    if [ "$counted" = 1 ] && [ "$dup" = 1 ] &&
       grep -qE "^action=$act .* count=$n( |\$)" "$BG_TMP/$id.decisions"; then
        bg_pass "both: message $id ($q) counted once ($act count=$n by $(grep -E '^action=(count|suppress) ' "$BG_TMP/$id.decisions" | sed 's/.*source=\([^ ]*\).*/\1/')), duplicate from the other source"
    else
        sed 's/^/    /' "$BG_TMP/$id.decisions"
        bg_fail "both: message $id ($q): expected one $act count=$n and one duplicate"
    fi
}
both_soft s1 gina@full.test 1
both_soft s2 gina@full.test 2
ln_expect_none "$conf" gina@full.test "both: two soft messages, each reported twice"
both_soft s3 gina@full.test 3
ln_expect_entry "$conf" gina@full.test soft 'postfix-dsn|log' "both: three soft messages"
bg_assert_eq 3 "$(ln_field count)" "both: ... count 3 (not 6)"

ln_send "$PF_SUBMISSION_PORT" h3 hank@bad.test
q=$LN_QID
re="$q: action=[a-z]+ rcpt=<hank@bad\.test> class=hard reason=userunknown status=5\.1\.1 "
pf_wait_grep "$dlog" "$re.*source=postfix-dsn" > /dev/null
pf_wait_grep "$lwlog" "$re.*source=log" > /dev/null
cat "$dlog" "$lwlog" | grep -E "$re" | sed 's/^.*: action=/action=/' > "$BG_TMP/h3.decisions"
sed 's/^/    # /' "$BG_TMP/h3.decisions"
bg_assert_eq 1 "$(grep -c '^action=suppress ' "$BG_TMP/h3.decisions")" "both: hank's hard bounce: one suppression"
bg_assert_eq 1 "$(grep -c '^action=duplicate ' "$BG_TMP/h3.decisions")" "both: ... and one duplicate"
ln_expect_entry "$conf" hank@bad.test hard 'postfix-dsn|log' "both: hard bounce reported twice"
bg_assert_eq 1 "$(ln_field count)" "both: ... count 1: one bounce, one event"

pf_stop
pf_stop_daemon && bg_pass "daemon stopped cleanly"
pf_finish
