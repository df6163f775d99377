/* mbox.c - stream the messages of an mbox mailbox (see mbox.h).
 *
 * Written by hand: no Debian library splits an mbox from a file
 * descriptor through a bounded buffer (libmailutils and GMime open the
 * whole mailbox their own way and bring much more than this needs).
 *
 * The buffer holds at most one message (max_msg bytes) plus one read
 * chunk; data before the current message is dropped by moving the rest
 * to the front. A postmark is a "\nFrom ": its "\nFr" is found by
 * bg_mime_next_lf2 (memchr for each LF; glibc's memmem took a
 * tenth of `classify --mbox`'s time) and the rest compared; a search
 * that ran off the end of the data resumes 5 bytes before it, so a
 * postmark split between two reads is still found, and no byte is
 * searched more than a few times: linear in the size of the mailbox.
 */
#include "mbox.h"
#include "mime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MBOX_CHUNK (64 * 1024)
static const char postmark[] = "\nFrom ";
#define PM_LEN (sizeof postmark - 1)

int bg_mbox_open(struct bg_mbox *m, int fd, size_t max_msg, size_t chunk)
{
    memset(m, 0, sizeof *m);
    if (max_msg == 0)
        return -1;
    m->fd = fd;
    m->chunk = chunk ? chunk : MBOX_CHUNK;
    m->max_msg = max_msg;
    m->cap = max_msg + m->chunk + PM_LEN;
    m->buf = malloc(m->cap);
    return m->buf ? 0 : -1;
}

void bg_mbox_close(struct bg_mbox *m)
{
    free(m->buf);
    m->buf = NULL;
}

/* Drop buf[0, keep) (moving the rest to the front), then read one chunk
 * more. Returns the number of bytes dropped; sets eof or err. */
static size_t refill(struct bg_mbox *m, size_t keep)
{
    if (keep > m->len)
        keep = m->len;
    if (keep) {
        memmove(m->buf, m->buf + keep, m->len - keep);
        m->len -= keep;
        m->beg = m->beg > keep ? m->beg - keep : 0;
    }
    size_t room = m->cap - m->len;
    if (room > m->chunk)
        room = m->chunk;
    if (room == 0)
        return keep;             /* cannot happen: see the callers */
    for (;;) {
        ssize_t r = read(m->fd, m->buf + m->len, room);
        if (r > 0) {
            m->len += (size_t)r;
        } else if (r == 0) {
            m->eof = 1;
        } else if (errno == EINTR) {
            continue;
        } else {
            m->err = 1;
            m->err_no = errno;
        }
        return keep;
    }
}

/* Where the next postmark line starts at or after buf[from] (a "From "
 * that follows a newline), reading more as needed; data before `keep`
 * may be dropped. Returns its offset, or m->len at the end of the file
 * (or on an error). `from` and `keep` are updated for dropped data. */
static size_t next_postmark(struct bg_mbox *m, size_t from, size_t *keep)
{
    for (;;) {
        if (m->len >= from + PM_LEN) {
            /* candidates k < end have all PM_LEN bytes in the data */
            size_t end = m->len - (PM_LEN - 1), k = from;
            while ((k = bg_mime_next_lf2(m->buf, m->len, k, end, 'F', 'r')) < end) {
                if (memcmp(m->buf + k + 3, postmark + 3, PM_LEN - 3) == 0)
                    return k + 1;
                k++;
            }
            from = end;
        }
        if (m->eof || m->err)
            return m->len;
        if (m->len - *keep > m->max_msg + PM_LEN)
            return m->len;       /* too long: the caller cuts the message
                                  * (a postmark that starts within its
                                  * max_msg bytes would have been whole) */
        size_t d = refill(m, *keep);
        from -= d;
        *keep -= d;
    }
}

int bg_mbox_next(struct bg_mbox *m, const char **msg, size_t *len)
{
    for (;;) {
        if (m->err)
            return -1;
        if (!m->started) {
            m->started = 1;
            while (m->len < 5 && !m->eof && !m->err)
                refill(m, 0);
            if (m->err)
                return -1;
            if (m->len < 5 || memcmp(m->buf, "From ", 5) != 0) {
                /* no postmark first: the bytes up to the first one are
                 * a message of their own */
                goto body;
            }
        } else if (m->skip) {
            /* the rest of a cut message, up to the next postmark (which
             * may start right at beg: search from the byte before) */
            size_t keep = m->beg > 0 ? m->beg - 1 : 0;
            size_t at = next_postmark(m, keep, &keep);
            m->beg = at;
            if (at >= m->len) {
                /* no postmark in what the buffer holds (more than one
                 * message's worth): drop it and go on reading */
                if (m->eof || m->err)
                    return m->err ? -1 : 0;
                m->beg = m->len > PM_LEN ? m->len - PM_LEN : 0;
                refill(m, m->beg);
                continue;
            }
            m->skip = 0;
        }
        /* buf[beg] starts a postmark line (or the data ended) */
        for (;;) {
            const char *nl = memchr(m->buf + m->beg, '\n', m->len - m->beg);
            if (nl) {
                m->beg = (size_t)(nl - m->buf) + 1;
                break;
            }
            if (m->eof || m->err)
                return m->err ? -1 : 0;
            /* a postmark line longer than the data read: drop what we
             * have of it */
            refill(m, m->len);
        }
    body:;
        /* The message starts at beg; the search starts at the newline
         * before it (the postmark line's own), so that a postmark right
         * at beg - an empty message - is found too. */
        size_t back = m->beg > 0 ? 1 : 0;
        size_t keep = m->beg - back;
        size_t end = next_postmark(m, keep, &keep);
        size_t ms = keep + back;     /* next_postmark may move the data */
        if (m->err)
            return -1;
        m->index++;
        size_t n = end - ms;
        if (end >= m->len && !m->eof) {
            /* next_postmark stopped with more than max_msg bytes of the
             * message and no postmark: hand out the first max_msg, skip
             * the rest (up to a postmark still to be found) */
            n = m->max_msg;
            m->beg = ms + n;
            m->skip = 1;
        } else {
            if (n > m->max_msg)
                n = m->max_msg;  /* cut; the postmark (or the end) is known */
            m->beg = end;
        }
        if (n == 0) {
            if (end >= m->len && (m->eof || m->err))
                return m->err ? -1 : 0;
            continue;            /* empty: counted, not handed out */
        }
        *msg = m->buf + ms;
        *len = n;
        return 1;
    }
}
