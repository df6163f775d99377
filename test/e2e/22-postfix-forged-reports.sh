#!/bin/bash
# shellcheck source=test/e2e/lib-learn.sh disable=SC2119
# 22-postfix-forged-reports: what bouncegate trusts, tried as an attacker
# would, inside a real private Postfix (bounce, defer and trace hand their
# DSNs to the cleanup service "bouncegate-cleanup", milter_macro_daemon_name
# bouncegate-dsn = DSNDaemonName; a SigningKeyFile; ReportRecipients).
#
#   1. A local non-root user (nobody) submits a hand-written Postfix-style
#      DSN for victim@good.test with sendmail -f '' (what a web application
#      or any shell user can do): it reaches the milter on the non-SMTP
#      path with the null sender, but not from Postfix's bounce cleanup:
#      logged as unverified (source=local-dsn), nobody suppressed, the
#      message itself delivered. The same as root, and with -t.
#   2. A real bounce of the same instance is still Postfix's own: learned
#      (source=postfix-dsn) and enforced at the next RCPT TO.
#   3. A co-recipient's forgery: app sends one message to alice and eve.
#      It carries no tag (a tag every recipient sees would let alice forge
#      a report for eve). alice's forged DSN for eve, with every header of
#      the message she received, changes nothing. eve's own one-recipient
#      message carries a v=2 tag bound to its queue id; copied into a
#      report about alice it proves nothing ("no tag for recipient"); in a
#      report about eve it counts once, under that queue id, however often
#      it is replayed.
. "$(dirname "$0")/lib-learn.sh"
bg_tmpdir
bg_start_memcached
ln_start_daemon
dlog=$LN_DLOG
conf=$LN_CONF
pf_sinks_start
pf_setup "$BG_TMP/pf" "$BG_SOCK" maximal_queue_lifetime=0 bounce_queue_lifetime=0
pf_start
bg_pass "Postfix up: smtp (inbound) :$PF_SMTP_PORT, submission :$PF_SUBMISSION_PORT, milter $PF_MILTER"

# forged_dsn ID RCPT [EXTRA-HEADERS] - a Postfix-style DSN (what Postfix's
# bounce daemon writes) claiming RCPT failed hard, to app@site.test.
forged_dsn() {
    cat <<EOF
From: Mail Delivery System <MAILER-DAEMON@mta.site.test>
To: app@site.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <$1@mta.site.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Description: Notification
Content-Type: text/plain

This is the mail system at host mta.site.test.

--B
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.site.test
X-Postfix-Queue-ID: 0FEEDFACE0
X-Postfix-Sender: rfc822; app@site.test
Arrival-Date: Sun,  6 Dec 2026 10:00:00 +0000 (UTC)

Final-Recipient: rfc822; $2
Original-Recipient: rfc822;$2
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.good.test
Diagnostic-Code: smtp; 550 5.1.1 <$2>: Recipient address rejected: User unknown

--B
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: app@site.test
To: $2
Subject: hello
Message-ID: <orig-$1@site.test>
${3:-}

--B--
EOF
}

# ------------------------------------------------ 1. local forgeries
mark=$(wc -l < "$dlog")
forged_dsn f1 victim@good.test | pf_sendmail_as nobody -f '' app@site.test ||
    bg_fail "1. nobody's sendmail -f '' failed"
q=$(pf_qid_for_msgid "f1@mta.site.test") && bg_pass "1. nobody's hand-written DSN was queued ($q)"
pf_wait_grep "$dlog" "$q: action=ignore rcpt=<victim@good\.test> reason=unverified problem=\"no tag header\" source=local-dsn format=" 20 "$mark" &&
    bg_pass "1. bouncegate: not Postfix's own DSN, no tag: unverified (source=local-dsn)"
pf_wait_log "$q: to=<app@site\.test>,.* status=sent" > /dev/null &&
    bg_pass "1. ... the message itself was accepted and delivered"
ln_expect_none "$conf" victim@good.test "1. nobody's sendmail -f '' DSN"

mark=$(wc -l < "$dlog")
forged_dsn f2 victim@good.test | pf_sendmail_as nobody -f '' -t ||
    bg_fail "1. nobody's sendmail -f '' -t failed"
q=$(pf_qid_for_msgid "f2@mta.site.test")
pf_wait_grep "$dlog" "$q: action=ignore rcpt=<victim@good\.test> reason=unverified .*source=local-dsn" 20 "$mark" &&
    bg_pass "1. the same with -t (recipients from the headers): unverified"
mark=$(wc -l < "$dlog")
forged_dsn f3 victim@good.test | pf_sendmail -f '' app@site.test || bg_fail "1. root's sendmail failed"
q=$(pf_qid_for_msgid "f3@mta.site.test")
pf_wait_grep "$dlog" "$q: action=ignore rcpt=<victim@good\.test> reason=unverified .*source=local-dsn" 20 "$mark" &&
    bg_pass "1. the same submitted by root: only Postfix's bounce cleanup is trusted"
ln_expect_none "$conf" victim@good.test "1. after three local forgeries"
bg_assert_not_grep "action=(suppress|count) rcpt=<victim@good\.test>" "$dlog" \
    "1. no decision of any kind was taken for victim"

