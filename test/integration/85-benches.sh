#!/bin/bash
# 85-benches: the benchmark scripts the docs cite (make bench-rcpt, make
# bench-rss, make bench-verify: rcpt-bench.sh, postfix-bench.sh,
# recover-time.sh, restore-rss.sh, nonsmtp-rss.sh, verify-bench.sh;
# docs/rcpt-path.md) run and print their figures. Tiny sizes, and
# nothing about the figures themselves is asserted: they are measurements.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
for m in empty-milter lookup-milter; do
    [ -x "$BG_TOP/test/bench/$m" ] || bg_fatal "test/bench/$m not built (make)"
done

out=$(SESSIONS=50 REPEATS=1 CONCURRENCY="1 5" bash "$BG_TOP/test/bench/rcpt-bench.sh" 2>&1)
rc=$?
bg_assert_eq 0 "$rc" "rcpt-bench.sh ran"
for c in 1 5; do
    bg_assert_match "C=$c +cpu/rcpt best: empty [0-9.]+, lookup [0-9.]+, bouncegate [0-9.]+ us = [0-9.]+x empty, [0-9.]+x lookup +p99 best: empty [0-9]+, lookup [0-9]+, bouncegate [0-9]+ us" \
        "$out" "rcpt-bench.sh: a summary line for $c session(s) at once"
done
for m in empty lookup bouncegate; do
    bg_assert_match "$m +C=5 +cpu/rcpt +[0-9.]+ us +memcached/rcpt +[0-9.]+ us +p50 +[0-9]+ us +p99 +[0-9]+ us" \
        "$out" "rcpt-bench.sh: a line per turn of the $m milter"
done
[ "$rc" = 0 ] || echo "$out" | tail -n 20 | sed 's/^/    /'

out=$(ADDRESSES=300 DOMAINS=30 bash "$BG_TOP/test/bench/verify-bench.sh" 2>&1)
rc=$?
bg_assert_eq 0 "$rc" "verify-bench.sh ran"
bg_assert_match "verify-bench: addresses=300 domains=30 concurrency=100 seconds=[0-9.]+ addresses_per_s=[0-9]+ maxrss_kb=[0-9]+ ok=300 exit=0" \
    "$out" "verify-bench.sh: its figures"
[ "$rc" = 0 ] || echo "$out" | tail -n 20 | sed 's/^/    /'

out=$(N=50 REPEATS=2 bash "$BG_TOP/test/bench/recover-time.sh" 2>&1)
rc=$?
bg_assert_eq 0 "$rc" "recover-time.sh ran"
bg_assert_match "turn 2: refused again [0-9]+ ms after memcached answered \(restore: [0-9.]+ s\)" "$out" \
    "recover-time.sh: a line per turn"
bg_assert_match "# summary: refused again after [0-9]+ ms \(best\), [0-9]+ ms \(worst\)" "$out" \
    "recover-time.sh: the summary"
[ "$rc" = 0 ] || echo "$out" | tail -n 20 | sed 's/^/    /'

out=$(N=2000 bash "$BG_TOP/test/bench/restore-rss.sh" 2>&1)
rc=$?
bg_assert_eq 0 "$rc" "restore-rss.sh ran"
bg_assert_match "restore: action=restore entries=2000 " "$out" "restore-rss.sh: the daemon restored the 2,000 entries"
bg_assert_match "VmRSS:[[:space:]]+[0-9]+ kB" "$out" "restore-rss.sh: the RSS after the restore"
[ "$rc" = 0 ] || echo "$out" | tail -n 20 | sed 's/^/    /'

out=$(MESSAGES=50 REPEATS=1 bash "$BG_TOP/test/bench/postfix-bench.sh" 2>&1)
rc=$?
bg_assert_eq 0 "$rc" "postfix-bench.sh ran"
bg_assert_match "with +milter +Postfix +[0-9.]+ ms/message +bouncegate +[0-9.]+ ms/message" "$out" \
    "postfix-bench.sh: a turn with bouncegate"
bg_assert_match "summary \(best turns\): Postfix CPU per message with bouncegate [0-9.]+ ms, without [0-9.]+ ms = [0-9.]+x" \
    "$out" "postfix-bench.sh: the ratio"
[ "$rc" = 0 ] || echo "$out" | tail -n 20 | sed 's/^/    /'

out=$(N=300 bash "$BG_TOP/test/bench/nonsmtp-rss.sh" 2>&1)
rc=$?
bg_assert_eq 0 "$rc" "nonsmtp-rss.sh ran"
bg_assert_match "removed=300" "$out" "nonsmtp-rss.sh: the 300 suppressed recipients were removed at end of message"
bg_assert_match "VmHWM:[[:space:]]+[0-9]+ kB" "$out" "nonsmtp-rss.sh: the peak RSS"
[ "$rc" = 0 ] || echo "$out" | tail -n 20 | sed 's/^/    /'
bg_finish
