#!/bin/bash
# 36-recover: memcached crashes and comes back empty; bouncegate finds it
# back and enforces again without waiting for a recipient or for
# RestoreInterval (set to 1h here, so only the new path can do it):
#   - the breaker opens on the dead memcached (connection refused);
#   - memcached is restarted EMPTY on the same port, and no mail is sent:
#     the background prober alone closes the breaker;
#   - closing it wakes the restore thread, which replays the journal at
#     once (reason=marker-missing);
#   - lookups right after the breaker closed use fresh connections, not
#     the pooled ones libmemcached still holds the server down in: none
#     is accepted unchecked;
#   - the suppressed recipient is refused again, the clean one accepted.
# Correctness only: every wait is a readiness check bounded by BG_TIMEOUT.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached

jdir=$BG_TMP/journal
mkdir -p "$jdir" && chown nobody "$jdir" || bg_fatal "cannot make $jdir"
conf=$BG_TMP/bg.conf
port=$(bg_free_port) || bg_fatal "no free port"
cat > "$conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix rc:
UserID nobody
Scope all
Journal $jdir/journal
RestoreInterval 1h
BreakerFailures 3
CONF
chmod 644 "$conf"
bg_start_daemon "$conf"
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
    "$BG_CTL" -c "$conf" add bob@example.com --class hard --reason userunknown --status 5.1.1 \
    > /dev/null 2> "$BG_TMP/add.err" || bg_fatal "cannot add bob: $(cat "$BG_TMP/add.err")"

cat > "$BG_TMP/bob.in" <<'IN'
connect app.site.example 203.0.113.5
mail <app@site.example>
rcpt <bob@example.com>
rcpt <alice@example.com>
IN
bob() { "$BG_MTCLIENT" -t 5000 "$BG_SOCK" < "$BG_TMP/bob.in" 2>&1; }

# wait_log ERE SECONDS [FROMLINE] - until a daemon.log line (after line
# FROMLINE) matches; 1 on timeout.
wait_log() {
    local end
    bg__now
    end=$((BG__MS + $2 * 1000))
    until tail -n "+$((${3:-0} + 1))" "$BG_TMP/daemon.log" | grep -q -E -e "$1"; do
        bg__now
        [ "$BG__MS" -ge "$end" ] && return 1
        sleep 0.05
    done
}

wait_log 'restore: action=restore ' "$BG_TIMEOUT" ||
    bg_fatal "no first restore (the marker) at start"
out=$(bob)
bg_assert_match 'rcpt <bob@example.com>: reply 550 5.1.1' "$out" "memcached up: bob refused"

# Eight sessions at a time: eight pooled connections, open to this memcached.
"$BG_MTCLIENT" -t 5000 -n 40 -c 8 "$BG_SOCK" < "$BG_TMP/bob.in" > /dev/null 2>&1
bg_stop_memcached
for _ in 1 2 3; do bob > /dev/null; done
if wait_log 'store: action=breaker-open ' "$BG_TIMEOUT"; then
    bg_pass "memcached gone: the breaker opened"
else
    bg_fail "no breaker-open line after memcached stopped"
fi
out=$(bob)
bg_assert_match 'rcpt <bob@example.com>: continue' "$out" "memcached gone: bob accepted (fail open)"

mark=$(wc -l < "$BG_TMP/daemon.log")
bg_start_memcached_on "$MC_PORT"
# No mail from here on until the set is back.
if wait_log 'store: action=breaker-closed ' "$BG_TIMEOUT"; then
    bg_pass "memcached back (empty): the background probe closed the breaker, no lookup needed"
else
    bg_fail "the breaker did not close within ${BG_TIMEOUT}s of memcached coming back"
fi
# At once, before the restore, eight at a time: the pooled connections of
# before the outage (open to the memcached that died, or holding the
# server down for RetryTimeout) must not fail these lookups: clean misses,
# never accept-unchecked.
closed=$(grep -n 'store: action=breaker-closed ' "$BG_TMP/daemon.log" | tail -n 1 | cut -d: -f1)
"$BG_MTCLIENT" -t 5000 -n 40 -c 8 "$BG_SOCK" < "$BG_TMP/bob.in" > /dev/null 2>&1
if wait_log 'restore: action=restore entries=1 .*reason=marker-missing' "$BG_TIMEOUT" "$mark"; then
    bg_pass "the closed breaker woke the restore thread: journal replayed (RestoreInterval is 1h)"
else
    bg_fail "no restore after memcached came back empty"
fi
out=$(bob)
bg_assert_match 'rcpt <bob@example.com>: reply 550 5.1.1' "$out" "after the restore: bob refused again"
unchecked=$(tail -n "+$((closed + 1))" "$BG_TMP/daemon.log" | grep -c 'accept-unchecked')
bg_assert_eq 0 "$unchecked" "no recipient accepted unchecked once the breaker closed (connections of the outage replaced)"
bg_assert_match 'rcpt <alice@example.com>: continue' "$out" "... alice accepted"
bg_stop_daemon && bg_pass "daemon stopped cleanly"
bg_finish
