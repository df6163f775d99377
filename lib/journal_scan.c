/* journal_scan.c - a whole journal, streamed: every key handed over once
 * in its final state (bg_journal_scan), and the compaction built on that.
 *
 * Holding a journal as a set cost about 270 bytes per entry: a daemon
 * checking a 1,000,000-entry journal peaked at 274 MB (make bench-rss).
 * Two passes over the file instead. The first keeps, per key, a 128-bit
 * digest of its kind and name and the offset of its last line: 24 bytes
 * in a table at most 3/4 full. The second reads the same bytes again and
 * hands each key over at its last line, decoded from the line itself.
 * The digest is SHA-256 (nettle) cut to 128 bits, not a fast hash: the
 * names come from strangers' mail, and a hash anyone can collide would
 * let one address's line stand for another's in a compaction. */
#include "journal_int.h"
#include "err.h"
#include "log.h"
#include "secure.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct slot {
    uint64_t h0, h1;         /* digest of kind and name */
    off_t last1;             /* offset of the key's last line + 1; 0: empty */
};

/* The table is mapped, not malloc'ed: tens of MB that must go back to
 * the system when the scan ends. From malloc, glibc kept them in the
 * thread's arena (measured: a daemon's RSS stayed at 31 MB instead of
 * 7 MB after a 300,000-entry restore, malloc_trim or not). Fresh
 * mappings are zero, which is the empty slot. */
struct table {
    struct slot *v;
    size_t cap;              /* a power of two */
    size_t n;
};

static void table_free(struct table *t)
{
    if (t->v != NULL)
        munmap(t->v, t->cap * sizeof *t->v);
    t->v = NULL;
}

static void digest(enum bg_kind kind, const char *name, uint64_t *h0, uint64_t *h1)
{
    struct sha256_ctx c;
    uint8_t d[16];
    uint8_t k = (uint8_t)kind;
    sha256_init(&c);
    sha256_update(&c, 1, &k);
    sha256_update(&c, strlen(name), (const uint8_t *)name);
    sha256_digest(&c, sizeof d, d);
    memcpy(h0, d, 8);
    memcpy(h1, d + 8, 8);
}

static struct slot *slot_of(const struct table *t, uint64_t h0, uint64_t h1)
{
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)h0 & mask;; i = (i + 1) & mask) {
        struct slot *s = &t->v[i];
        if (s->last1 == 0 || (s->h0 == h0 && s->h1 == h1))
            return s;
    }
}

