#!/bin/bash
# 93-alerts-brake: the limits judged on the fleet's figures (issue 15).
# Two daemons share one memcached (StatsInterval 1s, AlertMinRecipients
# and BrakeMinRecipients 10, AlertHardRate 5%, BrakeHardRate 8%);
# busy.test sends through the
# first one.
#   - 2 hard bounces of 20 sent (10%): one action=alert line for the fleet
#     (not one per daemon), one action=brake line; both daemons answer a
#     MAIL FROM of busy.test with 451 4.7.1 "sender paused: ..."; another
#     sender is not affected;
#   - 30 sent (6.7%; the 10 more through sendmail(1), whose non-SMTP path
#     is never paused): the brake is lifted (reason=rate-fell), the alert
#     stays; 50 sent (4%): one action=alert-recovered line;
#   - 6 of 50 (12%): braked again; `bouncegatectl release busy.test` lifts
#     it on both daemons (reason=released) although the rate stays.
# Every wait is a readiness check bounded by BG_TIMEOUT.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached
port=$(bg_free_port) || bg_fatal "no free port"
port2=$(bg_free_port) || bg_fatal "no free port"
conf=$BG_TMP/bg.conf
cat > "$conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix ab:
UserID nobody
Scope all
StatsInterval 1s
AlertMinRecipients 10
AlertHardRate 5%
AlertBounceRate 50%
AlertComplaintRate 0
BrakeHardRate 8%
BrakeMinRecipients 10
CONF
chmod 644 "$conf"
sed -e "s/^Socket .*/Socket inet:$port2@127.0.0.1/" "$conf" > "$BG_TMP/bg2.conf"
chmod 644 "$BG_TMP/bg2.conf"
ctl() { "$BG_CTL" -c "$conf" "$@"; }
bg_start_daemon "$conf"
"$BG_DAEMON" -f -c "$BG_TMP/bg2.conf" > "$BG_TMP/daemon2.log" 2>&1 < /dev/null &
bg_track $!
SOCK2=inet:$port2@127.0.0.1
for _ in $(seq 200); do
    "$BG_MTCLIENT" -q -t 1000 "$SOCK2" > /dev/null 2>&1 && break
    sleep 0.05
done
logs() { cat "$BG_TMP/daemon.log" "$BG_TMP/daemon2.log"; }

# until_ok DESCRIPTION CMD... - run CMD until it succeeds (BG_TIMEOUT)
until_ok() {
    local what=$1 end
    shift
    bg__now
    end=$((BG__MS + BG_TIMEOUT * 1000))
    until "$@"; do
        bg__now
        [ "$BG__MS" -ge "$end" ] && { bg_fail "$what (not within ${BG_TIMEOUT}s)"; return 1; }
        sleep 0.1
    done
    bg_pass "$what"
}
in_logs() { logs | grep -q -E -e "$1"; }
nlines() { logs | grep -c -E -e "$1"; }
send() { # send N: N recipients accepted for app@busy.test, through the first
    # daemon, as sendmail(1) submits them (Postfix's non-SMTP path: never
    # paused, so the rate can fall while SMTP submissions wait)
    printf 'connect localhost 127.0.0.1\nmail app@busy.test\nrcpt r%%RUN%%.%s@example.org\n' "$RANDOM" \
        > "$BG_TMP/send.in"
    "$BG_MTCLIENT" -t 10000 -n "$1" -c 4 "$BG_SOCK" < "$BG_TMP/send.in" > "$BG_TMP/send.out" 2>&1
    grep -q "runs=$1 ok=$1 errors=0" "$BG_TMP/send.out" || bg_fail "send $1: $(cat "$BG_TMP/send.out")"
}
bounce() { # bounce N: a Postfix DSN, hard, for bad$N@example.org of app@busy.test
    cat > "$BG_TMP/dsn.in" <<IN
macro connect {daemon_name}=bouncegate-dsn
connect localhost 127.0.0.1
mail
rcpt app@busy.test
data
header From: Mail Delivery System <MAILER-DAEMON@mx.busy.test>
header Subject: Undelivered Mail Returned to Sender
header Content-Type: multipart/report; report-type=delivery-status; boundary="B"
eoh
body --B
body Content-Type: message/delivery-status
body
body Reporting-MTA: dns; mx.busy.test
body X-Postfix-Queue-ID: QAB$1
body
body Final-Recipient: rfc822; bad$1@example.org
body Action: failed
body Status: 5.1.1
body Diagnostic-Code: smtp; 550 5.1.1 user unknown
body
body --B--
eom
IN
    "$BG_MTCLIENT" -t 5000 "$BG_SOCK" < "$BG_TMP/dsn.in" > /dev/null 2>&1
}
mail_reply() { # mail_reply SOCKET SENDER: what MAIL FROM gets
    printf 'connect c.test 203.0.113.7\nmail <%s>\nquit\n' "$2" | "$BG_MTCLIENT" -t 5000 "$1" 2>&1
}
paused() { mail_reply "$1" app@busy.test | grep -q 'mail <app@busy.test>: reply 451 4\.7\.1 sender paused: '; }
open_again() { mail_reply "$1" app@busy.test | grep -q 'mail <app@busy.test>: continue'; }

