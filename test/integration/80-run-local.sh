#!/bin/bash
# The README's quick start, as a user runs it: bash conf/run-local.sh in
# the foreground, the two documented bouncegatectl commands in "another
# terminal" against .run/bouncegate.conf, then Ctrl-C (SIGINT). Its
# memcached is its own, on a free port (never 127.0.0.1:11211, which may be
# a real one); after the stop, the daemon, its memcached and .run/ are gone.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
cd "$BG_TOP" || bg_fatal "no source tree at $BG_TOP"
[ ! -e .run ] || bg_fatal ".run/ exists: is another run-local.sh running here?"
setsid bash conf/run-local.sh > "$BG_TMP/run.out" 2>&1 < /dev/null &
pid=$!
bg_track "$pid"
bg__now; end=$((BG__MS + 60000))
until grep -q '^run: ready$' "$BG_TMP/run.out"; do
    bg__alive "$pid" || { cat "$BG_TMP/run.out"; bg_fatal "run-local.sh exited before it was ready"; }
    bg__now; [ "$BG__MS" -ge "$end" ] && bg_fatal "run-local.sh not ready within 60 s"
    sleep 0.1
done
bg_pass "bash conf/run-local.sh says it is ready"
line=$(grep '^run: memcached ' "$BG_TMP/run.out")
mc=$(sed -n 's/^run: memcached 127\.0\.0\.1:\([0-9]*\) (pid \([0-9]*\)).*/\1 \2/p' <<< "$line")
read -r mc_port mc_pid <<< "$mc"
bg_assert_match '^[0-9]+$' "$mc_port" "it started a memcached of its own (port $mc_port)"
[ "$mc_port" != 11211 ] && bg_pass "... not on 11211, where a real one may run" ||
    bg_fail "its memcached is on 11211"
bg_assert_grep "^Memcached --SERVER=127\.0\.0\.1:$mc_port " .run/bouncegate.conf \
    ".run/bouncegate.conf names that memcached, and only it"
bg_assert_eq 0 "$(grep -v '^#' .run/bouncegate.conf | grep -c ':11211')" "... never 11211 (outside comments)"

ctl() { "$BG_CTL" -c .run/bouncegate.conf "$@"; }
bg_assert_rc 0 "the README's add works" ctl add bob@example.com --class hard --reason userunknown --status 5.1.1
bg_assert_rc 0 "the README's show works" ctl show bob@example.com
bg_assert_grep '^class +hard$' "$BG_TMP/last.out" "... and shows the entry"
port=$(sed -n 's/.*bouncegate inet:\([0-9]*\)@127\.0\.0\.1.*/\1/p' <<< "$line")
printf 'connect app 127.0.0.1\nmail <app@example.com>\nrcpt <bob@example.com>\n' |
    "$BG_MTCLIENT" -t 3000 "inet:$port@127.0.0.1" > "$BG_TMP/m.out" 2>&1
bg_assert_grep '^rcpt <bob@example\.com>: reply 550 5\.1\.1 ' "$BG_TMP/m.out" \
    "the running milter refuses bob at RCPT TO"

kill -INT -- "-$pid"
bg__wait_gone "$pid" 20 || bg_fatal "run-local.sh still running 20 s after Ctrl-C"
bg_untrack "$pid"
bg_assert_grep '^run: stopped; memcached \(pid [0-9]+\) stopped, .*\.run removed$' "$BG_TMP/run.out" \
    "Ctrl-C stops it and says what it cleaned up"
kill -0 "$mc_pid" 2>/dev/null && bg_fail "its memcached (pid $mc_pid) is still running" ||
    bg_pass "its memcached is gone"
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && bg_fail "the milter still listens on $port" ||
    bg_pass "the milter is gone"
[ -e .run ] && bg_fail ".run/ is left behind" || bg_pass ".run/ is removed"
bg_finish
