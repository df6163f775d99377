/* test_journal.c - the local journal: append, replay, tombstones, expiry,
 * compaction, the streamed scan, a torn last line, hostile lines, reopen
 * after a rename, concurrent appenders. */
#include "unit.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal.h"
#include "record.h"

static char dir[64];
static char path[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/bg-test-journal.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal", dir);
}

static void teardown(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void rec_of(struct bg_record *r, const char *reason, long long expires)
{
    memset(r, 0, sizeof *r);
    r->cls = BG_CLASS_HARD;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    snprintf(r->status, sizeof r->status, "5.1.1");
    snprintf(r->source, sizeof r->source, "manual");
    r->first_seen = r->last_seen = 1700000000;
    r->count = 1;
    r->expires = expires;
}

static struct bg_journal *jopen(void)
{
    char err[256];
    struct bg_journal *j = bg_journal_open(path, BG_JSYNC_INTERVAL, err, sizeof err);
    ck_assert_msg(j != NULL, "%s", err);
    return j;
}

static void put(struct bg_journal *j, long long ts, enum bg_kind k, const char *name,
                const char *reason, long long expires)
{
    struct bg_record r;
    char err[256];
    rec_of(&r, reason, expires);
    ck_assert_msg(bg_journal_append(j, ts, k, name, &r, err, sizeof err) == 0, "%s", err);
}

static void del(struct bg_journal *j, long long ts, enum bg_kind k, const char *name)
{
    char err[256];
    ck_assert_msg(bg_journal_append(j, ts, k, name, NULL, err, sizeof err) == 0, "%s", err);
}

static struct bg_journal_set *load(long long now, struct bg_journal_stats *st)
{
    struct bg_journal_set *s = NULL;
    char err[256];
    ck_assert_msg(bg_journal_load(path, now, &s, st, err, sizeof err) == 0, "%s", err);
    return s;
}

static void append_raw(const char *text, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0640);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static const char *reason_of(const struct bg_journal_entry *e)
{
    static struct bg_record r;
    ck_assert_ptr_nonnull(e->rec);
    ck_assert_int_eq(bg_record_decode(e->rec, e->reclen, &r), 0);
    return r.reason;
}

START_TEST(test_sync_parse)
{
    enum bg_journal_sync s;
    ck_assert_int_eq(bg_journal_sync_parse("Always", &s), 0);
    ck_assert_int_eq(s, BG_JSYNC_ALWAYS);
    ck_assert_int_eq(bg_journal_sync_parse("interval", &s), 0);
    ck_assert_int_eq(s, BG_JSYNC_INTERVAL);
    ck_assert_int_eq(bg_journal_sync_parse("never", &s), 0);
    ck_assert_int_eq(s, BG_JSYNC_NEVER);
    ck_assert_int_eq(bg_journal_sync_parse("sometimes", &s), -1);
    ck_assert_str_eq(bg_journal_sync_name(BG_JSYNC_ALWAYS), "always");
    char err[64];
    ck_assert_ptr_null(bg_journal_open("", BG_JSYNC_NEVER, err, sizeof err));
}
END_TEST

START_TEST(test_format)
{
    char line[BG_JOURNAL_LINE_MAX + 1];
    struct bg_record r;
    rec_of(&r, "userunknown", 0);
    int n = bg_journal_format(line, sizeof line, 1763596800, BG_KIND_RCPT,
                              "\"john doe\"@example.com", &r);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(line, "1763596800 put r \"john%20doe\"@example.com bg1 class=hard "
                           "reason=userunknown status=5.1.1 first=1700000000 last=1700000000 "
                           "count=1 expires=0 source=manual rule=- id=- diag=-\n");
    n = bg_journal_format(line, sizeof line, 5, BG_KIND_DOMAIN, "dead.example", NULL);
    ck_assert_str_eq(line, "5 del d dead.example -\n");
    /* Only recipient and domain entries are journal entries. */
    ck_assert_int_eq(bg_journal_format(line, sizeof line, 5, BG_KIND_SOFT, "x@y", NULL), -1);
    ck_assert_int_eq(bg_journal_format(line, sizeof line, 5, BG_KIND_RCPT, "", NULL), -1);
}
END_TEST

START_TEST(test_append_replay)
{
    struct bg_journal *j = jopen();
    put(j, 100, BG_KIND_RCPT, "a@example.com", "first", 0);
    put(j, 101, BG_KIND_DOMAIN, "example.org", "dom", 0);
    put(j, 102, BG_KIND_RCPT, "b@example.com", "b", 0);
    put(j, 103, BG_KIND_RCPT, "a@example.com", "second", 0); /* last write wins */
    put(j, 104, BG_KIND_RCPT, "x@example.org", "not-the-domain", 0); /* kinds differ */
    char err[64];
    /* Counters and markers are not journalled. */
    ck_assert_int_eq(bg_journal_append(j, 105, BG_KIND_SOFT, "a@example.com", NULL, err,
                                       sizeof err), 0);
    bg_journal_close(j);

    struct bg_journal_stats st;
    struct bg_journal_set *s = load(200, &st);
    ck_assert_uint_eq(st.lines, 5);
    ck_assert_uint_eq(st.bad, 0);
    ck_assert_uint_eq(st.torn, 0);
    ck_assert_uint_eq(st.live, 4);
    const struct bg_journal_entry *e = bg_journal_set_find(s, BG_KIND_RCPT, "a@example.com");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->state, BG_JE_LIVE);
    ck_assert(e->ts == 103);
    ck_assert_str_eq(reason_of(e), "second");
    e = bg_journal_set_find(s, BG_KIND_DOMAIN, "example.org");
    ck_assert_str_eq(reason_of(e), "dom");
    e = bg_journal_set_find(s, BG_KIND_RCPT, "x@example.org");
    ck_assert_str_eq(reason_of(e), "not-the-domain");
    ck_assert_ptr_null(bg_journal_set_find(s, BG_KIND_RCPT, "example.org"));
    ck_assert_ptr_null(bg_journal_set_find(s, BG_KIND_RCPT, "c@example.com"));
    bg_journal_set_free(s);

    /* A missing journal is an empty set, not an error. */
    unlink(path);
    s = load(200, &st);
    ck_assert_uint_eq(st.live, 0);
    bg_journal_set_free(s);
}
END_TEST

