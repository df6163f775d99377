/* classify.c - rules engine: from delivery facts to class + reason.
 *
 * Rules are text (conf/rules.conf; the same text is compiled in as
 * bg_rules_default_text in lib/rules_default.c, and a unit test checks the
 * two are byte-identical). See conf/rules.conf for the format.
 *
 * Matching cost: every "text=" alternative of a rule set goes into one
 * Aho-Corasick automaton built at load time, so classifying one recipient
 * is a single linear pass over the (normalized, bounded) diagnostic text
 * plus a walk over the rule list with cheap checks. No regex, no
 * backtracking. Loaded rule sets are immutable and shared between threads.
 */
#include "rules_int.h"
#include "classify_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A status=/code= list (see struct citem): "*" (star) any non-empty
 * value, else one of its n items. v is the value as CODE_BUF zero-padded
 * bytes (vw, two words; vlen = strlen). An exact item matches when all 16
 * bytes are equal (both are zero-padded, neither holds a NUL inside), a
 * prefix when its first len bytes are (m masks the rest; a shorter v has
 * zeros where the item has digits or dots, and an empty v has a zero
 * where every item but "-" has a digit), "-" when v is empty. */
static int code_match(const struct citem *c, size_t n, int star,
                      const uint64_t *vw, size_t vlen)
{
    if (star && vlen)
        return 1;
    for (size_t i = 0; i < n; i++)
        if ((vw[0] & c[i].m[0]) == c[i].w[0] && (vw[1] & c[i].m[1]) == c[i].w[1])
            return 1;
    return 0;
}

/* Case-insensitive glob with '*' and '?'; one backtrack point, so
 * O(len(s) * len(p)) at worst, both bounded. */
static int glob_match(const char *p, const char *s)
{
    const char *star = NULL, *ss = NULL;
    while (*s) {
        if (*p == '?' || (*p && *p != '*' && lc((unsigned char)*p) == lc((unsigned char)*s))) {
            p++;
            s++;
        } else if (*p == '*') {
            star = p++;
            ss = s;
        } else if (star) {
            p = star + 1;
            s = ++ss;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static int mta_match(const struct strlist *l, const char *mta)
{
    if (l->n == 0)
        return 1;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].kind == IT_EMPTY) {
            if (*mta == '\0')
                return 1;
            continue;
        }
        if (*mta && glob_match(l->v[i].s, mta))
            return 1;
    }
    return 0;
}

/* Items are upper-cased at load time, cmd_up is the command upper-cased
 * (a-z only, like the items) once per call: equal length and bytes. */
static int cmd_match(const struct strlist *l, const char *cmd_up, size_t cmd_len)
{
    if (l->n == 0)
        return 1;
    for (size_t i = 0; i < l->n; i++) {
        const struct item *it = &l->v[i];
        if (it->kind == IT_EMPTY) {
            if (cmd_len == 0)
                return 1;
            continue;
        }
        if (it->len == cmd_len && memcmp(it->s, cmd_up, cmd_len) == 0)
            return 1;
    }
    return 0;
}

/* Normalized facts used by all rule sets. */
struct nfacts {
    char status[CODE_BUF];
    char code[CODE_BUF];        /* at most 3 bytes, as ever: copied with 4 */
    uint64_t status_w[2], code_w[2];  /* the same bytes, for code_match */
    char mta[256];
    char cmd[16];
    char cmd_up[16];            /* cmd upper-cased (a-z), cmd_len bytes */
    size_t cmd_len;
    size_t status_len, code_len;
    unsigned status_fc, code_fc;  /* FC_* of status and code */
    unsigned action_bit;
    unsigned report;
    int permanent;              /* 1 perm, 0 temp */
    const char *diag;           /* the diagnostic text, dlen bytes (no NUL */
    size_t dlen;                /* inside, at most TEXT_SCAN_MAX): every   */
                                /* scan normalizes it on the fly           */
};

static int isdig(int c) { return c >= '0' && c <= '9'; }

