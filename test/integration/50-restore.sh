#!/bin/bash
# Durability: 10,000 suppressions imported with bouncegatectl import (so
# journalled), one deleted; memcached restarted EMPTY on the same port; the
# daemon's restore thread notices the missing marker and replays the
# journal: every one of the 9,999 is enforced again within a bounded time
# (measured and printed), the deleted one stays deleted. Then export ->
# import between two KeyPrefixes round-trips, and import's CSV dialects
# and bad lines.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached
N=10000
jdir=$BG_TMP/j
mkdir -p "$jdir"
# The daemon drops to nobody when started as root: its journal directory
# must be its own (files root creates there are handed to the owner).
[ "$(id -u)" = 0 ] && chown nobody "$jdir"
port=$(bg_free_port) || bg_fatal "no free port"
conf=$BG_TMP/bg.conf
cat > "$conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix rs:
UserID nobody
Scope all
LookupTimeout 500ms
WarnInterval 1s
Journal $jdir/journal
JournalSync interval
RestoreInterval 1s
CONF
chmod 644 "$conf"
ctl() { "$BG_CTL" -c "$conf" "$@"; }

# --- 10,000 suppressions through import
csv=$BG_TMP/all.csv
awk -v n=$N 'BEGIN {
    print "address,class,reason,status,first_seen,expires"
    for (i = 0; i < n; i++)
        printf "u%d@restore.example,hard,userunknown,5.1.1,2026-01-02T03:04:05Z,\n", i
}' > "$csv"
awk -v n=$N 'BEGIN { for (i = 0; i < n; i++) printf "u%d@restore.example\n", i }' > "$BG_TMP/all.txt"
grep -v '^u1234@' "$BG_TMP/all.txt" > "$BG_TMP/kept.txt"
bg__now; t=$BG__MS
bg_assert_rc 0 "import of $N lines exits 0" ctl import "$csv"
bg__now; bg_log "import of $N entries took $((BG__MS - t)) ms"
bg_assert_eq "import: imported=$N bad=0 expired=0 lines=$((N + 1))" "$(cat "$BG_TMP/last.out")" \
    "import reports its counts"
bg_assert_eq "$N" "$(grep -c ' put r u[0-9]*@restore.example ' "$jdir/journal")" \
    "every imported entry is in the journal"

bg_start_daemon "$conf"
# First start: the marker is missing, so the daemon replays (nothing is lost,
# add never overwrites) and sets it.
bg__now; end=$((BG__MS + 20000))
until grep -q 'restore: action=restore ' "$BG_TMP/daemon.log"; do
    bg__now; [ "$BG__MS" -ge "$end" ] && break
    sleep 0.1
done
bg_assert_grep "restore: action=restore entries=$N tombstones=0 seconds=[0-9.]+ added=0 present=$N " \
    "$BG_TMP/daemon.log" "first start: marker set after a replay that found everything present"
bg_assert_match '^[0-9]+\..+\.[0-9]+$' "$(bg_mc_get rs:m:marker)" "marker holds a generation"

bg_assert_rc 0 "all $N enforced before the restart" ctl check "$BG_TMP/all.txt"
bg_assert_rc 0 "delete one" ctl del u1234@restore.example
bg_assert_grep '^[0-9]+ del r u1234@restore.example -$' "$jdir/journal" "the delete is journalled"
bg_assert_rc 1 "check counts the deleted one as not suppressed" ctl check "$BG_TMP/all.txt"
bg_assert_eq "suppressed=$((N - 1)) not_suppressed=1 bad=0 errors=0" "$(cat "$BG_TMP/last.out")" \
    "check prints the counts"

cat > "$BG_TMP/one.in" <<'IN'
connect app.site.example 203.0.113.5
mail <app@site.example>
rcpt <u42@restore.example>
rcpt <u1234@restore.example>
data
IN
out=$("$BG_MTCLIENT" -t 3000 "$BG_SOCK" < "$BG_TMP/one.in")
bg_assert_match 'rcpt <u42@restore.example>: reply 550 5\.1\.1' "$out" "before: u42 rejected"

# --- memcached restarts empty on the same port
mcport=$MC_PORT oldpid=$MC_PID
bg_stop_memcached
bg_start_memcached_on "$mcport"
bg__now; t0=$BG__MS
# (That it came up empty is shown by the restore line below: added=9999
# present=0. Asking it for u42 here raced the daemon, whose breaker probe
# notices the server within 100 ms and wakes the restore at once.)
if [ "$MC_PID" != "$oldpid" ]; then
    bg_pass "a new memcached process on the same port (pid $MC_PID)"
else
    bg_fail "memcached was not restarted"
fi
ok=0
end=$((t0 + 60000))
while :; do
    if ctl check "$BG_TMP/kept.txt" > "$BG_TMP/poll.out" 2>/dev/null; then
        ok=1
        break
    fi
    bg__now; [ "$BG__MS" -ge "$end" ] && break
    sleep 0.2
done
bg__now; elapsed=$((BG__MS - t0))
if [ $ok = 1 ]; then
    bg_pass "all $((N - 1)) enforced again ${elapsed} ms after memcached restarted empty"
else
    bg_fail "not restored within 60 s: $(cat "$BG_TMP/poll.out")"
fi
rline=$(grep 'restore: action=restore ' "$BG_TMP/daemon.log" | tail -n 1)
bg_assert_match "restore: action=restore entries=$((N - 1)) tombstones=1 seconds=[0-9.]+ added=$((N - 1)) present=0 .*reason=marker-missing" \
    "$rline" "one restore line with the counts"
