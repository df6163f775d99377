/* delsync.h - deletes reach the journal of every host (journal.h).
 *
 * Each host journals the changes made on it, and a restore replays every
 * host's journal, so a delete made on one host would come back from the
 * journal of another host that learned the entry. So whoever deletes a
 * recipient or domain entry (bouncegatectl del) also publishes a delete
 * note in memcached, and every daemon appends a tombstone for it to its
 * own journal while memcached is up:
 *
 *   KeyPrefix + "m:delseq"     counter (memcached incr), never expires;
 *                              the number of the last note
 *   KeyPrefix + "m:del:SEQ"    the note of delete SEQ, 30 days:
 *     "bgdel1 time=T kind=K name=NAME host=HOST journal=TAG"
 *
 *   T     Unix seconds of the delete (decimal, > 0)
 *   K     "r" recipient or "d" domain
 *   NAME  the normalized name, percent-encoded as the journal does ('%',
 *         every byte <= 0x20, 0x7f and >= 0x80 become %XX; %00 refused)
 *   HOST  the deleting host's name, [A-Za-z0-9._-], at most 64 bytes
 *   TAG   8 hex digits naming the deleting process's Journal (the first
 *         bytes of the SHA-256 of its path), or "-" without one: with the
 *         host name it says "this journal", also when several bouncegates
 *         with their own journals run on one machine
 *
 * Fields are separated by single spaces; unknown fields (k=v) are ignored
 * for forward compatibility. A note is untrusted input (anyone who can
 * write memcached can write one): it is parsed with every length, byte,
 * number and escape checked, and a bad one is skipped.
 *
 * With a SigningKeyFile, the note ends with " mac=M": M is bg_sign_mac
 * (sign.h, purpose "bgdel1") of every byte before " mac=". A daemon with
 * a key applies only notes whose MAC is right, so writing to memcached is
 * no longer enough to make a delete permanent on every host (all hosts of
 * a site share the key). Without a key, notes are neither signed nor
 * checked.
 *
 * A daemon tombstones the key of a note in its journal only when the key
 * is live there with a put older than the note (a later put - the entry
 * was learned or added again after the delete - wins), and never for its
 * own notes (its journal has the delete already). It remembers the last
 * note it processed in JOURNAL.delseq.
 */
#ifndef BG_DELSYNC_H
#define BG_DELSYNC_H

#include <stddef.h>
#include "bg.h"
#include "journal.h"
#include "key.h"

/* Longest note value (memcached value), bytes. */
#define BG_DELNOTE_MAX 2048
/* Longest host name in a note. */
#define BG_DELSYNC_HOST_MAX 64
/* Lifetime of a note: the journal keeps tombstones as long
 * (BG_JOURNAL_TOMB_HORIZON). */
#define BG_DELSYNC_TTL (30LL * 86400)
/* Meta names (store.h: KeyPrefix + "m:" + name). */
#define BG_DELSYNC_SEQ_NAME "delseq"
/* Notes a daemon reads per wake-up at most (it goes on at the next). */
#define BG_DELSYNC_BATCH 1000
/* A counter further ahead than this is not walked note by note: notes
 * live 30 days, and no site deletes a million entries in 30 days. */
#define BG_DELSYNC_BACKLOG_MAX 1000000ULL

struct bg_delnote {
    long long time;                        /* of the delete */
    enum bg_kind kind;                     /* BG_KIND_RCPT or BG_KIND_DOMAIN */
    char name[BG_ADDR_MAX];                /* decoded */
    char host[BG_DELSYNC_HOST_MAX + 1];
    char journal[9];                       /* 8 hex digits, or "-" */
};

/* Who this process is, as written into its notes and compared with the
 * notes it reads. */
struct bg_delsync_self {
    char host[BG_DELSYNC_HOST_MAX + 1];
    char journal[9];
};

