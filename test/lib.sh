# test/lib.sh - shared functions for bouncegate integration tests (bash).
#
# A test is test/integration/NN-name.sh:
#
#     #!/bin/bash
#     . "$(dirname "$0")/../lib.sh"
#     bg_tmpdir                      # temp dir + cleanup trap
#     bg_start_memcached             # MC_PORT, MC_PID, MC_SERVER
#                                    # (bg_start_memcached_on PORT: a given port)
#     cat > "$BG_TMP/bg.conf" <<EOF
#     Socket unix:$BG_TMP/bg.sock
#     Memcached --SERVER=$MC_SERVER
#     EOF
#     bg_start_daemon "$BG_TMP/bg.conf"   # BG_PID, BG_SOCK
#     bg_expect_diff rcpt-basic      # cases/rcpt-basic.in vs cases/rcpt-basic.ref
#     bg_stop_daemon
#     bg_finish
#
# Every check prints one line "PASS: <test>: <what>" or "FAIL: <test>: <what>";
# test/run-integration.sh counts those lines. A test that cannot run
# (memcached missing, a port never ready, a tool not built) FAILS through
# bg_fatal; nothing is skipped.
#
# Environment (all optional; defaults in brackets):
#   BG_TOP         source tree root [the directory above test/]
#   BG_MTCLIENT    milter test client [$BG_TOP/test/tools/mtclient]
#   BG_MTCLIENT_ARGS  extra options for every bg_expect_diff run [none]
#   BG_FREEPORT    free port helper [$BG_TOP/test/tools/freeport]
#   BG_DAEMON      the milter [$BG_TOP/milter/bouncegate]
#   BG_CTL         the admin tool [$BG_TOP/milter/bouncegatectl]
#   BG_MEMCACHED   memcached binary [memcached from PATH]
#   BG_CASEDIR     where bg_expect_diff finds NAME.in/NAME.ref
#                  [test/integration/cases]
#   BG_TIMEOUT     seconds to wait for readiness / exit [10]
#   BG_DAEMON_STOP_RC  exit status bg_stop_daemon expects after SIGTERM
#                  [0; "any" accepts every status]
#   BG_KEEP_TMP=1  keep the temp dir (its path is printed)
#   BG_UPDATE_REFS=1  bg_expect_diff writes the output to NAME.ref and passes
#                  (for writing new cases; review the diff before committing)
#
# Set by the functions: BG_TEST (test name), BG_TMP (= TMP, the temp dir),
# MC_PORT MC_PID MC_SERVER (memcached), BG_PID BG_SOCK (daemon),
# BG_PASSED BG_FAILED (counters).

if [ -z "${BASH_VERSION:-}" ]; then
    echo "test/lib.sh needs bash" >&2
    exit 1
fi

