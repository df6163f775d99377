#!/bin/bash
# bouncegatectl add/show/del against a real memcached, the exit codes
# (like grep), domain entries in both spellings, expiries beyond memcached's
# 30-day limit, KeyPrefix separation; bouncegate -n checks a config.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
bg_start_memcached
conf=$BG_TMP/bg.conf
cat > "$conf" <<CONF
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix site1:
UserID nobody
CONF
ctl() { "$BG_CTL" -c "$conf" "$@"; }

bg_assert_rc 1 "show of an unknown address exits 1" ctl show bob@example.com
bg_assert_rc 0 "add exits 0" ctl add 'Bob@Example.COM' --class hard --reason userunknown --status 5.1.1
bg_assert_rc 0 "show of a suppressed address exits 0" ctl show '<bob@example.com>'
out=$(ctl show bob@example.com)
bg_assert_match 'class +hard' "$out" "show prints the class"
bg_assert_match 'reason +userunknown' "$out" "show prints the reason"
bg_assert_match 'status +5\.1\.1' "$out" "show prints the status"
bg_assert_match 'source +manual' "$out" "show prints the source"
bg_assert_match 'expires +never' "$out" "no TTL: never expires"
# The record in memcached has the documented format under the documented key.
raw=$(bg_mc_get "site1:r:bob@example.com")
bg_assert_match '^bg1 class=hard reason=userunknown status=5\.1\.1 first=[0-9]+ last=[0-9]+ count=1 expires=0 source=manual ' \
    "$raw" "record stored in the documented wire format"
# Re-adding keeps first-seen and counts.
ctl add bob@example.com --class hard --reason userunknown >/dev/null
bg_assert_match 'count +2' "$(ctl show bob@example.com)" "re-adding counts"

# Domains: @domain and --domain are the same; an address there is covered.
bg_assert_rc 0 "add @domain" ctl add @Dead.Example --ttl 40d
bg_assert_rc 0 "an address at a suppressed domain shows as suppressed" ctl show x@dead.example
bg_assert_match 'scope +domain' "$(ctl show x@dead.example)" "show says it is the domain entry"
# 40 days is more than memcached's 30-day relative limit: it must have been
# sent as an absolute time, or memcached would have expired it at once.
bg_assert_rc 0 "an entry with a 40-day TTL is kept" ctl show --domain dead.example
bg_assert_rc 0 "a 1-hour TTL entry is kept" ctl add carol@example.com --ttl 1h
bg_assert_rc 0 "del --domain" ctl del --domain dead.example
bg_assert_rc 1 "deleted domain no longer covers its addresses" ctl show x@dead.example
bg_assert_rc 1 "del of an absent entry exits 1" ctl del nobody@example.com

# KeyPrefix: another site on the same memcached sees nothing of site1.
other=$BG_TMP/other.conf
sed 's/^KeyPrefix .*/KeyPrefix site2:/' "$conf" > "$other"
bg_assert_rc 1 "another KeyPrefix does not see the entry" "$BG_CTL" -c "$other" show bob@example.com
bg_assert_rc 1 "another KeyPrefix cannot delete it" "$BG_CTL" -c "$other" del bob@example.com
bg_assert_rc 0 "the entry is still there" ctl show bob@example.com

# Bad input is an error (2), never a crash.
bg_assert_rc 2 "bad address" ctl add 'not an address'
bg_assert_rc 2 "bad class" ctl add x@example.com --class maybe
bg_assert_rc 2 "bad ttl" ctl add x@example.com --ttl soon
bg_assert_rc 2 "unknown command" ctl frobnicate
# A memcached that is not there is an error the tool reports (exit 2).
dead=$BG_TMP/dead.conf
p=$(bg_free_port)
printf 'Memcached --SERVER=127.0.0.1:%s\nLookupTimeout 200ms\n' "$p" > "$dead"
bg_assert_rc 0 "status: memcached reachable, readable and writable" ctl status
bg_assert_grep "^server      127\.0\.0\.1:$MC_PORT up, pid [0-9]+, running for [0-9]+s\$" "$BG_TMP/last.out" \
    "... naming the server that answers"
