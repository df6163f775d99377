#!/bin/bash
# A memcached that accepts connections and never answers (test/tools/
# blackhole) costs a bounded time, fails open, and is logged once: the
# circuit breaker opens after BreakerFailures failed lookups and, for
# BreakerCooldown, every recipient is accepted without asking memcached.
# Then a real memcached: lookups work again, and a memcached that stalls
# and comes back is probed after the cooldown and the breaker closes.
#
# The bound of the 1,000-check run, from the settings below:
#   LookupTimeout D = 100 ms bounds one lookup once it has a pooled
#   connection (lib/store.c; the default pool of 100 outnumbers the C
#   sessions, so none waits for one). The breaker opens at the 5th failure
#   (BreakerFailures N = 5). mtclient keeps C = 20 sessions in flight, so
#   when it opens at most C lookups are under way, all started within the
#   first D. After that no lookup touches the network for the cooldown
#   (30 s, longer than the whole run), so the store costs at most
#     N x D (even if the N failures came one after another)
#     + D  (the lookups in flight when it opened)        = 0.6 s,
#   doubled for scheduling and sanitizers = 1.2 s, plus a 2 s margin for
#   1,000 milter sessions themselves (about 0.2 s measured without
#   sanitizers): BOUND = 3.2 s. Without the breaker the same run could not
#   take less than 1,000 x D / C = 5 s, so the bound tells the two apart.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir

BLACKHOLE=$BG_TOP/test/tools/blackhole
[ -x "$BLACKHOLE" ] || bg_fatal "$BLACKHOLE not built (make test/tools/blackhole)"

N=5          # BreakerFailures
D_MS=100     # LookupTimeout
C=20         # concurrent milter connections
RUNS=1000
BOUND_MS=$(( (N * D_MS + D_MS) * 2 + 2000 ))

# ---------------------------------------------------------- the blackhole
"$BLACKHOLE" -t 240 -m 256 > "$BG_TMP/blackhole.port" 2> "$BG_TMP/blackhole.log" < /dev/null &
BH_PID=$!
bg_track "$BH_PID"
BH_PORT=
for _ in $(seq 100); do
    read -r BH_PORT < "$BG_TMP/blackhole.port" 2>/dev/null
    [[ $BH_PORT =~ ^[0-9]+$ ]] && break
    bg__alive "$BH_PID" || bg_fatal "blackhole exited: $(cat "$BG_TMP/blackhole.log")"
    sleep 0.05
done
[[ $BH_PORT =~ ^[0-9]+$ ]] || bg_fatal "blackhole printed no port"

port=$(bg_free_port) || bg_fatal "no free port"
write_conf() {   # write_conf MEMCACHED_SERVER COOLDOWN
    cat > "$BG_TMP/bg.conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$1 --BINARY-PROTOCOL
KeyPrefix br:
UserID nobody
LookupTimeout ${D_MS}ms
BreakerFailures $N
BreakerCooldown $2
Scope all
CONF
    chmod 644 "$BG_TMP/bg.conf"
}
write_conf "127.0.0.1:$BH_PORT" 30s
bg_start_daemon "$BG_TMP/bg.conf"

cat > "$BG_TMP/load.in" <<'IN'
connect app.site.example 203.0.113.5
mail <app@site.example>
rcpt <user%RUN%@example.com>
IN

# ---------------------------------------------------------- 1,000 checks
bg__now; t0=$BG__MS
out=$("$BG_MTCLIENT" -t 5000 -n "$RUNS" -c "$C" "$BG_SOCK" < "$BG_TMP/load.in" 2> "$BG_TMP/load.err")
rc=$?
bg__now; took=$((BG__MS - t0))
bg_log "$RUNS checks against the blackhole: ${took} ms (bound ${BOUND_MS} ms): $out"
bg_assert_eq 0 "$rc" "mtclient completed every run"
[ "$rc" -eq 0 ] || head -n 5 "$BG_TMP/load.err" | sed 's/^/    /'
bg_assert_match "^runs=$RUNS ok=$RUNS errors=0 replies: continue=$((RUNS * 3)) accept=0 reject=0 tempfail=0 " \
    "$out" "all $RUNS RCPT checks answered continue (fail open)"
if [ "$took" -le "$BOUND_MS" ]; then
    bg_pass "$RUNS checks took ${took} ms <= ${BOUND_MS} ms"
else
    bg_fail "$RUNS checks took ${took} ms > ${BOUND_MS} ms"
fi
n=$(grep -c 'action=breaker-open ' "$BG_TMP/daemon.log")
bg_assert_eq 1 "$n" "exactly one breaker-open line"
bg_assert_grep "store: action=breaker-open failures=$N retry_in=30s error=\"memcached fetch: memcached at 127\.0\.0\.1:[0-9]+ did not answer in time \(timeout\)" \
    "$BG_TMP/daemon.log" "the breaker-open line gives failures, cooldown and the error"
