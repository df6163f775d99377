#!/bin/sh
# Runs each Check unit-test program; with VALGRIND=1 under valgrind with
# leak checking (CK_FORK=no so valgrind sees the tests themselves).
# Prints one closing line "N passed, N failed" over all programs.
pass=0 fail=0
for t in "$@"; do
    if [ -n "$VALGRIND" ]; then
        out=$(CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full \
              --errors-for-leak-kinds=definite,indirect "$t" 2>&1); rc=$?
    else
        out=$("$t" 2>&1); rc=$?
    fi
    printf '%s\n' "$out"
    # Check prints "NN%: Checks: N, Failures: N, Errors: N"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
    n=$(printf '%s' "$line" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.*Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2/p')
    if [ -z "$n" ]; then
        echo "FAIL: $t produced no Check summary (rc=$rc)"; fail=$((fail + 1)); continue
    fi
    nf=$(echo $f | awk '{print $1 + $2}')
    pass=$((pass + n - nf)); fail=$((fail + nf))
    if [ $rc -ne 0 ] && [ "$nf" -eq 0 ]; then
        echo "FAIL: $t exited $rc"; fail=$((fail + 1))
    fi
done
echo "unit: $pass passed, $fail failed"
[ $fail -eq 0 ]
