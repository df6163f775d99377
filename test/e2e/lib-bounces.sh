# shellcheck shell=bash
# test/e2e/lib-bounces.sh - the real-MTA bounce table (bash): the cases of
# test/e2e/cases/real-bounces.tsv as fake remote servers, and the check of
# the bounces an MTA returned for them. Used by 26-real-bounces-postfix.sh
# and 27-real-bounces-sendmail.sh, after lib-postfix.sh (or lib-sendmail.sh).
#
#   rb_servers            one smtp-sink per case (pf_sink), mail to
#                         CASE.test routed to it (pf_route); the "refused"
#                         case is routed to port 1, where nobody listens; site.test (the
#                         sender's domain) goes to the sink "keep", which
#                         writes each message it receives to a file of
#                         its own in RB_DIR. RB_CASES: the case names.
#   rb_send PORT MTA      sends one message per case over SMTP to PORT,
#                         from app@site.test to user@CASE.test.
#   rb_wait COUNT         waits until RB_DIR holds COUNT messages.
#   rb_check MTA          classifies every bounce in RB_DIR with
#                         bouncegatectl classify --json; one PASS/FAIL per
#                         case: exactly one failed recipient,
#                         user@CASE.test, with the table's class and
#                         reason (or one of its reasons). Copies the bounces to $RB_KEEP/MTA/CASE.eml
#                         when RB_KEEP is set (how test/fixtures/mta/ was
#                         made).
RB_TABLE=$BG_TOP/test/e2e/cases/real-bounces.tsv
RB_DIR='' RB_CASES=()
declare -A RB_CLASS RB_REASON RB_EXCEPT

rb_servers() {
    local name cls reason args line
    RB_DIR=$BG_TMP/bounces
    mkdir -p "$RB_DIR" && chown postfix "$RB_DIR" || bg_fatal "cannot create $RB_DIR"
    local k=20
    pf_sinks_init
    # RB_SPREAD: each server on a loopback address of its own (127.0.0.K),
    # for an MTA that takes all ports of one address for one destination
    [ -n "${RB_SPREAD:-}" ] && PF_SINK_HOST=127.0.0.19
    pf_sink keep -d "$RB_DIR/%s."
    pf_route site.test keep
    while IFS=$'\t' read -r name cls reason line except; do
        case $name in ''|'#'*) continue ;; esac
        RB_CASES+=("$name")
        RB_CLASS[$name]=$cls RB_REASON[$name]=$reason RB_EXCEPT[$name]=${except:-}
        [ -n "${RB_SPREAD:-}" ] && PF_SINK_HOST=127.0.0.$((k++))
        if [ "$name" = refused ]; then
            # no server at all: port 1 (tcpmux), where nothing listens on
            # a mail host - a port freed by a stopped sink could be taken
            # again by the next one, or by the MTA itself
            PF_SINK_PORT[$name]=1
            PF_SINK_ADDR[$name]=${PF_SINK_HOST:-127.0.0.1}
        else
            eval "args=($line)"
            pf_sink "$name" "${args[@]}"
        fi
        pf_route "$name.test" "$name"
    done < "$RB_TABLE"
    unset PF_SINK_HOST
    [ "${#RB_CASES[@]}" -ge 10 ] || bg_fatal "only ${#RB_CASES[@]} cases in $RB_TABLE"
}

rb_send() {
    local port=$1 mta=$2 name
    for name in "${RB_CASES[@]}"; do
        printf 'EHLO app.site.test\nMAIL FROM:<app@site.test>\nRCPT TO:<user@%s.test>\nDATA\nFrom: app@site.test\nTo: user@%s.test\nSubject: case %s\nMessage-ID: <%s@site.test>\n\nhello\n.\nQUIT\n' \
            "$name" "$name" "$name" "$name" | pf_smtp "$port" > "$BG_TMP/$name.out" 2>&1
        grep -q '^\. -> 250 ' "$BG_TMP/$name.out" ||
            bg_fail "$mta $name: the message was not accepted: $(tail -n 2 "$BG_TMP/$name.out")"
    done
}

rb_count() { find "$RB_DIR" -type f | wc -l; }

rb_wait() {
    local want=$1 end
    bg__now; end=$((BG__MS + ${RB_TIMEOUT:-120} * 1000))
    until [ "$(rb_count)" -ge "$want" ] || [ "$BG__MS" -ge "$end" ]; do
        sleep 0.2
        bg__now
    done
    if [ "$(rb_count)" -ge "$want" ]; then
        bg_pass "$want bounces returned to the sender"
    else
        bg_fail "only $(rb_count) of $want bounces returned to the sender"
    fi
}

rb_check() {
    local mta=$1 name f out got want n
    : > "$BG_TMP/rb.json"
    for f in $(find "$RB_DIR" -type f | sort); do
        "$BG_CTL" classify --json "$f" >> "$BG_TMP/rb.json"
    done
    # one line per recipient: recipient class reason action file
    perl -MJSON::PP -ne 'my $o = decode_json($_);
        print join("\t", map { $_ eq "" ? "-" : $_ } @$o{qw(recipient class reason action file)}), "\n"' \
        "$BG_TMP/rb.json" > "$BG_TMP/rb.tsv" || bg_fatal "bouncegatectl classify --json printed no JSON"
    for name in "${RB_CASES[@]}"; do
        local cls=${RB_CLASS[$name]} reasons=${RB_REASON[$name]} x
        for x in ${RB_EXCEPT[$name]}; do
            if [ "${x%%=*}" = "$mta" ]; then
                cls=${x#*=} cls=${cls%%/*} reasons=${x#*/}
            fi
        done
        want="user@$name.test	$cls	$reasons"
        out=$(grep -i "^user@$name\.test	" "$BG_TMP/rb.tsv")
        n=$(grep -c . <<< "$out")
        got=$(cut -f1-3 <<< "$out" | head -n 1)
        f=$(cut -f5 <<< "$out" | head -n 1)
        local reason=${got##*	} ok=0 r
        for r in ${reasons//|/ }; do [ "$reason" = "$r" ] && ok=1; done
        if [ -z "$out" ]; then
            bg_fail "$mta $name: no bounce names user@$name.test"
        elif [ "$n" -ne 1 ]; then
            bg_fail "$mta $name: $n lines for user@$name.test"
        elif [ "${got%	*}" != "user@$name.test	$cls" ] || [ "$ok" -ne 1 ]; then
            bg_fail "$mta $name: read as '$got', want '$want' (diag: $(grep -i "\"recipient\":\"user@$name\.test\"" "$BG_TMP/rb.json" | sed -n 's/.*"diag":"\([^"]*\)".*/\1/p' | head -n 1))"
        else
            bg_pass "$mta $name: user@$name.test $cls $reason"
        fi
        if [ -n "${RB_KEEP:-}" ] && [ -n "$f" ]; then
            mkdir -p "$RB_KEEP/$mta" && cp "$f" "$RB_KEEP/$mta/$name.eml"
        fi
    done
    # Nobody else: a bounce names its failed recipient only - never the
    # sender, the postmaster, a help text's address or the original's To:.
    local others
    others=$(grep -v -i '^user@[a-z0-9-]*\.test	' "$BG_TMP/rb.tsv" | cut -f1,2,5)
    bg_assert_eq "" "$others" "$mta: no line for any other address"
}
