#!/bin/bash
# shellcheck source=test/e2e/lib-sendmail.sh
# Real bounces from a real Sendmail (Debian's sm-mta 8.17; issue 17): the
# cases of cases/real-bounces.tsv, as 26-real-bounces-postfix.sh does for
# Postfix. Sendmail tries each message at once; one that fails temporarily
# stays queued and is bounced at the first queue run after
# confTO_QUEUERETURN (5 s here, queue runs every 5 s). No milter: this is
# about reading what Sendmail writes (its DSNs never pass through one).
. "$(dirname "$0")/lib-sendmail.sh"
. "$(dirname "$0")/lib-bounces.sh"
sm_private_syslog "$@"
rb_servers
run=/run/bouncegate
mkdir -p "$run" && chmod 0750 "$run" || bg_fatal "cannot create $run"
SM_QUEUERETURN=5s SM_QUEUE_INTERVAL=5s sm_setup /run/sendmail-e2e "$run/none.sock"
# no milter at all (the filter line names a socket nobody listens on, and
# F= lets mail through; but leave it out to keep this about the bounces)
sed -i '/^INPUT_MAIL_FILTER/d' /run/sendmail-e2e/sendmail.mc
m4 /run/sendmail-e2e/sendmail.mc > "$SM_CF" || bg_fatal "m4 could not rebuild sendmail.cf"
SM_QUEUE_INTERVAL=5s sm_start
rb_send "$SM_MTA_PORT" sendmail
RB_TIMEOUT=100 rb_wait "${#RB_CASES[@]}"
rb_check sendmail
pf_finish
