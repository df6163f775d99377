#!/bin/sh
# corpus-eval.sh - measure the classifier against Sisimai's labels on the
# shared corpus (`make corpus`). Optional: exits 0 with a message when the
# corpus is absent (a fresh clone has no ../shared).
#
#   sh test/corpus-eval.sh              BOUNCEGATECTL=path overrides the tool
#                                       (default milter/bouncegatectl),
#                                       CORPUS=dir overrides ../shared/corpus
#
# Runs `bouncegatectl classify` ONCE over every labelled sample and
# compares each labels.tsv row (rows whose same_content_as names another
# labelled sample are duplicates and not counted) with our output line for
# the same file and recipient (recipient compared case-insensitively; rows
# with a blank recipient match the file's N-th line by recipient_index):
#   recall       rows for which we report that recipient
#   reason       rows where our reason equals Sisimai's (missed rows count
#                as disagreement)
#   hard         rows where (our class == hard) == (Sisimai hardbounce == 1)
#                (a missed row counts as "not hard" for us)
#   wrong        suppressions that should not be: a row we suppress that
#                Sisimai does not call a hard bounce (complaints, which we
#                suppress by design, aside), and any address we suppress
#                that is not one of the file's labelled recipients
# then lists every disagreement. No assertions: it is a measurement; the
# targets (recall >= 98%, hard >= 97%, reason >= 90%) are printed beside.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$here/../shared/corpus}
if [ -z "${CORPUS:-}" ] && [ ! -d "$corpus" ]; then
    # a git worktree: try next to the main checkout
    common=$(cd "$here" && git rev-parse --path-format=absolute --git-common-dir 2>/dev/null) &&
        corpus=$(dirname "$common")/../shared/corpus
fi
dir=$corpus/sisimai
if [ ! -f "$dir/labels.tsv" ]; then
    echo "corpus-eval: no corpus at $corpus (optional), skipped"
    exit 0
