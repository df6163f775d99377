/* test_delsync.c - delete notes: format/parse round trips, hostile notes
 * (overlong, missing or duplicate fields, bad encoding, NUL and control
 * bytes), the tombstone decision (own host, not live, put newer, older),
 * the counter, the read plan (gaps, reset, backlog) and the state file. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delsync.h"
#include "journal.h"
#include "sign.h"

static void note_of(struct bg_delnote *n, long long t, enum bg_kind k, const char *name,
                    const char *host, const char *journal)
{
    memset(n, 0, sizeof *n);
    n->time = t;
    n->kind = k;
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->host, sizeof n->host, "%s", host);
    snprintf(n->journal, sizeof n->journal, "%s", journal);
}

/* ------------------------------------------------------------ format */

static const struct {
    long long t;
    char kind;
    const char *name, *host, *journal, *want;
} good[] = {
    { 1763600000, 'r', "bob@example.com", "mx1", "0123abcd",
      "bgdel1 time=1763600000 kind=r name=bob@example.com host=mx1 journal=0123abcd" },
    { 1, 'd', "dead.example", "mx-2.site_a", "-",
      "bgdel1 time=1 kind=d name=dead.example host=mx-2.site_a journal=-" },
    /* a quoted local part with a blank, a '%', 8-bit bytes, '=' kept */
    { 1763600001, 'r', "\"john doe\"@example.com", "h", "ffffffff",
      "bgdel1 time=1763600001 kind=r name=\"john%20doe\"@example.com host=h journal=ffffffff" },
    { 1763600002, 'r', "a%b=c@\xc3\xa9x.example", "h", "-",
      "bgdel1 time=1763600002 kind=r name=a%25b=c@%C3%A9x.example host=h journal=-" },
    { 999999999999999999LL, 'd', "x", "h", "-",
      "bgdel1 time=999999999999999999 kind=d name=x host=h journal=-" },
};

START_TEST(test_format_parse_good)
{
    struct bg_delnote n, back;
    char buf[BG_DELNOTE_MAX + 1];
    note_of(&n, good[_i].t, (enum bg_kind)good[_i].kind, good[_i].name, good[_i].host,
            good[_i].journal);
    int len = bg_delnote_format(buf, sizeof buf, &n);
    ck_assert_int_eq(len, (int)strlen(good[_i].want));
    ck_assert_str_eq(buf, good[_i].want);
    const char *why = NULL;
    ck_assert_msg(bg_delnote_parse(buf, (size_t)len, &back, &why) == 0, "%s",
                  why ? why : "?");
    ck_assert(back.time == n.time);
    ck_assert_int_eq(back.kind, n.kind);
    ck_assert_str_eq(back.name, n.name);
    ck_assert_str_eq(back.host, n.host);
    ck_assert_str_eq(back.journal, n.journal);
}
END_TEST

static const struct {
    long long t;
    char kind;
    const char *name, *host, *journal;
} bad_format[] = {
    { 0, 'r', "bob@example.com", "h", "-" },            /* no time */
    { -5, 'r', "bob@example.com", "h", "-" },           /* negative time */
    { 1, 's', "bob@example.com", "h", "-" },            /* soft counter: not a note */
    { 1, 'm', "marker", "h", "-" },                     /* meta */
    { 1, 'r', "", "h", "-" },                           /* empty name */
    { 1, 'r', "bob@example.com", "", "-" },             /* empty host */
    { 1, 'r', "bob@example.com", "mx 1", "-" },         /* blank in host */
    { 1, 'r', "bob@example.com", "h", "0123ABCD" },     /* upper-case tag */
    { 1, 'r', "bob@example.com", "h", "0123abc" },      /* short tag */
};

