#!/bin/bash
# bouncegatectl classify as a postmaster runs it: the project's bounce
# fixtures against a reference table (cases/classify-fixtures.ref, one
# line per recipient: FILE RECIPIENT STATUS CLASS REASON ACTION RULE),
# stdin, --json, exit codes, and --mbox: the same fixtures written into
# one mbox mailbox (postmarks, ">From " quoting) give the same verdicts,
# as NAME:N, from a file and from stdin.
. "$(dirname "$0")/../lib.sh"
bg_tmpdir
# The fixtures live in one directory per parser part (26-parser-tables.sh);
# here they are one flat directory, as a postmaster's folder of bounces.
ref=$BG_CASEDIR/classify-fixtures.ref
fix=$BG_TMP/fixtures
mkdir "$fix" && cp "$BG_TOP"/test/fixtures/dsn/*/*.eml "$fix"/ || bg_fatal "no fixtures under test/fixtures/dsn"
cd "$fix" || bg_fatal "no fixtures at $fix"
files=$(ls *.eml)
nfiles=$(wc -w <<< "$files")

# shellcheck disable=SC2086
bg_assert_rc 0 "classify over $nfiles fixtures exits 0" "$BG_CTL" classify $files
cp "$BG_TMP/last.out" "$BG_TMP/files.out"
if diff -u "$ref" "$BG_TMP/files.out" > "$BG_TMP/diff"; then
    bg_pass "verdicts equal cases/classify-fixtures.ref ($(wc -l < "$ref") lines)"
else
    bg_fail "verdicts differ from cases/classify-fixtures.ref:"
    head -n 40 "$BG_TMP/diff" | sed 's/^/    /'
fi
bad=$(awk -F'\t' 'NF != 7' "$BG_TMP/files.out" | wc -l)
bg_assert_eq 0 "$bad" "every line has exactly 7 tab-separated columns"

# many files in one call (read in batches): 5 passes over the fixtures
# with a 2 MB message (longer than a batch and than MaxScanBytes) among
# them give the reference 5 times, in order
head -c 2000000 /dev/zero | tr '\0' 'x' > "$BG_TMP/big.eml"
# shellcheck disable=SC2086
"$BG_CTL" classify $files $files "$BG_TMP/big.eml" $files $files $files > "$BG_TMP/many.out"
grep -v "^$BG_TMP/big.eml	" "$BG_TMP/many.out" > "$BG_TMP/many.files"
for k in 1 2 3 4 5; do cat "$ref"; done > "$BG_TMP/many.want"
if cmp -s "$BG_TMP/many.want" "$BG_TMP/many.files"; then
    bg_pass "$((5 * nfiles + 1)) files in one call: every verdict, in order"
else
    bg_fail "$((5 * nfiles + 1)) files in one call: verdicts differ from 5 x the reference"
fi
bg_assert_eq "$BG_TMP/big.eml	-	-	undetermined	undefined	none	not-a-report" \
    "$(grep "^$BG_TMP/big.eml	" "$BG_TMP/many.out")" "a 2 MB non-report is one line, not-a-report"

# stdin: FILE is "-", the rest as from the file
"$BG_CTL" classify < postfix-dsn.eml > "$BG_TMP/stdin.out"
grep '^postfix-dsn\.eml	' "$BG_TMP/files.out" | cut -f2- > "$BG_TMP/want"
bg_assert_eq "$(cat "$BG_TMP/want")" "$(cut -f2- "$BG_TMP/stdin.out")" "stdin gives the file's verdicts"
bg_assert_eq "-" "$(cut -f1 "$BG_TMP/stdin.out" | sort -u)" "stdin is named -"

# --json: one valid JSON object per recipient, same verdicts
# shellcheck disable=SC2086
"$BG_CTL" classify --json $files > "$BG_TMP/json.out"
bg_assert_eq "$(wc -l < "$BG_TMP/files.out")" "$(wc -l < "$BG_TMP/json.out")" "--json prints one line per recipient"
perl -MJSON::PP -CO -ne 'my $o = decode_json($_); print join("\t", map { $_ eq "" ? "-" : $_ } @$o{qw(file recipient status class reason action rule)}), "\n"' \
    "$BG_TMP/json.out" > "$BG_TMP/json.tsv" 2> "$BG_TMP/json.err"
if [ -s "$BG_TMP/json.err" ]; then
    bg_fail "--json output is not JSON: $(head -n 3 "$BG_TMP/json.err")"
else
    bg_pass "--json output decodes as JSON"
fi
bg_assert_eq "$(cat "$BG_TMP/files.out")" "$(cat "$BG_TMP/json.tsv")" "--json carries the same verdicts"
# Every field of every recipient, byte for byte: the parser's whole output
# (cases/classify-fixtures.json.ref), so a change to how bounces are read
# that changes any diagnostic, host or command shows here (issue 16: the
# parser was split into files with this output unchanged).
if diff -u "$BG_CASEDIR/classify-fixtures.json.ref" "$BG_TMP/json.out" > "$BG_TMP/jdiff"; then
    bg_pass "--json equals cases/classify-fixtures.json.ref byte for byte ($(wc -l < "$BG_TMP/json.out") lines)"
else
    bg_fail "--json differs from cases/classify-fixtures.json.ref:"
    head -n 40 "$BG_TMP/jdiff" | sed 's/^/    /'
fi

# exit codes: a missing file is 2 (the others are still classified), an
# unknown option 1
bg_assert_rc 2 "a missing file exits 2" "$BG_CTL" classify postfix-dsn.eml /nonexistent/x.eml
bg_assert_grep '^postfix-dsn\.eml	' "$BG_TMP/last.out" "the other file is still classified"
bg_assert_grep '/nonexistent/x\.eml' "$BG_TMP/last.err" "the missing file is named on stderr"
bg_assert_rc 1 "an unknown option exits 1" "$BG_CTL" classify --bogus postfix-dsn.eml

# --mbox: the fixtures as one mailbox, as local(8) or a mail client
# writes it: a postmark per message, body lines "From ..." quoted
mbox=$BG_TMP/bounces.mbox
for f in $files; do
    echo "From MAILER-DAEMON Mon Nov 23 10:00:00 2026"
    sed 's/^\(>*From \)/>\1/' "$f"
    echo
done > "$mbox"
bg_assert_rc 0 "classify --mbox exits 0" "$BG_CTL" classify --mbox "$mbox"
cp "$BG_TMP/last.out" "$BG_TMP/mbox.out"
# message N of the mailbox is the N-th fixture
i=0
for f in $files; do
    i=$((i + 1))
    echo "s|^$f	|$mbox:$i	|"
done > "$BG_TMP/names.sed"
sed -f "$BG_TMP/names.sed" "$BG_TMP/files.out" > "$BG_TMP/want.mbox"
if diff -u "$BG_TMP/want.mbox" "$BG_TMP/mbox.out" > "$BG_TMP/diff"; then
    bg_pass "every message of the mailbox gets its file's verdicts, as NAME:N"
else
    bg_fail "--mbox verdicts differ from the files':"
    head -n 40 "$BG_TMP/diff" | sed 's/^/    /'
fi
"$BG_CTL" classify --mbox < "$mbox" > "$BG_TMP/mbox-stdin.out"
bg_assert_eq "$(sed "s|^$mbox:|-:|" "$BG_TMP/mbox.out")" "$(cat "$BG_TMP/mbox-stdin.out")" \
    "--mbox reads stdin too, as -:N"
bg_assert_rc 2 "--mbox with a missing mailbox exits 2" "$BG_CTL" classify --mbox "$mbox" /nonexistent/mbox
bg_assert_eq "$(wc -l < "$BG_TMP/mbox.out")" "$(wc -l < "$BG_TMP/last.out")" "the mailbox before it is still classified"

# a directory operand: its message files, each under its path, in byte
# order of the paths (sorted here with a stable sort on FILE only, so a
# message's recipients keep their order)
csort() { LC_ALL=C sort -s -t '	' -k1,1; }
bg_assert_rc 0 "classify DIR exits 0" "$BG_CTL" classify "$fix"
sed "s|^|$fix/|" "$ref" | csort > "$BG_TMP/want.dir"
if csort < "$BG_TMP/last.out" | cmp -s "$BG_TMP/want.dir" -; then
    bg_pass "a directory of $nfiles fixtures: every verdict, under DIR/NAME"
else
    bg_fail "classify DIR differs from the reference under DIR/NAME"
fi
bg_assert_eq "$(cut -f1 "$BG_TMP/last.out" | uniq | LC_ALL=C sort)" "$(cut -f1 "$BG_TMP/last.out" | uniq)" \
    "a directory's files come in byte order of their names"

# a Maildir: cur/ and new/ are read, tmp/ (deliveries being written),
# names starting with "." (Maildir++ folders) and subdirectories are not;
# a link to a message counts, a dangling one does not
md=$BG_TMP/Maildir
mkdir -p "$md/cur" "$md/new" "$md/tmp" "$md/.Bounces/cur" "$md/.Bounces/new" "$md/cur/sub"
k=0
for f in $files; do
    k=$((k + 1))
    if [ $((k % 2)) = 0 ]; then p="$md/new/17000000$((10 + k)).M$k.mx1"
    else p="$md/cur/17000000$((10 + k)).M$k.mx1:2,S"; fi
    cp "$f" "$p"
    echo "s|^$f	|$p	|"
done > "$BG_TMP/maildir.sed"
cp postfix-dsn.eml "$md/tmp/1700000099.M99.mx1"
cp postfix-dsn.eml "$md/.Bounces/new/1700000098.M98.mx1"
cp postfix-dsn.eml "$md/.hidden"
cp postfix-dsn.eml "$md/cur/.1700000097.M97.mx1"
cp postfix-dsn.eml "$md/cur/sub/x"
ln -s ../new/1700000012.M2.mx1 "$md/cur/1700000012.M2.mx1.link"
ln -s /nonexistent/x "$md/cur/dangling"
bg_assert_rc 0 "classify MAILDIR exits 0" "$BG_CTL" classify "$md"
cp "$BG_TMP/last.out" "$BG_TMP/maildir.out"
sed -f "$BG_TMP/maildir.sed" "$ref" | csort > "$BG_TMP/want.md"
if grep -v '\.link	' "$BG_TMP/maildir.out" | cmp -s "$BG_TMP/want.md" -; then
    bg_pass "a Maildir of $nfiles fixtures in cur/ and new/: every verdict, cur/ first, in order"
else
    bg_fail "classify MAILDIR: verdicts or order differ from the reference"
fi
bg_assert_eq "$(grep "^$md/new/1700000012\.M2\.mx1	" "$BG_TMP/maildir.out" | cut -f2-)" \
    "$(grep "^$md/cur/1700000012\.M2\.mx1\.link	" "$BG_TMP/maildir.out" | cut -f2-)" \
    "a link to a message is read as the message"
bg_assert_eq "$((nfiles + 1))" "$(cut -f1 "$BG_TMP/maildir.out" | uniq | wc -l)" \
    "cur/ and new/ of a Maildir: $nfiles messages and the link, nothing else"
if grep -q -e "^$md/tmp/" -e "^$md/\\." -e "^$md/cur/\\." -e "^$md/cur/sub/" -e "^$md/cur/dangling" "$BG_TMP/maildir.out"; then
    bg_fail "tmp/, dot names, subdirectories or a dangling link were read"
else
    bg_pass "tmp/, dot names, subdirectories and a dangling link are left alone"
fi
# with --mbox each file of the directory is a mailbox: NAME:1
bg_assert_rc 0 "classify --mbox MAILDIR exits 0" "$BG_CTL" classify --mbox "$md"
bg_assert_eq "$(sed 's|^\([^	]*\)	|\1:1	|' "$BG_TMP/maildir.out")" "$(cat "$BG_TMP/last.out")" \
    "--mbox DIR: each file a mailbox, NAME:1"
bg_assert_rc 2 "a missing directory among files exits 2" "$BG_CTL" classify postfix-dsn.eml /nonexistent/dir/
bg_assert_grep '^postfix-dsn\.eml	' "$BG_TMP/last.out" "the file before it is still classified"

# A FILE that is not a regular file is refused like an unreadable one
# (exit 2, named on stderr with what it is), the other files still
# classified: opening a FIFO without a writer blocked for ever, a device
# was read without end. Each run under timeout 20 (124 = it hung).
fifo=$BG_TMP/fifo
mkfifo "$fifo" || bg_fatal "mkfifo $fifo"
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Local => $ARGV[0], Listen => 1) or die "$!\n"' \
    "$BG_TMP/sock" || bg_fatal "cannot create a unix socket $BG_TMP/sock"
bg_assert_rc 2 "classify FIFO exits 2 at once" timeout 20 "$BG_CTL" classify "$fifo" postfix-dsn.eml
bg_assert_grep "^classify: $fifo: not a regular file \\(FIFO\\)\$" "$BG_TMP/last.err" \
    "... the error names the FIFO and says it is not a regular file"
bg_assert_grep '^postfix-dsn\.eml	' "$BG_TMP/last.out" "... the file after it is still classified"
bg_assert_rc 2 "classify --mbox FIFO exits 2 at once" timeout 20 "$BG_CTL" classify --mbox "$fifo"
bg_assert_grep "^classify: $fifo: not a regular file \\(FIFO\\)\$" "$BG_TMP/last.err" "... naming it"
bg_assert_rc 2 "classify /dev/zero exits 2" timeout 20 "$BG_CTL" classify /dev/zero
bg_assert_grep '^classify: /dev/zero: not a regular file \(character device\)$' "$BG_TMP/last.err" \
    "... naming it, a character device"
bg_assert_rc 2 "classify SOCKET exits 2" timeout 20 "$BG_CTL" classify "$BG_TMP/sock"
bg_assert_grep "^classify: $BG_TMP/sock: not a regular file \\(socket\\)\$" "$BG_TMP/last.err" \
    "... naming it, a socket"
# stdin is what the user gave, a pipe too
bg_assert_rc 0 "classify - reads a pipe on stdin" timeout 20 "$BG_CTL" classify - \
    < <(cat postfix-dsn.eml)
bg_assert_eq "$(cat "$BG_TMP/want")" "$(cut -f2- "$BG_TMP/last.out")" "... with the file's verdicts"
# inside a directory operand only regular files count: a FIFO (and a link
# to one) is left alone, without hanging
fd=$BG_TMP/withfifo
mkdir "$fd" && cp postfix-dsn.eml "$fd/a.eml" && mkfifo "$fd/b.fifo" && ln -s "$fifo" "$fd/c.link" &&
    ln -s "$BG_TMP/sock" "$fd/d.sock" || bg_fatal "cannot fill $fd"
bg_assert_rc 0 "classify DIR with a FIFO in it exits 0" timeout 20 "$BG_CTL" classify "$fd"
bg_assert_eq "$fd/a.eml" "$(cut -f1 "$BG_TMP/last.out" | sort -u)" "... only its regular file is read"
bg_assert_rc 0 "classify --mbox DIR with a FIFO in it exits 0" timeout 20 "$BG_CTL" classify --mbox "$fd"
bg_assert_eq "$fd/a.eml:1" "$(cut -f1 "$BG_TMP/last.out" | sort -u)" "... only its regular file is read"
bg_finish
