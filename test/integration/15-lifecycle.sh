#!/bin/bash
# Unix socket with the configured mode, stale socket removed at start,
# a live one never stolen, -p overrides Socket, SIGUSR1 reloads (a bad
# file keeps the old config), SIGTERM stops cleanly and removes the socket.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached
mkdir -p "$BG_TMP/run" && chmod 1777 "$BG_TMP/run"
sock=$BG_TMP/run/bg.sock
conf=$BG_TMP/bg.conf
write_conf() {
    cat > "$conf" <<CONF
Socket unix:$sock
SocketMode 0660
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix lc:
UserID nobody
Scope all
$1
CONF
    chmod 644 "$conf"
}
write_conf ""
"$BG_CTL" -c "$conf" add bob@example.com --class hard --reason userunknown >/dev/null ||
    bg_fatal "cannot add"
cat > "$BG_TMP/one.in" <<'IN'
connect app.site.example 203.0.113.5
mail <app@site.example>
rcpt <bob@example.com>
IN
bg_start_daemon "$conf"
bg_assert_eq 660 "$(stat -c %a "$sock")" "socket has SocketMode"
bg_assert_eq nobody "$(stat -c %U "$sock")" "socket created after dropping privileges"
out=$("$BG_MTCLIENT" "$BG_SOCK" < "$BG_TMP/one.in")
bg_assert_match 'reply 550 5.1.1' "$out" "rejects over the unix socket"

# A second daemon must not steal the live socket.
"$BG_DAEMON" -f -c "$conf" > "$BG_TMP/second.log" 2>&1 < /dev/null
bg_assert_eq 1 "$?" "a second daemon on the same live socket refuses to start"
bg_assert_grep 'another process is listening' "$BG_TMP/second.log" "and says why"

# Reload: exempt bob, SIGUSR1, bob is accepted.
write_conf "ExemptRecipients bob@example.com"
kill -USR1 "$BG_PID"
for _ in $(seq 1 100); do grep -q 'action=reload' "$BG_TMP/daemon.log" && break; sleep 0.05; done
bg_assert_grep 'reload: action=reload' "$BG_TMP/daemon.log" "reload logged"
out=$("$BG_MTCLIENT" "$BG_SOCK" < "$BG_TMP/one.in")
bg_assert_match 'rcpt <bob@example.com>: continue' "$out" "reloaded config is in force"
# A broken file on reload: logged, the running config stays.
write_conf "LookupTimeout whenever"
kill -USR1 "$BG_PID"
for _ in $(seq 1 100); do grep -q 'action=keep-old-config' "$BG_TMP/daemon.log" && break; sleep 0.05; done
bg_assert_grep 'reload: action=keep-old-config error=".*LookupTimeout' "$BG_TMP/daemon.log" \
    "bad config on reload is logged with the key"
out=$("$BG_MTCLIENT" "$BG_SOCK" < "$BG_TMP/one.in")
bg_assert_match 'rcpt <bob@example.com>: continue' "$out" "old config still in force"

bg_stop_daemon && bg_pass "SIGTERM stops the daemon with status 0"
[ -e "$sock" ] && bg_fail "socket left behind after stop" || bg_pass "socket removed at stop"

# A stale socket (nobody listening) is removed at start: leave one by
# killing the daemon hard, then start again.
write_conf ""
bg_start_daemon "$conf"
kill -KILL "$BG_PID"; wait "$BG_PID" 2>/dev/null; bg_untrack "$BG_PID"; BG_PID=
[ -S "$sock" ] && bg_pass "a killed daemon leaves a stale socket" || bg_fail "no stale socket to test with"
bg_start_daemon "$conf"
out=$("$BG_MTCLIENT" "$BG_SOCK" < "$BG_TMP/one.in")
bg_assert_match 'reply 550 5.1.1' "$out" "restarted over the stale socket"
bg_stop_daemon

# -p overrides Socket.
p=$(bg_free_port)
bg_start_daemon "$conf" -p "inet:$p@127.0.0.1"
out=$("$BG_MTCLIENT" "inet:$p@127.0.0.1" < "$BG_TMP/one.in")
bg_assert_match 'reply 550 5.1.1' "$out" "-p socket is used"
bg_finish
