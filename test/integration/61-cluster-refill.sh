#!/bin/bash
# Refilling one node of a cluster that came back empty (lib/store_node.c),
# as the daemon's restore does when a server's pid or start time changes:
# three memcached servers, ONE replica, so each entry lives on two of the
# three and a node holds about two thirds of the set. The journal is
# replayed into the restarted node alone, and only the entries that node
# held: afterwards it holds exactly what it held before the restart, and
# the other nodes are untouched. test/tools/storetool's "refill" calls the
# same function the daemon does (bg_restore_node).
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
STORETOOL=$BG_TOP/test/tools/storetool
[ -x "$STORETOOL" ] || bg_fatal "$STORETOOL not built (make test/tools/storetool)"

N=1000
ports=() pids=()
for i in 0 1 2; do
    bg_start_memcached
    ports[i]=$MC_PORT pids[i]=$MC_PID
done
cat > "$BG_TMP/bg.conf" <<CONF
Socket inet:1@127.0.0.1
Memcached --SERVER=127.0.0.1:${ports[0]} --SERVER=127.0.0.1:${ports[1]} --SERVER=127.0.0.1:${ports[2]} --DISTRIBUTION=consistent --HASH=MD5 --BINARY-PROTOCOL --NUMBER-OF-REPLICAS=1
KeyPrefix rf:
Journal $BG_TMP/journal/journal
CONF
mkdir -p "$BG_TMP/journal"
items() {   # items PORT - curr_items of one memcached
    bg_mc_cmd "$1" stats | awk '$2 == "curr_items" { print $3 }'
}
{ echo address; for ((i = 0; i < N; i++)); do echo "user$i@example.com"; done; } > "$BG_TMP/all.csv"
bg_assert_match "^import: imported=$N bad=0 " \
    "$("$BG_CTL" -c "$BG_TMP/bg.conf" import "$BG_TMP/all.csv" 2>&1)" "$N imported (journalled)"
for i in 0 1 2; do
    before[i]=$(items "${ports[i]}")
done
total=$((before[0] + before[1] + before[2]))
bg_assert_eq $((2 * N)) "$total" "two copies of each: ${before[*]} items on the three nodes"
if [ "${before[1]}" -gt $((N / 3)) ] && [ "${before[1]}" -lt "$N" ]; then
    bg_pass "server 1 holds part of the set, not all of it (${before[1]} of $N)"
else
    bg_fail "server 1 holds ${before[1]} of $N: the test needs a node with part of the set"
fi

MC_PID=${pids[1]}
bg_stop_memcached
bg_start_memcached_on "${ports[1]}"
pids[1]=$MC_PID
bg_assert_eq 0 "$(items "${ports[1]}")" "server 1 came back empty"

out=$("$STORETOOL" -c "$BG_TMP/bg.conf" refill "127.0.0.1:${ports[1]}")
bg_assert_eq "entries=${before[1]} added=${before[1]} present=0" "$out" \
    "the refill wrote the entries server 1 held, and only those"
bg_assert_eq "${before[1]}" "$(items "${ports[1]}")" "server 1 holds what it held before"
bg_assert_eq "${before[0]} ${before[2]}" "$(items "${ports[0]}") $(items "${ports[2]}")" \
    "the other two are untouched"
out=$("$STORETOOL" -c "$BG_TMP/bg.conf" refill "127.0.0.1:${ports[1]}")
bg_assert_eq "entries=${before[1]} added=0 present=${before[1]}" "$out" \
    "a second refill adds nothing (memcached add)"
out=$("$STORETOOL" -c "$BG_TMP/bg.conf" refill "127.0.0.1:1" 2>&1)
bg_assert_match "^refill failed: no server 127\.0\.0\.1:1 in the Memcached configuration" "$out" \
    "a server not in the configuration is refused"
bg_finish
