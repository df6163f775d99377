#!/bin/bash
# shellcheck source=test/e2e/lib-postfix.sh disable=SC2119  # optional arguments
# 70-soak: load and soak, bouncegate inside a real private Postfix with real
# memcached, under SOAK_SESSIONS concurrent SMTP sessions sending
# SOAK_MESSAGES messages with 1-5 recipients each, relayed to smtp-sink.
#
#   0. milter only: mtclient -n SOAK_MT_RUNS -c SOAK_SESSIONS, every run a
#      connection with two recipients, one of them suppressed in every
#      SOAK_EVERY-th run: reply counts exact, no protocol error.
#   1. Postfix: five smtp-source(1) runs at once, one per recipient count
#      r = 1..5, each with SOAK_MESSAGES/5 messages and a share of the
#      SOAK_SESSIONS sessions weighted by the work per message (4 + r
#      round trips), to the "submission" smtpd (bouncegate's outbound
#      service). smtp-source -N numbers every recipient of a run, 1..m*r,
#      as "N-rR@good.test"; every SOAK_EVERY-th number is suppressed
#      (pre-loaded with bouncegatectl import). While the load runs the
#      daemon's VmRSS, open descriptors and threads are sampled every
#      SOAK_SAMPLE s, and SIGUSR1 reloads it SOAK_RELOADS times, spread over
#      the first three quarters of the load (by rejects seen so far).
#
# Then, exactly:
#   - every suppressed recipient was refused once: one "milter-reject: RCPT"
#     line in Postfix's maillog and one "action=reject" line of the daemon
#     per address, and no other;
#   - every clean recipient was delivered once to the good.test sink
#     ("status=sent" per address; the sink's dump holds as many recipients);
#   - no milter error, timeout or unavailability in Postfix's log (the
#     milter runs with default_action=accept as recommended, so this is what
#     shows that "accept" hid nothing), no warning or error from the daemon,
#     every reload logged;
#   - flat resources: over the load, the last quarter's maximum VmRSS is at
#     most the first quarter's maximum + SOAK_RSS_PCT % + SOAK_RSS_SLACK kB;
#     threads never exceed the idle daemon's + one per concurrent session
#     (+ 2), descriptors the idle daemon's + one per concurrent session +
#     two stores' memcached pools (a reload overlaps them) (+ 2); once the
#     load is over the threads come back to the idle count (within
#     SOAK_IDLE_WAIT s) and the descriptors to what the idle daemon holds
#     (+ its memcached connections).
#
# Environment (defaults: the short CI version, about a minute on 2 cores):
#   SOAK_MESSAGES (2000) SOAK_SESSIONS (20) SOAK_MT_RUNS (SOAK_MESSAGES)
#   SOAK_EVERY (4) SOAK_RELOADS (2) SOAK_SAMPLE (0.25) SOAK_RSS_PCT (10)
#   SOAK_RSS_SLACK (4096)
#   SOAK_DRAIN (seconds to wait for the queue to empty: 60 + messages/50)
#   SOAK_IDLE_WAIT (30: seconds for the threads to come back to idle)
#   SOAK_REPORT (a file the summary line is appended to)
# The full run is "make soak": 20,000 messages over 50 sessions.
. "$(dirname "$0")/lib-postfix.sh"

SOAK_MESSAGES=${SOAK_MESSAGES:-2000}
SOAK_SESSIONS=${SOAK_SESSIONS:-20}
SOAK_MT_RUNS=${SOAK_MT_RUNS:-$SOAK_MESSAGES}
SOAK_EVERY=${SOAK_EVERY:-4}
SOAK_RELOADS=${SOAK_RELOADS:-2}
SOAK_SAMPLE=${SOAK_SAMPLE:-0.25}
SOAK_RSS_PCT=${SOAK_RSS_PCT:-10}
SOAK_RSS_SLACK=${SOAK_RSS_SLACK:-4096}
SOAK_DRAIN=${SOAK_DRAIN:-$((60 + SOAK_MESSAGES / 50))}
SOAK_IDLE_WAIT=${SOAK_IDLE_WAIT:-30}
SOAK_SMTP_SOURCE=${SOAK_SMTP_SOURCE:-/usr/sbin/smtp-source}

