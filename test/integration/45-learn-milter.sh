#!/bin/bash
# Learning through the milter: Postfix's own DSNs (non-SMTP path, null
# sender, {daemon_name} = DSNDaemonName) are trusted and update the set per
# the policy; other null-sender mail on the non-SMTP path is not; reports from
# outside count only with a valid recipient tag in the returned headers;
# reports are never refused; a block never suppresses anyone.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached
port=$(bg_free_port) || bg_fatal "no free port"
key=$BG_TMP/key
echo "test-signing-key-0123456789" > "$key"; chmod 640 "$key"; chown nobody "$key" 2>/dev/null
conf=$BG_TMP/bg.conf
cat > "$conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix ln:
UserID nobody
OutboundDaemons submission
SigningKeyFile $key
ReportRecipients bounces@site.example fbl@site.example
LogLevel info
OutageRecipients 3
StatsInterval 1s
CONF
chmod 644 "$conf"
ctl() { "$BG_CTL" -c "$conf" "$@"; }
bg_start_daemon "$conf"

# A Postfix-generated DSN as cleanup hands it to non_smtpd_milters:
# bare null sender, bare recipient, from localhost, through the cleanup
# service of Postfix's bounce daemon ({daemon_name} = DSNDaemonName).
dsn_script() { # dsn_script QID RCPT STATUS DIAG ACTION
    cat <<IN
macro connect {daemon_name}=bouncegate-dsn
connect localhost 127.0.0.1
macro mail i=B$1
mail
macro rcpt i=B$1
rcpt app@site.example
data
header From: Mail Delivery System <MAILER-DAEMON@mx.site.example>
header To: app@site.example
header Subject: Undelivered Mail Returned to Sender
header MIME-Version: 1.0
header Content-Type: multipart/report; report-type=delivery-status; boundary="BND"
eoh
body --BND
body Content-Type: text/plain
body
body I'm sorry to have to inform you that your message could not be delivered.
body
body --BND
body Content-Type: message/delivery-status
body
body Reporting-MTA: dns; mx.site.example
body X-Postfix-Queue-ID: $1
body Arrival-Date: Mon, 23 Nov 2026 13:00:00 +0000
body
body Final-Recipient: rfc822; $2
body Original-Recipient: rfc822;$2
body Action: $5
body Status: $3
body Remote-MTA: dns; mx.remote.example
body Diagnostic-Code: smtp; $4
body
body --BND
body Content-Type: text/rfc822-headers
body
body From: app@site.example
body To: $2
body Message-ID: <$1@site.example>
body
body --BND--
macro eom i=B$1
eom
IN
}
run() { "$BG_MTCLIENT" "$BG_SOCK" > "$BG_TMP/out" 2>&1; }

# 0. the same DSN as a local user submits it (sendmail -f ''): the non-SMTP
#    path, but another {daemon_name} (pickup's cleanup): not trusted
dsn_script AAA0 forged@bad.example 5.1.1 "550 5.1.1 User unknown" failed |
    sed '/^macro connect/d' | run
bg_assert_grep '^eom: accept$' "$BG_TMP/out" "a locally submitted DSN is accepted"
bg_assert_rc 1 "a locally submitted DSN suppresses nobody" ctl show forged@bad.example
bg_assert_grep 'action=ignore rcpt=<forged@bad.example> reason=unverified problem="no tag header" source=local-dsn' \
    "$BG_TMP/daemon.log" "... logged as unverified, source local-dsn"
dsn_script AAA0 forged@bad.example 5.1.1 "550 5.1.1 User unknown" failed |
    sed 's/^macro connect .*/macro connect {daemon_name}=submission/' | run
bg_assert_rc 1 "... nor with another service's {daemon_name}" ctl show forged@bad.example

