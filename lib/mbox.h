/* mbox.h - read the messages of an mbox mailbox one at a time.
 *
 * A mailbox of bounces ("/var/mail/bounces", the file a Postfix local(8)
 * or a mail client appends to) holds many messages; each starts with a
 * "From " line (the postmark). The reader streams the file through one
 * bounded buffer, so a mailbox of any size costs max_msg plus a read
 * chunk of memory, and hands out each message without its postmark.
 *
 * Rules (those of mboxo/mboxrd, which every writer that matters follows):
 *   - a line that starts with "From " starts the next message;
 *   - bytes before the first postmark (a file that is no mbox, or a
 *     single message without one) are a message of their own;
 *   - quoted body lines (">From ") are handed out as they are;
 *   - a message longer than max_msg is handed out cut to max_msg bytes,
 *     and the rest of it is skipped.
 */
#ifndef BG_MBOX_H
#define BG_MBOX_H

#include <stddef.h>

struct bg_mbox {
    int fd;
    char *buf;
    size_t cap;          /* bytes of buf */
    size_t chunk;        /* bytes asked of one read(2) */
    size_t max_msg;
    size_t beg, len;     /* unread data: buf[beg, len) */
    size_t index;        /* messages handed out so far */
    int eof;             /* read(2) returned 0 */
    int err;             /* read(2) failed (errno kept in err_no) */
    int err_no;
    int skip;            /* the message before was cut: skip to the next
                          * postmark first */
    int started;         /* the first message has been looked at */
};

/* Start reading fd. max_msg: most bytes of one message handed out (> 0);
 * chunk: bytes per read(2), 0 for the default (64 KiB). Returns 0, or -1
 * (out of memory). The fd stays the caller's. */
int bg_mbox_open(struct bg_mbox *m, int fd, size_t max_msg, size_t chunk);

/* The next message: *msg and *len are valid until the next call or
 * bg_mbox_close. Returns 1 with a message, 0 at the end, -1 on a read
 * error (m->err_no holds errno). */
int bg_mbox_next(struct bg_mbox *m, const char **msg, size_t *len);

void bg_mbox_close(struct bg_mbox *m);

#endif