fi
ctl=${BOUNCEGATECTL:-$here/milter/bouncegatectl}
case $ctl in /*) ;; *) ctl=$(pwd)/$ctl ;; esac
if [ ! -x "$ctl" ]; then
    echo "corpus-eval: $ctl not built (set BOUNCEGATECTL=path)" >&2
    exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

awk -F'\t' 'NR > 1 && !seen[$1]++ { print $1 }' "$dir/labels.tsv" > "$tmp/files"
# one call over all samples
(cd "$dir" && set -- $(cat "$tmp/files") && "$ctl" classify --json "$@") > "$tmp/out.json"
rc=$?
[ $rc -eq 0 ] || echo "corpus-eval: bouncegatectl classify exited $rc" >&2
# the JSON as the tab-separated columns plus an eighth, final_recipient:
# the address that failed after an alias when the line's recipient is the
# original one (the one acted on); a label may name either
perl -MJSON::PP -ne 'my $o = decode_json($_);
    print join("\t", map { defined $_ && $_ ne "" ? $_ : "-" }
        @$o{qw(file recipient status class reason action rule final_recipient)}), "\n"' \
    "$tmp/out.json" > "$tmp/out.tsv" || exit 1

awk -F'\t' -v out="$tmp/out.tsv" '
# The same mailbox compares equal however it is spelled: case, angle
# brackets, and the quotes of a quoted local part ("a..b"@x is a..b@x;
# RFC 5321 4.1.2: quoting is syntax, not part of the mailbox). Postfix
# quotes a local part that is not a dot-atom, our output keeps its
# canonical quoted form (lib/address.c) and Sisimai labels drop the quotes.
function norm(a) {
    a = tolower(a); gsub(/^<|>$/, "", a)
    if (a ~ /^"[^"\\]*"@/) { sub(/^"/, "", a); sub(/"@/, "@", a) }
    return a
}
BEGIN {
    while ((getline line < out) > 0) {
        n = split(line, f, "\t")
        if (n < 7) continue
        k = ++cnt[f[1]]
        row[f[1], k] = line
        if (f[2] != "-") byrcpt[f[1], norm(f[2])] = line
        if (n >= 8 && f[8] != "-") byrcpt[f[1], norm(f[8])] = line
    }
}
NR == FNR { if (FNR > 1) labelled["maildir/bsd/" $1] = 1; labelled[$1] = 1; next }
FNR == 1 { next }
{
    if ($9 != "" && (("maildir/bsd/" $9) in labelled)) next
    total++
    file = $1; want = norm($3); line = ""
    if (want != "" && ((file, want) in byrcpt)) line = byrcpt[file, want]
    else if (want == "" && ((file, $2 + 0) in row)) line = row[file, $2 + 0]
    got = (line != "")
    if (got) { split(line, f, "\t"); if (want == "" && f[2] != "-") got = 1 }
    else { f[3] = "-"; f[4] = "missing"; f[5] = "missing"; f[7] = "-" }
    if (got) found++
    rok = got && f[5] == $6
    if (rok) reason++
    ourhard = got && f[4] == "hard"
    hok = (ourhard == ($7 == 1))
    if (hok) hard++
    if (!got) miss[++nmiss] = file "\t" $3
    counted[file] = 1
    if (want == "") blankrcpt[file] = 1
    else lab[file, want] = 1
    # a suppression where Sisimai sees no hard bounce (a complaint is
    # suppressed by design: not counted)
    if (got && f[6] == "suppress" && $7 != 1 && $6 != "feedback")
        wrong[++nwrong] = sprintf("%s\t%s\tsisimai=%s/nonhard\tours=%s/%s\trule=%s",
            file, ($3 == "" ? "-" : $3), $6, f[4], f[5], f[7])
    if (!rok || !hok)
        dis[++ndis] = sprintf("%s\t%s\tsisimai=%s/%s%s\tours=%s/%s\tstatus=%s\trule=%s%s",
            file, ($3 == "" ? "-" : $3), $6, ($7 == 1 ? "hard" : "nonhard"),
            ($4 != "" ? " " $4 : ""), f[4], f[5], f[3], f[7], (hok ? "" : "  HARD-MISMATCH"))
}
END {
    if (total == 0) { print "corpus-eval: no rows"; exit 1 }
    # a suppressed address that is none of the labelled recipients of its file
    for (fk in cnt) {
        if (!(fk in counted) || (fk in blankrcpt)) continue
        for (k = 1; k <= cnt[fk]; k++) {
            split(row[fk, k], f, "\t")
            if (f[6] == "suppress" && !((fk, norm(f[2])) in lab) &&
                !(f[8] != "-" && ((fk, norm(f[8])) in lab)))
                wrong[++nwrong] = sprintf("%s\t%s\tnot a failed recipient\tours=%s/%s\trule=%s",
                    fk, f[2], f[4], f[5], f[7])
        }
    }
    printf "rows counted:        %d (duplicates by same_content_as skipped)\n", total
    printf "recall:              %d/%d = %.1f%%  (target >= 98%%)\n", found, total, 100 * found / total
    printf "reason agreement:    %d/%d = %.1f%%  (target >= 90%%)\n", reason, total, 100 * reason / total
    printf "hard/non-hard agree: %d/%d = %.1f%%  (target >= 97%%)\n", hard, total, 100 * hard / total
    printf "wrong suppressions:  %d  (target <= 2: a non-hard bounce, or an address that is not the failed recipient)\n", nwrong
    printf "\nmissed recipients (%d):\n", nmiss
    for (i = 1; i <= nmiss; i++) print "  " miss[i]
    printf "\nwrong suppressions (%d):\n", nwrong
    for (i = 1; i <= nwrong; i++) print "  " wrong[i]
    printf "\ndisagreements (%d):\n", ndis
    for (i = 1; i <= ndis; i++) print "  " dis[i]
}' "$dir/labels.tsv" "$dir/labels.tsv"
exit 0
