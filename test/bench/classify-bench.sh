#!/bin/sh
# classify-bench.sh - throughput of `bouncegatectl classify` against
# Sisimai (Debian libsisimai-perl, 4.25 API: Sisimai->make) on the same
# files in the same run (`make bench`). A measurement, not a test: no
# assertions on timing. Optional: exits 0 when the corpus or Perl's
# Sisimai is missing.
#
# The two tools take turns, REPEATS times, so a burst of load on a shared
# machine hits both; each tool's best turn is its figure (the least
# disturbed one), and the ratio of the best turns is the headline. The
# ratio of every turn is printed too, so the spread is visible.
#
# Start-up is left out on both sides: Sisimai's timer starts after Perl
# has loaded its modules and classified a first message; bouncegatectl's
# figure is (files - 1) / (time of the whole call - time of a call over
# the first file alone), i.e. without exec, the dynamic loader, compiling
# the rules and its first message. The whole call's rate, start-up
# included, is printed as well.
#
#   BOUNCEGATECTL=path  tool to measure (default milter/bouncegatectl)
#   CORPUS=dir          default ../shared/corpus (or next to the main
#                       checkout when run from a git worktree)
#   ROUNDS=n            passes over the corpus per turn (default 10)
#   REPEATS=n           turns of each tool (default 3)
#
# Each turn also runs both in memory (files read first, no open/read per
# message): test/bench/classify-mem against Sisimai->make(\$text); and on
# the same messages written into one mbox mailbox (how bounces often sit
# on a server): `bouncegatectl classify --mbox` against Sisimai->make of
# the mailbox's path, start-up left out as for the files.
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
rounds=${ROUNDS:-10}
repeats=${REPEATS:-3}
nfiles=$(ls "$dir" | grep -c '\.eml$')
sisimai=1
if ! perl -MSisimai -e 1 2>/dev/null; then
    echo "classify-bench: Perl Sisimai not installed (apt install libsisimai-perl), no comparison"
    sisimai=0
fi

now() { perl -MTime::HiRes=time -e 'printf "%.6f\n", time'; }
max() { echo "$1 $2" | awk '{ print ($1 > $2) ? $1 : $2 }'; }
ratio() { echo "$1 $2" | awk '{ printf "%.0f", $1 / $2 }'; }   # OURS SISIMAI

# bouncegatectl: ONE call over the file list repeated `rounds` times, as a
# site classifies a batch; its start-up (loading libraries, compiling the
# rules) is paid once per turn, as Sisimai's module loading is paid once
# (outside its timed loop) below.
cd "$dir" || exit 1
set --
i=0
while [ $i -lt "$rounds" ]; do
    set -- "$@" ./*.eml
    i=$((i + 1))
done

# Sisimai: one perl process per turn, same files, same number of rounds;
# module loading and a first message are outside the timed loop.
# With "mem", the files are read into memory first and each message is
# handed over as a scalar reference (Sisimai::Mail::Memory).
sisimai_turn() {
    perl -MSisimai -MTime::HiRes=time -e '
        my ($mem, $rounds, @f) = @ARGV;
        my @in = @f;
        if ($mem eq "mem") {
            @in = ();
            for my $f (@f) {
                open(my $fh, "<:raw", $f) or die "$f: $!";
                local $/;
                push @in, scalar <$fh>;
            }
        }
        my $arg = sub { my $x = $_[0]; return $mem eq "mem" ? \$x : $x };
        Sisimai->make($arg->($in[0]), delivered => 1, vacation => 1);   # warm up / load
        my $t0 = time; my $n = 0;
        for (1 .. $rounds) {
            for my $x (@in) {
                my $d = Sisimai->make($arg->($x), delivered => 1, vacation => 1);
                $n += scalar @{ $d || [] };
            }
        }
        printf "%.1f %.3f %d %s\n", @f * $rounds / (time - $t0), time - $t0, $n, $Sisimai::VERSION;
    ' "$1" "$rounds" ./*.eml
}

# The same in memory on our side: test/bench/classify-mem (built by
# `make bench`) reads the files once and times parse + classify + policy
# + one formatted line per recipient, as the milter does with a report.
mem=$here/test/bench/classify-mem
[ -x "$mem" ] || mem=

# The corpus as one mbox (a postmark per message, body "From " lines
# quoted), and a one-message mailbox for the start-up calls.
tmpd=$(mktemp -d) || exit 1
trap 'rm -rf "$tmpd"' EXIT
mbox=$tmpd/corpus.mbox
perl -e 'for my $f (@ARGV) {
        open(my $fh, "<:raw", $f) or die "$f: $!"; local $/; my $t = <$fh>;
        my $pm = $t =~ s/\A(From [^\n]*\n)// ? $1 : "From MAILER-DAEMON Mon Nov 23 10:00:00 2026\n";
        $t =~ s/^(>*From )/>$1/mg; $t .= "\n" unless $t =~ /\n\z/;
        print $pm, $t, "\n";
    }' ./*.eml > "$mbox" || exit 1
perl -e 'open(my $fh, "<:raw", $ARGV[0]) or die; local $/; my $t = <$fh>;
    print "From MAILER-DAEMON Mon Nov 23 10:00:00 2026\n", $t, "\n"' "$1" > "$tmpd/one.mbox"
mboxes=
i=0
while [ $i -lt "$rounds" ]; do
    mboxes="$mboxes $mbox"
    i=$((i + 1))
done

sisimai_mbox_turn() {
    perl -MSisimai -MTime::HiRes=time -e '
        my ($rounds, $one, $mbox, $nmsg) = @ARGV;
        Sisimai->make($one, delivered => 1, vacation => 1);   # warm up / load
        my $t0 = time; my $n = 0;
        for (1 .. $rounds) {
            my $d = Sisimai->make($mbox, delivered => 1, vacation => 1);
            $n += scalar @{ $d || [] };
        }
        printf "%.1f %.3f %d\n", $nmsg * $rounds / (time - $t0), time - $t0, $n;
    ' "$rounds" "$tmpd/one.mbox" "$mbox" "$nfiles"
}

best_ours=0 best_sis=0 ratios=
t=1
while [ $t -le "$repeats" ]; do
    t0=$(now)
    "$ctl" classify "$1" > /dev/null 2>&1
    t1=$(now)
    "$ctl" classify "$@" > /dev/null 2>&1
    t2=$(now)
    read -r ours whole <<EOT
$(echo "$t0 $t1 $t2 $nfiles $rounds" | awk '{ n = $4 * $5; printf "%.1f %.1f", (n - 1) / (($3 - $2) - ($2 - $1)), n / ($3 - $2) }')
EOT
    line="turn $t: bouncegatectl $nfiles files x $rounds rounds in $(echo "$t1 $t2" | awk '{printf "%.3f", $2-$1}')s ($whole msg/s), start-up and first file $(echo "$t0 $t1" | awk '{printf "%.3f", $2-$1}')s: $ours msg/s"
    best_ours=$(max "$ours" "$best_ours")
    if [ "$sisimai" = 1 ]; then
        read -r srate sdt sn sver <<EOT
$(sisimai_turn file)
EOT
        line="$line; Sisimai $sver ${sdt}s = $srate msg/s ($sn results); ratio $(ratio "$ours" "$srate")x"
        ratios="$ratios $(ratio "$ours" "$srate")"
        best_sis=$(max "$srate" "$best_sis")
    fi
    echo "$line"
    if [ -n "$mem" ]; then
        mrate=$("$mem" "$rounds" ./*.eml | sed -n 's/.* msg_per_s=\([0-9.]*\).*/\1/p')
        line="turn $t, in memory: classify-mem $mrate msg/s"
        best_mem=$(max "$mrate" "${best_mem:-0}")
        if [ "$sisimai" = 1 ]; then
            read -r msrate msdt msn msver <<EOT
