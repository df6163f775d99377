#!/bin/sh
# corpus-recall.sh - how many labelled recipients of the shared Sisimai
# corpus bg_dsn_parse finds (test/tools/dsndump over every sample).
#
#   sh test/corpus-recall.sh [CORPUS_DIR]    (default ../shared/corpus/sisimai,
#                                             else /work/shared/corpus/sisimai)
# Rows whose same_content_as is set are duplicates and are not counted;
# rows with a blank recipient (vacation auto-replies) count as found when
# the file is reported as a report of any kind. Prints the recall and the
# missed rows. Exit 0 always when the corpus is absent (it is optional).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-}
if [ -z "$dir" ]; then
    for d in "$here/../shared/corpus/sisimai" /work/shared/corpus/sisimai; do
        [ -f "$d/labels.tsv" ] && { dir=$d; break; }
    done
fi
if [ -z "$dir" ] || [ ! -f "$dir/labels.tsv" ]; then
    echo "corpus-recall: no corpus found, skipped"; exit 0
fi
tool=$here/test/tools/dsndump
[ -x "$tool" ] || (cd "$here" && make -s test/tools/dsndump) || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
(cd "$dir" && "$tool" maildir/bsd/*.eml) > "$tmp/out.tsv"
awk -F'\t' -v out="$tmp/out.tsv" '
BEGIN {
    while ((getline line < out) > 0) {
        split(line, f, "\t")
        if (f[5] != "-") found[f[1] SUBSEP tolower(f[5])] = 1
        if (f[2] != "none") any[f[1]] = 1
        kind[f[1]] = f[2]
    }
}
NR == 1 { next }
$9 != "" { next }
{
    total++
    if ($3 == "") { ok = ($1 in any) }
    else { ok = (($1 SUBSEP tolower($3)) in found) }
    if (ok) hit++
    else missed[++nm] = $1 "\t" $3 "\t" $6 "\t(kind " kind[$1] ")"
}
END {
    for (i = 1; i <= nm; i++) print "missed\t" missed[i]
    printf "recall: %d/%d = %.2f%%\n", hit, total, total ? 100 * hit / total : 0
}' "$dir/labels.tsv"
