/* journal.c - local append-only journal of suppression changes (see
 * journal.h): writing it, and deciding when to compact it. Reading is in
 * journal_read.c, streaming and compaction in journal_scan.c. */
#include "journal_int.h"
#include "address.h"
#include "err.h"
#include "bg.h"
#include "log.h"
#include "secure.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct bg_journal {
    pthread_mutex_t mu;
    char path[PATH_MAX_J];
    char lockpath[PATH_MAX_J + 8];
    enum bg_journal_sync sync;
    int fd;                  /* -1 until the first append */
    int lockfd;              /* -1 until the first append */
    dev_t dev;
    ino_t ino;
    int dirty;               /* written since the last fdatasync */
    long long last_sync;     /* monotonic seconds */
    off_t next_check;        /* maintain: size that triggers a look */
};

static long long mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

int bg_journal_sync_parse(const char *s, enum bg_journal_sync *out)
{
    if (s == NULL)
        return -1;
    if (strcasecmp(s, "interval") == 0)
        *out = BG_JSYNC_INTERVAL;
    else if (strcasecmp(s, "always") == 0)
        *out = BG_JSYNC_ALWAYS;
    else if (strcasecmp(s, "never") == 0)
        *out = BG_JSYNC_NEVER;
    else
        return -1;
    return 0;
}

const char *bg_journal_sync_name(enum bg_journal_sync s)
{
    switch (s) {
    case BG_JSYNC_ALWAYS: return "always";
    case BG_JSYNC_NEVER: return "never";
    case BG_JSYNC_INTERVAL: break;
    }
    return "interval";
}

/* ------------------------------------------------------------ names */

static int must_escape(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || c >= 0x80 || c == '%';
}

/* Percent-encode name; length or -1 when it does not fit. */
static int encode_name(const char *name, char *out, size_t outsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (must_escape(*p)) {
            if (o + 3 >= outsz)
                return -1;
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        } else {
            if (o + 1 >= outsz)
                return -1;
            out[o++] = (char)*p;
        }
    }
    if (o == 0 || o >= outsz)
        return -1;
    out[o] = '\0';
    return (int)o;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode len bytes; refuses raw bytes that must be escaped, bad escapes
 * and %00. Length or -1. */
static int decode_name(const char *in, size_t len, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int h = hexval((unsigned char)in[i + 1]), l = hexval((unsigned char)in[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return -1;
            c = (unsigned char)(h * 16 + l);
            i += 2;
        } else if (must_escape(c)) {
            return -1;
        }
        if (o + 1 >= outsz)
            return -1;
        out[o++] = (char)c;
    }
    if (o == 0)
        return -1;
    out[o] = '\0';
    return (int)o;
}

int bg_journal_name_encode(const char *name, char *out, size_t outsz)
{
    return encode_name(name, out, outsz);
}

int bg_journal_name_decode(const char *in, size_t len, char *out, size_t outsz)
{
    return decode_name(in, len, out, outsz);
}

int bg_journal_format(char *out, size_t outsz, long long ts, enum bg_kind kind,
                      const char *name, const struct bg_record *rec)
{
    char en[BG_ADDR_MAX * 3 + 1];
    char val[BG_RECORD_MAX];
    if (kind != BG_KIND_RCPT && kind != BG_KIND_DOMAIN)
        return -1;
    if (name == NULL || strlen(name) >= BG_ADDR_MAX || encode_name(name, en, sizeof en) < 0)
        return -1;
    if (rec != NULL) {
        if (bg_record_encode(rec, val, sizeof val) < 0)
            return -1;
    } else {
        val[0] = '-';
        val[1] = '\0';
    }
    int n = snprintf(out, outsz, "%lld %s %c %s %s\n", ts, rec ? "put" : "del", (char)kind,
                     en, val);
    if (n < 0 || (size_t)n >= outsz || n > BG_JOURNAL_LINE_MAX)
        return -1;
    return n;
}

/* ------------------------------------------------------------ appending */