START_TEST(test_format_bad)
{
    struct bg_delnote n;
    char buf[BG_DELNOTE_MAX + 1];
    note_of(&n, bad_format[_i].t, (enum bg_kind)bad_format[_i].kind, bad_format[_i].name,
            bad_format[_i].host, bad_format[_i].journal);
    ck_assert_int_eq(bg_delnote_format(buf, sizeof buf, &n), -1);
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_format_bounds)
{
    struct bg_delnote n, back;
    char buf[BG_DELNOTE_MAX + 1], small[40];
    /* the longest name (BG_ADDR_MAX - 1 bytes), every byte escaped */
    memset(&n, 0, sizeof n);
    n.time = 1763600000;
    n.kind = BG_KIND_RCPT;
    memset(n.name, '\x01', sizeof n.name - 1);
    snprintf(n.host, sizeof n.host, "%s",
             "h234567890123456789012345678901234567890123456789012345678901234");
    ck_assert_uint_eq(strlen(n.host), BG_DELSYNC_HOST_MAX);
    snprintf(n.journal, sizeof n.journal, "-");
    int len = bg_delnote_format(buf, sizeof buf, &n);
    ck_assert_int_gt(len, 3 * (BG_ADDR_MAX - 1));
    ck_assert_int_le(len, BG_DELNOTE_MAX);
    const char *why = NULL;
    ck_assert_msg(bg_delnote_parse(buf, (size_t)len, &back, &why) == 0, "%s", why);
    ck_assert_str_eq(back.name, n.name);
    /* does not fit: -1, never a cut note */
    ck_assert_int_eq(bg_delnote_format(small, sizeof small, &n), -1);
    ck_assert_str_eq(small, "");
    note_of(&n, 1763600000, BG_KIND_RCPT, "bob@example.com", "h", "-");
    ck_assert_int_eq(bg_delnote_format(small, 20, &n), -1);
}
END_TEST

/* ------------------------------------------------------------ parse */

#define NOTE(rest) "bgdel1 time=1763600000 kind=r name=bob@example.com host=mx1 journal=-" rest

static const struct {
    const char *in;
    size_t len;   /* 0: strlen */
    const char *why;
} hostile[] = {
    { "", 0, "empty" },
    { "bgdel1", 0, "missing field" },
    { "bgdel1 ", 0, "field without name=value" },
    { "bgdel2 time=1 kind=r name=b host=h journal=-", 0, "not a bgdel1 note" },
    { "bgdel1x time=1 kind=r name=b host=h journal=-", 0, "not a bgdel1 note" },
    { "bg1 class=hard", 0, "not a bgdel1 note" },
    { "time=1 kind=r name=b host=h journal=-", 0, "not a bgdel1 note" },
    /* missing fields, one at a time */
    { "bgdel1 kind=r name=b host=h journal=-", 0, "missing field" },
    { "bgdel1 time=1 name=b host=h journal=-", 0, "missing field" },
    { "bgdel1 time=1 kind=r host=h journal=-", 0, "missing field" },
    { "bgdel1 time=1 kind=r name=b journal=-", 0, "missing field" },
    { "bgdel1 time=1 kind=r name=b host=h", 0, "missing field" },
    /* layout */
    { NOTE(" "), 0, "field without name=value" },
    { "bgdel1  time=1 kind=r name=b host=h journal=-", 0, "field without name=value" },
    { NOTE(" extra"), 0, "field without name=value" },
    { NOTE(" =x"), 0, "field without name=value" },
    { NOTE(" x="), 0, "field without name=value" },
    { "bgdel1 time= kind=r name=b host=h journal=-", 0, "field without name=value" },
    { NOTE(" time=1763600000"), 0, "duplicate field" },
    { NOTE(" name=alice@example.com"), 0, "duplicate field" },
    { NOTE(" kind=d"), 0, "duplicate field" },
    /* numbers */
    { "bgdel1 time=0 kind=r name=b host=h journal=-", 0, "bad time" },
    { "bgdel1 time=-1 kind=r name=b host=h journal=-", 0, "bad time" },
    { "bgdel1 time=+1 kind=r name=b host=h journal=-", 0, "bad time" },
    { "bgdel1 time=12x kind=r name=b host=h journal=-", 0, "bad time" },
    { "bgdel1 time=1234567890123456789 kind=r name=b host=h journal=-", 0, "bad time" },
    { "bgdel1 time=99999999999999999999999 kind=r name=b host=h journal=-", 0, "bad time" },
    /* kinds: only what del deletes */
    { "bgdel1 time=1 kind=s name=b host=h journal=-", 0, "bad kind" },
    { "bgdel1 time=1 kind=m name=marker host=h journal=-", 0, "bad kind" },
    { "bgdel1 time=1 kind=rr name=b host=h journal=-", 0, "bad kind" },
    { "bgdel1 time=1 kind=R name=b host=h journal=-", 0, "bad kind" },
    /* names: the journal's encoding */
    { "bgdel1 time=1 kind=r name=b%00ob host=h journal=-", 0, "bad name" },
    { "bgdel1 time=1 kind=r name=b%zzob host=h journal=-", 0, "bad name" },
    { "bgdel1 time=1 kind=r name=bob% host=h journal=-", 0, "bad name" },
    { "bgdel1 time=1 kind=r name=bob%4 host=h journal=-", 0, "bad name" },
    { "bgdel1 time=1 kind=r name=% host=h journal=-", 0, "bad name" },
    /* hosts and tags */
    { "bgdel1 time=1 kind=r name=b host=h/x journal=-", 0, "bad host" },
    { "bgdel1 time=1 kind=r name=b host=h%20x journal=-", 0, "bad host" },
    { "bgdel1 time=1 kind=r name=b host=h1234567890123456789012345678901234567890123456789"
      "012345678901234 journal=-", 0, "bad host" },  /* 65 bytes */
    { "bgdel1 time=1 kind=r name=b host=h journal=--", 0, "bad journal" },
    { "bgdel1 time=1 kind=r name=b host=h journal=0123abcd0", 0, "bad journal" },
    { "bgdel1 time=1 kind=r name=b host=h journal=0123abcG", 0, "bad journal" },
    /* bytes */
    { NOTE("\n"), 0, "control or 8-bit byte" },
    { NOTE("\r\n"), 0, "control or 8-bit byte" },
    { "bgdel1 time=1 kind=r name=b\tb host=h journal=-", 0, "control or 8-bit byte" },
    { "bgdel1 time=1 kind=r name=b\xc3\xa9 host=h journal=-", 0, "control or 8-bit byte" },
    { "bgdel1 time=1 kind=r name=b\x7f host=h journal=-", 0, "control or 8-bit byte" },
    /* a NUL inside: a C-string reader would see a good note */
    { NOTE("\0 kind=d"), sizeof NOTE("\0 kind=d") - 1, "control or 8-bit byte" },
    { "bgdel1 time=1 kind=r name=bob\0@evil host=h journal=-",
      sizeof "bgdel1 time=1 kind=r name=bob\0@evil host=h journal=-" - 1,
      "control or 8-bit byte" },
};

