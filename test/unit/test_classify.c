/* test_classify.c - the classifier's rules, the embedded defaults, site
 * rules, rules-file errors and the policy. The automaton against a naive
 * search, in every layout: test_classify_scan.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "classify.h"
#include "classify_internal.h"

#include "classify_rows.h"

static void facts_of(const struct row *r, struct bg_facts *f)
{
    memset(f, 0, sizeof *f);
    f->action = r->action;
    f->status = r->status;
    f->reply_code = r->code;
    f->diag = r->text;
    f->remote_mta = r->mta;
    f->command = r->cmd;
}

START_TEST(table)
{
    const struct row *r = &rows[_i];
    struct bg_facts f;
    struct bg_verdict v;
    facts_of(r, &f);
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_msg(v.cls == r->cls && strcmp(v.reason, r->reason) == 0 &&
                  strcmp(v.rule, r->rule) == 0,
                  "row %d (%s %s \"%.60s\"): got class %d %s rule %s, want %d %s %s",
                  _i, r->status ? r->status : "NULL", r->code ? r->code : "NULL",
                  r->text ? r->text : "NULL", (int)v.cls, v.reason, v.rule,
                  (int)r->cls, r->reason, r->rule);
}
END_TEST

START_TEST(reports)
{
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.is_feedback = 1;
    f.feedback_type = "abuse";
    f.status = "5.1.1";
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_int_eq(v.cls, BG_CLASS_COMPLAINT);
    ck_assert_str_eq(v.reason, "feedback");
    memset(&f, 0, sizeof f);
    f.is_autoreply = 1;
    f.diag = "I am on vacation";
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_int_eq(v.cls, BG_CLASS_NONE);
    ck_assert_str_eq(v.reason, "vacation");
}
END_TEST

/* Status and code are taken from the text when the report lacks them. */
START_TEST(status_from_text)
{
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.action = BG_ACTION_FAILED;
    f.diag = "host mx.example.org said: 552 5.2.3 stop";
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_str_eq(v.rule, "size-admin");
    f.diag = "   451 try again";
    f.action = BG_ACTION_UNKNOWN;
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_int_eq(v.cls, BG_CLASS_SOFT);
    ck_assert_str_eq(v.rule, "temp-code");
}
END_TEST

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* lib/rules_default.c must be conf/rules.conf byte for byte (run
 * test/tools/gen-rules-default.sh after editing the conf). */
START_TEST(embedded_equals_conf)
{
    size_t len = 0;
    char *txt = slurp("conf/rules.conf", &len);
    if (!txt)
        txt = slurp("../../conf/rules.conf", &len);
    ck_assert_msg(txt != NULL, "cannot read conf/rules.conf (run from the repo root)");
    ck_assert_uint_eq(len, strlen(bg_rules_default_text));
    ck_assert_msg(memcmp(txt, bg_rules_default_text, len) == 0,
                  "lib/rules_default.c is stale: sh test/tools/gen-rules-default.sh");
    free(txt);
    /* and it parses cleanly */
    struct bg_rules *r = NULL;
    char err[256] = "";
    ck_assert_msg(bg_rules_parse_text("rules.conf", bg_rules_default_text,
                                      strlen(bg_rules_default_text), &r, err,
                                      sizeof err) == 0, "%s", err);
    bg_rules_free(r);
}
END_TEST

static char tmpl[] = "/tmp/bg_rules_XXXXXX";

static const char *write_tmp(const char *content)
{
    static char path[64];
    memcpy(path, tmpl, sizeof tmpl);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(content, f);
    fclose(f);
    return path;
}

