#!/bin/bash
# rcpt-bench.sh - what bouncegate costs on the RCPT path (`make bench-rcpt`),
# against an empty libmilter milter (test/bench/empty-milter.c) driven by
# the same client in the same run. A measurement, not a test: nothing is
# asserted about time.
#
# Each turn: test/tools/mtclient runs SESSIONS milter sessions (connect,
# MAIL, two RCPTs: one suppressed, one clean) over C concurrent
# connections, against the empty milter, then against the lookup milter
# (test/bench/lookup-milter.c: the empty milter plus one memcached
# multi-get per RCPT, the floor of any milter that asks a shared store),
# then against bouncegate (real memcached, the set preloaded, default
# settings but Scope all). They take turns REPEATS times for each C in
# CONCURRENCY, so a burst of load on a shared machine hits all three.
#
# Per turn it prints the milter's CPU time per RCPT (user + system, from
# the kernel's accounting of the whole process: /proc/PID/stat), memcached's
# too for the turns that ask it, and the RCPT latencies mtclient measured
# (p50, p99: from sending the RCPT to its reply). Per C, the ratios of the
# best turns: bouncegate's CPU per RCPT over the empty milter's and over
# the lookup milter's, and the three p99s.
#
#   SESSIONS=n      sessions per turn (default 5000: 10,000 RCPTs)
#   REPEATS=n       turns of each milter per concurrency (default 3)
#   CONCURRENCY=..  default "1 10 50 100"
#   PROTOCOL=..     memcached options after --SERVER (default
#                   --BINARY-PROTOCOL, the shipped default; PROTOCOL= for
#                   the text protocol)
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
BG_TEST=rcpt-bench
SESSIONS=${SESSIONS:-5000}
REPEATS=${REPEATS:-3}
CONCURRENCY=${CONCURRENCY:-1 10 50 100}
EMPTY=$BG_TOP/test/bench/empty-milter
LOOKUP=$BG_TOP/test/bench/lookup-milter
for m in "$EMPTY" "$LOOKUP"; do
    [ -x "$m" ] || bg_fatal "$m not built (make bench-rcpt)"
done
TCK=$(getconf CLK_TCK)

bg_start_memcached
conf=$BG_TMP/bg.conf
port=$(bg_free_port) || bg_fatal "no free port"
cat > "$conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER ${PROTOCOL---BINARY-PROTOCOL}
KeyPrefix bench:
UserID nobody
Scope all
CONF
chmod 644 "$conf"
{
    echo "address,class,reason,status"
    for i in $(seq 0 $((SESSIONS - 1))); do echo "sup$i@example.com,hard,userunknown,5.1.1"; done
} > "$BG_TMP/set.csv"
"$BG_CTL" -c "$conf" import "$BG_TMP/set.csv" > /dev/null 2>&1 || bg_fatal "import failed"
bg_start_daemon "$conf"

# await_milter SOCKET - until the milter at SOCKET negotiates (10 s at most)
await_milter() {
    for _ in $(seq 200); do
        "$BG_MTCLIENT" -q -t 1000 "$1" > /dev/null 2>&1 && return 0
        sleep 0.05
    done
    bg_fatal "no milter answering on $1"
}
eport=$(bg_free_port) || bg_fatal "no free port"
"$EMPTY" "inet:$eport@127.0.0.1" > "$BG_TMP/empty.log" 2>&1 &
EPID=$!
bg_track "$EPID"
await_milter "inet:$eport@127.0.0.1"
lport=$(bg_free_port) || bg_fatal "no free port"
"$LOOKUP" "inet:$lport@127.0.0.1" \
    "--SERVER=$MC_SERVER ${PROTOCOL---BINARY-PROTOCOL} --POOL-MIN=1 --POOL-MAX=100" \
    > "$BG_TMP/lookup.log" 2>&1 &
LPID=$!
bg_track "$LPID"
await_milter "inet:$lport@127.0.0.1"

