#!/bin/bash
# 90-stats: the fleet's per-sender-domain figures (issue 15).
#   - a session from app@site.test refused for one recipient and accepted
#     for another: the reject line names the sender (from=<...>), and
#     `bouncegatectl stats --json` shows sent 1, refused 1 for site.test;
#   - a second daemon on the same memcached adds to the same figures;
#   - a Postfix DSN for a message of app@site.test (its envelope
#     recipient) moves site.test's hard count and rates;
#   - StatsDomains bounds the names: the third domain of the hour counts as
#     "other";
#   - per SASL login (--logins);
#   - the table, --sender, and usage errors.
# Every wait is a readiness check (the figures reach memcached every
# StatsInterval, 1s here) bounded by BG_TIMEOUT.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached
port=$(bg_free_port) || bg_fatal "no free port"
conf=$BG_TMP/bg.conf
cat > "$conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix st:
UserID nobody
Scope all
LogLevel info
StatsInterval 1s
StatsDomains 2
CONF
chmod 644 "$conf"
ctl() { "$BG_CTL" -c "$conf" "$@"; }
ctl add bob@example.com --class hard --reason userunknown > /dev/null 2>&1 ||
    bg_fatal "cannot add bob"
bg_start_daemon "$conf"

session() { # session SOCKET SENDER
    printf 'connect app.site.test 203.0.113.5\nmail <%s>\nrcpt <bob@example.com>\nrcpt <alice@example.com>\nquit\n' "$2" |
        "$BG_MTCLIENT" -t 5000 "$1" 2>&1
}

# wait_stats ERE [ARGS...] - until `stats --json ARGS` matches (BG_TIMEOUT)
wait_stats() {
    local re=$1 end
    shift
    bg__now
    end=$((BG__MS + BG_TIMEOUT * 1000))
    until ctl stats --json "$@" > "$BG_TMP/stats.json" 2> "$BG_TMP/stats.err" &&
        grep -q -E -e "$re" "$BG_TMP/stats.json"; do
        bg__now
        [ "$BG__MS" -ge "$end" ] && return 1
        sleep 0.1
    done
}

out=$(session "$BG_SOCK" app@site.test)
bg_assert_match 'rcpt <bob@example.com>: reply 550 5\.1\.1' "$out" "bob refused"
bg_assert_match 'rcpt <alice@example.com>: continue' "$out" "alice accepted"
bg_assert_grep 'NOQUEUE: sid=[0-9A-F]+ action=reject from=<app@site\.test> rcpt=<bob@example\.com> class=hard ' \
    "$BG_TMP/daemon.log" "the reject line names the sender"
bg_assert_grep 'NOQUEUE: sid=[0-9A-F]+ action=accept from=<app@site\.test> rcpt=<alice@example\.com>$' \
    "$BG_TMP/daemon.log" "so does the accept line"
if wait_stats '"domain":"site\.test","sent":1,"refused":1,"hard":0,'; then
    bg_pass "stats --json: site.test sent 1, refused 1"
else
    bg_fail "stats --json never showed site.test 1/1: $(cat "$BG_TMP/stats.json" "$BG_TMP/stats.err")"
fi

# A second daemon on the same memcached: one set of figures.
port2=$(bg_free_port) || bg_fatal "no free port"
sed -e "s/^Socket .*/Socket inet:$port2@127.0.0.1/" "$conf" > "$BG_TMP/bg2.conf"
echo "PidFile $BG_TMP/second.pid" >> "$BG_TMP/bg2.conf"
chmod 644 "$BG_TMP/bg2.conf"
"$BG_DAEMON" -f -c "$BG_TMP/bg2.conf" > "$BG_TMP/daemon2.log" 2>&1 &
pid2=$!
bg_track "$pid2"
for _ in $(seq 200); do
    "$BG_MTCLIENT" -q -t 1000 "inet:$port2@127.0.0.1" > /dev/null 2>&1 && break
    sleep 0.05
