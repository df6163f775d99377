# shellcheck shell=bash
# test/e2e/lib-sendmail.sh - a private, real Sendmail (Debian's sm-mta) for
# end-to-end tests, next to the installed Postfix (bash). Builds on
# lib-learn.sh (and so lib-postfix.sh and test/lib.sh): memcached, the
# daemon, smtp-sink servers (pf_sinks_start, pf_sink, pf_route), the SMTP
# client, bouncegate-logwatch, the ln_* checks.
#
# Debian's sendmail-bin conflicts with postfix (both provide
# mail-transport-agent), so .ci/install-deps unpacks sendmail-base,
# sendmail-bin and sendmail-cf into SM_ROOT instead of installing them.
#
# Sendmail logs only through syslog(3), to /dev/log. A test machine has
# no syslog daemon, so the test runs in a private mount namespace whose
# /dev has a /dev/log of its own, read by test/tools/syslogsink into
# SM_MAILLOG (a mail log in the traditional format, as Debian's rsyslog
# writes /var/log/mail.log). Nothing outside the namespace changes.
#
#   sm_private_syslog "$@"  first line of a test: re-runs the script in a
#                          private mount and UTS namespace (host name
#                          mta.site.test, in a private /etc/hosts), then
#                          mounts the private /dev and /run (empty: make
#                          /run/bouncegate) and starts syslogsink; SM_MAILLOG is the
#                          log (also PF_MAILLOG, for pf_wait_log and
#                          ln_start_logwatch).
#   sm_setup DIR SOCKET    (DIR under the private /run: Sendmail refuses
#                          maps and sockets below /tmp) writes DIR/sendmail.mc (Debian's stock daemons:
#                          MTA-v4 on SM_MTA_PORT, MSP-v4 on SM_MSP_PORT,
#                          both on 127.0.0.1, plus the INPUT_MAIL_FILTER
#                          line of conf/sendmail.mc with unix:SOCKET:
#                          SM_FILTER_LINE) and
#                          DIR/sendmail.cf (m4); mail to a domain routed
#                          with pf_route goes to its sink.
#   sm_start               sendmail -bD (foreground, tracked); returns once
#                          both ports greet. Stopped on exit.
#   sm_stop                SIGTERM, bounded wait.
#
# Environment: SM_ROOT (default /opt/bouncegate-ci/sendmail), SM_TIMEOUT
# (seconds; default PF_TIMEOUT), SM_QUEUERETURN (confTO_QUEUERETURN, when
# a message that keeps failing temporarily is bounced; default 1m),
# SM_QUEUE_INTERVAL (-q, how often the queue is run; default 15s).

if ! declare -F ln_send > /dev/null; then
    # shellcheck source=test/e2e/lib-learn.sh
    . "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib-learn.sh"
fi

SM_ROOT=${SM_ROOT:-/opt/bouncegate-ci/sendmail}
SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail
SM_CF_DIR=$SM_ROOT/usr/share/sendmail/cf
SM_SYSLOGSINK=${SM_SYSLOGSINK:-$BG_TOP/test/tools/syslogsink}
SM_TIMEOUT=${SM_TIMEOUT:-$PF_TIMEOUT}
SM_DIR='' SM_CF='' SM_FILTER_LINE='' SM_PID='' SM_MTA_PORT='' SM_MSP_PORT='' SM_MAILLOG=''
SM__DEV=''

sm__cleanup() {
    local rc=$?
    set +e
    sm_stop
    # Give the namespace its own /dev back before the temp dir goes.
    if [ -n "$SM__DEV" ]; then
        umount -l /dev 2> /dev/null
        umount -l "$SM__DEV" 2> /dev/null
        umount -l /etc/hosts 2> /dev/null
        umount -l /run 2> /dev/null
    fi
    (exit "$rc")
    pf__cleanup
}

