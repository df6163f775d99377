/* journal.c - local append-only journal of suppression changes (see
 * journal.h). */
#include "journal.h"
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

#define PATH_MAX_J 512

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
static int open_lockfile(const char *lockpath, char *err, size_t errsz)
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
    if (j->lockfd < 0 && (j->lockfd = open_lockfile(j->lockpath, err, errsz)) < 0) {
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

/* ------------------------------------------------------------ the set */

struct ent {
    struct bg_journal_entry e;
    char *name;
    char *rec;
    size_t linelen;
    size_t hash;
};

struct bg_journal_set {
    struct ent *v;           /* in order of first appearance */
    size_t n, cap;
    size_t *idx;             /* open addressing into v; SIZE_MAX = empty */
    size_t icap;             /* power of two */
};

static size_t hash_key(enum bg_kind kind, const char *name)
{
    uint64_t h = 1469598103934665603ULL ^ (unsigned char)kind;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static struct bg_journal_set *set_new(void)
{
    struct bg_journal_set *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->icap = 64;
    s->idx = malloc(s->icap * sizeof *s->idx);
    if (s->idx == NULL) {
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < s->icap; i++)
        s->idx[i] = SIZE_MAX;
    return s;
}

void bg_journal_set_free(struct bg_journal_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].rec);
    }
    free(s->v);
    free(s->idx);
    free(s);
}

static size_t *slot_of(const struct bg_journal_set *s, size_t h, enum bg_kind kind,
                       const char *name)
{
    size_t mask = s->icap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        size_t k = s->idx[i];
        if (k == SIZE_MAX)
            return &s->idx[i];
        const struct ent *e = &s->v[k];
        if (e->hash == h && e->e.kind == kind && strcmp(e->name, name) == 0)
            return &s->idx[i];
    }
}

static int grow_index(struct bg_journal_set *s)
{
    size_t ncap = s->icap * 2;
    size_t *ni = malloc(ncap * sizeof *ni);
    if (ni == NULL)
        return -1;
    for (size_t i = 0; i < ncap; i++)
        ni[i] = SIZE_MAX;
    for (size_t k = 0; k < s->n; k++)
        for (size_t i = s->v[k].hash & (ncap - 1);; i = (i + 1) & (ncap - 1))
            if (ni[i] == SIZE_MAX) {
                ni[i] = k;
                break;
            }
    free(s->idx);
    s->idx = ni;
    s->icap = ncap;
    return 0;
}

const struct bg_journal_entry *bg_journal_set_find(const struct bg_journal_set *s,
                                                   enum bg_kind kind, const char *name)
{
    if (s == NULL || name == NULL)
        return NULL;
    size_t *slot = slot_of(s, hash_key(kind, name), kind, name);
    return *slot == SIZE_MAX ? NULL : &s->v[*slot].e;
}

