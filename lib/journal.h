/* journal.h - local append-only journal of suppression changes.
 *
 * memcached is the fast shared set and keeps everything in RAM; the
 * journal is the copy on disk that puts it back after memcached lost it
 * (restore.h). Every change of a recipient or domain entry made on this
 * host (bouncegatectl add/del/import, learning) is one line:
 *
 *   TS OP KIND NAME RECORD\n
 *
 *   TS      Unix seconds of the change (decimal)
 *   OP      "put" or "del"
 *   KIND    "r" (recipient) or "d" (domain)
 *   NAME    the normalized name, percent-encoded like record values:
 *           '%', every byte <= 0x20, 0x7f and >= 0x80 become %XX
 *   RECORD  put: the record in its wire format (record.h), the rest of the
 *           line; del: "-"
 *
 * e.g. "1763596800 put r bob@example.com bg1 class=hard reason=... diag=-"
 *      "1763600000 del d dead.example -"
 *
 * Lines starting with '#' and empty lines are ignored. A line is written
 * with one write() on a descriptor opened with O_APPEND, so lines of
 * several processes (daemon, bouncegatectl, bouncegate-logwatch) never
 * interleave. A last line without its '\n' (a crash mid-write) is ignored
 * by readers, and the next appender ends it with a '\n' first so it never
 * swallows a good line.
 *
 * Replay: the last line of a key wins (file order); a "del" is a
 * tombstone (the key is absent, an older put is never resurrected); a put
 * whose record has expired counts as absent. Malformed (hostile) lines
 * are counted and skipped, never fatal; so is a NAME that address
 * normalization would not produce (a CR, LF, blank or upper case: no
 * input path could have written it).
 *
 * Files: the journal's directory belongs to the daemon's user, so every
 * file in it (PATH, PATH.lock, PATH.bad, PATH.tmp.*) is opened through
 * bg_open_file (secure.h): never through a symbolic link, only a regular
 * file with one link, owned as expected. A root bouncegatectl can
 * therefore never be made to write elsewhere.
 *
 * Compaction rewrites the file to the live set (and tombstones younger
 * than BG_JOURNAL_TOMB_HORIZON) in a new PATH.tmp.XXXXXX (mkstemp), then
 * renames it over PATH. The lines it cannot keep (malformed, overlong,
 * a torn last line) are appended to PATH.bad first, with a log line
 * "journal: action=quarantine lines=N"; when PATH.bad cannot be written,
 * the compaction stops and the journal stays as it is. PATH.lock serialises it: appenders hold a shared flock for the
 * span of one append, a compactor an exclusive one, so no append is lost
 * and two processes never compact at once. Appenders check the inode of
 * PATH before each append and reopen after a rename.
 *
 * Thread-safe: one struct bg_journal may be shared by threads.
 */
#ifndef BG_JOURNAL_H
#define BG_JOURNAL_H

#include <stddef.h>
#include <sys/types.h>
#include "key.h"
#include "record.h"

/* Longest journal line, '\n' included. */
#define BG_JOURNAL_LINE_MAX 4096
/* Tombstones younger than this survive compaction (seconds). */
#define BG_JOURNAL_TOMB_HORIZON (30LL * 86400)
/* Below this size a journal is never compacted. */
#define BG_JOURNAL_COMPACT_MIN (64 * 1024)

enum bg_journal_sync {
    BG_JSYNC_INTERVAL = 0,   /* fdatasync at most once per second (default) */
    BG_JSYNC_ALWAYS,         /* fdatasync after every line */
    BG_JSYNC_NEVER           /* leave it to the kernel */
};

/* Parse "always", "interval", "never" (any case). 0 or -1. */
int bg_journal_sync_parse(const char *s, enum bg_journal_sync *out);
const char *bg_journal_sync_name(enum bg_journal_sync s);

struct bg_journal;

/* A handle for appending to path. Nothing is opened yet (the file is
 * opened, and created, at the first append), so a daemon starts even when
 * the journal directory is missing; bg_journal_probe tells. NULL only
 * when path is empty or too long, or out of memory. */
struct bg_journal *bg_journal_open(const char *path, enum bg_journal_sync sync,
                                   char *err, size_t errsz);
/* Syncs what is pending, closes. NULL is fine. */
void bg_journal_close(struct bg_journal *j);
const char *bg_journal_path(const struct bg_journal *j);

/* Open (create) the file now: 0, or -1 with the reason. */
int bg_journal_probe(struct bg_journal *j, char *err, size_t errsz);

/* Append one change (ts: time of the change, 0 = now). rec is NULL for a
 * delete. Only BG_KIND_RCPT and BG_KIND_DOMAIN are journalled; other
 * kinds return 0 and write nothing. 0 or -1. */
int bg_journal_append(struct bg_journal *j, long long ts, enum bg_kind kind,
                      const char *name, const struct bg_record *rec,
                      char *err, size_t errsz);

/* fdatasync when lines were written since the last sync (for the
 * interval policy: call about once per second). 0 or -1. */
