#!/bin/bash
# 40-logwatch: bouncegate-logwatch learns from the mail log.
#
# The same events are written as Postfix lines and as Sendmail lines, each
# set fed through stdin into its own KeyPrefix, and must give the same
# suppressions:
#   hard bounce 5.1.1                        -> suppressed, class hard, source log
#   one message deferred 5 times (same qid)  -> counted once, not suppressed
#   three messages soft-deferred (452 4.2.2) -> suppressed, class soft
#   two messages soft-deferred               -> not suppressed
#   two soft, a delivery, one more soft      -> not suppressed (reset)
#   550 5.7.1 Spamhaus block (2 recipients)  -> nobody suppressed
#   a last line without its newline          -> still learned
# Then a followed file: lines appended, the file rotated (renamed, a line
# appended to the old one, a new file created) and truncated; every new line
# is learned. Waits poll `bouncegatectl show` in bounded loops.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
LW=${BG_LOGWATCH:-$BG_TOP/milter/bouncegate-logwatch}
[ -x "$LW" ] || bg_fatal "$LW not built (make)"
[ -x "$BG_CTL" ] || bg_fatal "$BG_CTL not built (make)"
bg_start_memcached

mkconf() {   # mkconf NAME PREFIX [MAILLOG]
    cat > "$BG_TMP/$1.conf" <<EOF
Memcached --SERVER=$MC_SERVER
KeyPrefix $2
UserID nobody
LogLevel info
MailLog ${3:-}
EOF
}

# --- fixtures: one event per call, as each MTA logs it
TS="Nov 23 13:37:00 mx1"
pf() {   # pf QID RCPT DSN STATUS TEXT
    printf '%s postfix/smtp[4711]: %s: to=<%s>, relay=mx.example.test[192.0.2.25]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=%s, status=%s (%s)\n' \
        "$TS" "$1" "$2" "$3" "$4" "$5"
}
sm() {   # sm QID RCPTS DSN STAT
    printf '%s sm-mta[815]: %s: to=%s, ctladdr=<app@sender.test> (1000/1000), delay=00:00:02, xdelay=00:00:01, mailer=esmtp, pri=120385, relay=mx.example.test. [192.0.2.25], dsn=%s, stat=%s\n' \
        "$TS" "$1" "$2" "$3" "$4"
}
PF_HARD='host mx.example.test[192.0.2.25] said: 550 5.1.1 <hard@hb.test>: Recipient address rejected: User unknown (in reply to RCPT TO command)'
PF_FULL='host mx.example.test[192.0.2.25] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command)'
PF_SENT='250 2.0.0 Ok: queued as 7F3A1B'
PF_BLOCK='host mx.example.test[192.0.2.25] said: 550 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.7 (in reply to RCPT TO command)'
SM_FULL='Deferred: 452 4.2.2 Mailbox full'
SM_BLOCK='Service unavailable, reply=550 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org'

{
    pf 3F1A2B3C01 hard@hb.test 5.1.1 bounced "$PF_HARD"
    for _ in 1 2 3 4 5; do pf 3F1A2B3C02 sameq@mf1.test 4.2.2 deferred "$PF_FULL"; done
    for q in 3F1A2B3C03 3F1A2B3C04 3F1A2B3C05; do pf $q three@mf2.test 4.2.2 deferred "$PF_FULL"; done
    for q in 3F1A2B3C06 3F1A2B3C07; do pf $q two@mf3.test 4.2.2 deferred "$PF_FULL"; done
    pf 3F1A2B3C08 reset@mf4.test 4.2.2 deferred "$PF_FULL"
    pf 3F1A2B3C09 reset@mf4.test 4.2.2 deferred "$PF_FULL"
    pf 3F1A2B3C0A reset@mf4.test 2.0.0 sent "$PF_SENT"
    pf 3F1A2B3C0B reset@mf4.test 4.2.2 deferred "$PF_FULL"
    pf 3F1A2B3C0C spam1@blk.test 5.7.1 bounced "$PF_BLOCK"
    pf 3F1A2B3C0C spam2@blk.test 5.7.1 bounced "$PF_BLOCK"
    # noise that must change nothing
    echo "$TS postfix/qmgr[99]: 3F1A2B3C0C: from=<app@sender.test>, size=1234, nrcpt=2 (queue active)"
    echo "$TS postfix/smtpd[98]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 550 5.1.1 <noise@hb.test>: Recipient address rejected: User unknown; from=<a@b> to=<noise@hb.test> proto=ESMTP helo=<x>"
    echo "$TS postfix/qmgr[99]: 3F1A2B3C02: from=<app@sender.test>, status=expired, returned to sender"
    # the last line, without its newline and cut inside the reply text
    printf '%s postfix/smtp[4711]: 3F1A2B3C0D: to=<trunc@hb.test>, relay=x, dsn=5.1.1, status=bounced (host x said: 550' "$TS"
} > "$BG_TMP/postfix.log"