sm_private_syslog() {
    if [ -z "${SM__IN_NS:-}" ]; then
        command -v unshare > /dev/null || { echo "FAIL: $BG_TEST: unshare(1) not found"; exit 1; }
        SM__IN_NS=1 exec unshare -m -u --propagation private "$BASH" "$0" "$@"
    fi
    bg_tmpdir
    trap sm__cleanup EXIT
    # Sendmail sleeps and retries while its host name is unqualified: a
    # private host name (UTS namespace) that /etc/hosts knows.
    hostname mta.site.test || bg_fatal "cannot set the private host name"
    { cat /etc/hosts; echo "127.0.0.1 mta.site.test mta"; } > "$BG_TMP/hosts" &&
        mount --bind "$BG_TMP/hosts" /etc/hosts || bg_fatal "cannot bind a private /etc/hosts"
    [ -x "$SM_SYSLOGSINK" ] || bg_fatal "$SM_SYSLOGSINK not built (make test/tools/syslogsink)"
    [ -x "$SM_BIN" ] || bg_fatal "no Sendmail at $SM_BIN: run .ci/install-deps (it unpacks Debian's sendmail packages there)"
    command -v m4 > /dev/null || bg_fatal "m4 not found (apt-get install m4)"
    # A /dev of our own: a tmpfs with the devices a mail system uses bound
    # in one by one (each a bind mount of the real node, so removing the
    # temp dir can never remove a real device), and the log socket.
    local d=$BG_TMP/dev n
    SM__DEV=$d
    mkdir -p "$d" && mount -t tmpfs -o mode=0755 bgdev "$d" ||
        bg_fatal "cannot mount a tmpfs for the private /dev"
    for n in null zero full random urandom tty; do
        [ -e "/dev/$n" ] || continue
        : > "$d/$n" && mount --bind "/dev/$n" "$d/$n" || bg_fatal "cannot bind /dev/$n"
    done
    ln -s /proc/self/fd "$d/fd"
    ln -s /proc/self/fd/0 "$d/stdin"
    ln -s /proc/self/fd/1 "$d/stdout"
    ln -s /proc/self/fd/2 "$d/stderr"
    mkdir "$d/shm" && mount -t tmpfs -o mode=1777 bgshm "$d/shm"
    mount --rbind "$d" /dev || bg_fatal "cannot mount the private /dev"
    # A private /run: Sendmail refuses a milter socket below a world-writable
    # directory (such as /tmp), so the socket lives where the README puts
    # it, /run/bouncegate.
    mount -t tmpfs -o mode=0755 bgrun /run || bg_fatal "cannot mount a private /run"
    SM_MAILLOG=$BG_TMP/maillog
    PF_MAILLOG=$SM_MAILLOG
    : > "$SM_MAILLOG"
    "$SM_SYSLOGSINK" /dev/log "$SM_MAILLOG" 2> "$BG_TMP/syslogsink.err" &
    bg_track $!

    for _ in $(seq 400); do          # 20 s
        [ -S /dev/log ] && break
        bg__alive $! || bg_fatal "syslogsink exited: $(cat "$BG_TMP/syslogsink.err")"
        sleep 0.05
    done
    [ -S /dev/log ] || bg_fatal "syslogsink did not bind /dev/log"
    logger -t bouncegate-e2e "private syslog up" && pf_wait_log 'bouncegate-e2e: private syslog up' 10 ||
        bg_fatal "a line sent to /dev/log did not reach $SM_MAILLOG"
}

# The cf lines of a mailer that delivers over SMTP to 127.0.0.1:PORT (the
# smtp-sink of one route): esmtp's definition with the port added.
sm__mailer() {
    printf 'M%s,\tP=[IPC], F=mDFMuXa, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990,\n\t\tT=DNS/RFC822/SMTP,\n\t\tA=TCP $h %s\n' "$1" "$2"
}

