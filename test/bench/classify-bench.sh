#!/bin/sh
# classify-bench.sh - throughput of `bouncegatectl classify` against
# Sisimai (Debian libsisimai-perl, 4.25 API: Sisimai->make) on the same
# files in the same run (`make bench`). A measurement, not a test: no
# assertions on timing. Optional: exits 0 when the corpus or Perl's
# Sisimai is missing.
#
#   BOUNCEGATECTL=path  tool to measure (default milter/bouncegatectl)
#   CORPUS=dir          default ../shared/corpus (or next to the main
#                       checkout when run from a git worktree)
#   ROUNDS=n            passes over the corpus for each tool (default 5)
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
corpus=${CORPUS:-$here/../shared/corpus}
if [ -z "${CORPUS:-}" ] && [ ! -d "$corpus" ]; then
    common=$(cd "$here" && git rev-parse --path-format=absolute --git-common-dir 2>/dev/null) &&
        corpus=$(dirname "$common")/../shared/corpus
fi
dir=$corpus/sisimai/maildir/bsd
if [ ! -d "$dir" ]; then
    echo "classify-bench: no corpus at $corpus (optional), skipped"; exit 0
fi
ctl=${BOUNCEGATECTL:-$here/milter/bouncegatectl}
[ -x "$ctl" ] || { echo "classify-bench: $ctl not built (set BOUNCEGATECTL)" >&2; exit 1; }
rounds=${ROUNDS:-5}
nfiles=$(ls "$dir" | grep -c '\.eml$')

now() { perl -MTime::HiRes=time -e 'printf "%.6f\n", time'; }

# bouncegatectl: ONE call over the file list repeated `rounds` times, as a
# site classifies a batch; its start-up (loading libraries, compiling the
# rules) is paid once, as Sisimai's module loading is paid once below.
cd "$dir" || exit 1
set --
i=0
while [ $i -lt "$rounds" ]; do
    set -- "$@" ./*.eml
    i=$((i + 1))
done
t0=$(now)
"$ctl" classify "$@" > /dev/null 2>&1
t1=$(now)
ours=$(echo "$t0 $t1 $nfiles $rounds" | awk '{ printf "%.1f", $3 * $4 / ($2 - $1) }')
echo "bouncegatectl classify: $nfiles files x $rounds rounds in $(echo "$t0 $t1" | awk '{printf "%.3f", $2-$1}')s = $ours msg/s"

if ! perl -MSisimai -e 1 2>/dev/null; then
    echo "classify-bench: Perl Sisimai not installed (apt install libsisimai-perl), no comparison"
    exit 0
fi
# Sisimai: one perl process, same files, same number of rounds; module
# loading is outside the timed loop so Sisimai is not charged for startup.
srate=$(perl -MSisimai -MTime::HiRes=time -e '
    my ($rounds, @f) = @ARGV;
    Sisimai->make($f[0], delivered => 1, vacation => 1);   # warm up / load
    my $t0 = time; my $n = 0;
    for (1 .. $rounds) {
        for my $f (@f) {
            my $d = Sisimai->make($f, delivered => 1, vacation => 1);
            $n += scalar @{ $d || [] };
        }
    }
    my $dt = time - $t0;
    printf STDERR "Sisimai %s: %d files x %d rounds in %.3fs (%d results)\n",
        $Sisimai::VERSION, scalar @f, $rounds, $dt, $n;
    printf "%.1f\n", @f * $rounds / $dt;
' "$rounds" ./*.eml)
echo "Sisimai->make: $srate msg/s"
echo "$ours $srate" | awk '{ printf "ratio: %.0fx (bouncegatectl / Sisimai; target >= 100x)\n", $1 / $2 }'
