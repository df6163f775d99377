#!/bin/bash
# Keys cannot be injected or made to collide, and KeyPrefix separates sites.
#
# 1. Over the TEXT protocol (where a blank or CR LF in a key would end the
#    command and start another), names no address normalizer would pass -
#    blanks, CR LF with a memcached command after it, control and 8-bit
#    bytes, 1,000 bytes - are stored, read and deleted through lib/store.c
#    (test/tools/storetool, which does not normalize): memcached accepts
#    every key, each lands under its own hashed key, and the neighbouring
#    entry they name is never created, read, changed or deleted.
# 2. The same kind of recipients through the daemon: none rejected, none
#    makes a lookup fail.
# 3. Two sites (two daemons, two KeyPrefixes) on one memcached cannot see or
#    change each other's entries through bouncegate or bouncegatectl.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
STORETOOL=$BG_TOP/test/tools/storetool
[ -x "$STORETOOL" ] || bg_fatal "$STORETOOL not built"
bg_start_memcached

rec() { echo "bg1 class=hard reason=userunknown status=5.1.1 first=1795132800 last=1795132800 count=1 expires=0 source=manual rule=- id=- diag=-"; }
conf=$BG_TMP/text.conf
port=$(bg_free_port) || bg_fatal "no free port"
cat > "$conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER
KeyPrefix inj:
UserID nobody
Scope all
LogLevel info
CONF
chmod 644 "$conf"
victim=$(rec)
bg_mc_set "inj:r:victim@example.com" "$victim" || bg_fatal "mc set"

long=$(printf 'a%.0s' $(seq 1000))@example.com
hostile=(
    'a b@example.com'
    'victim@example.com '
    ' victim@example.com'
    'victim@example.com\r\n'
    'x\r\nset inj:r:evil@example.com 0 0 4\r\nevil\r\n@example.com'
    'x\r\ndelete inj:r:victim@example.com\r\n@example.com'
    'x\nget inj:r:victim@example.com\n@example.com'
    'ctl\x01\x02\x1b\x7f@example.com'
    'tab\there@example.com'
    'caf\xc3\xa9@example.com'
    '\xff\xfe@example.com'
    "$long"
)
keys() {    # every key memcached holds, one per line (metadump URL-encodes them)
    local k out attempt
    # The crawler answers BUSY while a previous dump is still finishing:
    # ask again (the victim's key is always there, so empty means "ask again").
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        out=$(bg_mc_cmd "$MC_PORT" "lru_crawler metadump all" | sed -n 's/^key=\([^ ]*\) .*/\1/p')
        [ -n "$out" ] && break
        sleep 0.2
    done
    while IFS= read -r k; do printf '%b\n' "${k//%/\\x}"; done <<< "$out" | sort
}
out=$("$STORETOOL" -c "$conf" put "${hostile[@]}" 2>&1)
bg_assert_rc 0 "every hostile name was stored (memcached refused no key)" \
    "$STORETOOL" -c "$conf" put "${hostile[@]}"
bg_assert_rc 0 "and read back" "$STORETOOL" -c "$conf" get "${hostile[@]}"
bg_assert_eq "${#hostile[@]}" "$(grep -c ': found manual$' "$BG_TMP/last.out")" \
    "each is found under its own key"
