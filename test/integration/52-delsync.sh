#!/bin/bash
# Deletes reach every host's journal (lib/delsync.h). Two "hosts" - two
# configurations with their own journals, A on the binary protocol, B on
# the text protocol - share one real memcached. A adds entries; B deletes
# some: `bouncegatectl del` publishes a delete note (m:delseq, m:del:SEQ)
# and A's daemon appends a tombstone to A's journal. Deletes made while
# A's daemon is down are picked up when it starts (JOURNAL.delseq), past a
# hostile note, a stale note and a numbered note that never came; an entry
# A added again after the delete keeps its put. Then memcached restarts
# EMPTY, both daemons replay their journals, and nothing deleted comes
# back while everything else does. Finally a delete whose note cannot be
# published still succeeds, says so on stderr, and exits as the delete.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached
ja=$BG_TMP/a jb=$BG_TMP/b
mkdir -p "$ja" "$jb"
[ "$(id -u)" = 0 ] && chown nobody "$ja" "$jb"
porta=$(bg_free_port) || bg_fatal "no free port"
portb=$(bg_free_port) || bg_fatal "no free port"
[ "$porta" != "$portb" ] || portb=$(bg_free_port) || bg_fatal "no free port"
mkconf() {  # mkconf FILE PORT JOURNAL_DIR MEMCACHED_OPTIONS
    cat > "$1" <<CONF
Socket inet:$2@127.0.0.1
Memcached --SERVER=$MC_SERVER $4
KeyPrefix ds:
UserID nobody
Scope all
LookupTimeout 500ms
WarnInterval 1s
LogLevel debug
Journal $3/journal
RestoreInterval 1s
CONF
    chmod 644 "$1"
}
mkconf "$BG_TMP/a.conf" "$porta" "$ja" --BINARY-PROTOCOL
mkconf "$BG_TMP/b.conf" "$portb" "$jb" ""
A() { "$BG_CTL" -c "$BG_TMP/a.conf" "$@"; }
B() { "$BG_CTL" -c "$BG_TMP/b.conf" "$@"; }

# Each host's daemon logs to its own file (a.log, b.log).
start_host() {  # start_host a|b - sets PID_a / PID_b
    local h=$1 port pid end
    [ "$h" = a ] && port=$porta || port=$portb
    "$BG_DAEMON" -f -c "$BG_TMP/$h.conf" >> "$BG_TMP/$h.log" 2>&1 < /dev/null &
    pid=$!
    bg_track "$pid"
    printf -v "PID_$h" '%s' "$pid"
    bg__now; end=$((BG__MS + BG_TIMEOUT * 1000))
    until "$BG_MTCLIENT" -q -t 1000 "inet:$port@127.0.0.1" > /dev/null 2>&1; do
        bg__alive "$pid" || bg_fatal "daemon $h exited at start"
        bg__now; [ "$BG__MS" -ge "$end" ] && bg_fatal "daemon $h not ready after ${BG_TIMEOUT}s"
        sleep 0.05
    done
}
stop_host() {   # stop_host a|b - SIGTERM, exit status 0 within BG_TIMEOUT
    local pidvar=PID_$1 rc
    local pid=${!pidvar}
    kill -TERM "$pid"
    bg__wait_gone "$pid" "$BG_TIMEOUT" || bg_fatal "daemon $1 ignored SIGTERM"
    wait "$pid"; rc=$?
    bg_untrack "$pid"
    bg_assert_eq 0 "$rc" "daemon $1 exits 0 on SIGTERM"
}
# A note only tombstones a put older than it (journal times are seconds):
# bg_next_second waits for the clock to pass the second of the last change.
dels() { grep -c -E "^[0-9]+ del $1 $2 -\$" "$3"; }   # dels KIND NAME JOURNAL

# ---------------------------------------------------------------- A learns
for x in bob@example.com keep@example.com carol@example.com erin@example.com \
         gina@example.com @dead.example; do
    bg_assert_rc 0 "A adds $x" A add "$x"
done
start_host a
start_host b
bg_next_second

# ---------------------------------------------------------------- B deletes
bg_assert_rc 0 "B deletes bob" B del bob@example.com
bg_assert_eq "deleted bob@example.com" "$(cat "$BG_TMP/last.out")" "del prints what it did"
bg_assert_eq "" "$(cat "$BG_TMP/last.err")" "... and nothing on stderr (note published)"
bg_assert_rc 0 "B deletes @dead.example" B del @dead.example
bg_assert_eq 2 "$(bg_mc_get ds:m:delseq)" "two deletes: m:delseq is 2"
note=$(bg_mc_get ds:m:del:1)
bg_assert_match '^bgdel1 time=[0-9]+ kind=r name=bob@example\.com host=[A-Za-z0-9._-]+ journal=[0-9a-f]{8}$' \
    "$note" "note 1 names the delete, the host and its journal"
