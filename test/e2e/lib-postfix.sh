# shellcheck shell=bash disable=SC2119,SC2120  # optional arguments
# test/e2e/lib-postfix.sh - a private, real Postfix instance for end-to-end
# tests (bash). Builds on test/lib.sh (sourced here when not yet loaded):
# its PASS/FAIL counters, process tracking, cleanup trap, free ports,
# memcached and daemon helpers.
#
# A test is test/e2e/NN-name.sh:
#
#     #!/bin/bash
#     . "$(dirname "$0")/lib-postfix.sh"
#     bg_tmpdir
#     bg_start_memcached
#     ... write $BG_TMP/bg.conf, bg_start_daemon "$BG_TMP/bg.conf"
#     pf_sinks_start                       # fake remote servers
#     pf_setup "$BG_TMP/pf" "$BG_SOCK"     # main.cf, master.cf, queue
#     pf_start                             # stopped again on any exit
#     pf_smtp "$PF_SUBMISSION_PORT" < script > out
#     pf_wait_log 'to=<alice@good.test>.*status=sent' 20 || ...
#     bg_finish
#
# Functions (each fails the test through bg_fatal when it cannot do its
# job; the pf_wait_* functions print a FAIL line and return 1 instead):
#
#   pf_sinks_start [DIR]   starts four smtp-sink servers on free loopback
#                          ports, each appending what it receives to
#                          DIR/NAME.dump (DIR default $BG_TMP/sinks):
#                            good   accepts everything        PF_SINK_GOOD
#                            bad    550 5.1.1 User unknown     PF_SINK_BAD
#                                   at RCPT
#                            full   452 4.2.2 Mailbox full     PF_SINK_FULL
#                                   at RCPT
#                            block  550 5.7.1 Service unavailable; client
#                                   [127.0.0.1] blocked using
#                                   zen.spamhaus.org at RCPT   PF_SINK_BLOCK
#                          (PF_SINK_* are the ports; PF_SINK_DIR the dir).
#   pf_sinks_init [DIR]    only the directory of pf_sinks_start, no sink:
#                          for a test that starts its own (pf_sink).
#                          PF_SINK_HOST, when set, is the loopback address
#                          a sink started then listens on (default
#                          127.0.0.1; PF_SINK_ADDR[NAME] says which).
#   pf_sink NAME [SMTP-SINK-ARGS...]
#                          one more fake remote server NAME (after
#                          pf_sinks_start), e.g. pf_sink rep -f RCPT -B
#                          "550 5.7.1 ..."; its port is PF_SINK_PORT[NAME],
#                          its dump DIR/NAME.dump. Route a domain to it with
#                          pf_route (pf_sinks_start's four are "good",
#                          "bad", "full", "block").
#   pf_sink_restart NAME [SMTP-SINK-ARGS...]
#                          stops sink NAME and starts it again on the same
#                          port with other arguments (the remote server
#                          changes its mind: e.g. a full mailbox emptied);
#                          the dump goes on.
#   pf_route DOMAIN SINK   mail to DOMAIN goes to the sink named SINK.
#                          Before pf_setup it is remembered; afterwards
#                          main.cf is rewritten (and a running instance
#                          reloaded).
#   pf_setup DIR [MILTER] [NAME=VALUE...]
#                          writes a private instance under DIR: DIR/etc
#                          (main.cf, master.cf; = PF_CONF), DIR/queue,
#                          DIR/data, DIR/maillog (= PF_MAILLOG). MILTER is
#                          a libmilter spec (inet:PORT@HOST, unix:/path) or
#                          a Postfix one (inet:HOST:PORT); it becomes
#                          smtpd_milters and non_smtpd_milters, each with
#                          default_action=accept. No MILTER: no milters.
#                          NAME=VALUE pairs are added to main.cf last.
#                          Services: smtp on 127.0.0.1:PF_SMTP_PORT, and
#                          a second smtpd "submission" on
#                          127.0.0.1:PF_SUBMISSION_PORT with
#                          milter_macro_daemon_name=submission and
#                          syslog_name postfix/submission; bounce and
#                          defer use the cleanup service
#                          "bouncegate-cleanup", whose
#                          milter_macro_daemon_name is bouncegate-dsn
#                          (bouncegate's DSNDaemonName default). Routes
#                          good.test and site.test to the good sink,
#                          bad.test, full.test, block.test to theirs;
#                          everything else fails with error:. Starts the
#                          sinks first when pf_sinks_start was not called.
#   pf_service_args NAME ARGS...
#                          appends ARGS to a master.cf service command
#                          (between pf_setup and pf_start), e.g.
#                          "pf_service_args cleanup -v" to have Postfix log
#                          every milter event it sends; NAME "smtp" and
#                          "submission" are the loopback smtpds, NAME/TYPE
#                          picks one of equal names ("smtp/unix").
#   pf_postconf NAME=VALUE...
#                          changes main.cf (postconf -e), reloads a running
#                          instance and returns once every process started
#                          before the reload has exited.
#   pf_start               postfix start; waits until both smtpd ports
#                          greet. Picks new ports and retries when a port
#                          was taken meanwhile. Installs the stop in the
#                          EXIT trap (also on failure and signals).
#   pf_stop                SIGTERM to the master and its process group,
#                          bounded wait, SIGKILL after PF_STOP_TIMEOUT s.
#                          Safe to call twice.
#   pf_sendmail ARGS...    Postfix's sendmail -C PF_CONF ARGS (message on
#                          stdin).
#   pf_sendmail_as USER ARGS...
#                          the same, run by the unprivileged local USER
#                          (in a mount namespace where /etc/postfix lets
#                          that user name PF_CONF).
#   pf_smtp PORT           test/tools/smtpclient 127.0.0.1 PORT (script on
#                          stdin, replies on stdout).
#   pf_log_mark            later pf_wait_log calls only look at maillog
#                          lines written after this call.
#   pf_wait_log ERE [TIMEOUT]
#                          polls the maillog (from the mark) until a line
#                          matches; 0 and PF_LINE = that line, or a FAIL
#                          line + maillog tail and status 1 after TIMEOUT
#                          seconds (default PF_TIMEOUT).
#   pf_wait_grep FILE ERE [TIMEOUT] [FROMLINE]
#                          the same for any file (e.g. $BG_TMP/daemon.log).
#   pf_log_count ERE       how many maillog lines (from the mark) match.
#   pf_qid_for_msgid ID [TIMEOUT]
#                          prints the queue id whose cleanup logged
#                          message-id=<ID>.
#   pf_queue_count         number of messages in the queue (postqueue -p).
#   pf_wait_queue_empty [TIMEOUT]
#                          0 once the queue is empty, else FAIL + status 1.
#   pf_stop_daemon         bg_stop_daemon, plus one connection to the
#                          milter socket right after the SIGTERM: libmilter
#                          otherwise notices the stop only every 5 s.
#   pf_finish              prints "# NAME: N passed, M failed" (this test; the
#                          runner prints the "e2e: N passed, M failed" total),
#                          then bg_finish (exit status 1 on any failure).
#
# Environment: PF_STOCK=1: a Postfix shaped like Debian's stock one plus
# exactly the README's lines: master.cf.dist untouched but for the smtp
# port, conf/postfix-master.cf merged in (bounce and defer replaced,
# submission and bouncegate-cleanup added), conf/postfix-main.cf appended
# to main.cf (pf_setup's MILTER then only names the socket for the
# helpers). PF_CHROOT=1 keeps the chroot column of master.cf.dist as
# Debian ships it (smtpd, cleanup... chrooted in the queue directory;
# the added services then run chrooted too); PF_TIMEOUT (default 20 s) bounds the waits, PF_STOP_TIMEOUT
# (10 s) the stop; PF_SMTPCLIENT, PF_POSTFIX, PF_SENDMAIL, PF_POSTCONF,
# PF_POSTQUEUE, PF_SMTP_SINK name the tools; PF_MASTER_CF_DIST the master.cf
# template (/usr/share/postfix/master.cf.dist).
#
# Needs root (Postfix's master, smtp-sink -u postfix), and Postfix >= 3.4
# for maillog_file (no syslog daemon is assumed).

