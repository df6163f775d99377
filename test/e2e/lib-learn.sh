# shellcheck shell=bash disable=SC2034  # LN_* are for the tests
# test/e2e/lib-learn.sh - the learning set-up shared by the 2x-postfix-learn
# tests and demo.sh: memcached, bouncegate with a signing key and report
# mailboxes, fake remote servers, a private Postfix whose bounces pass the
# milter, bouncegate-logwatch on its maillog. Builds on lib-postfix.sh.
#
#   ln_key                 writes $BG_TMP/key (SigningKeyFile, mode 0640,
#                          owned by the daemon's user)
#   ln_write_conf FILE PREFIX [EXTRA-LINES]
#                          a bouncegate.conf: memcached, KeyPrefix PREFIX,
#                          OutboundDaemons submission (the outbound smtpd),
#                          OutboundNetworks 192.0.2.0/24 (so the plain
#                          smtp service, clients on 127.0.0.1, is the
#                          inbound MX), SigningKeyFile, ReportRecipients
#                          bounces@site.test fbl@site.test, MailLog (the
#                          instance's maillog, known after pf_setup)
#   ln_start_daemon        ln_write_conf $BG_TMP/bg.conf e2e: + bg_start_daemon;
#                          LN_CONF is that file, LN_DLOG the daemon's log
#   ln_start_logwatch NAME CONF
#                          bouncegate-logwatch -f -c CONF following the
#                          maillog (from its end), output in
#                          $BG_TMP/NAME.log; returns once it has opened
#                          the file. Stopped on exit.
#   ln_send PORT ID RCPT...
#                          one message over SMTP from app@site.test with
#                          Message-ID <ID@site.test>; replies in
#                          $BG_TMP/ID.out, LN_QID = its queue id ("" when
#                          nothing was queued)
#   ln_sendmail ID RCPT... the same through sendmail(1); LN_QID
#   ln_show CONF ADDR      bouncegatectl -c CONF show ADDR; output in
#                          $BG_TMP/show.out, its exit status
#   ln_field NAME          a field (class, source, count...) of show.out
#   ln_wait_show CONF ADDR [TIMEOUT]
#                          polls ln_show until ADDR is suppressed; a FAIL
#                          line and status 1 after TIMEOUT (PF_TIMEOUT)
#   ln_expect_entry CONF ADDR CLASS SOURCE WHAT
#                          PASS when ADDR is suppressed with that class and
#                          source (SOURCE an ERE), else FAIL with the entry
#   ln_expect_none CONF ADDR WHAT
#                          PASS when ADDR is not suppressed
#   ln_tag ID              the X-Bouncegate-Tag header value of the message
#                          <ID@site.test> as the good.test server received
#                          it (from the smtp-sink dump)

if ! declare -F pf_setup > /dev/null; then
    # shellcheck source=test/e2e/lib-postfix.sh
    . "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib-postfix.sh"
fi

BG_LOGWATCH=${BG_LOGWATCH:-$BG_TOP/milter/bouncegate-logwatch}
LN_CONF='' LN_DLOG='' LN_QID='' LN_MPORT=''

ln_key() {
    bg_tmpdir
    if ! { echo "e2e-signing-key-$RANDOM$RANDOM-0123456789" > "$BG_TMP/key" &&
           chmod 640 "$BG_TMP/key" && chown nobody "$BG_TMP/key"; }; then
        bg_fatal "cannot write the signing key"
    fi
}

ln_write_conf() {
    local file=$1 prefix=$2
    [ -f "$BG_TMP/key" ] || ln_key
    [ -n "$LN_MPORT" ] || LN_MPORT=$(bg_free_port) || bg_fatal "no free port for the milter"
    cat > "$file" <<CONF
Socket inet:$LN_MPORT@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix $prefix
UserID nobody
LogLevel info
# outbound: the "submission" smtpd (and sendmail(1)); the plain smtp
# service, whose clients connect from 127.0.0.1, is the inbound MX
OutboundDaemons submission
OutboundNetworks 192.0.2.0/24
OutboundAuthenticated no
SigningKeyFile $BG_TMP/key
ReportRecipients bounces@site.test fbl@site.test
MailLog ${PF_MAILLOG:-/nonexistent}
${3:-}
CONF
    chmod 644 "$file"
}

ln_start_daemon() {
    LN_CONF=$BG_TMP/bg.conf
    LN_DLOG=$BG_TMP/daemon.log
    ln_write_conf "$LN_CONF" e2e: "${1:-}"
    bg_start_daemon "$LN_CONF"
}

