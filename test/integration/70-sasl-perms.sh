#!/bin/bash
# Least privilege: files holding secrets are refused with unsafe modes,
# a configuration others can write is warned about (naming the file), and
# memcached SASL (MemcachedUser + MemcachedPasswordFile) against a real
# memcached -S whose user is created in a Cyrus sasldb by
# test/tools/mksasldb (Debian's memcached checks passwords through Cyrus
# SASL only).
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
MKSASLDB=$BG_TOP/test/tools/mksasldb
STORETOOL=$BG_TOP/test/tools/storetool
for t in "$MKSASLDB" "$STORETOOL"; do
    [ -x "$t" ] || bg_fatal "$t not built"
done
mc=$(command -v "$BG_MEMCACHED") || bg_fatal "memcached not found"
"$mc" -h | grep -q -- '--enable-sasl' || bg_fatal "this memcached has no SASL support (-S)"

# ---------------------------------------------------------------- permissions
port=$(bg_free_port) || bg_fatal "no free port"
conf=$BG_TMP/bg.conf
key=$BG_TMP/signing.key
pw=$BG_TMP/mc.password
echo "test-signing-key-0123456789" > "$key"
echo "s3cret-Pa55" > "$pw"
base() {
    cat <<CONF
Socket inet:$port@127.0.0.1
UserID nobody
Scope all
KeyPrefix sa:
CONF
}
{ base; echo "Memcached --SERVER=127.0.0.1:1 --BINARY-PROTOCOL"; echo "SigningKeyFile $key"; } > "$conf"
chmod 644 "$conf"
chmod 644 "$key"
bg_assert_rc 1 "SigningKeyFile readable by others: refused" "$BG_DAEMON" -n -c "$conf"
bg_assert_grep "SigningKeyFile: $key: unsafe permissions 0644" "$BG_TMP/last.err" \
    "the refusal names the key file and its mode"
chmod 640 "$key"
bg_assert_rc 0 "SigningKeyFile 0640: accepted" "$BG_DAEMON" -n -c "$conf"

{ base; echo "Memcached --SERVER=127.0.0.1:1 --BINARY-PROTOCOL"
  echo "MemcachedUser bguser"; echo "MemcachedPasswordFile $pw"; } > "$conf"
chmod 644 "$pw"
bg_assert_rc 1 "MemcachedPasswordFile readable by others: refused" "$BG_DAEMON" -n -c "$conf"
bg_assert_grep "MemcachedPasswordFile: $pw: unsafe permissions 0644" "$BG_TMP/last.err" \
    "the refusal names the password file and its mode"
bg_assert_rc 2 "bouncegatectl refuses it too" "$BG_CTL" -c "$conf" show a@example.com
bg_assert_grep "MemcachedPasswordFile: $pw: unsafe permissions" "$BG_TMP/last.err" \
    "bouncegatectl names the file"
chmod 620 "$pw"
bg_assert_rc 1 "MemcachedPasswordFile writable by the group: refused" "$BG_DAEMON" -n -c "$conf"
chmod 640 "$pw"
bg_assert_rc 0 "MemcachedPasswordFile 0640: accepted" "$BG_DAEMON" -n -c "$conf"
bg_assert_not_grep 'warning' "$BG_TMP/last.err" "no warning for a 0644 configuration"

{ base; echo "Memcached --SERVER=127.0.0.1:1"; echo "MemcachedUser bguser"
  echo "MemcachedPasswordFile $pw"; } > "$conf"
bg_assert_rc 1 "SASL without --BINARY-PROTOCOL: refused" "$BG_DAEMON" -n -c "$conf"
bg_assert_grep 'needs --BINARY-PROTOCOL' "$BG_TMP/last.err" "and says why"
{ base; echo "Memcached --SERVER=127.0.0.1:1 --BINARY-PROTOCOL"; echo "MemcachedUser bguser"; } > "$conf"
bg_assert_rc 1 "MemcachedUser without MemcachedPasswordFile: refused" "$BG_DAEMON" -n -c "$conf"

{ base; echo "Memcached --SERVER=127.0.0.1:1 --BINARY-PROTOCOL"; } > "$conf"
chmod 666 "$conf"
bg_assert_rc 0 "a configuration writable by others still starts" "$BG_DAEMON" -n -c "$conf"
bg_assert_grep "^bouncegate: warning: $conf: unsafe permissions 0666: writable by others" \
    "$BG_TMP/last.err" "-n warns, naming the file"
chmod 664 "$conf"
bg_assert_rc 0 "group-writable configuration: starts" "$BG_DAEMON" -n -c "$conf"
bg_assert_grep "warning: $conf: unsafe permissions 0664: writable by the group" \
    "$BG_TMP/last.err" "-n warns about the group"