START_TEST(site_override)
{
    const char *p = write_tmp(
        "# site rules\n"
        "site-full   hard   mailboxfull  status=5.2.2 mta=*.example.net\n"
        "site-acme   block  blocked      text=\"acme says no|\\\"quoted\\\"\"\n"
        "site-cont   soft   suspend      text=\"first part\"\n"
        "    code=550   # continuation line\n");
    char err[256] = "";
    struct bg_rules *r = bg_rules_load(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.action = BG_ACTION_FAILED;
    f.status = "5.2.2";
    f.diag = "552 5.2.2 mailbox full";
    f.remote_mta = "MX1.Example.NET";
    bg_classify(r, &f, &v);
    ck_assert_int_eq(v.cls, BG_CLASS_HARD);
    ck_assert_str_eq(v.rule, "site-full");
    f.remote_mta = "mx.other.org";      /* falls through to the defaults */
    bg_classify(r, &f, &v);
    ck_assert_int_eq(v.cls, BG_CLASS_SOFT);
    ck_assert_str_eq(v.rule, "mailbox-full");
    f.status = "";
    f.diag = "550 ACME SAYS NO";
    bg_classify(r, &f, &v);
    ck_assert_str_eq(v.rule, "site-acme");
    f.diag = "550 we said \"quoted\" here";
    bg_classify(r, &f, &v);
    ck_assert_str_eq(v.rule, "site-acme");
    f.diag = "550 first   part";
    f.reply_code = "550";
    bg_classify(r, &f, &v);
    ck_assert_str_eq(v.rule, "site-cont");
    f.reply_code = "551";
    bg_classify(r, &f, &v);
    ck_assert_str_ne(v.rule, "site-cont");
    bg_rules_free(r);
    remove(p);
}
END_TEST

static const struct { const char *text; const char *want; } bad[] = {
    { "ok hard userunknown\nbad nosuchclass userunknown\n", "x:2: unknown class" },
    { "a hard notareason\n", "x:1: unknown reason" },
    { "\n\n# c\nr1 hard userunknown\nr1 soft mailboxfull\n", "x:5: duplicate rule id" },
    { "r hard userunknown text=\"open\n", "x:1: unterminated quote" },
    { "r hard userunknown bogus=1\n", "x:1: unknown condition" },
    { "r hard userunknown status=5.x.1\n", "x:1: bad status= item" },
    { "r hard userunknown text=\"a||b\"\n", "x:1: empty text alternative" },
    { "  r hard userunknown\n", "x:1: continuation line without a rule" },
    { "r hard userunknown action=exploded\n", "x:1: unknown action" },
    { "r hard\n", "x:1: missing reason" },
    { "r hard userunknown noequals\n", "x:1: expected key=value" },
    { "r$ hard userunknown\n", "x:1: bad character in rule id" },
    { "r hard userunknown code=55,\n", "x:1: trailing comma" },
    { "r hard userunknown report=spam\n", "x:1: unknown report kind" },
    { "r hard userunknown\nq manual userunknown\n", "x:2: unknown class" },
};

START_TEST(bad_rules)
{
    struct bg_rules *r = NULL;
    char err[256] = "";
    int rc = bg_rules_parse_text("x", bad[_i].text, strlen(bad[_i].text), &r, err,
                                 sizeof err);
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_null(r);
    ck_assert_msg(strncmp(err, bad[_i].want, strlen(bad[_i].want)) == 0,
                  "case %d: got \"%s\", want prefix \"%s\"", _i, err, bad[_i].want);
}
END_TEST

START_TEST(load_errors_name_file)
{
    char err[256] = "";
    ck_assert_ptr_null(bg_rules_load("/nonexistent/rules.conf", err, sizeof err));
    ck_assert_msg(strstr(err, "/nonexistent/rules.conf") != NULL, "%s", err);
    const char *p = write_tmp("good hard userunknown\n\nbad hard userunknown status=\n");
    ck_assert_ptr_null(bg_rules_load(p, err, sizeof err));
    char want[128];
    snprintf(want, sizeof want, "%s:3: ", p);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    remove(p);
}
END_TEST

/* RulesFile is read at start, by bouncegate -n and on reload: a FIFO
 * there blocked the open, a device was read. Only a regular file is. */
START_TEST(load_not_regular)
{
    char err[256] = "", fifo[64], want[128];
    ck_assert_ptr_null(bg_rules_load("/dev/zero", err, sizeof err));
    ck_assert_str_eq(err, "/dev/zero: not a regular file (character device)");
    snprintf(fifo, sizeof fifo, "/tmp/bg-test-rules-%ld.fifo", (long)getpid());
    unlink(fifo);
    ck_assert_msg(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    ck_assert_ptr_null(bg_rules_load(fifo, err, sizeof err));
    snprintf(want, sizeof want, "%s: not a regular file (FIFO)", fifo);
    ck_assert_str_eq(err, want);
    unlink(fifo);
}
END_TEST

START_TEST(policy_defaults)
{
    struct bg_policy p;
    struct bg_verdict v;
    bg_policy_default(&p);
    memset(&v, 0, sizeof v);
    strcpy(v.reason, "userunknown");
    v.cls = BG_CLASS_HARD;
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_SUPPRESS);
    v.cls = BG_CLASS_COMPLAINT;
    strcpy(v.reason, "feedback");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_SUPPRESS);
    v.cls = BG_CLASS_SOFT;
    strcpy(v.reason, "mailboxfull");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_COUNT);
    v.cls = BG_CLASS_BLOCK;
    strcpy(v.reason, "blocked");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_NONE);
    v.cls = BG_CLASS_NONE;
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_NONE);
    v.cls = BG_CLASS_UNDETERMINED;
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_NONE);
    ck_assert_str_eq(bg_policy_action_name(BG_POLICY_SUPPRESS), "suppress");
    ck_assert_str_eq(bg_policy_action_name(BG_POLICY_COUNT), "count");
    ck_assert_str_eq(bg_policy_action_name(BG_POLICY_NONE), "none");
}
END_TEST