# 1. a hard bounce: suppressed at once, evidence kept
dsn_script AAA1 bob@bad.example 5.1.1 "550 5.1.1 <bob@bad.example>: Recipient address rejected: User unknown (in reply to RCPT TO command)" failed | run
bg_assert_grep '^eom: accept$' "$BG_TMP/out" "Postfix's DSN is accepted, never refused"
bg_assert_rc 0 "hard bounce → suppressed" ctl show bob@bad.example
out=$(ctl show bob@bad.example)
bg_assert_match 'class +hard' "$out" "class hard"
bg_assert_match 'reason +userunknown' "$out" "reason userunknown"
bg_assert_match 'source +postfix-dsn' "$out" "source postfix-dsn"
bg_assert_match 'id +AAA1' "$out" "evidence names the original queue id"
bg_assert_match 'diag +550 5.1.1' "$out" "diagnostic text kept"
bg_assert_grep 'AAA1: action=suppress rcpt=<bob@bad.example> class=hard reason=userunknown status=5.1.1 rule=[^ ]+ source=postfix-dsn' \
    "$BG_TMP/daemon.log" "learning decision logged, queue id first"

# 2. the next submission to bob is rejected at RCPT
printf 'macro connect {daemon_name}=submission\nconnect app 203.0.113.5\nmail <app@site.example>\nrcpt <bob@bad.example>\nrcpt <carol@good.example>\ndata\n' | run
bg_assert_grep 'rcpt <bob@bad.example>: reply 550 5.1.1 <bob@bad.example>: recipient suppressed after hard bounce' \
    "$BG_TMP/out" "learned address rejected at RCPT"
bg_assert_grep 'rcpt <carol@good.example>: continue' "$BG_TMP/out" "other recipient goes on"

# 3. soft: 452 4.2.2 for three separate messages suppresses (Postfix's
#    final bounce after the queue lifetime keeps the 4.x.x status); the
#    same message reported twice counts once; a delay notice (Action:
#    delayed, the MTA still trying) counts for nothing - the bounce that
#    follows it does, and a delivery after it would never be reported
for q in D1 D2 D3 D4; do
    dsn_script $q full@full.example 4.2.2 "452 4.2.2 Mailbox full (in reply to RCPT TO command)" delayed | run
done
bg_assert_rc 1 "four delay notices → not suppressed" ctl show full@full.example
bg_assert_grep 'D4: action=none rcpt=<full@full.example> class=soft reason=mailboxfull .* delay=not-counted' \
    "$BG_TMP/daemon.log" "a delay notice is logged as not counted"
for q in S1 S1 S2; do
    dsn_script $q full@full.example 4.2.2 "452 4.2.2 Mailbox full (in reply to RCPT TO command)" failed | run
done
bg_assert_rc 1 "two soft messages (one reported twice) → not suppressed" ctl show full@full.example
dsn_script S3 full@full.example 4.2.2 "452 4.2.2 Mailbox full (in reply to RCPT TO command)" failed | run
bg_assert_rc 0 "third soft message → suppressed" ctl show full@full.example
bg_assert_match 'class +soft' "$(ctl show full@full.example)" "suppressed with class soft"
bg_assert_match 'expires +20' "$(ctl show full@full.example)" "soft suppression expires"

# 4. blocks never suppress
dsn_script BL1 ok1@block.example 5.7.1 "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org" failed | run
dsn_script BL2 ok2@block.example 5.1.1 "550 5.1.1 Message rejected: client [192.0.2.1] blocked using Spamhaus" failed | run
dsn_script BL3 ok3@block.example 5.7.1 "550 5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked." failed | run
for a in ok1 ok2 ok3; do
    bg_assert_rc 1 "block ($a) → nobody suppressed" ctl show $a@block.example
done
bg_assert_grep 'action=none rcpt=<ok1@block.example> class=block' "$BG_TMP/daemon.log" "block decision logged"

# 4b. a dead domain: hostunknown from two different recipients → the
#     domain itself is suppressed, so a third address there is refused
for a in a1 a2; do
    dsn_script D$a $a@gone.example 5.1.2 "Host or domain name not found. Name service error for name=gone.example type=MX: Host not found" failed | run
done
bg_assert_rc 0 "dead domain: an address never sent to is covered" ctl show a3@gone.example
bg_assert_match 'scope +domain' "$(ctl show a3@gone.example)" "by the domain entry"
bg_assert_grep 'action=suppress rcpt=<a2@gone.example> class=hard reason=hostunknown .*domain=suppressed' \
    "$BG_TMP/daemon.log" "domain suppression logged"

# 4c. an outage: more than OutageRecipients (3) distinct recipients of one
#     domain failing soft at once is the domain's problem: warned once, and
#     those failures count against nobody
for a in o1 o2 o3 o4; do
    dsn_script O$a $a@busy.example 4.7.0 "421 4.7.0 Try again later, closing connection" failed | run
