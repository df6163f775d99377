/* journal_read.c - reading journal lines (journal.h): the line parser,
 * the reader every other journal function goes through, and the small
 * in-memory set of bg_journal_load_keys and bg_journal_load_tail (a few
 * keys, or the lines after an offset). A whole journal is streamed by
 * journal_scan.c instead, without holding its entries. */
#include "journal_int.h"
#include "address.h"
#include "err.h"
#include "bg.h"
#include "secure.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ lines */

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
    if (bg_journal_name_decode(s, (size_t)(sp - s), p->name, sizeof p->name) < 0 ||
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

void journal_entry_of(const struct parsed *p, long long now, struct bg_journal_entry *e)
{
    e->kind = p->kind;
    e->name = p->name;
    e->rec = p->rec;
    e->reclen = p->reclen;
    e->ts = p->ts;
    e->expires = p->expires;
    if (p->del)
        e->state = BG_JE_TOMBSTONE;
    else if (p->expires != 0 && p->expires <= now)
        e->state = BG_JE_EXPIRED;
    else
        e->state = BG_JE_LIVE;
}

int journal_write_all(int fd, const char *p, size_t n)
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
    if (journal_write_all(q->fd, line, len) < 0 ||
        (truncated && journal_write_all(q->fd, " [truncated]", 12) < 0) ||
        journal_write_all(q->fd, "\n", 1) < 0) {
        snprintf(q->err, sizeof q->err, "%s: write: %s", q->path, strerror(errno));
        q->failed = 1;
        return;
    }
    q->lines++;
}

int journal_read_lines(int fd, off_t from, off_t to, struct bg_journal_stats *st,
                       struct quarantine *q, journal_line_fn *fn, void *arg,
                       char *err, size_t errsz)
{
    char buf[65536];
    char *line = malloc(BG_JOURNAL_LINE_MAX + 1);
    size_t ll = 0;
    int overlong = 0, rc = 0;
    off_t pos = from;
    if (line == NULL) {
        bg_seterr(err, errsz, "out of memory");
        return -1;
    }
    st->size = from;
    for (;;) {
        size_t want = sizeof buf;
        if (to >= 0 && to - pos < (off_t)want)
            want = (size_t)(to - pos);
        if (want == 0)
            break;
        ssize_t r = pread(fd, buf, want, pos);
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
            off_t start = st->size;
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
                    if (fn != NULL && (rc = fn(&p, ll + 1, start, arg)) != 0) {
                        free(line);
                        return rc;
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

int journal_open_read(const char *path, struct bg_journal_stats *st, char *err,
                      size_t errsz)
{
    char oerr[400];
    int fd = bg_open_file(path, O_RDONLY, 0, oerr, sizeof oerr);
    if (fd < 0) {
        int e = errno;
        if (e != ENOENT)
            bg_seterr(err, errsz, "%s", oerr);
        errno = e;
        return -1;
    }
    struct stat fs;
    if (fstat(fd, &fs) < 0) {
        bg_seterr(err, errsz, "%s: %s", path, strerror(errno));
        close(fd);
        errno = EIO;
        return -1;
    }
    st->dev = fs.st_dev;
    st->ino = fs.st_ino;
    st->uid = fs.st_uid;
    st->gid = fs.st_gid;
    st->mode = fs.st_mode;
    return fd;
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
    journal_entry_of(p, now, &e->e);
    e->rec = rec;
    e->linelen = linelen;
    e->e.name = e->name;
    e->e.rec = rec;
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

/* ------------------------------------------------------------ loading a set */

struct loading {
    struct bg_journal_set *s;
    long long now, since;
    bg_journal_keep_fn *keep;
    void *keep_arg;
};

static int load_line(const struct parsed *p, size_t linelen, off_t off, void *arg)
{
    (void)off;
    struct loading *l = arg;
    if (p->ts < l->since || (l->keep != NULL && !l->keep(p->kind, p->name, l->keep_arg)))
        return 0;
    return set_apply(l->s, p, linelen, l->now) < 0 ? -1 : 0;
}

static int load_common(const char *path, long long now, int tail, dev_t dev, ino_t ino,
                       off_t from, long long since, bg_journal_keep_fn *keep,
                       void *keep_arg, struct bg_journal_set **out,
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
    int fd = journal_open_read(path, st, err, errsz);
    if (fd < 0) {
        if (errno == ENOENT) {
            *out = s;
            return 0;
        }
        bg_journal_set_free(s);
        return -1;
    }
    struct stat fs;
    if (fstat(fd, &fs) < 0)
        fs.st_size = 0;
    if (!tail || st->dev != dev || st->ino != ino || fs.st_size < from)
        from = 0;
    else
        since = 0;
    if (!tail)
        since = 0;
    struct loading l = { .s = s, .now = now, .since = since, .keep = keep,
                         .keep_arg = keep_arg };
    char rerr[256] = "out of memory";
    if (journal_read_lines(fd, from, -1, st, NULL, load_line, &l, rerr, sizeof rerr) != 0) {
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
    return load_common(path, now, 0, 0, 0, 0, 0, NULL, NULL, out, st, err, errsz);
}

int bg_journal_load_keys(const char *path, long long now, bg_journal_keep_fn *keep,
                         void *keep_arg, struct bg_journal_set **out,
                         struct bg_journal_stats *st, char *err, size_t errsz)
{
    return load_common(path, now, 0, 0, 0, 0, 0, keep, keep_arg, out, st, err, errsz);
}

int bg_journal_load_tail(const char *path, long long now, dev_t dev, ino_t ino,
                         off_t from, long long since, struct bg_journal_set **out,
                         struct bg_journal_stats *st, char *err, size_t errsz)
{
    return load_common(path, now, 1, dev, ino, from, since, NULL, NULL, out, st, err,
                       errsz);
}
