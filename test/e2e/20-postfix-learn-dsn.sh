#!/bin/bash
# shellcheck source=test/e2e/lib-learn.sh disable=SC2119
# 20-postfix-learn-dsn: bouncegate learns from Postfix's own DSNs and from
# reports that come back over SMTP, inside a real private Postfix, and
# enforces what it learned at the next RCPT TO. All components are real:
# Postfix 3.x (internal_mail_filter_classes = bounce, smtpd_milters and
# non_smtpd_milters with default_action=accept), memcached, bouncegate with
# a SigningKeyFile and ReportRecipients, smtp-sink servers on loopback
# playing the remote MXs (bad.test: 550 5.1.1 at RCPT, full.test: 452
# 4.2.2, rep.test: 550 5.7.1 poor reputation, spam.test: 554 5.7.1
# Spamhaus, good.test/site.test: accept).
#
# A second, independent set (KeyPrefix lw:) is fed by bouncegate-logwatch
# alone, following the instance's maillog: the log path must reach the same
# decisions as the DSN path for every address the log sees.
#
#   1. hard: 550 5.1.1 at RCPT -> Postfix bounces -> its DSN passes the
#      milter -> bob@bad.test suppressed (class hard, source postfix-dsn);
#      the next submission gets 550 at RCPT TO for bob while the other
#      recipient of that message is delivered.
#   2. the same through sendmail(1) (non-SMTP path): learned from the DSN,
#      then removed from the next message, the other recipient delivered.
#   3. soft: 452 4.2.2. maximal_queue_lifetime = 0 makes Postfix try each
#      message once: it logs "status=deferred", then "status=expired,
#      returned to sender", and its DSN (Action: failed, Status: 4.2.2)
#      passes the milter right away. delay_warning_time stays 0 (no delay
#      DSNs), so the DSN path counts each message exactly once (the
#      daemon's line, queue id first) and the log path (lw:) counts the one
#      deferral of each message. Three messages -> suppressed (class soft),
#      two -> not.
#   4. blocks: 550 5.7.1 reputation and 554 5.7.1 Spamhaus -> classified
#      block, nobody suppressed, the next message to them accepted at RCPT.
#   5. reports from outside, over SMTP to the inbound MX (the plain smtp
#      service), to the ReportRecipients mailboxes: a forged DSN and a
#      forged ARF (no tag; another recipient's tag) change nothing and are
#      accepted (250) and delivered; the same reports carrying the
#      X-Bouncegate-Tag that bouncegate added to a real outbound message
#      (taken from the good.test server's dump) suppress (source remote-dsn
#      / arf, class hard / complaint).
#   6. log path (lw:) vs DSN path (e2e:): same class for every address, the
#      same decision sequence (action, class, reason, status) per address.
. "$(dirname "$0")/lib-learn.sh"
bg_tmpdir
bg_start_memcached
ln_start_daemon
dlog=$LN_DLOG
conf=$LN_CONF

pf_sinks_start
pf_sink rep -f RCPT -B "550 5.7.1 Message rejected due to poor sender reputation"
pf_sink spam -f RCPT -B "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"
pf_route rep.test rep
pf_route spam.test spam
# Each message is tried once: a soft failure expires at once and is returned
# with a DSN (see 3.). No delay DSNs (delay_warning_time = 0h, the harness's).
pf_setup "$BG_TMP/pf" "$BG_SOCK" maximal_queue_lifetime=0 bounce_queue_lifetime=0
pf_start
bg_pass "Postfix up: smtp (inbound) :$PF_SMTP_PORT, submission :$PF_SUBMISSION_PORT, milter $PF_MILTER"

# The log-only set: same memcached, its own KeyPrefix.
lwconf=$BG_TMP/lw.conf
ln_write_conf "$lwconf" lw:
ln_start_logwatch lw "$lwconf"
lwlog=$BG_TMP/lw.log
bg_pass "bouncegate-logwatch follows $(basename "$PF_MAILLOG") into KeyPrefix lw:"

reject_re() { echo "550 5\.1\.1 <$1>: recipient suppressed after hard bounce on [0-9-]{10} \(userunknown\)"; }