/* An enhanced status code "[245].d{1,3}.d{1,3}" as a word at s[i]? */
static int status_at(const char *s, size_t n, size_t i, char *out, size_t outsz)
{
    char c = s[i];
    if (c != '2' && c != '4' && c != '5')
        return -1;
    if (i > 0 && (isdig((unsigned char)s[i - 1]) || s[i - 1] == '.'))
        return -1;
    size_t j = i + 1;
    if (j >= n || s[j] != '.')
        return -1;
    j++;
    size_t d1 = 0;
    while (j < n && isdig((unsigned char)s[j]) && d1 < 4) {
        j++;
        d1++;
    }
    if (d1 == 0 || d1 > 3 || j >= n || s[j] != '.')
        return -1;
    j++;
    size_t d2 = 0;
    while (j < n && isdig((unsigned char)s[j]) && d2 < 4) {
        j++;
        d2++;
    }
    if (d2 == 0 || d2 > 3)
        return -1;
    if (j < n && (isdig((unsigned char)s[j]) ||
                  (s[j] == '.' && j + 1 < n && isdig((unsigned char)s[j + 1]))))
        return -1;
    size_t len = j - i;
    if (len >= outsz)
        return -1;
    memcpy(out, s + i, len);
    out[len] = '\0';
    return 0;
}

/* Find an enhanced status code "[245].d{1,3}.d{1,3}" as a word in s: the
 * first i < n - 4 where status_at() holds. Every such i has a '.' at
 * i + 1, so only the dots are visited (memchr), in order. */
static int find_status(const char *s, size_t n, char *out, size_t outsz)
{
    if (n < 5)
        return -1;
    const char *p = s + 1, *end = s + n - 3;   /* dots at [1, n - 3) */
    while (p < end) {
        const char *d = memchr(p, '.', (size_t)(end - p));
        if (!d)
            break;
        if (status_at(s, n, (size_t)(d - s) - 1, out, outsz) == 0)
            return 0;
        p = d + 1;
    }
    return -1;
}

/* A reply code at the start of the text (after blanks): "550 ", "550-". */
static int find_code(const char *s, size_t n, char *out)
{
    size_t i = 0;
    while (i < n && is_blank((unsigned char)s[i]))
        i++;
    if (i + 3 <= n && (s[i] == '2' || s[i] == '4' || s[i] == '5') &&
        isdig((unsigned char)s[i + 1]) && isdig((unsigned char)s[i + 2]) &&
        (i + 3 == n || s[i + 3] == ' ' || s[i + 3] == '-')) {
        memcpy(out, s + i, 3);
        out[3] = '\0';
        return 0;
    }
    return -1;
}

/* Short fixed needles in a bounded text: a plain scan is enough. */
static int has_sub(const unsigned char *t, size_t n, const void *needle, size_t m)
{
    const unsigned char *nd = needle;
    for (size_t i = 0; i + m <= n; i++)
        if (t[i] == nd[0] && memcmp(t + i, nd, m) == 0)
            return 1;
    return 0;
}

static size_t bounded_len(const char *s, size_t max)
{
    const char *z = memchr(s, '\0', max);
    return z ? (size_t)(z - s) : max;
}