START_TEST(policy_overrides)
{
    struct bg_policy p;
    struct bg_verdict v;
    const char *why = NULL;
    bg_policy_default(&p);
    ck_assert_int_eq(bg_policy_set(&p, "mailboxfull=suppress", &why), 0);
    ck_assert_int_eq(bg_policy_set(&p, " block = count ", &why), 0);
    ck_assert_int_eq(bg_policy_set(&p, "Hard=none", &why), 0);
    ck_assert_int_eq(bg_policy_set(&p, "mailboxfull=none", &why), 0);  /* replaces */
    ck_assert_uint_eq(p.nover, 1);
    memset(&v, 0, sizeof v);
    v.cls = BG_CLASS_SOFT;
    strcpy(v.reason, "mailboxfull");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_NONE);
    strcpy(v.reason, "suspend");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_COUNT);
    v.cls = BG_CLASS_BLOCK;
    strcpy(v.reason, "blocked");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_COUNT);
    v.cls = BG_CLASS_HARD;
    strcpy(v.reason, "userunknown");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_NONE);

    ck_assert_int_eq(bg_policy_set(&p, "hard=destroy", &why), -1);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(bg_policy_set(&p, "nosuchthing=count", &why), -1);
    ck_assert_int_eq(bg_policy_set(&p, "hard", &why), -1);
    ck_assert_int_eq(bg_policy_set(&p, "=count", &why), -1);
    ck_assert_int_eq(bg_policy_set(&p, NULL, &why), -1);
    /* the override table is bounded */
    static const char *const reasons[] = { "userunknown", "hostunknown", "hasmoved",
        "notaccept", "systemfull", "suspend", "filtered", "rejected", "blocked" };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "%s=count", reasons[i]);
        ck_assert_int_eq(bg_policy_set(&p, spec, &why), 0);
    }
    ck_assert_uint_le(p.nover, 64);
}
END_TEST

/* Hostile input: long, binary, no NULs past the bound. */
START_TEST(hostile_facts)
{
    static char big[20000];
    memset(big, 'A', sizeof big - 1);
    memcpy(big + 15000, "mailbox full", 12);   /* past the scan bound */
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.diag = big;
    f.status = "5.5.5.5.5.5.5.5.5.5.5.5.5";
    f.reply_code = "99999999";
    f.remote_mta = "**********************************?";
    f.command = "\xff\xfe";
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_str_ne(v.reason, "mailboxfull");
    ck_assert(strlen(v.rule) > 0);
}
END_TEST