START_TEST(test_tombstones)
{
    struct bg_journal *j = jopen();
    put(j, 100, BG_KIND_RCPT, "a@example.com", "x", 0);
    del(j, 101, BG_KIND_RCPT, "a@example.com");
    put(j, 102, BG_KIND_RCPT, "b@example.com", "x", 0);
    del(j, 103, BG_KIND_RCPT, "b@example.com");
    put(j, 104, BG_KIND_RCPT, "b@example.com", "again", 0); /* re-added after delete */
    del(j, 105, BG_KIND_DOMAIN, "never-added.example");
    bg_journal_close(j);
    struct bg_journal_stats st;
    struct bg_journal_set *s = load(200, &st);
    ck_assert_uint_eq(st.live, 1);
    ck_assert_uint_eq(st.tombstones, 2);
    const struct bg_journal_entry *e = bg_journal_set_find(s, BG_KIND_RCPT, "a@example.com");
    ck_assert_int_eq(e->state, BG_JE_TOMBSTONE);
    ck_assert_ptr_null(e->rec);
    e = bg_journal_set_find(s, BG_KIND_RCPT, "b@example.com");
    ck_assert_int_eq(e->state, BG_JE_LIVE);
    ck_assert_str_eq(reason_of(e), "again");
    bg_journal_set_free(s);
}
END_TEST

/* bg_journal_load_keys keeps only the keys it is asked for (by kind and
 * name), each with the state the whole journal gives it. */
static int keep_b_and_domain(enum bg_kind kind, const char *name, void *arg)
{
    int *calls = arg;
    (*calls)++;
    return (kind == BG_KIND_RCPT && strcmp(name, "b@example.com") == 0) ||
           (kind == BG_KIND_DOMAIN && strcmp(name, "dead.example") == 0);
}

