/* fuzz_classify.c - libFuzzer target: bg_classify with fuzzed facts
 * against rule sets built once, at start-up (the rules-file parser has
 * its own target, fuzz_rules).
 *
 * The rule sets (LLVMFuzzerInitialize):
 *   0  the defaults (conf/rules.conf compiled in)
 *   1  SITE_RULES below alone (every condition key, patterns built to
 *      straddle the scan's part boundaries)
 *   2  the same text loaded as a site rules file (bg_rules_load), so
 *      layered before the defaults
 *   3  a generated set of 1200 text patterns (32-bit dense automaton)
 *   4  a generated set of 6000 text patterns (32-bit, sparse deep states)
 * Input layout: the first byte selects
 *   bits 0-2  the rule set (5, 6, 7: the defaults)
 *   bits 3-5  the DSN action (value % 6)
 *   bit 6     is_feedback        bit 7  is_autoreply
 * and the rest is split at NUL bytes into status, reply code, diagnostic,
 * remote MTA, command and feedback type.
 * Checks (abort on failure):
 *   - the verdict has a valid class and a NUL-terminated non-empty reason
 *     and rule; the default policy gives it a valid action;
 *   - the text scan equals a naive search (bg_classify_hits) on the
 *     diagnostic and on the whole input, under the chosen set;
 *   - for sets 1 and 2, layering: the layered set decides as the site set
 *     alone when that matched, else as the defaults. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "classify_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RULES_MAX_RULES (4096) rules: two bitmaps and the needle word */
#define HIT_WORDS (2 * 64 + 1)
#define NSETS 5

static const char SITE_RULES[] =
    "# site rules for fuzz_classify\n"
    "all-keys  hard  userunknown  status=5.1.*,- code=55* text=\"a|b\\|c|\\\"q\\\"\""
    " notext=\"x\" mta=*.example.? cmd=RCPT action=failed,delayed\n"
    "          report=bounce\n"
    "d-short   block  blocked       text=\"ab|b a|abc|c\"\n"
    "d-long    block  rejected      text=\"abcabcab ca|ba ba bab ab|a b c a b c a\"\n"
    "d-nine    block  spamdetected  text=\"cabbacabb\" notext=\"cc b\"\n"
    "d-tail    block  virusdetected text=\"rcpt to a|end of dat\"\n"
    "full      hard/soft  mailboxfull  text=\"mailbox full|over quota|quota exceeded\""
    " cmd=RCPT,DATA   # trailing comment\n"
    "fbl       complaint  feedback  report=feedback mta=fbl.*\n"
    "vac       none  vacation  report=autoreply action=delivered,relayed,expanded,unknown\n"
    "ms        block  blocked  mta=*.outlook.com,mx?.example.net status=5.7.*\n"
    "tmp       soft  undefined  status=4.* code=4*\n"
    "nostatus  undetermined  onhold  status=- code=- text=\"on hold\"\n";

static const struct bg_rules *sets[NSETS];
static struct bg_rules *owned[NSETS];
static struct bg_policy policy;

/* Pattern i of a generated set: 8 to 13 bytes of "a-z0-5" (as
 * test/unit/test_classify.c's layout test). */
static unsigned long gen_rand(unsigned long *x)
{
    *x = *x * 6364136223846793005UL + 1442695040888963407UL;
    return (*x >> 33) & 0x7fffffffUL;
}

static void gen_pat(size_t i, char *out)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz012345";
    unsigned long x = 0x9e3779b97f4a7c15UL ^ (unsigned long)i;
    gen_rand(&x);
    size_t n = 8 + (i % 3 == 0 ? i % 6 : 0);
    for (size_t k = 0; k < n; k++)
        out[k] = alpha[gen_rand(&x) % 32];
    out[n] = '\0';
}

static struct bg_rules *parse_or_die(const char *name, const char *txt, size_t len)
{
    struct bg_rules *r = NULL;
    char err[256] = "";
    if (bg_rules_parse_text(name, txt, len, &r, err, sizeof err) != 0 || r == NULL) {
        fprintf(stderr, "fuzz_classify: %s\n", err);
        abort();
    }
    return r;
}

/* 16 rules sharing npat generated patterns. */
static struct bg_rules *generated(size_t npat)
{
    size_t cap = npat * 16 + 16 * 64 + 1, o = 0, per = (npat + 15) / 16;
    char *txt = malloc(cap);
    if (txt == NULL)
        abort();
    for (size_t r = 0; r < 16; r++) {
        o += (size_t)snprintf(txt + o, cap - o, "gen-%zu %s %s text=\"", r,
                              r % 2 ? "block" : "hard/soft", r % 2 ? "blocked" : "userunknown");
        for (size_t i = r * per; i < (r + 1) * per && i < npat; i++) {
            char pat[16];
            gen_pat(i, pat);
            o += (size_t)snprintf(txt + o, cap - o, "%s%s", i > r * per ? "|" : "", pat);
        }
        o += (size_t)snprintf(txt + o, cap - o, "\"%s\n", r % 4 == 3 ? " cmd=DATA" : "");
        if (o >= cap)
            abort();
    }
    struct bg_rules *rs = parse_or_die("gen", txt, o);
    free(txt);
    return rs;
}