/* The command, upper-cased for cmd_match (a-z only, as the items). */
static void cmd_finish(struct nfacts *n)
{
    size_t i = 0;
    for (; i < sizeof n->cmd && n->cmd[i]; i++) {
        unsigned char c = (unsigned char)n->cmd[i];
        n->cmd_up[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    n->cmd_len = i;
}

/* The command, when the report did not name it but the text does: from the
 * needle bits of the first scan, or (a set without compiled automaton,
 * only the empty fallback of default_init) by looking. RCPT before DATA. */
static void cmd_from_text(struct nfacts *n, const struct bg_rules *r,
                          const uint64_t *hits)
{
    int rcpt = 0, data = 0;
    if (r->ac.st) {
        rcpt = bitmap_get(hits, 2 * r->nword * 64);
        data = bitmap_get(hits, 2 * r->nword * 64 + 1);
    } else {
        unsigned char text[TEXT_SCAN_MAX];
        size_t tlen = normalize(n->diag, n->dlen, text, sizeof text);
        for (size_t k = 0; k < AC_N_NEEDLES; k++)
            if (has_sub(text, tlen, cmd_needles[k], strlen(cmd_needles[k])))
                *(k < AC_N_RCPT ? &rcpt : &data) = 1;
    }
    if (rcpt)
        copy_str(n->cmd, "RCPT", sizeof n->cmd);
    else if (data)
        copy_str(n->cmd, "DATA", sizeof n->cmd);
    cmd_finish(n);
}

/* The scan against the obvious: see classify_internal.h. */
int bg_classify_hits(const struct bg_rules *r, const char *diag, size_t len,
                     uint64_t *fast, uint64_t *ref, size_t nw)
{
    const struct ac *a = &r->ac;
    size_t W = r->nword;
    if (!a->st || nw < 2 * W + 1)
        return -1;
    if (len > TEXT_SCAN_MAX)
        len = TEXT_SCAN_MAX;
    memset(fast, 0, nw * sizeof *fast);
    memset(ref, 0, nw * sizeof *ref);
    ac_scan_text(a, diag, len, fast);
    unsigned char t[TEXT_SCAN_MAX];
    size_t n = normalize(diag, len, t, sizeof t);
    for (size_t i = 0; i < r->nrule; i++) {
        const struct rule *ru = &r->rule[i];
        for (uint32_t k = 0; k < ru->text_n; k++) {
            uint32_t p = ru->text_first + k;
            if (has_sub(t, n, a->pool + a->pat_off[p], a->pat_len[p]))
                bitmap_set(ref, i);
        }
        for (uint32_t k = 0; k < ru->notext_n; k++) {
            uint32_t p = ru->notext_first + k;
            if (has_sub(t, n, a->pool + a->pat_off[p], a->pat_len[p]))
                bitmap_set(ref, W * 64 + i);
        }
    }
    for (size_t k = 0; k < AC_N_NEEDLES; k++)
        if (has_sub(t, n, cmd_needles[k], strlen(cmd_needles[k])))
            bitmap_set(ref, 2 * W * 64 + (k < AC_N_RCPT ? 0 : 1));
    return (int)(2 * W + 1);
}

/* Everything but the command-from-text (done with the first scan, see
 * bg_classify). */
static void facts_normalize(const struct bg_facts *f, struct nfacts *n)
{
    memset(n, 0, sizeof *n);
    const char *diag = f->diag ? f->diag : "";
    size_t dlen = bounded_len(diag, TEXT_SCAN_MAX);
    n->diag = diag;
    n->dlen = dlen;

    if (f->status && *f->status)
        copy_str(n->status, f->status, sizeof n->status);
    else
        find_status(diag, dlen, n->status, sizeof n->status);
    /* lower-case nothing here: codes are digits; strip junk after code */
    if (f->reply_code && *f->reply_code)
        copy_str(n->code, f->reply_code, 4);
    else
        find_code(diag, dlen, n->code);
    n->status_len = strlen(n->status);
    n->code_len = strlen(n->code);
    memcpy(n->status_w, n->status, sizeof n->status_w);
    memcpy(n->code_w, n->code, sizeof n->code_w);
    n->status_fc = fc_of(n->status);
    n->code_fc = fc_of(n->code);
    if (f->remote_mta)
        copy_str(n->mta, f->remote_mta, sizeof n->mta);
    if (f->command)
        copy_str(n->cmd, f->command, sizeof n->cmd);
    unsigned a = (unsigned)f->action;
    n->action_bit = a < 6 ? 1u << a : 1u;
    n->report = f->is_feedback ? REP_FEEDBACK
              : f->is_autoreply ? REP_AUTOREPLY : REP_BOUNCE;

    if (n->status[0] == '4')
        n->permanent = 0;
    else if (n->status[0] == '5')
        n->permanent = 1;
    else if (n->code[0] == '4')
        n->permanent = 0;
    else if (n->code[0] == '5')
        n->permanent = 1;
    else
        n->permanent = f->action != BG_ACTION_DELAYED;
}

/* First rule of r (in file order) whose conditions all hold. Only rules
 * that can match are looked at: those without text= plus those whose
 * text= hit in this scan, narrowed by the first byte of status and code;
 * every condition is then checked in full, as before. */
static const struct rule *match_set(const struct bg_rules *r,
                                    const struct nfacts *n,
                                    const uint64_t *hits)
{
    size_t W = r->nword;
    if (r->nrule == 0 || !r->cand_static || !r->rm)
        return NULL;
    const uint64_t *fs = r->fc_status + n->status_fc * W;
    const uint64_t *fc = r->fc_code + n->code_fc * W;
    const uint64_t *nothits = hits + W;
    for (size_t w = 0; w < W; w++) {
        uint64_t c = (r->cand_static[w] | hits[w]) & fs[w] & fc[w];
        while (c) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(c);
            c &= c - 1;
            if (i >= r->nrule)
                return NULL;
            const struct rmatch *m = &r->rm[i];
            unsigned fl = m->flags;
            if (m->report && !(m->report & n->report))
                continue;
            if (m->actions && !(m->actions & n->action_bit))
                continue;
            if (!(fl & RM_STATUS_ANY) &&
                !code_match(r->citem + m->status_first, m->status_n,
                            fl & RM_STATUS_STAR, n->status_w, n->status_len))
                continue;
            if (!(fl & RM_CODE_ANY) &&
                !code_match(r->citem + m->code_first, m->code_n,
                            fl & RM_CODE_STAR, n->code_w, n->code_len))
                continue;
            if ((fl & RM_TEXT) && !bitmap_get(hits, i))
                continue;
            if ((fl & RM_NOTEXT) && bitmap_get(nothits, i))
                continue;
            const struct rule *ru = &r->rule[i];
            if ((fl & RM_CMD) && !cmd_match(&ru->cmd, n->cmd_up, n->cmd_len))
                continue;
            if ((fl & RM_MTA) && !mta_match(&ru->mta, n->mta))
                continue;
            return ru;
        }
    }
    return NULL;
}

void bg_facts_from_dsn(const struct bg_dsn *d, const struct bg_dsn_rcpt *r,
                       struct bg_facts *f)
{
    memset(f, 0, sizeof *f);
    if (r) {
        f->action = r->action;
        f->status = r->status;
        f->reply_code = r->reply_code;
        f->diag = r->diag;
        /* A DSN whose Status names what is wrong with the address or the
         * mailbox (X.1.x, X.2.x) and that has no Diagnostic-Code: words
         * around the recipient's mention that carry no code of their own
         * may be anything (an antivirus footer, a signature), and must not
         * outrank the report's own status. (A remote's reply quoted there,
         * "said: 550 5.1.1 ... blocked using ...", has one and stays.) */
        if (d->kind == BG_REPORT_DSN && r->diag_from_text &&
            (r->status[0] == '4' || r->status[0] == '5') && r->status[1] == '.' &&
            (r->status[2] == '1' || r->status[2] == '2') && r->status[3] == '.')
            f->diag = NULL;
        f->remote_mta = r->remote_mta;
        f->command = r->command;
    }
    f->is_feedback = d->kind == BG_REPORT_ARF;
    f->feedback_type = d->feedback_type;
    f->is_autoreply = d->kind == BG_REPORT_AUTOREPLY;
}

void bg_classify(const struct bg_rules *rules, const struct bg_facts *f,
                 struct bg_verdict *v)
{
    struct nfacts n;
    memset(v, 0, sizeof *v);
    v->delayed = f->action == BG_ACTION_DELAYED;
    facts_normalize(f, &n);
    int cmd_known = n.cmd[0] != '\0';
    if (cmd_known)
        cmd_finish(&n);
    for (const struct bg_rules *r = rules; r; r = r->next) {
        uint64_t hits[HIT_WORDS_MAX];
        size_t nw = 2 * r->nword + 1;
        if (nw > HIT_WORDS_MAX)
            continue;        /* cannot happen: nrule <= RULES_MAX_RULES */
        memset(hits, 0, nw * sizeof hits[0]);
        ac_scan_text(&r->ac, n.diag, n.dlen, hits);
        if (!cmd_known) {
            /* Every automaton carries the needles and sees the same text,
             * so the first set decides for all. */
            cmd_from_text(&n, r, hits);
            cmd_known = 1;
        }
        const struct rule *ru = match_set(r, &n, hits);
        if (ru) {
            v->cls = ru->hard_or_soft ? (n.permanent ? BG_CLASS_HARD : BG_CLASS_SOFT)
                                      : ru->cls;
            copy_str(v->reason, ru->reason, sizeof v->reason);
            copy_str(v->rule, ru->id, sizeof v->rule);
            return;
        }
    }
    v->cls = BG_CLASS_UNDETERMINED;
    copy_str(v->reason, "undefined", sizeof v->reason);
    copy_str(v->rule, "no-match", sizeof v->rule);
}

enum bg_rules_layout bg_rules_layout(const struct bg_rules *r)
{
    const struct ac *a = &r->ac;
    if (!a->st)
        return BG_LAYOUT_NONE;
    return a->ndense == a->nstate ? BG_LAYOUT_DENSE : BG_LAYOUT_SPARSE;
}
