#!/bin/bash
# make run: install what is missing (Debian), start a local memcached if none
# answers on 127.0.0.1:11211, and run the milter in the foreground on
# inet:8899@127.0.0.1 with conf/bouncegate.conf. Ctrl-C stops it.
set -e
cd "$(dirname "$0")/.."
if ! command -v memcached >/dev/null 2>&1; then
    echo "run: installing dependencies (sudo may ask for a password)"
    ${SUDO:-$( [ "$(id -u)" -eq 0 ] || echo sudo )} sh .ci/install-deps
    make
fi
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