cat > "$BG_TMP/load.in" <<'IN'
connect app.site.example 203.0.113.5
mail <app@site.example>
rcpt <sup%RUN%@example.com>
rcpt <clean%RUN%@example.com>
IN

# ticks PID - user + system clock ticks of the whole process so far.
ticks() {
    local st
    st=$(< "/proc/$1/stat") || return 1
    st=${st##*) }
    set -- $st
    echo $(( ${12} + ${13} ))     # fields 14 and 15 of stat
}

# turn NAME PID SOCKET C - one turn; prints a line, sets T_CPU (µs/RCPT,
# milter), T_MC (µs/RCPT, memcached), T_P50, T_P99.
turn() {
    local name=$1 pid=$2 sock=$3 c=$4 t0 m0 t1 m1 out rcpts
    t0=$(ticks "$pid"); m0=$(ticks "$MC_PID")
    out=$("$BG_MTCLIENT" -t 30000 -n "$SESSIONS" -c "$c" "$sock" < "$BG_TMP/load.in" 2>&1)
    t1=$(ticks "$pid"); m1=$(ticks "$MC_PID")
    rcpts=$((SESSIONS * 2))
    [[ $out =~ errors=0 ]] || echo "# $name C=$c: $out"
    T_CPU=$(awk -v d=$((t1 - t0)) -v t="$TCK" -v n=$rcpts 'BEGIN { printf "%.1f", d / t * 1e6 / n }')
    T_MC=$(awk -v d=$((m1 - m0)) -v t="$TCK" -v n=$rcpts 'BEGIN { printf "%.1f", d / t * 1e6 / n }')
    T_P50=$(sed -n 's/.* rcpt_p50_us=\([0-9]*\).*/\1/p' <<< "$out")
    T_P99=$(sed -n 's/.* rcpt_p99_us=\([0-9]*\).*/\1/p' <<< "$out")
    printf '%-11s C=%-4s cpu/rcpt %8s us   memcached/rcpt %6s us   p50 %6s us   p99 %7s us\n' \
        "$name" "$c" "$T_CPU" "$T_MC" "$T_P50" "$T_P99"
}

best() { printf '%s\n' "$@" | sort -g | head -n 1; }
ratio() { awk -v b="$1" -v e="$2" 'BEGIN { printf "%.2f", (e > 0 ? b / e : 0) }'; }

echo "# $SESSIONS sessions x 2 RCPT per turn, $REPEATS turns each, $(nproc) CPUs, memcached ${PROTOCOL---BINARY-PROTOCOL}, $(date -u +%FT%TZ)"
summary=()
for c in $CONCURRENCY; do
    ec=() lc=() bc=() ep=() lp=() bp=()
    for _ in $(seq "$REPEATS"); do
        turn empty "$EPID" "inet:$eport@127.0.0.1" "$c"
        ec+=("$T_CPU"); ep+=("$T_P99")
        turn lookup "$LPID" "inet:$lport@127.0.0.1" "$c"
        lc+=("$T_CPU"); lp+=("$T_P99")
        turn bouncegate "$BG_PID" "$BG_SOCK" "$c"
        bc+=("$T_CPU"); bp+=("$T_P99")
    done
    e=$(best "${ec[@]}"); l=$(best "${lc[@]}"); b=$(best "${bc[@]}")
    summary+=("$(printf 'C=%-4s cpu/rcpt best: empty %s, lookup %s, bouncegate %s us = %sx empty, %sx lookup   p99 best: empty %s, lookup %s, bouncegate %s us' \
        "$c" "$e" "$l" "$b" "$(ratio "$b" "$e")" "$(ratio "$b" "$l")" \
        "$(best "${ep[@]}")" "$(best "${lp[@]}")" "$(best "${bp[@]}")")")
done
echo "# summary (best turns)"
printf '%s\n' "${summary[@]}"
bg_pass "benchmark ran"
bg_stop_daemon > /dev/null
bg_finish