done
out=$(session "inet:$port2@127.0.0.1" app@site.test)
bg_assert_match 'rcpt <bob@example.com>: reply 550' "$out" "second daemon: bob refused"
if wait_stats '"domain":"site\.test","sent":2,"refused":2,'; then
    bg_pass "two daemons, one memcached: site.test sent 2, refused 2"
else
    bg_fail "the second daemon's counts never arrived: $(cat "$BG_TMP/stats.json")"
fi

# A Postfix DSN for app@site.test's message: a hard bounce learned.
cat > "$BG_TMP/dsn.in" <<'IN'
macro connect {daemon_name}=bouncegate-dsn
connect localhost 127.0.0.1
macro mail i=BSTATS1
mail
rcpt app@site.test
data
header From: Mail Delivery System <MAILER-DAEMON@mx.site.test>
header To: app@site.test
header Subject: Undelivered Mail Returned to Sender
header MIME-Version: 1.0
header Content-Type: multipart/report; report-type=delivery-status; boundary="BND"
eoh
body --BND
body Content-Type: message/delivery-status
body
body Reporting-MTA: dns; mx.site.test
body X-Postfix-Queue-ID: QSTATS1
body
body Final-Recipient: rfc822; carol@example.net
body Action: failed
body Status: 5.1.1
body Diagnostic-Code: smtp; 550 5.1.1 <carol@example.net>: Recipient address rejected: User unknown
body
body --BND--
eom
IN
"$BG_MTCLIENT" -t 5000 "$BG_SOCK" < "$BG_TMP/dsn.in" > "$BG_TMP/dsn.out" 2>&1
bg_assert_grep 'action=suppress rcpt=<carol@example\.net> class=hard' "$BG_TMP/daemon.log" \
    "the DSN was learned"
if wait_stats '"domain":"site\.test","sent":2,"refused":2,"hard":1,"soft":0,"block":0,"complaint":0,"delivered":0,"bounce_rate":50\.000,"hard_rate":50\.000,'; then
    bg_pass "the learned hard bounce moved site.test's hard count and rates (1 of 2 sent)"
else
    bg_fail "site.test's hard count never moved: $(cat "$BG_TMP/stats.json")"
fi

# StatsDomains 2: the first two domains counted in an hour are named, the
# rest are "other". Names start afresh each hour: not across a turn.
if [ $(( $(date +%s) % 3600 )) -ge 3570 ]; then
    sleep $(( 3601 - $(date +%s) % 3600 ))
fi
session "$BG_SOCK" app@site.test > /dev/null
session "$BG_SOCK" app@b.test > /dev/null
session "$BG_SOCK" app@c.test > /dev/null
if wait_stats '"domain":"other","sent":1,"refused":1,' && grep -q '"domain":"b\.test","sent":1,' "$BG_TMP/stats.json"; then
    bg_pass "StatsDomains 2: b.test named, c.test counted as other"
else
    bg_fail "names not bounded: $(cat "$BG_TMP/stats.json")"
fi
bg_assert_not_grep '"domain":"c\.test"' "$BG_TMP/stats.json" "c.test has no row of its own"

out=$(ctl stats 2>&1)
bg_assert_match 'SENDER +SENT +REFUSED +DELIVERED +HARD +SOFT +BLOCK +COMPLAINT +BOUNCE% +HARD% +COMPLAINT%' "$out" \
    "the table's header"
bg_assert_match 'site\.test +3 +3 +0 +1 +0 +0 +0 +33\.33 +33\.33 +0\.000' "$out" "site.test's row"
out=$(ctl stats --sender b.test --window 24h --json 2>&1)
bg_assert_match '^\{"window":"24h",.*"senders":\[\{"domain":"b\.test","sent":1,"refused":1,.*\}\]\}$' "$out" \
    "--sender b.test --window 24h: that domain alone, from the hourly counters"
bg_assert_rc 2 "a bad window is a usage error" ctl stats --window 2h
bg_assert_rc 2 "an unknown option is a usage error" ctl stats --bogus