bg_assert_match '^bgdel1 time=[0-9]+ kind=d name=dead\.example ' "$(bg_mc_get ds:m:del:2)" \
    "note 2 is the domain delete"
ttl=$(bg_mc_cmd "$MC_PORT" "mg ds:m:del:1 t" | sed -n 's/^HD t\([0-9-]*\)$/\1/p')
if [ -n "$ttl" ] && [ "$ttl" -gt $((30 * 86400 - 60)) ] && [ "$ttl" -le $((30 * 86400)) ]; then
    bg_pass "a note lives 30 days (ttl $ttl s)"
else
    bg_fail "note ttl '$ttl', expected about 30 days"
fi
bg_assert_eq -1 "$(bg_mc_cmd "$MC_PORT" "mg ds:m:delseq t" | sed -n 's/^HD t\([0-9-]*\)$/\1/p')" \
    "the counter never expires"

bg_wait_line '^[0-9]+ del r bob@example\.com -$' "$ja/journal" 15 "A's daemon tombstones bob in A's journal"
bg_wait_line '^[0-9]+ del d dead\.example -$' "$ja/journal" 15 "... and @dead.example"
bg_assert_grep "delsync: action=tombstone kind=r name=bob@example\.com from=[^ ]+ seq=1 deleted=[0-9]+ put=[0-9]+$" \
    "$BG_TMP/a.log" "one key=value line per tombstone"
bg_wait_line 'delsync: action=skip reason=own kind=d name=dead\.example .*seq=2$' "$BG_TMP/b.log" 15 \
    "B's daemon skips its own notes"
bg_assert_eq 1 "$(dels r bob@example.com "$jb/journal")" "B's journal has its one delete of bob"
bg_assert_eq 1 "$(dels r bob@example.com "$ja/journal")" "A's journal one tombstone of bob"
bg_wait_line '^2$' "$ja/journal.delseq" 5 "A keeps the last note processed in journal.delseq"

# The other way round: A (binary protocol) publishes, B tombstones.
bg_assert_rc 0 "B adds hank" B add hank@example.com
bg_next_second
bg_assert_rc 0 "A deletes hank" A del hank@example.com
bg_assert_eq "" "$(cat "$BG_TMP/last.err")" "... its note published over the binary protocol"
bg_assert_eq 3 "$(bg_mc_get ds:m:delseq)" "m:delseq is 3"
bg_wait_line '^[0-9]+ del r hank@example\.com -$' "$jb/journal" 15 "B's daemon tombstones hank in B's journal"
bg_wait_line '^3$' "$ja/journal.delseq" 5 "A read note 3 too (its own)"

# ---------------------------------------------------------------- A is down
stop_host a
# A hostile note (%00 in the name), a stale one (older than A's put of
# keep) and a number whose note never comes, then real deletes.
seq=$(bg_mc_cmd "$MC_PORT" "incr ds:m:delseq 1")
bg_mc_set "ds:m:del:$seq" "bgdel1 time=1 kind=r name=keep%00@example.com host=evil journal=-" 60 ||
    bg_fatal "cannot write a note"
seq=$(bg_mc_cmd "$MC_PORT" "incr ds:m:delseq 1")
bg_mc_set "ds:m:del:$seq" "bgdel1 time=1 kind=r name=keep@example.com host=evil journal=-" 60 ||
    bg_fatal "cannot write a note"
gap=$(bg_mc_cmd "$MC_PORT" "incr ds:m:delseq 1")
bg_assert_rc 0 "B deletes carol" B del carol@example.com
bg_assert_rc 0 "B deletes erin while A's daemon is down" B del erin@example.com
bg_assert_eq "$((gap + 2))" "$(bg_mc_get ds:m:delseq)" "the counter counts on"
bg_next_second
bg_assert_rc 0 "A adds carol again, after the delete" A add carol@example.com
start_host a
bg_wait_line '^[0-9]+ del r erin@example\.com -$' "$ja/journal" 20 \
    "a delete made while A's daemon was down is tombstoned when it starts"
bg_assert_grep "delsync: action=skip reason=bad-note seq=$((gap - 2)) error=\"bad name\"" \
    "$BG_TMP/a.log" "a hostile note is logged and skipped"
bg_assert_grep "delsync: action=skip reason=put-newer kind=r name=keep@example\.com from=evil seq=$((gap - 1))$" \
    "$BG_TMP/a.log" "a note older than the put does not tombstone (keep)"
bg_assert_grep "delsync: action=skip reason=put-newer kind=r name=carol@example\.com from=[^ ]+ seq=$((gap + 1))$" \
    "$BG_TMP/a.log" "a note older than a re-add does not tombstone (carol)"
