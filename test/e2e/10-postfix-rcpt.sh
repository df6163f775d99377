#!/bin/bash
# shellcheck source=test/e2e/lib-postfix.sh disable=SC2119  # optional arguments
# 10-postfix-rcpt: bouncegate inside a real, private Postfix 3.x instance.
#
#   1. SMTP submission (the "submission" smtpd, {daemon_name}=submission):
#      the suppressed recipient gets bouncegate's 550 at RCPT TO, the other
#      recipient of the same message is delivered; Postfix logs the
#      milter-reject.
#   2. sendmail(1), the non-SMTP path (non_smtpd_milters): the suppressed
#      recipient is removed at end of message and the rest delivered; a
#      message left with no recipient is discarded; nothing stays queued
#      with a "milter configuration error". Postfix's verbose cleanup log
#      shows what the milter is sent there (bare MAIL FROM / RCPT TO
#      arguments), which is how the daemon tells the two paths apart.
#   3. Scope: with OutboundNetworks not covering 127.0.0.1 and
#      OutboundAuthenticated no (config reloaded with SIGUSR1), mail to the
#      plain smtp service is inbound and NOT rejected (it reaches the
#      remote, which bounces it; that bounce passes the milter too), while
#      the submission service still is checked, and so is sendmail(1) mail
#      (the non-SMTP path counts as outbound by itself).
. "$(dirname "$0")/lib-postfix.sh"
bg_tmpdir
bg_start_memcached

mport=$(bg_free_port) || bg_fatal "no free port for the milter"
conf=$BG_TMP/bg.conf
dlog=$BG_TMP/daemon.log
# write_conf [EXTRA-LINES] - the daemon's config (readable by nobody, which
# re-reads it on SIGUSR1).
write_conf() {
    cat > "$conf" <<CONF
Socket inet:$mport@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix e2e:
UserID nobody
Scope outbound
OutboundDaemons submission
LogLevel info
${1:-}
CONF
    chmod 644 "$conf"
}
write_conf
bg_start_daemon "$conf"

"$BG_CTL" -c "$conf" add bob@bad.test --class hard --reason userunknown --status 5.1.1 \
    > "$BG_TMP/ctl.out" 2>&1 || { cat "$BG_TMP/ctl.out"; bg_fatal "bouncegatectl add failed"; }
bg_pass "bouncegatectl add bob@bad.test"

pf_sinks_start
pf_setup "$BG_TMP/pf" "$BG_SOCK"
# Verbose cleanup and submission smtpd: Postfix logs each milter event with
# its arguments and macros, the ground truth of what the milter is sent.
pf_service_args cleanup -v
pf_service_args bouncegate-cleanup -v
pf_service_args submission -v
pf_start
bg_pass "private Postfix up: smtp :$PF_SMTP_PORT, submission :$PF_SUBMISSION_PORT, milter $PF_MILTER"

# smtp_msg ID [RCPT...] - an SMTP script for one message from app@site.test
smtp_msg() {
    local id=$1 r
    shift
    echo "EHLO client.test"
    echo "MAIL FROM:<app@site.test>"
    for r in "$@"; do echo "RCPT TO:<$r>"; done
    printf 'DATA\nFrom: app@site.test\nSubject: e2e %s\nMessage-ID: <%s@site.test>\n\nhello\n.\nQUIT\n' \
        "$id" "$id"
}

# queued_as FILE - the queue id from smtpclient's ". -> 250 ... queued as X"
queued_as() {
    sed -n 's/^\. -> 250 .*queued as \([0-9A-F][0-9A-F]*\)$/\1/p' "$1"
}

reject_re='550 5\.1\.1 <bob@bad\.test>: recipient suppressed after hard bounce on [0-9]{4}-[0-9]{2}-[0-9]{2} \(userunknown\)'