int bg_journal_flush(struct bg_journal *j, char *err, size_t errsz);

/* ---- replay ---- */

enum bg_journal_state {
    BG_JE_LIVE = 0,
    BG_JE_TOMBSTONE,
    BG_JE_EXPIRED
};

struct bg_journal_entry {
    enum bg_kind kind;
    enum bg_journal_state state;
    long long ts;            /* time of the last change */
    long long expires;       /* of the record (puts) */
    const char *name;        /* decoded, NUL-terminated */
    const char *rec;         /* encoded record (puts), else NULL */
    size_t reclen;
};

struct bg_journal_stats {
    size_t lines;            /* change lines read (good ones) */
    size_t bad;              /* malformed lines skipped */
    size_t torn;             /* 1 when the last line had no '\n' */
    size_t live, tombstones, expired;   /* keys by final state */
    off_t size;              /* bytes read (up to the last '\n') */
    size_t live_bytes;       /* size of the compacted file */
    dev_t dev;
    ino_t ino;
    uid_t uid;               /* owner, group and mode of the file read */
    gid_t gid;
    mode_t mode;             /* 0 when there was no file */
};

struct bg_journal_set;

/* Read path (a missing file is an empty set) as of time now. 0 or -1.
 * *out must be freed with bg_journal_set_free. */
int bg_journal_load(const char *path, long long now, struct bg_journal_set **out,
                    struct bg_journal_stats *st, char *err, size_t errsz);
/* The same, keeping only the keys for which keep(kind, name, arg) is
 * true: memory for those, not for the whole journal (a daemon looking up
 * a few keys in a journal of millions). The stats count every line read
 * but only the keys kept. */
typedef int bg_journal_keep_fn(enum bg_kind kind, const char *name, void *arg);
int bg_journal_load_keys(const char *path, long long now, bg_journal_keep_fn *keep,
                         void *keep_arg, struct bg_journal_set **out,
                         struct bg_journal_stats *st, char *err, size_t errsz);
/* Read the lines of path after offset `from` into a fresh set; when the
 * file is no longer the one of (dev, ino) (it was compacted), read it
 * whole and keep only the lines with a time >= since. 0 or -1. */
int bg_journal_load_tail(const char *path, long long now, dev_t dev, ino_t ino,
                         off_t from, long long since, struct bg_journal_set **out,
                         struct bg_journal_stats *st, char *err, size_t errsz);
void bg_journal_set_free(struct bg_journal_set *set);

/* Look a key up: NULL when the journal never mentioned it. */
const struct bg_journal_entry *bg_journal_set_find(const struct bg_journal_set *set,
                                                   enum bg_kind kind, const char *name);
/* Calls fn for every key, in the order keys first appeared, whatever
 * its state; stops early and returns fn's value when it is non-zero. */
int bg_journal_set_each(const struct bg_journal_set *set,
                        int (*fn)(const struct bg_journal_entry *e, void *arg), void *arg);

/* A whole journal without holding it (journal_scan.c): calls fn once per
 * key, with its final state, in the order of the keys' last lines; fn
 * may be NULL (the stats alone). Memory is 32 to 64 bytes per key, not
 * the entry; e->name and e->rec are valid during the call only. A missing
 * file is an empty journal. 0, -1 (err set), or fn's non-zero value (the
 * scan stops there, err untouched). */
typedef int bg_journal_scan_fn(const struct bg_journal_entry *e, void *arg);
int bg_journal_scan(const char *path, long long now, bg_journal_scan_fn *fn, void *arg,
                    struct bg_journal_stats *st, char *err, size_t errsz);

/* ---- compaction ---- */

/* Rewrite path to its live set (plus tombstones younger than horizon
 * seconds) under the exclusive lock. 0 or -1; st describes the result. */
int bg_journal_compact(const char *path, long long now, long long horizon,
                       struct bg_journal_stats *st, char *err, size_t errsz);

/* Compact j's file when it has grown past twice its live set and past
 * min_bytes. Cheap when nothing grew (one stat). 1 compacted, 0 not
 * needed, -1 error. */
int bg_journal_maintain(struct bg_journal *j, long long now, off_t min_bytes,
                        char *err, size_t errsz);

/* A key's name as journal lines (and delete notes, delsync.h) write it:
 * '%', every byte <= 0x20, 0x7f and >= 0x80 become %XX. encode: length,
 * or -1 when name is empty or it does not fit. decode (len bytes, not
 * NUL-terminated): refuses raw bytes that must be escaped, bad escapes
 * and %00; length or -1. */
int bg_journal_name_encode(const char *name, char *out, size_t outsz);
int bg_journal_name_decode(const char *in, size_t len, char *out, size_t outsz);

/* The line for one change, as appended ('\n' included). Length or -1. */
int bg_journal_format(char *out, size_t outsz, long long ts, enum bg_kind kind,
                      const char *name, const struct bg_record *rec);

#endif