{
    sm 4AB1cDEf000001 '<hard@hb.test>' 5.1.1 'User unknown'
    for _ in 1 2 3 4 5; do sm 4AB1cDEf000002 '<sameq@mf1.test>' 4.2.2 "$SM_FULL"; done
    for q in 4AB1cDEf000003 4AB1cDEf000004 4AB1cDEf000005; do sm $q three@mf2.test 4.2.2 "$SM_FULL"; done
    for q in 4AB1cDEf000006 4AB1cDEf000007; do sm $q '<two@mf3.test>' 4.2.2 "$SM_FULL"; done
    sm 4AB1cDEf000008 '<reset@mf4.test>' 4.2.2 "$SM_FULL"
    sm 4AB1cDEf000009 '<reset@mf4.test>' 4.2.2 "$SM_FULL"
    sm 4AB1cDEf00000A '<reset@mf4.test>' 2.0.0 'Sent (Ok: queued as 7F3A1B)'
    sm 4AB1cDEf00000B '<reset@mf4.test>' 4.2.2 "$SM_FULL"
    sm 4AB1cDEf00000C '<spam1@blk.test>,<spam2@blk.test>' 5.7.1 "$SM_BLOCK"
    echo "$TS sm-mta[815]: 4AB1cDEf00000C: from=<app@sender.test>, size=1234, class=0, nrcpts=2, msgid=<x@sender.test>, proto=ESMTP, daemon=MTA, relay=localhost [127.0.0.1]"
    echo "$TS sm-mta[815]: 4AB1cDEf00000C: 4AB1cDEf00000D: DSN: Service unavailable"
    echo "$TS sm-mta[815]: 4AB1cDEf00000E: to=<queued@hb.test>, delay=00:00:00, mailer=esmtp, pri=30000, stat=queued"
    sm 4AB1cDEf00000F '<trunc@hb.test>' 5.1.1 'User unknown' | tr -d '\n'
} > "$BG_TMP/sendmail.log"

# show CONF ADDR -> exit status of bouncegatectl show; output in $BG_TMP/show.out
show() {
    "$BG_CTL" -c "$1" show "$2" > "$BG_TMP/show.out" 2>&1
}

expect_suppressed() {   # CONF ADDR CLASS WHAT
    if show "$1" "$2"; then
        if grep -Eq "^class +$3\$" "$BG_TMP/show.out" && grep -Eq '^source +log$' "$BG_TMP/show.out"; then
            bg_pass "$4: $2 suppressed, class $3, source log"
        else
            bg_fail "$4: $2 suppressed but not class $3/source log: $(tr '\n' ' ' < "$BG_TMP/show.out")"
        fi
    else
        bg_fail "$4: $2 not suppressed: $(tr '\n' ' ' < "$BG_TMP/show.out")"
    fi
}

expect_not_suppressed() {   # CONF ADDR WHAT
    show "$1" "$2"
    bg_assert_eq 1 $? "$3: $2 not suppressed"
}

