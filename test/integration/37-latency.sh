#!/bin/bash
# Lookup latency of clean recipients (memcached misses), the common case.
#
# A lookup is two small writes on a pooled memcached connection: the quiet
# gets of the address and domain keys, then the no-op that ends them.
# memcached answers nothing to a quiet get that misses, so with Nagle on the
# no-op waited for the ACK of the gets, which Linux delays by 40 ms: every
# clean recipient cost ~44 ms (found by test/e2e/70-soak.sh; 16 pooled
# connections then capped a daemon at ~360 clean recipients/s). lib/store.c
# turns Nagle off (MEMCACHED_BEHAVIOR_TCP_NODELAY).
#
# The bound: RUNS sequential milter sessions (-c 1, unix socket, so the
# milter socket adds no TCP delay), each with 2 clean recipients and 1
# suppressed one. With the bug it cannot take less than RUNS x 2 x 40 ms
# = 8 s (measured 9.0 s); fixed it took 0.04 s. BOUND = 2.5 s leaves a
# loaded machine or sanitizers 60 times the measured cost. bouncegatectl
# uses the same store: "check" of 200 clean addresses, the same bound.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached

RUNS=100
BOUND_MS=2500

rundir=$BG_TMP/run
mkdir -p "$rundir" && chmod 777 "$rundir" || bg_fatal "cannot create $rundir"
conf=$BG_TMP/bg.conf
cat > "$conf" <<EOF
Socket unix:$rundir/bg.sock
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix lat:
Scope all
UserID nobody
LookupTimeout 1s
LogLevel notice
EOF
chmod 644 "$conf"
bg_start_daemon "$conf"
"$BG_CTL" -c "$conf" add bob@bad.test --class hard --reason userunknown > /dev/null 2>&1 ||
    bg_fatal "bouncegatectl add failed"

cat > "$BG_TMP/lat.in" <<'EOF'
connect client.test 192.0.2.1 40000
mail <app@site.test>
rcpt <%RUN%-a@good.test>
rcpt <bob@bad.test>
rcpt <%RUN%-b@good.test>
data
quit
EOF
bg__now
t0=$BG__MS
"$BG_MTCLIENT" -n "$RUNS" -c 1 "$BG_SOCK" < "$BG_TMP/lat.in" > "$BG_TMP/lat.out" 2> "$BG_TMP/lat.err"
rc=$?
bg__now
ms=$((BG__MS - t0))
bg_assert_match "^0 runs=$RUNS ok=$RUNS errors=0 replies: continue=$((RUNS * 4)) accept=$RUNS reject=0 tempfail=0 discard=0 skip=0 reply=$RUNS reply4xx=0 reply5xx=$RUNS " \
    "$rc $(cat "$BG_TMP/lat.out")" "$RUNS sessions: 2 clean recipients accepted, bob refused, each"
if [ "$ms" -lt "$BOUND_MS" ]; then
    bg_pass "$RUNS sequential sessions, $((RUNS * 3)) lookups ($((RUNS * 2)) misses) in $ms ms < $BOUND_MS ms"
else
    bg_fail "$RUNS sequential sessions, $((RUNS * 3)) lookups took $ms ms >= $BOUND_MS ms (Nagle on the memcached connection?)"
fi

# The command-line tool: one process, one connection, 200 misses.
seq 1 200 | sed 's/$/-c@good.test/' > "$BG_TMP/addrs"
bg__now
t0=$BG__MS
"$BG_CTL" -c "$conf" check "$BG_TMP/addrs" > "$BG_TMP/check.out" 2>&1
rc=$?
bg__now
ms=$((BG__MS - t0))
bg_assert_eq 1 "$rc" "bouncegatectl check: none of 200 clean addresses suppressed (exit 1)"
if [ "$ms" -lt "$BOUND_MS" ]; then
    bg_pass "bouncegatectl check of 200 clean addresses in $ms ms < $BOUND_MS ms"
else
    bg_fail "bouncegatectl check of 200 clean addresses took $ms ms >= $BOUND_MS ms"
fi

bg_stop_daemon
bg_finish