for v in SOAK_MESSAGES SOAK_SESSIONS SOAK_MT_RUNS SOAK_EVERY SOAK_RELOADS \
         SOAK_RSS_PCT SOAK_RSS_SLACK SOAK_DRAIN \
         SOAK_IDLE_WAIT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || bg_fatal "$v=${!v} is not a number"
done
[ "$SOAK_MESSAGES" -ge 5 ] || bg_fatal "SOAK_MESSAGES must be at least 5"
[ "$SOAK_SESSIONS" -ge 5 ] || bg_fatal "SOAK_SESSIONS must be at least 5"
[ "$SOAK_EVERY" -ge 2 ] || bg_fatal "SOAK_EVERY must be at least 2"
[ -x "$SOAK_SMTP_SOURCE" ] || bg_fatal "$SOAK_SMTP_SOURCE not found (apt-get install postfix)"

bg_tmpdir
bg_start_memcached

# The milter on a unix socket, as in production: the daemon runs as nobody
# with group postfix, so Postfix's smtpd can use the 0660 socket.
rundir=$BG_TMP/run
if ! mkdir -p "$rundir" || ! chown nobody:postfix "$rundir" || ! chmod 750 "$rundir"; then
    bg_fatal "cannot create $rundir"
fi
conf=$BG_TMP/bg.conf
dlog=$BG_TMP/daemon.log
cat > "$conf" <<CONF
Socket unix:$rundir/bouncegate.sock
SocketMode 0660
UserID nobody:postfix
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix soak:
Scope outbound
OutboundDaemons submission
LogLevel notice
CONF
chmod 644 "$conf"    # re-read by nobody on SIGUSR1

# ------------------------------------------------------------ the data set

# Messages and sessions per recipient count r = 1..5.
declare -a MSGS SESS
left_m=$SOAK_MESSAGES left_s=$SOAK_SESSIONS
for r in 1 2 3 4 5; do
    if [ "$r" -lt 5 ]; then
        MSGS[r]=$((SOAK_MESSAGES / 5))
        SESS[r]=$(((SOAK_SESSIONS * (4 + r) * 2 + 35) / 70))   # rounded
        [ "${SESS[r]}" -ge 1 ] || SESS[r]=1
    else
        MSGS[r]=$left_m SESS[r]=$left_s
    fi
    left_m=$((left_m - MSGS[r])) left_s=$((left_s - SESS[r]))
done
[ "${SESS[5]}" -ge 1 ] || bg_fatal "cannot split $SOAK_SESSIONS sessions over 5 runs"

# expected/suppressed and expected/clean: every recipient the load will
# use, sorted; the CSV for bouncegatectl import.
exp=$BG_TMP/expected
mkdir -p "$exp"
csv=$BG_TMP/suppressed.csv
{
    echo "address,class,reason,status,first_seen,expires"
    for r in 1 2 3 4 5; do
        awk -v n=$((MSGS[r] * r)) -v r="$r" -v k="$SOAK_EVERY" 'BEGIN {
            for (i = k; i <= n; i += k)
                printf "%d-r%d@good.test,hard,userunknown,5.1.1,2026-01-02T03:04:05Z,\n", i, r }'
    done
    # the milter-only phase: run numbers 0..N-1
    awk -v n="$SOAK_MT_RUNS" -v k="$SOAK_EVERY" 'BEGIN {
        for (i = 0; i < n; i += k)
            printf "%d-mt@good.test,hard,userunknown,5.1.1,2026-01-02T03:04:05Z,\n", i }'
} > "$csv"
for r in 1 2 3 4 5; do
    awk -v n=$((MSGS[r] * r)) -v r="$r" -v k="$SOAK_EVERY" 'BEGIN {
        for (i = 1; i <= n; i++)
            printf "%d-r%d@good.test\n", i, r > (i % k == 0 ? "/dev/stdout" : "/dev/stderr") }' \
        >> "$exp/suppressed.unsorted" 2>> "$exp/clean.unsorted"
