#!/bin/bash
# The bounce parser's case tables, one per part: each directory holds its
# cases (*.eml) and the table of what the parser must find in them
# (expected.tsv, made by test/tools/dsndump: every field of every
# recipient, or of every MIME part):
#
#   test/fixtures/dsn/report/     RFC 3464 delivery status and ARF parts
#                                 (lib/dsn_report.c)
#   test/fixtures/dsn/vendor/     formats without a DSN part (dsn_vendor.c,
#                                 dsn_ses.c)
#   test/fixtures/dsn/text/       where a recipient's reason is in the text
#                                 (dsn_text.c, dsn_region.c)
#   test/fixtures/dsn/autoreply/  auto-replies, and bounces that are none
#                                 (dsn.c)
#   test/fixtures/mime/           the MIME walk and decoders (mime_walk.c,
#                                 mime_decode.c), dsndump --mime
#   test/fixtures/mta/MTA/        bounces real MTAs wrote (the e2e tests
#                                 26- and 27-real-bounces-*), also checked
#                                 against test/e2e/cases/real-bounces.tsv
#
# A new case is a new .eml and its lines in expected.tsv:
#   (cd test/fixtures/dsn/vendor && ../../../tools/dsndump *.eml > expected.tsv)
# then read the diff before committing it.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
tool=$BG_TOP/test/tools/dsndump
[ -x "$tool" ] || bg_fatal "$tool not built (make test/tools/dsndump)"

table() {   # table DIR [--mime] - its cases against its expected.tsv
    local dir=$1 mode=${2:-} n
    n=$(cd "$dir" && ls *.eml 2>/dev/null | wc -l)
    [ "$n" -gt 0 ] || { bg_fail "no cases in $dir"; return; }
    # shellcheck disable=SC2086
    (cd "$dir" && "$tool" $mode *.eml) > "$BG_TMP/got.tsv" 2> "$BG_TMP/got.err"
    local name=${dir#"$BG_TOP"/test/fixtures/}
    if [ -s "$BG_TMP/got.err" ]; then
        bg_fail "$name: dsndump complained: $(head -n 3 "$BG_TMP/got.err")"
    elif diff -u "$dir/expected.tsv" "$BG_TMP/got.tsv" > "$BG_TMP/diff"; then
        bg_pass "$name: $n cases, $(wc -l < "$BG_TMP/got.tsv") lines as in expected.tsv"
    else
        bg_fail "$name: the parser's output differs from expected.tsv:"
        head -n 40 "$BG_TMP/diff" | sed 's/^/    /'
    fi
}

for part in report vendor text autoreply; do
    table "$BG_TOP/test/fixtures/dsn/$part"
done
table "$BG_TOP/test/fixtures/mime" --mime

# The bounces real MTAs wrote in test/e2e/26-real-bounces-postfix.sh and
# 27-real-bounces-sendmail.sh, kept (test/fixtures/mta/MTA/CASE.eml): the
# parser's table, and each read as test/e2e/cases/real-bounces.tsv says
# (class, one of the reasons, user@CASE.test the only recipient).
rb=$BG_TOP/test/e2e/cases/real-bounces.tsv
for dir in "$BG_TOP"/test/fixtures/mta/*/; do
    dir=${dir%/}
    mta=${dir##*/}
    table "$dir"
    for f in "$dir"/*.eml; do
        name=$(basename "$f" .eml)
        want=$(awk -F'\t' -v n="$name" -v m="$mta" '$1 == n {
            c = $2; r = $3
            k = split($5, x, " ")
            for (i = 1; i <= k; i++)
                if (index(x[i], m "=") == 1) { v = substr(x[i], length(m) + 2); split(v, y, "/"); c = y[1]; r = y[2] }
            print c "\t" r }' "$rb")
        [ -n "$want" ] || { bg_fail "mta/$mta/$name.eml: no case $name in $rb"; continue; }
        got=$("$BG_CTL" classify "$f" | cut -f2,4,5)
        reasons=${want#*	}
        ok=0
        for r in ${reasons//|/ }; do
            [ "$got" = "user@$name.test	${want%%	*}	$r" ] && ok=1
        done
        if [ "$ok" -eq 1 ]; then
            bg_pass "mta/$mta/$name.eml: ${got//	/ }"
        else
            bg_fail "mta/$mta/$name.eml: read as '${got//	/ }', want user@$name.test ${want//	/ }"
        fi
    done
done

# Every fixture is in exactly one table.
stray=$(cd "$BG_TOP/test/fixtures/dsn" && ls ./*.eml 2>/dev/null | wc -l)
bg_assert_eq 0 "$stray" "no case outside a part's directory"
bg_finish
