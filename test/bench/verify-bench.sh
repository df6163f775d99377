#!/bin/bash
# verify-bench.sh - bouncegatectl verify on a large list (make bench-verify):
# ADDRESSES addresses (default 100000) over DOMAINS domains (default 5000)
# of a local dnsmasq (each domain an A record and no MX: two queries
# each, the implicit-MX path), against a memcached of its own. Prints
#   verify-bench: addresses=N domains=D concurrency=C seconds=S addresses_per_s=R maxrss_kb=M
# A measurement, not a test: nothing is asserted. Needs dnsmasq, memcached,
# python3 (for the child's peak RSS) and a built milter/bouncegatectl.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"
ADDRESSES=${ADDRESSES:-100000}
DOMAINS=${DOMAINS:-5000}
CONCURRENCY=${CONCURRENCY:-100}
bg_tmpdir
bg_start_memcached
printf 'Memcached --SERVER=%s --BINARY-PROTOCOL\nKeyPrefix vb:\n' "$MC_SERVER" > "$BG_TMP/bg.conf"
awk -v d="$DOMAINS" 'BEGIN { for (i = 0; i < d; i++) printf "192.0.2.%d d%d.bench.test\n", i % 250 + 1, i }' \
    > "$BG_TMP/hosts"
awk -v n="$ADDRESSES" -v d="$DOMAINS" 'BEGIN { for (i = 0; i < n; i++) printf "user%d@d%d.bench.test\n", i, i % d }' \
    > "$BG_TMP/list.txt"
port=$(bg_free_port) || bg_fatal "no free port"
dnsmasq --keep-in-foreground --port="$port" --listen-address=127.0.0.1 --bind-interfaces \
    --no-resolv --no-hosts --addn-hosts="$BG_TMP/hosts" --local=/test/ --user=nobody \
    --pid-file= --cache-size=10000 > "$BG_TMP/dnsmasq.out" 2>&1 &
bg_track $!
# ready once it answers an A query for the first domain
for _ in $(seq 200); do
    python3 - "$port" <<'PY' && break
import socket, struct, sys
q = struct.pack('>HHHHHH', 7, 0x0100, 1, 0, 0, 0)
for part in 'd0.bench.test'.split('.'):
    q += bytes([len(part)]) + part.encode()
q += b'\0' + struct.pack('>HH', 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.1)
try:
    s.sendto(q, ('127.0.0.1', int(sys.argv[1])))
    sys.exit(0 if s.recv(512)[3] & 15 == 0 else 1)
except OSError:
    sys.exit(1)
PY
    sleep 0.1
done
python3 - "$BG_CTL" -c "$BG_TMP/bg.conf" verify --resolver "127.0.0.1:$port" \
    --concurrency "$CONCURRENCY" "$BG_TMP/list.txt" > "$BG_TMP/run.out" 2> "$BG_TMP/run.err" <<'PY'
import resource, subprocess, sys, time
t0 = time.monotonic()
rc = subprocess.run(sys.argv[1:], stdout=sys.stdout).returncode
dt = time.monotonic() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("%d %.3f %d" % (rc, dt, rss), file=sys.stderr)
PY
read -r rc secs rss < <(tail -n 1 "$BG_TMP/run.err")
n=$(wc -l < "$BG_TMP/run.out")
ok=$(grep -c '	ok	' "$BG_TMP/run.out")
echo "verify-bench: addresses=$n domains=$DOMAINS concurrency=$CONCURRENCY seconds=$secs addresses_per_s=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }') maxrss_kb=$rss ok=$ok exit=$rc"
grep '^verify:' "$BG_TMP/run.err"
exit 0