ln_start_logwatch() {
    local name=$1 conf=$2 pid
    [ -x "$BG_LOGWATCH" ] || bg_fatal "$BG_LOGWATCH not built (make)"
    [ -n "$PF_MAILLOG" ] || bg_fatal "ln_start_logwatch: pf_setup first"
    # The config names the maillog (MailLog); rewrite it now that it is known.
    sed -i "s|^MailLog .*|MailLog $PF_MAILLOG|" "$conf"
    "$BG_LOGWATCH" -f -c "$conf" > "$BG_TMP/$name.log" 2>&1 < /dev/null &
    pid=$!
    bg_track "$pid"
    pf_wait_grep "$BG_TMP/$name.log" "action=open file=$PF_MAILLOG " "$BG_TIMEOUT" ||
        bg_fatal "bouncegate-logwatch ($name) did not open $PF_MAILLOG"
}

# ln__script ID RCPT... - the SMTP script of one message.
ln__script() {
    local id=$1 r
    shift
    echo "EHLO client.site.test"
    echo "MAIL FROM:<app@site.test>"
    for r in "$@"; do echo "RCPT TO:<$r>"; done
    printf 'DATA\nFrom: app@site.test\nTo: %s\nSubject: e2e %s\nMessage-ID: <%s@site.test>\n\nhello\n.\nQUIT\n' \
        "$1" "$id" "$id"
}

ln_send() {
    local port=$1 id=$2
    shift 2
    ln__script "$id" "$@" | pf_smtp "$port" > "$BG_TMP/$id.out" 2> "$BG_TMP/$id.err" ||
        bg_fatal "smtpclient failed for $id: $(head -n 3 "$BG_TMP/$id.err")"
    LN_QID=$(sed -n 's/^\. -> 250 .*queued as \([0-9A-F][0-9A-F]*\)$/\1/p' "$BG_TMP/$id.out")
}

ln_sendmail() {
    local id=$1
    shift
    printf 'From: app@site.test\nTo: %s\nSubject: e2e %s\nMessage-ID: <%s@site.test>\n\nhello\n' \
        "$1" "$id" "$id" | pf_sendmail -f app@site.test "$@" ||
        bg_fatal "sendmail(1) failed for $id"
    LN_QID=$(pf_qid_for_msgid "$id@site.test") || bg_fatal "message $id never reached cleanup"
}

ln_show() {
    "$BG_CTL" -c "$1" show "$2" > "$BG_TMP/show.out" 2>&1
}

ln_field() {
    awk -v f="$1" '$1 == f { sub(/^[^ ]+ +/, ""); print; exit }' "$BG_TMP/show.out"
}

ln_wait_show() {
    local conf=$1 addr=$2 timeout=${3:-$PF_TIMEOUT} end
    bg__now
    end=$((BG__MS + timeout * 1000))
    until ln_show "$conf" "$addr"; do
        bg__now
        if [ "$BG__MS" -ge "$end" ]; then
            bg_fail "$addr not suppressed after ${timeout}s: $(tr '\n' ' ' < "$BG_TMP/show.out")"
            return 1
        fi
        sleep 0.1
    done
}

ln_expect_entry() {
    local conf=$1 addr=$2 cls=$3 src=$4 what=$5
    if ! ln_show "$conf" "$addr"; then
        bg_fail "$what: $addr not suppressed: $(tr '\n' ' ' < "$BG_TMP/show.out")"
    elif [ "$(ln_field class)" = "$cls" ] && [[ $(ln_field source) =~ ^($src)$ ]]; then
        bg_pass "$what: $addr suppressed, class $cls, source $(ln_field source)"
    else
        bg_fail "$what: $addr suppressed, but not class $cls / source $src: $(tr '\n' ' ' < "$BG_TMP/show.out")"
    fi
}

ln_expect_none() {
    ln_show "$1" "$2"
    bg_assert_eq 1 $? "$3: $2 not suppressed"
}

ln_tag() {
    awk -v id="<$1@site.test>" '
        function done() { if (found && tag != "" && !printed) { print tag; printed = 1; exit } }
        /^X-Client-Addr:/ { done(); tag = ""; found = 0; hdr = 1; cont = 0; next }
        hdr && /^$/ { hdr = 0; next }
        !hdr { next }
        cont && /^[ \t]/ { t = $0; sub(/^[ \t]+/, " ", t); tag = tag t; next }
        { cont = 0 }
        tolower($0) ~ /^x-bouncegate-tag:/ { tag = $0; sub(/^[^:]*:[ \t]*/, "", tag); cont = 1; next }
        tolower($0) ~ /^message-id:/ && index($0, id) { found = 1 }
        END { done() }' "$PF_SINK_DIR/good.dump"
}
