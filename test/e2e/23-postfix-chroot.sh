#!/bin/bash
# shellcheck source=test/e2e/lib-learn.sh disable=SC2119
# 23-postfix-chroot: bouncegate with a Postfix shaped like Debian's stock
# one: master.cf.dist's chroot column untouched (smtpd, cleanup, bounce...
# chrooted in the queue directory), plus exactly the README's lines
# (conf/postfix-master.cf merged into master.cf, conf/postfix-main.cf
# appended to main.cf: lib-postfix.sh's PF_STOCK=1): the milter
# socket under the queue directory (Socket
# unix:QUEUE/bouncegate/bouncegate.sock), named relative to it in main.cf
# (unix:bouncegate/bouncegate.sock) so chrooted and unchrooted processes
# reach it alike; the daemon makes that directory for its user, whose group
# Postfix is in (here UserID nobody:postfix). A suppressed recipient is
# refused at RCPT TO, and a real bounce is learned from Postfix's DSN.
. "$(dirname "$0")/lib-learn.sh"
bg_tmpdir
chmod 755 "$BG_TMP"
bg_start_memcached
PF_STOCK=1
export PF_STOCK
pf_sinks_start
pf_setup "$BG_TMP/pf" "unix:bouncegate/bouncegate.sock" maximal_queue_lifetime=0 bounce_queue_lifetime=0
grep -Eq "^127\.0\.0\.1:$PF_SUBMISSION_PORT +inet +n +- +y " "$PF_CONF/master.cf" &&
    grep -Eq '^cleanup +unix +n +- +y ' "$PF_CONF/master.cf" &&
    bg_pass "master.cf keeps Debian's chroot column (smtpd, cleanup chrooted)" ||
    bg_fail "master.cf has no chrooted smtpd or cleanup"
# The README shows each line of the snippets it tells a user to add
# (spacing aside).
squeeze() { grep -v -e '^#' -e '^$' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]\+/ /g'; }
sed 's/^[[:space:]]*//; s/[[:space:]]\+/ /g' "$BG_TOP/README.md" > "$BG_TMP/readme.sq"
for f in postfix-master.cf postfix-main.cf; do
    missing=$(squeeze "$BG_TOP/conf/$f" | while IFS= read -r l; do
        [ "${l#\#}" != "$l" ] || grep -qxF -e "$l" "$BG_TMP/readme.sq" || echo "$l"
    done)
    bg_assert_eq "" "$missing" "every line of conf/$f is in the README"
done
LN_CONF=$BG_TMP/bg.conf
LN_DLOG=$BG_TMP/daemon.log
ln_write_conf "$LN_CONF" e2e: "Socket unix:$PF_DIR/queue/bouncegate/bouncegate.sock
UserID nobody:postfix"
sed -i '0,/^Socket inet:/{/^Socket inet:/d}; 0,/^UserID nobody$/{/^UserID nobody$/d}' "$LN_CONF"
bg_start_daemon "$LN_CONF"
bg_assert_eq "nobody:postfix 750" "$(stat -c '%U:%G %a' "$PF_DIR/queue/bouncegate")" \
    "the daemon made the socket's directory for its user and Postfix's group"
pf_start
bg_pass "Postfix up (chrooted), milter $PF_MILTER"

"$BG_CTL" -c "$LN_CONF" add bob@bad.test --class hard --reason userunknown --status 5.1.1 > /dev/null
ln_send "$PF_SUBMISSION_PORT" c1 bob@bad.test alice@good.test
bg_assert_grep '^RCPT TO:<bob@bad\.test> -> 550 5\.1\.1 <bob@bad\.test>: recipient suppressed' "$BG_TMP/c1.out" \
    "the chrooted smtpd reaches the milter: bob refused at RCPT TO"
bg_assert_grep '^RCPT TO:<alice@good\.test> -> 250 ' "$BG_TMP/c1.out" "... alice accepted"
bg_assert_not_grep 'warning: connect to Milter service' "$PF_MAILLOG" "no milter connection warning in the maillog"

ln_send "$PF_SUBMISSION_PORT" c2 carl@bad.test
q=$LN_QID
pf_wait_log "$q: sender non-delivery notification: [0-9A-F]+" > /dev/null
pf_wait_grep "$LN_DLOG" "$q: action=suppress rcpt=<carl@bad\.test> class=hard .* source=postfix-dsn" &&
    bg_pass "the chrooted bouncegate-cleanup reaches the milter: carl's bounce learned"
pf_stop
pf_stop_daemon && bg_pass "daemon stopped cleanly"
pf_finish
