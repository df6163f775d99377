/* ctl.h - subcommands of bouncegatectl (milter/ctl_*.c). */
#ifndef BG_CTL_H
#define BG_CTL_H

#include <stddef.h>
#include <stdio.h>
#include "classify.h"

/* `bouncegatectl classify [--json] [--mbox] [FILE|DIR...]`: argv are
 * the arguments after the word "classify". Prints one line per recipient (see
 * ctl_classify.c). max_scan 0 = 1 MiB. Returns 0, 1 usage, 2 I/O error. */
int ctl_classify(int argc, char **argv, const struct bg_rules *rules,
                 const struct bg_policy *policy, size_t max_scan);

/* ctl_dir.c: the message files of a directory operand of classify: a
 * Maildir's cur/ and new/ (when both exist), else the directory's own
 * regular files; names starting with "." skipped, no recursion; sorted
 * by path in byte order. path[i] = "DIR/NAME" or "DIR/cur/NAME", at
 * most CTL_DIR_PATH_MAX bytes with the NUL. Returns 0, or -1 with errno
 * (ENOTDIR: not a directory). Free with ctl_dir_free. */
#define CTL_DIR_PATH_MAX 4096
struct ctl_dir_list {
    char **path;
    char *arena;     /* every path, NUL-terminated */
    size_t n;
    int maildir;
};
int ctl_dir_list(const char *dir, struct ctl_dir_list *l);
void ctl_dir_free(struct ctl_dir_list *l);

/* ctl_csv.c: `export [FILE]` writes the live set read from the Journal
 * as CSV; `import [FILE]` writes each CSV line through the store (so it
 * is journalled) and reports counts, exit 0 all good, 1 some lines bad
 * (skipped), 2 error; `check [FILE]` looks up one address per line and
 * prints "suppressed=N not_suppressed=N bad=N errors=N", exit 0 all
 * suppressed, 1 some not, 2 bad lines or errors. FILE "-" or none: stdio. */
struct bg_config;
struct bg_store;
struct bg_journal;
int ctl_export(const struct bg_config *cfg, int argc, char **argv);
int ctl_import(const struct bg_config *cfg, struct bg_store *s, struct bg_journal *j,
               int argc, char **argv);
int ctl_check(struct bg_store *s, int argc, char **argv);
/* The input helpers of those commands, for verify too. ctl_open_in: FILE
 * (a regular file only: a FIFO or a device would hang or never end), or
 * stdin for NULL or "-"; NULL after a message on stderr. ctl_next_line:
 * one line into buf without its line end: 1, 0 at the end, -1 for a line
 * with a NUL byte or longer than sz - 1 bytes (read to its end).
 * ctl_csv_split: RFC 4180 fields of line into out (as long as line),
 * f[] pointing at them: the count, or -1 (bad quoting, over maxf).
 * ctl_header_is_address: does a header cell name the address column
 * (address, email, email_address, recipient; case, blanks, '_', '-'
 * ignored)? ctl_trim: blanks off both ends, in place. ctl_skip_bom:
 * line past a UTF-8 byte order mark (spreadsheets start a CSV with one). */
FILE *ctl_open_in(const char *path);
int ctl_next_line(FILE *fp, char *buf, size_t sz);
int ctl_csv_split(const char *line, char *out, char **f, int maxf);
int ctl_header_is_address(const char *h);
void ctl_trim(char *s);
char *ctl_skip_bom(char *line);

/* ctl_out.c: ctl_json_str writes s as a JSON string (quote, backslash and
 * control bytes escaped; valid UTF-8 as is, each invalid byte as \u00XX),
 * so output is valid JSON whatever a bounce or memcached held.
 * ctl_csv_field writes s as one CSV field (RFC 4180 quoting when needed),
 * then ',' or, for the last, '\n'. */
void ctl_json_str(FILE *out, const char *s);
void ctl_csv_field(FILE *fp, const char *s, int last);

/* ctl_verify.c: `verify [--json|--csv] [--resolver HOST[:PORT]]
 * [--concurrency N] [--timeout MS] [--suppress-dead] [FILE|-]`: one
 * verdict per address of a list (bouncegatectl(8)). 0 every address ok
 * or risky, 1 some flagged, 2 error. */
int ctl_verify(const struct bg_config *cfg, struct bg_store *s, int argc, char **argv);

/* ctl_stats.c: `stats [--window 1h|24h|7d] [--sender DOMAIN] [--json]`:
 * the fleet's per-sender-domain figures from memcached, marked against
 * cfg's Alert* limits. 0, or 2 on a usage or memcached error. */
int ctl_stats(struct bg_store *s, const struct bg_config *cfg, int argc, char **argv);
/* `release DOMAIN`: lifts the brake of a sender domain (BrakeHardRate)
 * on every daemon within StatsInterval, for an hour. 0, or 2. */
int ctl_release(struct bg_store *s, int argc, char **argv);

/* ctl_progress.c: a progress line on standard error when it is a
 * terminal (import, check, export). start: total is the size in bytes or
 * rows when known (0 when not); in, when not NULL and a regular file,
 * gives both the total (its size) and the rows' progress (its offset).
 * tick after each row (rows so far, done: bytes or rows, -1 unknown);
 * end erases the line. */
struct ctl_progress {
    int on, width;
    const char *what;
    FILE *in;
    long long total;
    double start, last;
};
void ctl_progress_start(struct ctl_progress *p, const char *what, FILE *in, long long total);
void ctl_progress_tick(struct ctl_progress *p, unsigned long rows, long long done);
void ctl_progress_end(struct ctl_progress *p);

#endif
