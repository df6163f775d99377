#!/bin/bash
# bash conf/run-local.sh (or make run): try bouncegate on this machine.
#
# Installs what is missing (Debian's packages), builds, starts a memcached
# of its own on a free loopback port (it never touches a memcached it did
# not start), writes .run/bouncegate.conf (conf/bouncegate.conf plus that
# memcached, the milter socket and, as root without a bouncegate user,
# UserID nobody) and runs the milter in the foreground on
# inet:8899@127.0.0.1 (another free port when 8899 is taken), logging to
# stderr. Ctrl-C (or SIGTERM) stops both and removes .run/. In another
# terminal:
#
#   milter/bouncegatectl -c .run/bouncegate.conf add bob@example.com
#   milter/bouncegatectl -c .run/bouncegate.conf show bob@example.com
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
say() { echo "run: $*"; }

need=0
for c in make cc pkg-config memcached; do command -v $c >/dev/null 2>&1 || need=1; done
for p in libmemcached libidn2 nettle milter check; do
    pkg-config --exists $p 2>/dev/null || need=1
done
if [ $need -eq 1 ]; then
    say "installing what is missing from Debian's packages"
    if [ "$(id -u)" -eq 0 ]; then sh .ci/install-deps; else sudo sh .ci/install-deps; fi || exit 1
fi
make -s all test/tools/freeport || exit 1

run=$top/.run
if [ -e "$run/pids" ]; then
    for p in $(cat "$run/pids"); do
        if kill -0 "$p" 2>/dev/null; then
            say "another run-local.sh is running (pid $p, $run): stop it first" >&2
            exit 1
        fi
    done
fi
rm -rf "$run"
mkdir -p "$run" || exit 1
mc_pid='' bg_pid=''
cleanup() {
    trap - EXIT INT TERM
    [ -n "$bg_pid" ] && kill -TERM "$bg_pid" 2>/dev/null && wait "$bg_pid" 2>/dev/null
    [ -n "$mc_pid" ] && kill -TERM "$mc_pid" 2>/dev/null && wait "$mc_pid" 2>/dev/null
    rm -rf "$run"
    say "stopped; memcached (pid ${mc_pid:-none}) stopped, $run removed"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ready PORT - 0 once something answers on 127.0.0.1:PORT (5 s at most)
ready() {
    local i
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# A memcached of our own, in the foreground as our child.
mc_port=$(test/tools/freeport) || exit 1
u=""
[ "$(id -u)" -eq 0 ] && u="-u nobody"
# shellcheck disable=SC2086
memcached -l 127.0.0.1 -p "$mc_port" -U 0 -m 64 $u &
mc_pid=$!
echo "$mc_pid" > "$run/pids"
ready "$mc_port" || { say "memcached did not start on 127.0.0.1:$mc_port" >&2; exit 1; }

milter_port=8899
if (exec 3<>/dev/tcp/127.0.0.1/8899) 2>/dev/null; then
    milter_port=$(test/tools/freeport) || exit 1
    say "127.0.0.1:8899 is taken: the milter listens on $milter_port instead"
fi
user_line=""
if [ "$(id -u)" -eq 0 ] && ! id bouncegate >/dev/null 2>&1; then
    user_line="UserID nobody"
    say "no user bouncegate here (the package makes it): running as nobody"
fi
conf=$run/bouncegate.conf
{
    grep -v -E '^(Socket|Memcached|UserID)[[:space:]]' conf/bouncegate.conf
    echo "# run-local.sh"
    echo "Socket inet:$milter_port@127.0.0.1"
    echo "Memcached --SERVER=127.0.0.1:$mc_port --BINARY-PROTOCOL"
    [ -n "$user_line" ] && echo "$user_line"
} > "$conf"
chmod 644 "$conf"
milter/bouncegate -n -c "$conf" > /dev/null || exit 1

say "memcached 127.0.0.1:$mc_port (pid $mc_pid), bouncegate inet:$milter_port@127.0.0.1, config $conf"
say "try: milter/bouncegatectl -c .run/bouncegate.conf add bob@example.com"
say "Ctrl-C stops both"
milter/bouncegate -f -c "$conf" &
bg_pid=$!
echo "$mc_pid $bg_pid" > "$run/pids"
ready "$milter_port" && say "ready"
wait "$bg_pid"
rc=$?
bg_pid=''
exit $rc
