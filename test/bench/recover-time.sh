#!/bin/bash
# recover-time.sh - how soon a suppressed recipient is refused again after
# memcached comes back from a crash, empty (`make bench-rcpt`). A
# measurement, not a test: nothing is asserted about time.
#
# The daemon runs with the shipped defaults (Scope all, a journal of N
# entries). Each turn: memcached is stopped; three RCPTs open the breaker
# (waited for in the log); memcached is started again, empty, on the same
# port; from the moment it answers, the client sends one session every
# 10 ms (connect, MAIL, the suppressed recipient) until it is refused.
# Printed per turn: milliseconds from memcached answering to the first
# refusal, and the restore's own seconds from its log line.
#
#   N=n         entries in the journal (default 1000; the recipient asked
#               for is the first one written)
#   REPEATS=n   turns (default 5)
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
BG_TEST=recover-time
N=${N:-1000}
REPEATS=${REPEATS:-5}

bg_start_memcached
jdir=$BG_TMP/journal
mkdir -p "$jdir" && chown nobody "$jdir" || bg_fatal "cannot make $jdir"
conf=$BG_TMP/bg.conf
port=$(bg_free_port) || bg_fatal "no free port"
cat > "$conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix rt:
UserID nobody
Scope all
Journal $jdir/journal
CONF
chmod 644 "$conf"
{
    echo "address,class,reason,status"
    for i in $(seq 0 $((N - 1))); do echo "sup$i@example.com,hard,userunknown,5.1.1"; done
} > "$BG_TMP/set.csv"
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
    "$BG_CTL" -c "$conf" import "$BG_TMP/set.csv" > /dev/null 2>&1 || bg_fatal "import failed"
bg_start_daemon "$conf"

cat > "$BG_TMP/one.in" <<'IN'
connect app.site.example 203.0.113.5
mail <app@site.example>
rcpt <sup0@example.com>
IN

# wait_log ERE FROMLINE - until a daemon.log line after FROMLINE matches
# (BG_TIMEOUT at most).
wait_log() {
    local end
    bg__now
    end=$((BG__MS + BG_TIMEOUT * 1000))
    until tail -n "+$(($2 + 1))" "$BG_TMP/daemon.log" | grep -q -E -e "$1"; do
        bg__now
        [ "$BG__MS" -ge "$end" ] && bg_fatal "no log line matching '$1' in ${BG_TIMEOUT}s"
        sleep 0.05
    done
}

echo "# $N entries in the journal, $REPEATS turns, $(nproc) CPUs, $(date -u +%FT%TZ)"
all=()
for t in $(seq "$REPEATS"); do
    mark=$(wc -l < "$BG_TMP/daemon.log")
    bg_stop_memcached || bg_fatal "cannot stop memcached"
    for _ in 1 2 3; do "$BG_MTCLIENT" -t 5000 "$BG_SOCK" < "$BG_TMP/one.in" > /dev/null 2>&1; done
    wait_log 'store: action=breaker-open ' "$mark"
    bg_start_memcached_on "$MC_PORT"
    bg__now; t0=$BG__MS
    until "$BG_MTCLIENT" -t 5000 "$BG_SOCK" < "$BG_TMP/one.in" 2>&1 | grep -q 'reply 550'; do
        bg__now
        [ $((BG__MS - t0)) -ge $((BG_TIMEOUT * 1000)) ] && bg_fatal "not refused again in ${BG_TIMEOUT}s"
        sleep 0.01
    done
    bg__now; ms=$((BG__MS - t0))
    wait_log 'restore: action=restore ' "$mark"
    rs=$(tail -n "+$((mark + 1))" "$BG_TMP/daemon.log" | grep -o 'restore: action=restore .*seconds=[0-9.]*' |
         sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' | tail -n 1)
    printf 'turn %d: refused again %d ms after memcached answered (restore: %s s)\n' "$t" "$ms" "$rs"
    all+=("$ms")
done
printf '# summary: refused again after %s ms (best), %s ms (worst)\n' \
    "$(printf '%s\n' "${all[@]}" | sort -n | head -n 1)" "$(printf '%s\n' "${all[@]}" | sort -n | tail -n 1)"
bg_pass "benchmark ran"
bg_stop_daemon > /dev/null
bg_finish
