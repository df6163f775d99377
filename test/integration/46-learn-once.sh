#!/bin/bash
# 46-learn-once: one delivery outcome reported by two sources is learned
# once. Postfix reports a failure both in its log (bouncegate-logwatch) and
# in its DSN (the milter); both carry the original queue id, the message
# key. Found by test/e2e/21-postfix-learn-log.sh: a hard bounce reported by
# both was written twice (count=2, the source of whichever came last).
#
#   hard: DSN through the milter, then the log line -> one suppress, one
#         duplicate, count 1, the evidence of the first (source postfix-dsn)
#   hard: log line first, then the DSN -> the same the other way round
#   hard: the same DSN twice -> duplicate
#   soft: DSN + log line for each of two messages -> counted 1, 2; a third
#         -> suppressed with count 3
#   a complaint about a message that also hard-bounced (same message key)
#   is its own event
#   another message of the same recipient is a new event (count 2)
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
LW=${BG_LOGWATCH:-$BG_TOP/milter/bouncegate-logwatch}
[ -x "$LW" ] || bg_fatal "$LW not built (make)"
bg_start_memcached
port=$(bg_free_port) || bg_fatal "no free port"
conf=$BG_TMP/bg.conf
cat > "$conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix once:
UserID nobody
OutboundDaemons submission
LogLevel info
CONF
chmod 644 "$conf"
ctl() { "$BG_CTL" -c "$conf" "$@"; }
bg_start_daemon "$conf"
dlog=$BG_TMP/daemon.log

# A Postfix DSN as cleanup hands it to non_smtpd_milters (see 45-learn-milter).
dsn() { # dsn QID RCPT STATUS DIAG ACTION
    cat <<IN
macro connect {daemon_name}=bouncegate-dsn
connect localhost 127.0.0.1
macro mail i=B$1
mail
rcpt app@site.example
data
header From: Mail Delivery System <MAILER-DAEMON@mx.site.example>
header Content-Type: multipart/report; report-type=delivery-status; boundary="BND"
eoh
body --BND
body Content-Type: message/delivery-status
body
body Reporting-MTA: dns; mx.site.example
body X-Postfix-Queue-ID: $1
body
body Final-Recipient: rfc822; $2
body Original-Recipient: rfc822;$2
body Action: $5
body Status: $3
body Remote-MTA: dns; mx.remote.example
body Diagnostic-Code: smtp; $4
body
body --BND--
eom
IN
}
run_dsn() { dsn "$@" | "$BG_MTCLIENT" "$BG_SOCK" > "$BG_TMP/out" 2>&1; }
# The same event as Postfix's smtp client logs it, through logwatch (stdin).
logline() { # logline QID RCPT DSN STATUS TEXT
    printf 'Nov 23 13:37:00 mx1 postfix/smtp[4711]: %s: to=<%s>, relay=mx.remote.example[192.0.2.25]:25, delay=1, delays=0/0/0/1, dsn=%s, status=%s (host mx.remote.example[192.0.2.25] said: %s (in reply to RCPT TO command))\n' \
        "$1" "$2" "$3" "$4" "$5" | "$LW" -f -c "$conf" - >> "$BG_TMP/lw.log" 2>&1
}
HARD='550 5.1.1 <x>: Recipient address rejected: User unknown'
FULL='452 4.2.2 Mailbox full'
decisions() { grep -cE "$1: action=$2 rcpt=<$3>" "$dlog" "$BG_TMP/lw.log" | awk -F: '{ n += $NF } END { print n + 0 }'; }

# 1. hard, DSN first
run_dsn 4A0000000001 a@x.example 5.1.1 "$HARD" failed
logline 4A0000000001 a@x.example 5.1.1 bounced "$HARD"
bg_assert_eq 1 "$(decisions 4A0000000001 suppress a@x.example)" "hard, DSN then log: one suppress"
bg_assert_eq 1 "$(decisions 4A0000000001 duplicate a@x.example)" "hard, DSN then log: one duplicate (from the log)"
out=$(ctl show a@x.example)
bg_assert_match 'count +1' "$out" "hard, DSN then log: count 1"
bg_assert_match 'source +postfix-dsn' "$out" "hard, DSN then log: the first source's evidence kept"