START_TEST(test_load_keys)
{
    struct bg_journal *j = jopen();
    put(j, 100, BG_KIND_RCPT, "a@example.com", "x", 0);
    put(j, 101, BG_KIND_RCPT, "b@example.com", "first", 0);
    del(j, 102, BG_KIND_RCPT, "b@example.com");
    put(j, 103, BG_KIND_RCPT, "b@example.com", "again", 0);
    put(j, 104, BG_KIND_RCPT, "x@dead.example", "an address at the domain", 0);
    put(j, 105, BG_KIND_DOMAIN, "dead.example", "d", 0);
    del(j, 106, BG_KIND_DOMAIN, "dead.example");
    bg_journal_close(j);
    struct bg_journal_set *s = NULL;
    struct bg_journal_stats st;
    char err[256];
    int calls = 0;
    ck_assert_msg(bg_journal_load_keys(path, 200, keep_b_and_domain, &calls, &s, &st, err,
                                       sizeof err) == 0, "%s", err);
    ck_assert_int_eq(calls, 7);            /* asked once per good line */
    ck_assert_uint_eq(st.lines, 7);
    ck_assert_uint_eq(st.live, 1);         /* b only: a and x@dead.example left out */
    ck_assert_uint_eq(st.tombstones, 1);   /* the domain */
    ck_assert_ptr_null(bg_journal_set_find(s, BG_KIND_RCPT, "a@example.com"));
    ck_assert_ptr_null(bg_journal_set_find(s, BG_KIND_RCPT, "x@dead.example"));
    const struct bg_journal_entry *e = bg_journal_set_find(s, BG_KIND_RCPT, "b@example.com");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->state, BG_JE_LIVE);
    ck_assert_int_eq(e->ts, 103);
    ck_assert_str_eq(reason_of(e), "again");
    e = bg_journal_set_find(s, BG_KIND_DOMAIN, "dead.example");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->state, BG_JE_TOMBSTONE);
    bg_journal_set_free(s);
}
END_TEST

START_TEST(test_expiry)
{
    struct bg_journal *j = jopen();
    put(j, 100, BG_KIND_RCPT, "old@example.com", "x", 150);
    put(j, 100, BG_KIND_RCPT, "new@example.com", "x", 250);
    put(j, 100, BG_KIND_RCPT, "forever@example.com", "x", 0);
    /* A live entry replaced by an expired one is gone. */
    put(j, 100, BG_KIND_RCPT, "shrunk@example.com", "x", 0);
    put(j, 101, BG_KIND_RCPT, "shrunk@example.com", "x", 120);
    bg_journal_close(j);
    struct bg_journal_stats st;
    struct bg_journal_set *s = load(200, &st);
    ck_assert_uint_eq(st.live, 2);
    ck_assert_uint_eq(st.expired, 2);
    ck_assert_int_eq(bg_journal_set_find(s, BG_KIND_RCPT, "old@example.com")->state,
                     BG_JE_EXPIRED);
    ck_assert_int_eq(bg_journal_set_find(s, BG_KIND_RCPT, "shrunk@example.com")->state,
                     BG_JE_EXPIRED);
    ck_assert_int_eq(bg_journal_set_find(s, BG_KIND_RCPT, "new@example.com")->state,
                     BG_JE_LIVE);
    bg_journal_set_free(s);
    /* Later, the other one expires too. */
    s = load(300, &st);
    ck_assert_uint_eq(st.live, 1);
    bg_journal_set_free(s);
}
END_TEST

struct collect {
    char names[16][64];
    int n;
};

static int collect_live(const struct bg_journal_entry *e, void *arg)
{
    struct collect *c = arg;
    if (e->state == BG_JE_LIVE && c->n < 16)
        snprintf(c->names[c->n++], sizeof c->names[0], "%c:%s", (char)e->kind, e->name);
    return 0;
}