if [ -z "${BASH_VERSION:-}" ]; then
    echo "test/e2e/lib-postfix.sh needs bash" >&2
    exit 1
fi
if ! declare -F bg_tmpdir > /dev/null; then
    # shellcheck source=test/lib.sh
    . "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
fi

PF_TIMEOUT=${PF_TIMEOUT:-20}
PF_STOP_TIMEOUT=${PF_STOP_TIMEOUT:-10}
PF_SMTPCLIENT=${PF_SMTPCLIENT:-$BG_TOP/test/tools/smtpclient}
PF_POSTFIX=${PF_POSTFIX:-/usr/sbin/postfix}
PF_SENDMAIL=${PF_SENDMAIL:-/usr/sbin/sendmail}
PF_POSTCONF=${PF_POSTCONF:-/usr/sbin/postconf}
PF_POSTQUEUE=${PF_POSTQUEUE:-/usr/sbin/postqueue}
PF_SMTP_SINK=${PF_SMTP_SINK:-/usr/sbin/smtp-sink}
PF_MASTER_CF_DIST=${PF_MASTER_CF_DIST:-/usr/share/postfix/master.cf.dist}

PF_DIR='' PF_CONF='' PF_MAILLOG='' PF_MILTER=''
PF_SMTP_PORT='' PF_SUBMISSION_PORT=''
PF_SINK_GOOD='' PF_SINK_BAD='' PF_SINK_FULL='' PF_SINK_BLOCK='' PF_SINK_DIR=''
declare -A PF_SINK_PORT=() PF_SINK_ADDR=() PF__SINK_PID=() PF__ROUTES=()
PF_MASTER_PID=
PF_LOG_MARK=0
PF_LINE=
declare -A PF__SVC_ARGS=()