# --- -n
mkconf pf pf: "$BG_TMP/postfix.log"
bg_assert_rc 0 "-n accepts a good config" "$LW" -n -c "$BG_TMP/pf.conf"
bg_assert_grep 'configuration OK' "$BG_TMP/last.out" "-n says so"
printf 'Memcached --SERVER=%s\nUserID nobody\nSoftThreshold many\n' "$MC_SERVER" > "$BG_TMP/bad.conf"
bg_assert_rc 1 "-n rejects a bad config" "$LW" -n -c "$BG_TMP/bad.conf"
printf 'Memcached --SERVER=%s\nUserID nobody\n' "$MC_SERVER" > "$BG_TMP/nolog.conf"
bg_assert_rc 1 "no MailLog and no LOGFILE is an error" "$LW" -n -c "$BG_TMP/nolog.conf"

# --- the same events from both MTAs, through stdin (exits at the end)
mkconf sm sm:
for mta in postfix sendmail; do
    case $mta in postfix) conf=$BG_TMP/pf.conf ;; sendmail) conf=$BG_TMP/sm.conf ;; esac
    bg_assert_rc 0 "$mta: logwatch reads stdin to its end and exits 0" \
        "$LW" -f -c "$conf" - < "$BG_TMP/$mta.log"
    cp "$BG_TMP/last.err" "$BG_TMP/$mta-stdin.log"
    expect_suppressed "$conf" hard@hb.test hard "$mta hard bounce"
    expect_not_suppressed "$conf" sameq@mf1.test "$mta one message deferred 5 times"
    n=$(grep -c 'action=count rcpt=<sameq@mf1.test>' "$BG_TMP/$mta-stdin.log")
    bg_assert_eq 1 "$n" "$mta: ... counted once"
    n=$(grep -c 'action=duplicate rcpt=<sameq@mf1.test>' "$BG_TMP/$mta-stdin.log")
    bg_assert_eq 4 "$n" "$mta: ... the 4 repeats are duplicates"
    expect_suppressed "$conf" three@mf2.test soft "$mta three soft-deferred messages"
    expect_not_suppressed "$conf" two@mf3.test "$mta two soft-deferred messages"
    expect_not_suppressed "$conf" reset@mf4.test "$mta soft, soft, sent, soft"
    bg_assert_grep 'action=reset rcpt=<reset@mf4.test>' "$BG_TMP/$mta-stdin.log" \
        "$mta: the delivery reset the soft count"
    bg_assert_grep 'action=count rcpt=<reset@mf4.test> .* count=1$' "$BG_TMP/$mta-stdin.log" \
        "$mta: ... and counting started again at 1"
    expect_not_suppressed "$conf" spam1@blk.test "$mta Spamhaus block"
    expect_not_suppressed "$conf" spam2@blk.test "$mta Spamhaus block"
    bg_assert_grep 'rcpt=<spam1@blk.test> class=block' "$BG_TMP/$mta-stdin.log" \
        "$mta: the block was classified as block"
    expect_not_suppressed "$conf" noise@hb.test "$mta smtpd reject line is not a delivery"
    expect_not_suppressed "$conf" queued@hb.test "$mta stat=queued is not a delivery"
    expect_suppressed "$conf" trunc@hb.test hard "$mta last line without a newline"
    bg_assert_grep 'action=stop reason=end-of-input' "$BG_TMP/$mta-stdin.log" "$mta: clean stop at EOF"
done
# Both MTAs' logs learned the same thing.
for f in pf sm; do
    grep -oE 'action=[a-z]+ rcpt=<[^>]*> class=[a-z]+ reason=[a-z]+' \
        "$BG_TMP/$([ $f = pf ] && echo postfix || echo sendmail)-stdin.log" |
        grep -v 'class=none' > "$BG_TMP/$f.decisions"
done
if diff -u "$BG_TMP/pf.decisions" "$BG_TMP/sm.decisions" > "$BG_TMP/decisions.diff"; then
    bg_pass "Postfix and Sendmail logs give the same decisions ($(wc -l < "$BG_TMP/pf.decisions") lines)"
else
    sed 's/^/    /' "$BG_TMP/decisions.diff"
    bg_fail "Postfix and Sendmail logs give different decisions"
fi