done
for q in X1 X2 X3; do
    dsn_script $q o4@busy.example 4.7.0 "421 4.7.0 Try again later, closing connection" failed | run
done
bg_assert_rc 1 "outage: three soft failures of o4 during it do not suppress" ctl show o4@busy.example
n=$(grep -c 'action=outage domain=busy.example' "$BG_TMP/daemon.log")
bg_assert_eq 1 "$n" "outage warned once"

# 5. reports from outside (SMTP, null sender): forged → nothing; tagged → learned
# Send an outbound message to get the daemon's tag for eve@remote.example.
printf 'macro connect {daemon_name}=submission\nconnect app 203.0.113.5\nmail <app@site.example>\nrcpt <eve@remote.example>\ndata\nheader Subject: hi\neoh\nbody hello\nmacro eom i=5E1A2B3C4D\neom\n' | run
tag=$(sed -n 's/^addheader X-Bouncegate-Tag: //p' "$BG_TMP/out")
bg_assert_match '^v=2; t=[0-9]+; q=5E1A2B3C4D; r=[A-Za-z0-9_-]{16}$' "$tag" \
    "outbound mail to one recipient gets a tag bound to its queue id"
# Two recipients: no tag (each would see the other's).
printf 'macro connect {daemon_name}=submission\nconnect app 203.0.113.5\nmail <app@site.example>\nrcpt <eve@remote.example>\nrcpt <ann@remote.example>\ndata\nheader Subject: hi\neoh\nbody hello\nmacro eom i=5E1A2B3C4E\neom\n' | run
bg_assert_not_grep '^addheader X-Bouncegate-Tag' "$BG_TMP/out" "a message with two recipients gets no tag"
# A recipient asking for success or delay notices: they would return the
# tag to the sender, so no tag (NOTIFY=FAILURE alone is fine).
printf 'macro connect {daemon_name}=submission\nconnect app 203.0.113.5\nmail <app@site.example>\nrcpt <eve@remote.example> NOTIFY=SUCCESS,FAILURE\ndata\nheader Subject: hi\neoh\nbody hello\nmacro eom i=5E1A2B3C51\neom\n' | run
bg_assert_not_grep '^addheader X-Bouncegate-Tag' "$BG_TMP/out" "a recipient asking for success notices: no tag"
printf 'macro connect {daemon_name}=submission\nconnect app 203.0.113.5\nmail <app@site.example>\nrcpt <eve@remote.example> notify=delay\ndata\nheader Subject: hi\neoh\nbody hello\nmacro eom i=5E1A2B3C52\neom\n' | run
bg_assert_not_grep '^addheader X-Bouncegate-Tag' "$BG_TMP/out" "... nor for delay notices"
printf 'macro connect {daemon_name}=submission\nconnect app 203.0.113.5\nmail <app@site.example>\nrcpt <eve@remote.example> NOTIFY=FAILURE\ndata\nheader Subject: hi\neoh\nbody hello\nmacro eom i=5E1A2B3C53\neom\n' | run
bg_assert_grep '^addheader X-Bouncegate-Tag: v=2; t=[0-9]+; q=5E1A2B3C53; ' "$BG_TMP/out" "NOTIFY=FAILURE alone: tagged"
# ... also when the other one is an address bouncegate cannot read.
printf 'macro connect {daemon_name}=submission\nconnect app 203.0.113.5\nmail <app@site.example>\nrcpt <eve@remote.example>\nrcpt <not an address>\ndata\nheader Subject: hi\neoh\nbody hello\nmacro eom i=5E1A2B3C50\neom\n' | run
bg_assert_grep '^rcpt .*not an address.*: continue$' "$BG_TMP/out" "(the unreadable recipient is accepted)"
bg_assert_not_grep '^addheader X-Bouncegate-Tag' "$BG_TMP/out" "... a message with an unreadable second recipient gets no tag either"
remote() { # remote RCPT TAGHEADER
    cat <<IN
connect mx.remote.example 192.0.2.50
mail <>
rcpt <bounces@site.example>
data
header From: MAILER-DAEMON@mx.remote.example
header Content-Type: multipart/report; report-type=delivery-status; boundary="R"
eoh
body --R
body Content-Type: message/delivery-status
body
body Reporting-MTA: dns; mx.remote.example
body
body Final-Recipient: rfc822; $1
body Action: failed
body Status: 5.1.1
body Diagnostic-Code: smtp; 550 5.1.1 No such user
body
body --R
body Content-Type: text/rfc822-headers
body
body From: app@site.example
body To: $1
body Message-ID: <m1@site.example>
body $2
body
body --R--
eom
IN
}
remote eve@remote.example "X-Other: none" | run
bg_assert_grep '^eom: accept$' "$BG_TMP/out" "a report from outside is accepted"
bg_assert_rc 1 "forged DSN (no tag) → nothing suppressed" ctl show eve@remote.example
bg_assert_grep 'action=ignore rcpt=<eve@remote.example> reason=unverified problem="no tag header" source=remote-dsn' \
    "$BG_TMP/daemon.log" "unverified report logged"