/* host: gethostname() (NULL) or the given name; bytes outside
 * [A-Za-z0-9._-] become '_', cut at 64 bytes, "unknown" when empty.
 * journal: the Journal path, or NULL / "" for none. */
void bg_delsync_self_init(struct bg_delsync_self *me, const char *host,
                          const char *journal);

/* The value of a note. Length (without the NUL), or -1 when the kind is
 * not r/d, a field is empty or bad, or it does not fit. */
int bg_delnote_format(char *out, size_t outsz, const struct bg_delnote *n);

/* Parse len bytes (not necessarily NUL-terminated, may hold NULs) of a
 * note. 0, or -1 with *why (a static string) saying what was wrong. */
int bg_delnote_parse(const char *in, size_t len, struct bg_delnote *n, const char **why);

/* What a daemon does with a good note. */
enum bg_delsync_decision {
    BG_DS_TOMBSTONE = 0,  /* live here with an older put: append a del */
    BG_DS_OWN,            /* written by this host (and journal): skip */
    BG_DS_ABSENT,         /* not live in this journal: nothing to do */
    BG_DS_NEWER           /* live with a put as new as the note or newer */
};
const char *bg_delsync_decision_name(enum bg_delsync_decision d);

/* e: the note's key in this host's journal (bg_journal_set_find), NULL
 * when the journal never mentioned it. */
enum bg_delsync_decision bg_delsync_decide(const struct bg_delnote *n,
                                           const struct bg_delsync_self *me,
                                           const struct bg_journal_entry *e);

/* The counter's value: 1 to 20 decimal digits, then only blanks, CR or LF
 * (memcached pads a counter it rewrote in place). 0 or -1. */
int bg_delsync_seq_parse(const char *in, size_t len, unsigned long long *out);

/* Which notes to read this time, given the last one processed (done) and
 * the counter (head). from > to: none. reset: head < done, memcached
 * lost the counter (and so the notes): start again from 1. skipped:
 * notes left out because head is more than BG_DELSYNC_BACKLOG_MAX ahead. */
struct bg_delsync_plan {
    unsigned long long from, to, skipped;
    int reset;
};
void bg_delsync_plan(unsigned long long done, unsigned long long head, unsigned batch,
                     struct bg_delsync_plan *p);

/* A note that is missing when read: 1 when it is a gap to step over (it
 * was already numbered at the previous read of the counter, prev_head,
 * so it expired or its writer failed), 0 when it may still be on its way
 * (the writer increments the counter, then writes the note). */
int bg_delsync_is_gap(unsigned long long seq, unsigned long long prev_head);

/* The meta name of note seq ("del:SEQ"). Length or -1. */
int bg_delsync_note_name(char *out, size_t outsz, unsigned long long seq);

/* JOURNAL.delseq: the last note processed. load: 1 read, 0 missing or
 * malformed (start from 0), never fails. save: temporary file + rename;
 * 0 or -1 with err. */
int bg_delsync_state_load(const char *journal, unsigned long long *seq);
int bg_delsync_state_save(const char *journal, unsigned long long seq, char *err,
                          size_t errsz);

struct bg_signer;
/* Append " mac=M" to the note of len bytes in buf (bufsz bytes). New
 * length, or -1 when it does not fit. */
int bg_delnote_sign(char *buf, size_t len, size_t bufsz, const struct bg_signer *key);
/* Does the note of len bytes end with the right " mac=M"? 0, or -1 with
 * *why ("unsigned", "bad mac"). */
int bg_delnote_verify(const char *in, size_t len, const struct bg_signer *key,
                      const char **why);

struct bg_store;
/* Publish a note, signed when key is not NULL: incr the counter, set the
 * note under its number with a 30-day lifetime. 0 with *seq, or -1 with
 * err (memcached down...). */
int bg_delsync_publish(struct bg_store *s, const struct bg_delnote *n,
                       const struct bg_signer *key, unsigned long long *seq, char *err,
                       size_t errsz);

#endif
