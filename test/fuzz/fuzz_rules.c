/* fuzz_rules.c - libFuzzer target for the rules-file parser
 * (bg_rules_parse_text): the input is a rules text.
 *
 * When it parses, a few fixed facts are classified through it (every
 * verdict names a reason and a rule) and the text scan is checked against
 * a naive search (bg_classify_hits) on those diagnostics and on the input
 * itself, NULs and all (a rules text holds its own patterns): abort on any
 * difference. When it does not parse, the error must say why.
 * (fuzz_classify fuzzes the facts against rule sets built once.) */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "classify_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        "550 5.1.1 user unknown", "552 5.2.2 mailbox full", "",
        "421 4.7.0 try later", "550 5.7.1 blocked using zen.spamhaus.org",
    };
    static const char *const cmds[] = { "RCPT", "DATA", NULL, "MAIL", "RCPT" };
    for (size_t i = 0; i < sizeof diags / sizeof diags[0]; i++) {
        struct bg_facts f;
        struct bg_verdict v;
        memset(&f, 0, sizeof f);
        f.action = (enum bg_dsn_action)(i % 6);
        f.diag = diags[i];
        f.command = cmds[i];
        f.remote_mta = "mx.example.com";
        f.is_feedback = i == 4;
        bg_classify(r, &f, &v);
        if (v.reason[0] == '\0' || v.rule[0] == '\0' ||
            memchr(v.reason, '\0', sizeof v.reason) == NULL ||
            memchr(v.rule, '\0', sizeof v.rule) == NULL)
            abort();
        check_hits(r, diags[i], strlen(diags[i]));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bg_rules *r = NULL;
    char err[256];
    err[0] = '\0';
    if (bg_rules_parse_text("fuzz", (const char *)data, size, &r, err, sizeof err) == 0) {
        if (r == NULL)
            abort();
        classify_fixed(r);
        check_hits(r, (const char *)data, size);
        bg_rules_free(r);
    } else if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL) {
        abort();   /* failures must explain themselves */
    }
    return 0;
}