# ---------------------------------------------------------------- 1. SMTP
smtp_msg sub1 bob@bad.test alice@good.test > "$BG_TMP/sub1.smtp"
pf_smtp "$PF_SUBMISSION_PORT" < "$BG_TMP/sub1.smtp" > "$BG_TMP/sub1.out" 2> "$BG_TMP/sub1.err"
bg_assert_eq 0 $? "submission: smtpclient ran the script"
sed 's/^/    # /' "$BG_TMP/sub1.out"
bg_assert_grep "^RCPT TO:<bob@bad\.test> -> $reject_re\$" "$BG_TMP/sub1.out" \
    "submission: RCPT TO:<bob@bad.test> gets bouncegate's 550 5.1.1"
bg_assert_grep '^RCPT TO:<alice@good\.test> -> 250 ' "$BG_TMP/sub1.out" \
    "submission: RCPT TO:<alice@good.test> accepted"
q1=$(queued_as "$BG_TMP/sub1.out")
bg_assert_match '^[0-9A-F]+$' "$q1" "submission: message queued ($q1)"
pf_wait_log "$q1: to=<alice@good\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PF_SINK_GOOD,.* status=sent" &&
    bg_pass "submission: alice delivered to the good.test sink"
bg_assert_grep "postfix/submission/smtpd\[[0-9]+\]: NOQUEUE: milter-reject: RCPT from [^ ]+\[127\.0\.0\.1\]: $reject_re; from=<app@site\.test> to=<bob@bad\.test>" \
    "$PF_MAILLOG" "submission: Postfix logged the milter-reject"
bg_assert_grep 'NOQUEUE: sid=[0-9A-F]+ action=reject from=<[^>]*> rcpt=<bob@bad\.test> class=hard reason=userunknown since=[0-9-]+ scope=recipient status=5\.1\.1$' \
    "$dlog" "submission: bouncegate logged action=reject"
bg_assert_grep 'X-Rcpt-Args: <alice@good\.test>' "$PF_SINK_DIR/good.dump" \
    "submission: the good.test sink received alice"
pf_wait_log "postfix/qmgr\[[0-9]+\]: $q1: removed" && bg_pass "submission: $q1 left the queue"
bg_assert_not_grep "$q1: to=<bob@bad\.test>" "$PF_MAILLOG" \
    "submission: bob was never queued or sent (the bad.test server never saw him)"
# What the milter was sent on the SMTP path.
bg_assert_grep 'postfix/submission/smtpd\[[0-9]+\]: milter8_mail_event: milter [^ ]+: mail <app@site\.test>$' \
    "$PF_MAILLOG" "fact: SMTP path sends MAIL FROM as <app@site.test> (angle brackets)"
bg_assert_grep 'postfix/submission/smtpd\[[0-9]+\]: event: SMFIC_CONNECT; macros: .*\{daemon_name\}=submission ' \
    "$PF_MAILLOG" "fact: SMTP path {daemon_name}=submission (milter_macro_daemon_name)"

# ------------------------------------------------------- 2. non-SMTP path
pf_log_mark
printf 'From: app@site.test\nSubject: e2e ns2\nMessage-ID: <ns2@site.test>\n\nhello\n' |
    pf_sendmail -f app@site.test bob@bad.test alice@good.test
bg_assert_eq 0 $? "sendmail: bob + alice submitted"
q2=$(pf_qid_for_msgid ns2@site.test) || bg_fatal "sendmail message ns2 never reached cleanup"
pf_wait_log "$q2: to=<alice@good\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PF_SINK_GOOD,.* status=sent" &&
    bg_pass "sendmail: alice delivered ($q2)"
pf_wait_log "postfix/qmgr\[[0-9]+\]: $q2: removed" && bg_pass "sendmail: $q2 left the queue"
bg_assert_not_grep "$q2: to=<bob@bad\.test>" "$PF_MAILLOG" "sendmail: no delivery attempt to bob"
bg_assert_grep "$q2: sid=[0-9A-F]+ action=remove from=<[^>]*> rcpt=<bob@bad\.test> class=hard reason=userunknown since=[0-9-]+ scope=recipient path=nonsmtp$" \
    "$dlog" "sendmail: bouncegate logged action=remove path=nonsmtp"