START_TEST(test_compaction)
{
    long long now = 10LL * 86400 * 365;
    struct bg_journal *j = jopen();
    for (int i = 0; i < 500; i++) {
        char reason[16];
        snprintf(reason, sizeof reason, "r%d", i);
        put(j, now - 100 + i % 50, BG_KIND_RCPT, "busy@example.com", reason, 0);
    }
    put(j, now - 10, BG_KIND_DOMAIN, "keep.example", "x", 0);
    put(j, now - 10, BG_KIND_RCPT, "expired@example.com", "x", now - 1);
    put(j, now - 10, BG_KIND_RCPT, "old-deleted@example.com", "x", 0);
    del(j, now - BG_JOURNAL_TOMB_HORIZON - 5, BG_KIND_RCPT, "old-deleted@example.com");
    put(j, now - 10, BG_KIND_RCPT, "new-deleted@example.com", "x", 0);
    del(j, now - 5, BG_KIND_RCPT, "new-deleted@example.com");

    struct bg_journal_stats before, after, st;
    struct bg_journal_set *s = load(now, &before);
    struct collect c1 = { .n = 0 };
    bg_journal_set_each(s, collect_live, &c1);
    bg_journal_set_free(s);

    char err[256];
    ck_assert_msg(bg_journal_compact(path, now, BG_JOURNAL_TOMB_HORIZON, &st, err,
                                     sizeof err) == 0, "%s", err);
    s = load(now, &after);
    ck_assert_int_lt(after.size, before.size / 10);
    ck_assert_uint_eq(after.live, before.live);
    ck_assert_uint_eq(after.live, 2);
    /* The young tombstone stays, the one past the horizon goes. */
    ck_assert_uint_eq(after.tombstones, 1);
    ck_assert_ptr_nonnull(bg_journal_set_find(s, BG_KIND_RCPT, "new-deleted@example.com"));
    ck_assert_ptr_null(bg_journal_set_find(s, BG_KIND_RCPT, "old-deleted@example.com"));
    ck_assert_ptr_null(bg_journal_set_find(s, BG_KIND_RCPT, "expired@example.com"));
    const struct bg_journal_entry *e = bg_journal_set_find(s, BG_KIND_RCPT, "busy@example.com");
    ck_assert_str_eq(reason_of(e), "r499");
    struct collect c2 = { .n = 0 };
    bg_journal_set_each(s, collect_live, &c2);
    ck_assert_int_eq(c1.n, c2.n);
    for (int i = 0; i < c1.n; i++)
        ck_assert_str_eq(c1.names[i], c2.names[i]);
    bg_journal_set_free(s);

    /* The open appender notices the rename and appends to the new file. */
    put(j, now, BG_KIND_RCPT, "after@example.com", "x", 0);
    bg_journal_close(j);
    s = load(now, &st);
    ck_assert_ptr_nonnull(bg_journal_set_find(s, BG_KIND_RCPT, "after@example.com"));
    ck_assert_uint_eq(st.live, 3);
    bg_journal_set_free(s);
    /* no temp file left behind: the directory holds the journal and its
     * lock only */
    char cmd[200];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s')\" = \"$(printf 'journal\\njournal.lock')\"", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_maintain)
{
    long long now = 1700000000;
    struct bg_journal *j = jopen();
    char err[256];
    /* Small and mostly live: nothing to do. */
    put(j, now, BG_KIND_RCPT, "a@example.com", "x", 0);
    ck_assert_int_eq(bg_journal_maintain(j, now, 1, err, sizeof err), 0);
    /* Grown past twice the live set: compacted, once. */
    for (int i = 0; i < 200; i++)
        put(j, now, BG_KIND_RCPT, "b@example.com", "x", 0);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    off_t big = sb.st_size;
    ck_assert_int_eq(bg_journal_maintain(j, now, 1, err, sizeof err), 1);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_lt(sb.st_size, big / 10);
    ck_assert_int_eq(bg_journal_maintain(j, now, 1, err, sizeof err), 0);
    /* Below the minimum size it is never compacted. */
    for (int i = 0; i < 200; i++)
        put(j, now, BG_KIND_RCPT, "b@example.com", "x", 0);
    ck_assert_int_eq(bg_journal_maintain(j, now, 1 << 20, err, sizeof err), 0);
    bg_journal_close(j);
}
END_TEST

START_TEST(test_torn_last_line)
{
    struct bg_journal *j = jopen();
    put(j, 100, BG_KIND_RCPT, "a@example.com", "x", 0);
    bg_journal_close(j);
    /* A writer died mid-line. */
    const char *torn = "101 put r b@example.com bg1 class=hard reas";
    append_raw(torn, strlen(torn));
    struct bg_journal_stats st;
    struct bg_journal_set *s = load(200, &st);
    ck_assert_uint_eq(st.torn, 1);
    ck_assert_uint_eq(st.bad, 0);
    ck_assert_uint_eq(st.live, 1);
    ck_assert_ptr_null(bg_journal_set_find(s, BG_KIND_RCPT, "b@example.com"));
    bg_journal_set_free(s);
    /* The next appender ends the torn line first: its own line is intact. */
    j = jopen();
    put(j, 102, BG_KIND_RCPT, "c@example.com", "x", 0);
    bg_journal_close(j);
    s = load(200, &st);
    ck_assert_uint_eq(st.torn, 0);
    ck_assert_uint_eq(st.bad, 1);
    ck_assert_uint_eq(st.live, 2);
    ck_assert_ptr_nonnull(bg_journal_set_find(s, BG_KIND_RCPT, "c@example.com"));
    bg_journal_set_free(s);
}
END_TEST

START_TEST(test_hostile_lines)
{
    static const char *const bad[] = {
        "garbage",
        "x put r a@example.com -",
        "-1 put r a@example.com bg1 class=hard",
        "1234567890123456789012 put r a@example.com bg1 class=hard",
        "100 add r a@example.com bg1 class=hard",
        "100 put x a@example.com bg1 class=hard",
        "100 put r a@example.com",
        "100 put r  bg1 class=hard",
        "100 put r a%00b@example.com bg1 class=hard",
        "100 put r a%zzb@example.com bg1 class=hard",
        "100 put r a%2@example.com bg1 class=hard",
        "100 put r a\x01@example.com bg1 class=hard",
        "100 put r a\xc3\xa9@example.com bg1 class=hard",
        "100 put r a@example.com bg2 class=hard",
        "100 put r a@example.com bg1 first=notanumber",
        "100 put r a@example.com bg1 class=hard expires=-5",
        "100 del r a@example.com bg1 class=hard",
        "100 del r a@example.com",
        "100 put r a@example.com bg1 class=hard reason=%ZZ",
        "100put r a@example.com bg1 class=hard",
        /* names no input path could write: normalization says no */
        "100 put r a%0D%0Aset@example.com bg1 class=hard",
        "100 put r a%0Ab@example.com bg1 class=hard",
        "100 put r A@Example.COM bg1 class=hard",
        "100 put r <a@example.com> bg1 class=hard",
        "100 put r a@example.com. bg1 class=hard",
        "100 put r no-at-sign bg1 class=hard",
        "100 put d Example.COM bg1 class=hard",
        "100 put d bad%0D%0Adomain bg1 class=hard",
        "100 put d a@example.com bg1 class=hard",
    };
    const char *first = "1 put r keep@example.com bg1 class=hard\n";
    append_raw(first, strlen(first));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        append_raw(bad[i], strlen(bad[i]));
        append_raw("\n", 1);
    }
    /* A NUL inside a line, and a line far over the limit. */
    static const char nul[] = "100 put r a@ex\0ample.com bg1 class=hard\n";
    append_raw(nul, sizeof nul - 1);
    size_t big = BG_JOURNAL_LINE_MAX * 3;
    char *huge = malloc(big + 1);
    ck_assert_ptr_nonnull(huge);
    memcpy(huge, "100 put r ", 10);
    memset(huge + 10, 'a', big - 10);
    huge[big] = '\n';
    append_raw(huge, big + 1);
    free(huge);
    /* Comments and empty lines are fine. */
    const char *last = "# a comment\n\n2 put d keep.example bg1 class=hard\n";
    append_raw(last, strlen(last));
    struct bg_journal_stats st;
    struct bg_journal_set *s = load(200, &st);
    ck_assert_uint_eq(st.bad, sizeof bad / sizeof bad[0] + 2);
    ck_assert_uint_eq(st.lines, 2);
    ck_assert_uint_eq(st.live, 2);
    ck_assert_ptr_null(bg_journal_set_find(s, BG_KIND_RCPT, "a@example.com"));
    ck_assert_ptr_nonnull(bg_journal_set_find(s, BG_KIND_DOMAIN, "keep.example"));
    bg_journal_set_free(s);
}
END_TEST

