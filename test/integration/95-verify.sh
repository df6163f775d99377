#!/bin/bash
# bouncegatectl verify against a real DNS server on loopback (Debian's
# dnsmasq, authoritative for test. and two real-looking provider names):
#   mx.test        MX mail.mx.test                      -> ok
#   nx.test        (unknown under test.)                 -> no-domain
#   nullmx.test    MX 0 . (RFC 7505)                     -> null-mx
#   aonly.test     an A record, no MX                    -> ok (implicit MX)
#   nomail.test    a TXT record only                     -> no-mail-host
#   slow.test      forwarded to a port nobody answers    -> dns-error (timeout)
#   gmial.com      MX (a typo of gmail.com)              -> risky, a hint
# plus a suppressed address and domain, malformed addresses, a role
# account; a second resolver that answers SERVFAIL to everything; the
# output formats, exit codes, --suppress-dead, and bad input (NUL bytes, a
# 1 MB line, a CSV without an address column, an unreadable file).
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
command -v dnsmasq > /dev/null || bg_fatal "dnsmasq not found (apt-get install dnsmasq-base)"
command -v python3 > /dev/null || bg_fatal "python3 not found"
bg_start_memcached
conf=$BG_TMP/bg.conf
printf 'Memcached --SERVER=%s --BINARY-PROTOCOL\nKeyPrefix vf:\nDeadDomainTTL 7d\n' "$MC_SERVER" > "$conf"
ctl() { "$BG_CTL" -c "$conf" "$@"; }

# ------------------------------------------------------------- the DNS
dnsport=$(bg_free_port) || bg_fatal "no free port for dnsmasq"
dnsmasq --keep-in-foreground --port="$dnsport" --listen-address=127.0.0.1 --bind-interfaces \
    --no-resolv --no-hosts --user=nobody --pid-file= --local=/test/ \
    --mx-host=mx.test,mail.mx.test,10 --host-record=mail.mx.test,192.0.2.10 \
    --host-record=aonly.test,192.0.2.20 --dns-rr=nullmx.test,15,000000 \
    --txt-record=nomail.test,nothing --server=/slow.test/127.0.0.1#1 \
    --mx-host=gmial.com,mail.mx.test,10 --log-queries --log-facility="$BG_TMP/dnsmasq.log" \
    > "$BG_TMP/dnsmasq.out" 2>&1 &
bg_track $!
# ready when it answers (a query for mx.test through bouncegatectl itself
# would hide a broken resolver behind a broken tool: ask with python)
dnsq() {    # dnsq PORT NAME TYPE - the reply's rcode, or "none"
    python3 - "$@" <<'PY'
import socket, struct, sys
port, name, qtype = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
q = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0)
for part in name.split('.'):
    q += bytes([len(part)]) + part.encode()
q += b'\0' + struct.pack('>HH', qtype, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
try:
    s.sendto(q, ('127.0.0.1', port))
    print(s.recv(512)[3] & 15)
except OSError:
    print('none')
PY
}
bg__now; end=$((BG__MS + BG_TIMEOUT * 1000))
until [ "$(dnsq "$dnsport" mx.test 15)" = 0 ]; do
    bg__now; [ "$BG__MS" -ge "$end" ] && bg_fatal "dnsmasq did not answer on port $dnsport: $(cat "$BG_TMP/dnsmasq.out")"
    sleep 0.1
done
bg_pass "dnsmasq answers on 127.0.0.1:$dnsport"

# ------------------------------------------------------------- verdicts
ctl add bob@mx.test --class hard --reason userunknown --status 5.1.1 > /dev/null ||
    bg_fatal "bouncegatectl add failed"
ctl add @gone.test --class hard --reason hostunknown > /dev/null || bg_fatal "bouncegatectl add @gone.test failed"
cat > "$BG_TMP/list.txt" <<'LIST'
alice@mx.test
bob@mx.test
Bob@MX.TEST
carol@nx.test
dan@nullmx.test
erin@aonly.test
fred@nomail.test
gina@slow.test
not an address
hal@mx..test
info@mx.test
zed@gmial.com
ivy@gone.test

  jo@mx.test  
