/* test_classify_scan.c - the rules' automaton (lib/classify_scan.c)
 * against a naive search of every pattern in the normalized text
 * (bg_classify_hits), patterns at every offset of texts of every length,
 * random noise, and rule sets large enough for every table layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "classify.h"
#include "classify_internal.h"
#include "classify_rows.h"

/* Rule sets of every automaton layout (see bg_rules_layout): the
 * defaults, and generated site rules of nrand random patterns over a
 * 32-byte alphabet, up to large enough for sparse deep states. Every pattern (some longer than the anchor, so
 * completed by a tail compare) is found in a text as its own rule's,
 * and a pattern with its last byte changed is not. */
struct layout_case { size_t nrand; enum bg_rules_layout want; };
static const struct layout_case layout_cases[] = {
    { 0, BG_LAYOUT_DENSE },
    { 300, BG_LAYOUT_DENSE },
    { 1200, BG_LAYOUT_DENSE },
    { 6000, BG_LAYOUT_SPARSE },
};

#define LAYOUT_RULES 16

static unsigned long layout_rand(unsigned long *x)
{
    *x = *x * 6364136223846793005UL + 1442695040888963407UL;
    return (*x >> 33) & 0x7fffffffUL;
}

/* Pattern i of the generated set: 8 to 13 bytes from "a-z0-5". */
static void layout_pat(size_t i, char *out, size_t *len)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz012345";
    unsigned long x = 0x9e3779b97f4a7c15UL ^ (unsigned long)i;
    layout_rand(&x);
    size_t n = 8 + (i % 3 == 0 ? i % 6 : 0);
    for (size_t k = 0; k < n; k++)
        out[k] = alpha[layout_rand(&x) % 32];
    out[n] = '\0';
    *len = n;
}

static void hits_equal(const struct bg_rules *rs, const char *d, size_t len);

