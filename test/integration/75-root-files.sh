#!/bin/bash
# 75-root-files: what the daemon's user can plant in the directories it
# owns (the journal's, the pid file's) never turns a root process against
# another file. The daemon's user here is nobody, which owns jdir/ and
# run/; root's files beside them must come out unchanged:
#   1. jdir/journal -> a root 0600 file: root's bouncegatectl add refuses
#      the link (exit 2, "symbolic link"), the file is unchanged;
#   2. jdir/journal.lock -> a root file: the same;
#   3. jdir/journal a hard link to a root file (what fs.protected_hardlinks
#      = 0 would let nobody make): refused, unchanged;
#   4. 2,000 symbolic links jdir/journal.tmp.<pid> for the next pids, and a
#      journal big enough that root's bouncegatectl import compacts it: the
#      compaction writes a new file of its own, the links and their target
#      are untouched, the compacted journal still belongs to nobody;
#   5. jdir/journal.bad -> a root file while the journal holds a hostile
#      line: the compaction stops (the journal stays whole) and the target
#      is unchanged; without the link, the line is quarantined in
#      journal.bad with a log line;
#   6. the pid file: run/bg.pid -> a root file, the daemon started as root
#      with UserID nobody writes its pid file as nobody and refuses the
#      link (exits 1, "symbolic link"); without the link the pid file
#      holds the daemon's pid and belongs to nobody; in a root-only
#      directory root writes it.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached
[ "$(id -u)" = 0 ] || bg_fatal "needs root (it is root's bouncegatectl that is attacked)"
chmod 0755 "$BG_TMP"
jdir=$BG_TMP/jdir
mkdir -p "$jdir" "$BG_TMP/run" "$BG_TMP/rootrun"
chown nobody "$jdir" "$BG_TMP/run"
chmod 0750 "$jdir"
conf=$BG_TMP/bg.conf
cat > "$conf" <<CONF
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix rf:
UserID nobody
Journal $jdir/journal
CONF
ctl() { "$BG_CTL" -c "$conf" "$@"; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }

# victim NAME - a root-only file with known content; prints its path
victim() {
    local f=$BG_TMP/$1
    printf 'root secret %s\n' "$1" > "$f"
    chmod 0600 "$f"
    echo "$f"
}
fingerprint() { stat -c '%u:%g %a %s' "$1"; sha256sum < "$1"; }
# unchanged FILE BEFORE WHAT
unchanged() {
    if [ "$(fingerprint "$1")" = "$2" ]; then
        bg_pass "$3: $(basename "$1") unchanged (root 0600, same content)"
    else
        bg_fail "$3: $(basename "$1") changed: $(fingerprint "$1" | tr '\n' ' ') (was $2)"
    fi
}

# ------------------------------------------------------------ 1. journal
v=$(victim v1); before=$(fingerprint "$v")
as_nobody ln -s "$v" "$jdir/journal" || bg_fatal "cannot plant the link as nobody"
bg_assert_rc 2 "1. add with jdir/journal -> root file: refused (exit 2)" \
    ctl add bob@example.com --class hard
ctl add bob@example.com --class hard 2> "$BG_TMP/err1" > /dev/null
bg_assert_grep "journal: .*/jdir/journal: is a symbolic link: refusing to follow it" "$BG_TMP/err1" \
    "1. ... the error names the journal and the link"
unchanged "$v" "$before" "1. journal link"
rm -f "$jdir/journal" "$jdir/journal.lock"

# ------------------------------------------------------------ 2. lock
v=$(victim v2); before=$(fingerprint "$v")
as_nobody ln -s "$v" "$jdir/journal.lock"
ctl add bob@example.com --class hard 2> "$BG_TMP/err2" > /dev/null
bg_assert_grep "journal\.lock: is a symbolic link" "$BG_TMP/err2" "2. add with jdir/journal.lock -> root file: refused"
unchanged "$v" "$before" "2. lock link"
rm -f "$jdir/journal.lock"

# ------------------------------------------------------------ 3. hard link
v=$(victim v3); before=$(fingerprint "$v")
ln "$v" "$jdir/journal"
ctl add bob@example.com --class hard 2> "$BG_TMP/err3" > /dev/null
bg_assert_grep "jdir/journal: has 2 links: refusing a hard-linked file" "$BG_TMP/err3" \
    "3. add with jdir/journal a hard link of a root file: refused"
before=$(stat -c '%u:%g %a %s' "$v"; sha256sum < "$v")
unchanged "$v" "$before" "3. hard link"
rm -f "$jdir/journal" "$jdir/journal.lock"

# ------------------------------------------------------------ 4. temporaries
# A journal of nobody's, 20,000 lines for one address: import compacts it.
now=$(date +%s)
as_nobody sh -c "awk -v t=$now 'BEGIN { for (i = 0; i < 20000; i++)
    printf \"%d put r busy@example.com bg1 class=hard reason=r%d status=5.1.1 first=%d last=%d count=1 expires=0 source=manual rule=- id=- diag=-\\n\", t, i, t, t }' > '$jdir/journal'"
v=$(victim v4); before=$(fingerprint "$v")
printf 'address,class,reason\nnew@example.com,hard,userunknown\n' > "$BG_TMP/in.csv"
# One process plants a link for each of the next 2,000 pids, and the import
# starts right after it: its pid is among them.
next=$(( $(cat /proc/sys/kernel/ns_last_pid) + 1 ))
as_nobody perl -e 'for my $p ($ARGV[1] .. $ARGV[1] + 1999) {
    symlink($ARGV[0], "$ARGV[2].tmp.$p") or die "$!" }' "$v" "$next" "$jdir/journal"
