#!/bin/bash
# shellcheck source=test/e2e/lib-learn.sh disable=SC2119
# demo.sh - watch bouncegate learn from a bounce and refuse the next
# message (make demo). Run as root from the source tree after the Quick
# start (make). Everything runs privately on 127.0.0.1 under a temporary
# directory and is stopped and removed at the end: memcached, bouncegate,
# a Postfix instance of its own (the system's Postfix, if any, is not
# touched) and two fake remote mail servers (Postfix's smtp-sink).
#
#   DEMO_KEEP=1    keep the temporary directory (maillog, configs, logs)
#   DEMO_PAUSE=1   wait for Enter between the steps
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
BG_TEST=demo
top=$(cd "$(dirname "$0")/../.." && pwd)
missing=
for f in milter/bouncegate milter/bouncegatectl test/tools/smtpclient test/tools/freeport test/tools/mtclient; do
    [ -x "$top/$f" ] || missing+=" $f"
done
if [ -n "$missing" ]; then
    echo "demo: not built:$missing. Run 'make demo' (or 'make all test/tools/smtpclient test/tools/freeport test/tools/mtclient') first." >&2
    exit 2
fi
if [ "$(id -u)" != 0 ]; then
    echo "demo: run it as root: it starts a private Postfix instance (Postfix's master needs root)." >&2
    exit 2
fi
for f in /usr/sbin/postfix /usr/sbin/smtp-sink; do
    if [ ! -x "$f" ]; then
        echo "demo: $f is missing: apt-get install postfix (see bash conf/run-local.sh)." >&2
        exit 2
    fi
done
command -v memcached > /dev/null || { echo "demo: memcached is missing: apt-get install memcached" >&2; exit 2; }
[ -n "${DEMO_KEEP:-}" ] && export BG_KEEP_TMP=1

. "$top/test/e2e/lib-learn.sh"

step=0
say() { printf '%s\n' "$@"; }
show() { sed 's/^/      /'; }
next_step() {
    step=$((step + 1))
    if [ -n "${DEMO_PAUSE:-}" ] && [ "$step" -gt 1 ]; then
        read -r -p "  (Enter to go on) " _ < /dev/tty
    fi
    echo
    say "Step $step of 5: $*"
    echo
}
oops() {
    say "" "Something went wrong: $*" "The files are kept in $BG_TMP for a look." >&2
    export BG_KEEP_TMP=1
    exit 1
}
# log_lines FILE ERE - the matching lines, without the syslog date and host.
log_lines() { grep -E -e "$2" "$1" | sed -E 's/^[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [^ ]+ //; s/^[0-9TZ:-]+ //' | show; }

echo
say "bouncegate demo: an application sends mail to an address that does not exist." \
    "The remote server refuses it, Postfix returns a bounce, bouncegate learns from" \
    "that bounce, and the next message to the address is refused before it is even" \
    "queued. Nothing leaves this machine: every server runs on 127.0.0.1."

# ------------------------------------------------------------------ 1
next_step "the shared suppression set (memcached) and bouncegate"
bg_tmpdir
bg_start_memcached
ln_start_daemon
say "  memcached ($MC_SERVER) holds the set of suppressed addresses that" \
    "  every mail server of a site shares." \
    "  bouncegate (milter/bouncegate) listens on $BG_SOCK;" \
    "  its config: $LN_CONF" \
    "  its log:    $LN_DLOG"

# ------------------------------------------------------------------ 2
next_step "fake remote mail servers and a private Postfix"
pf_sinks_start
pf_setup "$BG_TMP/pf" "$BG_SOCK"
pf_start
say "  good.test: a server on port $PF_SINK_GOOD that accepts every message." \
    "  bad.test:  a server on port $PF_SINK_BAD that answers every RCPT TO with" \
    "             \"550 5.1.1 User unknown\", as a real server does for a mailbox" \
    "             that does not exist." \
    "  (and two more, full.test and block.test, for the tests)." \
    "  Postfix runs from $PF_CONF;" \
    "  applications submit on port $PF_SUBMISSION_PORT. Its main.cf sends all" \
    "  mail through bouncegate, including the bounces Postfix writes itself:" ""
