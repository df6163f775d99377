#!/bin/bash
# Real bounces from a real Exim (Debian's exim4-daemon-light 4.96; issue
# 17): the cases of cases/real-bounces.tsv, as 26-real-bounces-postfix.sh
# does for Postfix. Exim's packages conflict with Postfix, so
# .ci/install-deps unpacks them into EX_ROOT (and creates the Debian-exim
# user the binary runs as); a private configuration (-C, exim_path so that
# Exim re-executes the same binary) routes every domain to its fake remote
# server by port. A message that fails temporarily is retried every 2 s
# and bounced once the retry rule's 5 s are over. No milter.
. "$(dirname "$0")/lib-postfix.sh"
. "$(dirname "$0")/lib-bounces.sh"
EX_ROOT=${EX_ROOT:-/opt/bouncegate-ci/exim}
EX_BIN=$EX_ROOT/usr/sbin/exim4
bg_tmpdir
[ -x "$EX_BIN" ] || bg_fatal "no Exim at $EX_BIN: run .ci/install-deps (it unpacks Debian's exim4 packages there)"
getent passwd Debian-exim > /dev/null || bg_fatal "no user Debian-exim (.ci/install-deps creates it)"
rb_servers

ex=$BG_TMP/exim
mkdir -p "$ex/spool" "$ex/log" && chown Debian-exim "$ex/spool" "$ex/log" ||
    bg_fatal "cannot create $ex"
for d in "${!PF__ROUTES[@]}"; do
    echo "$d: ${PF_SINK_PORT[${PF__ROUTES[$d]}]}"
done > "$ex/ports"
port=$(bg_free_port) || bg_fatal "no free port for Exim"
cat > "$ex/exim.conf" <<CONF
exim_path = $EX_BIN
primary_hostname = mta.exim.test
spool_directory = $ex/spool
log_file_path = $ex/log/%slog
daemon_smtp_ports = $port
local_interfaces = 127.0.0.1
tls_advertise_hosts =
keep_environment =
host_lookup =
trusted_users = root
never_users =
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  accept
begin routers
to_sinks:
  driver = manualroute
  route_list = * 127.0.0.1
  transport = to_sink
  self = send
begin transports
to_sink:
  driver = smtp
  port = \${lookup{\$domain}lsearch{$ex/ports}{\$value}{1}}
  allow_localhost
  # every server here is 127.0.0.1 on a port of its own: Exim would send
  # other messages waiting for "127.0.0.1" down an open connection to
  # another port
  connection_max_messages = 1
begin retry
*  *  F,5s,1s
CONF
"$EX_BIN" -C "$ex/exim.conf" -bV > "$ex/bV.out" 2>&1 || {
    sed 's/^/    /' "$ex/bV.out"
    bg_fatal "Exim does not accept the configuration"
}
"$EX_BIN" -C "$ex/exim.conf" -bdf -q2s > "$ex/daemon.out" 2>&1 < /dev/null &
bg_track $!
bg__now; end=$((BG__MS + BG_TIMEOUT * 1000))
until "$PF_SMTPCLIENT" -t 2 127.0.0.1 "$port" < /dev/null 2> /dev/null | grep -q '^greeting -> 220'; do
    bg__now
    if [ "$BG__MS" -ge "$end" ]; then
        tail -n 20 "$ex/log/mainlog" "$ex/daemon.out" 2> /dev/null | sed 's/^/    /'
        bg_fatal "Exim did not greet on port $port"
    fi
    sleep 0.1
done
bg_pass "Exim $("$EX_BIN" -C "$ex/exim.conf" -bV 2> /dev/null | sed -n 's/^Exim version \([^ ]*\).*/\1/p') up on port $port"
rb_send "$port" exim
RB_TIMEOUT=100 rb_wait "${#RB_CASES[@]}"
rb_check exim
pf_finish