# ------------------------------------------------------------- cleanup

# Runs the Postfix stop before lib.sh's cleanup, keeping the exit status;
# SIGTERM goes to every tracked process at once, so their shutdowns overlap
# (bg_cleanup then waits for each, SIGKILL after 5 s).
pf__cleanup() {
    local rc=$? p
    set +e
    pf_stop
    for p in "${BG_PIDS[@]}"; do
        kill -TERM "$p" 2> /dev/null
    done
    [ -n "${BG_PID:-}" ] && pf__nudge_daemon
    (exit "$rc")
    bg_cleanup
}

pf__install_trap() {
    bg_tmpdir
    trap pf__cleanup EXIT
}

# ------------------------------------------------------------- waiting

# pf_wait_grep FILE ERE [TIMEOUT] [FROMLINE] - see the header.
pf_wait_grep() {
    local file=$1 re=$2 timeout=${3:-$PF_TIMEOUT} from=${4:-0} end
    PF_LINE=
    bg__now
    end=$((BG__MS + timeout * 1000))
    while :; do
        if [ -f "$file" ]; then
            PF_LINE=$(tail -n "+$((from + 1))" "$file" | grep -E -m 1 -e "$re")
            [ -n "$PF_LINE" ] && return 0
        fi
        bg__now
        if [ "$BG__MS" -ge "$end" ]; then
            bg_fail "no line /$re/ in $(basename "$file") after ${timeout}s; its last lines:"
            [ -f "$file" ] && tail -n "+$((from + 1))" "$file" | tail -n 15 | sed 's/^/    /'
            return 1
        fi
        sleep 0.1
    done
}

pf_wait_log() {
    [ -n "$PF_MAILLOG" ] || bg_fatal "pf_wait_log: pf_setup was not called"
    pf_wait_grep "$PF_MAILLOG" "$1" "${2:-$PF_TIMEOUT}" "$PF_LOG_MARK"
}