n=$(grep -c 'problem=store-failure' "$BG_TMP/daemon.log")
bg_assert_eq 1 "$n" "one store-failure warning, not one per recipient"
# Every recipient let through unchecked is reported: its own line (at most
# 20 a second) or counted in a held-back line (the restore thread's tick
# logs a count once its second is over).
accounted() {
    awk '/action=accept-unchecked from=<[^>]*> rcpt=</ { n++ }
         /action=accept-unchecked held_back=/ { for (i = 1; i <= NF; i++)
             if ($i ~ /^held_back=/) { sub(/^held_back=/, "", $i); n += $i } }
         END { print n + 0 }' "$BG_TMP/daemon.log"
}
bg__now; end=$((BG__MS + BG_TIMEOUT * 1000))
while [ "$(accounted)" -lt "$RUNS" ] && [ "$BG__MS" -lt "$end" ]; do sleep 0.1; bg__now; done
bg_assert_eq "$RUNS" "$(accounted)" "every one of the $RUNS unchecked recipients reported (own line or count)"
n=$(awk '/action=accept-unchecked from=<[^>]*> rcpt=</ { c[$1]++ } END { m = 0; for (k in c) if (c[k] > m) m = c[k]; print m + 0 }' \
    "$BG_TMP/daemon.log")
if [ "$n" -le 20 ]; then
    bg_pass "at most 20 per-recipient lines in any second ($n)"
else
    bg_fail "$n per-recipient lines in one second (limit 20)"
fi

# ---------------------------------------------------------- a real memcached
bg_start_memcached
write_conf "$MC_SERVER" 1s
"$BG_CTL" -c "$BG_TMP/bg.conf" add bob@example.com --class hard --reason userunknown \
    >/dev/null || bg_fatal "cannot add bob"

# wait_log ERE COUNT SECONDS [CMD...] - until ERE has COUNT matching lines in
# the daemon log, running CMD (if any) between looks; 1 on timeout.
wait_log() {
    local ere=$1 want=$2 secs=$3 end
    shift 3
    bg__now
    end=$((BG__MS + secs * 1000))
    while [ "$(grep -c -E -e "$ere" "$BG_TMP/daemon.log")" -lt "$want" ]; do
        bg__now
        [ "$BG__MS" -ge "$end" ] && return 1
        [ $# -gt 0 ] && "$@" > /dev/null
        sleep 0.1
    done
    return 0
}

kill -USR1 "$BG_PID"
wait_log 'action=reload ' 1 "$BG_TIMEOUT" || bg_fatal "no reload line after SIGUSR1"

cat > "$BG_TMP/bob.in" <<'IN'
connect app.site.example 203.0.113.5
mail <app@site.example>
rcpt <bob@example.com>
rcpt <alice@example.com>
IN
bob() {
    "$BG_MTCLIENT" -t 2000 "$BG_SOCK" < "$BG_TMP/bob.in" 2>&1
}
out=$(bob)
bg_assert_match 'rcpt <bob@example.com>: reply 550 5.1.1' "$out" "after reload: bob rejected"
bg_assert_match 'rcpt <alice@example.com>: continue' "$out" "after reload: alice accepted"

# memcached stops answering (SIGSTOP: the kernel still accepts connections),
# the breaker opens again; it comes back, the probe closes the breaker.
kill -STOP "$MC_PID"
out=$("$BG_MTCLIENT" -t 5000 -n 40 -c 10 "$BG_SOCK" < "$BG_TMP/load.in" 2>&1)
bg_assert_match '^runs=40 ok=40 errors=0 replies: continue=120 ' "$out" \
    "memcached stalled: 40 checks all answered continue"
if wait_log 'action=breaker-open ' 2 "$BG_TIMEOUT"; then
    bg_pass "the breaker opened again on the stalled memcached"
else
    bg_fail "no second breaker-open line"
fi
kill -CONT "$MC_PID"
# No traffic now: the background prober alone must find memcached back.
bg__now; t0=$BG__MS
if wait_log 'action=breaker-closed ' 1 "$BG_TIMEOUT"; then
    bg__now
    bg_pass "breaker-closed $((BG__MS - t0)) ms after memcached came back, without a single lookup (background probe, cooldown 1s)"
else
    bg_fail "no breaker-closed line within ${BG_TIMEOUT}s of memcached coming back"
fi
bg_assert_grep 'store: action=breaker-closed after=[0-9]+(\.[0-9])?s skipped=[0-9]+$' \
    "$BG_TMP/daemon.log" "the breaker-closed line gives the outage's length and skips"
out=$(bob)
bg_assert_match 'rcpt <bob@example.com>: reply 550 5.1.1' "$out" "after the outage: bob rejected"
bg_stop_daemon
bg_finish
