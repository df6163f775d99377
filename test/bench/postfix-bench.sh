#!/bin/bash
# postfix-bench.sh - Postfix's own CPU per message with and without
# bouncegate (part of `make bench-rcpt`). A private Postfix (lib-postfix.sh)
# relays MESSAGES messages from smtp-source (SESSIONS at once, two clean
# recipients each, so both turns deliver the same mail) to smtp-sink; turns
# alternate between smtpd_milters = bouncegate and no milter at all
# (postfix reload in between), REPEATS times each. Measured per message,
# until the queue is empty again: the CPU of Postfix's master and all its
# children (their time moves into the master's cutime/cstime when they
# exit: master's utime+stime+cutime+cstime plus the live children's
# utime+stime), and the daemon's. A measurement, not a test.
#
#   MESSAGES=n   per turn (default 2000)
#   SESSIONS=n   smtp-source sessions at once (default 10)
#   REPEATS=n    turns of each (default 3)
. "$(dirname "$0")/../e2e/lib-postfix.sh"
bg_tmpdir
BG_TEST=postfix-bench
MESSAGES=${MESSAGES:-2000}
SESSIONS=${SESSIONS:-10}
REPEATS=${REPEATS:-3}
SMTP_SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
[ -x "$SMTP_SOURCE" ] || bg_fatal "$SMTP_SOURCE not found (apt-get install postfix)"
TCK=$(getconf CLK_TCK)

bg_start_memcached
port=$(bg_free_port) || bg_fatal "no free port"
cat > "$BG_TMP/bg.conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix pfb:
UserID nobody
Scope all
CONF
chmod 644 "$BG_TMP/bg.conf"
bg_start_daemon "$BG_TMP/bg.conf"
pf_sinks_start
pf_setup "$BG_TMP/pf" "$BG_SOCK" default_process_limit=200 \
    smtpd_client_connection_count_limit=0 smtpd_client_connection_rate_limit=0 \
    smtpd_client_message_rate_limit=0 smtpd_client_recipient_rate_limit=0 \
    smtp_destination_concurrency_limit=20
milter="{ $PF_MILTER, default_action=accept }"   # as pf_setup writes it
pf_start

# ticks_self PID - utime+stime; ticks_tree - the master's tree (see above).
ticks_self() {
    local st a
    { st=$(< "/proc/$1/stat"); } 2> /dev/null || { echo 0; return; }
    read -r -a a <<< "${st##*) }"
    echo $((a[11] + a[12]))
}
ticks_tree() {
    local st a f sum ppid
    st=$(< "/proc/$PF_MASTER_PID/stat") || { echo 0; return; }
    read -r -a a <<< "${st##*) }"
    sum=$((a[11] + a[12] + a[13] + a[14]))
    for f in /proc/[0-9]*/stat; do
        { st=$(< "$f"); } 2> /dev/null || continue
        read -r -a a <<< "${st##*) }"
        ppid=${a[1]}
        [ "$ppid" = "$PF_MASTER_PID" ] && sum=$((sum + a[11] + a[12]))
    done
    echo "$sum"
}
per_msg() {   # TICKS -> ms per message
    awk -v d="$1" -v t="$TCK" -v n="$MESSAGES" 'BEGIN { printf "%.3f", d / t * 1000 / n }'
}

turn() {   # turn with|without
    local p0 d0 p1 d1
    p0=$(ticks_tree); d0=$(ticks_self "$BG_PID")
    "$SMTP_SOURCE" -A -N -s "$SESSIONS" -m "$MESSAGES" -r 2 -l 1000 -M client.test \
        -f app@site.test -t "bench@good.test" "127.0.0.1:$PF_SUBMISSION_PORT" \
        > "$BG_TMP/source.out" 2> "$BG_TMP/source.err" || bg_fatal "smtp-source failed: $(head -n 3 "$BG_TMP/source.err")"
    pf_wait_queue_empty 300 > /dev/null || bg_fatal "the queue did not empty"
    p1=$(ticks_tree); d1=$(ticks_self "$BG_PID")
    T_PF=$(per_msg $((p1 - p0)))
    T_BG=$(per_msg $((d1 - d0)))
    printf '%-8s milter  Postfix %7s ms/message   bouncegate %7s ms/message\n' "$1" "$T_PF" "$T_BG"
}

echo "# $MESSAGES messages x 2 recipients per turn, $SESSIONS sessions, $REPEATS turns each, $(nproc) CPUs, $(date -u +%FT%TZ)"
w=() wo=()
for _ in $(seq "$REPEATS"); do
    pf_postconf "smtpd_milters=$milter" "non_smtpd_milters=$milter" > /dev/null
    turn with
    w+=("$T_PF")
    pf_postconf smtpd_milters= non_smtpd_milters= > /dev/null
    turn without
    wo+=("$T_PF")
done
bw=$(printf '%s\n' "${w[@]}" | sort -g | head -n 1)
bo=$(printf '%s\n' "${wo[@]}" | sort -g | head -n 1)
echo "# summary (best turns): Postfix CPU per message with bouncegate $bw ms, without $bo ms = $(awk -v a="$bw" -v b="$bo" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')x"
bg_pass "benchmark ran"
pf_stop
pf_stop_daemon > /dev/null
pf_finish