/* Compaction puts aside what it cannot keep: PATH.bad gets every
 * malformed line, the overlong one cut, and a log line says so. */
START_TEST(test_quarantine)
{
    const char *text = "1 put r keep@example.com bg1 class=hard\n"
                       "garbage line\n"
                       "100 put r a%0D%0Aset@example.com bg1 class=hard\n"
                       "2 put d keep.example bg1 class=hard\n"
                       "3 put r torn@example.com bg1 cla";
    append_raw(text, strlen(text));
    char err[256], bad[200];
    ck_assert_msg(bg_journal_compact(path, 200, BG_JOURNAL_TOMB_HORIZON, NULL, err,
                                     sizeof err) == 0, "%s", err);
    snprintf(bad, sizeof bad, "%s.bad", path);
    FILE *fp = fopen(bad, "r");
    ck_assert_ptr_nonnull(fp);
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "garbage line\n"
                          "100 put r a%0D%0Aset@example.com bg1 class=hard\n"
                          "3 put r torn@example.com bg1 cla\n");
    struct bg_journal_stats st;
    struct bg_journal_set *s = load(200, &st);
    ck_assert_uint_eq(st.bad, 0);
    ck_assert_uint_eq(st.live, 2);
    bg_journal_set_free(s);
    /* A second compaction of a clean journal adds nothing. */
    ck_assert_msg(bg_journal_compact(path, 200, BG_JOURNAL_TOMB_HORIZON, NULL, err,
                                     sizeof err) == 0, "%s", err);
    struct stat sb;
    ck_assert_int_eq(stat(bad, &sb), 0);
    ck_assert_int_eq(sb.st_size, (off_t)strlen(buf));
}
END_TEST

