#!/bin/bash
# 30-debian-package: the Debian package as a postmaster gets it. A copy of
# the tree is built with dpkg-buildpackage -us -uc -b (its unit tests run
# inside, with stretched deadlines), lintian --pedantic finds no error or
# warning, the package installs with dpkg -i, both systemd units pass
# systemd-analyze verify, the installed /etc/bouncegate.conf passes
# bouncegate -n, the daemon started as the unit starts it (user bouncegate,
# -F: syslog only) makes its socket inside Postfix's queue directory where
# the postfix user can connect, Postfix installed afterwards is wired in
# by the package's dpkg trigger, and purge leaves nothing behind. Needs
# root (dpkg), and debhelper, lintian and fakeroot (.ci/install-deps).
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
[ "$(id -u)" = 0 ] || bg_fatal "needs root (dpkg -i)"
for t in dpkg-buildpackage lintian fakeroot dh systemd-analyze setpriv; do
    command -v "$t" > /dev/null || bg_fatal "$t is missing (sh .ci/install-deps)"
done
if dpkg-query -W -f '${Status}' bouncegate 2>/dev/null | grep -q installed; then
    bg_fatal "a bouncegate package is installed here already: this test would replace it"
fi
cleanup_pkg() {
    dpkg --purge bouncegate > /dev/null 2>&1 || true
}
trap 'cleanup_pkg; bg_cleanup' EXIT

src=$BG_TMP/src/bouncegate
mkdir -p "$src"
# The working tree as it is (what would be committed), without build output.
(cd "$BG_TOP" && tar cf - --exclude=.git --exclude='*.o' --exclude='*.a' --exclude=test/fuzz/bin \
    --exclude=.run --exclude='debian/bouncegate' --exclude='debian/.debhelper' . | tar xf - -C "$src") ||
    bg_fatal "cannot copy the tree"
(cd "$src" && make -s clean) > /dev/null 2>&1
# Built as a user would, not with the flags of the make that runs this test
# (check-asan's CC, SAN...).
(cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u CC -u SAN -u OPT \
    dpkg-buildpackage -us -uc -b) > "$BG_TMP/build.log" 2>&1
rc=$?
deb=$(ls "$BG_TMP"/src/bouncegate_*_*.deb 2>/dev/null | head -n 1)
if [ "$rc" = 0 ] && [ -n "$deb" ]; then
    bg_pass "dpkg-buildpackage -us -uc -b builds $(basename "$deb")"
else
    tail -n 30 "$BG_TMP/build.log" | sed 's/^/    /'
    bg_fatal "dpkg-buildpackage failed (exit $rc)"
fi
bg_assert_grep '^unit: [0-9]+ passed, 0 failed$' "$BG_TMP/build.log" "... with its unit tests passing inside"
bg_assert_grep 'Wl,-z,relro -Wl,-z,now' "$BG_TMP/build.log" "... linked with full RELRO (bindnow)"

lintian --pedantic "$BG_TMP"/src/bouncegate_*_*.changes > "$BG_TMP/lintian.out" 2>&1
bg_assert_not_grep '^[EW]: ' "$BG_TMP/lintian.out" "lintian --pedantic: no error, no warning"

bg_assert_rc 0 "dpkg -i installs it" dpkg -i "$deb"
bg_assert_eq "644 root" "$(stat -c '%a %U' /etc/bouncegate.conf)" "/etc/bouncegate.conf is installed (a conffile)"
dpkg-query -W -f '${Conffiles}\n' bouncegate | grep -q '/etc/bouncegate.conf' &&
    bg_pass "... and dpkg knows it as a conffile" || bg_fail "/etc/bouncegate.conf is not a conffile"
bg_assert_rc 0 "bouncegate -n accepts the installed configuration" /usr/sbin/bouncegate -n
bg_assert_grep '^Journal +/var/lib/bouncegate/journal$' /etc/bouncegate.conf "... which keeps a journal"
for u in bouncegate bouncegate-logwatch; do
    bg_assert_rc 0 "systemd-analyze verify $u.service" systemd-analyze verify "/lib/systemd/system/$u.service"