grep -E '^(smtpd_milters|non_smtpd_milters|internal_mail_filter_classes|milter_default_action) ' \
    "$PF_CONF/main.cf" | show

# ------------------------------------------------------------------ 3
next_step "the application sends a message to bob@bad.test"
ln_send "$PF_SUBMISSION_PORT" demo1 bob@bad.test
q=$LN_QID
say "  The SMTP conversation with Postfix (bob is not suppressed yet, so it is" \
    "  accepted):" ""
grep -E '^(MAIL|RCPT|\.)' "$BG_TMP/demo1.out" | show
[ -n "$q" ] || oops "the message was not queued"
pf_wait_log "$q: to=<bob@bad\.test>,.* status=bounced" > /dev/null || oops "no delivery attempt to bob"
echo
say "  Postfix delivers it to the bad.test server, which refuses bob. Postfix's" \
    "  log ($PF_MAILLOG):" ""
log_lines "$PF_MAILLOG" "$q: to=<bob@bad\.test>"

# ------------------------------------------------------------------ 4
next_step "Postfix's bounce passes through bouncegate, which learns from it"
pf_wait_log "$q: sender non-delivery notification: [0-9A-F]+" > /dev/null || oops "Postfix wrote no bounce"
b=${PF_LINE##*: }
pf_wait_grep "$LN_DLOG" "$q: action=suppress rcpt=<bob@bad\.test> " > /dev/null ||
    oops "bouncegate did not learn from the bounce"
say "  Postfix writes a bounce (a DSN, queue id $b) back to app@site.test." \
    "  bouncegate reads it on its way out (it never stops a bounce) and logs its" \
    "  decision, under the queue id of the message that bounced:" ""
log_lines "$LN_DLOG" "$q: action=suppress rcpt=<bob@bad\.test> "
ln_wait_show "$LN_CONF" bob@bad.test > /dev/null || oops "bob is not in the set"
echo
say "  The shared set now holds bob, with the evidence:" "" \
    "  # milter/bouncegatectl -c $LN_CONF show bob@bad.test"
show < "$BG_TMP/show.out"

# ------------------------------------------------------------------ 5
next_step "the application sends again, to bob@bad.test and alice@good.test"
ln_send "$PF_SUBMISSION_PORT" demo2 bob@bad.test alice@good.test
grep -E '^(MAIL|RCPT|\.)' "$BG_TMP/demo2.out" | show
grep -q '^RCPT TO:<bob@bad\.test> -> 550 5\.1\.1 ' "$BG_TMP/demo2.out" || oops "bob was not refused"
echo
say "  bob is refused at RCPT TO with bouncegate's 550: the message is never" \
    "  queued for him, so the remote server never sees a second attempt (which" \
    "  is what hurts a sender's reputation). alice, in the same message, goes on:" ""
pf_wait_log "$LN_QID: to=<alice@good\.test>,.* status=sent" > /dev/null || oops "alice was not delivered"
log_lines "$PF_MAILLOG" "milter-reject: RCPT from .*to=<bob@bad\.test>|$LN_QID: to=<alice@good\.test>"
echo
say "  bouncegate's own line for the refusal:" ""
log_lines "$LN_DLOG" "action=reject from=<[^>]*> rcpt=<bob@bad\.test>"

echo
say "That is all. Stopping Postfix, bouncegate, the fake servers and memcached;" \
    "$([ -n "${DEMO_KEEP:-}" ] && echo "the files stay in $BG_TMP." || echo "removing $BG_TMP.")" \
    "Next: README.md, \"Wiring it into Postfix\", and docs/learning.md."
pf_stop
pf_stop_daemon || oops "bouncegate did not stop cleanly"
BG_PASSED=1   # lib.sh's cleanup: this run checked what it showed
exit 0
