#!/bin/bash
# Runs every test/e2e/NN-name.sh in order: end-to-end tests with a real
# private Postfix instance (test/e2e/lib-postfix.sh), real memcached and the
# real daemon. Needs root and Postfix installed (smtp-sink included).
#
#   test/run-e2e.sh [SUBSTRING...]   only tests whose name contains one
#
# Prints each test's output and ends with the single line
# "e2e: N passed, M failed" (totals); exits non-zero on any failure. A test
# that exits non-zero without a FAIL line, reports nothing, or runs longer
# than BG_TEST_TIMEOUT seconds (default 120) counts as one more failure.
# Finding no test is a failure. The wall-clock time of each test and of the
# whole run is printed as "# ..." lines.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
export BG_TOP=$top
limit=${BG_TEST_TIMEOUT:-120}
pass=0 fail=0
start_all=$SECONDS
logdir=$(mktemp -d "${TMPDIR:-/tmp}/bg-e2e-run.XXXXXX") || exit 2
trap 'rm -rf "$logdir"' EXIT

for tool in mtclient freeport smtpclient; do
    if [ ! -x "$top/test/tools/$tool" ]; then
        echo "FAIL: run-e2e: test/tools/$tool not built (make test/tools/$tool)"
        fail=$((fail + 1))
    fi
done
for f in milter/bouncegate milter/bouncegatectl; do
    if [ ! -x "$top/$f" ]; then
        echo "FAIL: run-e2e: $f not built (make)"
        fail=$((fail + 1))
    fi
done
if [ "$(id -u)" != 0 ]; then
    echo "FAIL: run-e2e: needs root (a private Postfix instance)"
    fail=$((fail + 1))
fi
for f in /usr/sbin/postfix /usr/sbin/sendmail /usr/sbin/smtp-sink; do
    if [ ! -x "$f" ]; then
        echo "FAIL: run-e2e: $f missing (apt-get install postfix)"
        fail=$((fail + 1))
    fi
done

tests=()
for t in "$top"/test/e2e/[0-9]*.sh; do
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
    echo "FAIL: run-e2e: no e2e tests found${*:+ matching $*}"
    fail=$((fail + 1))
fi

if [ "$fail" -eq 0 ]; then
    for t in "${tests[@]}"; do
        name=$(basename "$t" .sh)
        log=$logdir/$name.log
        t0=$SECONDS
        BG_TEST=$name timeout -k 10 "$limit" bash "$t" < /dev/null 2>&1 | tee "$log"
        rc=${PIPESTATUS[0]}
        echo "# $name: $((SECONDS - t0)) s"
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
fi

echo "# e2e total: $((SECONDS - start_all)) s"
echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