jürgen@bücher.test
maría@mx.test
LIST
mark=$(wc -l < "$BG_TMP/dnsmasq.log")
bg_assert_rc 1 "verify flags the list (exit 1)" ctl verify --resolver "127.0.0.1:$dnsport" --timeout 300 "$BG_TMP/list.txt"
cp "$BG_TMP/last.out" "$BG_TMP/verdicts.out"
tail -n +"$((mark + 1))" "$BG_TMP/dnsmasq.log" > "$BG_TMP/queries.log"
sed 's/^/    # /' "$BG_TMP/verdicts.out"
expect() {  # expect ADDRESS VERDICT DETAIL-ERE
    if grep -qE "^$(sed 's/[.]/\\./g' <<< "$1")	$2	$3\$" "$BG_TMP/verdicts.out"; then
        bg_pass "$1: $2"
    else
        bg_fail "$1: want '$2 $3', got '$(grep -F "$1	" "$BG_TMP/verdicts.out" | head -n 1 | cut -f2-)'"
    fi
}
expect alice@mx.test ok 'mx mail\.mx\.test'
expect bob@mx.test suppressed 'class=hard reason=userunknown since=[0-9-]{10} scope=recipient'
expect carol@nx.test no-domain nxdomain
expect dan@nullmx.test null-mx 'mx 0 \.'
expect erin@aonly.test ok 'a \(no mx\)'
expect fred@nomail.test no-mail-host 'no mx, a or aaaa'
expect gina@slow.test dns-error timeout
expect 'not an address' invalid '.+'
expect 'hal@mx..test' invalid 'empty label'
expect info@mx.test risky 'role account'
expect zed@gmial.com risky 'typo\? did you mean gmail\.com'
expect ivy@gone.test suppressed 'class=hard reason=hostunknown since=[0-9-]{10} scope=domain'
expect jo@mx.test ok 'mx mail\.mx\.test'
# SMTPUTF8: a UTF-8 local part as it is, an IDN domain asked as its A-label
expect 'jürgen@xn--bcher-kva.test' no-domain nxdomain
expect 'maría@mx.test' ok 'mx mail\.mx\.test'
bg_assert_eq 16 "$(wc -l < "$BG_TMP/verdicts.out")" "one verdict per address, blank lines skipped"
bg_assert_eq "alice@mx.test bob@mx.test bob@mx.test carol@nx.test" \
    "$(head -n 4 "$BG_TMP/verdicts.out" | cut -f1 | tr '\n' ' ' | sed 's/ $//')" "in input order (normalized)"
bg_assert_match '^verify: addresses=16 domains=[0-9]+ ok=4 risky=2 dns-error=1 no-mail-host=1 null-mx=1 no-domain=2 suppressed=3 invalid=2 would_bounce=56\.2%$' \
    "$(cat "$BG_TMP/last.err")" "the summary on stderr"
# each domain asked once per run, however many addresses it has (five
# here, spelled three ways)
bg_assert_eq 1 "$(grep -c 'query\[MX\] mx\.test from' "$BG_TMP/queries.log")" \
    "mx.test was asked for its MX once for its five addresses"

# ------------------------------------------------------------- formats
printf 'alice@mx.test\ninfo@mx.test\n' > "$BG_TMP/ok.txt"
bg_assert_rc 0 "only ok and risky: exit 0" ctl verify --resolver "127.0.0.1:$dnsport" "$BG_TMP/ok.txt"
bg_assert_rc 1 "--json" ctl verify --json --resolver "127.0.0.1:$dnsport" --timeout 300 "$BG_TMP/list.txt"
if perl -MJSON::PP -ne 'decode_json($_)' "$BG_TMP/last.out" 2> "$BG_TMP/json.err"; then
    bg_pass "--json: every line is JSON"
else
    bg_fail "--json: not JSON: $(head -n 2 "$BG_TMP/json.err")"
fi
bg_assert_grep '^\{"line":4,"address":"carol@nx\.test","verdict":"no-domain","detail":"nxdomain"\}$' \
    "$BG_TMP/last.out" "--json carries the line, address, verdict and detail"
printf 'name,email,since\nAlice,alice@mx.test,2024\n"Doe, Carol","carol@nx.test",2023\n' > "$BG_TMP/list.csv"
bg_assert_rc 1 "a CSV with an email column, --csv out" ctl verify --csv --resolver "127.0.0.1:$dnsport" "$BG_TMP/list.csv"
bg_assert_eq "address,verdict,detail
alice@mx.test,ok,mx mail.mx.test
carol@nx.test,no-domain,nxdomain" "$(cat "$BG_TMP/last.out")" "--csv: a header, then one row per address"
bg_assert_rc 1 "stdin" sh -c "\"$BG_CTL\" -c \"$conf\" verify --resolver 127.0.0.1:$dnsport - < \"$BG_TMP/list.csv\""
printf '\357\273\277Email,Name\nalice@mx.test,Alice\n' > "$BG_TMP/bom.csv"
bg_assert_rc 0 "a spreadsheet's CSV, starting with a UTF-8 byte order mark" \
    ctl verify --resolver "127.0.0.1:$dnsport" "$BG_TMP/bom.csv"