done
LC_ALL=C sort "$exp/suppressed.unsorted" > "$exp/suppressed"
LC_ALL=C sort "$exp/clean.unsorted" > "$exp/clean"
n_susp=$(wc -l < "$exp/suppressed")
n_clean=$(wc -l < "$exp/clean")
n_rcpt=$((n_susp + n_clean))
n_import=$(($(wc -l < "$csv") - 1))

bg_start_daemon "$conf"
t0=$SECONDS
"$BG_CTL" -c "$conf" import "$csv" > "$BG_TMP/import.out" 2>&1
rc=$?
bg_assert_eq "0 import: imported=$n_import bad=0 expired=0 lines=$((n_import + 1))" \
    "$rc $(tail -n 1 "$BG_TMP/import.out")" \
    "bouncegatectl import: $n_import suppressions in $((SECONDS - t0)) s"

# ------------------------------------------------- 0. milter only (mtclient)

if [ "$SOAK_MT_RUNS" -gt 0 ]; then
    cat > "$BG_TMP/mt.in" <<'EOF'
macro connect {daemon_name}=submission
connect client.test 127.0.0.1 40000
mail <app@site.test>
rcpt <%RUN%-mt@good.test>
rcpt <%RUN%-mtok@good.test>
data
quit
EOF
    mt_rej=$(( (SOAK_MT_RUNS + SOAK_EVERY - 1) / SOAK_EVERY ))
    bg__now
    m0=$BG__MS
    "$BG_MTCLIENT" -t 10000 -n "$SOAK_MT_RUNS" -c "$SOAK_SESSIONS" "$BG_SOCK" \
        < "$BG_TMP/mt.in" > "$BG_TMP/mt.out" 2> "$BG_TMP/mt.err"
    rc=$?
    bg__now
    mt_ms=$((BG__MS - m0))
    [ "$mt_ms" -gt 0 ] || mt_ms=1
    sed 's/^/    # /' "$BG_TMP/mt.out" "$BG_TMP/mt.err"
    # per run: connect, mail, 2 rcpt, data = 5 answered commands; data
    # accepts, a suppressed rcpt is refused with the daemon's 550 (a
    # "reply", 5xx), everything else continues.
    bg_assert_match "^0 runs=$SOAK_MT_RUNS ok=$SOAK_MT_RUNS errors=0 replies: continue=$((SOAK_MT_RUNS * 4 - mt_rej)) accept=$SOAK_MT_RUNS reject=0 tempfail=0 discard=0 skip=0 reply=$mt_rej reply4xx=0 reply5xx=$mt_rej " \
        "$rc $(cat "$BG_TMP/mt.out")" \
        "mtclient -n $SOAK_MT_RUNS -c $SOAK_SESSIONS: exact replies, no error"
    mt_rate=$((SOAK_MT_RUNS * 1000 / mt_ms))
    bg_log "milter only: $SOAK_MT_RUNS connections (2 rcpts each) in ${mt_ms} ms = $mt_rate conn/s"
fi

# --------------------------------------------------------------- Postfix

pf_sinks_start
pf_setup "$BG_TMP/pf" "$BG_SOCK" \
    default_process_limit=200 \
    smtpd_client_connection_count_limit=0 \
    smtpd_client_connection_rate_limit=0 \
    smtpd_client_message_rate_limit=0 \
    smtpd_client_recipient_rate_limit=0 \
    smtp_destination_concurrency_limit=20
pf_start
bg_pass "private Postfix up: submission :$PF_SUBMISSION_PORT, milter $PF_MILTER"