# bouncegate-logwatch: the log's deliveries and bounces, for the sender the
# queue manager logged with the queue id.
cat > "$BG_TMP/mail.log" <<'LOG'
Dec  6 10:00:00 mx postfix/qmgr[11]: 4ABCDE1: from=<app@site.test>, size=400, nrcpt=2 (queue active)
Dec  6 10:00:01 mx postfix/smtp[12]: 4ABCDE1: to=<dave@example.net>, relay=mx.example.net[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X)
Dec  6 10:00:01 mx postfix/smtp[12]: 4ABCDE1: to=<erin@example.net>, relay=mx.example.net[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.example.net[192.0.2.1] said: 550 5.1.1 <erin@example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command))
Dec  6 10:00:02 mx postfix/smtp[12]: 9UNKNOWN: to=<fay@example.net>, relay=mx.example.net[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as Y)
LOG
"${BG_LOGWATCH:-$BG_TOP/milter/bouncegate-logwatch}" -f -c "$conf" - < "$BG_TMP/mail.log" > "$BG_TMP/logwatch.out" 2>&1
bg_assert_grep '4ABCDE1: action=suppress rcpt=<erin@example\.net> class=hard' "$BG_TMP/logwatch.out" \
    "logwatch learned erin's bounce"
if wait_stats '"domain":"site\.test","sent":3,"refused":3,"hard":2,"soft":0,"block":0,"complaint":0,"delivered":1,'; then
    bg_pass "logwatch: site.test's delivery and hard bounce counted (the sender from qmgr's line)"
else
    bg_fail "logwatch's counts never arrived: $(cat "$BG_TMP/stats.json")"
fi
bg_assert_match '"domain":"-","sent":0,"refused":0,"hard":0,"soft":0,"block":0,"complaint":0,"delivered":1,' \
    "$(cat "$BG_TMP/stats.json")" "a queue id whose sender was not seen counts as \"-\""

# Per SASL login too ({auth_authen}, Postfix's default milter_mail_macros).
printf 'connect app.site.test 203.0.113.5\nmacro mail {auth_authen}=Alice@Site.Test\nmail <app@site.test>\nrcpt <bob@example.com>\nrcpt <alice@example.com>\nquit\n' |
    "$BG_MTCLIENT" -t 5000 "$BG_SOCK" > /dev/null 2>&1
if wait_stats '"login":"alice@site\.test","sent":1,"refused":1,' --logins; then
    bg_pass "stats --logins: the SASL login's recipients, sent 1 and refused 1"
else
    bg_fail "no figures for the login: $(cat "$BG_TMP/stats.json" "$BG_TMP/stats.err")"
fi
out=$(ctl stats --logins 2>&1)
bg_assert_match 'LOGIN +SENT +REFUSED' "$out" "the logins' table"
bg_assert_rc 2 "--logins with --sender is a usage error" ctl stats --logins --sender site.test

# The lists of names live in memcached, where anyone who reaches it can
# write: names no sender domain could have (an escape sequence, a quote,
# upper case) are skipped, never printed.
hour=$(( $(date +%s) / 3600 ))
list=$(bg_mc_get "st:c:h$hour|domains") || bg_fatal "no list of names for this hour"
esc=$'\e[31mred'
bg_mc_set "st:c:h$hour|domains" "$list $esc x\"y UPPER.example" 0 || bg_fatal "cannot write the list"
bg_mc_set "st:c:m$(( $(date +%s) / 600 ))|sent|x\"y" 7 0 || bg_fatal "cannot write a counter"
out=$(ctl stats --json 2>&1)
bg_assert_match '"domain":"site\.test"' "$out" "the real names are still read"
if [[ $out == *$'\e'* || $out == *'x\"y'* || $out == *'x\\"y'* || $out == *UPPER* ]]; then
    bg_fail "a name written into memcached reached the output: $out"
else
    bg_pass "names no sender domain could have are skipped"
fi

kill "$pid2" 2> /dev/null
bg_stop_daemon && bg_pass "daemon stopped cleanly"
bg_finish
