#!/bin/bash
# 34-silent-cluster: two memcached servers that accept connections and
# never answer (test/tools/blackhole). A lookup's recipient key and domain
# key often sit on different servers; libmemcached then waits for both at
# once and may end the fetch with END and no error. That must be a store
# failure (accepted unchecked, logged so), never a clean "not suppressed"
# lookup that tells the breaker memcached answered. 20 lookups, breaker
# off, LogLevel info (a clean lookup logs action=accept): with the keys
# spread over two servers, the chance that none of them was split is one
# in a million. Found by review; failed before the fix.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
BLACKHOLE=$BG_TOP/test/tools/blackhole
[ -x "$BLACKHOLE" ] || bg_fatal "$BLACKHOLE not built (make test/tools/blackhole)"

ports=()
for n in 1 2; do
    "$BLACKHOLE" -t 240 -m 256 > "$BG_TMP/bh$n.port" 2> "$BG_TMP/bh$n.log" < /dev/null &
    bg_track $!
    p=
    for _ in $(seq 200); do
        read -r p 2> /dev/null < "$BG_TMP/bh$n.port"
        [[ $p =~ ^[0-9]+$ ]] && break
        sleep 0.05
    done
    [[ $p =~ ^[0-9]+$ ]] || bg_fatal "blackhole $n printed no port"
    ports+=("$p")
done

port=$(bg_free_port) || bg_fatal "no free port"
cat > "$BG_TMP/bg.conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=127.0.0.1:${ports[0]} --SERVER=127.0.0.1:${ports[1]} --BINARY-PROTOCOL
KeyPrefix sc:
UserID nobody
LookupTimeout 100ms
BreakerFailures 0
LogLevel info
Scope all
CONF
chmod 644 "$BG_TMP/bg.conf"
bg_start_daemon "$BG_TMP/bg.conf"

cat > "$BG_TMP/load.in" <<'IN'
connect app.site.example 203.0.113.5
mail <app@site.example>
rcpt <user%RUN%@domain%RUN%.example>
IN
out=$("$BG_MTCLIENT" -t 10000 -n 20 -c 1 "$BG_SOCK" < "$BG_TMP/load.in" 2>&1)
bg_assert_match '^runs=20 ok=20 errors=0 replies: continue=60 ' "$out" \
    "20 lookups against two silent servers all answered continue (fail open)"
n=$(grep -c 'action=accept from=<[^>]*> rcpt=<' "$BG_TMP/daemon.log")
bg_assert_eq 0 "$n" "no lookup passed for a clean one (no silent miss)"
n=$(grep -c 'action=accept-unchecked from=<[^>]*> rcpt=<user[0-9]*@domain[0-9]*\.example> reason=store-failure$' \
    "$BG_TMP/daemon.log")
bg_assert_eq 20 "$n" "every one of the 20 accepted unchecked, reason=store-failure"
bg_stop_daemon && bg_pass "daemon stopped cleanly"
bg_finish
