#!/bin/bash
# A memcached failure never blocks mail: with memcached stopped every
# recipient is accepted within the lookup deadline (the client gives up
# after 2 s, far above LookupTimeout), and the failure is logged once, not
# once per recipient.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached
port=$(bg_free_port) || bg_fatal "no free port"
cat > "$BG_TMP/bg.conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix fo:
UserID nobody
LookupTimeout 200ms
WarnInterval 1h
Scope all
CONF
chmod 644 "$BG_TMP/bg.conf"
"$BG_CTL" -c "$BG_TMP/bg.conf" add bob@example.com --class hard --reason userunknown >/dev/null ||
    bg_fatal "cannot add"
bg_start_daemon "$BG_TMP/bg.conf"
cat > "$BG_TMP/one.in" <<'IN'
connect app.site.example 203.0.113.5
mail <app@site.example>
rcpt <bob@example.com>
rcpt <alice@example.com>
data
IN
out=$("$BG_MTCLIENT" -t 2000 "$BG_SOCK" < "$BG_TMP/one.in")
bg_assert_match 'rcpt <bob@example.com>: reply 550 5.1.1' "$out" "with memcached up, bob is rejected"
bg_stop_memcached
for i in 1 2 3; do
    out=$("$BG_MTCLIENT" -t 2000 "$BG_SOCK" < "$BG_TMP/one.in")
    rc=$?
    bg_assert_eq 0 "$rc" "run $i: the client got every answer within 2 s"
    bg_assert_match 'rcpt <bob@example.com>: continue' "$out" "run $i: memcached down, bob accepted"
done
n=$(grep -c 'problem=store-failure' "$BG_TMP/daemon.log")
bg_assert_eq 1 "$n" "store failure warned once for 6 lookups (WarnInterval)"
n=$(grep -c 'action=accept-unchecked from=<[^>]*> rcpt=<bob@example\.com> reason=store-failure$' "$BG_TMP/daemon.log")
bg_assert_eq 3 "$n" "each of bob's 3 unchecked acceptances logged on its own line"
bg_finish