/* What the daemon's user can plant in its journal directory never leads
 * the journal elsewhere: a symbolic link (journal, lock, quarantine) or a
 * hard link is refused, and the file it points to stays as it was. */
START_TEST(test_planted_links)
{
    char victim[160], lock[160], bad[160], err[512];
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(lock, sizeof lock, "%s.lock", path);
    snprintf(bad, sizeof bad, "%s.bad", path);
    FILE *fp = fopen(victim, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("precious\n", fp);
    fclose(fp);
    struct bg_record r;
    rec_of(&r, "x", 0);

    /* journal -> victim */
    ck_assert_int_eq(symlink(victim, path), 0);
    struct bg_journal *j = jopen();
    ck_assert_int_eq(bg_journal_append(j, 1, BG_KIND_RCPT, "a@example.com", &r, err,
                                       sizeof err), -1);
    ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
    bg_journal_close(j);
    struct bg_journal_set *s = NULL;
    ck_assert_int_eq(bg_journal_load(path, 1, &s, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
    ck_assert_int_eq(unlink(path), 0);

    /* journal.lock -> victim (the first attempt made a real one) */
    unlink(lock);
    ck_assert_int_eq(symlink(victim, lock), 0);
    j = jopen();
    ck_assert_int_eq(bg_journal_append(j, 1, BG_KIND_RCPT, "a@example.com", &r, err,
                                       sizeof err), -1);
    ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
    bg_journal_close(j);
    ck_assert_int_eq(unlink(lock), 0);

    /* journal a hard link of victim */
    ck_assert_int_eq(link(victim, path), 0);
    j = jopen();
    ck_assert_int_eq(bg_journal_append(j, 1, BG_KIND_RCPT, "a@example.com", &r, err,
                                       sizeof err), -1);
    ck_assert_msg(strstr(err, "links") != NULL, "%s", err);
    bg_journal_close(j);
    ck_assert_int_eq(unlink(path), 0);

    /* journal.bad -> victim: the compaction stops, the journal is kept */
    const char *text = "1 put r keep@example.com bg1 class=hard\ngarbage\n";
    append_raw(text, strlen(text));
    ck_assert_int_eq(symlink(victim, bad), 0);
    ck_assert_int_eq(bg_journal_compact(path, 200, BG_JOURNAL_TOMB_HORIZON, NULL, err,
                                        sizeof err), -1);
    ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_size, (off_t)strlen(text));

    fp = fopen(victim, "r");
    ck_assert_ptr_nonnull(fp);
    char buf[64];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "precious\n");
}
END_TEST

START_TEST(test_tail)
{
    struct bg_journal *j = jopen();
    put(j, 100, BG_KIND_RCPT, "a@example.com", "x", 0);
    put(j, 100, BG_KIND_RCPT, "b@example.com", "x", 0);
    struct bg_journal_stats st, ts;
    struct bg_journal_set *s = load(200, &st), *t;
    bg_journal_set_free(s);
    del(j, 150, BG_KIND_RCPT, "a@example.com");
    char err[256];
    ck_assert_int_eq(bg_journal_load_tail(path, 200, st.dev, st.ino, st.size, 0, &t, &ts, err,
                                          sizeof err), 0);
    ck_assert_uint_eq(ts.lines, 1);
    ck_assert_uint_eq(ts.tombstones, 1);
    ck_assert_ptr_null(bg_journal_set_find(t, BG_KIND_RCPT, "b@example.com"));
    bg_journal_set_free(t);
    /* After a compaction the offset means nothing: read it whole, keep the
     * lines since the given time. */
    ck_assert_int_eq(bg_journal_compact(path, 200, BG_JOURNAL_TOMB_HORIZON, NULL, err,
                                        sizeof err), 0);
    ck_assert_int_eq(bg_journal_load_tail(path, 200, st.dev, st.ino, st.size, 150, &t, &ts,
                                          err, sizeof err), 0);
    ck_assert_uint_eq(ts.tombstones, 1);
    ck_assert_uint_eq(ts.live, 0);
    bg_journal_set_free(t);
    bg_journal_close(j);
}
END_TEST

#define THREADS 4
#define PER_THREAD 300

struct wargs {
    struct bg_journal *j;
    int idx;
};

static void *writer(void *arg)
{
    const struct wargs *w = arg;
    struct bg_journal *j = w->j;
    char name[64];
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(name, sizeof name, "t%d-%d@example.com", w->idx, i);
        struct bg_record r;
        rec_of(&r, "x", 0);
        if (bg_journal_append(j, 100, BG_KIND_RCPT, name, &r, NULL, 0) != 0)
            return (void *)1;
    }
    return NULL;
}