bg_assert_grep "postfix/cleanup\[[0-9]+\]: cleanup_del_rcpt: deleted 1 records for recipient \"bob@bad\.test\"" \
    "$PF_MAILLOG" "sendmail: Postfix deleted bob's recipient record (SMFIR_DELRCPT)"
bg_assert_grep '^Message-I[Dd]: <ns2@site\.test>' "$PF_SINK_DIR/good.dump" "sendmail: ns2 reached the good.test server"
# What the milter was sent on the non-SMTP path.
bg_assert_grep "postfix/cleanup\[[0-9]+\]: milter8_mail_event: milter [^ ]+: mail app@site\.test\$" \
    "$PF_MAILLOG" "fact: non-SMTP path sends MAIL FROM as bare app@site.test (no angle brackets)"
bg_assert_grep "postfix/cleanup\[[0-9]+\]: milter8_rcpt_event: milter [^ ]+: rcpt bob@bad\.test\$" \
    "$PF_MAILLOG" "fact: non-SMTP path sends RCPT TO as bare bob@bad.test"
bg_assert_grep "postfix/cleanup\[[0-9]+\]: event: SMFIC_CONNECT; macros: j=mta\.e2e\.test \{daemon_name\}=mta\.e2e\.test \{daemon_addr\}=127\.0\.0\.1 v=Postfix [0-9.]+ _=localhost \[127\.0\.0\.1\]\$" \
    "$PF_MAILLOG" "fact: non-SMTP connect: localhost/127.0.0.1, {daemon_name}=\$myhostname"
bg_assert_grep "postfix/cleanup\[[0-9]+\]: event: SMFIC_MAIL; macros: i=$q2 \{mail_addr\}=app@site\.test\$" \
    "$PF_MAILLOG" "fact: non-SMTP MAIL macros: i (queue id known already), {mail_addr}; no {mail_host}/{mail_mailer}"

pf_log_mark
printf 'From: app@site.test\nSubject: e2e ns3\nMessage-ID: <ns3@site.test>\n\nhello\n' |
    pf_sendmail -f app@site.test bob@bad.test
bg_assert_eq 0 $? "sendmail: bob-only message submitted"
q3=$(pf_qid_for_msgid ns3@site.test) || bg_fatal "sendmail message ns3 never reached cleanup"
pf_wait_log "$q3: milter-discard: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: milter triggers DISCARD action; from=<app@site\.test>" &&
    bg_pass "sendmail: bob-only message discarded by the milter ($q3)"
bg_assert_grep "$q3: sid=[0-9A-F]+ action=remove from=<[^>]*> rcpt=<bob@bad\.test> .* path=nonsmtp$" "$dlog" \
    "sendmail: bouncegate logged bob's removal"
bg_assert_grep "$q3: sid=[0-9A-F]+ action=discard reason=all-recipients-suppressed rcpts=1 path=nonsmtp$" \
    "$dlog" "sendmail: bouncegate logged action=discard"
pf_wait_queue_empty && bg_pass "queue empty after the non-SMTP messages"
bg_assert_not_grep "$q3: to=" "$PF_MAILLOG" "sendmail: no delivery attempt for the discarded message"
bg_assert_not_grep 'milter configuration error|reject recipient in non-smtpd' "$PF_MAILLOG" \
    "no 'milter configuration error' in the maillog"

# ------------------------------------------------------------ 3. scope
mark=$(wc -l < "$dlog")
write_conf "OutboundNetworks 192.0.2.0/24
OutboundAuthenticated no"
kill -USR1 "$BG_PID"
pf_wait_grep "$dlog" 'action=reload' 10 "$mark" && bg_pass "daemon reloaded: OutboundNetworks 192.0.2.0/24, OutboundAuthenticated no"

