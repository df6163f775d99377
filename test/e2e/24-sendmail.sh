#!/bin/bash
# shellcheck source=test/e2e/lib-sendmail.sh disable=SC2119
# 24-sendmail: bouncegate wired into a real Sendmail (Debian's sm-mta
# 8.17) as the README's "Wiring it into Sendmail" says: Debian's stock
# daemons MTA-v4 (inbound) and MSP-v4 (outbound), the README's
# INPUT_MAIL_FILTER line, OutboundDaemons MSP-v4 in bouncegate.conf, and
# bouncegate-logwatch following Sendmail's mail log (Sendmail's own DSNs
# never pass through a milter).
#
# 1. A suppressed recipient is refused at RCPT TO on MSP-v4 with 550, in a
#    reply that names the address once (Sendmail puts "<addr>... " in
#    front itself); the other recipient is accepted and delivered. The
#    daemon's log line carries Sendmail's queue id (Sendmail has one at
#    RCPT), not NOQUEUE.
# 2. The same recipient from outside, on MTA-v4, is accepted (inbound mail
#    is not checked).
# 3. A recipient the remote server refuses (550 5.1.1 at RCPT) is learned
#    by bouncegate-logwatch from Sendmail's delivery line: class hard,
#    source log, the remote server's own reply as evidence (not Sendmail's
#    "stat=User unknown"); the next message to it is refused at RCPT.
# 4. F= (empty): with bouncegate stopped, Sendmail lets mail through.
#
# The test clients all connect from 127.0.0.1, so OutboundNetworks (whose
# default, 127.0.0.0/8, makes locally submitted mail outbound) is set to a
# network no client is in; otherwise only the daemon name decides.
. "$(dirname "$0")/lib-sendmail.sh"
sm_private_syslog "$@"
bg_start_memcached

run=/run/bouncegate
mkdir -p "$run" && chown nobody "$run" && chmod 0750 "$run" || bg_fatal "cannot create $run"
conf=$BG_TMP/bg.conf
cat > "$conf" <<CONF
Socket unix:$run/bouncegate.sock
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix e2e:
UserID nobody
LogLevel info
OutboundDaemons MSP-v4
OutboundNetworks 192.0.2.0/24
MailLog $SM_MAILLOG
CONF
chmod 644 "$conf"
bg_start_daemon "$conf"
dlog=$BG_TMP/daemon.log

pf_sinks_start
pf_route good.test good
pf_route site.test good
pf_route bad.test bad
sm_setup /run/sendmail-e2e "$run/bouncegate.sock"
if grep -qxF "    $SM_FILTER_LINE" "$BG_TOP/README.md"; then
    bg_pass "the INPUT_MAIL_FILTER line is the README's, word for word"
else
    bg_fail "the README does not show conf/sendmail.mc's line: $SM_FILTER_LINE"
fi
sm_start
bg_pass "Sendmail $("$SM_BIN" -d0.1 -bt < /dev/null 2> /dev/null | sed -n 's/^Version //p' | head -n 1) up: MTA-v4 on $SM_MTA_PORT, MSP-v4 on $SM_MSP_PORT, milter bouncegate"
ln_start_logwatch lw "$conf"
lwlog=$BG_TMP/lw.log

# ------------------------------------------------- 1. refused at RCPT
"$BG_CTL" -c "$conf" add bob@bad.test --class hard --reason userunknown --status 5.1.1 > /dev/null ||
    bg_fatal "bouncegatectl add bob@bad.test failed"
ln_send "$SM_MSP_PORT" m1 bob@bad.test alice@good.test
bg_assert_grep '^RCPT TO:<bob@bad\.test> -> 550 5\.1\.1 <bob@bad\.test>\.\.\. recipient suppressed after hard bounce on [0-9-]+ \(userunknown\)$' \
    "$BG_TMP/m1.out" "MSP-v4: bob refused at RCPT TO with 550, the address named once"
