#!/bin/bash
# Real bounces from a real OpenSMTPD (Debian's opensmtpd 6.8; issue 17):
# the cases of cases/real-bounces.tsv, as 26-real-bounces-postfix.sh does
# for Postfix. Its package conflicts with Postfix, so .ci/install-deps
# unpacks it into OS_ROOT and makes what its postinst would (two users,
# /var/lib/opensmtpd/empty, /var/spool/smtpd). Its spool and control
# socket paths are built in: the test runs in a private mount namespace
# with a temporary directory over /var/spool/smtpd and an empty /run.
#
# OpenSMTPD takes every port of one address for one destination and
# pauses all of them after one refuses, so each fake server listens on a
# loopback address of its own (RB_SPREAD). A message that fails
# temporarily expires after "queue ttl" (3 s); OpenSMTPD's first retry
# would only come after about a minute, so the test asks for one
# ("smtpctl schedule all") until every bounce is back. No milter.
if [ -z "${OS__IN_NS:-}" ]; then
    command -v unshare > /dev/null || { echo "FAIL: 29-real-bounces-opensmtpd: unshare(1) not found"; exit 1; }
    OS__IN_NS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi
. "$(dirname "$0")/lib-postfix.sh"
. "$(dirname "$0")/lib-bounces.sh"
OS_ROOT=${OS_ROOT:-/opt/bouncegate-ci/opensmtpd}
OS_BIN=$OS_ROOT/usr/sbin/smtpd
OS_CTL=$OS_ROOT/usr/sbin/smtpctl
bg_tmpdir
[ -x "$OS_BIN" ] || bg_fatal "no OpenSMTPD at $OS_BIN: run .ci/install-deps (it unpacks Debian's opensmtpd there)"
for u in opensmtpd opensmtpq; do
    getent passwd "$u" > /dev/null || bg_fatal "no user $u (.ci/install-deps creates it)"
done
[ -d /var/spool/smtpd ] && [ -d /var/lib/opensmtpd/empty ] ||
    bg_fatal "no /var/spool/smtpd or /var/lib/opensmtpd/empty (.ci/install-deps makes them)"
mkdir -p "$BG_TMP/spool" && chmod 711 "$BG_TMP/spool" &&
    mount --bind "$BG_TMP/spool" /var/spool/smtpd || bg_fatal "cannot mount a private /var/spool/smtpd"
mount -t tmpfs -o mode=0755 bgrun /run || bg_fatal "cannot mount a private /run"
RB_SPREAD=1 rb_servers

port=$(bg_free_port) || bg_fatal "no free port for OpenSMTPD"
conf=$BG_TMP/smtpd.conf
{
    echo "queue ttl 3s"
    echo "listen on 127.0.0.1 port $port"
    for d in $(printf '%s\n' "${!PF__ROUTES[@]}" | sort); do
        s=${PF__ROUTES[$d]}
        echo "action \"$s\" relay host smtp://${PF_SINK_ADDR[$s]}:${PF_SINK_PORT[$s]}"
        echo "match from any for domain \"$d\" action \"$s\""
    done
} > "$conf"
"$OS_BIN" -n -f "$conf" > "$BG_TMP/smtpd-n.out" 2>&1 || {
    sed 's/^/    /' "$BG_TMP/smtpd-n.out"
    bg_fatal "OpenSMTPD does not accept the configuration"
}
"$OS_BIN" -d -f "$conf" > "$BG_TMP/smtpd.log" 2>&1 < /dev/null &
bg_track $!
bg__now; end=$((BG__MS + BG_TIMEOUT * 1000))
until "$PF_SMTPCLIENT" -t 2 127.0.0.1 "$port" < /dev/null 2> /dev/null | grep -q '^greeting -> 220'; do
    bg__now
    if [ "$BG__MS" -ge "$end" ]; then
        tail -n 20 "$BG_TMP/smtpd.log" | sed 's/^/    /'
        bg_fatal "OpenSMTPD did not greet on port $port"
    fi
    sleep 0.1
done
bg_pass "$(sed -n 's/^info: \(OpenSMTPD [^ ]*\) starting$/\1/p' "$BG_TMP/smtpd.log") up on port $port"
rb_send "$port" opensmtpd
# the temporary failures: past their queue ttl, retried at once on request
bg__now; end=$((BG__MS + 100 * 1000))
while [ "$(rb_count)" -lt "${#RB_CASES[@]}" ] && [ "$BG__MS" -lt "$end" ]; do
    "$OS_CTL" schedule all > /dev/null 2>&1
    sleep 1
    bg__now
done
rb_wait "${#RB_CASES[@]}"
rb_check opensmtpd
pf_finish