# ------------------------------------------------ 2. Postfix's own DSN
ln_send "$PF_SUBMISSION_PORT" h1 bob@bad.test
q=$LN_QID
pf_wait_log "$q: sender non-delivery notification: [0-9A-F]+" && b=${PF_LINE##*: }
pf_wait_grep "$dlog" "$q: action=suppress rcpt=<bob@bad\.test> class=hard reason=userunknown .* source=postfix-dsn expires=never\$" &&
    bg_pass "2. Postfix's real DSN $b (through bouncegate-cleanup) is trusted: bob suppressed"
grep -Eq "postfix/bouncegate-cleanup(/cleanup)?\[[0-9]+\]: $b: " "$PF_MAILLOG" &&
    bg_pass "2. ... the maillog shows the DSN went through the bouncegate-cleanup service" ||
    bg_fail "2. the DSN $b did not go through bouncegate-cleanup: $(grep "$b" "$PF_MAILLOG" | head -n 3)"
ln_send "$PF_SUBMISSION_PORT" h2 bob@bad.test alice@good.test
bg_assert_grep '^RCPT TO:<bob@bad\.test> -> 550 5\.1\.1 ' "$BG_TMP/h2.out" "2. the next RCPT TO:<bob@bad.test> is refused"

# ------------------------------------------------ 3. co-recipients
ln_send "$PF_SUBMISSION_PORT" both alice@good.test eve@good.test
pf_wait_log "$LN_QID: to=<eve@good\.test>,.* status=sent" > /dev/null
bg_assert_eq "" "$(ln_tag both)" "3. a message to alice and eve carries no X-Bouncegate-Tag"
# alice forges a hard bounce for eve with the headers she received
hdrs=$(awk -v id="<both@site.test>" '
    /^X-Client-Addr:/ { if (found) exit; block = ""; hdr = 1; next }
    hdr && /^$/ { hdr = 0; next }
    hdr { block = block $0 "\n"; if (index($0, id)) found = 1 }
    END { printf "%s", block }' "$PF_SINK_DIR/good.dump" | grep -v '^Message-ID:')
mark=$(wc -l < "$dlog")
forged_dsn co1 eve@good.test "$hdrs" | sed 's/^\.$/../' |
    { printf 'EHLO mx.good.test\nMAIL FROM:<>\nRCPT TO:<bounces@site.test>\nDATA\n'; cat; printf '.\nQUIT\n'; } |
    pf_smtp "$PF_SMTP_PORT" > "$BG_TMP/co1.out"
pf_wait_grep "$dlog" "action=ignore rcpt=<eve@good\.test> reason=unverified problem=\"no tag header\" source=remote-dsn" 20 "$mark" &&
    bg_pass "3. alice's report for eve, with the shared message's headers: unverified"

ln_send "$PF_SUBMISSION_PORT" eve1 eve@good.test
eq=$LN_QID
pf_wait_log "$eq: to=<eve@good\.test>,.* status=sent" > /dev/null
tag=$(ln_tag eve1)
bg_assert_match "^v=2; t=[0-9]+; q=$eq; r=[A-Za-z0-9_-]{16}\$" "$tag" \
    "3. eve's own one-recipient message carries a v=2 tag bound to its queue id ($tag)"
mark=$(wc -l < "$dlog")
forged_dsn co2 alice@good.test "X-Bouncegate-Tag: $tag" |
    { printf 'EHLO mx.good.test\nMAIL FROM:<>\nRCPT TO:<bounces@site.test>\nDATA\n'; cat; printf '.\nQUIT\n'; } |
    pf_smtp "$PF_SMTP_PORT" > "$BG_TMP/co2.out"
pf_wait_grep "$dlog" "action=ignore rcpt=<alice@good\.test> reason=unverified problem=\"no tag for recipient\" source=remote-dsn" 20 "$mark" &&
    bg_pass "3. eve's tag in a report about alice proves nothing"
ln_expect_none "$conf" alice@good.test "3. co-recipient forgeries"
for i in 1 2; do
    mark=$(wc -l < "$dlog")
    forged_dsn "real$i" eve@good.test "X-Bouncegate-Tag: $tag" |
        { printf 'EHLO mx.good.test\nMAIL FROM:<>\nRCPT TO:<bounces@site.test>\nDATA\n'; cat; printf '.\nQUIT\n'; } |
        pf_smtp "$PF_SMTP_PORT" > "$BG_TMP/real$i.out"
    if [ "$i" = 1 ]; then
        pf_wait_grep "$dlog" "$eq: action=suppress rcpt=<eve@good\.test> class=hard .* source=remote-dsn" 20 "$mark" &&
            bg_pass "3. a report about eve with eve's tag counts, under the tag's queue id $eq"
    else
        pf_wait_grep "$dlog" "$eq: action=duplicate rcpt=<eve@good\.test> " 20 "$mark" &&
            bg_pass "3. the same tag replayed in a second report is a duplicate of that message"
    fi
done
ln_wait_show "$conf" eve@good.test && bg_assert_eq "$eq" "$(ln_field id)" "3. eve's evidence names her message's queue id"

pf_stop
pf_stop_daemon && bg_pass "daemon stopped cleanly"
pf_finish
