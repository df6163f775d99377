#!/bin/bash
# 92-watch: what a postmaster watches (issue 15), over MetricsListen.
#   - /metrics: `promtool check metrics` accepts it; a session from
#     app@site.test refused for one recipient and accepted for another moves
#     rcpt_total and the fleet's sender_recipients for site.test;
#   - the shipped alert rules pass `promtool check rules` and their unit
#     tests (`promtool test rules`);
#   - the status page in a real browser (Debian's chromium, headless): the
#     senders of the last hour, busy.test's hard and bounce rates (3 hard
#     bounces of 100 sent) highlighted, the breaker closed, the latest
#     suppression with its evidence; and a screenshot of it;
#   - anything but GET/HEAD of /metrics and / is refused;
#   - the Grafana dashboard is valid JSON and queries only series that
#     /metrics serves.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
for tool in promtool chromium curl python3; do
    command -v "$tool" > /dev/null || bg_fatal "$tool not installed (.ci/install-deps)"
done
bg_start_memcached
port=$(bg_free_port) || bg_fatal "no free port"
mport=$(bg_free_port) || bg_fatal "no free port"
jdir=$BG_TMP/journal
mkdir -p "$jdir" && chown nobody "$jdir" || bg_fatal "cannot make $jdir"
conf=$BG_TMP/bg.conf
cat > "$conf" <<CONF
Socket inet:$port@127.0.0.1
Memcached --SERVER=$MC_SERVER --BINARY-PROTOCOL
KeyPrefix wt:
UserID nobody
Scope all
StatsInterval 1s
MetricsListen 127.0.0.1:$mport
Journal $jdir/journal
CONF
chmod 644 "$conf"
ctl() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$BG_CTL" -c "$conf" "$@"; }
ctl add bob@example.com --class hard --reason userunknown --status 5.1.1 > /dev/null 2>&1 ||
    bg_fatal "cannot add bob"
bg_start_daemon "$conf"
url=http://127.0.0.1:$mport
bg_assert_grep "start: action=listen metrics=127\.0\.0\.1:$mport" "$BG_TMP/daemon.log" \
    "the daemon says where it listens"

printf 'connect app.site.test 203.0.113.5\nmail <app@site.test>\nrcpt <bob@example.com>\nrcpt <alice@example.com>\nquit\n' |
    "$BG_MTCLIENT" -t 5000 "$BG_SOCK" > "$BG_TMP/s1.out" 2>&1
bg_assert_grep 'rcpt <bob@example.com>: reply 550' "$BG_TMP/s1.out" "bob refused"
# busy.test: 100 recipients accepted, then 3 of them bounce hard.
printf 'connect app.busy.test 203.0.113.6\nmail <app@busy.test>\nrcpt <u%%RUN%%@example.org>\n' > "$BG_TMP/busy.in"
"$BG_MTCLIENT" -t 10000 -n 100 -c 5 "$BG_SOCK" < "$BG_TMP/busy.in" > "$BG_TMP/busy.out" 2>&1
bg_assert_grep 'runs=100 ok=100 errors=0' "$BG_TMP/busy.out" "busy.test: 100 sessions"
for n in 1 2 3; do
    cat > "$BG_TMP/dsn$n.in" <<IN
macro connect {daemon_name}=bouncegate-dsn
connect localhost 127.0.0.1
mail
rcpt app@busy.test
data
header From: Mail Delivery System <MAILER-DAEMON@mx.busy.test>
header Subject: Undelivered Mail Returned to Sender
header MIME-Version: 1.0
header Content-Type: multipart/report; report-type=delivery-status; boundary="BND"
eoh
body --BND
body Content-Type: message/delivery-status
body
body Reporting-MTA: dns; mx.busy.test
body X-Postfix-Queue-ID: QWATCH$n
body
body Final-Recipient: rfc822; u$n@example.org
body Action: failed
body Status: 5.1.1
body Diagnostic-Code: smtp; 550 5.1.1 <u$n@example.org>: Recipient address rejected: User unknown in virtual mailbox table
body
body --BND--
eom
IN
    "$BG_MTCLIENT" -t 5000 "$BG_SOCK" < "$BG_TMP/dsn$n.in" > /dev/null 2>&1
done
bg_assert_grep 'QWATCH3: action=suppress rcpt=<u3@example\.org> class=hard' "$BG_TMP/daemon.log" \
    "the three DSNs were learned"

# The figures reach memcached within a StatsInterval or two.
bg__now; end=$((BG__MS + BG_TIMEOUT * 1000))
until curl -s -f "$url/metrics" > "$BG_TMP/metrics.txt" &&
    grep -q '^bouncegate_sender_recipients{window="1h",domain="busy\.test",outcome="hard"} 3$' "$BG_TMP/metrics.txt"; do
    bg__now
    [ "$BG__MS" -ge "$end" ] && break
    sleep 0.2
done
if promtool check metrics < "$BG_TMP/metrics.txt" > "$BG_TMP/promtool.out" 2>&1; then
    bg_pass "promtool check metrics accepts /metrics"
else
    bg_fail "promtool check metrics: $(head -n 5 "$BG_TMP/promtool.out")"
fi
m=$(cat "$BG_TMP/metrics.txt")
bg_assert_match 'bouncegate_rcpt_total\{decision="refused"\} 1' "$m" "/metrics: one recipient refused"
bg_assert_match 'bouncegate_rcpt_total\{decision="accepted"\} 101' "$m" "/metrics: 101 accepted"
bg_assert_match 'bouncegate_lookup_duration_seconds_count 102' "$m" "/metrics: 102 lookups timed"
bg_assert_match 'bouncegate_learned_total\{class="hard",source="postfix-dsn"\} 3' "$m" \
    "/metrics: three hard bounces learned from Postfix's DSNs"
