#!/bin/bash
# 00-harness: proves the test harness itself - the freeport helper,
# memcached start/stop and the ascii protocol helpers, the cleanup trap
# (also on failure), bounded readiness waits that FAIL, and mtclient's
# error exits (no milter needed).
# shellcheck source=test/lib.sh disable=SC2016,SC2119  # nested bodies expand later
. "$(dirname "$0")/../lib.sh"
bg_tmpdir

# --- freeport
p=$(bg_free_port) || bg_fatal "bg_free_port failed"
bg_assert_match '^[0-9]+$' "$p" "freeport prints a port number"
if [ "$p" -ge 1 ] && [ "$p" -le 65535 ]; then
    bg_pass "freeport port $p in 1..65535"
else
    bg_fail "freeport port $p out of range"
fi
n=$("$BG_FREEPORT" -n 5 | sort -u | grep -c '^[0-9][0-9]*$')
bg_assert_eq 5 "$n" "freeport -n 5 prints 5 distinct ports"
if { exec {fd}<>"/dev/tcp/127.0.0.1/$p"; } 2>/dev/null; then
    exec {fd}>&-
    bg_fail "freeport port $p already has a listener"
else
    bg_pass "nothing listens on freeport port $p"
fi
bg_assert_rc 1 "freeport rejects -n 0" "$BG_FREEPORT" -n 0

# --- memcached
bg_start_memcached
bg_pass "memcached ready on port $MC_PORT (pid $MC_PID)"
bg_assert_eq "127.0.0.1:$MC_PORT" "$MC_SERVER" "MC_SERVER exported"

# Plain ascii protocol over bash /dev/tcp, no helper involved.
exec {mc}<>"/dev/tcp/127.0.0.1/$MC_PORT" || bg_fatal "cannot connect to memcached"
printf 'set harness:key 0 60 5\r\nhello\r\nget harness:key\r\n' >&"$mc"
IFS= read -r -t 2 l1 <&"$mc"; IFS= read -r -t 2 l2 <&"$mc"
IFS= read -r -t 2 l3 <&"$mc"; IFS= read -r -t 2 l4 <&"$mc"
exec {mc}>&-
bg_assert_eq "STORED" "${l1%$'\r'}" "raw set -> STORED"
bg_assert_eq "VALUE harness:key 0 5" "${l2%$'\r'}" "raw get -> VALUE line"
bg_assert_eq "hello" "${l3%$'\r'}" "raw get -> value"
bg_assert_eq "END" "${l4%$'\r'}" "raw get -> END"

# The helpers.
if bg_mc_set "harness:two" "a b c" 60; then bg_pass "bg_mc_set"; else bg_fail "bg_mc_set"; fi
bg_assert_eq "a b c" "$(bg_mc_get harness:two)" "bg_mc_get returns the value"
bg_mc_get harness:absent > /dev/null
bg_assert_eq 1 $? "bg_mc_get of an absent key returns 1"
if bg_mc_delete harness:two; then bg_pass "bg_mc_delete"; else bg_fail "bg_mc_delete"; fi
bg_mc_get harness:two > /dev/null
bg_assert_eq 1 $? "deleted key is gone"
if bg_mc_flush; then bg_pass "bg_mc_flush"; else bg_fail "bg_mc_flush"; fi

# --- mtclient error exits (no milter needed)
if [ -x "$BG_MTCLIENT" ]; then
    printf 'connect c 192.0.2.1\n' > "$BG_TMP/one.in"
    bg_assert_rc 2 "mtclient against a non-milter (memcached) exits 2" \
        "$BG_MTCLIENT" -t 1000 "inet:$MC_PORT@127.0.0.1" < "$BG_TMP/one.in"
    bg_assert_grep '^mtclient: line 1 \(connect c 192\.0\.2\.1\): ' "$BG_TMP/last.err" \
        "its error names the step"
    bg_assert_rc 2 "mtclient against a closed port exits 2" \
        "$BG_MTCLIENT" -t 1000 "inet:$p@127.0.0.1" < "$BG_TMP/one.in"
    bg_assert_grep 'Connection refused' "$BG_TMP/last.err" "its error says why"
    bg_assert_rc 2 "mtclient -q probe of a closed port exits 2" \
        "$BG_MTCLIENT" -q -t 1000 "inet:$p@127.0.0.1"
    printf 'frobnicate\n' > "$BG_TMP/bad.in"
    bg_assert_rc 1 "mtclient rejects an unknown script command" \
        "$BG_MTCLIENT" "inet:$p@127.0.0.1" < "$BG_TMP/bad.in"
    bg_assert_rc 1 "mtclient rejects a bad socket spec" "$BG_MTCLIENT" "tcp:1" < /dev/null
else
    bg_fail "$BG_MTCLIENT not built (make test/tools/mtclient)"
fi

