#!/bin/sh
# run.sh SECONDS BIN... - run each libFuzzer binary for SECONDS with its
# seeds from test/fuzz/corpus/<name without fuzz_>/, copied to a temporary
# working corpus so the repository's seed folder is never written to.
# Fails on the first crash (the reproducer is kept in test/fuzz/crashes/).
set -u
[ $# -ge 2 ] || { echo "usage: $0 SECONDS BIN..." >&2; exit 2; }
secs=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
rc=0
for bin in "$@"; do
    name=$(basename "$bin"); short=${name#fuzz_}
    work=$(mktemp -d) || exit 1
    mkdir -p "$work/corpus" "$here/crashes"
    [ -d "$here/corpus/$short" ] && cp -R "$here/corpus/$short/." "$work/corpus/" 2>/dev/null
    start=$(date +%s)
    "$bin" -max_total_time="$secs" -max_len=1100000 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$here/crashes/$name-" -print_final_stats=1 \
        "$work/corpus" > "$work/log" 2>&1
    st=$?
    end=$(date +%s)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    if [ $st -ne 0 ]; then
        tail -n 60 "$work/log"
        echo "fuzz $short: CRASH after $((end - start)) s (exit $st), see $here/crashes/"
        rc=1
    else
        echo "fuzz $short: ${runs:-?} runs in $((end - start)) s, no crash"
    fi
    rm -rf "$work"
done
exit $rc