ctl import "$BG_TMP/in.csv" > "$BG_TMP/out4" 2>&1
bg_assert_eq 0 "$?" "4. root's import with the links planted succeeds"
n_links=$(find "$jdir" -maxdepth 1 -name 'journal.tmp.*' -type l | wc -l)
bg_assert_eq 2000 "$n_links" "4. nobody had planted 2,000 journal.tmp.<pid> links to a root file"
unchanged "$v" "$before" "4. temporaries"
lines=$(wc -l < "$jdir/journal")
if [ "$lines" -lt 10 ]; then
    bg_pass "4. the journal was compacted (20,001 lines -> $lines)"
else
    bg_fail "4. the journal was not compacted ($lines lines)"
fi
bg_assert_eq "nobody" "$(stat -c %U "$jdir/journal")" "4. the compacted journal still belongs to nobody"
bg_assert_eq "2000" "$(find "$jdir" -maxdepth 1 -name 'journal.tmp.*' -type l | wc -l)" \
    "4. the planted links were neither followed nor replaced"
bg_assert_eq "0" "$(find "$jdir" -maxdepth 1 -name 'journal.tmp.*' -type f | wc -l)" \
    "4. no temporary file left behind"
bg_assert_rc 0 "4. the imported entry is in memcached" ctl show new@example.com
find "$jdir" -maxdepth 1 -name 'journal.tmp.*' -type l -delete

# ------------------------------------------------------------ 5. quarantine
# A hostile line (a name with CR LF) and a journal big enough to compact.
hostile="$now put r evil%0D%0Aset@example.com bg1 class=hard reason=x status=5.1.1 first=$now last=$now count=1 expires=0 source=manual rule=- id=- diag=-"
as_nobody sh -c "echo '$hostile' >> '$jdir/journal'; awk -v t=$now 'BEGIN { for (i = 0; i < 2000; i++)
    printf \"%d put r busy@example.com bg1 class=hard reason=r%d status=5.1.1 first=%d last=%d count=1 expires=0 source=manual rule=- id=- diag=-\\n\", t, i, t, t }' >> '$jdir/journal'"
v=$(victim v5); before=$(fingerprint "$v")
as_nobody ln -s "$v" "$jdir/journal.bad"
jlines=$(wc -l < "$jdir/journal")
ctl import "$BG_TMP/in.csv" > "$BG_TMP/out5" 2>&1
unchanged "$v" "$before" "5. quarantine link"
bg_assert_grep "journal\.bad: is a symbolic link" "$BG_TMP/out5" "5. the compaction says why it stopped"
bg_assert_eq "$((jlines + 1))" "$(wc -l < "$jdir/journal")" \
    "5. ... and the journal was not compacted (its lines plus the import's)"
rm -f "$jdir/journal.bad"
ctl import "$BG_TMP/in.csv" > "$BG_TMP/out5b" 2>&1
bg_assert_grep "bouncegatectl\[warning\]: journal: action=quarantine lines=1 journal=$jdir/journal file=$jdir/journal\.bad" "$BG_TMP/out5b" \
    "5. without the link: the hostile line is quarantined, with a log line"
bg_assert_eq "$hostile" "$(cat "$jdir/journal.bad")" "5. journal.bad holds the line as it was"
bg_assert_eq "nobody" "$(stat -c %U "$jdir/journal.bad")" "5. journal.bad belongs to the directory's owner"
bg_assert_not_grep "evil" "$jdir/journal" "5. the compacted journal has no trace of it"

# ------------------------------------------------------------ 6. pid file
port=$(bg_free_port)
dconf=$BG_TMP/daemon.conf
{ cat "$conf"; echo "Socket inet:$port@127.0.0.1"; echo "PidFile $BG_TMP/run/bg.pid"; } > "$dconf"
v=$(victim v6); before=$(fingerprint "$v")
as_nobody ln -s "$v" "$BG_TMP/run/bg.pid"
timeout 20 "$BG_DAEMON" -f -c "$dconf" > "$BG_TMP/pid.log" 2>&1 < /dev/null
bg_assert_eq 1 "$?" "6. the daemon refuses to start with run/bg.pid -> a root file (exit 1)"
bg_assert_grep "problem=pidfile file=$BG_TMP/run/bg\.pid error=\".*is a symbolic link" "$BG_TMP/pid.log" \
    "6. ... and logs why"
unchanged "$v" "$before" "6. pid file link"
rm -f "$BG_TMP/run/bg.pid"
bg_start_daemon "$dconf"
bg_assert_eq "$BG_PID" "$(cat "$BG_TMP/run/bg.pid" 2>/dev/null)" "6. without the link the pid file holds the daemon's pid"
bg_assert_eq "nobody" "$(stat -c %U "$BG_TMP/run/bg.pid")" "6. ... written by the daemon's user (the directory is nobody's)"
bg_stop_daemon
[ -e "$BG_TMP/run/bg.pid" ] && bg_fail "6. the pid file is left after the stop" ||
    bg_pass "6. the pid file is removed at the stop"
sed -i "s|^PidFile .*|PidFile $BG_TMP/rootrun/bg.pid|" "$dconf"
bg_start_daemon "$dconf"
bg_assert_eq "$BG_PID" "$(cat "$BG_TMP/rootrun/bg.pid" 2>/dev/null)" "6. in a root-only directory the pid file is written too"
bg_assert_eq "root" "$(stat -c %U "$BG_TMP/rootrun/bg.pid")" "6. ... by root, before privileges are dropped"
bg_stop_daemon
bg_finish