bg_assert_grep "^read/write  ok\$" "$BG_TMP/last.out" "... and that a write reads back"
bg_assert_rc 2 "status: memcached down exits 2" "$BG_CTL" -c "$dead" status
bg_assert_grep "^bouncegatectl: status: no memcached server answered \(down, or refusing this client" \
    "$BG_TMP/last.err" "... saying so"
bg_assert_rc 2 "store down: show exits 2" "$BG_CTL" -c "$dead" show bob@example.com
bg_assert_grep "^bouncegatectl: show bob@example.com: memcached mget: cannot reach memcached at 127\.0\.0\.1:$p" \
    "$BG_TMP/last.err" "... saying in plain words which memcached it could not reach"
bg_assert_not_grep "0x[0-9a-f]|connect\.cc" "$BG_TMP/last.err" "... with no pointer or source line of libmemcached"

# bouncegate -n: 0 for a good file, 1 naming file, line and key for a bad one.
bg_assert_rc 0 "bouncegate -n accepts a good config" "$BG_DAEMON" -n -c "$conf"
printf 'Socket inet:1@127.0.0.1\n# fine so far\nLookupTimeout soon\n' > "$BG_TMP/bad.conf"
bg_assert_rc 1 "bouncegate -n rejects a bad value" "$BG_DAEMON" -n -c "$BG_TMP/bad.conf"
bg_assert_grep "^bouncegate: $BG_TMP/bad.conf:3: LookupTimeout: " "$BG_TMP/last.err" \
    "the error names file, line and key"
printf 'Sokcet inet:1@127.0.0.1\n' > "$BG_TMP/bad2.conf"
bg_assert_rc 1 "bouncegate -n rejects an unknown key" "$BG_DAEMON" -n -c "$BG_TMP/bad2.conf"
bg_assert_grep ":1: Sokcet: unknown key \(did you mean Socket\?\)\$" "$BG_TMP/last.err" \
    "unknown key named, with the key it most likely meant"
# Every mistake of a file is reported in one run, one line each.
printf 'Sokcet inet:1@127.0.0.1\nLookupTimeout soon\nUserID nobody\nUserID root\n' > "$BG_TMP/bad4.conf"
bg_assert_rc 1 "a config with three mistakes is refused" "$BG_DAEMON" -n -c "$BG_TMP/bad4.conf"
bg_assert_eq "bouncegate: $BG_TMP/bad4.conf:1: Sokcet: unknown key (did you mean Socket?)
bouncegate: $BG_TMP/bad4.conf:2: LookupTimeout: expected a duration such as 250ms or 2s (at most 1h)
bouncegate: $BG_TMP/bad4.conf:4: UserID: key given twice" "$(cat "$BG_TMP/last.err")" \
    "... all three named in one run, each with file, line and key"
printf 'Frobnicate 1\n' > "$BG_TMP/bad3.conf"
bg_assert_rc 1 "an unknown key nothing like a real one" "$BG_DAEMON" -n -c "$BG_TMP/bad3.conf"
bg_assert_grep ":1: Frobnicate: unknown key\$" "$BG_TMP/last.err" "... is named, with no guess"
# --help and --version on every program; an unknown option is named.
for prog in "$BG_DAEMON" "$BG_CTL" "$BG_TOP/milter/bouncegate-logwatch"; do
    bg_assert_rc 0 "$(basename "$prog") --help exits 0" "$prog" --help
    bg_assert_grep "^usage: $(basename "$prog") " "$BG_TMP/last.out" "... and prints the usage on stdout"
    bg_assert_rc 2 "$(basename "$prog") --frobnicate exits 2" "$prog" --frobnicate
    bg_assert_grep "unrecognized option '--frobnicate'" "$BG_TMP/last.err" "... naming the option"
done
bg_assert_match '^bouncegatectl [0-9]+\.[0-9]+\.[0-9]+$' "$("$BG_CTL" --version)" "bouncegatectl --version"
bg_assert_rc 2 "bouncegatectl add with an unknown option exits 2" ctl add x@example.com --frob
bg_assert_grep "^bouncegatectl: add: unknown option or missing value: --frob\$" "$BG_TMP/last.err" \
    "... naming it"
