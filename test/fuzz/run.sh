#!/bin/sh
# run.sh SECONDS BIN... - run each libFuzzer binary for SECONDS with its
# seeds from test/fuzz/corpus/<name without fuzz_>/, copied to a temporary
# working corpus so the repository's seed folder is never written to.
# Prints one line per target:
#   fuzz NAME: N runs in S s, no crash
# or, on a crash (or sanitizer report, timeout, out-of-memory), the end of
# the fuzzer's log and
#   fuzz NAME: CRASH after S s (exit N), reproducer: test/fuzz/crashes/...
# and goes on with the next target; the exit status is 1 when any target
# failed. Reproduce with: test/fuzz/bin/fuzz_NAME REPRODUCER
set -u
[ $# -ge 2 ] || { echo "usage: $0 SECONDS BIN..." >&2; exit 2; }
secs=$1; shift
case $secs in
    ''|*[!0-9]*) echo "$0: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
rc=0
for bin in "$@"; do
    name=$(basename "$bin"); short=${name#fuzz_}
    if [ ! -x "$bin" ]; then
        echo "fuzz $short: FAILED: $bin is not an executable (build it with make fuzz)"
        rc=1
        continue
    fi
    work=$(mktemp -d) || exit 1
    mkdir -p "$work/corpus" "$here/crashes"
    if [ -d "$here/corpus/$short" ]; then
        cp -R "$here/corpus/$short/." "$work/corpus/" 2>/dev/null
    else
        echo "fuzz $short: warning: no seeds in $here/corpus/$short" >&2
    fi
    start=$(date +%s)
    "$bin" -max_total_time="$secs" -max_len=1100000 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$here/crashes/$name-" -print_final_stats=1 \
        "$work/corpus" > "$work/log" 2>&1
    st=$?
    end=$(date +%s)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    if [ $st -ne 0 ]; then
        tail -n 60 "$work/log"
        # libFuzzer: "Test unit written to <path>" (crash-, leak-, timeout-, oom-)
        art=$(sed -n 's/.*Test unit written to //p' "$work/log" | tail -n 1)
        echo "fuzz $short: CRASH after $((end - start)) s (exit $st), reproducer: ${art:-none written, see $here/crashes/}"
        rc=1
    else
        echo "fuzz $short: ${runs:-?} runs in $((end - start)) s, no crash"
    fi
    rm -rf "$work"
done
exit $rc
