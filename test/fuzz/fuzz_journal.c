/* fuzz_journal.c - libFuzzer target for the journal replay
 * (bg_journal_load, bg_journal_load_tail, the set) and compaction
 * (bg_journal_compact): the input is a journal file.
 *
 * A private directory is made once (mkdtemp under $TMPDIR, else /dev/shm,
 * else /tmp) and emptied after every input. Per input, with a fixed "now":
 *   - the first K bytes are written to DIR/j (K from a hash of the input,
 *     anywhere, so mid-line too) and loaded: the prefix set P; the rest is
 *     appended to the same file and it is loaded whole: F;
 *   - every entry of F (and P) is checked: a non-empty NUL-terminated name
 *     shorter than BG_ADDR_MAX that encodes and decodes to itself, a valid
 *     kind and state, bg_journal_set_find gives the entry back, a put's
 *     record decodes (bg_record_decode) with the entry's expiry and state,
 *     a tombstone has no record, the line can be formatted again; the
 *     stats count the entries by state;
 *   - bg_journal_load_tail from P's end on the same inode reads the rest:
 *     its good and bad line counts add up with P's to F's, and F is P
 *     overlaid with the tail (the last line of a key wins);
 *   - load_tail on another inode with a "since" time reads the whole file
 *     keeping lines at or after it: every entry it has is at or after
 *     since, and every entry of F at or after since is in it, equal;
 *   - bg_journal_scan (streamed, two passes) hands over every key of F
 *     once, equal to F's entry, with the same stats;
 *   - when the first input byte is odd (most real journals: '1', '#'),
 *     DIR/j is compacted: loaded again, its live entries and young
 *     tombstones are exactly F's, with no bad or torn line.
 * abort() on any difference. */
#include "bg.h"
#include "journal.h"
#include "key.h"
#include "record.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1763600000LL

static char dir[256];
static char jpath[300];

static void empty_dir(void)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
            unlinkat(dirfd(d), de->d_name, 0);
    closedir(d);
}

static void remove_dir(void)
{
    empty_dir();
    rmdir(dir);
}

static int usable_dir(const char *p)
{
    struct stat st;
    return p != NULL && p[0] == '/' && strlen(p) < 200 && stat(p, &st) == 0 &&
           S_ISDIR(st.st_mode) && access(p, W_OK | X_OK) == 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = getenv("TMPDIR");
    if (!usable_dir(base))
        base = usable_dir("/dev/shm") ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/fuzz_journal.XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("fuzz_journal: mkdtemp");
        abort();
    }
    snprintf(jpath, sizeof jpath, "%s/j", dir);
    atexit(remove_dir);
    return 0;
}

static void put_bytes(const char *path, int flags, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0600);
    if (fd < 0)
        abort();
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            abort();
        p += w;
        n -= (size_t)w;
    }
    close(fd);
}

static struct bg_journal_set *load(struct bg_journal_stats *st)
{
    struct bg_journal_set *s = NULL;
    char err[512] = "";
    if (bg_journal_load(jpath, NOW, &s, st, err, sizeof err) != 0 || s == NULL) {
        fprintf(stderr, "fuzz_journal: load: %s\n", err);
        abort();
    }
    return s;
}

static struct bg_journal_set *load_tail(dev_t dev, ino_t ino, off_t from, long long since,
                                        struct bg_journal_stats *st)
{
    struct bg_journal_set *s = NULL;
    char err[512] = "";
    if (bg_journal_load_tail(jpath, NOW, dev, ino, from, since, &s, st, err, sizeof err) != 0 ||
        s == NULL) {
        fprintf(stderr, "fuzz_journal: load_tail: %s\n", err);
        abort();
    }
    return s;
}

/* ---- per-entry invariants */

struct census {
    const struct bg_journal_set *set;
    size_t n, live, tombstones, expired;
};

