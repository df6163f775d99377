/* journal_int.h - what the journal's own files share (journal.c appends,
 * journal_read.c reads lines and keeps small sets, journal_scan.c streams
 * a whole journal and compacts it). Not for other callers: journal.h is
 * the interface. */
#ifndef BG_JOURNAL_INT_H
#define BG_JOURNAL_INT_H

#include "bg.h"
#include "journal.h"
#include <sys/types.h>

#define PATH_MAX_J 512

/* One good journal line, decoded (rec points into the line read). */
struct parsed {
    long long ts;
    int del;
    enum bg_kind kind;
    char name[BG_ADDR_MAX];
    const char *rec;
    size_t reclen;
    long long expires;
};

/* Lines a compaction cannot keep (malformed, overlong, a torn last line)
 * are appended to PATH.bad, never silently dropped. Opened at the first
 * such line. */
struct quarantine {
    char path[PATH_MAX_J + 8];
    int fd;                  /* -1 until the first line */
    off_t start;             /* its size before: a failed compaction goes back to it */
    size_t lines;
    int failed;              /* could not be written: the compaction stops */
    char err[PATH_MAX_J + 400];
};

/* Called for each good line: its length with the '\n', and its offset.
 * Non-zero stops the read and is returned. */
typedef int journal_line_fn(const struct parsed *p, size_t linelen, off_t off, void *arg);

/* Read fd from offset `from` up to offset `to` (-1: the end), calling fn
 * for every good line. st->lines, st->bad, st->torn and st->size (the
 * offset after the last '\n') are counted; bad lines go to q when there
 * is one. 0, -1 (err set) or fn's non-zero value. */
int journal_read_lines(int fd, off_t from, off_t to, struct bg_journal_stats *st,
                       struct quarantine *q, journal_line_fn *fn, void *arg,
                       char *err, size_t errsz);

/* The entry a parsed line leaves its key in, as of time now. */
void journal_entry_of(const struct parsed *p, long long now, struct bg_journal_entry *e);

/* Open path for reading through bg_open_file and fill st's file fields
 * (dev, ino, uid, gid, mode). -1 with errno ENOENT when there is no file
 * (st->mode stays 0), -1 with err set on other errors. */
int journal_open_read(const char *path, struct bg_journal_stats *st, char *err,
                      size_t errsz);

/* PATH.lock, opened (created) through bg_open_file. */
int journal_open_lockfile(const char *lockpath, char *err, size_t errsz);

int journal_write_all(int fd, const char *p, size_t n);

#endif