bg_assert_rc 1 "bouncegate -n on a missing file" "$BG_DAEMON" -n -c "$BG_TMP/none.conf"
# Started as root, an empty UserID would leave the daemon (and logwatch)
# root: an error, as is a report age limit of 0 ("trust tags forever").
printf 'UserID\n' > "$BG_TMP/nouser.conf"
bg_assert_rc 1 "bouncegate -n as root with an empty UserID is refused" "$BG_DAEMON" -n -c "$BG_TMP/nouser.conf"
bg_assert_grep "^bouncegate: $BG_TMP/nouser.conf: UserID is empty: started as root" "$BG_TMP/last.err" \
    "... saying why"
bg_assert_rc 1 "bouncegate-logwatch -n as root with an empty UserID is refused" \
    "$BG_TOP/milter/bouncegate-logwatch" -n -c "$BG_TMP/nouser.conf" -
bg_assert_grep "UserID is empty" "$BG_TMP/last.err" "... saying why"
printf 'UserID nobody\nReportMaxAge 0\n' > "$BG_TMP/age.conf"
bg_assert_rc 1 "bouncegate -n rejects ReportMaxAge 0" "$BG_DAEMON" -n -c "$BG_TMP/age.conf"
bg_assert_grep ":2: ReportMaxAge: expected a duration from 1h to 366d" "$BG_TMP/last.err" "... naming line and key"
printf 'UserID nobody\n' > "$BG_TMP/ok.conf"
bg_assert_rc 1 "bouncegate -n rejects a bad -p socket" "$BG_DAEMON" -n -c "$BG_TMP/ok.conf" -p inet:99999@127.0.0.1
bg_assert_grep "^bouncegate: -p inet:99999@127.0.0.1: port 99999 out of range" "$BG_TMP/last.err" "... naming it"
# The sample names UserID bouncegate (the package creates that user); the
# test machine may not have it, so check the sample with a user that exists.
{ cat "$BG_TOP/conf/bouncegate.conf"; echo "UserID nobody"; } > "$BG_TMP/sample.conf"
bg_assert_rc 0 "sample config conf/bouncegate.conf is valid" "$BG_DAEMON" -n -c "$BG_TMP/sample.conf"
# Socket is checked as libmilter reads it, by bouncegate -n too: a port
# out of range (libmilter's atoi would quietly make 99999 into 34463), a
# missing host, an unknown type, a relative path.
for bad in 'inet:99999@127.0.0.1|port 99999 out of range \(1-65535\)' \
           'inet:@1.2.3.4|missing port' 'inet:80@|missing host after' \
           'foo:bar|unknown socket type foo' 'unix:relative|unix socket path relative is not absolute'; do
    printf 'UserID nobody\nSocket %s\n' "${bad%%|*}" > "$BG_TMP/sock.conf"
    bg_assert_rc 1 "bouncegate -n rejects Socket ${bad%%|*}" "$BG_DAEMON" -n -c "$BG_TMP/sock.conf"
    bg_assert_grep "^bouncegate: $BG_TMP/sock.conf:2: Socket: ${bad#*|}" "$BG_TMP/last.err" \
        "... naming file, line, key and the problem"
done
for good in inet:8899@127.0.0.1 inet:8899 inet6:8899@::1 "unix:$BG_TMP/bg.sock" "$BG_TMP/bg.sock"; do
    printf 'UserID nobody\nSocket %s\n' "$good" > "$BG_TMP/sock.conf"
    bg_assert_rc 0 "bouncegate -n accepts Socket $good" "$BG_DAEMON" -n -c "$BG_TMP/sock.conf"
done

# Only a regular file is read as a config, a CSV to import or a list to
# check: a FIFO without a writer blocked the open for ever, /dev/zero was
# read until memory ran out. Each is refused at once (timeout 20 would
# give 124), naming the file and what it is; memory is capped so that a
# regression cannot take the machine down with it (not under ASan, which
# reserves terabytes of address space).
capped() (
    [ -n "${BG_SANITIZER:-}" ] || ulimit -v 4194304
    exec timeout 20 "$@"
)
fifo=$BG_TMP/fifo
mkfifo "$fifo" || bg_fatal "mkfifo $fifo"
bg_assert_rc 1 "bouncegate -n -c /dev/zero is refused" capped "$BG_DAEMON" -n -c /dev/zero
bg_assert_grep '^bouncegate: /dev/zero: not a regular file \(character device\)$' "$BG_TMP/last.err" \
    "... the error names /dev/zero and says it is not a regular file"