int bg_journal_set_each(const struct bg_journal_set *s,
                        int (*fn)(const struct bg_journal_entry *e, void *arg), void *arg)
{
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        int rc = fn(&s->v[i].e, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

struct parsed {
    long long ts;
    int del;
    enum bg_kind kind;
    char name[BG_ADDR_MAX];
    const char *rec;
    size_t reclen;
    long long expires;
};

/* A journal line obeys the rules every other input does: its name is what
 * address normalization makes of it, so no CR, LF, blank or upper case a
 * lookup would never ask for can enter memcached through a replay. */
static int name_is_normal(enum bg_kind kind, const char *name)
{
    char norm[BG_ADDR_MAX];
    const char *why = NULL;
    size_t len = strlen(name);
    int rc = kind == BG_KIND_RCPT ? bg_addr_normalize(name, len, norm, sizeof norm, &why)
                                  : bg_domain_normalize(name, len, norm, sizeof norm, &why);
    return rc == 0 && strcmp(norm, name) == 0;
}

/* Parse one line (without '\n', NUL-terminated, len bytes). 0 or -1. */
static int parse_line(const char *line, size_t len, struct parsed *p)
{
    const char *s = line, *end = line + len;
    long long ts = 0;
    int nd = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        if (++nd > 18)
            return -1;
        ts = ts * 10 + (*s - '0');
        s++;
    }
    if (nd == 0 || s >= end || *s != ' ')
        return -1;
    s++;
    if (end - s >= 4 && memcmp(s, "put ", 4) == 0)
        p->del = 0;
    else if (end - s >= 4 && memcmp(s, "del ", 4) == 0)
        p->del = 1;
    else
        return -1;
    s += 4;
    if (end - s < 2 || (s[0] != 'r' && s[0] != 'd') || s[1] != ' ')
        return -1;
    p->kind = s[0] == 'r' ? BG_KIND_RCPT : BG_KIND_DOMAIN;
    s += 2;
    const char *sp = memchr(s, ' ', (size_t)(end - s));
    if (sp == NULL)
        return -1;
    if (decode_name(s, (size_t)(sp - s), p->name, sizeof p->name) < 0 ||
        !name_is_normal(p->kind, p->name))
        return -1;
    s = sp + 1;
    p->ts = ts;
    p->rec = s;
    p->reclen = (size_t)(end - s);
    if (p->del) {
        if (p->reclen != 1 || s[0] != '-')
            return -1;
        p->rec = NULL;
        p->reclen = 0;
        p->expires = 0;
        return 0;
    }
    struct bg_record r;
    if (p->reclen == 0 || p->reclen >= BG_RECORD_MAX || bg_record_decode(s, p->reclen, &r) < 0)
        return -1;
    if (r.expires < 0)
        return -1;
    p->expires = r.expires;
    return 0;
}

static int set_apply(struct bg_journal_set *s, const struct parsed *p, size_t linelen,
                     long long now)
{
    if ((s->n + 1) * 2 > s->icap && grow_index(s) < 0)
        return -1;
    size_t h = hash_key(p->kind, p->name);
    size_t *slot = slot_of(s, h, p->kind, p->name);
    char *rec = NULL;
    if (!p->del) {
        rec = malloc(p->reclen + 1);
        if (rec == NULL)
            return -1;
        memcpy(rec, p->rec, p->reclen);
        rec[p->reclen] = '\0';
    }
    struct ent *e;
    if (*slot == SIZE_MAX) {
        if (s->n == s->cap) {
            size_t ncap = s->cap ? s->cap * 2 : 256;
            struct ent *nv = realloc(s->v, ncap * sizeof *nv);
            if (nv == NULL) {
                free(rec);
                return -1;
            }
            s->v = nv;
            s->cap = ncap;
        }
        e = &s->v[s->n];
        memset(e, 0, sizeof *e);
        e->name = strdup(p->name);
        if (e->name == NULL) {
            free(rec);
            return -1;
        }
        e->hash = h;
        e->e.kind = p->kind;
        *slot = s->n++;
    } else {
        e = &s->v[*slot];
        free(e->rec);
    }
    e->rec = rec;
    e->linelen = linelen;
    e->e.name = e->name;
    e->e.rec = rec;
    e->e.reclen = p->reclen;
    e->e.ts = p->ts;
    e->e.expires = p->expires;
    if (p->del)
        e->e.state = BG_JE_TOMBSTONE;
    else if (p->expires != 0 && p->expires <= now)
        e->e.state = BG_JE_EXPIRED;
    else
        e->e.state = BG_JE_LIVE;
    return 0;
}

static void set_stats(const struct bg_journal_set *s, long long now, long long horizon,
                      struct bg_journal_stats *st)
{
    st->live = st->tombstones = st->expired = 0;
    st->live_bytes = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct ent *e = &s->v[i];
        switch (e->e.state) {
        case BG_JE_LIVE:
            st->live++;
            st->live_bytes += e->linelen;
            break;
        case BG_JE_TOMBSTONE:
            st->tombstones++;
            if (now - e->e.ts < horizon)
                st->live_bytes += e->linelen;
            break;
        case BG_JE_EXPIRED:
            st->expired++;
            break;
        }
    }
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

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

static void quarantine_line(struct quarantine *q, const char *line, size_t len,
                            int truncated)
{
    if (q == NULL || q->failed)
        return;
    if (q->fd < 0 &&
        (q->fd = bg_open_file(q->path, O_WRONLY | O_APPEND | O_CREAT, 0640, q->err,
                              sizeof q->err)) < 0) {
        q->failed = 1;
        return;
    }
    if (q->lines == 0) {
        struct stat qs;
        q->start = fstat(q->fd, &qs) == 0 ? qs.st_size : 0;
    }
    if (write_all(q->fd, line, len) < 0 ||
        (truncated && write_all(q->fd, " [truncated]", 12) < 0) ||
        write_all(q->fd, "\n", 1) < 0) {
        snprintf(q->err, sizeof q->err, "%s: write: %s", q->path, strerror(errno));
        q->failed = 1;
        return;
    }
    q->lines++;
}

/* Read fd from offset `from`, applying each good line with ts >= since;
 * bad lines go to q when there is one (compaction). */
static int read_lines(int fd, off_t from, long long since, long long now,
                      bg_journal_keep_fn *keep, void *keep_arg,
                      struct bg_journal_set *s, struct bg_journal_stats *st,
                      struct quarantine *q, char *err, size_t errsz)
{
    char buf[65536];
    char *line = malloc(BG_JOURNAL_LINE_MAX + 1);
    size_t ll = 0;
    int overlong = 0;
    off_t pos = from;
    if (line == NULL) {
        bg_seterr(err, errsz, "out of memory");
        return -1;
    }
    st->size = from;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, pos);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            bg_seterr(err, errsz, "read: %s", strerror(errno));
            free(line);
            return -1;
        }
        if (r == 0)
            break;
        size_t off = 0;
        while (off < (size_t)r) {
            const char *nl = memchr(buf + off, '\n', (size_t)r - off);
            size_t seg = nl ? (size_t)(nl - (buf + off)) : (size_t)r - off;
            if (!overlong) {
                if (ll + seg > BG_JOURNAL_LINE_MAX - 1) {
                    overlong = 1;
                } else {
                    memcpy(line + ll, buf + off, seg);
                    ll += seg;
                }
            }
            off += seg;
            if (nl == NULL)
                break;
            off++; /* the newline */
            st->size = pos + (off_t)off;
            if (overlong) {
                st->bad++;
                quarantine_line(q, line, ll, 1);
            } else if (ll > 0 && line[0] != '#') {
                struct parsed p;
                line[ll] = '\0';
                if (memchr(line, '\0', ll) != NULL || parse_line(line, ll, &p) < 0) {
                    st->bad++;
                    quarantine_line(q, line, ll, 0);
                } else {
                    st->lines++;
                    if (p.ts >= since && (keep == NULL || keep(p.kind, p.name, keep_arg)) &&
                        set_apply(s, &p, ll + 1, now) < 0) {
                        bg_seterr(err, errsz, "out of memory");
                        free(line);
                        return -1;
                    }
                }
            }
            ll = 0;
            overlong = 0;
        }
        pos += r;
    }
    if (ll > 0 || overlong) {
        st->torn = 1;
        quarantine_line(q, line, ll, overlong);
    }
    free(line);
    return 0;
}