# --- following a file across rotation and truncation
LOG=$BG_TMP/mail.log
mkconf fw fw: "$LOG"
pf 5A0000000001 before@rot.test 5.1.1 bounced "$PF_HARD" > "$LOG"   # before the start: skipped
"$LW" -f -c "$BG_TMP/fw.conf" > "$BG_TMP/follow.log" 2>&1 < /dev/null &
LWPID=$!
bg_track "$LWPID"

wait_for() {   # wait_for WHAT COMMAND... - bounded poll until COMMAND succeeds
    local what=$1 end
    shift
    bg__now
    end=$((BG__MS + BG_TIMEOUT * 1000))
    until "$@"; do
        bg__now
        if [ "$BG__MS" -ge "$end" ] || ! kill -0 "$LWPID" 2>/dev/null; then
            bg_fail "$what (not within ${BG_TIMEOUT}s)"
            return 1
        fi
        sleep 0.05
    done
    bg_pass "$what"
}
# shellcheck disable=SC2317  # called through wait_for
opened() { [ "$(grep -c 'action=open ' "$BG_TMP/follow.log")" -ge "$1" ]; }
# shellcheck disable=SC2317  # called through wait_for
sup() { show "$BG_TMP/fw.conf" "$1"; }

wait_for "follow: logwatch opened the file" opened 1
bg_assert_grep "action=open file=$LOG inode=[0-9]+ position=[1-9]" "$BG_TMP/follow.log" \
    "follow: started at the end of the file"
pf 5A0000000002 first@rot.test 5.1.1 bounced "$PF_HARD" >> "$LOG"
wait_for "follow: an appended line is learned" sup first@rot.test
expect_not_suppressed "$BG_TMP/fw.conf" before@rot.test "follow: a line older than the start"
sm 4AB1cDEf100003 '<sm1@rot.test>,<sm2@rot.test>' 5.1.1 'User unknown' >> "$LOG"
wait_for "follow: an appended Sendmail line is learned" sup sm2@rot.test

# Rotation: rename, one more line to the old file, then a new file.
mv "$LOG" "$LOG.1"
pf 5A0000000004 late@rot.test 5.1.1 bounced "$PF_HARD" >> "$LOG.1"
wait_for "follow: a line written to the renamed file is learned" sup late@rot.test
pf 5A0000000005 new1@rot.test 5.1.1 bounced "$PF_HARD" > "$LOG"
pf 5A0000000006 new2@rot.test 5.1.1 bounced "$PF_HARD" >> "$LOG"
wait_for "follow: the new file is read from its start" sup new1@rot.test
wait_for "follow: ... and its next line" sup new2@rot.test
bg_assert_grep 'action=reopen reason=rotated' "$BG_TMP/follow.log" "follow: rotation logged"
# A partial line is kept until its end arrives.
pf 5A0000000007 split@rot.test 5.1.1 bounced "$PF_HARD" > "$BG_TMP/split.line"
head -c 60 "$BG_TMP/split.line" >> "$LOG"
tail -c +61 "$BG_TMP/split.line" >> "$LOG"
wait_for "follow: a line written in two pieces is learned" sup split@rot.test

# Truncation (copytruncate): the file shrinks, new lines follow.
: > "$LOG"
pf 5A000008 tr@rot.test 5.1.1 bounced "$PF_HARD" >> "$LOG"
wait_for "follow: after truncation the new line is learned" sup tr@rot.test
bg_assert_grep 'action=reopen reason=truncated' "$BG_TMP/follow.log" "follow: truncation logged"

# Clean stop on SIGTERM.
kill -TERM "$LWPID"
if bg__wait_gone "$LWPID" "$BG_TIMEOUT"; then
    wait "$LWPID"
    bg_assert_eq 0 $? "follow: exit status 0 after SIGTERM"
else
    bg_fail "follow: still running ${BG_TIMEOUT}s after SIGTERM"
fi
bg_untrack "$LWPID"
bg_assert_grep 'action=stop reason=signal' "$BG_TMP/follow.log" "follow: stop logged"
bg_assert_not_grep 'store_errors=[1-9]' "$BG_TMP/follow.log" "follow: no store errors"

bg_finish