static struct bg_rules *load_site(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz_classify.XXXXXX",
             tmp && tmp[0] == '/' && strlen(tmp) < 400 ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, SITE_RULES, sizeof SITE_RULES - 1) != (ssize_t)(sizeof SITE_RULES - 1))
        abort();
    close(fd);
    char err[256] = "";
    struct bg_rules *r = bg_rules_load(path, err, sizeof err);
    unlink(path);
    if (r == NULL) {
        fprintf(stderr, "fuzz_classify: %s\n", err);
        abort();
    }
    return r;
}

static const char *layout_name(enum bg_rules_layout l)
{
    switch (l) {
    case BG_LAYOUT_DENSE: return "dense";
    case BG_LAYOUT_SPARSE: return "sparse";
    case BG_LAYOUT_NONE: break;
    }
    return "none";
}

static void free_sets(void)
{
    for (size_t i = 0; i < NSETS; i++)
        bg_rules_free(owned[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sets[0] = bg_rules_default();
    sets[1] = owned[1] = parse_or_die("site", SITE_RULES, sizeof SITE_RULES - 1);
    sets[2] = owned[2] = load_site();
    sets[3] = owned[3] = generated(1200);
    sets[4] = owned[4] = generated(6000);
    atexit(free_sets);
    bg_policy_default(&policy);
    fprintf(stderr, "fuzz_classify: rule sets:");
    for (size_t i = 0; i < NSETS; i++)
        fprintf(stderr, " %zu=%s", i, layout_name(bg_rules_layout(sets[i])));
    fprintf(stderr, "\n");
    return 0;
}

static void check_hits(const struct bg_rules *r, const char *d, size_t len)
{
    static uint64_t fast[HIT_WORDS], ref[HIT_WORDS];
    int nw = bg_classify_hits(r, d, len, fast, ref, HIT_WORDS);
    if (nw < 0 || memcmp(fast, ref, (size_t)nw * sizeof fast[0]) != 0)
        abort();
}

static void check_verdict(const struct bg_verdict *v)
{
    if (v->cls < BG_CLASS_NONE || v->cls > BG_CLASS_UNDETERMINED || v->cls == BG_CLASS_MANUAL)
        abort();
    if (v->reason[0] == '\0' || v->rule[0] == '\0' ||
        memchr(v->reason, '\0', sizeof v->reason) == NULL ||
        memchr(v->rule, '\0', sizeof v->rule) == NULL)
        abort();
    enum bg_policy_action a = bg_policy_decide(&policy, v);
    if (a != BG_POLICY_NONE && a != BG_POLICY_COUNT && a != BG_POLICY_SUPPRESS)
        abort();
    if (bg_policy_action_name(a) == NULL)
        abort();
}

static int same_verdict(const struct bg_verdict *a, const struct bg_verdict *b)
{
    return a->cls == b->cls && strcmp(a->reason, b->reason) == 0 &&
           strcmp(a->rule, b->rule) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    size_t which = (size_t)(mode & 7);
    if (which >= NSETS)
        which = 0;
    const struct bg_rules *r = sets[which];

    /* six NUL-separated fields, each a fresh NUL-terminated copy */
    char *copy = malloc(size + 1);
    if (!copy)
        abort();
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *field[6] = { "", "", "", "", "", "" };
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= size && k < 6; i++)
        if (i == size || copy[i] == '\0') {
            field[k++] = copy + start;
            start = i + 1;
        }
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.action = (enum bg_dsn_action)(((mode >> 3) & 7) % 6);
    f.is_feedback = (mode >> 6) & 1;
    f.is_autoreply = (mode >> 7) & 1;
    f.status = field[0];
    f.reply_code = field[1];
    f.diag = field[2];
    f.remote_mta = field[3];
    f.command = field[4];
    f.feedback_type = field[5];
    bg_classify(r, &f, &v);
    check_verdict(&v);
    check_hits(r, f.diag, strlen(f.diag));
    check_hits(r, (const char *)data, size);

    if (which == 1 || which == 2) {
        struct bg_verdict site, layered, dflt;
        bg_classify(sets[1], &f, &site);
        bg_classify(sets[2], &f, &layered);
        bg_classify(sets[0], &f, &dflt);
        check_verdict(&site);
        check_verdict(&dflt);
        if (!same_verdict(&layered, strcmp(site.rule, "no-match") == 0 ? &dflt : &site))
            abort();
    }
    free(copy);
    return 0;
}
