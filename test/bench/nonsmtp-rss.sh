#!/bin/bash
# nonsmtp-rss.sh - the daemon's memory around one non-SMTP message (Postfix's
# sendmail(1) path) with N suppressed recipients (default 100,000) and one
# clean one (part of `make bench-rss`): its RSS before, the peak (VmHWM) and
# the RSS a second after the message. A measurement, not a test.
#
#   N=n   suppressed recipients (default 100000)
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
BG_TEST=nonsmtp-rss
N=${N:-100000}
bg_start_memcached -m 1024
port=$(bg_free_port) || bg_fatal "no free port"
cat > "$BG_TMP/bg.conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix ns:
UserID nobody
CONF
chmod 644 "$BG_TMP/bg.conf"
{ echo address; for i in $(seq 0 $((N - 1))); do echo "u$i@example.com"; done; } > "$BG_TMP/set.csv"
"$BG_CTL" -c "$BG_TMP/bg.conf" import "$BG_TMP/set.csv" > /dev/null 2>&1 || bg_fatal "import failed"
bg_start_daemon "$BG_TMP/bg.conf"
before=$(sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$BG_PID/status")
{
    echo "macro connect {daemon_name}=mx.site.example"
    echo "connect localhost 127.0.0.1"
    echo "macro mail i=Q1W2E3"
    echo "mail app@site.example"          # bare: Postfix's non-SMTP path
    for i in $(seq 0 $((N - 1))); do echo "rcpt u$i@example.com"; done
    echo "rcpt alice@example.com"
    printf 'data\nheader Subject: x\neoh\nbody hi\nmacro eom i=Q1W2E3\neom\n'
} > "$BG_TMP/big.in"
removed=$("$BG_MTCLIENT" -t 120000 "$BG_SOCK" < "$BG_TMP/big.in" | grep -c '^delrcpt ')
sleep 1
echo "# one non-SMTP message, $N suppressed recipients + 1, $(date -u +%FT%TZ)"
echo "removed=$removed"
echo "VmRSS before: $before"
grep -E 'VmHWM|VmRSS' "/proc/$BG_PID/status"
bg_pass "measured"
bg_stop_daemon > /dev/null
bg_finish