k=$(keys)
bg_assert_eq $(( ${#hostile[@]} + 1 )) "$(wc -l <<< "$k")" \
    "memcached holds the victim plus one key per hostile name"
bg_assert_eq "${#hostile[@]}" "$(grep -c -E '^inj:r#[0-9a-f]{64}$' <<< "$k")" \
    "every hostile name became a hashed key"
bg_assert_eq "inj:r:victim@example.com" "$(grep -v '#' <<< "$k")" "the only plain key is the victim's"
bg_assert_eq "$victim" "$(bg_mc_get 'inj:r:victim@example.com')" "the victim's entry is unchanged"
bg_mc_get 'inj:r:evil@example.com' > /dev/null
bg_assert_eq 1 "$?" "no 'evil' entry was created"
for h in "${hostile[@]}"; do
    kh=$("$STORETOOL" -c "$conf" key "$h")
    [ "$kh" != "inj:r:victim@example.com" ] || bg_fail "'$h' maps to the victim's key"
done
bg_assert_rc 0 "the hostile names are deleted" "$STORETOOL" -c "$conf" del "${hostile[@]}"
bg_assert_eq "${#hostile[@]}" "$(grep -c ': deleted$' "$BG_TMP/last.out")" "each deleted once"
bg_assert_eq "inj:r:victim@example.com" "$(keys)" "only the victim is left"
bg_assert_eq "$victim" "$(bg_mc_get 'inj:r:victim@example.com')" "still unchanged"

# ---------------------------------------------------------------- through the daemon
bg_start_daemon "$conf"
{
    echo 'connect app.site.example 203.0.113.5'
    echo 'mail <app@site.example>'
    # (mtclient splits a script line at blanks, so blanks are tested above)
    printf 'rcpt <"x\rset inj:r:evil@example.com"@example.com>\n'
    printf 'rcpt <victim@example.com\r>\n'
    printf 'rcpt <ctl\001\033\177@example.com>\n'
    printf 'rcpt <caf\303\251@example.com>\n'
    printf 'rcpt <\377\376@example.com>\n'
    echo "rcpt <$long>"
    echo 'rcpt <victim@example.com>'
} > "$BG_TMP/hostile.in"
out=$("$BG_MTCLIENT" -t 3000 "$BG_SOCK" < "$BG_TMP/hostile.in" 2>&1)
# <victim@example.com\r> is the victim's own mailbox after normalization
# (a trailing CR is trimmed like a blank), so it is rejected too; nothing
# else is.
bg_assert_eq 2 "$(grep -c 'reply 550' <<< "$out")" "through the daemon only the victim's mailbox is rejected"
bg_assert_eq 2 "$(grep -c -a '^rcpt <victim@example.com.*>: reply 550 5.1.1' <<< "$out")" \
    "both rejections are the victim (with and without the trailing CR)"
bg_assert_not_grep 'accept-unchecked|store-failure|breaker' "$BG_TMP/daemon.log" \
    "no hostile recipient made a lookup fail"
bg_assert_eq "inj:r:victim@example.com" "$(keys)" "the daemon created no key"
bg_stop_daemon

# ---------------------------------------------------------------- two sites
bg_mc_flush
for s in a b; do
    p=$(bg_free_port) || bg_fatal "no free port"
    cat > "$BG_TMP/site-$s.conf" <<CONF
Socket inet:$p@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix site-$s:
UserID nobody
Scope all
CONF
    chmod 644 "$BG_TMP/site-$s.conf"
done
ctl() { local s=$1; shift; "$BG_CTL" -c "$BG_TMP/site-$s.conf" "$@"; }
ctl a add bob@example.com > /dev/null || bg_fatal "site a: add bob"
ctl b add carol@example.com > /dev/null || bg_fatal "site b: add carol"
ctl b add @dead.example > /dev/null || bg_fatal "site b: add @dead.example"
bg_start_daemon "$BG_TMP/site-a.conf"; sock_a=$BG_SOCK pid_a=$BG_PID
bg_start_daemon "$BG_TMP/site-b.conf"; sock_b=$BG_SOCK
printf 'connect app 203.0.113.5\nmail <app@site.example>\nrcpt <bob@example.com>\nrcpt <carol@example.com>\nrcpt <x@dead.example>\n' > "$BG_TMP/sites.in"
check() {   # check SOCK WHAT BOB CAROL DEAD - expected "550" or "continue" for each
    local out
    out=$("$BG_MTCLIENT" -t 3000 "$1" < "$BG_TMP/sites.in" 2>&1)
    bg_assert_match "rcpt <bob@example.com>: ${3/550/reply 550}.*rcpt <carol@example.com>: ${4/550/reply 550}.*rcpt <x@dead.example>: ${5/550/reply 550}" \
        "$(tr '\n' ' ' <<< "$out")" "$2"
}
check "$sock_a" "site a rejects only its own bob" 550 continue continue
check "$sock_b" "site b rejects only its own carol and @dead.example" continue 550 550
bg_assert_rc 1 "site b does not see site a's bob" ctl b show bob@example.com
bg_assert_rc 1 "site b cannot delete site a's bob" ctl b del bob@example.com
bg_assert_rc 1 "site a cannot delete site b's carol" ctl a del carol@example.com
bg_assert_rc 1 "site a cannot delete site b's domain" ctl a del @dead.example
ctl b add bob@example.com --class manual > /dev/null
ctl b del bob@example.com > /dev/null
bg_assert_rc 0 "site b adding and deleting its own bob left site a's" ctl a show bob@example.com
check "$sock_a" "site a still rejects bob, nothing else" 550 continue continue
check "$sock_b" "site b unchanged" continue 550 550
bg_kill "$pid_a"
bg_stop_daemon
bg_finish