# --- stop
mcpid=$MC_PID mcport=$MC_PORT
if bg_stop_memcached; then bg_pass "bg_stop_memcached"; fi
if kill -0 "$mcpid" 2>/dev/null; then
    bg_fail "memcached pid $mcpid still running"
else
    bg_pass "memcached pid $mcpid gone"
fi
if bg__mc_ready "$mcport"; then bg_fail "port $mcport still answers"; else bg_pass "port $mcport closed"; fi

# --- nested tests: failures clean up and fail, bounded waits fail
nested() {    # nested NAME SCRIPT_BODY [ENV...] - runs a throwaway test
    local name=$1 body=$2
    shift 2
    printf '. "%s/test/lib.sh"\n%s\n' "$BG_TOP" "$body" > "$BG_TMP/$name.sh"
    env "$@" BG_TEST="$name" TMPDIR="$BG_TMP" bash "$BG_TMP/$name.sh" \
        > "$BG_TMP/$name.out" 2>&1
}

nested failing 'bg_tmpdir; bg_start_memcached
echo "state $MC_PID $BG_TMP"
bg_fail "deliberate failure"; bg_finish'
rc=$?
bg_assert_eq 1 "$rc" "a failing test exits 1"
read -r _ npid ndir < <(grep '^state ' "$BG_TMP/failing.out")
if [ -n "$npid" ] && ! kill -0 "$npid" 2>/dev/null; then
    bg_pass "its memcached (pid $npid) was killed by the cleanup"
else
    bg_fail "its memcached (pid '$npid') survived"
fi
if [ -n "$ndir" ] && [ ! -e "$ndir" ]; then
    bg_pass "its temp dir was removed"
else
    bg_fail "its temp dir '$ndir' remains"
fi
bg_assert_grep '^FAIL: failing: deliberate failure$' "$BG_TMP/failing.out" \
    "it printed its FAIL line"

nested crashing 'bg_tmpdir; bg_start_memcached; echo "state $MC_PID $BG_TMP"; exit 3'
bg_assert_eq 3 $? "a test dying midway keeps its exit status"
read -r _ npid ndir < <(grep '^state ' "$BG_TMP/crashing.out")
if [ -n "$npid" ] && ! kill -0 "$npid" 2>/dev/null && [ ! -e "$ndir" ]; then
    bg_pass "... and is still cleaned up"
else
    bg_fail "a dying test left pid '$npid' or dir '$ndir'"
fi

printf '#!/bin/sh\nexec sleep 60\n' > "$BG_TMP/fake-server"
chmod +x "$BG_TMP/fake-server"
start=$SECONDS
nested mcslow 'bg_tmpdir; bg_start_memcached; bg_pass "should not get here"; bg_finish' \
    BG_MEMCACHED="$BG_TMP/fake-server" BG_TIMEOUT=1
rc=$?
bg_assert_eq 1 "$rc" "memcached never ready: test fails"
bg_assert_grep '^FAIL: mcslow: memcached on port [0-9]+ not ready after 1s$' \
    "$BG_TMP/mcslow.out" "... with a FAIL line"
if [ $((SECONDS - start)) -le 8 ]; then bg_pass "... within the bound"; else
    bg_fail "readiness wait took $((SECONDS - start))s"; fi

nested mcmissing 'bg_start_memcached; bg_finish' BG_MEMCACHED=/nonexistent/memcached
bg_assert_eq 1 $? "memcached missing: test fails"
bg_assert_grep '^FAIL: mcmissing: memcached not found' "$BG_TMP/mcmissing.out" \
    "... with a FAIL line"

printf 'Socket unix:%s/nested.sock\n' "$BG_TMP" > "$BG_TMP/nested.conf"
nested daemondies "bg_start_daemon $BG_TMP/nested.conf; bg_finish" BG_DAEMON=/bin/false
bg_assert_eq 1 $? "daemon exiting at start: test fails"
bg_assert_grep '^FAIL: daemondies: daemon exited with status 1 before its socket unix:.*/nested.sock was ready$' \
    "$BG_TMP/daemondies.out" "... with a FAIL line"

start=$SECONDS
nested daemonslow "bg_start_daemon $BG_TMP/nested.conf; echo \"state \$BG_PID\"; bg_finish" \
    BG_DAEMON="$BG_TMP/fake-server" BG_TIMEOUT=1
bg_assert_eq 1 $? "daemon socket never ready: test fails"
bg_assert_grep '^FAIL: daemonslow: daemon socket unix:.*/nested.sock not ready after 1s$' \
    "$BG_TMP/daemonslow.out" "... with a FAIL line"
if [ $((SECONDS - start)) -le 8 ]; then bg_pass "... within the bound, fake daemon killed"; else
    bg_fail "daemon readiness wait took $((SECONDS - start))s"; fi

nested nochecks 'true; bg_finish'
bg_assert_eq 1 $? "a test that checks nothing fails"

bg_finish
