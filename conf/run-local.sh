#!/bin/bash
# bash conf/run-local.sh (or make run): install what is missing (Debian), build, start a local memcached if none
# answers on 127.0.0.1:11211, and run the milter in the foreground on
# inet:8899@127.0.0.1 with conf/bouncegate.conf. Ctrl-C stops it.
set -e
cd "$(dirname "$0")/.."
need=0
for c in make cc pkg-config memcached; do command -v $c >/dev/null 2>&1 || need=1; done
for p in libmemcached libidn2 nettle milter check; do
    pkg-config --exists $p 2>/dev/null || need=1
done
if [ $need -eq 1 ]; then
    echo "run: installing what is missing from Debian's packages"
    if [ "$(id -u)" -eq 0 ]; then sh .ci/install-deps; else sudo sh .ci/install-deps; fi
fi
make -s all
if ! (exec 3<>/dev/tcp/127.0.0.1/11211) 2>/dev/null; then
    echo "run: starting memcached on 127.0.0.1:11211"
    if [ "$(id -u)" -eq 0 ]; then u="-u nobody"; else u=""; fi
    memcached -d -l 127.0.0.1 -p 11211 -U 0 -m 64 $u
fi
user=""
if [ "$(id -u)" -eq 0 ]; then
    # The sample's UserID (bouncegate) may not exist on a dev box.
    id bouncegate >/dev/null 2>&1 || user="nobody"
fi
if [ -n "$user" ]; then
    tmp=$(mktemp); chmod 644 "$tmp"
    { cat conf/bouncegate.conf; echo "UserID $user"; } > "$tmp"
    conf="$tmp"
else
    conf=conf/bouncegate.conf
fi
echo "run: bouncegate on inet:8899@127.0.0.1; try: milter/bouncegatectl -c conf/bouncegate.conf add bob@example.com"
exec milter/bouncegate -f -c "$conf"
