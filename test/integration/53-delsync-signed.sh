#!/bin/bash
# Signed delete notes (lib/delsync.h): with a SigningKeyFile, anyone who can
# write to memcached can no longer make a delete permanent on every host.
# Host A (a daemon with a journal) and host B (bouncegatectl) share one
# real memcached and the site's key. Notes planted in memcached without a
# MAC, or with a wrong one, are skipped by A's daemon with a log line and
# change nothing in A's journal; B's signed note is applied.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached
ja=$BG_TMP/a jb=$BG_TMP/b
mkdir -p "$ja" "$jb"
[ "$(id -u)" = 0 ] && chown nobody "$ja" "$jb"
key=$BG_TMP/key
echo "delsync-signing-key-0123456789" > "$key"
chmod 640 "$key"
[ "$(id -u)" = 0 ] && chown nobody "$key"
porta=$(bg_free_port) || bg_fatal "no free port"
mkconf() {  # mkconf FILE JOURNAL_DIR
    cat > "$1" <<CONF
Socket inet:$porta@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix dss:
UserID nobody
Scope all
LogLevel debug
Journal $2/journal
RestoreInterval 1s
SigningKeyFile $key
CONF
    chmod 644 "$1"
}
mkconf "$BG_TMP/a.conf" "$ja"
mkconf "$BG_TMP/b.conf" "$jb"
A() { "$BG_CTL" -c "$BG_TMP/a.conf" "$@"; }
B() { "$BG_CTL" -c "$BG_TMP/b.conf" "$@"; }
# plant SEQ VALUE - what anyone with access to memcached can do
plant() {
    bg_mc_set "dss:m:del:$1" "$2" 2592000 || bg_fatal "cannot plant note $1"
    bg_mc_set "dss:m:delseq" "$1" || bg_fatal "cannot set the counter"
}

for x in bob@example.com carol@example.com; do
    bg_assert_rc 0 "A adds $x" A add "$x"
done
bg_start_daemon "$BG_TMP/a.conf"
bg_next_second

now=$(perl -e 'print time')
plant 1 "bgdel1 time=$now kind=r name=bob@example.com host=evil journal=-"
bg_wait_line 'delsync: action=skip reason=unsigned-note seq=1$' "$BG_TMP/daemon.log" 15 \
    "an unsigned note planted in memcached is skipped, with a log line"
plant 2 "bgdel1 time=$now kind=r name=bob@example.com host=evil journal=- mac=AAAAAAAAAAAAAAAAAAAAAA"
bg_wait_line 'delsync: action=skip reason=bad-mac seq=2$' "$BG_TMP/daemon.log" 15 \
    "a note with a made-up MAC is skipped"
bg_wait_line '^2$' "$ja/journal.delseq" 15 "... and A has moved past both"
bg_assert_not_grep "del r bob@example\.com" "$ja/journal" "A's journal has no delete of bob"

bg_assert_rc 0 "B (the site's key) deletes carol" B del carol@example.com
bg_assert_eq "" "$(cat "$BG_TMP/last.err")" "... its note published"
bg_assert_match '^bgdel1 time=[0-9]+ kind=r name=carol@example\.com host=[^ ]+ journal=[0-9a-f]{8} mac=[A-Za-z0-9_-]{22}$' \
    "$(bg_mc_get dss:m:del:3)" "B's note carries a MAC"
bg_wait_line '^[0-9]+ del r carol@example\.com -$' "$ja/journal" 15 "A tombstones carol from the signed note"
bg_assert_grep "delsync: action=tombstone kind=r name=carol@example\.com from=[^ ]+ seq=3 " \
    "$BG_TMP/daemon.log" "one line for it"
bg_assert_rc 0 "bob is still suppressed" A show bob@example.com
bg_stop_daemon
bg_finish