# ------------------------------------------------------------ 1. hard, SMTP
ln_send "$PF_SUBMISSION_PORT" h1 bob@bad.test
q=$LN_QID
bg_assert_match '^[0-9A-F]+$' "$q" "hard: message to bob@bad.test queued ($q)"
pf_wait_log "$q: to=<bob@bad\.test>,.* dsn=5\.1\.1, status=bounced \(host [^ ]+ said: 550 5\.1\.1 User unknown \(in reply to RCPT TO command\)\)" &&
    bg_pass "hard: the bad.test server refused bob at RCPT with 550 5.1.1"
pf_wait_log "$q: sender non-delivery notification: [0-9A-F]+" && b=${PF_LINE##*: }
pf_wait_grep "$dlog" "$q: action=suppress rcpt=<bob@bad\.test> class=hard reason=userunknown status=5\.1\.1 rule=[^ ]+ source=postfix-dsn expires=never\$" &&
    bg_pass "hard: bouncegate read Postfix's DSN $b (logged under the original queue id $q)"
ln_wait_show "$conf" bob@bad.test && ln_expect_entry "$conf" bob@bad.test hard postfix-dsn "hard"
pf_wait_grep "$lwlog" "$q: action=suppress rcpt=<bob@bad\.test> class=hard .* source=log " &&
    bg_pass "hard: the log path (lw:) learned the same bounce from the maillog line"
bg_assert_eq "$q" "$(ln_field id)" "hard: the evidence names the bounced message's queue id"
bg_assert_eq 5.1.1 "$(ln_field status)" "hard: ... and status 5.1.1"
pf_wait_log "$b: to=<app@site\.test>,.* status=sent" &&
    bg_pass "hard: the DSN itself was accepted by the milter and delivered to the sender"

ln_send "$PF_SUBMISSION_PORT" h2 bob@bad.test alice@good.test
sed 's/^/    # /' "$BG_TMP/h2.out"
bg_assert_grep "^RCPT TO:<bob@bad\.test> -> $(reject_re bob@bad.test)\$" "$BG_TMP/h2.out" \
    "hard: next submission: RCPT TO:<bob@bad.test> refused with bouncegate's 550"
bg_assert_grep '^RCPT TO:<alice@good\.test> -> 250 ' "$BG_TMP/h2.out" "hard: ... RCPT TO:<alice@good.test> accepted"
q2=$LN_QID
pf_wait_log "$q2: to=<alice@good\.test>,.* status=sent" && bg_pass "hard: alice delivered ($q2, status=sent)"
pf_wait_log "postfix/qmgr\[[0-9]+\]: $q2: removed"
bg_assert_not_grep "$q2: to=<bob@bad\.test>" "$PF_MAILLOG" "hard: no delivery attempt to bob"

# ------------------------------------------------------ 2. hard, sendmail(1)
ln_sendmail n1 bob2@bad.test
q=$LN_QID
pf_wait_grep "$dlog" "$q: action=suppress rcpt=<bob2@bad\.test> class=hard reason=userunknown .* source=postfix-dsn" &&
    bg_pass "sendmail: bob2's bounce learned from the DSN ($q)"
ln_wait_show "$conf" bob2@bad.test && ln_expect_entry "$conf" bob2@bad.test hard postfix-dsn "sendmail"
pf_wait_grep "$lwlog" "$q: action=suppress rcpt=<bob2@bad\.test> class=hard .* source=log " > /dev/null
ln_sendmail n2 bob2@bad.test alice@good.test
q=$LN_QID
pf_wait_log "$q: to=<alice@good\.test>,.* status=sent" && bg_pass "sendmail: alice delivered ($q)"
pf_wait_log "postfix/qmgr\[[0-9]+\]: $q: removed"
bg_assert_grep "$q: sid=[0-9A-F]+ action=remove from=<[^>]*> rcpt=<bob2@bad\.test> class=hard reason=userunknown .* path=nonsmtp\$" \
    "$dlog" "sendmail: bob2 removed at end of message"
bg_assert_not_grep "$q: to=<bob2@bad\.test>" "$PF_MAILLOG" "sendmail: no delivery attempt to bob2"

# ------------------------------------------------------------ 3. soft
# carol@full.test: three messages; dave@full.test: two (in the first two).
# After each message both paths must have counted it before the next one
# is sent, so the counts are 1, 2, 3 in order.
for i in 1 2 3; do
    if [ "$i" -lt 3 ]; then
        ln_send "$PF_SUBMISSION_PORT" s$i carol@full.test dave@full.test
    else
        ln_send "$PF_SUBMISSION_PORT" s$i carol@full.test
    fi
    q=$LN_QID
    pf_wait_log "$q: to=<carol@full\.test>,.* dsn=4\.2\.2, status=deferred \(host [^ ]+ said: 452 4\.2\.2 Mailbox full" || continue
    pf_wait_log "$q: from=<app@site\.test>, status=expired, returned to sender" || continue
    act=count
    [ "$i" = 3 ] && act=suppress
    pf_wait_grep "$dlog" "$q: action=$act rcpt=<carol@full\.test> class=soft reason=mailboxfull status=4\.2\.2 rule=[^ ]+ source=postfix-dsn count=$i( |\$)" &&
        bg_pass "soft: message $i ($q): the expiry DSN counted carol ($act, count=$i)"
    pf_wait_grep "$lwlog" "$q: action=$act rcpt=<carol@full\.test> class=soft reason=mailboxfull status=4\.2\.2 rule=[^ ]+ source=log count=$i( |\$)" &&
        bg_pass "soft: message $i ($q): the deferral in the log counted carol in lw: ($act, count=$i)"
    if [ "$i" -lt 3 ]; then
        pf_wait_grep "$dlog" "$q: action=count rcpt=<dave@full\.test> class=soft .* source=postfix-dsn count=$i\$" &&
            bg_pass "soft: message $i ($q): dave counted ($i)"
        pf_wait_grep "$lwlog" "$q: action=count rcpt=<dave@full\.test> class=soft .* source=log count=$i\$"
        ln_expect_none "$conf" carol@full.test "soft: after $i message(s)"
    fi
done
ln_expect_entry "$conf" carol@full.test soft postfix-dsn "soft: three messages"
bg_assert_eq 3 "$(ln_field count)" "soft: ... count 3"
bg_assert_match '^20[0-9-]+T' "$(ln_field expires)" "soft: ... expires (SoftTTL)"
ln_expect_none "$conf" dave@full.test "soft: two messages"
n=$(grep -cE 'action=(count|suppress|duplicate|none) rcpt=<carol@full\.test> class=' "$dlog")
bg_assert_eq 3 "$n" "soft: one DSN decision per message for carol, no more"

# ------------------------------------------------------------ 4. blocks
ln_send "$PF_SUBMISSION_PORT" b1 ok1@rep.test ok2@spam.test alice@good.test
q=$LN_QID
pf_wait_grep "$dlog" "$q: action=none rcpt=<ok1@rep\.test> class=block reason=badreputation status=5\.7\.1 .*source=postfix-dsn\$" &&
    bg_pass "block: 550 5.7.1 poor reputation -> class block, action none"
pf_wait_grep "$dlog" "$q: action=none rcpt=<ok2@spam\.test> class=block reason=blocked status=5\.7\.1 .*source=postfix-dsn\$" &&
    bg_pass "block: 554 5.7.1 Spamhaus -> class block, action none"
# (the log path's decisions too, compared in 6.)
pf_wait_grep "$lwlog" "$q: action=none rcpt=<ok1@rep\.test> class=block" > /dev/null
pf_wait_grep "$lwlog" "$q: action=none rcpt=<ok2@spam\.test> class=block" > /dev/null
ln_expect_none "$conf" ok1@rep.test "block"
ln_expect_none "$conf" ok2@spam.test "block"
ln_send "$PF_SUBMISSION_PORT" b2 ok1@rep.test ok2@spam.test
bg_assert_grep '^RCPT TO:<ok1@rep\.test> -> 250 ' "$BG_TMP/b2.out" "block: next message to ok1 accepted at RCPT"
bg_assert_grep '^RCPT TO:<ok2@spam\.test> -> 250 ' "$BG_TMP/b2.out" "block: next message to ok2 accepted at RCPT"
q=$LN_QID
for f in "$dlog" "$lwlog"; do
    for a in 'ok1@rep\.test' 'ok2@spam\.test'; do
        pf_wait_grep "$f" "$q: action=none rcpt=<$a> class=block" > /dev/null
    done
done

# ------------------------------------------------ 5. reports from outside
# Real outbound messages to eve and zoe: bouncegate tags them; the tag is
# read back from what the good.test server received.
ln_send "$PF_SUBMISSION_PORT" t-eve eve@good.test
pf_wait_log "$LN_QID: to=<eve@good\.test>,.* status=sent"
ln_send "$PF_SUBMISSION_PORT" t-zoe zoe@good.test
pf_wait_log "$LN_QID: to=<zoe@good\.test>,.* status=sent"
eve_tag=$(ln_tag t-eve)
zoe_tag=$(ln_tag t-zoe)
bg_assert_match '^v=2; t=[0-9]+; q=[0-9A-F]+; r=[A-Za-z0-9_-]{16}$' "$eve_tag" "report: the delivered message carries X-Bouncegate-Tag ($eve_tag)"
bg_assert_match '^v=2; t=[0-9]+; q=[0-9A-F]+; r=[A-Za-z0-9_-]{16}$' "$zoe_tag" "report: ... so does zoe's"

# dsn_report ID RCPT EXTRA-HEADER - an asynchronous DSN from a remote MX to
# the return-path mailbox, with the original headers returned.
dsn_report() {
    cat <<EOF
EHLO mx.remote.test
MAIL FROM:<>
RCPT TO:<bounces@site.test>
DATA
From: Mail Delivery System <MAILER-DAEMON@mx.remote.test>
To: bounces@site.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <$1@mx.remote.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="R"

--R
Content-Type: text/plain

Your message could not be delivered.

--R
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.test

Final-Recipient: rfc822; $2
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <$2>: Recipient address rejected: User unknown

--R
Content-Type: text/rfc822-headers

From: app@site.test
To: $2
Subject: e2e
Message-ID: <t-${2%@*}@site.test>
$3

--R--
.
QUIT
EOF
}
# arf_report ID RCPT EXTRA-HEADER - a feedback-loop complaint (ARF) to the
# FBL mailbox, with the original message.
arf_report() {
    cat <<EOF
EHLO fbl.provider.test
MAIL FROM:<fbl@provider.test>
RCPT TO:<fbl@site.test>
DATA
From: fbl@provider.test
To: fbl@site.test
Subject: complaint about message from 127.0.0.1
Message-ID: <$1@provider.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: provider-fbl/1.0
Version: 1
Original-Rcpt-To: $2

--F
Content-Type: message/rfc822

From: app@site.test
To: $2
Subject: e2e
Message-ID: <t-${2%@*}@site.test>
$3

hello
--F--
.
QUIT
EOF
}
# report NAME KIND RCPT HEADER - sends it to the inbound MX; checks it was
# accepted and delivered to its mailbox; waits for bouncegate's decision.
report() {
    local name=$1 kind=$2 rcpt=$3 hdr=$4 box q
    case $kind in dsn) box=bounces ;; arf) box=fbl ;; esac
    "${kind}_report" "$name" "$rcpt" "$hdr" | pf_smtp "$PF_SMTP_PORT" > "$BG_TMP/$name.out" 2>&1
    if grep -q "^RCPT TO:<$box@site\.test> -> 250 " "$BG_TMP/$name.out" &&
       grep -q '^\. -> 250 .*queued as ' "$BG_TMP/$name.out"; then
        bg_pass "report $name: accepted by the inbound MX (250 at RCPT and after DATA)"
    else
        sed 's/^/    /' "$BG_TMP/$name.out"
        bg_fail "report $name: not accepted"
    fi
    q=$(sed -n 's/^\. -> 250 .*queued as \([0-9A-F]*\)$/\1/p' "$BG_TMP/$name.out")
    pf_wait_log "$q: to=<$box@site\.test>,.* status=sent" > /dev/null &&
        bg_pass "report $name: delivered to $box@site.test"
}