START_TEST(layouts)
{
    const struct layout_case *lc_ = &layout_cases[_i];
    if (lc_->nrand == 0) {
        ck_assert_int_eq(bg_rules_layout(bg_rules_default()), lc_->want);
        return;
    }
    size_t cap = lc_->nrand * 16 + LAYOUT_RULES * 64 + 1;
    char *txt = malloc(cap);
    ck_assert_ptr_nonnull(txt);
    size_t o = 0, per = (lc_->nrand + LAYOUT_RULES - 1) / LAYOUT_RULES;
    for (size_t r = 0; r < LAYOUT_RULES; r++) {
        o += (size_t)snprintf(txt + o, cap - o, "gen-%zu block blocked text=\"", r);
        for (size_t i = r * per; i < (r + 1) * per && i < lc_->nrand; i++) {
            char pat[16];
            size_t n;
            layout_pat(i, pat, &n);
            o += (size_t)snprintf(txt + o, cap - o, "%s%s", i > r * per ? "|" : "", pat);
        }
        o += (size_t)snprintf(txt + o, cap - o, "\"\n");
        ck_assert_uint_lt(o, cap);
    }
    struct bg_rules *rs = NULL;
    char err[256] = "";
    ck_assert_msg(bg_rules_parse_text("gen", txt, o, &rs, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(bg_rules_layout(rs), lc_->want);
    for (size_t i = 0; i < lc_->nrand; i++) {
        char pat[16], diag[64], want[32];
        size_t n;
        struct bg_facts f;
        struct bg_verdict v;
        layout_pat(i, pat, &n);
        snprintf(want, sizeof want, "gen-%zu", i / per);
        memset(&f, 0, sizeof f);
        f.action = BG_ACTION_FAILED;
        f.diag = diag;
        snprintf(diag, sizeof diag, "550 x%sy", pat);
        hits_equal(rs, diag, strlen(diag));
        bg_classify(rs, &f, &v);
        ck_assert_str_eq(v.rule, want);
        pat[n - 1] = pat[n - 1] == '6' ? '7' : '6';   /* not in the alphabet */
        snprintf(diag, sizeof diag, "550 %s", pat);
        bg_classify(rs, &f, &v);
        ck_assert_str_ne(v.rule, want);
    }
    bg_rules_free(rs);
    free(txt);
}
END_TEST

/* The differential check (bg_classify_hits): the automaton's hits equal
 * those of a naive search of every pattern in the normalized text. Texts
 * of every length up to DIFF_PLACE_MAX get a pattern at every offset, so
 * that patterns (some longer than the anchor, AC_ANCHOR = 8 bytes, and
 * completed by a tail compare) sit at the start, the end and everywhere
 * between. */
static const char diff_rules[] =
    "d-short block blocked text=\"ab|b a|abc|c\"\n"
    "d-long  block rejected text=\"abcabcab ca|ba ba bab ab|a b c a b c a\"\n"
    "d-nine  block spamdetected text=\"cabbacabb\" notext=\"cc b\"\n"
    "d-tail  block virusdetected text=\"rcpt to a|end of dat\"\n";
static const char *const diff_pats[] = {
    "abcabcab ca", "a b c a b c a", "cabbacabb", "end of data", "ab",
};
#define DIFF_PLACE_MAX 160
#define DIFF_WORDS 256      /* >= 2 * (rules + 63) / 64 + 1 */

static struct bg_rules *diff_parse(void)
{
    struct bg_rules *rs = NULL;
    char err[256] = "";
    ck_assert_msg(bg_rules_parse_text("diff", diff_rules, sizeof diff_rules - 1, &rs,
                                      err, sizeof err) == 0, "%s", err);
    return rs;
}

static void hits_equal(const struct bg_rules *rs, const char *d, size_t len)
{
    uint64_t fast[DIFF_WORDS], ref[DIFF_WORDS];
    int nw = bg_classify_hits(rs, d, len, fast, ref, DIFF_WORDS);
    ck_assert_int_gt(nw, 0);
    ck_assert_msg(memcmp(fast, ref, (size_t)nw * sizeof fast[0]) == 0,
                  "hits differ, %zu bytes: \"%.*s\"", len,
                  (int)(len < 200 ? len : 200), d);
}

/* len bytes from "abcABC " that normalize to themselves lower-cased: no
 * blank at either end, never two in a row. */
static void diff_fill(char *d, size_t len, unsigned long *x)
{
    static const char alpha[] = "abcaAbBcC ";
    for (size_t i = 0; i < len; i++) {
        d[i] = alpha[layout_rand(x) % 10];
        if (d[i] == ' ' && (i == 0 || i + 1 == len || d[i - 1] == ' '))
            d[i] = 'b';
    }
    d[len] = '\0';
}

START_TEST(diff_place)
{
    struct bg_rules *rs = diff_parse();
    char d[DIFF_PLACE_MAX + 1];
    unsigned long x = 7;
    for (size_t len = 0; len <= DIFF_PLACE_MAX; len++) {
        diff_fill(d, len, &x);
        hits_equal(rs, d, len);
        for (size_t k = 0; k < sizeof diff_pats / sizeof diff_pats[0]; k++) {
            size_t m = strlen(diff_pats[k]);
            for (size_t o = 0; o + m <= len; o++) {
                diff_fill(d, len, &x);
                memcpy(d + o, diff_pats[k], m);
                hits_equal(rs, d, len);
            }
        }
    }
    bg_rules_free(rs);
}
END_TEST

/* Raw texts: blank runs (at the ends too), upper case, bytes >= 0x80,
 * NULs (the text ends there), of lengths up to 320 and at the 4096-byte
 * bound, with the test rules and the defaults; then the defaults over
 * the table's texts run together, cut at many lengths and places. */
START_TEST(diff_noise)
{
    static const char alpha[] = "abcABC \t\r\n\v\f\x80\xe9" "bab cab" "rcpt to end of data";
    static char d[4200];
    struct bg_rules *rs = diff_parse();
    const struct bg_rules *def = bg_rules_default();
    unsigned long x = 11;
    static const size_t big[] = { 1000, 2047, 4090, 4094, 4095, 4096, 4097, 4100 };
    for (size_t li = 0; li <= 320 + sizeof big / sizeof big[0]; li++) {
        size_t len = li <= 320 ? li : big[li - 321];
        for (int rep = 0; rep < 3; rep++) {
            for (size_t i = 0; i < len; i++)
                d[i] = alpha[layout_rand(&x) % (sizeof alpha - 1)];
            if (rep == 2 && len > 0)
                d[layout_rand(&x) % len] = '\0';
            hits_equal(rs, d, len);
            hits_equal(def, d, len);
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0] && n < 3000; i++)
        if (rows[i].text && rows[i].text[0])
            n += (size_t)snprintf(d + n, sizeof d - n, "%s\n", rows[i].text);
    for (size_t start = 0; start < 600; start += 149)
        for (size_t len = 0; len <= 400 && start + len <= n; len += 3)
            hits_equal(def, d + start, len);
    bg_rules_free(rs);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("classify_scan");
    TCase *t = tcase_create("automaton");
    tcase_add_test(t, diff_place);
    tcase_add_test(t, diff_noise);
    tcase_add_loop_test(t, layouts, 0,
                        (int)(sizeof layout_cases / sizeof layout_cases[0]));
    suite_add_tcase(s, t);
    return s;
}

BG_UNIT_MAIN(make_suite)