bg_assert_match 'bouncegate_sender_recipients\{window="1h",domain="site\.test",outcome="refused"\} 1' "$m" \
    "/metrics: the fleet's figures for site.test"
bg_assert_match 'bouncegate_sender_rate\{window="1h",domain="busy\.test",rate="hard"\} 0\.030000' "$m" \
    "/metrics: busy.test's hard rate, 3%"
bg_assert_match 'bouncegate_breaker_open 0' "$m" "/metrics: the breaker closed"

for f in bouncegate-alerts.yml; do
    if promtool check rules "$BG_TOP/conf/prometheus/$f" > "$BG_TMP/rules.out" 2>&1; then
        bg_pass "promtool check rules $f"
    else
        bg_fail "promtool check rules $f: $(cat "$BG_TMP/rules.out")"
    fi
done
if (cd "$BG_TOP" && promtool test rules conf/prometheus/bouncegate-alerts.test.yml) > "$BG_TMP/rtest.out" 2>&1; then
    bg_pass "promtool test rules: the shipped alerts fire as their tests say"
else
    bg_fail "promtool test rules: $(cat "$BG_TMP/rtest.out")"
fi

# The page, as a browser shows it, once the stats thread has caught up
# the longer windows (they are read again when behind the last hour).
bg__now; end=$((BG__MS + BG_TIMEOUT * 1000))
until curl -s -f "$url/" | tr -d '\n' |
    grep -q -E '<table id="senders-7d">.*<td>busy\.test</td><td class="num">100</td>'; do
    bg__now
    [ "$BG__MS" -ge "$end" ] && break
    sleep 0.2
done
# The page, as a browser shows it.
chrome() { HOME=$BG_TMP timeout 120 chromium --headless --no-sandbox --disable-gpu \
               --no-first-run --window-size=1280,1200 "$@" 2>> "$BG_TMP/chromium.log"; }
chrome --dump-dom "$url/" > "$BG_TMP/dom.html"
dom=$(tr -d '\n' < "$BG_TMP/dom.html")
bg_assert_match '<title>bouncegate on [^<]+</title>' "$dom" "the page has loaded in chromium"
bg_assert_match '<table id="senders-1h">.*<td>busy\.test</td><td class="num">100</td><td class="num">0</td><td class="num">3</td>' \
    "$dom" "senders of the last hour: busy.test, 100 sent, 3 hard"
bg_assert_match '<table id="senders-24h">.*<td>busy\.test</td><td class="num">100</td>.*<table id="senders-7d">.*<td>busy\.test</td><td class="num">100</td>' \
    "$dom" "... and of the last day and week"
bg_assert_match '<td>busy\.test</td>(<td class="num">[0-9]+</td>){7}<td class="num over">3\.00%</td><td class="num over">3\.00%</td><td class="num">0\.000%</td>' \
    "$dom" "busy.test's bounce and hard rates highlighted, its complaint rate not"
bg_assert_match '<td>site\.test</td><td class="num">1</td><td class="num">1</td>(<td class="num">0</td>){5}<td class="num">0\.00%</td>' \
    "$dom" "site.test: 1 sent, 1 refused, nothing highlighted (too few to judge)"
bg_assert_match 'id="breaker" class="ok">Circuit breaker: <b>closed</b>' "$dom" "the breaker is shown closed"
bg_assert_match "<table id=\"servers\">.*<td>127\\.0\\.0\\.1:$MC_PORT</td>" "$dom" "the memcached server that answers"
bg_assert_match '<table id="latest">.*<td>u3@example\.org</td><td>hard</td><td>userunknown</td><td>5\.1\.1</td><td>postfix-dsn</td><td class="diag">[^<]*User unknown in virtual mailbox table' \
    "$dom" "the latest suppression with its evidence"
chrome --screenshot="$BG_TMP/status-page.png" "$url/" > /dev/null
if [ "$(head -c 8 "$BG_TMP/status-page.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
    [ "$(stat -c %s "$BG_TMP/status-page.png")" -gt 20000 ]; then
    bg_pass "chromium took a screenshot of the page ($(stat -c %s "$BG_TMP/status-page.png") bytes)"
else
    bg_fail "no screenshot: $(tail -n 3 "$BG_TMP/chromium.log")"
fi
[ -n "${BG_KEEP_SCREENSHOT:-}" ] && cp "$BG_TMP/status-page.png" "$BG_KEEP_SCREENSHOT"

bg_assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "$url/etc/passwd")" "other paths: 404"
bg_assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/metrics")" "POST: 405"
bg_assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "$url/")" "HEAD /: 200"

# The dashboard: JSON, and every series it asks for is one /metrics serves.
dash=$BG_TOP/conf/grafana/bouncegate-dashboard.json
if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$dash" 2> "$BG_TMP/json.err"; then
    bg_pass "the Grafana dashboard is valid JSON"
else
    bg_fail "the Grafana dashboard: $(cat "$BG_TMP/json.err")"
fi
missing=
for s in $(grep -o 'bouncegate_[a-z_]*' "$dash" | sort -u); do
    base=${s%_bucket}
    grep -q "^# TYPE $base " "$BG_TMP/metrics.txt" || missing="$missing $s"
done
bg_assert_eq "" "$missing" "the dashboard asks only for series /metrics serves"

bg_stop_daemon && bg_pass "daemon stopped cleanly"
bg_finish