START_TEST(test_concurrent_appenders)
{
    /* Threads of this process and another process append at once, while
     * a compaction runs in between: every line arrives whole. */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct bg_journal *j = bg_journal_open(path, BG_JSYNC_NEVER, NULL, 0);
        for (int i = 0; i < PER_THREAD; i++) {
            char name[64];
            snprintf(name, sizeof name, "child-%d@example.com", i);
            struct bg_record r;
            rec_of(&r, "x", 0);
            if (bg_journal_append(j, 100, BG_KIND_RCPT, name, &r, NULL, 0) != 0)
                _exit(1);
        }
        bg_journal_close(j);
        _exit(0);
    }
    struct bg_journal *j = jopen();
    pthread_t th[THREADS];
    struct wargs wa[THREADS];
    for (int i = 0; i < THREADS; i++) {
        wa[i].j = j;
        wa[i].idx = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, writer, &wa[i]), 0);
    }
    char err[256];
    ck_assert_msg(bg_journal_compact(path, 200, BG_JOURNAL_TOMB_HORIZON, NULL, err,
                                     sizeof err) == 0, "%s", err);
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        ck_assert_ptr_null(ret);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    bg_journal_close(j);
    struct bg_journal_stats st;
    struct bg_journal_set *s = load(200, &st);
    ck_assert_uint_eq(st.bad, 0);
    ck_assert_uint_eq(st.torn, 0);
    ck_assert_uint_eq(st.live, (THREADS + 1) * PER_THREAD);
    bg_journal_set_free(s);
}
END_TEST

/* bg_journal_scan (streamed, two passes) hands over exactly what
 * bg_journal_load holds: every key once, in its final state, and the same
 * figures - over a journal of rewrites, deletes, expiries and bad lines. */
struct scanned {
    struct bg_journal_set *ref;
    long long now;
    size_t n;
    int stop_at;             /* > 0: return 7 at that key */
};