mark=$(wc -l < "$dlog")
report forged-dsn dsn eve@good.test "X-Mailer: forged"
pf_wait_grep "$dlog" 'action=ignore rcpt=<eve@good\.test> reason=unverified problem="no tag header" source=remote-dsn' 10 "$mark" &&
    bg_pass "report forged-dsn: logged as unverified"
ln_expect_none "$conf" eve@good.test "report forged-dsn (no tag)"
mark=$(wc -l < "$dlog")
report forged-dsn2 dsn mallory@good.test "X-Bouncegate-Tag: $eve_tag"
pf_wait_grep "$dlog" 'action=ignore rcpt=<mallory@good\.test> reason=unverified problem="no tag for recipient"' 10 "$mark"
ln_expect_none "$conf" mallory@good.test "report forged-dsn2 (eve's tag, another recipient)"
mark=$(wc -l < "$dlog")
report forged-arf arf zoe@good.test "X-Mailer: forged"
pf_wait_grep "$dlog" 'action=ignore rcpt=<zoe@good\.test> reason=unverified problem="no tag header" source=arf' 10 "$mark" &&
    bg_pass "report forged-arf: logged as unverified"
ln_expect_none "$conf" zoe@good.test "report forged-arf (no tag)"

report signed-dsn dsn eve@good.test "X-Bouncegate-Tag: $eve_tag"
ln_wait_show "$conf" eve@good.test && ln_expect_entry "$conf" eve@good.test hard remote-dsn "report signed-dsn"
report signed-arf arf zoe@good.test "X-Bouncegate-Tag: $zoe_tag"
ln_wait_show "$conf" zoe@good.test && ln_expect_entry "$conf" zoe@good.test complaint arf "report signed-arf"
ln_send "$PF_SUBMISSION_PORT" t-after eve@good.test zoe@good.test alice@good.test
bg_assert_grep '^RCPT TO:<eve@good\.test> -> 550 5\.1\.1 ' "$BG_TMP/t-after.out" "report: eve refused at RCPT now"
bg_assert_grep '^RCPT TO:<zoe@good\.test> -> 550 ' "$BG_TMP/t-after.out" "report: zoe (complaint) refused at RCPT now"
bg_assert_grep '^RCPT TO:<alice@good\.test> -> 250 ' "$BG_TMP/t-after.out" "report: alice still accepted"