sm_setup() {
    local dir=$1 sock=$2 ports d s
    [ -n "$SM__DEV" ] || bg_fatal "sm_setup: sm_private_syslog first"
    [ -n "$PF_SINK_DIR" ] || pf_sinks_start
    SM_DIR=$dir
    # The milter line exactly as conf/sendmail.mc (and the README) has it,
    # with SOCKET for its socket.
    local filter
    filter=$(grep -m 1 '^INPUT_MAIL_FILTER(' "$BG_TOP/conf/sendmail.mc") ||
        bg_fatal "no INPUT_MAIL_FILTER line in conf/sendmail.mc"
    filter=${filter/S=unix:\/run\/bouncegate\/bouncegate.sock/S=unix:$sock}
    SM_FILTER_LINE=$filter
    mkdir -p "$dir/queue" && chmod 700 "$dir/queue" || bg_fatal "cannot create $dir/queue"
    : > "$dir/local-host-names"
    ports=$("$BG_FREEPORT" -n 2) || bg_fatal "no free ports for Sendmail"
    read -r SM_MTA_PORT SM_MSP_PORT <<< "$(echo $ports)"
    # mailertable (a text map: "domain mailer:[host]") and one mailer per sink.
    : > "$dir/mailertable"
    : > "$dir/mailers"
    for d in $(printf '%s\n' "${!PF__ROUTES[@]}" | sort); do
        s=${PF__ROUTES[$d]}
        echo "$d bgsink$s:[127.0.0.1]" >> "$dir/mailertable"
    done
    chmod 600 "$dir/mailertable"   # Sendmail refuses a world-readable map
    for s in "${!PF_SINK_PORT[@]}"; do
        sm__mailer "bgsink$s" "${PF_SINK_PORT[$s]}" >> "$dir/mailers"
    done
    # Debian's stock sendmail.mc (/usr/share/sendmail/cf/debian/sendmail.mc)
    # keeps its daemon names; the differences: private paths and ports,
    # MSP-v4 without the "a" of M=Ea (the test has no SASL; stock MSP-v4
    # accepts only authenticated clients), OSTYPE linux (debian's reads
    # /etc/mail), relaying and fake domains allowed, a short queue return.
    cat > "$dir/sendmail.mc" <<EOF
divert(-1)dnl
divert(0)dnl
include(\`$SM_CF_DIR/m4/cf.m4')dnl
VERSIONID(\`bouncegate e2e')dnl
OSTYPE(\`linux')dnl
define(\`QUEUE_DIR', \`$dir/queue')dnl
define(\`confPID_FILE', \`$dir/sendmail.pid')dnl
define(\`STATUS_FILE', \`$dir/statistics')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`HELP_FILE', \`')dnl
define(\`confCW_FILE', \`-o $dir/local-host-names')dnl
define(\`confHOST_STATUS_DIRECTORY', \`')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confREFUSE_LA', \`999')dnl
define(\`confQUEUE_LA', \`999')dnl
define(\`confDONT_BLAME_SENDMAIL', \`GroupWritableDirPathSafe')dnl
define(\`confTO_QUEUERETURN', \`${SM_QUEUERETURN:-1m}')dnl
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Family=inet,  Name=MTA-v4, Port=$SM_MTA_PORT, Addr=127.0.0.1')dnl
DAEMON_OPTIONS(\`Family=inet,  Name=MSP-v4, Port=$SM_MSP_PORT, M=E, Addr=127.0.0.1')dnl
FEATURE(\`promiscuous_relay')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`mailertable', \`text -k0 -v1 $dir/mailertable')dnl
$filter
MAILER_DEFINITIONS
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOF
    cat "$dir/mailers" >> "$dir/sendmail.mc"
    SM_CF=$dir/sendmail.cf
    m4 "$dir/sendmail.mc" > "$SM_CF" 2> "$dir/m4.err" || {
        sed 's/^/    /' "$dir/m4.err"
        bg_fatal "m4 could not build sendmail.cf"
    }
}

sm__greets() {
    "$PF_SMTPCLIENT" -t 2 127.0.0.1 "$1" < /dev/null 2> /dev/null | grep -q '^greeting -> 220'
}

sm_start() {
    local end
    [ -n "$SM_CF" ] || bg_fatal "sm_start: sm_setup first"
    "$SM_BIN" -C "$SM_CF" -L sm-mta -bD "-q${SM_QUEUE_INTERVAL:-15s}" > "$SM_DIR/sendmail.out" 2>&1 < /dev/null &
    SM_PID=$!
    bg_track "$SM_PID"
    bg__now
    end=$((BG__MS + SM_TIMEOUT * 1000))
    until sm__greets "$SM_MTA_PORT" && sm__greets "$SM_MSP_PORT"; do
        if ! bg__alive "$SM_PID"; then
            sed 's/^/    /' "$SM_DIR/sendmail.out"
            tail -n 20 "$SM_MAILLOG" | sed 's/^/    /'
            bg_fatal "sendmail exited before both ports greeted"
        fi
        bg__now
        if [ "$BG__MS" -ge "$end" ]; then
            tail -n 20 "$SM_MAILLOG" | sed 's/^/    /'
            bg_fatal "Sendmail ports $SM_MTA_PORT/$SM_MSP_PORT not ready after ${SM_TIMEOUT}s"
        fi
        sleep 0.05
    done
}

sm_stop() {
    [ -n "$SM_PID" ] || return 0
    kill -TERM "$SM_PID" 2> /dev/null
    bg__wait_gone "$SM_PID" "$PF_STOP_TIMEOUT" || kill -KILL "$SM_PID" 2> /dev/null
    wait "$SM_PID" 2> /dev/null
    bg_untrack "$SM_PID"
    SM_PID=
}
