#!/bin/bash
# Three memcached servers, docs/memcached.md's recommended cluster string:
# consistent hashing, two replicas (binary protocol), failed servers
# removed (MemcachedFailureLimit 1 + --REMOVE-FAILED-SERVERS=1).
# 1,000 suppressions are written, one server is SIGKILLed: every one of
# the 1,000 is still rejected through the daemon, none accepted unchecked,
# and new ones can be written. The server comes back empty: new writes
# work, and the entries it held (replicas are only read when a server is
# down, never on a miss: libmemcached 1.1.4) are put back by the daemon's
# journal restore, which notices the restarted node by its new pid/start
# time (the marker key alone lives on one node) and writes to it directly.
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
port=$(bg_free_port) || bg_fatal "no free port"
cat > "$BG_TMP/bg.conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=127.0.0.1:${ports[0]} --SERVER=127.0.0.1:${ports[1]} --SERVER=127.0.0.1:${ports[2]} --DISTRIBUTION=consistent --HASH=MD5 --BINARY-PROTOCOL --NUMBER-OF-REPLICAS=2 --REMOVE-FAILED-SERVERS=1
MemcachedFailureLimit 1
MemcachedRetryTimeout 1s
MemcachedDeadTimeout 2s
KeyPrefix cl:
UserID nobody
Scope all
LookupTimeout 250ms
Journal $BG_TMP/journal/journal
RestoreInterval 1s
CONF
mkdir -p "$BG_TMP/journal" && chown nobody "$BG_TMP/journal" 2>/dev/null
chmod 644 "$BG_TMP/bg.conf"
bg_assert_rc 0 "bouncegate -n accepts the cluster configuration" \
    "$BG_DAEMON" -n -c "$BG_TMP/bg.conf"

items() {   # items PORT - curr_items of one memcached
    bg_mc_cmd "$1" stats | awk '$2 == "curr_items" { print $3 }'
}
for ((i = 0; i < N; i++)); do echo "user$i@example.com"; done > "$BG_TMP/old.txt"
for ((i = 0; i < 100; i++)); do echo "new$i@example.com"; done > "$BG_TMP/new.txt"
for ((i = 0; i < 100; i++)); do echo "late$i@example.com"; done > "$BG_TMP/late.txt"
load() {    # load FILE - bulk write, journalled, as bouncegatectl import does
    { echo address; cat "$1"; } > "$1.csv"
    "$BG_CTL" -c "$BG_TMP/bg.conf" import "$1.csv" 2>&1 |
        sed -n 's/^import: imported=\([0-9]*\) bad=\([0-9]*\) .*/loaded=\1 failed=\2/p'
}
out=$(load "$BG_TMP/old.txt")
bg_assert_eq "loaded=$N failed=0" "$out" "$N suppressions written to the cluster"
for i in 0 1 2; do
    bg_assert_eq "$N" "$(items "${ports[i]}")" "server $i holds all $N (primary + 2 replicas)"
done

bg_start_daemon "$BG_TMP/bg.conf"
script() {  # script LOCALPART - one message to LOCALPART%RUN%@example.com
    printf 'connect app.site.example 203.0.113.5\nmail <app@site.example>\nrcpt <%s%%RUN%%@example.com>\n' "$1"
}
run() {     # run LOCALPART RUNS - mtclient's summary in OUT, its time in TOOK (ms)
    local t0
    bg__now; t0=$BG__MS
    OUT=$(script "$1" | "$BG_MTCLIENT" -t 5000 -n "$2" -c 10 "$BG_SOCK" 2>&1)
    bg__now; TOOK=$((BG__MS - t0))
}
expect() {  # expect LOCALPART RUNS REJECTED WHAT
    local out
    run "$1" "$2"
    out=$OUT
    bg_log "$4: ${TOOK} ms: $out"
    bg_assert_match "^runs=$2 ok=$2 errors=0 .* reply5xx=$3 " "$out" "$4: $3 of $2 rejected (${TOOK} ms)"
}
expect user $N $N "all three up"
unchecked() { grep -c 'action=accept-unchecked' "$BG_TMP/daemon.log"; }
bg_assert_eq 0 "$(unchecked)" "no lookup failed with all three up"