struct bg_journal *bg_journal_open(const char *path, enum bg_journal_sync sync,
                                   char *err, size_t errsz)
{
    if (path == NULL || path[0] == '\0') {
        bg_seterr(err, errsz, "no journal path");
        return NULL;
    }
    if (strlen(path) >= PATH_MAX_J) {
        bg_seterr(err, errsz, "journal path too long");
        return NULL;
    }
    struct bg_journal *j = calloc(1, sizeof *j);
    if (j == NULL) {
        bg_seterr(err, errsz, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&j->mu, NULL);
    memcpy(j->path, path, strlen(path) + 1);
    snprintf(j->lockpath, sizeof j->lockpath, "%s.lock", path);
    j->sync = sync;
    j->fd = -1;
    j->lockfd = -1;
    j->last_sync = mono_now();
    return j;
}

const char *bg_journal_path(const struct bg_journal *j)
{
    return j->path;
}

/* Every file of the journal directory is opened through bg_open_file
 * (secure.h): the directory belongs to the daemon's user, and a root
 * bouncegatectl must never follow what that user planted there. */
int journal_open_lockfile(const char *lockpath, char *err, size_t errsz)
{
    return bg_open_file(lockpath, O_RDONLY | O_CREAT, 0644, err, errsz);
}

static void close_fd(struct bg_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
}

/* With j->mu and the shared lock held: make j->fd the file now at path. */
static int ensure_file(struct bg_journal *j, char *err, size_t errsz)
{
    struct stat ps;
    if (j->fd >= 0) {
        if (stat(j->path, &ps) == 0 && ps.st_dev == j->dev && ps.st_ino == j->ino)
            return 0;
        /* Renamed over (compacted) or removed: the old inode is dead. */
        if (j->dirty)
            fdatasync(j->fd);
        j->dirty = 0;
        close_fd(j);
    }
    int fd = bg_open_file(j->path, O_RDWR | O_APPEND | O_CREAT, 0640, err, errsz);
    if (fd < 0)
        return -1;
    struct stat fs;
    if (fstat(fd, &fs) < 0) {
        bg_seterr(err, errsz, "%s: %s", j->path, strerror(errno));
        close(fd);
        return -1;
    }
    /* A last line without its newline (a writer died mid-line): end it,
     * so our line is not glued to it. Two appenders doing this at once
     * only leave an empty line. */
    if (fs.st_size > 0) {
        char c;
        if (pread(fd, &c, 1, fs.st_size - 1) == 1 && c != '\n') {
            if (write(fd, "\n", 1) != 1) {
                bg_seterr(err, errsz, "%s: %s", j->path, strerror(errno));
                close(fd);
                return -1;
            }
        }
    }
    j->fd = fd;
    j->dev = fs.st_dev;
    j->ino = fs.st_ino;
    return 0;
}

static int do_sync(struct bg_journal *j, char *err, size_t errsz)
{
    if (j->fd < 0 || !j->dirty)
        return 0;
    j->dirty = 0;
    j->last_sync = mono_now();
    if (fdatasync(j->fd) < 0) {
        bg_seterr(err, errsz, "%s: fdatasync: %s", j->path, strerror(errno));
        return -1;
    }
    return 0;
}

static int append_line(struct bg_journal *j, const char *line, size_t len, char *err,
                       size_t errsz)
{
    int ret = 0;
    pthread_mutex_lock(&j->mu);
    if (j->lockfd < 0 && (j->lockfd = journal_open_lockfile(j->lockpath, err, errsz)) < 0) {
        pthread_mutex_unlock(&j->mu);
        return -1;
    }
    while (flock(j->lockfd, LOCK_SH) < 0) {
        if (errno != EINTR) {
            bg_seterr(err, errsz, "%s: flock: %s", j->lockpath, strerror(errno));
            pthread_mutex_unlock(&j->mu);
            return -1;
        }
    }
    if (ensure_file(j, err, errsz) < 0) {
        ret = -1;
    } else if (len > 0) {
        ssize_t w = write(j->fd, line, len);
        if (w != (ssize_t)len) {
            bg_seterr(err, errsz, "%s: write: %s", j->path,
                   w < 0 ? strerror(errno) : "short write");
            /* Reopen next time, which ends a torn line. */
            close_fd(j);
            ret = -1;
        } else {
            j->dirty = 1;
        }
    }
    flock(j->lockfd, LOCK_UN);
    if (ret == 0 && j->dirty) {
        if (j->sync == BG_JSYNC_ALWAYS ||
            (j->sync == BG_JSYNC_INTERVAL && mono_now() - j->last_sync >= 1))
            ret = do_sync(j, err, errsz);
    }
    pthread_mutex_unlock(&j->mu);
    return ret;
}

int bg_journal_probe(struct bg_journal *j, char *err, size_t errsz)
{
    return append_line(j, "", 0, err, errsz);
}

int bg_journal_append(struct bg_journal *j, long long ts, enum bg_kind kind,
                      const char *name, const struct bg_record *rec,
                      char *err, size_t errsz)
{
    char line[BG_JOURNAL_LINE_MAX + 1];
    if (j == NULL || (kind != BG_KIND_RCPT && kind != BG_KIND_DOMAIN))
        return 0;
    if (ts <= 0)
        ts = (long long)time(NULL);
    int n = bg_journal_format(line, sizeof line, ts, kind, name, rec);
    if (n < 0) {
        bg_seterr(err, errsz, "journal: cannot format the line for %.64s", name ? name : "");
        return -1;
    }
    return append_line(j, line, (size_t)n, err, errsz);
}

int bg_journal_flush(struct bg_journal *j, char *err, size_t errsz)
{
    if (j == NULL)
        return 0;
    pthread_mutex_lock(&j->mu);
    int rc = do_sync(j, err, errsz);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

void bg_journal_close(struct bg_journal *j)
{
    if (j == NULL)
        return;
    bg_journal_flush(j, NULL, 0);
    close_fd(j);
    if (j->lockfd >= 0)
        close(j->lockfd);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

int bg_journal_maintain(struct bg_journal *j, long long now, off_t min_bytes,
                        char *err, size_t errsz)
{
    struct stat ps;
    if (j == NULL)
        return 0;
    if (stat(j->path, &ps) < 0)
        return errno == ENOENT ? 0 : (bg_seterr(err, errsz, "%s: %s", j->path, strerror(errno)), -1);
    pthread_mutex_lock(&j->mu);
    off_t next = j->next_check;
    pthread_mutex_unlock(&j->mu);
    if (ps.st_size <= next || ps.st_size < min_bytes)
        return 0;
    struct bg_journal_stats st;
    if (bg_journal_scan(j->path, now, NULL, NULL, &st, err, errsz) < 0)
        return -1;
    int did = 0;
    if (st.size > 2 * (off_t)st.live_bytes) {
        if (bg_journal_compact(j->path, now, BG_JOURNAL_TOMB_HORIZON, &st, err, errsz) < 0)
            return -1;
        did = 1;
    }
    off_t want = 2 * (off_t)st.live_bytes;
    pthread_mutex_lock(&j->mu);
    j->next_check = want > min_bytes ? want : min_bytes;
    pthread_mutex_unlock(&j->mu);
    return did;
}