pf_log_mark() {
    PF_LOG_MARK=0
    [ -f "$PF_MAILLOG" ] && PF_LOG_MARK=$(wc -l < "$PF_MAILLOG")
    PF_LOG_MARK=${PF_LOG_MARK// /}
}

pf_log_count() {
    [ -f "$PF_MAILLOG" ] || { echo 0; return 0; }
    tail -n "+$((PF_LOG_MARK + 1))" "$PF_MAILLOG" | grep -E -c -e "$1"
}

# pf_qid_for_msgid ID [TIMEOUT] - prints the queue id of the message whose
# cleanup logged message-id=<ID>.
pf_qid_for_msgid() {
    local re="postfix/cleanup\[[0-9]+\]: [0-9A-F]+: message-id=<$1>"
    pf_wait_grep "$PF_MAILLOG" "$re" "${2:-$PF_TIMEOUT}" 0 || return 1
    local q=${PF_LINE#*postfix/cleanup[}
    q=${q#*]: }
    echo "${q%%:*}"
}

# ------------------------------------------------------------- sinks

# pf__sink NAME ARGS... - starts one smtp-sink on a free port (retrying
# with another port when it dies at once), or on PF__FIXED_PORT when set
# (retrying while the port is still held), waits for its greeting, sets
# PF__PORT, PF_SINK_PORT[NAME] and PF__SINK_PID[NAME]. Dump file:
# $PF_SINK_DIR/NAME.dump (created empty unless PF__FIXED_PORT is set).
pf__sink() {
    local name=$1 port pid attempt end
    shift
    # The dump exists from the start (so "not in the dump" can be checked)
    # and belongs to the user smtp-sink runs as.
    if [ -z "${PF__FIXED_PORT:-}" ]; then
        if ! : > "$PF_SINK_DIR/$name.dump" || ! chown postfix "$PF_SINK_DIR/$name.dump"; then
            bg_fatal "cannot create $PF_SINK_DIR/$name.dump"
        fi
    fi
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        if [ -n "${PF__FIXED_PORT:-}" ]; then
            port=$PF__FIXED_PORT
        else
            port=$(bg_free_port) || bg_fatal "no free port for the $name sink"
        fi
        # a sink given -d (one file per message) has no -D dump
        local dump=(-D "$PF_SINK_DIR/$name.dump") a
        for a in "$@"; do [ "$a" = -d ] && dump=(); done
        "$PF_SMTP_SINK" -u postfix "${dump[@]}" "$@" \
            "${PF_SINK_HOST:-127.0.0.1}:$port" 100 >> "$PF_SINK_DIR/$name.log" 2>&1 < /dev/null &
        pid=$!
        bg_track "$pid"
        bg__now
        end=$((BG__MS + BG_TIMEOUT * 1000))
        while bg__alive "$pid"; do
            if "$PF_SMTPCLIENT" -t 2 "${PF_SINK_HOST:-127.0.0.1}" "$port" < /dev/null > /dev/null 2>&1; then
                PF__PORT=$port
                PF_SINK_PORT[$name]=$port
                PF_SINK_ADDR[$name]=${PF_SINK_HOST:-127.0.0.1}
                PF__SINK_PID[$name]=$pid
                return 0
            fi
            bg__now
            [ "$BG__MS" -ge "$end" ] && bg_fatal "$name sink on port $port not ready after ${BG_TIMEOUT}s"
            sleep 0.05
        done
        wait "$pid" 2>/dev/null
        bg_untrack "$pid"
        bg_log "$name sink on port $port exited early (attempt $attempt): $(tail -n 1 "$PF_SINK_DIR/$name.log")"
        [ -n "${PF__FIXED_PORT:-}" ] && sleep 0.2
    done
    bg_fatal "$name sink would not start (see $PF_SINK_DIR/$name.log)"
}

pf_sink() {
    [ -n "$PF_SINK_DIR" ] || pf_sinks_start
    [ -z "${PF_SINK_PORT[$1]:-}" ] || bg_fatal "pf_sink: there is a sink $1 already"
    PF__FIXED_PORT='' pf__sink "$@"
}

pf_sink_restart() {
    local name=$1 pid
    shift
    pid=${PF__SINK_PID[$name]:-}
    [ -n "$pid" ] || bg_fatal "pf_sink_restart: no sink $name"
    bg_kill "$pid" || bg_fatal "pf_sink_restart: the $name sink needed SIGKILL"
    PF__FIXED_PORT=${PF_SINK_PORT[$name]} pf__sink "$name" "$@"
}

# The transport_maps value: every route to its sink's port; everything
# else goes to default_transport (an error).
pf__transport_maps() {
    local d list=
    for d in $(printf '%s\n' "${!PF__ROUTES[@]}" | sort); do
        list+="${list:+, }$d=smtp:[127.0.0.1]:${PF_SINK_PORT[${PF__ROUTES[$d]}]}"
    done
    echo "inline:{ $list }"
}

pf_route() {
    [ -n "${PF_SINK_PORT[$2]:-}" ] || bg_fatal "pf_route: no sink named $2"
    PF__ROUTES[$1]=$2
    if [ -n "$PF_CONF" ] && [ -f "$PF_CONF/main.cf" ]; then
        pf_postconf "transport_maps = $(pf__transport_maps)"
    fi
}

pf_sinks_init() {
    bg_tmpdir
    [ -x "$PF_SMTP_SINK" ] || bg_fatal "$PF_SMTP_SINK not found (apt-get install postfix)"
    [ -x "$PF_SMTPCLIENT" ] || bg_fatal "$PF_SMTPCLIENT not built (make test/tools/smtpclient)"
    PF_SINK_DIR=${1:-$BG_TMP/sinks}
    mkdir -p "$PF_SINK_DIR" || bg_fatal "cannot create $PF_SINK_DIR"
    chown postfix "$PF_SINK_DIR" || bg_fatal "cannot chown $PF_SINK_DIR to postfix"
    PF__FIXED_PORT=
}

pf_sinks_start() {
    pf_sinks_init "$@"
    pf__sink good
    PF_SINK_GOOD=$PF__PORT
    pf__sink bad -f RCPT -B "550 5.1.1 User unknown"
    PF_SINK_BAD=$PF__PORT
    pf__sink full -r RCPT -b "452 4.2.2 Mailbox full"
    PF_SINK_FULL=$PF__PORT
    pf__sink block -f RCPT \
        -B "550 5.7.1 Service unavailable; client [127.0.0.1] blocked using zen.spamhaus.org"
    PF_SINK_BLOCK=$PF__PORT
    export PF_SINK_GOOD PF_SINK_BAD PF_SINK_FULL PF_SINK_BLOCK PF_SINK_DIR
    PF__ROUTES[good.test]=good PF__ROUTES[site.test]=good PF__ROUTES[bad.test]=bad
    PF__ROUTES[full.test]=full PF__ROUTES[block.test]=block
}

# ------------------------------------------------------------- instance

# Postfix's notation for a libmilter socket spec.
pf__milter_spec() {
    local s=$1
    case $s in
        inet:*@*) s=${s#inet:}; echo "inet:${s#*@}:${s%%@*}" ;;
        inet6:*@*) s=${s#inet6:}; echo "inet:[${s#*@}]:${s%%@*}" ;;
        local:*) echo "unix:${s#local:}" ;;
        /*) echo "unix:$s" ;;
        *) echo "$s" ;;
    esac
}

# master.cf: the distribution's, chroot off everywhere, smtp on a loopback
# port, plus the "submission" smtpd; Postfix's bounce and defer daemons
# hand their DSNs to a cleanup service of their own that names
# itself bouncegate-dsn to the milter, as conf/postfix-master.cf says (the
# only way bouncegate trusts a DSN as Postfix's own).
pf__write_master() {
    local svc ch=n
    if [ -n "${PF_STOCK:-}" ]; then
        pf__write_master_stock
        return
    fi
    [ -n "${PF_CHROOT:-}" ] && ch=y
    awk -v smtp="127.0.0.1:$PF_SMTP_PORT" -v chroot="${PF_CHROOT:-}" '
        /^[^#[:space:]]/ && NF >= 8 {
            if ($1 == "smtp" && $2 == "inet") $1 = smtp
            if (chroot == "") $5 = "n"
            if ($2 == "unix" && ($1 == "bounce" || $1 == "defer"))
                $0 = $0 " -o cleanup_service_name=bouncegate-cleanup"
            print
            next
        }
        { print }' "$PF_MASTER_CF_DIST" > "$PF_CONF/master.cf" ||
        bg_fatal "cannot write $PF_CONF/master.cf"
    cat >> "$PF_CONF/master.cf" <<EOF
# e2e: a second smtpd that bouncegate sees as the outbound service
127.0.0.1:$PF_SUBMISSION_PORT inet n - $ch - - smtpd
  -o syslog_name=postfix/submission
  -o milter_macro_daemon_name=submission
# Postfix's own DSNs (bounce, defer): DSNDaemonName bouncegate-dsn
bouncegate-cleanup unix n - $ch - 0 cleanup
  -o syslog_name=postfix/bouncegate-cleanup
  -o milter_macro_daemon_name=bouncegate-dsn
EOF
    grep -q "^127.0.0.1:$PF_SMTP_PORT inet" "$PF_CONF/master.cf" ||
        bg_fatal "no smtp inet service in $PF_MASTER_CF_DIST"
    for svc in "${!PF__SVC_ARGS[@]}"; do
        pf__svc_line_args "$svc" "${PF__SVC_ARGS[$svc]}"
    done
}

# PF_STOCK=1: master.cf.dist as Debian ships it (chroot column untouched),
# smtp moved to a loopback port, and conf/postfix-master.cf's services
# merged in word for word as the README says: a service already there
# (bounce, defer) is replaced by the file's, the others (submission, on
# the loopback submission port, and bouncegate-cleanup) are added.
pf__write_master_stock() {
    local svc
    awk -v smtp="127.0.0.1:$PF_SMTP_PORT" -v subm="127.0.0.1:$PF_SUBMISSION_PORT" '
        # first file: conf/postfix-master.cf, one block per service
        FNR == NR {
            if ($0 ~ /^#/ || $0 ~ /^$/) { cur = ""; next }
            if ($0 ~ /^[^[:space:]]/) {
                cur = $1 "/" $2
                order[++n] = cur
                line = $0
                if ($1 == "submission" && $2 == "inet") sub(/^submission/, subm, line)
                block[cur] = line
                next
            }
            if (cur != "") block[cur] = block[cur] "\n" $0
            next
        }
        # second file: master.cf.dist
        /^[^#[:space:]]/ && NF >= 8 {
            skip = 0
            key = $1 "/" $2
            if (key in block) { print block[key]; used[key] = 1; skip = 1; next }
            if ($1 == "smtp" && $2 == "inet") sub(/^smtp/, smtp)
            print
            next
        }
        skip && /^[[:space:]]+-o/ { next }
        { skip = 0; print }
        END {
            print "# conf/postfix-master.cf"
            for (i = 1; i <= n; i++) if (!(order[i] in used)) print block[order[i]]
        }' "$BG_TOP/conf/postfix-master.cf" "$PF_MASTER_CF_DIST" > "$PF_CONF/master.cf" ||
        bg_fatal "cannot write $PF_CONF/master.cf"
    grep -Eq "^127\.0\.0\.1:$PF_SMTP_PORT[[:space:]]+inet" "$PF_CONF/master.cf" ||
        bg_fatal "no smtp inet service in $PF_MASTER_CF_DIST"
    for svc in "${!PF__SVC_ARGS[@]}"; do
        pf__svc_line_args "$svc" "${PF__SVC_ARGS[$svc]}"
    done
}

# pf__svc_line_args NAME ARGS - appends ARGS to the command of service NAME
# (NAME or NAME/TYPE: "smtp" and "submission" are the two loopback smtpd
# services, "smtp/unix" the SMTP client).
pf__svc_line_args() {
    local name=$1 args=$2 type=
    case $name in
        */*) type=${name#*/}; name=${name%%/*} ;;
    esac
    case $name/$type in
        smtp/|smtp/inet) name=127.0.0.1:$PF_SMTP_PORT; type= ;;
        submission/*) name=127.0.0.1:$PF_SUBMISSION_PORT; type= ;;
    esac
    awk -v n="$name" -v t="$type" -v a="$args" '
        !done && $1 == n && (t == "" || $2 == t) && NF >= 8 { print $0 " " a; done = 1; next }
        { print }
        END { exit !done }' "$PF_CONF/master.cf" > "$PF_CONF/master.cf.new" ||
        bg_fatal "no service $1 in master.cf"
    mv "$PF_CONF/master.cf.new" "$PF_CONF/master.cf"
}

# pf_service_args NAME ARGS... - extra command arguments for a master.cf
# service (e.g. pf_service_args cleanup -v), kept across port retries;
# call between pf_setup and pf_start.
pf_service_args() {
    local name=$1
    shift
    [ -n "$PF_CONF" ] || bg_fatal "pf_service_args: pf_setup was not called"
    PF__SVC_ARGS[$name]="${PF__SVC_ARGS[$name]:+${PF__SVC_ARGS[$name]} }$*"
    pf__svc_line_args "$name" "$*"
}

pf__pick_ports() {
    local ports
    ports=$("$BG_FREEPORT" -n 2) || bg_fatal "no free ports for Postfix"
    PF_SMTP_PORT=$(sed -n 1p <<< "$ports")
    PF_SUBMISSION_PORT=$(sed -n 2p <<< "$ports")
    export PF_SMTP_PORT PF_SUBMISSION_PORT
}

pf_setup() {
    local dir=$1 kv
    shift
    bg_tmpdir
    [ -n "$dir" ] || bg_fatal "usage: pf_setup DIR [MILTER] [NAME=VALUE...]"
    [ -x "$PF_POSTFIX" ] || bg_fatal "$PF_POSTFIX not found (apt-get install postfix)"
    [ -f "$PF_MASTER_CF_DIST" ] || bg_fatal "$PF_MASTER_CF_DIST not found"
    [ "$(id -u)" = 0 ] || bg_fatal "a private Postfix instance needs root"
    PF__SVC_ARGS=()
    PF_MILTER=
    if [ $# -gt 0 ] && [[ $1 != *=* ]]; then
        PF_MILTER=$(pf__milter_spec "$1")
        shift
    fi
    [ -n "$PF_SINK_DIR" ] || pf_sinks_start
    mkdir -p "$dir" || bg_fatal "cannot create $dir"
    dir=$(cd "$dir" && pwd) || bg_fatal "cannot enter $dir"
    PF_DIR=$dir
    PF_CONF=$dir/etc
    PF_MAILLOG=$dir/maillog
    export PF_DIR PF_CONF PF_MAILLOG PF_MILTER
    mkdir -p "$PF_CONF" "$dir/queue" "$dir/data" || bg_fatal "cannot create dirs under $dir"
    chmod 755 "$dir" "$PF_CONF" "$dir/queue"
    chown postfix "$dir/data" || bg_fatal "cannot chown $dir/data to postfix"
    : > "$PF_MAILLOG"
    pf__pick_ports
    cat > "$PF_CONF/main.cf" <<EOF
# private Postfix instance for bouncegate e2e tests (test/e2e/lib-postfix.sh)
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.e2e.test
mydomain = e2e.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
biff = no
smtpd_banner = \$myhostname ESMTP e2e
maillog_file = $PF_MAILLOG
maillog_file_prefixes = $dir
# fake remote servers; everything else fails at once
transport_maps = $(pf__transport_maps)
default_transport = error:5.4.4 not routed in the e2e instance
relay_transport = \$default_transport
local_transport = \$default_transport
# fast retries, no artificial delays
minimal_backoff_time = 2s
maximal_backoff_time = 4s
queue_run_delay = 2s
delay_warning_time = 0h
in_flow_delay = 0
smtpd_error_sleep_time = 0
smtp_connect_timeout = 5s
# the milter
milter_default_action = accept
milter_connect_timeout = 5s
milter_command_timeout = 10s
internal_mail_filter_classes = bounce
EOF
    if [ -n "${PF_STOCK:-}" ]; then
        # The README's main.cf lines, word for word (conf/postfix-main.cf
        # without its comments); they name the milter themselves.
        sed -i '/^internal_mail_filter_classes = /d; /^milter_default_action = /d' "$PF_CONF/main.cf"
        { echo "# conf/postfix-main.cf"; grep -v -e '^#' -e '^$' "$BG_TOP/conf/postfix-main.cf"; } \
            >> "$PF_CONF/main.cf" || bg_fatal "cannot add conf/postfix-main.cf"
    elif [ -n "$PF_MILTER" ]; then
        cat >> "$PF_CONF/main.cf" <<EOF
smtpd_milters = { $PF_MILTER, default_action=accept }
non_smtpd_milters = { $PF_MILTER, default_action=accept }
EOF
    fi
    for kv in "$@"; do
        [[ $kv == *=* ]] || bg_fatal "pf_setup: '$kv' is not NAME=VALUE"
        printf '%s = %s\n' "${kv%%=*}" "${kv#*=}" >> "$PF_CONF/main.cf"
    done
    pf__write_master
}

# pf__child_alive PID - 0 while PID is a live (not zombie) child of the
# master.
pf__child_alive() {
    local st rest
    { st=$(< "/proc/$1/stat"); } 2> /dev/null || return 1
    rest=${st##*) }            # "STATE PPID ..."
    read -r -a st <<< "$rest"
    [ "${st[1]}" = "$PF_MASTER_PID" ] && [ "${st[0]}" != Z ]
}

# pf_postconf NAME=VALUE... - see the header. On a running instance the
# reload is complete when it returns: master logged it, and every child
# process that ran before it (and so may hold the old settings: cleanup,
# trivial-rewrite, qmgr, smtp...) has exited; new ones read the new main.cf.
pf_postconf() {
    local old p end mark
    [ -n "$PF_CONF" ] || bg_fatal "pf_postconf: pf_setup was not called"
    "$PF_POSTCONF" -c "$PF_CONF" -e "$@" || bg_fatal "postconf -e $* failed"
    [ -n "$PF_MASTER_PID" ] || return 0
    old=$(ps -o pid= --ppid "$PF_MASTER_PID" | tr -s ' \n' ' ')
    mark=$(wc -l < "$PF_MAILLOG")
    "$PF_POSTFIX" -c "$PF_CONF" reload > /dev/null 2>&1 || bg_fatal "postfix reload failed"
    pf_wait_grep "$PF_MAILLOG" "postfix/master\[$PF_MASTER_PID\]: reload " "$PF_TIMEOUT" "$mark" ||
        bg_fatal "postfix reload: master did not log it"
    bg__now
    end=$((BG__MS + PF_TIMEOUT * 1000))
    for p in $old; do
        while pf__child_alive "$p"; do
            bg__now
            [ "$BG__MS" -ge "$end" ] &&
                bg_fatal "postfix reload: child $p ($(cat "/proc/$p/comm" 2> /dev/null)) still running after ${PF_TIMEOUT}s"
            sleep 0.05
        done
    done
}

# 0 when the smtpd on PORT answers with a greeting.
pf__greets() {
    "$PF_SMTPCLIENT" -t 2 127.0.0.1 "$1" < /dev/null 2> /dev/null | grep -q '^greeting -> 220'
}

pf_start() {
    local attempt end pidfile
    [ -n "$PF_CONF" ] || bg_fatal "pf_start: pf_setup was not called"
    pf__install_trap
    pidfile=$PF_DIR/queue/pid/master.pid
    for attempt in 1 2 3; do
        if ! "$PF_POSTFIX" -c "$PF_CONF" start > "$PF_DIR/start.out" 2>&1; then
            sed 's/^/    /' "$PF_DIR/start.out"
            tail -n 20 "$PF_MAILLOG" | sed 's/^/    /'
            bg_fatal "postfix -c $PF_CONF start failed"
        fi
        PF_MASTER_PID=
        bg__now
        end=$((BG__MS + BG_TIMEOUT * 1000))
        while :; do
            if [ -z "$PF_MASTER_PID" ] && [ -s "$pidfile" ]; then
                PF_MASTER_PID=$(tr -dc 0-9 < "$pidfile")
            fi
            if [ -n "$PF_MASTER_PID" ] && pf__greets "$PF_SMTP_PORT" &&
               pf__greets "$PF_SUBMISSION_PORT"; then
                export PF_MASTER_PID
                return 0
            fi
            if grep -q 'Address already in use' "$PF_MAILLOG"; then
                break
            fi
            bg__now
            if [ "$BG__MS" -ge "$end" ]; then
                tail -n 20 "$PF_MAILLOG" | sed 's/^/    /'
                bg_fatal "Postfix smtpd ports $PF_SMTP_PORT/$PF_SUBMISSION_PORT not ready after ${BG_TIMEOUT}s"
            fi
            sleep 0.05
        done
        # A port was taken between freeport and master's bind: new ports.
        bg_log "Postfix could not bind its ports (attempt $attempt), picking new ones"
        pf_stop
        sed -i 's/Address already in use/(bind conflict, retried)/' "$PF_MAILLOG"
        pf__pick_ports
        pf__write_master
    done
    bg_fatal "Postfix would not start: its ports kept being taken"
}

# pf__group_alive PGID - 0 while a process of group PGID is alive (zombies
# do not count: the master is reparented to PID 1, which may reap late).
pf__group_alive() {
    local f st rest
    for f in /proc/[0-9]*/stat; do
        { st=$(< "$f"); } 2> /dev/null || continue
        rest=${st##*) }            # "STATE PPID PGRP ..."
        read -r -a st <<< "$rest"
        [ "${st[2]}" = "$1" ] && [ "${st[0]}" != Z ] && return 0
    done
    return 1
}

# pf_stop - see the header. Status 1 when SIGKILL was needed.
pf_stop() {
    local pid=$PF_MASTER_PID pidfile end rc=0
    [ -n "$PF_DIR" ] || return 0
    pidfile=$PF_DIR/queue/pid/master.pid
    if [ -z "$pid" ] && [ -s "$pidfile" ]; then
        pid=$(tr -dc 0-9 < "$pidfile")
    fi
    [ -n "$pid" ] || return 0
    PF_MASTER_PID=
    # A stale pid file may name a recycled pid: only ever signal a master.
    [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = master ] || return 0
    # master is a process group leader and takes its children along on
    # SIGTERM; wait for the whole group.
    kill -TERM "$pid" 2> /dev/null
    bg__now
    end=$((BG__MS + PF_STOP_TIMEOUT * 1000))
    while pf__group_alive "$pid"; do
        bg__now
        if [ "$BG__MS" -ge "$end" ]; then
            echo "# $BG_TEST: Postfix (master $pid) did not stop in ${PF_STOP_TIMEOUT}s: SIGKILL" >&2
            kill -KILL -- "-$pid" 2> /dev/null
            kill -KILL "$pid" 2> /dev/null
            rc=1
            break
        fi
        sleep 0.05
    done
    return $rc
}

# ------------------------------------------------------------- clients

pf_sendmail() {
    [ -n "$PF_CONF" ] || bg_fatal "pf_sendmail: pf_setup was not called"
    "$PF_SENDMAIL" -C "$PF_CONF" "$@"
}

# pf_sendmail_as USER ARGS... - sendmail(1) run by an unprivileged local
# USER (message on stdin), as a web application or a shell user would.
# Postfix lets such a user name another configuration (-C) only when the
# default main.cf lists it in alternate_config_directories, so this runs in
# a mount namespace of its own where /etc/postfix is a copy saying so; the
# system's /etc/postfix is not touched.
pf_sendmail_as() {
    local user=$1 etc
    shift
    [ -n "$PF_CONF" ] || bg_fatal "pf_sendmail_as: pf_setup was not called"
    etc=$PF_DIR/etc-default
    if [ ! -d "$etc" ]; then
        { cp -a /etc/postfix "$etc" &&
          echo "alternate_config_directories = $PF_CONF" >> "$etc/main.cf"; } ||
            bg_fatal "pf_sendmail_as: cannot write $etc"
    fi
    unshare -m sh -c 'mount --bind "$1" /etc/postfix && shift && exec "$@"' sh \
        "$etc" setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- \
        "$PF_SENDMAIL" -C "$PF_CONF" "$@"
}

pf_smtp() {
    [ -x "$PF_SMTPCLIENT" ] || bg_fatal "$PF_SMTPCLIENT not built (make test/tools/smtpclient)"
    "$PF_SMTPCLIENT" 127.0.0.1 "$1"
}

pf_queue_count() {
    local out
    out=$("$PF_POSTQUEUE" -c "$PF_CONF" -p 2>&1) || { echo "postqueue: $out" >&2; return 1; }
    case $out in
        *"Mail queue is empty"*) echo 0 ;;
        *) grep -c '^[0-9A-F][0-9A-F]*[*!]\{0,1\} ' <<< "$out" ;;
    esac
}