static int check_entry(const struct bg_journal_entry *e, void *arg)
{
    struct census *c = arg;
    c->n++;
    if (e->name == NULL)
        abort();
    size_t nl = strlen(e->name);
    if (nl == 0 || nl >= BG_ADDR_MAX)
        abort();
    if (e->kind != BG_KIND_RCPT && e->kind != BG_KIND_DOMAIN)
        abort();
    if (bg_journal_set_find(c->set, e->kind, e->name) != e)
        abort();

    char en[BG_ADDR_MAX * 3 + 1], de[BG_ADDR_MAX];
    int el = bg_journal_name_encode(e->name, en, sizeof en);
    if (el <= 0 || (size_t)el != strlen(en))
        abort();
    int dl = bg_journal_name_decode(en, (size_t)el, de, sizeof de);
    if (dl < 0 || (size_t)dl != nl || strcmp(de, e->name) != 0)
        abort();

    struct bg_record r;
    const struct bg_record *rp = NULL;
    switch (e->state) {
    case BG_JE_TOMBSTONE:
        c->tombstones++;
        if (e->rec != NULL || e->reclen != 0)
            abort();
        break;
    case BG_JE_LIVE:
    case BG_JE_EXPIRED:
        if (e->state == BG_JE_LIVE)
            c->live++;
        else
            c->expired++;
        if (e->rec == NULL || e->reclen == 0 || e->reclen >= BG_RECORD_MAX ||
            strlen(e->rec) != e->reclen)
            abort();
        if (bg_record_decode(e->rec, e->reclen, &r) != 0 || r.expires != e->expires ||
            r.expires < 0)
            abort();
        if ((e->state == BG_JE_LIVE) != (e->expires == 0 || e->expires > NOW))
            abort();
        rp = &r;
        break;
    default:
        abort();
    }
    char line[BG_JOURNAL_LINE_MAX + 1];
    int ll = bg_journal_format(line, sizeof line, e->ts, e->kind, e->name, rp);
    if (ll <= 0 || ll > BG_JOURNAL_LINE_MAX || line[ll - 1] != '\n')
        abort();
    return 0;
}

static size_t check_set(const struct bg_journal_set *s, const struct bg_journal_stats *st)
{
    struct census c = { s, 0, 0, 0, 0 };
    if (bg_journal_set_each(s, check_entry, &c) != 0)
        abort();
    if (st->live != c.live || st->tombstones != c.tombstones || st->expired != c.expired)
        abort();
    if (st->torn > 1)
        abort();
    return c.n;
}

static int same_entry(const struct bg_journal_entry *a, const struct bg_journal_entry *b)
{
    if (a == NULL || b == NULL)
        return 0;
    if (a->kind != b->kind || a->state != b->state || a->ts != b->ts ||
        a->expires != b->expires || a->reclen != b->reclen || strcmp(a->name, b->name) != 0)
        return 0;
    if ((a->rec == NULL) != (b->rec == NULL))
        return 0;
    return a->rec == NULL || memcmp(a->rec, b->rec, a->reclen) == 0;
}

/* ---- relations between sets */

struct rel {
    const struct bg_journal_set *other, *third;
    long long since;
    size_t n;
};

/* e of F: equal to the tail's entry when the tail has the key, else P's. */
static int overlay_each(const struct bg_journal_entry *e, void *arg)
{
    struct rel *x = arg;
    const struct bg_journal_entry *t = bg_journal_set_find(x->other, e->kind, e->name);
    if (t == NULL)
        t = bg_journal_set_find(x->third, e->kind, e->name);
    if (!same_entry(e, t))
        abort();
    return 0;
}

/* e of P or of the tail: F has the key. */
static int present_each(const struct bg_journal_entry *e, void *arg)
{
    struct rel *x = arg;
    if (bg_journal_set_find(x->other, e->kind, e->name) == NULL)
        abort();
    return 0;
}

/* e of the "since" set: at or after since, and F has the key. */
static int since_each(const struct bg_journal_entry *e, void *arg)
{
    struct rel *x = arg;
    if (e->ts < x->since || bg_journal_set_find(x->other, e->kind, e->name) == NULL)
        abort();
    x->n++;
    return 0;
}

/* e of F at or after since: the "since" set has it, equal. */
static int since_full_each(const struct bg_journal_entry *e, void *arg)
{
    struct rel *x = arg;
    if (e->ts >= x->since) {
        if (!same_entry(e, bg_journal_set_find(x->other, e->kind, e->name)))
            abort();
        x->n++;
    }
    return 0;
}

/* e of F: what compaction keeps is in C, equal; what it drops is not. */
static int compact_each(const struct bg_journal_entry *e, void *arg)
{
    struct rel *x = arg;
    const struct bg_journal_entry *c = bg_journal_set_find(x->other, e->kind, e->name);
    int keep = e->state == BG_JE_LIVE ||
               (e->state == BG_JE_TOMBSTONE && NOW - e->ts < BG_JOURNAL_TOMB_HORIZON);
    if (keep ? !same_entry(e, c) : c != NULL)
        abort();
    x->n += (size_t)keep;
    return 0;
}