# ------------------------------------------- 6. the log path, compared
# Every address the maillog saw fail, decided from the log alone (lw:) and
# from the DSNs (e2e:): same outcome, same decisions in the same order.
for a in bob@bad.test bob2@bad.test carol@full.test dave@full.test ok1@rep.test ok2@spam.test; do
    ln_show "$conf" "$a"; r1=$?; c1=$(ln_field class)
    ln_show "$lwconf" "$a"; r2=$?; c2=$(ln_field class); s2=$(ln_field source)
    if [ "$r1" = "$r2" ] && [ "$c1" = "$c2" ] && { [ "$r2" = 1 ] || [ "$s2" = log ]; }; then
        bg_pass "log vs DSN: $a $([ "$r1" = 0 ] && echo "suppressed ($c1) by both" || echo "suppressed by neither")"
    else
        bg_fail "log vs DSN: $a: DSN path rc=$r1 class=$c1, log path rc=$r2 class=$c2 source=$s2"
    fi
    d1=$(grep -oE "action=[a-z]+ rcpt=<$a> class=[a-z]+ reason=[a-z]+ status=[0-9.]+" "$dlog")
    d2=$(grep -oE "action=[a-z]+ rcpt=<$a> class=[a-z]+ reason=[a-z]+ status=[0-9.]+" "$lwlog")
    if [ -n "$d1" ] && [ "$d1" = "$d2" ]; then
        summary=$(while read -r act _ rest; do echo "$act $rest"; done <<< "$d1" | sort | uniq -c |
            awk '{ n = $1; $1 = ""; printf "%s%s x%d", sep, substr($0, 2), n; sep = "; " }')
        bg_pass "log vs DSN: $a: the same $(wc -l <<< "$d1") decision(s): $summary"
    else
        diff <(echo "$d1") <(echo "$d2") | sed 's/^/    /'
        bg_fail "log vs DSN: $a: decisions differ (< DSN path, > log path)"
    fi
done

pf_stop
pf_stop_daemon && bg_pass "daemon stopped cleanly"
pf_finish