bg_assert_grep '^RCPT TO:<alice@good\.test> -> 250 ' "$BG_TMP/m1.out" "MSP-v4: ... alice accepted"
q=$(sed -n 's/^\. -> 250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted for delivery$/\1/p' "$BG_TMP/m1.out")
bg_assert_match '^[0-9A-Za-z]{14}$' "$q" "MSP-v4: the message queued ($q)"
pf_wait_grep "$dlog" "bouncegate\[[a-z]+\]: $q: sid=[0-9A-F]+ action=reject from=<[^>]*> rcpt=<bob@bad\.test> class=hard reason=userunknown since=[0-9-]+ scope=recipient status=5\.1\.1\$" &&
    bg_pass "bouncegate logged the refusal under Sendmail's queue id"
pf_wait_log "sm-mta\[[0-9]+\]: $q: Milter: to=<bob@bad\.test>, reject=550 5\.1\.1 recipient suppressed after hard bounce on [0-9-]+ \(userunknown\)\$" &&
    bg_pass "Sendmail logged the milter's reject"
pf_wait_log "sm-mta\[[0-9]+\]: $q: to=<alice@good\.test>, .*stat=Sent" && bg_pass "alice delivered (stat=Sent)"

# ------------------------------------------------- 2. inbound: not checked
ln_send "$SM_MTA_PORT" m2 bob@bad.test
bg_assert_grep '^RCPT TO:<bob@bad\.test> -> 250 ' "$BG_TMP/m2.out" "MTA-v4 (inbound): bob accepted"
grep -v ": $q: " "$dlog" > "$BG_TMP/daemon-after-m1.log"
bg_assert_not_grep "action=reject from=<[^>]*> rcpt=<bob@bad\.test>" "$BG_TMP/daemon-after-m1.log" \
    "MTA-v4 (inbound): no reject logged"

# ------------------------------------------------- 3. learned from the log
ln_send "$SM_MSP_PORT" m3 carl@bad.test
q=$(sed -n 's/^\. -> 250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted for delivery$/\1/p' "$BG_TMP/m3.out")
bg_assert_match '^[0-9A-Za-z]{14}$' "$q" "MSP-v4: carl's message queued ($q)"
pf_wait_log "sm-mta\[[0-9]+\]: $q: to=<carl@bad\.test>, .*dsn=5\.1\.1, .*stat=User unknown" &&
    bg_pass "the bad.test server refused carl with 550 5.1.1 (Sendmail's log)"
pf_wait_grep "$lwlog" "bouncegate-logwatch\[[a-z]+\]: $q: action=suppress rcpt=<carl@bad\.test> class=hard reason=userunknown status=5\.1\.1 rule=[^ ]+ source=log expires=never\$" &&
    bg_pass "bouncegate-logwatch learned it from Sendmail's delivery line"
ln_wait_show "$conf" carl@bad.test && ln_expect_entry "$conf" carl@bad.test hard log "learned"
bg_assert_eq "$q" "$(ln_field id)" "learned: evidence: Sendmail's queue id"
bg_assert_match '^550 5\.1\.1 .*User unknown' "$(ln_field diag)" \
    "learned: evidence: the remote server's reply, not Sendmail's stat="
ln_send "$SM_MSP_PORT" m4 carl@bad.test alice@good.test
bg_assert_grep '^RCPT TO:<carl@bad\.test> -> 550 5\.1\.1 <carl@bad\.test>\.\.\. recipient suppressed after hard bounce on [0-9-]+ \(userunknown\)$' \
    "$BG_TMP/m4.out" "next message: carl refused at RCPT TO"
bg_assert_grep '^RCPT TO:<alice@good\.test> -> 250 ' "$BG_TMP/m4.out" "next message: ... alice accepted"

# ------------------------------------------------- 4. F=: fail open
bg_stop_daemon && bg_pass "bouncegate stopped"
ln_send "$SM_MSP_PORT" m5 carl@bad.test
bg_assert_grep '^RCPT TO:<carl@bad\.test> -> 250 ' "$BG_TMP/m5.out" \
    "bouncegate stopped: Sendmail (F=) accepts carl"
bg_assert_grep '^\. -> 250 ' "$BG_TMP/m5.out" "bouncegate stopped: ... and queues the message"

sm_stop
pf_finish
