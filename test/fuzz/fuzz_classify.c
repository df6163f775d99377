/* fuzz_classify.c - libFuzzer target: the rules-file parser and
 * bg_classify with fuzzed facts.
 *
 * Input layout: the first byte selects the mode.
 *   mode even: the rest is a rules text; if it parses, classify a few
 *              fixed facts through it (site rules layered on defaults are
 *              exercised via bg_classify over the parsed set).
 *   mode odd:  the rest is split at NUL bytes into status, code, diag,
 *              mta, command; classify with the default rules.
 * Either way the text scan is checked against a naive search
 * (bg_classify_hits) on the input itself, NULs and all (a rules text
 * holds its own patterns), and on the diagnostic texts: abort on any
 * difference.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "classify_internal.h"

/* RULES_MAX_RULES (4096) rules: two bitmaps and the needle word */
#define HIT_WORDS (2 * 64 + 1)

static void check_hits(const struct bg_rules *r, const char *d, size_t len)
{
    static uint64_t fast[HIT_WORDS], ref[HIT_WORDS];
    int nw = bg_classify_hits(r, d, len, fast, ref, HIT_WORDS);
    if (nw < 0 || memcmp(fast, ref, (size_t)nw * sizeof fast[0]) != 0)
        abort();
}

static void classify_fixed(const struct bg_rules *r)
{
    static const char *const diags[] = {
        "550 5.1.1 user unknown", "552 5.2.2 mailbox full", "", "421 try later",
    };
    for (size_t i = 0; i < sizeof diags / sizeof diags[0]; i++) {
        struct bg_facts f;
        struct bg_verdict v;
        memset(&f, 0, sizeof f);
        f.action = (enum bg_dsn_action)(i % 6);
        f.diag = diags[i];
        f.remote_mta = "mx.example.com";
        bg_classify(r, &f, &v);
        if (v.reason[0] == '\0' || v.rule[0] == '\0')
            abort();
        check_hits(r, diags[i], strlen(diags[i]));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    if ((mode & 1) == 0) {
        struct bg_rules *r = NULL;
        char err[256];
        if (bg_rules_parse_text("fuzz", (const char *)data, size, &r, err,
                                sizeof err) == 0) {
            classify_fixed(r);
            check_hits(r, (const char *)data, size);
            bg_rules_free(r);
        } else if (err[0] == '\0') {
            abort();   /* failures must explain themselves */
        }
        return 0;
    }
    /* five NUL-separated fields, each a fresh NUL-terminated copy */
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *field[5] = { "", "", "", "", "" };
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= size && k < 5; i++)
        if (i == size || copy[i] == '\0') {
            field[k++] = copy + start;
            start = i + 1;
        }
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.action = (enum bg_dsn_action)((mode >> 1) % 7);
    f.is_feedback = (mode >> 4) & 1;
    f.is_autoreply = (mode >> 5) & 1;
    f.status = field[0];
    f.reply_code = field[1];
    f.diag = field[2];
    f.remote_mta = field[3];
    f.command = field[4];
    bg_classify(bg_rules_default(), &f, &v);
    if (v.reason[0] == '\0' || v.rule[0] == '\0' ||
        memchr(v.reason, '\0', sizeof v.reason) == NULL)
        abort();
    check_hits(bg_rules_default(), f.diag, strlen(f.diag));
    check_hits(bg_rules_default(), (const char *)data, size);
    free(copy);
    return 0;
}