# sample: one line "ms VmRSS_kB fds threads" of the daemon to $samples.
samples=$BG_TMP/samples
sample() {
    local st rss thr fds
    { st=$(< "/proc/$BG_PID/status"); } 2> /dev/null || return 1
    rss=${st#*VmRSS:}; rss=${rss%%kB*}; rss=${rss//[[:space:]]/}
    thr=${st#*Threads:}; thr=${thr%%$'\n'*}; thr=${thr//[[:space:]]/}
    fds=("/proc/$BG_PID/fd/"*)
    bg__now
    echo "$BG__MS $rss ${#fds[@]} $thr" >> "$samples"
}
sample
idle_fds=$(awk 'END { print $3 }' "$samples")
idle_thr=$(awk 'END { print $4 }' "$samples")
# cpu_ms: CPU time (user + system) the daemon has used so far, in ms.
clk_tck=$(getconf CLK_TCK 2> /dev/null) || clk_tck=100
cpu_ms() {
    local st a
    { st=$(< "/proc/$BG_PID/stat"); } 2> /dev/null || { echo 0; return; }
    read -r -a a <<< "${st##*) }"     # a[0] = field 3 (state)
    echo $(((a[11] + a[12]) * 1000 / clk_tck))
}
cpu0=$(cpu_ms)

n_rej() {
    grep -c ' action=reject ' "$dlog"
}
rej_before=$(n_rej)

declare -a SRC_PIDS
bg__now
l0=$BG__MS
for r in 1 2 3 4 5; do
    "$SOAK_SMTP_SOURCE" -A -N -s "${SESS[r]}" -m "${MSGS[r]}" -r "$r" -l 1000 \
        -M client.test -f app@site.test -t "-r$r@good.test" -S "soak r=$r" \
        "127.0.0.1:$PF_SUBMISSION_PORT" > "$BG_TMP/source$r.out" 2> "$BG_TMP/source$r.err" &
    SRC_PIDS[r]=$!
    bg_track "${SRC_PIDS[r]}"
done
bg_log "load: ${SOAK_MESSAGES} messages, $n_rcpt recipients ($n_susp suppressed), sessions ${SESS[*]}"

# Sample until every smtp-source is done; reload at 1/(R+1), 2/(R+1), ...
# of the expected rejects (at most up to 3/4 of the load).
reloads=0
while :; do
    running=0
    for r in 1 2 3 4 5; do
        bg__alive "${SRC_PIDS[r]}" && running=1
    done
    [ "$running" = 1 ] || break
    sample
    if [ "$reloads" -lt "$SOAK_RELOADS" ]; then
        done_rej=$(($(n_rej) - rej_before))
        at=$((n_susp * 3 * (reloads + 1) / (4 * (SOAK_RELOADS + 1))))
        if [ "$done_rej" -ge "$at" ]; then
            kill -USR1 "$BG_PID"
            reloads=$((reloads + 1))
            bg_log "reload $reloads (SIGUSR1) after $done_rej of $n_susp rejects"
        fi
    fi
    sleep "$SOAK_SAMPLE"
done
bg__now
l1=$BG__MS
load_ms=$((l1 - l0))
cpu_load_ms=$(($(cpu_ms) - cpu0))
src_rc=
for r in 1 2 3 4 5; do
    wait "${SRC_PIDS[r]}"
    src_rc+="$? "
    bg_untrack "${SRC_PIDS[r]}"
done
bg_assert_eq "0 0 0 0 0 " "$src_rc" "every smtp-source run completed (exit 0)"
bg_assert_eq "$SOAK_RELOADS" "$reloads" "daemon reloaded $SOAK_RELOADS times during the load"
# smtp-source's only complaints: the suppressed recipients, and DATA for
# a message whose recipients were all suppressed.
cat "$BG_TMP"/source?.err > "$BG_TMP/source.err"
bg_assert_eq 0 "$(grep -v -c -E '^[^ ]*smtp-source: warning: (recipient rejected: 550 5\.1\.1 <[0-9]+-r[1-5]@good\.test>: recipient suppressed after hard bounce|data rejected: 554 5\.5\.1 Error: no valid recipients)' "$BG_TMP/source.err")" \
    "smtp-source saw no error but the suppressed recipients (and DATA with none left)"

drain0=$SECONDS
pf_wait_queue_empty "$SOAK_DRAIN" && bg_pass "queue drained in $((SECONDS - drain0)) s"
# the sink writes its dump and Postfix's log lines arrive a little later
pf_wait_grep "$PF_MAILLOG" 'postfix/qmgr\[[0-9]+\]: [0-9A-F]+: removed' 5 > /dev/null
sink_count() {
    grep -a -E -c '^X-Rcpt-Args: <[0-9]+-r[1-5]@good\.test>( |$)' "$PF_SINK_DIR/good.dump"
}
bg__now
sink_end=$((BG__MS + 10000))
while [ "$(sink_count)" -lt "$n_clean" ] && [ "$BG__MS" -lt "$sink_end" ]; do
    sleep 0.1
    bg__now
done
# Idle again: libmilter's worker pool lets its extra workers go once the
# sessions have ended, so the daemon comes back to the thread count it had
# before the load. Sampled until it does (or SOAK_IDLE_WAIT s have passed:
# then the check below fails and shows what was left).
bg__now
idle_end=$((BG__MS + SOAK_IDLE_WAIT * 1000))
while :; do
    sample
    after_thr=$(awk 'END { print $4 }' "$samples")
    [ "$after_thr" -le "$idle_thr" ] && break
    bg__now
    [ "$BG__MS" -ge "$idle_end" ] && break
    sleep 0.1
done
after_fds=$(awk 'END { print $3 }' "$samples")

# ------------------------------------------------------------ exact counts

got=$BG_TMP/got
mkdir -p "$got"
# one address per line, sorted, from each source of truth
sed -n -E 's/.*postfix\/submission\/smtpd\[[0-9]+\]: [0-9A-Z]+: milter-reject: RCPT from [^ ]+: 550 5\.1\.1 <[^>]+>: recipient suppressed after hard bounce on 2026-01-02 \(userunknown\); from=<app@site\.test> to=<([^>]+)>.*/\1/p' \
    "$PF_MAILLOG" | LC_ALL=C sort > "$got/maillog-rejects"
sed -n -E 's/.* action=reject from=<[^>]*> rcpt=<([^>]+)> class=hard reason=userunknown since=2026-01-02 scope=recipient status=5\.1\.1$/\1/p' \
    "$dlog" | grep -v -- '-mt@' | LC_ALL=C sort > "$got/daemon-rejects"
sed -n -E "s/.*postfix\/smtp\[[0-9]+\]: [0-9A-Z]+: to=<([^>]+)>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PF_SINK_GOOD, .* status=sent .*/\1/p" \
    "$PF_MAILLOG" | LC_ALL=C sort > "$got/delivered"
n_mlrej=$(grep -c 'milter-reject: RCPT from' "$PF_MAILLOG")
n_noqueue=$(grep -c 'NOQUEUE: milter-reject: RCPT from' "$PF_MAILLOG")
n_sink=$(sink_count)

# same_list NAME EXPECTED GOT - GOT holds every line of EXPECTED exactly once
same_list() {
    if cmp -s "$2" "$3"; then
        bg_pass "$1: all $(wc -l < "$2"), each exactly once"
    else
        bg_fail "$1: $(wc -l < "$3") lines, expected $(wc -l < "$2"); missing / extra / repeated:"
        LC_ALL=C comm -23 "$2" <(LC_ALL=C sort -u "$3") | head -n 5 | sed 's/^/    missing /'
        LC_ALL=C comm -13 "$2" <(LC_ALL=C sort -u "$3") | head -n 5 | sed 's/^/    extra /'
        uniq -d "$3" | head -n 5 | sed 's/^/    repeated /'
    fi
}
same_list "maillog milter-reject per suppressed recipient" "$exp/suppressed" "$got/maillog-rejects"
bg_assert_eq "$n_susp" "$n_mlrej" "maillog: $n_susp milter-reject RCPT lines in all ($n_noqueue NOQUEUE, the rest after an accepted recipient)"
same_list "daemon action=reject per suppressed recipient" "$exp/suppressed" "$got/daemon-rejects"
same_list "delivered (status=sent to the good.test sink) per clean recipient" "$exp/clean" "$got/delivered"
bg_assert_eq "$n_clean" "$n_sink" "the good.test sink's dump holds $n_clean recipients"
bg_assert_eq 0 "$(grep -c -- '-r[1-5]@good\.test>, .* status=\(bounced\|deferred\)' "$PF_MAILLOG")" \
    "no soak recipient bounced or deferred"

# ------------------------------------------------------------- no errors

bg_assert_not_grep 'milter.*(timeout|error|unavailable|not responding)|milter8|can.t read SMFIC|lost connection after (RCPT|MAIL|DATA)' \
    "$PF_MAILLOG" "maillog: no milter error, timeout or unavailability"
bg_assert_not_grep 'postfix/[a-z/]+\[[0-9]+\]: (fatal|panic|error):|warning: .*(milter|process .* exit status|too many|out of memory|queue file)' \
    "$PF_MAILLOG" "maillog: no fatal/panic/error and no milter/process/resource warning"
n_warn=$(grep -c 'warning:' "$PF_MAILLOG")
[ "$n_warn" -gt 0 ] && grep 'warning:' "$PF_MAILLOG" | sed -E 's/^.*(warning:)/\1/' |
    sort | uniq -c | sort -rn | head -n 5 | sed 's/^/    # maillog /'
bg_assert_not_grep 'bouncegate\[(warning|error)\]' "$dlog" "daemon: no warning or error"
bg_assert_eq "$SOAK_RELOADS" "$(grep -c 'reload: action=reload ' "$dlog")" \
    "daemon: $SOAK_RELOADS reloads logged"

# ------------------------------------------------------------ resources

# Over the load (l0..l1): max of the first and last quarter.
read -r rss_f rss_l ns_f ns_l < <(
    awk -v a="$l0" -v b="$l1" '
        $1 >= a && $1 <= b {
            q = ($1 - a) * 4 / (b - a + 1)
            if (q < 1) { f++; if ($2 > rf) rf = $2 }
            if (q >= 3) { l++; if ($2 > rl) rl = $2 }
        }
        END { print rf + 0, rl + 0, f + 0, l + 0 }' "$samples")
rss_lim=$((rss_f + rss_f * SOAK_RSS_PCT / 100 + SOAK_RSS_SLACK))
# libmilter hands a session's callbacks to a pool that grows a worker when
# all are busy, and every session holds a socket, so under load threads and
# descriptors follow the number of sessions at once: the machine's timing,
# not a leak. What a leak cannot hide: more than the idle daemon's plus one
# per concurrent session (plus, for threads, the reload and restore
# helpers; for descriptors the memcached pools of the old and the new store
# while a reload swaps them, MemcachedPool 16 each), or counts that do not
# come back to the idle ones once the load is over.
thr_lim=$((idle_thr + SOAK_SESSIONS + 2))
fd_lim=$((idle_fds + SOAK_SESSIONS + 2 * 16 + 2))
read -r thr_max fd_max < <(
    awk -v a="$l0" -v b="$l1" '$1 >= a && $1 <= b { if ($4 > t) t = $4; if ($3 > f) f = $3 }
        END { print t + 0, f + 0 }' "$samples")
if [ "$ns_f" -ge 2 ] && [ "$ns_l" -ge 2 ]; then
    bg_pass "resources sampled: $ns_f samples in the first quarter, $ns_l in the last"
else
    bg_fail "too few samples: $ns_f in the first quarter, $ns_l in the last (load ran ${load_ms} ms)"
fi
# at_most VALUE LIMIT PASS-TEXT FAIL-TEXT
at_most() {
    if [ "$1" -le "$2" ]; then bg_pass "$3"; else bg_fail "$4"; fi
}
# Under a sanitizer (make check-asan sets BG_SANITIZER) memory says
# nothing about leaks: ASan's quarantine keeps freed memory. It is printed,
# and judged in the plain build's run of this same test.
if [ -n "${BG_SANITIZER:-}" ]; then
    echo "# $BG_TEST: under $BG_SANITIZER, VmRSS (first/last quarter max $rss_f/$rss_l kB) is reported, not judged"
else
at_most "$rss_l" "$rss_lim" \
    "VmRSS flat: last-quarter max $rss_l kB <= $rss_lim (first-quarter max $rss_f kB + $SOAK_RSS_PCT % + $SOAK_RSS_SLACK kB)" \
    "VmRSS grew: last-quarter max $rss_l kB > $rss_lim (first-quarter max $rss_f kB + $SOAK_RSS_PCT % + $SOAK_RSS_SLACK kB)"
fi
at_most "$fd_max" "$fd_lim" \
    "open descriptors bounded by concurrency: max $fd_max <= $fd_lim (idle $idle_fds + $SOAK_SESSIONS sessions + 2 x 16 pooled + 2)" \
    "open descriptors beyond concurrency: max $fd_max > $fd_lim (idle $idle_fds + $SOAK_SESSIONS sessions + 2 x 16 pooled + 2)"
at_most "$thr_max" "$thr_lim" \
    "threads bounded by concurrency: max $thr_max <= $thr_lim (idle $idle_thr + $SOAK_SESSIONS sessions + 2)" \
    "threads beyond concurrency: max $thr_max > $thr_lim (idle $idle_thr + $SOAK_SESSIONS sessions + 2)"
at_most "$after_thr" "$idle_thr" \
    "threads back to idle after the load: $after_thr (idle before: $idle_thr)" \
    "threads not back to idle ${SOAK_IDLE_WAIT}s after the load: $after_thr (idle before: $idle_thr)"
# Idle again: the listener, the log, and at most MemcachedPool (16)
# connections of the current store; a reload must not leave the old
# store's connections open.
bg_assert_match '^[0-9]+$' "$after_fds" "descriptors sampled after the load"
at_most "$after_fds" $((idle_fds + 16)) \
    "descriptors after the load: $after_fds (idle before: $idle_fds, + at most 16 pooled memcached connections)" \
    "descriptors after the load: $after_fds > idle $idle_fds + 16 pooled memcached connections"

# --------------------------------------------------------------- summary

[ "$load_ms" -gt 0 ] || load_ms=1
rate=$((SOAK_MESSAGES * 1000 / load_ms))
rrate=$((n_rcpt * 1000 / load_ms))
summary="soak: messages=$SOAK_MESSAGES sessions=$SOAK_SESSIONS recipients=$n_rcpt"
summary+=" load_s=$((load_ms / 1000)).$(printf %03d $((load_ms % 1000))) msgs_per_s=$rate rcpts_per_s=$rrate"
summary+=" rejected_maillog=$n_mlrej rejected_daemon=$(wc -l < "$got/daemon-rejects")"
summary+=" delivered=$(wc -l < "$got/delivered") sink=$n_sink reloads=$reloads"
summary+=" rss_kb_first_q=$rss_f rss_kb_last_q=$rss_l fds_max=$fd_max"
summary+=" threads_idle=$idle_thr threads_max=$thr_max threads_after=$after_thr fds_idle=$idle_fds fds_after=$after_fds"
summary+=" daemon_cpu_s=$((cpu_load_ms / 1000)).$(printf %03d $((cpu_load_ms % 1000))) samples=$(wc -l < "$samples")"
[ "$SOAK_MT_RUNS" -gt 0 ] && summary+=" mtclient_conn_per_s=$mt_rate"
echo "# $summary"
[ -n "${SOAK_REPORT:-}" ] && echo "$(date -u +%FT%TZ) $summary" >> "$SOAK_REPORT"

pf_stop_daemon && bg_pass "daemon stopped cleanly after the soak"
pf_finish