static int load_common(const char *path, long long now, int tail, dev_t dev, ino_t ino,
                       off_t from, long long since, bg_journal_keep_fn *keep,
                       void *keep_arg, struct quarantine *q, struct bg_journal_set **out,
                       struct bg_journal_stats *st, char *err, size_t errsz)
{
    struct bg_journal_stats local;
    if (st == NULL)
        st = &local;
    memset(st, 0, sizeof *st);
    *out = NULL;
    struct bg_journal_set *s = set_new();
    if (s == NULL) {
        bg_seterr(err, errsz, "out of memory");
        return -1;
    }
    char oerr[400];
    int fd = bg_open_file(path, O_RDONLY, 0, oerr, sizeof oerr);
    if (fd < 0) {
        if (errno == ENOENT) {
            *out = s;
            return 0;
        }
        bg_seterr(err, errsz, "%s", oerr);
        bg_journal_set_free(s);
        return -1;
    }
    struct stat fs;
    if (fstat(fd, &fs) < 0) {
        bg_seterr(err, errsz, "%s: %s", path, strerror(errno));
        close(fd);
        bg_journal_set_free(s);
        return -1;
    }
    st->dev = fs.st_dev;
    st->ino = fs.st_ino;
    st->uid = fs.st_uid;
    st->gid = fs.st_gid;
    st->mode = fs.st_mode;
    if (!tail || fs.st_dev != dev || fs.st_ino != ino || fs.st_size < from) {
        from = 0;
    } else {
        since = 0;
    }
    if (!tail)
        since = 0;
    char rerr[256];
    if (read_lines(fd, from, since, now, keep, keep_arg, s, st, q, rerr, sizeof rerr) < 0) {
        bg_seterr(err, errsz, "%s: %s", path, rerr);
        close(fd);
        bg_journal_set_free(s);
        return -1;
    }
    close(fd);
    set_stats(s, now, BG_JOURNAL_TOMB_HORIZON, st);
    *out = s;
    return 0;
}

int bg_journal_load(const char *path, long long now, struct bg_journal_set **out,
                    struct bg_journal_stats *st, char *err, size_t errsz)
{
    return load_common(path, now, 0, 0, 0, 0, 0, NULL, NULL, NULL, out, st, err, errsz);
}

int bg_journal_load_keys(const char *path, long long now, bg_journal_keep_fn *keep,
                         void *keep_arg, struct bg_journal_set **out,
                         struct bg_journal_stats *st, char *err, size_t errsz)
{
    return load_common(path, now, 0, 0, 0, 0, 0, keep, keep_arg, NULL, out, st, err, errsz);
}

int bg_journal_load_tail(const char *path, long long now, dev_t dev, ino_t ino,
                         off_t from, long long since, struct bg_journal_set **out,
                         struct bg_journal_stats *st, char *err, size_t errsz)
{
    return load_common(path, now, 1, dev, ino, from, since, NULL, NULL, NULL, out, st, err,
                       errsz);
}

/* ------------------------------------------------------------ compaction */

