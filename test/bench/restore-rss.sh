#!/bin/bash
# restore-rss.sh - the daemon's memory with a big journal (`make bench-rss`):
# a journal of N entries (default 1,000,000; written directly, one line per
# address), an empty memcached, the daemon started on it: how long the
# replay takes, the peak RSS (VmHWM) and the RSS once the restore and the
# journal check are done (VmRSS, 3 s later). A measurement, not a test.
#
#   N=n   entries (default 1000000)
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
BG_TEST=restore-rss
N=${N:-1000000}
bg_start_memcached -m 1024
jdir=$BG_TMP/j
mkdir -p "$jdir" && chown nobody "$jdir" || bg_fatal "cannot make $jdir"
port=$(bg_free_port) || bg_fatal "no free port"
cat > "$BG_TMP/bg.conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix rss:
UserID nobody
Journal $jdir/journal
CONF
chmod 644 "$BG_TMP/bg.conf"
# One real line from bouncegatectl, then N of its kind with other names.
"$BG_CTL" -c "$BG_TMP/bg.conf" add seed@example.com --class hard --reason userunknown \
    > /dev/null 2>&1 || bg_fatal "bouncegatectl add failed"
line=$(cat "$jdir/journal")
awk -v n="$N" -v l="$line" 'BEGIN {
        split(l, f, " "); rec = substr(l, index(l, f[5]))
        for (i = 0; i < n; i++) print f[1], f[2], f[3], "u" i "@example.com", rec
    }' > "$jdir/journal.new" && mv "$jdir/journal.new" "$jdir/journal" &&
    chown nobody "$jdir/journal" || bg_fatal "cannot write the journal"
bg_mc_flush "$MC_PORT" > /dev/null 2>&1
BG_TIMEOUT=60 bg_start_daemon "$BG_TMP/bg.conf"
bg__now; end=$((BG__MS + 600000))
until grep -q 'restore: action=restore ' "$BG_TMP/daemon.log"; do
    bg__now; [ "$BG__MS" -ge "$end" ] && bg_fatal "no restore after 600 s"
    sleep 0.5
done
sleep 3
echo "# $N entries, journal $(du -m "$jdir/journal" | cut -f1) MB, $(nproc) CPUs, $(date -u +%FT%TZ)"
grep -o 'restore: action=restore entries=[0-9]* .*seconds=[0-9.]*' "$BG_TMP/daemon.log"
grep -E 'VmHWM|VmRSS' "/proc/$BG_PID/status"
bg_pass "measured"
bg_stop_daemon > /dev/null
bg_finish