pf_log_mark
smtp_msg in4 bob@bad.test alice@good.test > "$BG_TMP/in4.smtp"
pf_smtp "$PF_SMTP_PORT" < "$BG_TMP/in4.smtp" > "$BG_TMP/in4.out" 2> "$BG_TMP/in4.err"
bg_assert_eq 0 $? "inbound: smtpclient ran the script"
sed 's/^/    # /' "$BG_TMP/in4.out"
bg_assert_grep '^RCPT TO:<bob@bad\.test> -> 250 ' "$BG_TMP/in4.out" \
    "inbound: plain smtp service from 127.0.0.1 is not outbound: bob NOT rejected"
q4=$(queued_as "$BG_TMP/in4.out")
bg_assert_match '^[0-9A-F]+$' "$q4" "inbound: message queued ($q4)"
pf_wait_log "$q4: to=<alice@good\.test>,.* status=sent" && bg_pass "inbound: alice delivered"
pf_wait_log "$q4: to=<bob@bad\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PF_SINK_BAD,.* dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 User unknown" &&
    bg_pass "inbound: bob went to the remote server (which bounced him)"
if [ "$(pf_log_count 'milter-reject')" = 0 ]; then
    bg_pass "inbound: no milter-reject"
else
    bg_fail "inbound: milter-reject logged"
fi
# Postfix's own bounce passes non_smtpd_milters (internal_mail_filter_classes
# = bounce) and must never be refused.
pf_wait_log "$q4: sender non-delivery notification: [0-9A-F]+" || bg_fatal "no bounce for $q4"
b4=${PF_LINE##*: }
pf_wait_log "$b4: to=<app@site\.test>,.* status=sent" &&
    bg_pass "inbound: Postfix's bounce ($b4) passed the milter and was delivered"
bg_assert_grep "postfix/bouncegate-cleanup(/cleanup)?\[[0-9]+\]: milter8_mail_event: milter [^ ]+: mail \$" "$PF_MAILLOG" \
    "fact: a Postfix bounce is sent with an empty MAIL FROM argument"
bg_assert_grep "postfix/bouncegate-cleanup(/cleanup)?\[[0-9]+\]: event: SMFIC_CONNECT; macros: .*\{daemon_name\}=bouncegate-dsn " \
    "$PF_MAILLOG" "fact: ... through bouncegate-cleanup, whose {daemon_name} is bouncegate-dsn"

smtp_msg sub5 bob@bad.test > "$BG_TMP/sub5.smtp"
pf_smtp "$PF_SUBMISSION_PORT" < "$BG_TMP/sub5.smtp" > "$BG_TMP/sub5.out" 2> "$BG_TMP/sub5.err"
bg_assert_grep "^RCPT TO:<bob@bad\.test> -> $reject_re\$" "$BG_TMP/sub5.out" \
    "after reload: submission (OutboundDaemons) still rejects bob"

# sendmail(1) mail is the site's own whatever OutboundNetworks says: cleanup
# sends {daemon_name}=$myhostname and client 127.0.0.1, so neither
# OutboundDaemons nor OutboundNetworks match; the daemon treats the
# non-SMTP path as outbound by itself.
pf_log_mark
printf 'From: app@site.test\nSubject: e2e ns6\nMessage-ID: <ns6@site.test>\n\nhello\n' |
    pf_sendmail -f app@site.test bob@bad.test alice@good.test
q6=$(pf_qid_for_msgid ns6@site.test) || bg_fatal "sendmail message ns6 never reached cleanup"
pf_wait_log "postfix/qmgr\[[0-9]+\]: $q6: removed" && bg_pass "after reload: sendmail message $q6 done"
bg_assert_not_grep "$q6: to=<bob@bad\.test>" "$PF_MAILLOG" \
    "after reload: sendmail(1) mail still checked (OutboundNetworks does not cover 127.0.0.1): bob not sent"
bg_assert_grep "$q6: sid=[0-9A-F]+ action=remove from=<[^>]*> rcpt=<bob@bad\.test> .* path=nonsmtp\$" "$dlog" \
    "after reload: ... and bouncegate logged his removal"

pf_stop
pf_stop_daemon && bg_pass "daemon stopped cleanly (exit 0 after SIGTERM)"
pf_finish