START_TEST(test_parse_hostile)
{
    struct bg_delnote n;
    const char *why = NULL;
    size_t len = hostile[_i].len ? hostile[_i].len : strlen(hostile[_i].in);
    ck_assert_msg(bg_delnote_parse(hostile[_i].in, len, &n, &why) == -1, "accepted: %s",
                  hostile[_i].in);
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(why, hostile[_i].why);
}
END_TEST

START_TEST(test_parse_unknown_fields_and_order)
{
    struct bg_delnote n;
    const char *why = NULL;
    const char *in = "bgdel1 journal=0123abcd via=ctl host=mx2 name=%22a%20b%22@x.example "
                     "kind=r future=1=2 time=1763600000";
    ck_assert_msg(bg_delnote_parse(in, strlen(in), &n, &why) == 0, "%s", why);
    ck_assert(n.time == 1763600000);
    ck_assert_int_eq(n.kind, BG_KIND_RCPT);
    ck_assert_str_eq(n.name, "\"a b\"@x.example");
    ck_assert_str_eq(n.host, "mx2");
    ck_assert_str_eq(n.journal, "0123abcd");
}
END_TEST

START_TEST(test_parse_overlong)
{
    static char in[BG_DELNOTE_MAX + 64];
    struct bg_delnote n;
    const char *why = NULL;
    /* a name longer than any address, but the note within the limit */
    int off = snprintf(in, sizeof in, "bgdel1 time=1 kind=r host=h journal=- name=");
    memset(in + off, 'a', BG_ADDR_MAX);
    in[off + BG_ADDR_MAX] = '\0';
    ck_assert_int_eq(bg_delnote_parse(in, strlen(in), &n, &why), -1);
    ck_assert_str_eq(why, "bad name");
    /* one byte less fits */
    in[off + BG_ADDR_MAX - 1] = '\0';
    ck_assert_int_eq(bg_delnote_parse(in, strlen(in), &n, &why), 0);
    ck_assert_uint_eq(strlen(n.name), BG_ADDR_MAX - 1);
    /* the value itself too long */
    memset(in + off, 'a', sizeof in - (size_t)off);
    ck_assert_int_eq(bg_delnote_parse(in, BG_DELNOTE_MAX + 1, &n, &why), -1);
    ck_assert_str_eq(why, "too long");
    ck_assert_int_eq(bg_delnote_parse(NULL, 0, &n, &why), -1);
    ck_assert_str_eq(why, "empty");
    ck_assert_int_eq(bg_delnote_parse("x", 1, &n, NULL), -1);   /* why may be NULL */
}
END_TEST