$(sisimai_turn mem)
EOT
            line="$line; Sisimai ${msdt}s = $msrate msg/s ($msn results); ratio $(ratio "$mrate" "$msrate")x"
            mratios="${mratios:-} $(ratio "$mrate" "$msrate")"
            best_msis=$(max "$msrate" "${best_msis:-0}")
        fi
        echo "$line"
    fi
    t0=$(now)
    "$ctl" classify --mbox "$tmpd/one.mbox" > /dev/null 2>&1
    t1=$(now)
    # shellcheck disable=SC2086
    "$ctl" classify --mbox $mboxes > /dev/null 2>&1
    t2=$(now)
    brate=$(echo "$t0 $t1 $t2 $nfiles $rounds" | awk '{ n = $4 * $5; printf "%.1f", (n - 1) / (($3 - $2) - ($2 - $1)) }')
    best_box=$(max "$brate" "${best_box:-0}")
    line="turn $t, one mbox: classify --mbox $brate msg/s"
    if [ "$sisimai" = 1 ]; then
        read -r bsrate bsdt bsn <<EOT
$(sisimai_mbox_turn)
EOT
        line="$line; Sisimai ${bsdt}s = $bsrate msg/s ($bsn results); ratio $(ratio "$brate" "$bsrate")x"
        bratios="${bratios:-} $(ratio "$brate" "$bsrate")"
        best_bsis=$(max "$bsrate" "${best_bsis:-0}")
    fi
    echo "$line"
    t=$((t + 1))
done
echo "bouncegatectl classify: best $best_ours msg/s"
[ "$sisimai" = 1 ] || exit 0
echo "Sisimai->make: best $best_sis msg/s"
echo "$best_ours $best_sis" | awk -v r="$ratios" '{ printf "ratio: %.0fx best to best (per turn:%s)\n", $1 / $2, r }'
if [ -n "$mem" ]; then
    echo "in memory: classify-mem best $best_mem msg/s, Sisimai best $best_msis msg/s"
    echo "$best_mem $best_msis" | awk -v r="$mratios" '{ printf "ratio in memory: %.0fx best to best (per turn:%s; target >= 50x)\n", $1 / $2, r }'
fi
echo "one mbox: classify --mbox best $best_box msg/s, Sisimai best $best_bsis msg/s"
echo "$best_box $best_bsis" | awk -v r="$bratios" '{ printf "ratio on one mbox: %.0fx best to best (per turn:%s)\n", $1 / $2, r }'