pf_wait_queue_empty() {
    local timeout=${1:-$PF_TIMEOUT} end n
    bg__now
    end=$((BG__MS + timeout * 1000))
    while :; do
        n=$(pf_queue_count) && [ "$n" = 0 ] && return 0
        bg__now
        if [ "$BG__MS" -ge "$end" ]; then
            bg_fail "queue not empty after ${timeout}s ($n messages):"
            "$PF_POSTQUEUE" -c "$PF_CONF" -p 2>&1 | head -n 20 | sed 's/^/    /'
            return 1
        fi
        sleep 0.1
    done
}

pf_finish() {
    echo "# $BG_TEST: $BG_PASSED passed, $BG_FAILED failed"
    bg_finish
}

# ------------------------------------------------------------- daemon stop

# libmilter notices a stop request (SIGTERM) only when its accept loop
# wakes up, which is every 5 s (MI_CHK_TIME) or at the next connection.
# One probe connection after the SIGTERM makes it stop at once.
pf__nudge_daemon() {
    local _try
    for _try in 1 2 3; do
        bg__alive "$BG_PID" || return 0
        "$BG_MTCLIENT" -q -t 200 "$BG_SOCK" > /dev/null 2>&1
        sleep 0.02
    done
}

# pf_stop_daemon - bg_stop_daemon (SIGTERM, bounded wait, exit status
# checked), with the wake-up connection so it takes milliseconds, not up to
# 5 s.
pf_stop_daemon() {
    [ -n "${BG_PID:-}" ] || { bg_fail "pf_stop_daemon: daemon not started"; return 1; }
    kill -TERM "$BG_PID" 2> /dev/null
    pf__nudge_daemon
    bg_stop_daemon
}
