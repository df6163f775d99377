/* record.h - the suppression record stored in memcached.
 *
 * Wire format (one line, ASCII, at most BG_RECORD_MAX bytes):
 *   "bg1 class=hard reason=userunknown status=5.1.1 first=1763596800
 *    last=1763596800 count=1 expires=0 source=manual rule=- id=- diag=..."
 * (one line; fields separated by single spaces). Values are
 * percent-encoded: every byte that is '%', '=', a blank, a control byte or
 * >= 0x80 becomes %XX. Empty values are written as "-". Unknown fields
 * are ignored on decode (forward compatibility); a missing "bg1" tag,
 * a malformed number or a bad encoding is an error.
 * Times are Unix seconds; expires 0 means never.
 */
#ifndef BG_RECORD_H
#define BG_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define BG_RECORD_MAX 2048

enum bg_class {
    BG_CLASS_NONE = 0,      /* delivered / auto-reply: nothing to do */
    BG_CLASS_HARD,          /* recipient permanently undeliverable */
    BG_CLASS_SOFT,          /* temporary, recipient-side */
    BG_CLASS_BLOCK,         /* sender or message refused: not the rcpt */
    BG_CLASS_COMPLAINT,     /* feedback report */
    BG_CLASS_MANUAL,        /* added by an operator */
    BG_CLASS_UNDETERMINED
};

struct bg_record {
    enum bg_class cls;
    char reason[32];     /* Sisimai vocabulary: userunknown, mailboxfull... */
    char status[16];     /* enhanced status code, e.g. "5.1.1" */
    char rule[48];       /* classifier rule id that decided */
    char source[24];     /* manual, postfix-dsn, remote-dsn, arf, log, import */
    char id[64];         /* queue id or message id of the evidence */
    char diag[256];      /* diagnostic text, truncated */
    int64_t first_seen;
    int64_t last_seen;
    int64_t expires;     /* absolute Unix time, 0 = never */
    uint32_t count;
};

/* Name of a class ("hard", ...); never NULL. */
const char *bg_class_name(enum bg_class c);
/* Parse a class name; returns 0 or -1. */
int bg_class_parse(const char *s, enum bg_class *c);

/* Encode; returns the length written (excluding NUL) or -1 if it does not
 * fit. Over-long string fields are truncated at encode time, never
 * overflowed. */
int bg_record_encode(const struct bg_record *r, char *out, size_t outsz);
/* Decode len bytes (not necessarily NUL-terminated). Returns 0 or -1. */
int bg_record_decode(const char *in, size_t len, struct bg_record *r);

/* Bounded copy helper used throughout: copies at most dstsz-1 bytes of
 * src, always terminates, returns 1 if truncated. */
int bg_strlcpy(char *dst, const char *src, size_t dstsz);

#endif