bg_assert_rc 1 "bouncegate -n -c FIFO is refused" capped "$BG_DAEMON" -n -c "$fifo"
bg_assert_grep "^bouncegate: $fifo: not a regular file \\(FIFO\\)\$" "$BG_TMP/last.err" \
    "... the error names the FIFO and says it is not a regular file"
bg_assert_rc 2 "bouncegatectl -c FIFO is refused" capped "$BG_CTL" -c "$fifo" show bob@example.com
bg_assert_grep "^bouncegatectl: $fifo: not a regular file \\(FIFO\\)\$" "$BG_TMP/last.err" \
    "... naming it"
printf 'UserID nobody\nRulesFile %s\n' "$fifo" > "$BG_TMP/rules-fifo.conf"
bg_assert_rc 1 "bouncegate -n with a FIFO as RulesFile is refused" capped "$BG_DAEMON" -n \
    -c "$BG_TMP/rules-fifo.conf"
bg_assert_grep "$fifo: not a regular file \\(FIFO\\)\$" "$BG_TMP/last.err" "... naming the FIFO"
bg_assert_rc 2 "bouncegatectl import FIFO is refused" capped "$BG_CTL" -c "$conf" import "$fifo"
bg_assert_grep "^bouncegatectl: $fifo: not a regular file \\(FIFO\\)\$" "$BG_TMP/last.err" \
    "... the error names the FIFO and says it is not a regular file"
bg_assert_rc 2 "bouncegatectl import /dev/zero is refused" capped "$BG_CTL" -c "$conf" import /dev/zero
bg_assert_grep '^bouncegatectl: /dev/zero: not a regular file \(character device\)$' "$BG_TMP/last.err" \
    "... naming it"
bg_assert_rc 2 "bouncegatectl check FIFO is refused" capped "$BG_CTL" -c "$conf" check "$fifo"
bg_assert_grep "^bouncegatectl: $fifo: not a regular file \\(FIFO\\)\$" "$BG_TMP/last.err" "... naming it"
# "-" is stdin, whatever it is: a pipe still imports
bg_assert_rc 0 "import - reads a pipe on stdin" capped "$BG_CTL" -c "$conf" import - \
    < <(printf 'address,class\npiped@example.com,hard\n')
bg_assert_rc 0 "... and the piped entry is there" ctl show piped@example.com
# On a terminal a long import shows its progress (rows, rate, share, time
# left) on one line that it erases at the end; in a pipe or a file, none.
awk 'BEGIN { print "address,class"; for (i = 0; i < 60000; i++) printf "p%d@progress.example,hard\n", i }' \
    > "$BG_TMP/big.csv"
script -qefc "$BG_CTL -c $conf import $BG_TMP/big.csv" /dev/null > "$BG_TMP/tty.out" 2>&1 < /dev/null
bg_assert_grep 'import: [0-9]+ rows, [0-9]+/s, [0-9]+%, about [0-9]+ s left' "$BG_TMP/tty.out" \
    "import on a terminal: a progress line with rows, rate, share and time left"
bg_assert_grep 'import: imported=60000 bad=0 expired=0 lines=60001' "$BG_TMP/tty.out" "... then the summary"
bg_assert_rc 0 "import in a pipe" ctl import "$BG_TMP/big.csv"
bg_assert_not_grep 'rows, ' "$BG_TMP/last.err" "... shows no progress line"
# A line holding a NUL byte is one bad line: it never swallows the next.
printf 'address\nnul1@example.com\0x\nnul2@example.com\nnul3@example.com\n' > "$BG_TMP/nul.csv"
bg_assert_rc 1 "import of a CSV with a NUL byte in a line: some lines bad (exit 1)" \
    ctl import "$BG_TMP/nul.csv"
bg_assert_eq "import: imported=2 bad=1 expired=0 lines=4" "$(cat "$BG_TMP/last.out")" \
    "... that line counted bad, the next two imported"
bg_assert_rc 0 "... the line after it is there" ctl show nul2@example.com

out=$("$BG_DAEMON" -V)
bg_assert_match '^bouncegate [0-9]+\.[0-9]+\.[0-9]+$' "$out" "-V prints the version"
bg_finish