/* Classify diag (status, code, cmd as given) with the rules in text,
 * layered before the defaults; returns the deciding rule's id. */
static const char *classify_with(const char *rules, const char *status,
                                 const char *code, const char *cmd,
                                 const char *diag, char *out, size_t outsz)
{
    const char *p = write_tmp(rules);
    char err[256] = "";
    struct bg_rules *r = bg_rules_load(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.action = BG_ACTION_FAILED;
    f.status = status;
    f.reply_code = code;
    f.command = cmd;
    f.diag = diag;
    bg_classify(r, &f, &v);
    bg_rules_free(r);
    remove(p);
    snprintf(out, outsz, "%s", v.rule);
    return out;
}

/* The diagnostic text is looked at normalized and bounded: 4096 input
 * bytes, at most 4095 normalized ones. Patterns right at the bound. */
START_TEST(text_bound)
{
    static char d[5000];
    char got[64];
    const char *rules = "end-zq  block blocked text=\"zq\"\n"
                        "end-z   block rejected text=\"az\"\n";
    /* 4096 bytes, no blank: the last byte is cut by the output bound */
    memset(d, 'a', 4094);
    memcpy(d + 4094, "zq", 3);
    ck_assert_str_eq(classify_with(rules, "", "", NULL, d, got, sizeof got), "end-z");
    /* 4095 bytes: all of it */
    memset(d, 'a', 4093);
    memcpy(d + 4093, "zq", 3);
    ck_assert_str_eq(classify_with(rules, "", "", NULL, d, got, sizeof got), "end-zq");
    /* 4096 bytes with a blank run: normalized shorter, the last byte counts */
    memset(d, 'a', 4092);
    memcpy(d + 4092, "  zq", 5);
    ck_assert_str_eq(classify_with(rules, "", "", NULL, d, got, sizeof got), "end-zq");
    /* a single blank costs nothing: 4096 bytes, last byte cut again */
    memset(d, 'a', 4093);
    memcpy(d + 4093, " zq", 4);
    ck_assert_str_ne(classify_with(rules, "", "", NULL, d, got, sizeof got), "end-zq");
    /* beyond 4096 input bytes nothing is seen */
    memset(d, 'a', 4096);
    memcpy(d + 4096, "zq", 3);
    ck_assert_str_ne(classify_with(rules, "", "", NULL, d, got, sizeof got), "end-zq");
    /* blanks: leading/trailing ignored, runs are one space, any case */
    ck_assert_str_eq(classify_with("sp block blocked text=\"x y\"\n", "", "", NULL,
                                   " \t X \r\n\v\f Y ", got, sizeof got), "sp");
    ck_assert_str_ne(classify_with("sp block blocked text=\"x y\"\n", "", "", NULL,
                                   "xy", got, sizeof got), "sp");
}
END_TEST

/* Long patterns, overlapping ones, matches found only through fail links;
 * notext= beats text= of the same rule. */
START_TEST(text_overlap)
{
    char got[64];
    const char *rules =
        "deep    block blocked text=\"abcabcabcabcabcabd\"\n"
        "suffix  block rejected text=\"cabcabx|bcq\"\n"
        "neg     block spamdetected text=\"needle\" notext=\"needles\"\n"
        "dup     block virusdetected text=\"virus|virus|irus|us found\"\n";
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "xx abcabcabcabcabcabcabd yy", got, sizeof got), "deep");
    ck_assert_str_ne(classify_with(rules, "", "", NULL,
        "abcabcabcabcabcabcab", got, sizeof got), "deep");
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "abcabcabcabcabcabx", got, sizeof got), "suffix");
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "abcabcabcabcabcabcq", got, sizeof got), "suffix");
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "a needle here", got, sizeof got), "neg");
    ck_assert_str_ne(classify_with(rules, "", "", NULL,
        "needles here", got, sizeof got), "neg");
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "VIRUS FOUND", got, sizeof got), "dup");
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "xirus", got, sizeof got), "dup");
}
END_TEST