bg_assert_eq 0 "$(dels r carol@example.com "$ja/journal")" "A's journal has no delete of carol"
bg_assert_eq 0 "$(dels r keep@example.com "$ja/journal")" "... nor of keep"
bg_assert_grep "delsync: action=read done=$((gap + 2)) counter=$((gap + 2)) tombstones=1 " \
    "$BG_TMP/a.log" "the note that never came was stepped over"
bg_assert_eq 1 "$(dels r bob@example.com "$ja/journal")" "notes processed before are not read again"

# ---------------------------------------------------------------- memcached loses everything
mark_a=$(wc -l < "$BG_TMP/a.log") mark_b=$(wc -l < "$BG_TMP/b.log")
mcport=$MC_PORT
bg_stop_memcached
bg_start_memcached_on "$mcport"
restored() {   # restored FILE MARK - 0 once the daemon logged a restore since MARK
    tail -n +"$(($2 + 1))" "$1" | grep -q 'restore: action=restore '
}
# Empty, unless a daemon (RestoreInterval 1s) already refilled it: then it
# logs its restore (bounded wait: the line follows the writes).
if ! bg_mc_get ds:r:keep@example.com > /dev/null; then
    bg_pass "the new memcached is empty"
else
    bg__now; end=$((BG__MS + 30000))
    until restored "$BG_TMP/a.log" "$mark_a" || restored "$BG_TMP/b.log" "$mark_b"; do
        bg__now; [ "$BG__MS" -ge "$end" ] && break
        sleep 0.05
    done
    if restored "$BG_TMP/a.log" "$mark_a" || restored "$BG_TMP/b.log" "$mark_b"; then
        bg_pass "the new memcached was empty (a daemon has already restored it)"
    else
        bg_fail "the new memcached holds keep@example.com and no daemon restored it"
    fi
fi
bg__now; end=$((BG__MS + 30000))
until restored "$BG_TMP/a.log" "$mark_a" && restored "$BG_TMP/b.log" "$mark_b"; do
    bg__now
    [ "$BG__MS" -ge "$end" ] && { bg_fail "both daemons did not restore within 30 s"; break; }
    sleep 0.1
done
restored "$BG_TMP/a.log" "$mark_a" && restored "$BG_TMP/b.log" "$mark_b" &&
    bg_pass "both daemons replayed their journals"
for h in A B; do
    bg_assert_rc 0 "$h: keep is suppressed again" $h show keep@example.com
    bg_assert_rc 0 "$h: carol (added again after the delete) is suppressed again" $h show carol@example.com
    bg_assert_rc 1 "$h: bob (deleted on B, learned on A) stays deleted" $h show bob@example.com
    bg_assert_rc 1 "$h: erin stays deleted" $h show erin@example.com
    bg_assert_rc 1 "$h: hank (deleted on A, added on B) stays deleted" $h show hank@example.com
    bg_assert_rc 1 "$h: @dead.example stays deleted" $h show x@dead.example
done
# memcached lost the notes too: A reads the ones written from now on from
# the first (before it changes the counter below).
bg__now; end=$((BG__MS + 10000))
until tail -n +"$((mark_a + 1))" "$BG_TMP/a.log" | grep -E -q 'delsync: action=restart reason=(restore|counter-lower) done=8 '; do
    bg__now
    [ "$BG__MS" -ge "$end" ] && break
    sleep 0.05
done
bg_assert_match 'delsync: action=restart reason=(restore|counter-lower) done=8 counter=0' \
    "$(tail -n +"$((mark_a + 1))" "$BG_TMP/a.log" | grep 'delsync: action=restart')" \
    "after the loss A reads the notes from the first again"
bg_wait_line '^0$' "$ja/journal.delseq" 5 "... and saves that"

# ---------------------------------------------------------------- publishing fails
bg_mc_set ds:m:delseq "not-a-number" || bg_fatal "cannot overwrite the counter"
bg_assert_rc 0 "a delete whose note cannot be published still exits 0" B del gina@example.com
bg_assert_eq "deleted gina@example.com" "$(cat "$BG_TMP/last.out")" "... prints what it did"
bg_assert_grep '^bouncegatectl: del gina@example\.com: other hosts not told .*: memcached incr' \
    "$BG_TMP/last.err" "... and says on stderr that the other hosts were not told"
bg_assert_eq 1 "$(dels r gina@example.com "$jb/journal")" "... the delete is in B's journal"
bg_wait_line 'delsync: problem=bad-counter ' "$BG_TMP/a.log" 10 "A warns about a counter that is no number"
bg_assert_rc 1 "a delete of an absent entry exits 1, note or not" B del nobody@example.com

stop_host a
stop_host b
bg_finish