/* e from bg_journal_scan: F holds it, equal. */
static int scan_each(const struct bg_journal_entry *e, void *arg)
{
    struct rel *x = arg;
    if (!same_entry(e, bg_journal_set_find(x->other, e->kind, e->name)))
        abort();
    x->n++;
    return 0;
}

/* e: the ts of the entry at index x->n (counting down), for "since". */
static int pick_each(const struct bg_journal_entry *e, void *arg)
{
    struct rel *x = arg;
    if (x->n-- == 0) {
        x->since = e->ts;
        return 1;
    }
    return 0;
}

static uint64_t hash_input(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4 * 1024 * 1024)
        return 0;
    uint64_t h = hash_input(data, size);
    size_t k = (size_t)(h % (size + 1));

    /* P: the first k bytes */
    struct bg_journal_stats sp, sf, stl, ssn;
    put_bytes(jpath, O_TRUNC, data, k);
    struct bg_journal_set *p = load(&sp);
    check_set(p, &sp);
    if (sp.size < 0 || (size_t)sp.size > k)
        abort();

    /* F: the whole file */
    if (size > k)
        put_bytes(jpath, O_APPEND, data + k, size - k);
    struct bg_journal_set *f = load(&sf);
    size_t nf = check_set(f, &sf);
    if (sf.size < sp.size || (size_t)sf.size > size || sf.dev != sp.dev || sf.ino != sp.ino)
        abort();
    if (sf.torn != (size > 0 && data[size - 1] != '\n' && (size_t)sf.size < size))
        abort();

    /* the tail from P's end is the rest of F */
    struct bg_journal_set *t = load_tail(sp.dev, sp.ino, sp.size, 0, &stl);
    check_set(t, &stl);
    if (sp.lines + stl.lines != sf.lines || sp.bad + stl.bad != sf.bad ||
        stl.size != sf.size || stl.torn != sf.torn)
        abort();
    /* the streamed scan of the whole file: F, key by key */
    struct bg_journal_stats ssc;
    struct rel sx = { f, NULL, 0, 0 };
    char serr[300];
    if (bg_journal_scan(jpath, NOW, scan_each, &sx, &ssc, serr, sizeof serr) != 0 ||
        sx.n != nf || ssc.lines != sf.lines || ssc.bad != sf.bad || ssc.torn != sf.torn ||
        ssc.size != sf.size || ssc.live != sf.live || ssc.tombstones != sf.tombstones ||
        ssc.expired != sf.expired || ssc.live_bytes != sf.live_bytes)
        abort();

    struct rel x = { t, p, 0, 0 };
    bg_journal_set_each(f, overlay_each, &x);
    x.other = f;
    bg_journal_set_each(p, present_each, &x);
    bg_journal_set_each(t, present_each, &x);
    bg_journal_set_free(t);
    bg_journal_set_free(p);

    /* another inode: the whole file from "since" on */
    x.since = 0;
    if (nf > 0) {
        x.n = (size_t)((h >> 32) % nf);
        bg_journal_set_each(f, pick_each, &x);
    }
    struct bg_journal_set *sn = load_tail(sf.dev, sf.ino + 1, sf.size, x.since, &ssn);
    check_set(sn, &ssn);
    if (ssn.lines != sf.lines || ssn.bad != sf.bad || ssn.size != sf.size)
        abort();
    x.other = f;
    x.n = 0;
    bg_journal_set_each(sn, since_each, &x);
    size_t nsn = x.n;
    x.other = sn;
    x.n = 0;
    bg_journal_set_each(f, since_full_each, &x);
    if (x.n > nsn)
        abort();

    /* compaction keeps the live set and the young tombstones */
    if (size > 0 && (data[0] & 1)) {
        struct bg_journal_stats cs, sc;
        char err[512] = "";
        if (bg_journal_compact(jpath, NOW, BG_JOURNAL_TOMB_HORIZON, &cs, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_journal: compact: %s\n", err);
            abort();
        }
        struct stat js;
        if (stat(jpath, &js) != 0 || cs.size != js.st_size || cs.live != sf.live)
            abort();
        struct bg_journal_set *c = load(&sc);
        size_t nc = check_set(c, &sc);
        if (sc.bad != 0 || sc.torn != 0 || sc.live != sf.live || sc.expired != 0 ||
            sc.size != js.st_size)
            abort();
        x.other = c;
        x.n = 0;
        bg_journal_set_each(f, compact_each, &x);
        if (x.n != nc)
            abort();
        bg_journal_set_free(c);
    }
    bg_journal_set_free(sn);
    bg_journal_set_free(f);
    empty_dir();
    return 0;
}