remote mallory@remote.example "X-Bouncegate-Tag: $tag" | run
bg_assert_rc 1 "a valid tag for another recipient does not verify" ctl show mallory@remote.example
remote eve@remote.example "X-Bouncegate-Tag: $tag" | run
bg_assert_rc 0 "DSN with a valid tag → suppressed" ctl show eve@remote.example
bg_assert_match 'source +remote-dsn' "$(ctl show eve@remote.example)" "source remote-dsn"

# 6. ARF complaint to the FBL mailbox (non-null sender)
arf() { # arf RCPT TAGHEADER
    cat <<IN
connect fbl.provider.example 192.0.2.60
mail <fbl@provider.example>
rcpt <fbl@site.example>
data
header From: fbl@provider.example
header Content-Type: multipart/report; report-type=feedback-report; boundary="F"
eoh
body --F
body Content-Type: text/plain
body
body This is an email abuse report.
body
body --F
body Content-Type: message/feedback-report
body
body Feedback-Type: abuse
body User-Agent: test/1.0
body Version: 1
body Original-Rcpt-To: $1
body
body --F
body Content-Type: message/rfc822
body
body From: News <news@letters.example>
body To: $1
body Message-ID: <m2@site.example>
body $2
body
body buy now
body --F--
eom
IN
}
printf 'macro connect {daemon_name}=submission\nconnect app 203.0.113.5\nmail <app@site.example>\nrcpt <zoe@remote.example>\ndata\nheader Subject: hi\neoh\nbody hello\nmacro eom i=5E1A2B3C4F\neom\n' | run
ztag=$(sed -n 's/^addheader X-Bouncegate-Tag: //p' "$BG_TMP/out")
arf zoe@remote.example "X-Other: forged" | run
bg_assert_rc 1 "forged ARF → nothing suppressed" ctl show zoe@remote.example
arf zoe@remote.example "X-Bouncegate-Tag: $ztag" | run
bg_assert_rc 0 "ARF with a valid tag → suppressed" ctl show zoe@remote.example
out=$(ctl show zoe@remote.example)
bg_assert_match 'class +complaint' "$out" "class complaint"
bg_assert_match 'source +arf' "$out" "source arf"
# The complaint counts for the sender of the original (its From in the
# report), not for the feedback mailbox the report was sent to.
bg__now; end=$((BG__MS + BG_TIMEOUT * 1000))
until ctl stats --json --sender letters.example > "$BG_TMP/stats.json" 2>&1 &&
    grep -q '"complaint":1,' "$BG_TMP/stats.json"; do
    bg__now
    [ "$BG__MS" -ge "$end" ] && break
    sleep 0.1
done
bg_assert_grep '"domain":"letters\.example",.*"complaint":1,' "$BG_TMP/stats.json" \
    "the complaint counts for letters.example, the original's sender, not the FBL mailbox's"

# 7. an auto-reply is never a bounce
cat <<IN | run
connect mx.remote.example 192.0.2.50
mail <>
rcpt <bounces@site.example>
data
header From: ann@remote.example
header Subject: Out of Office: hi
header Auto-Submitted: auto-replied
eoh
body I am away until Monday.
eom
IN
bg_assert_grep 'action=ignore reason=auto-reply' "$BG_TMP/daemon.log" "auto-reply recognised and ignored"
bg_finish
