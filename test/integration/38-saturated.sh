#!/bin/bash
# 38-saturated: a healthy memcached and a host out of CPU. 16 busy loops on
# the machine's CPUs and 200 concurrent milter sessions, each with one
# suppressed and one clean recipient, against the daemon's defaults
# (MemcachedPool 100, LookupTimeout 250ms). Waiting for a CPU or for a
# pooled connection is local, not a memcached fault: every suppressed
# recipient must be refused, every clean one accepted, and nothing logged
# as accepted unchecked, nor the breaker opened. A correctness check, not
# a timing one: mtclient's deadline per reply is a generous 60 s.
#
# (Before issue 14, waiting for one of 16 pooled connections counted
# against the 250 ms deadline and as a store failure: on a loaded host the
# breaker opened and suppressed recipients went through.)
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached

RUNS=${SAT_RUNS:-2000}
C=${SAT_SESSIONS:-200}
LOOPS=${SAT_LOOPS:-16}

conf=$BG_TMP/bg.conf
port=$(bg_free_port) || bg_fatal "no free port"
cat > "$conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix sat:
UserID nobody
Scope all
CONF
chmod 644 "$conf"

# RUNS suppressed addresses, one per run.
{
    echo "address,class,reason,status"
    for i in $(seq 0 $((RUNS - 1))); do echo "sup$i@example.com,hard,userunknown,5.1.1"; done
} > "$BG_TMP/set.csv"
out=$("$BG_CTL" -c "$conf" import "$BG_TMP/set.csv" 2> "$BG_TMP/import.err")
bg_assert_match "^import: imported=$RUNS bad=0 " "$out" "$RUNS suppressions imported"

bg_start_daemon "$conf"

cat > "$BG_TMP/load.in" <<'IN'
connect app.site.example 203.0.113.5
mail <app@site.example>
rcpt <sup%RUN%@example.com>
rcpt <clean%RUN%@example.com>
IN

# The CPUs saturated: busy loops, stopped on exit like every tracked process.
for _ in $(seq "$LOOPS"); do
    (while :; do :; done) &
    bg_track $!
done
bg_pass "$LOOPS busy loops running on $(nproc) CPUs"

out=$("$BG_MTCLIENT" -t 60000 -n "$RUNS" -c "$C" "$BG_SOCK" < "$BG_TMP/load.in" 2> "$BG_TMP/load.err")
rc=$?
bg_log "$RUNS sessions, $C at a time, CPUs saturated: $out"
bg_assert_eq 0 "$rc" "mtclient completed every session"
[ "$rc" -eq 0 ] || head -n 5 "$BG_TMP/load.err" | sed 's/^/    /'
bg_assert_match "^runs=$RUNS ok=$RUNS errors=0 .* reply5xx=$RUNS " "$out" \
    "all $RUNS suppressed recipients refused with 5xx"
bg_assert_match " reject=0 tempfail=0 " "$out" "no reject or tempfail outside the replies"
bg_assert_not_grep 'accept-unchecked|problem=store-failure|breaker-open' "$BG_TMP/daemon.log" \
    "nothing accepted unchecked, no store failure, breaker closed"
n=$(grep -c 'action=reject from=<[^>]*> rcpt=<sup[0-9]*@example\.com> ' "$BG_TMP/daemon.log")
bg_assert_eq "$RUNS" "$n" "one reject line per suppressed recipient"
bg_stop_daemon && bg_pass "daemon stopped cleanly"
bg_finish