static void fsync_dir(const char *path)
{
    char dir[PATH_MAX_J];
    if (bg_path_dir(path, dir, sizeof dir) < 0)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Write the compacted set to tmp. 0 or -1 (errno set). */
static int write_compacted(int fd, const struct bg_journal_set *s, long long now,
                           long long horizon)
{
    char *buf = malloc(65536);
    size_t bl = 0;
    char en[BG_ADDR_MAX * 3 + 1];
    if (buf == NULL)
        return -1;
    int n = snprintf(buf, 65536, "# bouncegate journal, compacted at %lld\n", now);
    bl = (size_t)n;
    for (size_t i = 0; i < s->n; i++) {
        const struct ent *e = &s->v[i];
        if (e->e.state == BG_JE_EXPIRED ||
            (e->e.state == BG_JE_TOMBSTONE && now - e->e.ts >= horizon))
            continue;
        if (bl + BG_JOURNAL_LINE_MAX + 1 > 65536) {
            if (write_all(fd, buf, bl) < 0) {
                free(buf);
                return -1;
            }
            bl = 0;
        }
        if (encode_name(e->name, en, sizeof en) < 0)
            continue; /* cannot happen: it was decoded from such a line */
        n = snprintf(buf + bl, 65536 - bl, "%lld %s %c %s %s\n", e->e.ts,
                     e->e.state == BG_JE_TOMBSTONE ? "del" : "put", (char)e->e.kind, en,
                     e->rec ? e->rec : "-");
        if (n < 0 || (size_t)n >= 65536 - bl || n > BG_JOURNAL_LINE_MAX)
            continue;
        bl += (size_t)n;
    }
    int rc = write_all(fd, buf, bl);
    free(buf);
    return rc;
}

int bg_journal_compact(const char *path, long long now, long long horizon,
                       struct bg_journal_stats *st, char *err, size_t errsz)
{
    char lockpath[PATH_MAX_J + 8], tmp[PATH_MAX_J + 32];
    if (strlen(path) >= PATH_MAX_J) {
        bg_seterr(err, errsz, "journal path too long");
        return -1;
    }
    snprintf(lockpath, sizeof lockpath, "%s.lock", path);
    int lfd = open_lockfile(lockpath, err, errsz);
    if (lfd < 0)
        return -1;
    while (flock(lfd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            bg_seterr(err, errsz, "%s: flock: %s", lockpath, strerror(errno));
            close(lfd);
            return -1;
        }
    }
    struct bg_journal_set *s = NULL;
    struct bg_journal_stats ls;
    struct quarantine q = { .fd = -1 };
    snprintf(q.path, sizeof q.path, "%s.bad", path);
    int ret = -1, fd = -1;
    if (load_common(path, now, 0, 0, 0, 0, 0, NULL, NULL, &q, &s, &ls, err, errsz) < 0)
        goto out;
    if (q.failed) {
        /* Never drop a line we could not put aside: keep the journal. */
        bg_seterr(err, errsz, "quarantine %s", q.err);
        goto out;
    }
    if (q.lines > 0)
        bg_log(LOG_WARNING, "journal", "action=quarantine lines=%zu journal=%s file=%s",
               q.lines, path, q.path);
    /* The owner and mode of the journal as it was read (fstat of the
     * descriptor bg_open_file checked, not of the name) carry over, so root
     * compacting never locks the daemon out. */
    if ((fd = bg_open_temp(path, tmp, sizeof tmp, err, errsz)) < 0)
        goto out;
    if (ls.mode != 0) {
        if (geteuid() == 0 && fchown(fd, ls.uid, ls.gid) < 0) {
            /* best effort */
        }
        fchmod(fd, ls.mode & 0777);
    } else {
        fchmod(fd, 0640);
    }
    if (write_compacted(fd, s, now, horizon) < 0 || fsync(fd) < 0) {
        bg_seterr(err, errsz, "%s: write: %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        bg_seterr(err, errsz, "rename %s: %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    fsync_dir(path);
    ret = 0;
    if (st != NULL) {
        *st = ls;
        struct stat ns;
        if (fstat(fd, &ns) == 0) {
            st->size = ns.st_size;
            st->dev = ns.st_dev;
            st->ino = ns.st_ino;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    if (q.fd >= 0) {
        /* Not compacted: the lines stay in the journal, so out of .bad
         * again, or the next compaction would put them aside twice. */
        if (ret < 0 && q.lines > 0 && ftruncate(q.fd, q.start) < 0) {
            /* best effort */
        }
        close(q.fd);
    }
    bg_journal_set_free(s);
    flock(lfd, LOCK_UN);
    close(lfd);
    return ret;
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
    struct bg_journal_set *s;
    struct bg_journal_stats st;
    if (bg_journal_load(j->path, now, &s, &st, err, errsz) < 0)
        return -1;
    bg_journal_set_free(s);
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