# ---------------------------------------------------------------- kill one
kill -KILL "${pids[1]}"
wait "${pids[1]}" 2>/dev/null
bg_untrack "${pids[1]}"
expect user $N $N "first $N lookups after SIGKILL of server 1"
bg_assert_eq 0 "$(unchecked)" "no lookup accepted unchecked while server 1 is down"
bg_assert_not_grep 'action=breaker-open' "$BG_TMP/daemon.log" "the breaker stayed closed"
out=$(load "$BG_TMP/new.txt")
bg_assert_eq "loaded=100 failed=0" "$out" "100 new suppressions written with server 1 down"
expect new 100 100 "the new ones are enforced with server 1 down"
sleep 2.5   # past MemcachedRetryTimeout and MemcachedDeadTimeout: server 1 is asked again
expect user $N $N "$N lookups after the retry and dead timeouts, server 1 still down"
bg_assert_eq 0 "$(unchecked)" "still no lookup accepted unchecked"

# ---------------------------------------------------------------- it comes back empty
mark=$(wc -l < "$BG_TMP/daemon.log")
bg_start_memcached_on "${ports[1]}"
pids[1]=$MC_PID
sleep 2.5   # the daemon's connections ask it again after the timeouts
out=$(load "$BG_TMP/late.txt")
bg_assert_eq "loaded=100 failed=0" "$out" "100 suppressions written after server 1 came back empty"
expect late 100 100 "those are enforced"
# The restore thread notices the empty node by its new pid/start time (or
# the marker key lived on it) and refills it on its own connection, not
# through the pooled ones, which keep sending its keys to the next node
# until their retry and dead timeouts pass (lib/store_node.c; replays
# through the pool refilled nothing in one CI run). Waited for by its log
# line; the time limit is only for a daemon that never does it.
restored() {  # restored - entries the restores since the restart added
    tail -n +"$((mark + 1))" "$BG_TMP/daemon.log" |
        sed -n 's/.*restore: action=restore .* added=\([0-9]*\) .*reason=\(node-restarted\|marker-missing\).*/\1/p' |
        awk '{ s += $1 } END { print s + 0 }'
}
# It refills the node twice: at once, and again RetryTimeout + DeadTimeout
# + 1 s later, for what the cluster wrote elsewhere in between (the "late"
# ones above). Every entry has a copy on every node (two replicas of
# three): the 1,000, the 100 written while it was down, the 100 after.
bg__now; end=$((BG__MS + 60000))
until { [ "$(restored)" -gt 0 ] && [ "$(items "${ports[1]}")" -ge $((N + 200)) ]; } ||
      [ "$BG__MS" -ge "$end" ]; do
    sleep 0.1
    bg__now
done
n=$(restored)
if [ "$n" -gt 0 ]; then
    bg_pass "the daemon noticed server 1 came back empty and refilled $n entries"
else
    bg_fail "no restore after server 1 came back empty"
fi
bg_assert_grep "restore: action=restore .*reason=node-restarted node=127\.0\.0\.1:${ports[1]} " \
    "$BG_TMP/daemon.log" "the log names the node refilled"
got=$(items "${ports[1]}")
if [ "$got" -ge $((N + 200)) ]; then
    bg_pass "server 1 holds all $((N + 200)) again ($got items)"
else
    bg_fail "server 1 holds only $got items, not the $((N + 200)) of the cluster"
fi
expect user $N $N "all $N enforced again after the restore"
bg_assert_eq 0 "$(unchecked)" "no lookup failed around the restart"
bg_stop_daemon
bg_finish