/* ------------------------------------------------------------ decision */

static const struct {
    const char *host, *journal;     /* of the note */
    int in_journal;                 /* 0: never mentioned */
    enum bg_journal_state state;
    char kind;                      /* of the journal entry */
    long long put;                  /* its time */
    enum bg_delsync_decision want;
} decisions[] = {
    { "mx2", "-", 1, BG_JE_LIVE, 'r', 1000, BG_DS_TOMBSTONE },        /* older put */
    { "mx2", "-", 1, BG_JE_LIVE, 'r', 1999, BG_DS_TOMBSTONE },
    { "mx2", "-", 1, BG_JE_LIVE, 'r', 2000, BG_DS_NEWER },            /* same second */
    { "mx2", "-", 1, BG_JE_LIVE, 'r', 2001, BG_DS_NEWER },            /* re-added after */
    { "mx2", "-", 0, BG_JE_LIVE, 'r', 0, BG_DS_ABSENT },              /* never here */
    { "mx2", "-", 1, BG_JE_TOMBSTONE, 'r', 1000, BG_DS_ABSENT },      /* deleted here too */
    { "mx2", "-", 1, BG_JE_EXPIRED, 'r', 1000, BG_DS_ABSENT },
    { "mx1", "0123abcd", 1, BG_JE_LIVE, 'r', 1000, BG_DS_OWN },       /* this host's own */
    { "mx1", "-", 1, BG_JE_LIVE, 'r', 1000, BG_DS_TOMBSTONE },        /* same host, other journal */
    { "mx1", "89abcdef", 1, BG_JE_LIVE, 'r', 1000, BG_DS_TOMBSTONE },
    { "mx1x", "0123abcd", 1, BG_JE_LIVE, 'r', 1000, BG_DS_TOMBSTONE },
    { "mx2", "-", 1, BG_JE_LIVE, 'd', 1000, BG_DS_ABSENT },           /* other kind */
};

START_TEST(test_decide)
{
    struct bg_delsync_self me;
    bg_delsync_self_init(&me, "mx1", NULL);
    snprintf(me.journal, sizeof me.journal, "0123abcd");
    struct bg_delnote n;
    note_of(&n, 2000, BG_KIND_RCPT, "bob@example.com", decisions[_i].host,
            decisions[_i].journal);
    struct bg_journal_entry e = {
        .kind = (enum bg_kind)decisions[_i].kind, .state = decisions[_i].state,
        .ts = decisions[_i].put, .name = "bob@example.com",
    };
    enum bg_delsync_decision d = bg_delsync_decide(&n, &me, decisions[_i].in_journal ? &e : NULL);
    ck_assert_msg(d == decisions[_i].want, "row %d: %s, want %s", _i,
                  bg_delsync_decision_name(d), bg_delsync_decision_name(decisions[_i].want));
}
END_TEST