bg_assert_eq "alice@mx.test	ok	mx mail.mx.test" "$(cat "$BG_TMP/last.out")" "... its header read as one"

# ------------------------------------------------------------- SERVFAIL
sfport=$(bg_free_port) || bg_fatal "no free port"
python3 - "$sfport" > "$BG_TMP/servfail.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', int(sys.argv[1])))
while True:
    q, a = s.recvfrom(512)
    if len(q) >= 12:   # same id and question, QR set, RCODE 2 (SERVFAIL)
        s.sendto(q[:2] + bytes([0x81, 0x82]) + q[4:6] + b'\0\0\0\0\0\0' + q[12:], a)
PY
bg_track $!
bg__now; end=$((BG__MS + BG_TIMEOUT * 1000))
until [ "$(dnsq "$sfport" x.test 15)" = 2 ]; do
    bg__now; [ "$BG__MS" -ge "$end" ] && bg_fatal "the SERVFAIL server did not start"
    sleep 0.1
done
printf 'alice@mx.test\n' > "$BG_TMP/one.txt"
bg_assert_rc 0 "SERVFAIL is no bad address (exit 0)" ctl verify --resolver "127.0.0.1:$sfport" "$BG_TMP/one.txt"
bg_assert_match '^alice@mx\.test	dns-error	servfail' "$(cat "$BG_TMP/last.out")" "SERVFAIL: dns-error"

# ------------------------------------------------------------- --suppress-dead
bg_assert_rc 1 "--suppress-dead" ctl verify --suppress-dead --resolver "127.0.0.1:$dnsport" --timeout 300 "$BG_TMP/list.txt"
bg_assert_match 'domains_suppressed=3' "$(cat "$BG_TMP/last.err")" "... the three dead domains not suppressed yet"
bg_assert_rc 0 "the NXDOMAIN domain is suppressed" ctl show @nx.test
out=$(ctl show @nx.test)
bg_assert_match 'source +verify' "$out" "... source verify"
bg_assert_match 'reason +hostunknown' "$out" "... reason hostunknown"
bg_assert_match 'expires +20' "$out" "... with DeadDomainTTL's expiry"
bg_assert_match 'reason +notaccept' "$(ctl show @nullmx.test)" "the null-MX domain: notaccept"
bg_assert_rc 1 "a dns-error domain is not suppressed" ctl show @slow.test

# ------------------------------------------------------------- bad input
printf 'alice@mx.test\nbo\0b@mx.test\n' > "$BG_TMP/nul.txt"
bg_assert_rc 2 "a NUL byte: exit 2" ctl verify --resolver "127.0.0.1:$dnsport" "$BG_TMP/nul.txt"
bg_assert_grep 'nul\.txt: line 2: a NUL byte or longer than 4095 bytes' "$BG_TMP/last.err" "... named with its line"
bg_assert_eq 0 "$(wc -c < "$BG_TMP/last.out")" "... nothing written"
{ echo alice@mx.test; head -c 1048576 /dev/zero | tr '\0' 'a'; echo; } > "$BG_TMP/long.txt"
bg_assert_rc 2 "a 1 MB line: exit 2" ctl verify --resolver "127.0.0.1:$dnsport" "$BG_TMP/long.txt"
bg_assert_grep 'long\.txt: line 2: ' "$BG_TMP/last.err" "... named with its line"
bg_assert_eq 0 "$(wc -c < "$BG_TMP/last.out")" "... nothing written"
printf 'name,phone\nAlice,123\n' > "$BG_TMP/noaddr.csv"
bg_assert_rc 2 "a CSV without an address column: exit 2" ctl verify --resolver "127.0.0.1:$dnsport" "$BG_TMP/noaddr.csv"
bg_assert_grep 'noaddr\.csv: line 1: a CSV without an address column' "$BG_TMP/last.err" "... said so"
install -m 000 /dev/null "$BG_TMP/unreadable.txt"
bg_assert_rc 2 "an unreadable file: exit 2" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$BG_CTL" -c "$conf" verify "$BG_TMP/unreadable.txt"
bg_assert_grep 'unreadable\.txt: Permission denied' "$BG_TMP/last.err" "... said so"
bg_assert_rc 2 "a bad option" ctl verify --bogus
bg_assert_rc 2 "--json and --csv together" ctl verify --json --csv "$BG_TMP/one.txt"
bg_finish