static int check_scanned(const struct bg_journal_entry *e, void *arg)
{
    struct scanned *sc = arg;
    const struct bg_journal_entry *r = bg_journal_set_find(sc->ref, e->kind, e->name);
    ck_assert_msg(r != NULL, "scan handed over %s, which the set does not hold", e->name);
    ck_assert_int_eq(e->state, r->state);
    ck_assert(e->ts == r->ts);
    ck_assert(e->expires == r->expires);
    ck_assert_uint_eq(e->reclen, r->reclen);
    if (e->rec != NULL)
        ck_assert_int_eq(memcmp(e->rec, r->rec, e->reclen), 0);
    else
        ck_assert_ptr_null(r->rec);
    sc->n++;
    return sc->stop_at > 0 && (int)sc->n == sc->stop_at ? 7 : 0;
}

START_TEST(test_scan)
{
    long long now = 1800000000;
    struct bg_journal *j = jopen();
    unsigned seed = 12345;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 8) % 3000;
        char name[64];
        enum bg_kind kind = k % 7 == 0 ? BG_KIND_DOMAIN : BG_KIND_RCPT;
        if (kind == BG_KIND_DOMAIN)
            snprintf(name, sizeof name, "d%u.example", k);
        else
            snprintf(name, sizeof name, "u%u@example.com", k);
        long long ts = now - 40LL * 86400 + i * 100;
        switch ((seed >> 20) % 5) {
        case 0:
            del(j, ts, kind, name);
            break;
        case 1:
            put(j, ts, kind, name, "expiring", now - 1000 + (long long)(seed % 2000));
            break;
        default: {
            char reason[32];
            snprintf(reason, sizeof reason, "r%d", i);
            put(j, ts, kind, name, reason, 0);
        }
        }
        if (i % 5000 == 0)
            append_raw("garbage line\n", 13);
    }
    bg_journal_close(j);

    struct bg_journal_stats ls, ss;
    struct scanned sc = { .ref = load(now, &ls), .now = now };
    char err[256];
    ck_assert_msg(bg_journal_scan(path, now, check_scanned, &sc, &ss, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_uint_eq(sc.n, ls.live + ls.tombstones + ls.expired);
    ck_assert_uint_ge(ls.live, 500);
    ck_assert_uint_ge(ls.tombstones, 200);
    ck_assert_uint_ge(ls.expired, 100);
    ck_assert_uint_eq(ss.lines, 20000);
    ck_assert_uint_eq(ss.bad, 4);
    ck_assert_uint_eq(ss.lines, ls.lines);
    ck_assert_uint_eq(ss.live, ls.live);
    ck_assert_uint_eq(ss.tombstones, ls.tombstones);
    ck_assert_uint_eq(ss.expired, ls.expired);
    ck_assert_uint_eq(ss.live_bytes, ls.live_bytes);
    ck_assert(ss.size == ls.size);

    /* fn's value stops the scan and comes back; the stats alone (fn NULL) */
    sc.n = 0;
    sc.stop_at = 10;
    ck_assert_int_eq(bg_journal_scan(path, now, check_scanned, &sc, &ss, err, sizeof err), 7);
    ck_assert_uint_eq(sc.n, 10);
    ck_assert_int_eq(bg_journal_scan(path, now, NULL, NULL, &ss, err, sizeof err), 0);
    ck_assert_uint_eq(ss.live, ls.live);
    bg_journal_set_free(sc.ref);

    /* A missing journal is an empty one. */
    unlink(path);
    sc.n = 0;
    sc.stop_at = 0;
    ck_assert_int_eq(bg_journal_scan(path, now, check_scanned, &sc, &ss, err, sizeof err), 0);
    ck_assert_uint_eq(sc.n, 0);
    ck_assert_uint_eq(ss.lines, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("journal");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_sync_parse);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_append_replay);
    tcase_add_test(tc, test_tombstones);
    tcase_add_test(tc, test_load_keys);
    tcase_add_test(tc, test_expiry);
    tcase_add_test(tc, test_compaction);
    tcase_add_test(tc, test_scan);
    tcase_add_test(tc, test_maintain);
    tcase_add_test(tc, test_torn_last_line);
    tcase_add_test(tc, test_hostile_lines);
    tcase_add_test(tc, test_quarantine);
    tcase_add_test(tc, test_planted_links);
    tcase_add_test(tc, test_tail);
    tcase_add_test(tc, test_concurrent_appenders);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