secs=$(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' <<< "$rline")
bg_log "MEASURED: restore of $((N - 1)) entries: seconds=$secs (daemon); enforced again ${elapsed} ms after the empty memcached started (RestoreInterval 1s)"
bg_assert_rc 1 "the deleted one stays deleted" ctl show u1234@restore.example
out=$("$BG_MTCLIENT" -t 3000 "$BG_SOCK" < "$BG_TMP/one.in")
bg_assert_match 'rcpt <u42@restore.example>: reply 550 5\.1\.1' "$out" "after: u42 rejected again"
bg_assert_match 'rcpt <u1234@restore.example>: continue' "$out" "after: u1234 still accepted"

# --- export -> import between two KeyPrefixes
bg_assert_rc 0 "export" ctl export "$BG_TMP/a.csv"
bg_assert_eq "address,class,reason,status,first_seen,expires" "$(head -n 1 "$BG_TMP/a.csv")" \
    "export header"
bg_assert_eq "$N" "$(wc -l < "$BG_TMP/a.csv")" "export: header + $((N - 1)) entries"
bg_assert_eq "u42@restore.example,hard,userunknown,5.1.1,2026-01-02T03:04:05Z," \
    "$(grep '^u42@' "$BG_TMP/a.csv")" "export line format"
# A journal that cannot be read leaves the file named as it was (the
# export is written beside it and renamed over at the end); a device is
# written to directly and stays a device.
cp "$BG_TMP/a.csv" "$BG_TMP/keep.csv"
sed -e "s|^Journal .*|Journal $BG_TMP|" "$conf" > "$BG_TMP/bad-journal.conf"
bg_assert_rc 2 "export with an unreadable journal fails" \
    "$BG_CTL" -c "$BG_TMP/bad-journal.conf" export "$BG_TMP/keep.csv"
if cmp -s "$BG_TMP/a.csv" "$BG_TMP/keep.csv" && ! ls "$BG_TMP"/keep.csv.tmp.* > /dev/null 2>&1; then
    bg_pass "a failed export leaves the file as it was, and no temporary file"
else
    bg_fail "a failed export changed $BG_TMP/keep.csv or left a temporary file"
fi
bg_assert_rc 0 "export to /dev/null" ctl export /dev/null
if [ -c /dev/null ]; then bg_pass "/dev/null is still a device"; else bg_fail "/dev/null replaced"; fi

conf2=$BG_TMP/bg2.conf
sed -e 's/^KeyPrefix .*/KeyPrefix rt:/' -e "s|^Journal .*|Journal $jdir/journal2|" "$conf" > "$conf2"
bg_assert_rc 0 "import the export under another KeyPrefix" "$BG_CTL" -c "$conf2" import "$BG_TMP/a.csv"
bg_assert_rc 0 "export it again" "$BG_CTL" -c "$conf2" export "$BG_TMP/b.csv"
if cmp -s "$BG_TMP/a.csv" "$BG_TMP/b.csv"; then
    bg_pass "export -> import -> export round-trips"
else
    bg_fail "round trip differs: $(diff "$BG_TMP/a.csv" "$BG_TMP/b.csv" | head -n 5 | tr '\n' ' ')"
fi
bg_assert_rc 0 "the other prefix enforces them" "$BG_CTL" -c "$conf2" check "$BG_TMP/kept.txt"

# --- import dialects: ESP headers, quoting, defaults, bad lines
cat > "$BG_TMP/esp.csv" <<'CSV'
Email,Type,Reason,Created,Status
alice@esp.example,bounce,"550 5.1.1 <alice@esp.example>: user unknown, sorry",2025-06-01 10:00:00,5.1.1
"""quoted, local""@esp.example",spam,abuse,2025-06-01T10:00:00+02:00,
carol@esp.example,,,,
not an address,hard,,,
dave@esp.example,maybe,,,
"unterminated@esp.example,hard,,,
@Dead.ESP.example,hard,hostunknown,1750000000,5.1.2
CSV
bg_assert_rc 1 "import with bad lines exits 1" ctl import "$BG_TMP/esp.csv"
bg_assert_eq "import: imported=4 bad=3 expired=0 lines=8" "$(cat "$BG_TMP/last.out")" "dialect counts"
bg_assert_grep 'import: line 5: bad address' "$BG_TMP/last.err" "bad address reported with its line"
bg_assert_grep 'import: line 6: unknown class' "$BG_TMP/last.err" "bad class reported with its line"
bg_assert_grep 'import: line 7: bad CSV quoting' "$BG_TMP/last.err" "bad quoting reported"
out=$(ctl show alice@esp.example)
bg_assert_match 'class +hard' "$out" "bounce means hard"
bg_assert_match 'reason +imported' "$out" "a sentence is not a reason"
bg_assert_match 'diag +550 5\.1\.1 <alice@esp\.example>: user unknown, sorry' "$out" "... it is kept as diag"
bg_assert_match 'first_seen +2025-06-01T10:00:00Z' "$out" "blank-separated time, UTC"
bg_assert_rc 0 "quoted local part with a comma and doubled quotes" ctl show '"quoted, local"@esp.example'
bg_assert_match 'first_seen +2025-06-01T08:00:00Z' "$(ctl show '"quoted, local"@esp.example')" \
    "offset applied"
out=$(ctl show carol@esp.example)
bg_assert_match 'class +manual' "$out" "missing class: manual"
bg_assert_match 'expires +never' "$out" "missing expires: never"
bg_assert_rc 0 "domain entry imported" ctl show x@dead.esp.example
printf 'foo,bar\nx,y\n' > "$BG_TMP/nohdr.csv"
bg_assert_rc 2 "no address column: exit 2" ctl import "$BG_TMP/nohdr.csv"
grep -v '^Journal' "$conf" > "$BG_TMP/nojournal.conf"
bg_assert_rc 2 "export without a Journal is an error" "$BG_CTL" -c "$BG_TMP/nojournal.conf" export

bg_stop_daemon
bg_finish