BG_TOP=${BG_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BG_MTCLIENT=${BG_MTCLIENT:-$BG_TOP/test/tools/mtclient}
BG_MTCLIENT_ARGS=${BG_MTCLIENT_ARGS:-}
BG_FREEPORT=${BG_FREEPORT:-$BG_TOP/test/tools/freeport}
BG_DAEMON=${BG_DAEMON:-$BG_TOP/milter/bouncegate}
BG_CTL=${BG_CTL:-$BG_TOP/milter/bouncegatectl}
BG_MEMCACHED=${BG_MEMCACHED:-memcached}
BG_CASEDIR=${BG_CASEDIR:-$BG_TOP/test/integration/cases}
BG_TIMEOUT=${BG_TIMEOUT:-10}
BG_DAEMON_STOP_RC=${BG_DAEMON_STOP_RC:-0}
BG_TEST=${BG_TEST:-$(basename "$0" .sh)}
BG_PASSED=0
BG_FAILED=0
BG_TMP=
BG_PIDS=()
export BG_TOP BG_MTCLIENT BG_FREEPORT BG_DAEMON BG_CTL BG_MEMCACHED

# ------------------------------------------------------------- results

bg_pass() {
    echo "PASS: $BG_TEST: $*"
    BG_PASSED=$((BG_PASSED + 1))
    return 0
}

bg_fail() {
    echo "FAIL: $BG_TEST: $*"
    BG_FAILED=$((BG_FAILED + 1))
    return 1
}

# A failure that ends the test (the EXIT trap still cleans up).
bg_fatal() {
    bg_fail "$@"
    exit 1
}

bg_log() {
    echo "# $BG_TEST: $*" >&2
}

# Ends a test: exit status 1 when any check failed, and a test that checked
# nothing fails too.
bg_finish() {
    if [ $((BG_PASSED + BG_FAILED)) -eq 0 ]; then
        bg_fail "no checks ran"
    fi
    [ "$BG_FAILED" -eq 0 ] && exit 0
    exit 1
}

# ------------------------------------------------------------- assertions

# bg_assert_eq EXPECTED ACTUAL [WHAT]
bg_assert_eq() {
    local what=${3:-"'$2' = '$1'"}
    if [ "$1" = "$2" ]; then
        bg_pass "$what"
    else
        bg_fail "$what: expected '$1', got '$2'"
    fi
}

# bg_assert_match ERE STRING [WHAT]
bg_assert_match() {
    local what=${3:-"'$2' matches /$1/"}
    if [[ $2 =~ $1 ]]; then
        bg_pass "$what"
    else
        bg_fail "$what: '$2' does not match /$1/"
    fi
}

# bg_assert_grep ERE FILE [WHAT] - some line of FILE matches.
bg_assert_grep() {
    local what=${3:-"$2 contains /$1/"}
    if [ ! -f "$2" ]; then
        bg_fail "$what: no file $2"
    elif grep -E -q -e "$1" "$2"; then
        bg_pass "$what"
    else
        bg_fail "$what: no line matches /$1/ in $2; its last lines:"
        tail -n 20 "$2" | sed 's/^/    /'
        return 1
    fi
}

# bg_assert_not_grep ERE FILE [WHAT] - no line of FILE matches.
bg_assert_not_grep() {
    local what=${3:-"$2 lacks /$1/"}
    if [ ! -f "$2" ]; then
        bg_fail "$what: no file $2"
    elif grep -E -q -e "$1" "$2"; then
        bg_fail "$what: found:"
        grep -E -e "$1" "$2" | head -n 5 | sed 's/^/    /'
        return 1
    else
        bg_pass "$what"
    fi
}

# bg_assert_rc EXPECTED_STATUS WHAT COMMAND [ARGS...] - runs COMMAND,
# compares its exit status; its output goes to $BG_TMP/last.out/.err.
bg_assert_rc() {
    local want=$1 what=$2 rc
    shift 2
    bg_tmpdir
    "$@" > "$BG_TMP/last.out" 2> "$BG_TMP/last.err"
    rc=$?
    if [ "$rc" = "$want" ]; then
        bg_pass "$what"
    else
        bg_fail "$what: exit status $rc, expected $want; stderr:"
        head -n 10 "$BG_TMP/last.err" | sed 's/^/    /'
        return 1
    fi
}

# ------------------------------------------------------------- processes

bg__now() {         # sets BG__MS to a millisecond clock
    if [ -n "${EPOCHREALTIME:-}" ]; then
        local t=${EPOCHREALTIME/[.,]/}
        BG__MS=$((10#$t / 1000))
    else
        BG__MS=$(( $(date +%s) * 1000 ))
    fi
}

bg_track() {
    BG_PIDS+=("$1")
}

bg_untrack() {
    local p keep=()
    for p in "${BG_PIDS[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    BG_PIDS=("${keep[@]}")
}

bg__alive() {
    kill -0 "$1" 2>/dev/null
}

# bg__wait_gone PID SECONDS - 0 once PID is gone, 1 if still there.
bg__wait_gone() {
    local end
    bg__now
    end=$((BG__MS + $2 * 1000))
    while bg__alive "$1"; do
        bg__now
        [ "$BG__MS" -ge "$end" ] && return 1
        sleep 0.05
    done
    return 0
}

# bg_kill PID - SIGTERM, then SIGKILL after 5 s; reaps it if it is our
# child. Returns 1 if SIGKILL was needed.
bg_kill() {
    local rc=0
    kill -TERM "$1" 2>/dev/null
    if ! bg__wait_gone "$1" 5; then
        kill -KILL "$1" 2>/dev/null
        bg__wait_gone "$1" 5
        rc=1
    fi
    wait "$1" 2>/dev/null
    bg_untrack "$1"
    return $rc
}

bg_cleanup() {
    local rc=$? p f
    set +e
    trap - EXIT INT TERM HUP
    for p in "${BG_PIDS[@]}"; do
        bg_kill "$p" || echo "# $BG_TEST: pid $p needed SIGKILL" >&2
    done
    if [ "$rc" -ne 0 ] || [ "$BG_FAILED" -gt 0 ]; then
        [ "$rc" -eq 0 ] && rc=1
        for f in "$BG_TMP"/*.log; do
            [ -s "$f" ] || continue
            echo "# --- last lines of $(basename "$f") ---" >&2
            tail -n 30 "$f" | sed 's/^/#   /' >&2
        done
    fi
    if [ -n "$BG_TMP" ] && [ -d "$BG_TMP" ]; then
        if [ -n "${BG_KEEP_TMP:-}" ]; then
            echo "# $BG_TEST: kept $BG_TMP" >&2
        else
            rm -rf "$BG_TMP"
        fi
    fi
    exit "$rc"
}

# bg_tmpdir - creates the per-test directory BG_TMP (also TMP) under
# ${TMPDIR:-/tmp} once, and installs the cleanup: on any exit, also a
# failing one or a signal, every process the test started is killed and
# the directory removed.
bg_tmpdir() {
    [ -n "$BG_TMP" ] && [ -d "$BG_TMP" ] && return 0
    BG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bg-$BG_TEST.XXXXXX") ||
        bg_fatal "cannot create a temp dir under ${TMPDIR:-/tmp}"
    chmod 755 "$BG_TMP"
    TMP=$BG_TMP
    export BG_TMP TMP
    trap bg_cleanup EXIT
    trap 'bg_fail "killed by a signal"; exit 1' INT TERM HUP
}

# ------------------------------------------------------------- ports

# bg_free_port - prints a free loopback TCP port (test/tools/freeport).
# Meant for $(...): on error it says why on stderr and returns 1, so call
# it as   port=$(bg_free_port) || bg_fatal "no free port"
bg_free_port() {
    local p
    if [ ! -x "$BG_FREEPORT" ]; then
        echo "bg_free_port: $BG_FREEPORT not built (make test/tools/freeport)" >&2
        return 1
    fi
    p=$("$BG_FREEPORT") || return 1
    if [[ ! $p =~ ^[0-9]+$ ]]; then
        echo "bg_free_port: freeport printed '$p'" >&2
        return 1
    fi
    echo "$p"
}

# ------------------------------------------------------------- memcached

# bg_mc_cmd PORT TEXT - sends TEXT (CRLF added) to memcached on PORT and
# prints the reply lines (CR stripped) up to the final one. Status 1 when
# the connection fails or nothing final arrives within 2 s.
bg_mc_cmd() {
    local port=$1 fd line
    { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
    { printf '%s\r\n' "$2" >&"$fd"; } 2>/dev/null || { exec {fd}>&-; return 1; }
    while IFS= read -r -t 2 line <&"$fd"; do
        line=${line%$'\r'}
        echo "$line"
        case $line in
            END|STORED|NOT_STORED|EXISTS|NOT_FOUND|DELETED|TOUCHED|OK|ERROR|\
            CLIENT_ERROR*|SERVER_ERROR*|VERSION*|BUSY*|[0-9]*)
                exec {fd}>&-
                return 0 ;;
        esac
    done
    exec {fd}>&-
    return 1
}

# bg_mc_set KEY VALUE [TTL] [FLAGS] - status 0 when memcached said STORED.
bg_mc_set() {
    local LC_ALL=C r
    r=$(bg_mc_cmd "$MC_PORT" "set $1 ${4:-0} ${3:-0} ${#2}"$'\r\n'"$2") || return 1
    [ "$r" = STORED ]
}

# bg_mc_get KEY - prints the value; status 1 when the key is absent.
bg_mc_get() {
    local LC_ALL=C fd line data n
    { exec {fd}<>"/dev/tcp/127.0.0.1/$MC_PORT"; } 2>/dev/null || return 2
    printf 'get %s\r\n' "$1" >&"$fd"
    IFS= read -r -t 2 line <&"$fd" || { exec {fd}>&-; return 2; }
    line=${line%$'\r'}
    if [ "$line" = END ]; then
        exec {fd}>&-
        return 1
    fi
    n=${line##* }
    if [[ $line != "VALUE $1 "* ]] || [[ ! $n =~ ^[0-9]+$ ]]; then
        exec {fd}>&-
        echo "bg_mc_get: unexpected reply '$line'" >&2
        return 2
    fi
    data=
    if [ "$n" -gt 0 ]; then
        IFS= read -r -t 2 -N "$n" data <&"$fd" || { exec {fd}>&-; return 2; }
    fi
    exec {fd}>&-
    printf '%s\n' "$data"
}

# bg_mc_delete KEY - status 0 when deleted.
bg_mc_delete() {
    [ "$(bg_mc_cmd "$MC_PORT" "delete $1")" = DELETED ]
}

# bg_mc_flush - empties memcached.
bg_mc_flush() {
    [ "$(bg_mc_cmd "$MC_PORT" "flush_all")" = OK ]
}

# bg__mc_ready PORT - memcached answers "version".
bg__mc_ready() {
    local r
    r=$(bg_mc_cmd "$1" version) || return 1
    [[ $r == VERSION\ * ]]
}

# bg__mc_try PORT [EXTRA_ARGS...] - start memcached on PORT and wait until
# it answers "version": 0 ready (MC_* exported), 1 it exited (the port was
# taken). Fails the test when it neither answers nor exits in BG_TIMEOUT.
bg__mc_try() {
    local port=$1 mc user=() pid end
    shift
    mc=$(command -v "$BG_MEMCACHED") || bg_fatal "memcached not found (BG_MEMCACHED=$BG_MEMCACHED)"
    if [ "$(id -u)" = 0 ]; then
        if id memcache >/dev/null 2>&1; then user=(-u memcache); else user=(-u nobody); fi
    fi
    "$mc" -l 127.0.0.1 -p "$port" -U 0 -m 64 "${user[@]}" "$@" \
        >> "$BG_TMP/memcached.log" 2>&1 < /dev/null &
    pid=$!
    bg_track "$pid"
    bg__now
    end=$((BG__MS + BG_TIMEOUT * 1000))
    while bg__alive "$pid"; do
        if bg__mc_ready "$port"; then
            MC_PORT=$port MC_PID=$pid MC_SERVER=127.0.0.1:$port
            export MC_PORT MC_PID MC_SERVER
            return 0
        fi
        bg__now
        if [ "$BG__MS" -ge "$end" ]; then
            bg_fatal "memcached on port $port not ready after ${BG_TIMEOUT}s"
        fi
        sleep 0.05
    done
    wait "$pid" 2>/dev/null
    bg_untrack "$pid"
    return 1
}

# bg_start_memcached [EXTRA_ARGS...] - starts
#   memcached -l 127.0.0.1 -p PORT -U 0 -m 64 [-u nobody when root]
# on a free port, waits (at most BG_TIMEOUT s) until it answers
# "version", exports MC_PORT, MC_PID and MC_SERVER (127.0.0.1:PORT).
# Fails the test when memcached is missing or never gets ready.
bg_start_memcached() {
    local attempt port
    bg_tmpdir
    for attempt in 1 2 3; do
        port=$(bg_free_port) || bg_fatal "no free port for memcached"
        bg__mc_try "$port" "$@" && return 0
        # It died: most likely the port was taken meanwhile; try another.
        bg_log "memcached on port $port exited early (attempt $attempt)"
    done
    bg_fatal "memcached would not start (see memcached.log)"
}

# bg_start_memcached_on PORT [EXTRA_ARGS...] - like bg_start_memcached,
# but on the given port: restarts an EMPTY memcached where a stopped one
# listened (bg_stop_memcached first), as after a crash or a reboot. Retries
# for a few seconds while the port is still held; exports MC_PORT, MC_PID,
# MC_SERVER. Fails the test when it cannot start.
bg_start_memcached_on() {
    local port=$1 attempt
    shift
    bg_tmpdir
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        bg__mc_try "$port" "$@" && return 0
        bg_log "memcached on port $port exited early (attempt $attempt); retrying"
        sleep 0.5
    done
    bg_fatal "memcached would not start on port $port (see memcached.log)"
}

# bg_stop_memcached - SIGTERM, bounded wait; fails if it will not exit.
bg_stop_memcached() {
    [ -n "${MC_PID:-}" ] || { bg_fail "bg_stop_memcached: memcached not started"; return 1; }
    if ! bg_kill "$MC_PID"; then
        bg_fail "memcached (pid $MC_PID) ignored SIGTERM"
        MC_PID=
        return 1
    fi
    MC_PID=
    return 0
}

# ------------------------------------------------------------- daemon

# bg__conf_socket CONF - the Socket value of a bouncegate config file.
bg__conf_socket() {
    awk 'tolower($1) == "socket" {
             v = $0
             sub(/^[ \t]*[^ \t]+[ \t]+/, "", v)
             sub(/[ \t]+#.*$/, "", v)
             sub(/[ \t]+$/, "", v)
             s = v
         }
         END { if (s != "") print s }' "$1"
}

# bg_start_daemon CONF [ARGS...] - starts "$BG_DAEMON -f -c CONF ARGS..."
# with its output in $BG_TMP/daemon.log, waits (at most BG_TIMEOUT s)
# until its socket (from "-p SOCK" in ARGS, else the Socket key of CONF)
# answers: for unix:/path the socket file must exist, and for any socket
# "mtclient -q" must connect and negotiate options. Exports BG_PID and
# BG_SOCK. Fails the test when the daemon exits or is not ready in time.
bg_start_daemon() {
    local conf=$1 sock='' a prev='' end rc path
    shift
    bg_tmpdir
    [ -x "$BG_DAEMON" ] || bg_fatal "$BG_DAEMON not built (make)"
    [ -x "$BG_MTCLIENT" ] || bg_fatal "$BG_MTCLIENT not built (make test/tools/mtclient)"
    [ -r "$conf" ] || bg_fatal "config $conf not readable"
    for a in "$@"; do
        [ "$prev" = -p ] && sock=$a
        prev=$a
    done
    [ -n "$sock" ] || sock=$(bg__conf_socket "$conf")
    [ -n "$sock" ] || bg_fatal "no Socket in $conf and no -p: cannot tell where the daemon listens"
    "$BG_DAEMON" -f -c "$conf" "$@" >> "$BG_TMP/daemon.log" 2>&1 < /dev/null &
    BG_PID=$!
    BG_SOCK=$sock
    export BG_PID BG_SOCK
    bg_track "$BG_PID"
    case $sock in
        unix:*) path=${sock#unix:} ;;
        local:*) path=${sock#local:} ;;
        /*) path=$sock ;;
        *) path= ;;
    esac
    bg__now
    end=$((BG__MS + BG_TIMEOUT * 1000))
    while :; do
        if ! bg__alive "$BG_PID"; then
            wait "$BG_PID"
            rc=$?
            bg_untrack "$BG_PID"
            bg_fatal "daemon exited with status $rc before its socket $sock was ready"
        fi
        if { [ -z "$path" ] || [ -S "$path" ]; } &&
           "$BG_MTCLIENT" -q -t 1000 "$sock" > /dev/null 2>> "$BG_TMP/probe.err"; then
            return 0
        fi
        bg__now
        [ "$BG__MS" -ge "$end" ] &&
            bg_fatal "daemon socket $sock not ready after ${BG_TIMEOUT}s"
        sleep 0.05
    done
}

# bg_stop_daemon - SIGTERM, waits at most BG_TIMEOUT s; fails when the
# daemon does not exit, or exits with a status other than
# BG_DAEMON_STOP_RC (default 0). Status 0 when all went well.
bg_stop_daemon() {
    local rc
    [ -n "${BG_PID:-}" ] || { bg_fail "bg_stop_daemon: daemon not started"; return 1; }
    kill -TERM "$BG_PID" 2>/dev/null
    if ! bg__wait_gone "$BG_PID" "$BG_TIMEOUT"; then
        kill -KILL "$BG_PID" 2>/dev/null
        bg__wait_gone "$BG_PID" 5
        wait "$BG_PID" 2>/dev/null
        bg_untrack "$BG_PID"
        bg_fail "daemon (pid $BG_PID) did not exit within ${BG_TIMEOUT}s of SIGTERM"
        BG_PID=
        return 1
    fi
    wait "$BG_PID"
    rc=$?
    bg_untrack "$BG_PID"
    BG_PID=
    if [ "$BG_DAEMON_STOP_RC" != any ] && [ "$rc" != "$BG_DAEMON_STOP_RC" ]; then
        bg_fail "daemon exited with status $rc after SIGTERM (expected $BG_DAEMON_STOP_RC)"
        return 1
    fi
    return 0
}

# ------------------------------------------------------------- milter cases

# bg_mtclient_diff NAME INFILE REFFILE [SOCK] - runs
#   mtclient $BG_MTCLIENT_ARGS SOCK < INFILE > $BG_TMP/NAME.out
# and compares with REFFILE (diff -u). PASS when mtclient exits 0 and the
# output matches. SOCK defaults to BG_SOCK.
bg_mtclient_diff() {
    local name=$1 in=$2 ref=$3 sock=${4:-${BG_SOCK:-}} out err rc
    bg_tmpdir
    [ -x "$BG_MTCLIENT" ] || bg_fatal "$BG_MTCLIENT not built (make test/tools/mtclient)"
    [ -n "$sock" ] || { bg_fail "$name: no socket (start the daemon or pass SOCK)"; return 1; }
    [ -f "$in" ] || { bg_fail "$name: no script $in"; return 1; }
    out=$BG_TMP/${name//\//_}.out
    err=$BG_TMP/${name//\//_}.err
    # shellcheck disable=SC2086  # BG_MTCLIENT_ARGS is a list of options
    "$BG_MTCLIENT" $BG_MTCLIENT_ARGS "$sock" < "$in" > "$out" 2> "$err"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        bg_fail "$name: mtclient exited $rc: $(head -n 3 "$err" | tr '\n' ' ')"
        return 1
    fi
    if [ -n "${BG_UPDATE_REFS:-}" ]; then
        cp "$out" "$ref"
        bg_pass "$name (wrote $ref)"
        return 0
    fi
    [ -f "$ref" ] || { bg_fail "$name: no reference $ref"; return 1; }
    if diff -u "$ref" "$out" > "$BG_TMP/${name//\//_}.diff"; then
        bg_pass "$name"
    else
        sed 's/^/    /' "$BG_TMP/${name//\//_}.diff"
        bg_fail "$name: output differs from $ref"
    fi
}

# bg_expect_diff NAME [SOCK] - bg_mtclient_diff on NAME.in / NAME.ref,
# taken from BG_CASEDIR (or NAME itself when it is a path with NAME.in).
bg_expect_diff() {
    local base=$1
    [ -f "$base.in" ] || base=$BG_CASEDIR/$1
    bg_mtclient_diff "$(basename "$1")" "$base.in" "$base.ref" "${2:-}"
}

# ------------------------------------------------------------- waiting

# bg_next_second - returns once time(2) has passed the current second
# (fatal after 3 s). time(2) stamps journal lines and delete notes; it lags
# clock_gettime(2), i.e. date(1), by up to a tick at each second, so "date
# +%s" may move on while a tool still stamps the old second: perl's time is
# time(2).
bg_next_second() {
    local t end
    t=$(perl -e 'print time')
    bg__now; end=$((BG__MS + 3000))
    while [ "$(perl -e 'print time')" -le "$t" ]; do
        bg__now; [ "$BG__MS" -ge "$end" ] && bg_fatal "the clock did not advance"
        sleep 0.02
    done
}

# bg_wait_line ERE FILE SECONDS WHAT - PASS WHAT once FILE has a line
# matching ERE; FAIL (status 1) when none came within SECONDS.
bg_wait_line() {
    local end
    bg__now; end=$((BG__MS + $3 * 1000))
    until grep -E -q -e "$1" "$2" 2>/dev/null; do
        bg__now
        if [ "$BG__MS" -ge "$end" ]; then
            bg_fail "$4: no line /$1/ in $(basename "$2") within $3 s"
            return 1
        fi
        sleep 0.05
    done
    bg_pass "$4"
}