/* Patterns longer than the automaton's anchor are completed by comparing
 * their tail with the text: a tail that differs, is cut short by the end
 * of the text, or ends exactly there; more reporting states than the pass
 * notes (the second walk); a text over the scan bound. */
START_TEST(text_anchor)
{
    static char d[5000];
    char got[64];
    const char *rules =
        "full    soft mailboxfull text=\"mailbox is full\"\n"
        "eight   block blocked text=\"abcdefgh\"\n"
        "nine    block rejected text=\"bcdefghij\"\n"
        "seven   block spamdetected text=\"zyxwvut\"\n";
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "MAILBOX \t IS   FULL!", got,
                                   sizeof got), "full");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "mailbox is full", got,
                                   sizeof got), "full");
    ck_assert_str_ne(classify_with(rules, "", "", NULL, "mailbox is ful", got,
                                   sizeof got), "full");
    ck_assert_str_ne(classify_with(rules, "", "", NULL, "mailbox is fall", got,
                                   sizeof got), "full");
    ck_assert_str_ne(classify_with(rules, "", "", NULL, "mailbox", got, sizeof got),
                     "full");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "xabcdefghy", got, sizeof got),
                     "eight");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "xbcdefghij", got, sizeof got),
                     "nine");
    ck_assert_str_ne(classify_with(rules, "", "", NULL, "xbcdefghi", got, sizeof got),
                     "nine");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "zyxwvut", got, sizeof got),
                     "seven");
    /* 300 anchors before the match: more than the pass notes */
    size_t o = 0;
    for (int i = 0; i < 300; i++) {
        memcpy(d + o, "mailbox ", 8);
        o += 8;
    }
    memcpy(d + o, "is full", 8);
    ck_assert_str_eq(classify_with(rules, "", "", NULL, d, got, sizeof got), "full");
    memcpy(d + o, "is fu", 6);
    ck_assert_str_ne(classify_with(rules, "", "", NULL, d, got, sizeof got), "full");
    /* 4096 input bytes (normalized shorter): the bounded path */
    memset(d, 'a', 4000);
    memset(d + 4000, ' ', 81);
    memcpy(d + 4081, "mailbox is full", 16);
    ck_assert_uint_eq(strlen(d), 4096);
    ck_assert_str_eq(classify_with(rules, "", "", NULL, d, got, sizeof got), "full");
    d[4095] = 'x';
    ck_assert_str_ne(classify_with(rules, "", "", NULL, d, got, sizeof got), "full");
}
END_TEST

/* status=/code=/cmd= items: exact, prefix, "*", "-", values truncated as
 * held (status 15 bytes, reply code 3), items longer than any value. */
START_TEST(list_items)
{
    char got[64];
    const char *rules =
        "long-ex  block blocked     status=5.1.100000000000000\n"
        "long-pre block rejected    status=5.1.10000000000000*\n"
        "ex15     block spamdetected status=5.1.10000000000\n"
        "code3    block securityerror code=550\n"
        "code4    block authfailure code=5501\n"
        "any      block requireptr  status=-,* code=4*,- cmd=rcpt\n";
    ck_assert_str_eq(classify_with(rules, "5.1.10000000000000000", "", NULL, "",
                                   got, sizeof got), "ex15");
    ck_assert_str_eq(classify_with(rules, "", "5501", NULL, "",
                                   got, sizeof got), "code3");
    ck_assert_str_eq(classify_with(rules, "4.0.0", "", "Rcpt", "",
                                   got, sizeof got), "any");
    ck_assert_str_eq(classify_with(rules, "", "421", "RCPT", "",
                                   got, sizeof got), "any");
    ck_assert_str_ne(classify_with(rules, "", "521", "RCPT", "",
                                   got, sizeof got), "any");
    ck_assert_str_ne(classify_with(rules, "", "", "RCPTX", "",
                                   got, sizeof got), "any");
    ck_assert_str_ne(classify_with(rules, "", "", "RCP", "",
                                   got, sizeof got), "any");
}
END_TEST

