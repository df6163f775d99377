#!/bin/bash
# RCPT-time rejection over the milter protocol, against the real daemon and
# a real memcached: suppressed recipients get the 550 with why and since
# when, others of the same message go on; address normalization; domain
# entries; scope (outbound by service, SASL, network); exemptions; the
# null sender; the non-SMTP path removes recipients at end of message.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached
port=$(bg_free_port) || bg_fatal "no free port"
cat > "$BG_TMP/bg.conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix it:
UserID nobody
LogLevel info
OutboundDaemons submission
OutboundNetworks 198.51.100.0/24
CONF
chmod 644 "$BG_TMP/bg.conf"

# Records written the way the documented wire format says, with a fixed
# first-seen date (2026-11-20) so the reply texts are stable.
rec() { # rec CLASS REASON STATUS [EXPIRES]
    echo "bg1 class=$1 reason=$2 status=$3 first=1795132800 last=1795132800 count=1 expires=${4:-0} source=manual rule=- id=- diag=-"
}
bg_mc_set "it:r:bob@example.com" "$(rec hard userunknown 5.1.1)" || bg_fatal "mc set"
bg_mc_set "it:r:carol@example.com" "$(rec soft mailboxfull 5.2.2)"
bg_mc_set "it:r:dave@example.com" "$(rec complaint feedback -)"
bg_mc_set "it:r:pct@example.com" "$(rec manual 100%25-sure 5.1.1)"
bg_mc_set "it:r:bob@xn--bcher-kva.example" "$(rec hard userunknown 5.1.1)"
bg_mc_set "it:d:dead.example" "$(rec hard hostunknown -)"
bg_mc_set "it:r:postmaster@example.com" "$(rec hard userunknown 5.1.1)"
bg_mc_set "it:r:old@example.com" "$(rec hard userunknown 5.1.1 1000)"
# another site's namespace on the same memcached
bg_mc_set "other:r:eve@example.com" "$(rec hard userunknown 5.1.1)"

bg_start_daemon "$BG_TMP/bg.conf"
for c in rcpt-submission rcpt-normalize rcpt-scope-inbound rcpt-scope-auth \
         rcpt-scope-network rcpt-exempt-null rcpt-nonsmtp rcpt-bare-smtp rcpt-sendmail \
         rcpt-postfix-v; do
    bg_expect_diff "$c"
done

log=$BG_TMP/daemon.log
bg_assert_grep '^.*NOQUEUE: sid=[0-9A-F]+ action=reject from=<[^>]*> rcpt=<bob@example.com> class=hard reason=userunknown since=2026-11-20 scope=recipient status=5.1.1$' "$log" \
    "reject logged as one key=value line with NOQUEUE first"
bg_assert_grep 'Q1W2E3: sid=[0-9A-F]+ action=remove from=<[^>]*> rcpt=<bob@example.com> class=hard .* path=nonsmtp' "$log" \
    "non-SMTP removal logged with the queue id"
bg_assert_grep 'Q4R5T6: sid=[0-9A-F]+ action=discard reason=all-recipients-suppressed rcpts=1 path=nonsmtp' "$log" \
    "non-SMTP discard logged"
bg_assert_grep 'action=accept from=<[^>]*> rcpt=<postmaster@example.com> reason=exempt' "$log" "exemption logged at info"
bg_assert_not_grep 'eve@example.com.*action=reject|action=reject.*eve@example.com' "$log" \
    "another KeyPrefix's entry is not seen"
# The daemon dropped root before opening its socket.
uid=$(awk '/^Uid:/ {print $2}' "/proc/$BG_PID/status")
if [ "$(id -u)" = 0 ]; then
    bg_assert_eq "$(id -u nobody)" "$uid" "runs as UserID (nobody) when started as root"
else
    bg_assert_eq "$(id -u)" "$uid" "runs as the invoking user"
fi
bg_stop_daemon && bg_pass "clean exit on SIGTERM"
bg_assert_grep 'stop: action=stop status=clean' "$log" "stop logged"
bg_finish