static int table_grow(struct table *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 4096;
    if (ncap > SIZE_MAX / 2 / sizeof(struct slot))
        return -1;
    void *nv = mmap(NULL, ncap * sizeof(struct slot), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (nv == MAP_FAILED)
        return -1;
    struct table nt = { .v = nv, .cap = ncap, .n = t->n };
    for (size_t i = 0; i < t->cap; i++)
        if (t->v[i].last1 != 0)
            *slot_of(&nt, t->v[i].h0, t->v[i].h1) = t->v[i];
    table_free(t);
    *t = nt;
    return 0;
}

struct scan {
    struct table t;
    long long now;
    bg_journal_scan_fn *fn;
    void *arg;
    struct bg_journal_stats *st;
    int stopped;             /* fn returned non-zero */
};

/* First pass: remember where each key was last written. */
static int note_line(const struct parsed *p, size_t linelen, off_t off, void *arg)
{
    (void)linelen;
    struct scan *sc = arg;
    if ((sc->t.n + 1) * 4 > sc->t.cap * 3 && table_grow(&sc->t) < 0)
        return -1;
    uint64_t h0, h1;
    digest(p->kind, p->name, &h0, &h1);
    struct slot *s = slot_of(&sc->t, h0, h1);
    if (s->last1 == 0) {
        s->h0 = h0;
        s->h1 = h1;
        sc->t.n++;
    }
    s->last1 = off + 1;
    return 0;
}

/* Second pass: a key's last line is its final state. */
static int hand_line(const struct parsed *p, size_t linelen, off_t off, void *arg)
{
    struct scan *sc = arg;
    uint64_t h0, h1;
    digest(p->kind, p->name, &h0, &h1);
    const struct slot *s = slot_of(&sc->t, h0, h1);
    if (s->last1 != off + 1)
        return 0; /* a later line of the key follows (or, were the file
                   * changed under us, an unknown key: skipped) */
    struct bg_journal_entry e;
    journal_entry_of(p, sc->now, &e);
    struct bg_journal_stats *st = sc->st;
    switch (e.state) {
    case BG_JE_LIVE:
        st->live++;
        st->live_bytes += linelen;
        break;
    case BG_JE_TOMBSTONE:
        st->tombstones++;
        if (sc->now - e.ts < BG_JOURNAL_TOMB_HORIZON)
            st->live_bytes += linelen;
        break;
    case BG_JE_EXPIRED:
        st->expired++;
        break;
    }
    int rc = sc->fn != NULL ? sc->fn(&e, sc->arg) : 0;
    if (rc != 0)
        sc->stopped = 1;
    return rc;
}

/* Both passes over fd; q (compaction) receives the bad lines of the
 * first. 0, -1 with err set, or fn's non-zero value (*stopped set, err
 * untouched). */
static int scan_fd(int fd, long long now, struct quarantine *q, bg_journal_scan_fn *fn,
                   void *arg, struct bg_journal_stats *st, int *stopped, char *err,
                   size_t errsz)
{
    struct scan sc = { .now = now, .fn = fn, .arg = arg, .st = st };
    char rerr[256] = "out of memory";
    int rc = journal_read_lines(fd, 0, -1, st, q, note_line, &sc, rerr, sizeof rerr);
    if (rc == 0 && sc.t.n > 0) {
        /* The same bytes again: lines appended since are not in the
         * table, and belong to the next scan. */
        struct bg_journal_stats again = { 0 };
        rc = journal_read_lines(fd, 0, st->size, &again, NULL, hand_line, &sc, rerr,
                                sizeof rerr);
    }
    table_free(&sc.t);
    *stopped = sc.stopped;
    if (rc != 0 && !sc.stopped)
        bg_seterr(err, errsz, "%s", rerr);
    return rc;
}

int bg_journal_scan(const char *path, long long now, bg_journal_scan_fn *fn, void *arg,
                    struct bg_journal_stats *st, char *err, size_t errsz)
{
    struct bg_journal_stats local;
    if (st == NULL)
        st = &local;
    memset(st, 0, sizeof *st);
    char ferr[512] = "";
    int fd = journal_open_read(path, st, ferr, sizeof ferr);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        bg_seterr(err, errsz, "%s", ferr);
        return -1;
    }
    int stopped;
    int rc = scan_fd(fd, now, NULL, fn, arg, st, &stopped, ferr, sizeof ferr);
    close(fd);
    if (rc != 0 && !stopped)
        bg_seterr(err, errsz, "%s: %s", path, ferr);
    return rc;
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

struct writer {
    int fd;
    long long now, horizon;
    char buf[65536];
    size_t len;
    int failed;              /* errno of a failed write, else 0 */
};

static int flush_out(struct writer *w)
{
    if (journal_write_all(w->fd, w->buf, w->len) < 0) {
        w->failed = errno ? errno : EIO;
        return -1;
    }
    w->len = 0;
    return 0;
}

/* Keep a key's final line when it is live or a recent enough delete. */
static int write_entry(const struct bg_journal_entry *e, void *arg)
{
    struct writer *w = arg;
    char en[BG_ADDR_MAX * 3 + 1];
    if (e->state == BG_JE_EXPIRED ||
        (e->state == BG_JE_TOMBSTONE && w->now - e->ts >= w->horizon))
        return 0;
    if (w->len + BG_JOURNAL_LINE_MAX + 1 > sizeof w->buf && flush_out(w) < 0)
        return -1;
    if (bg_journal_name_encode(e->name, en, sizeof en) < 0)
        return 0; /* cannot happen: it was decoded from such a line */
    size_t room = sizeof w->buf - w->len;
    int n = snprintf(w->buf + w->len, room, "%lld %s %c %s %.*s\n", e->ts,
                     e->state == BG_JE_TOMBSTONE ? "del" : "put", (char)e->kind, en,
                     e->rec != NULL ? (int)e->reclen : 1, e->rec != NULL ? e->rec : "-");
    if (n < 0 || (size_t)n >= room || n > BG_JOURNAL_LINE_MAX)
        return 0; /* cannot happen: it was read as such a line */
    w->len += (size_t)n;
    return 0;
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
    int lfd = journal_open_lockfile(lockpath, err, errsz);
    if (lfd < 0)
        return -1;
    while (flock(lfd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            bg_seterr(err, errsz, "%s: flock: %s", lockpath, strerror(errno));
            close(lfd);
            return -1;
        }
    }
    struct bg_journal_stats ls = { 0 };
    struct quarantine q = { .fd = -1 };
    snprintf(q.path, sizeof q.path, "%s.bad", path);
    struct writer *w = NULL;
    int ret = -1, fd = -1, rfd = -1;
    char ferr[512] = "";
    rfd = journal_open_read(path, &ls, ferr, sizeof ferr);
    if (rfd < 0 && errno != ENOENT) {
        bg_seterr(err, errsz, "%s", ferr);
        goto out;
    }
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
    if ((w = malloc(sizeof *w)) == NULL) {
        bg_seterr(err, errsz, "out of memory");
        unlink(tmp);
        goto out;
    }
    w->fd = fd;
    w->now = now;
    w->horizon = horizon;
    w->failed = 0;
    w->len = (size_t)snprintf(w->buf, sizeof w->buf, "# bouncegate journal, compacted at %lld\n",
                              now);
    int stopped = 0;
    int rc = rfd < 0 ? 0 : scan_fd(rfd, now, &q, write_entry, w, &ls, &stopped, ferr,
                                   sizeof ferr);
    if (rc != 0 && !stopped) {
        bg_seterr(err, errsz, "%s: %s", path, ferr);
        unlink(tmp);
        goto out;
    }
    if (q.failed) {
        /* Never drop a line we could not put aside: keep the journal. */
        bg_seterr(err, errsz, "quarantine %s", q.err);
        unlink(tmp);
        goto out;
    }
    if (w->failed || flush_out(w) < 0 || fsync(fd) < 0) {
        bg_seterr(err, errsz, "%s: write: %s", tmp, strerror(w->failed ? w->failed : errno));
        unlink(tmp);
        goto out;
    }
    if (q.lines > 0)
        bg_log(LOG_WARNING, "journal", "action=quarantine lines=%zu journal=%s file=%s",
               q.lines, path, q.path);
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
    free(w);
    if (rfd >= 0)
        close(rfd);
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
    flock(lfd, LOCK_UN);
    close(lfd);
    return ret;
}