/* The command from the text ("RCPT TO", "after DATA") when the report has
 * none, for the site rules and the defaults after them; a named command
 * wins over the text; RCPT over DATA. */
START_TEST(cmd_from_text)
{
    char got[64];
    const char *rules =
        "site-rcpt block blocked   cmd=RCPT text=\"zork\"\n"
        "site-data block rejected  cmd=DATA text=\"zork\"\n"
        "site-none block norelaying cmd=- text=\"zork\"\n";
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "550 zork at RCPT  TO",
                                   got, sizeof got), "site-rcpt");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "zork after data command",
                                   got, sizeof got), "site-data");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "zork end of data, smtp:rcpt",
                                   got, sizeof got), "site-rcpt");
    ck_assert_str_eq(classify_with(rules, "", "", "DATA", "zork rcpt_to",
                                   got, sizeof got), "site-data");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "zork rcpt",
                                   got, sizeof got), "site-none");
    /* decided once, before the defaults: their cmd=RCPT rules see it */
    const char *none = "unrelated block blocked text=\"qqqq\"\n";
    char a[64], b[64];
    classify_with(none, "", "", NULL, "550 RCPT TO:<a@b> user unknown", a, sizeof a);
    classify_with(none, "", "", "RCPT", "550 <a@b> user unknown", b, sizeof b);
    ck_assert_str_eq(a, b);
}
END_TEST

/* The facts handed to the classifier come from the parsed report: one
 * recipient's fields, or (no recipient) only the report's kind. */
START_TEST(facts_from_dsn)
{
    static struct bg_dsn d;
    struct bg_facts f;
    memset(&d, 0, sizeof d);
    d.kind = BG_REPORT_ARF;
    snprintf(d.feedback_type, sizeof d.feedback_type, "abuse");
    d.nrcpt = 1;
    d.r[0].action = BG_ACTION_FAILED;
    snprintf(d.r[0].status, sizeof d.r[0].status, "5.1.1");
    snprintf(d.r[0].diag, sizeof d.r[0].diag, "user unknown");
    bg_facts_from_dsn(&d, &d.r[0], &f);
    ck_assert_int_eq(f.action, BG_ACTION_FAILED);
    ck_assert_str_eq(f.status, "5.1.1");
    ck_assert_str_eq(f.diag, "user unknown");
    ck_assert_int_eq(f.is_feedback, 1);
    ck_assert_int_eq(f.is_autoreply, 0);
    ck_assert_str_eq(f.feedback_type, "abuse");
    d.kind = BG_REPORT_AUTOREPLY;
    bg_facts_from_dsn(&d, NULL, &f);
    ck_assert_ptr_null(f.status);
    ck_assert_ptr_null(f.diag);
    ck_assert_int_eq(f.is_feedback, 0);
    ck_assert_int_eq(f.is_autoreply, 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("classify");
    TCase *t = tcase_create("rules");
    tcase_add_loop_test(t, table, 0, (int)(sizeof rows / sizeof rows[0]));
    tcase_add_test(t, reports);
    tcase_add_test(t, status_from_text);
    tcase_add_test(t, embedded_equals_conf);
    tcase_add_test(t, site_override);
    tcase_add_loop_test(t, bad_rules, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(t, load_errors_name_file);
    tcase_add_test(t, load_not_regular);
    tcase_add_test(t, hostile_facts);
    tcase_add_test(t, text_bound);
    tcase_add_test(t, text_overlap);
    tcase_add_test(t, text_anchor);
    tcase_add_test(t, list_items);
    tcase_add_test(t, cmd_from_text);
    tcase_add_test(t, facts_from_dsn);
    suite_add_tcase(s, t);
    TCase *p = tcase_create("policy");
    tcase_add_test(p, policy_defaults);
    tcase_add_test(p, policy_overrides);
    suite_add_tcase(s, p);
    return s;
}

BG_UNIT_MAIN(make_suite)