/* Against a real journal: the set loaded from the file decides. */
START_TEST(test_decide_with_journal)
{
    char dir[] = "/tmp/bg-test-delsync.XXXXXX", path[128], err[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal", dir);
    struct bg_journal *j = bg_journal_open(path, BG_JSYNC_NEVER, err, sizeof err);
    ck_assert_msg(j != NULL, "%s", err);
    struct bg_record r;
    memset(&r, 0, sizeof r);
    r.cls = BG_CLASS_MANUAL;
    r.first_seen = r.last_seen = 1000;
    r.count = 1;
    ck_assert(bg_journal_append(j, 1000, BG_KIND_RCPT, "bob@example.com", &r, err, sizeof err) == 0);
    ck_assert(bg_journal_append(j, 1000, BG_KIND_RCPT, "carol@example.com", &r, err, sizeof err) == 0);
    ck_assert(bg_journal_append(j, 3000, BG_KIND_RCPT, "carol@example.com", &r, err, sizeof err) == 0);
    ck_assert(bg_journal_append(j, 1000, BG_KIND_DOMAIN, "dead.example", &r, err, sizeof err) == 0);
    struct bg_journal_set *set = NULL;
    ck_assert(bg_journal_load(path, 4000, &set, NULL, err, sizeof err) == 0);
    struct bg_delsync_self me;
    bg_delsync_self_init(&me, "mx1", path);
    struct bg_delnote n;
    note_of(&n, 2000, BG_KIND_RCPT, "bob@example.com", "mx2", "-");
    ck_assert_int_eq(bg_delsync_decide(&n, &me, bg_journal_set_find(set, n.kind, n.name)),
                     BG_DS_TOMBSTONE);
    note_of(&n, 2000, BG_KIND_RCPT, "carol@example.com", "mx2", "-");
    ck_assert_int_eq(bg_delsync_decide(&n, &me, bg_journal_set_find(set, n.kind, n.name)),
                     BG_DS_NEWER);
    note_of(&n, 2000, BG_KIND_RCPT, "dead.example", "mx2", "-");
    ck_assert_int_eq(bg_delsync_decide(&n, &me, bg_journal_set_find(set, n.kind, n.name)),
                     BG_DS_ABSENT);
    note_of(&n, 2000, BG_KIND_DOMAIN, "dead.example", "mx2", "-");
    ck_assert_int_eq(bg_delsync_decide(&n, &me, bg_journal_set_find(set, n.kind, n.name)),
                     BG_DS_TOMBSTONE);
    /* the tombstone appended, the key is no longer live */
    ck_assert(bg_journal_append(j, 0, BG_KIND_DOMAIN, "dead.example", NULL, err, sizeof err) == 0);
    bg_journal_set_free(set);
    ck_assert(bg_journal_load(path, 4000, &set, NULL, err, sizeof err) == 0);
    ck_assert_int_eq(bg_delsync_decide(&n, &me, bg_journal_set_find(set, n.kind, n.name)),
                     BG_DS_ABSENT);
    /* this host's own note, same journal */
    note_of(&n, 2000, BG_KIND_RCPT, "bob@example.com", "mx1", me.journal);
    ck_assert_int_eq(bg_delsync_decide(&n, &me, bg_journal_set_find(set, n.kind, n.name)),
                     BG_DS_OWN);
    bg_journal_set_free(set);
    bg_journal_close(j);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_self)
{
    struct bg_delsync_self a, b, c, d;
    bg_delsync_self_init(&a, "mx1.example", "/var/lib/bouncegate/journal");
    bg_delsync_self_init(&b, "mx1.example", "/var/lib/bouncegate/journal2");
    bg_delsync_self_init(&c, "mx 1/\x01\xff", "");
    bg_delsync_self_init(&d, "", NULL);
    ck_assert_str_eq(a.host, "mx1.example");
    ck_assert_uint_eq(strlen(a.journal), 8);
    ck_assert_str_ne(a.journal, b.journal);
    ck_assert_str_eq(c.host, "mx_1___");
    ck_assert_str_eq(c.journal, "-");
    ck_assert_str_eq(d.host, "unknown");
    char longhost[200];
    memset(longhost, 'h', sizeof longhost - 1);
    longhost[sizeof longhost - 1] = '\0';
    bg_delsync_self_init(&d, longhost, NULL);
    ck_assert_uint_eq(strlen(d.host), BG_DELSYNC_HOST_MAX);
    bg_delsync_self_init(&d, NULL, "/j");   /* gethostname */
    ck_assert_uint_gt(strlen(d.host), 0);
    /* what self_init makes is always formattable */
    struct bg_delnote n;
    char buf[BG_DELNOTE_MAX + 1];
    note_of(&n, 5, BG_KIND_RCPT, "x@y", c.host, c.journal);
    ck_assert_int_gt(bg_delnote_format(buf, sizeof buf, &n), 0);
    note_of(&n, 5, BG_KIND_RCPT, "x@y", a.host, a.journal);
    ck_assert_int_gt(bg_delnote_format(buf, sizeof buf, &n), 0);
}
END_TEST

/* ------------------------------------------------------------ sequence */

static const struct {
    const char *in;
    int ok;
    unsigned long long want;
} seqs[] = {
    { "0", 1, 0 },
    { "17", 1, 17 },
    { "17  ", 1, 17 },                   /* memcached's in-place padding */
    { "17\r\n", 1, 17 },
    { "18446744073709551615", 1, 18446744073709551615ULL },
    { "18446744073709551616", 0, 0 },    /* overflow */
    { "99999999999999999999999", 0, 0 },
    { "", 0, 0 },
    { " 17", 0, 0 },
    { "-1", 0, 0 },
    { "17x", 0, 0 },
    { "1 7", 0, 0 },
    { "0x11", 0, 0 },
};

START_TEST(test_seq_parse)
{
    unsigned long long v = 12345;
    int rc = bg_delsync_seq_parse(seqs[_i].in, strlen(seqs[_i].in), &v);
    ck_assert_int_eq(rc, seqs[_i].ok ? 0 : -1);
    if (seqs[_i].ok)
        ck_assert(v == seqs[_i].want);
    else
        ck_assert(v == 12345);   /* untouched */
}
END_TEST

START_TEST(test_seq_parse_nul)
{
    unsigned long long v;
    ck_assert_int_eq(bg_delsync_seq_parse("17\0", 3, &v), -1);
    ck_assert_int_eq(bg_delsync_seq_parse(NULL, 0, &v), -1);
}
END_TEST

static const struct {
    unsigned long long done, head;
    unsigned batch;
    unsigned long long from, to, skipped;
    int reset;
} plans[] = {
    { 0, 0, 1000, 1, 0, 0, 0 },              /* nothing yet */
    { 17, 17, 1000, 18, 17, 0, 0 },          /* nothing new */
    { 0, 5, 1000, 1, 5, 0, 0 },
    { 17, 20, 1000, 18, 20, 0, 0 },
    { 0, 2500, 1000, 1, 1000, 0, 0 },        /* bounded: 1,000 per wake-up */
    { 1000, 2500, 1000, 1001, 2000, 0, 0 },
    { 2000, 2500, 1000, 2001, 2500, 0, 0 },
    { 17, 3, 1000, 1, 3, 0, 1 },             /* memcached lost the counter */
    { 17, 0, 1000, 1, 0, 0, 1 },             /* ... and nothing since */
    { 0, 1000005, 1000, 6, 1005, 5, 0 },     /* beyond the backlog bound */
    { 0, 18446744073709551615ULL, 1000, 18446744073708551616ULL,
      18446744073708552615ULL, 18446744073708551615ULL, 0 },
};

START_TEST(test_plan)
{
    struct bg_delsync_plan p;
    bg_delsync_plan(plans[_i].done, plans[_i].head, plans[_i].batch, &p);
    ck_assert_msg(p.from == plans[_i].from && p.to == plans[_i].to &&
                  p.skipped == plans[_i].skipped && p.reset == plans[_i].reset,
                  "row %d: from=%llu to=%llu skipped=%llu reset=%d", _i, p.from, p.to,
                  p.skipped, p.reset);
    ck_assert(p.to - p.from + 1 <= plans[_i].batch || p.from > p.to);
}
END_TEST

START_TEST(test_gaps)
{
    /* counter read as 10 last time, 14 now: 11..14 are fresh */
    ck_assert_int_eq(bg_delsync_is_gap(3, 10), 1);
    ck_assert_int_eq(bg_delsync_is_gap(10, 10), 1);
    ck_assert_int_eq(bg_delsync_is_gap(11, 10), 0);
    ck_assert_int_eq(bg_delsync_is_gap(1, 0), 0);      /* first read after start */
    char name[40];
    ck_assert_int_eq(bg_delsync_note_name(name, sizeof name, 17), 6);
    ck_assert_str_eq(name, "del:17");
    ck_assert_int_eq(bg_delsync_note_name(name, 5, 17), -1);
    ck_assert_int_gt(bg_delsync_note_name(name, sizeof name, 18446744073709551615ULL), 0);
}
END_TEST

/* ------------------------------------------------------------ state */

START_TEST(test_state_file)
{
    char dir[] = "/tmp/bg-test-delsync.XXXXXX", path[128], sp[160], err[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal", dir);
    snprintf(sp, sizeof sp, "%s.delseq", path);
    unsigned long long v = 99;
    ck_assert_int_eq(bg_delsync_state_load(path, &v), 0);   /* missing */
    ck_assert(v == 0);
    ck_assert_msg(bg_delsync_state_save(path, 17, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(bg_delsync_state_load(path, &v), 1);
    ck_assert(v == 17);
    ck_assert_msg(bg_delsync_state_save(path, 18446744073709551615ULL, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_int_eq(bg_delsync_state_load(path, &v), 1);
    ck_assert(v == 18446744073709551615ULL);
    static const char *bad[] = { "", "x\n", "-3\n", "17 18\n",
                                 "123456789012345678901234567890123456789012345678901234567890123456789\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *fp = fopen(sp, "w");
        ck_assert_ptr_nonnull(fp);
        fputs(bad[i], fp);
        fclose(fp);
        v = 99;
        ck_assert_msg(bg_delsync_state_load(path, &v) == 0, "accepted '%s'", bad[i]);
        ck_assert(v == 0);
    }
    /* no temporary file left behind */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls '%s' | grep tmp)\"", dir);
    ck_assert_int_eq(system(cmd), 0);
    /* a directory that does not exist: an error, not a crash */
    ck_assert_int_eq(bg_delsync_state_save("/nonexistent/dir/journal", 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/journal.delseq.tmp."));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))


/* Signed notes: a daemon with the site's key applies only notes whose MAC
 * is right; anyone else who can write memcached cannot make one. */
START_TEST(test_signed_notes)
{
    struct bg_signer key, other;
    memset(&key, 0, sizeof key);
    memcpy(key.key, "site-key-0123456789abcdef", 25);
    key.keylen = 25;
    other = key;
    other.key[0] = 'X';
    struct bg_delnote n, back;
    note_of(&n, 1763600000, BG_KIND_RCPT, "bob@example.com", "mx1", "-");
    char buf[BG_DELNOTE_MAX + 1];
    int len = bg_delnote_format(buf, sizeof buf, &n);
    ck_assert_int_gt(len, 0);
    const char *why = NULL;
    ck_assert_int_eq(bg_delnote_verify(buf, (size_t)len, &key, &why), -1);
    ck_assert_str_eq(why, "unsigned");
    int slen = bg_delnote_sign(buf, (size_t)len, sizeof buf, &key);
    ck_assert_int_eq(slen, len + 5 + BG_SIGN_MAC_CHARS);
    ck_assert_ptr_nonnull(strstr(buf, " mac="));
    ck_assert_int_eq(bg_delnote_verify(buf, (size_t)slen, &key, &why), 0);
    /* the signed note still parses (mac= is a field like any other) */
    ck_assert_msg(bg_delnote_parse(buf, (size_t)slen, &back, &why) == 0, "%s", why);
    ck_assert_str_eq(back.name, "bob@example.com");
    /* another key, or a changed byte: refused */
    ck_assert_int_eq(bg_delnote_verify(buf, (size_t)slen, &other, &why), -1);
    ck_assert_str_eq(why, "bad mac");
    char *p = strstr(buf, "bob");
    *p = 'r';
    ck_assert_int_eq(bg_delnote_verify(buf, (size_t)slen, &key, &why), -1);
    ck_assert_str_eq(why, "bad mac");
    /* a note that does not fit with its MAC is not signed */
    char small[80];
    memcpy(small, buf, 70);
    ck_assert_int_eq(bg_delnote_sign(small, 70, sizeof small, &key), -1);
    /* short and empty input */
    ck_assert_int_eq(bg_delnote_verify("", 0, &key, &why), -1);
    ck_assert_int_eq(bg_delnote_verify(" mac=", 5, &key, &why), -1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("delsync");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_format_parse_good, 0, N(good));
    tcase_add_loop_test(tc, test_format_bad, 0, N(bad_format));
    tcase_add_test(tc, test_format_bounds);
    tcase_add_loop_test(tc, test_parse_hostile, 0, N(hostile));
    tcase_add_test(tc, test_parse_unknown_fields_and_order);
    tcase_add_test(tc, test_parse_overlong);
    tcase_add_loop_test(tc, test_decide, 0, N(decisions));
    tcase_add_test(tc, test_decide_with_journal);
    tcase_add_test(tc, test_self);
    tcase_add_loop_test(tc, test_seq_parse, 0, N(seqs));
    tcase_add_test(tc, test_seq_parse_nul);
    tcase_add_loop_test(tc, test_plan, 0, N(plans));
    tcase_add_test(tc, test_gaps);
    tcase_add_test(tc, test_state_file);
    tcase_add_test(tc, test_signed_notes);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
