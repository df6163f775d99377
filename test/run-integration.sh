#!/bin/bash
# Runs every test/integration/NN-name.sh in order (bash; started as
# "sh test/run-integration.sh" by make it re-executes itself under bash).
#
#   test/run-integration.sh [SUBSTRING...]   only tests whose name contains one
#
# Prints each test's output (its PASS:/FAIL: lines, diffs, logs of failures)
# and ends with the single line "integration: N passed, M failed"; exits
# non-zero on any failure. A test that exits non-zero without a FAIL line,
# reports nothing, or runs longer than BG_TEST_TIMEOUT seconds (default
# 300) counts as one more failure. Finding no test at all is a failure.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
export BG_TOP=$top
limit=${BG_TEST_TIMEOUT:-300}
pass=0 fail=0
logdir=$(mktemp -d "${TMPDIR:-/tmp}/bg-run.XXXXXX") || exit 2
trap 'rm -rf "$logdir"' EXIT

for tool in mtclient freeport; do
    if [ ! -x "$top/test/tools/$tool" ]; then
        echo "FAIL: run-integration: test/tools/$tool not built (make test/tools/$tool)"
        fail=$((fail + 1))
    fi
done

tests=()
for t in "$top"/test/integration/[0-9][0-9]-*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    if [ $# -gt 0 ]; then
        want=0
        for pat in "$@"; do
            case $name in *"$pat"*) want=1 ;; esac
        done
        [ $want -eq 1 ] || continue
    fi
    tests+=("$t")
done
if [ ${#tests[@]} -eq 0 ]; then
    echo "FAIL: run-integration: no integration tests found${*:+ matching $*}"
    fail=$((fail + 1))
fi

for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    log=$logdir/$name.log
    BG_TEST=$name timeout -k 10 "$limit" bash "$t" < /dev/null 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    p=$(grep -c '^PASS: ' "$log")
    f=$(grep -c '^FAIL: ' "$log")
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "FAIL: $name: timed out after ${limit}s"
        f=$((f + 1))
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL: $name: exited with status $rc without a FAIL line"
        f=$((f + 1))
    elif [ $((p + f)) -eq 0 ]; then
        echo "FAIL: $name: reported no PASS or FAIL"
        f=$((f + 1))
    fi
    pass=$((pass + p))
    fail=$((fail + f))
done

echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