# 2. hard, log first
logline 4A0000000002 b@x.example 5.1.1 bounced "$HARD"
run_dsn 4A0000000002 b@x.example 5.1.1 "$HARD" failed
bg_assert_eq 1 "$(decisions 4A0000000002 suppress b@x.example)" "hard, log then DSN: one suppress"
bg_assert_eq 1 "$(decisions 4A0000000002 duplicate b@x.example)" "hard, log then DSN: one duplicate (from the DSN)"
out=$(ctl show b@x.example)
bg_assert_match 'count +1' "$out" "hard, log then DSN: count 1"
bg_assert_match 'source +log' "$out" "hard, log then DSN: source log"

# 3. the same DSN twice
run_dsn 4A0000000001 a@x.example 5.1.1 "$HARD" failed
bg_assert_eq 2 "$(decisions 4A0000000001 duplicate a@x.example)" "hard: the same DSN again is a duplicate"
bg_assert_match 'count +1' "$(ctl show a@x.example)" "hard: ... count still 1"

# 4. soft from both sources: once per message
for i in 1 2; do
    logline 4B000000000$i c@x.example 4.2.2 deferred "$FULL"
    run_dsn 4B000000000$i c@x.example 4.2.2 "$FULL" failed
    bg_assert_eq 1 "$(decisions 4B000000000$i count c@x.example)" "soft message $i (log + DSN): counted once"
    bg_assert_eq 1 "$(decisions 4B000000000$i duplicate c@x.example)" "soft message $i: one duplicate"
done
bg_assert_rc 1 "soft: two messages, each reported twice: not suppressed" ctl show c@x.example
run_dsn 4B0000000003 c@x.example 4.2.2 "$FULL" failed
logline 4B0000000003 c@x.example 4.2.2 deferred "$FULL"
bg_assert_eq 1 "$(decisions 4B0000000003 suppress c@x.example)" "soft: the third message suppresses"
bg_assert_match 'count +3' "$(ctl show c@x.example)" "soft: count 3"

# 5. another message of an already suppressed recipient is a new event;
#    a complaint about a message that hard-bounced is a different event
logline 4A0000000005 a@x.example 5.1.1 bounced "$HARD"
bg_assert_eq 1 "$(decisions 4A0000000005 suppress a@x.example)" "hard: another message of a@ is learned"
bg_assert_match 'count +2' "$(ctl show a@x.example)" "hard: ... count 2"
cat <<IN | "$BG_MTCLIENT" "$BG_SOCK" > "$BG_TMP/out" 2>&1
macro connect {daemon_name}=bouncegate-dsn
connect localhost 127.0.0.1
mail
rcpt app@site.example
data
header From: fbl@provider.example
header X-Postfix-Queue-ID: 4A0000000005
header Content-Type: multipart/report; report-type=feedback-report; boundary="F"
eoh
body --F
body Content-Type: message/feedback-report
body
body Feedback-Type: abuse
body Version: 1
body Original-Rcpt-To: a@x.example
body
body --F
body Content-Type: text/rfc822-headers
body
body From: app@site.example
body Message-ID: <m5@site.example>
body
body --F--
eom
IN
bg_assert_grep 'action=(suppress|duplicate) rcpt=<a@x\.example> class=complaint' "$dlog" \
    "complaint about the same recipient: classified complaint"
bg_assert_not_grep 'action=duplicate rcpt=<a@x\.example> class=complaint' "$dlog" \
    "complaint: not a duplicate of the hard bounce"
bg_assert_match 'class +complaint' "$(ctl show a@x.example)" "complaint: the entry is now class complaint"

bg_stop_daemon
bg_finish