done
# systemd's own rating of the sandbox: 0 (locked down) to 10 (exposed).
for u in bouncegate bouncegate-logwatch; do
    x=$(systemd-analyze security --offline=true "/lib/systemd/system/$u.service" 2>&1 |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
    if [ -n "$x" ] && awk -v x="$x" 'BEGIN { exit !(x <= 2.5) }'; then
        bg_pass "systemd-analyze security rates $u.service $x (at most 2.5 of 10)"
    else
        bg_fail "systemd-analyze security rates $u.service '${x:-?}', more than 2.5"
    fi
done
bg_assert_grep '^ExecReload=/bin/kill -USR1 \$MAINPID$' /lib/systemd/system/bouncegate.service \
    "the unit reloads with SIGUSR1 (SIGHUP would stop the milter)"
bg_assert_grep '^ExecStart=/usr/sbin/bouncegate -F ' /lib/systemd/system/bouncegate.service \
    "... runs it in the foreground logging to syslog only"
bg_assert_grep '^SupplementaryGroups=adm$' /lib/systemd/system/bouncegate-logwatch.service \
    "the logwatch unit can read /var/log/mail.log (root:adm 0640)"
bg_assert_eq "bouncegate:bouncegate 750" "$(stat -c '%U:%G %a' /var/lib/bouncegate)" "/var/lib/bouncegate for the journal"
if [ -d /var/spool/postfix ]; then
    bg_assert_eq "bouncegate:bouncegate 750" "$(stat -c '%U:%G %a' /var/spool/postfix/bouncegate)" \
        "the socket's directory inside Postfix's queue directory"
    id -nG postfix | grep -qw bouncegate && bg_pass "postfix is in group bouncegate" ||
        bg_fail "postfix is not in group bouncegate"
    # Postfix installed after bouncegate: undo what the postinst did, then
    # activate the package's file trigger on /usr/sbin/postfix, as dpkg
    # does when it unpacks the postfix package, and let dpkg run it.
    gpasswd -d postfix bouncegate > /dev/null && rm -rf /var/spool/postfix/bouncegate ||
        bg_fatal "cannot undo the postinst's Postfix wiring"
    bg_assert_rc 0 "dpkg-trigger /usr/sbin/postfix (what unpacking Postfix does)" \
        dpkg-trigger --no-await /usr/sbin/postfix
    bg_assert_rc 0 "dpkg runs bouncegate's trigger" dpkg --triggers-only bouncegate
    id -nG postfix | grep -qw bouncegate && bg_pass "Postfix installed later: postfix is in group bouncegate" ||
        bg_fail "Postfix installed later: postfix is not in group bouncegate"
    bg_assert_eq "bouncegate:bouncegate 750" "$(stat -c '%U:%G %a' /var/spool/postfix/bouncegate 2>&1)" \
        "Postfix installed later: the socket's directory is made"
    # As the unit starts it: user bouncegate, -F, the installed config.
    setpriv --reuid=bouncegate --regid=bouncegate --init-groups -- /usr/sbin/bouncegate -F \
        > "$BG_TMP/daemon.out" 2>&1 < /dev/null &
    dpid=$!
    bg_track "$dpid"
    sock=/var/spool/postfix/bouncegate/bouncegate.sock
    bg__now; end=$((BG__MS + 20000))
    until [ -S "$sock" ]; do
        bg__alive "$dpid" || { cat "$BG_TMP/daemon.out"; bg_fatal "the daemon exited"; }
        bg__now; [ "$BG__MS" -ge "$end" ] && bg_fatal "no socket $sock after 20 s"
        sleep 0.05
    done
    bg_pass "the daemon, as user bouncegate, made its socket in Postfix's queue directory"
    bg_assert_rc 0 "the postfix user can connect to it (through group bouncegate)" \
        setpriv --reuid=postfix --regid=postfix --init-groups -- "$BG_MTCLIENT" -q -t 3000 "unix:$sock"
    kill -TERM "$dpid"
    bg__wait_gone "$dpid" 20 || bg_fail "the daemon ignored SIGTERM"
    bg_untrack "$dpid"
    bg_assert_eq "" "$(cat "$BG_TMP/daemon.out")" "-F wrote nothing to stderr (no line twice in a unit's journal)"
fi

bg_assert_rc 0 "dpkg --purge removes it" dpkg --purge bouncegate
left=""
for f in /etc/bouncegate.conf /var/lib/bouncegate /run/bouncegate /var/spool/postfix/bouncegate \
         /usr/sbin/bouncegate /lib/systemd/system/bouncegate.service; do
    [ -e "$f" ] && left="$left $f"
done
bg_assert_eq "" "$left" "purge leaves nothing behind"
bg_finish