bg_start_daemon "$conf"
bg_assert_grep "start: problem=unsafe-permissions error=\"$conf: unsafe permissions 0664" \
    "$BG_TMP/daemon.log" "the daemon logs it at start"
bg_stop_daemon
chmod 644 "$conf"

# ---------------------------------------------------------------- SASL
sasl=$BG_TMP/sasl
mkdir -p "$sasl"
printf 'mech_list: plain\nsasldb_path: %s/sasldb2\n' "$sasl" > "$sasl/memcached.conf"
"$MKSASLDB" "$sasl" bguser "s3cret-Pa55" || bg_fatal "mksasldb failed"
chmod 755 "$sasl"; chmod 644 "$sasl/sasldb2" "$sasl/memcached.conf"
user=()
[ "$(id -u)" = 0 ] && user=(-u nobody)
mcport=$(bg_free_port) || bg_fatal "no free port"
SASL_CONF_PATH=$sasl "$mc" -S -l 127.0.0.1 -p "$mcport" -U 0 -m 64 "${user[@]}" \
    >> "$BG_TMP/memcached.log" 2>&1 < /dev/null &
bg_track $!
sconf() {   # sconf PASSWORD-FILE-LINES... - the config against the SASL memcached
    { base; echo "Memcached --SERVER=127.0.0.1:$mcport --BINARY-PROTOCOL"; printf '%s\n' "$@"; } > "$conf"
}
sconf "MemcachedUser bguser" "MemcachedPasswordFile $pw"
ready=
for _ in $(seq 100); do
    if "$STORETOOL" -c "$conf" get probe@example.com > /dev/null 2>&1; then ready=1; break; fi
    sleep 0.05
done
[ -n "$ready" ] || bg_fatal "SASL memcached on $mcport never answered an authenticated get"
bg_pass "memcached -S answers an authenticated client"

bg_assert_rc 0 "bouncegatectl add with the right password" \
    "$BG_CTL" -c "$conf" add bob@example.com --class hard --reason userunknown
bg_assert_rc 0 "bouncegatectl status with the right password" "$BG_CTL" -c "$conf" status
bg_assert_grep "^read/write  ok\$" "$BG_TMP/last.out" "... reads back what it wrote"
bg_start_daemon "$conf"
printf 'connect app 203.0.113.5\nmail <app@site.example>\nrcpt <bob@example.com>\nrcpt <ann@example.com>\n' > "$BG_TMP/m.in"
out=$("$BG_MTCLIENT" -t 3000 "$BG_SOCK" < "$BG_TMP/m.in" 2>&1)
bg_assert_match 'rcpt <bob@example.com>: reply 550 5.1.1' "$out" "the daemon authenticates and rejects bob"
bg_assert_match 'rcpt <ann@example.com>: continue' "$out" "and accepts ann"
bg_stop_daemon

echo "wrong-password" > "$pw"
bg_assert_rc 2 "a wrong password: bouncegatectl add fails" \
    "$BG_CTL" -c "$conf" add eve@example.com
out=$("$STORETOOL" -c "$conf" put eve@example.com 2>&1)
bg_assert_match 'eve@example.com: error memcached set: .*AUTHENTICATION FAILURE' "$out" \
    "a write with a wrong password fails with an authentication failure"
bg_assert_rc 2 "a wrong password: show fails (not 'not suppressed')" \
    "$BG_CTL" -c "$conf" show bob@example.com
echo "s3cret-Pa55" > "$pw"

# Without credentials memcached refuses every command. Writes fail; reads
# come back from libmemcached 1.1.4 as a miss (the server's auth error of
# a get is not reported) - or as a failure when the server has closed the
# connection before the no-op that ends the multi-get arrives (a separate
# write: on a loaded machine, a reset; seen 2 times in about 20 runs).
# Documented in docs/memcached.md; never "suppressed".
sconf
bg_assert_rc 2 "no credentials: bouncegatectl add fails" "$BG_CTL" -c "$conf" add eve@example.com
"$BG_CTL" -c "$conf" show bob@example.com > "$BG_TMP/show.out" 2>&1
rc=$?
if [ "$rc" = 1 ] || [ "$rc" = 2 ]; then
    bg_pass "no credentials: show says not suppressed (libmemcached maps the auth error to a miss) or fails (exit $rc)"
else
    bg_fail "no credentials: show exited $rc: $(cat "$BG_TMP/show.out")"
fi
# ... which is what bouncegatectl status is for: it writes and reads back.
bg_assert_rc 2 "no credentials: bouncegatectl status fails" "$BG_CTL" -c "$conf" status
bg_assert_grep "^bouncegatectl: status: no memcached server answered \(down, or refusing this client: MemcachedUser, MemcachedPasswordFile\?\)" \
    "$BG_TMP/last.err" "... pointing at the credentials"
bg_finish