send 20
bounce 1
bounce 2
until_ok "2 of 20 hard: an alert line" in_logs 'stats: action=alert domain=busy\.test rate=hard value=10\.00% limit=5% sent=20 hard=2 '
until_ok "... and a brake line" in_logs 'stats: action=brake domain=busy\.test value=10\.00% limit=8% sent=20 hard=2 '
until_ok "the first daemon pauses busy.test at MAIL FROM" paused "$BG_SOCK"
until_ok "so does the second" paused "$SOCK2"
out=$(mail_reply "$SOCK2" app@busy.test)
# (every % doubled: the MTA reads the milter's reply text as a format)
bg_assert_match 'mail <app@busy.test>: reply 451 4\.7\.1 sender paused: 10\.00%% hard bounces in the last hour, limit 8%%$' \
    "$out" "the reply says why, in words"
bg_assert_grep 'action=pause from=<app@busy\.test> reason="sender paused: 10\.00% hard bounces in the last hour, limit 8%"' \
    "$BG_TMP/daemon2.log" "the pause is logged"
out=$(mail_reply "$SOCK2" app@site.test)
bg_assert_match 'mail <app@site.test>: continue' "$out" "another sender is not paused"
bg_assert_eq 1 "$(nlines 'action=alert domain=busy\.test rate=hard ')" \
    "one alert line for the fleet, not one per daemon"
bg_assert_eq 1 "$(nlines 'action=brake domain=busy\.test ')" "one brake line for the fleet"
bg_assert_eq 0 "$(nlines 'action=alert domain=busy\.test rate=bounce ')" "bounces under their 50%: no alert"

send 10
until_ok "2 of 30 (6.7%): the brake is lifted" in_logs 'action=brake-lifted domain=busy\.test reason=rate-fell '
until_ok "... on both daemons" open_again "$SOCK2"
until_ok "... on the first too" open_again "$BG_SOCK"
bg_assert_eq 0 "$(nlines 'action=alert-recovered')" "the alert stays (6.7% > 5%)"
send 20
until_ok "2 of 50 (4%): the alert recovers" in_logs 'action=alert-recovered domain=busy\.test rate=hard value=4\.00% limit=5% sent=50 '
bg_assert_eq 1 "$(nlines 'action=alert-recovered domain=busy\.test rate=hard ')" "one recovery line"

for n in 3 4 5 6; do bounce $n; done
until_ok "6 of 50 (12%): braked again" paused "$BG_SOCK"
out=$(ctl release busy.test 2>&1)
bg_assert_match '^release: domain=busy\.test braked=yes for=1h$' "$out" "bouncegatectl release busy.test"
until_ok "released: the first daemon lets busy.test send" open_again "$BG_SOCK"
until_ok "... and the second" open_again "$SOCK2"
until_ok "the lift is logged as a release" in_logs 'action=brake-lifted domain=busy\.test reason=released '
out=$(mail_reply "$BG_SOCK" app@busy.test)
bg_assert_match 'mail <app@busy.test>: continue' "$out" "the release holds though the rate stays over"
bg_assert_rc 2 "release of a bad domain" ctl release 'bad domain'
bg_assert_rc 2 "release without a domain" ctl release

bg_stop_daemon && bg_pass "daemon stopped cleanly"
bg_finish
