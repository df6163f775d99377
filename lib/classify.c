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
#include "classify.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify_internal.h"

/* Bounds. */
#define RULES_MAX_FILE   (1024 * 1024)  /* bytes of a rules file */
#define RULES_MAX_LINE   16384          /* bytes of one logical rule */
#define RULES_MAX_RULES  4096
#define RULES_MAX_ALTS   16384          /* text alternatives per rule set */
#define RULES_MAX_PAT    256            /* bytes of one text alternative */
#define RULES_MAX_LIST   64             /* entries in status=/code=/mta=... */
#define RULES_MAX_TOKLEN 128            /* bytes of one status/code/mta item */
#define TEXT_SCAN_MAX    4096           /* bytes of diag looked at */

/* ---------------------------------------------------------------- */
/* Small helpers                                                     */

static int lc(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

static void copy_str(char *dst, const char *src, size_t dstsz)
{
    size_t n = strlen(src);
    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static const char *const reason_names[] = {
    "userunknown", "hostunknown", "hasmoved", "notaccept", "mailboxfull",
    "systemfull", "suspend", "filtered", "rejected", "blocked",
    "badreputation", "spamdetected", "virusdetected", "policyviolation",
    "securityerror", "authfailure", "requireptr", "notcompliantrfc",
    "contenterror", "mesgtoobig", "exceedlimit", "speeding", "toomanyconn",
    "norelaying", "networkerror", "expired", "systemerror", "mailererror",
    "syntaxerror", "failedstarttls", "suppressed", "onhold", "undefined",
    "delivered", "feedback", "vacation",
};

static int reason_valid(const char *s)
{
    for (size_t i = 0; i < sizeof reason_names / sizeof reason_names[0]; i++)
        if (strcmp(s, reason_names[i]) == 0)
            return 1;
    return 0;
}

static const struct { const char *name; enum bg_class cls; } class_names[] = {
    { "none", BG_CLASS_NONE }, { "hard", BG_CLASS_HARD },
    { "soft", BG_CLASS_SOFT }, { "block", BG_CLASS_BLOCK },
    { "complaint", BG_CLASS_COMPLAINT }, { "manual", BG_CLASS_MANUAL },
    { "undetermined", BG_CLASS_UNDETERMINED },
};

static int class_lookup(const char *s, enum bg_class *c)
{
    for (size_t i = 0; i < sizeof class_names / sizeof class_names[0]; i++)
        if (strcmp(s, class_names[i].name) == 0) {
            *c = class_names[i].cls;
            return 0;
        }
    return -1;
}

/* ---------------------------------------------------------------- */
/* Aho-Corasick over normalized bytes                                */

struct ac_edge { uint32_t to, next; unsigned char c; };

struct ac_node {
    uint32_t first_edge;     /* UINT32_MAX: none */
    uint32_t fail;
    uint32_t dict;           /* nearest node on the fail chain with output, or 0 */
    uint32_t out;            /* first pattern id ending here, UINT32_MAX none */
};

struct ac {
    struct ac_node *node;
    size_t nnode, capnode;
    struct ac_edge *edge;
    size_t nedge, capedge;
    uint32_t root_next[256]; /* dense transitions for the root */
    uint32_t *pat_next;      /* per pattern id: next id ending at same node */
    size_t npat, cappat;
};

#define AC_NONE UINT32_MAX

static int ac_init(struct ac *a)
{
    memset(a, 0, sizeof *a);
    a->capnode = 64;
    a->node = malloc(a->capnode * sizeof *a->node);
    if (!a->node)
        return -1;
    a->nnode = 1;
    a->node[0].first_edge = AC_NONE;
    a->node[0].fail = 0;
    a->node[0].dict = 0;
    a->node[0].out = AC_NONE;
    return 0;
}

static void ac_free(struct ac *a)
{
    free(a->node);
    free(a->edge);
    free(a->pat_next);
    memset(a, 0, sizeof *a);
}

static uint32_t ac_child(const struct ac *a, uint32_t s, unsigned char c)
{
    for (uint32_t e = a->node[s].first_edge; e != AC_NONE; e = a->edge[e].next)
        if (a->edge[e].c == c)
            return a->edge[e].to;
    return AC_NONE;
}

/* Add pattern p (already normalized, len>0) with id == a->npat. */
static int ac_add(struct ac *a, const unsigned char *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t t = ac_child(a, s, p[i]);
        if (t == AC_NONE) {
            if (a->nnode == a->capnode) {
                size_t nc = a->capnode * 2;
                struct ac_node *nn = realloc(a->node, nc * sizeof *nn);
                if (!nn)
                    return -1;
                a->node = nn;
                a->capnode = nc;
            }
            if (a->nedge == a->capedge) {
                size_t nc = a->capedge ? a->capedge * 2 : 64;
                struct ac_edge *ne = realloc(a->edge, nc * sizeof *ne);
                if (!ne)
                    return -1;
                a->edge = ne;
                a->capedge = nc;
            }
            t = (uint32_t)a->nnode++;
            a->node[t].first_edge = AC_NONE;
            a->node[t].fail = 0;
            a->node[t].dict = 0;
            a->node[t].out = AC_NONE;
            uint32_t e = (uint32_t)a->nedge++;
            a->edge[e].c = p[i];
            a->edge[e].to = t;
            a->edge[e].next = a->node[s].first_edge;
            a->node[s].first_edge = e;
        }
        s = t;
    }
    if (a->npat == a->cappat) {
        size_t nc = a->cappat ? a->cappat * 2 : 64;
        uint32_t *np = realloc(a->pat_next, nc * sizeof *np);
        if (!np)
            return -1;
        a->pat_next = np;
        a->cappat = nc;
    }
    a->pat_next[a->npat] = a->node[s].out;
    a->node[s].out = (uint32_t)a->npat;
    a->npat++;
    return 0;
}

/* Fail and dictionary links, BFS. */
static int ac_build(struct ac *a)
{
    uint32_t *queue = malloc(a->nnode * sizeof *queue);
    if (!queue)
        return -1;
    size_t qh = 0, qt = 0;
    for (int c = 0; c < 256; c++)
        a->root_next[c] = 0;
    for (uint32_t e = a->node[0].first_edge; e != AC_NONE; e = a->edge[e].next) {
        uint32_t t = a->edge[e].to;
        a->root_next[a->edge[e].c] = t;
        a->node[t].fail = 0;
        a->node[t].dict = 0;
        queue[qt++] = t;
    }
    while (qh < qt) {
        uint32_t s = queue[qh++];
        for (uint32_t e = a->node[s].first_edge; e != AC_NONE; e = a->edge[e].next) {
            uint32_t t = a->edge[e].to;
            unsigned char c = a->edge[e].c;
            uint32_t f = a->node[s].fail;
            uint32_t g;
            for (;;) {
                if (f == 0) {
                    g = a->root_next[c];
                    break;
                }
                g = ac_child(a, f, c);
                if (g != AC_NONE)
                    break;
                f = a->node[f].fail;
            }
            a->node[t].fail = g;
            a->node[t].dict = a->node[g].out != AC_NONE ? g : a->node[g].dict;
            queue[qt++] = t;
        }
    }
    free(queue);
    return 0;
}

static void bit_set(unsigned char *bits, uint32_t i)
{
    bits[i >> 3] |= (unsigned char)(1u << (i & 7));
}

static int bit_get(const unsigned char *bits, uint32_t i)
{
    return (bits[i >> 3] >> (i & 7)) & 1;
}

static void ac_scan(const struct ac *a, const unsigned char *t, size_t n,
                    unsigned char *bits)
{
    if (a->npat == 0)
        return;
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = t[i];
        for (;;) {
            if (s == 0) {
                s = a->root_next[c];
                break;
            }
            uint32_t g = ac_child(a, s, c);
            if (g != AC_NONE) {
                s = g;
                break;
            }
            s = a->node[s].fail;
        }
        for (uint32_t o = a->node[s].out != AC_NONE ? s : a->node[s].dict; o != 0;
             o = a->node[o].dict)
            for (uint32_t p = a->node[o].out; p != AC_NONE; p = a->pat_next[p])
                bit_set(bits, p);
    }
}

/* Lowercase ASCII, collapse whitespace runs to one space, trim. */
static size_t normalize(const char *in, size_t inlen, unsigned char *out,
                        size_t outsz)
{
    size_t o = 0;
    int pending_space = 0;
    for (size_t i = 0; i < inlen && in[i] != '\0'; i++) {
        unsigned char c = (unsigned char)in[i];
        if (is_blank(c)) {
            pending_space = o > 0;
            continue;
        }
        if (pending_space) {
            if (o + 1 >= outsz)
                break;
            out[o++] = ' ';
            pending_space = 0;
        }
        if (o + 1 >= outsz)
            break;
        out[o++] = (unsigned char)lc(c);
    }
    return o;
}

/* ---------------------------------------------------------------- */
/* Rules                                                             */

enum { REP_BOUNCE = 1, REP_FEEDBACK = 2, REP_AUTOREPLY = 4 };

struct strlist { size_t n; char **v; };

struct rule {
    char id[48];
    enum bg_class cls;
    int hard_or_soft;          /* class "hard/soft": by permanence */
    char reason[32];
    struct strlist status, code, mta, cmd;
    unsigned actions;          /* bitmask of 1<<enum bg_dsn_action; 0 = any */
    unsigned report;           /* REP_* mask; 0 = any */
    uint32_t text_first, text_n;     /* alternative ids */
    uint32_t notext_first, notext_n;
};

struct bg_rules {
    struct rule *rule;
    size_t nrule;
    struct ac ac;
    const struct bg_rules *next;     /* consulted when nothing here matches */
    int is_static;
};

static void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void rules_clear(struct bg_rules *r)
{
    for (size_t i = 0; i < r->nrule; i++) {
        strlist_free(&r->rule[i].status);
        strlist_free(&r->rule[i].code);
        strlist_free(&r->rule[i].mta);
        strlist_free(&r->rule[i].cmd);
    }
    free(r->rule);
    r->rule = NULL;
    r->nrule = 0;
    ac_free(&r->ac);
}

void bg_rules_free(struct bg_rules *r)
{
    if (!r || r->is_static)
        return;
    rules_clear(r);
    free(r);
}

/* Parser state for one rules text. */
struct pctx {
    const char *name;     /* file name for messages */
    unsigned line;        /* line the current rule starts on */
    char *err;
    size_t errsz;
};

static int perr(struct pctx *p, const char *fmt, const char *arg)
{
    if (p->err && p->errsz) {
        char a[80], msg[256];
        copy_str(a, arg ? arg : "", sizeof a);
        snprintf(msg, sizeof msg, fmt, a);
        snprintf(p->err, p->errsz, "%s:%u: %s", p->name, p->line, msg);
    }
    return -1;
}

/* Comma separated list of plain tokens. */
static int parse_list(struct pctx *p, const char *key, const char *val,
                      int upper, struct strlist *out)
{
    if (out->n)
        return perr(p, "duplicate condition %s=", key);
    const char *s = val;
    if (*s == '\0')
        return perr(p, "empty value for %s=", key);
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0)
            return perr(p, "empty item in %s= list", key);
        if (n > RULES_MAX_TOKLEN)
            return perr(p, "item too long in %s= list", key);
        if (out->n >= RULES_MAX_LIST)
            return perr(p, "too many items in %s= list", key);
        char *item = malloc(n + 1);
        if (!item)
            return perr(p, "out of memory", NULL);
        for (size_t i = 0; i < n; i++) {
            int c = (unsigned char)s[i];
            item[i] = (char)(upper ? (c >= 'a' && c <= 'z' ? c - 32 : c) : lc(c));
        }
        item[n] = '\0';
        char **nv = realloc(out->v, (out->n + 1) * sizeof *nv);
        if (!nv) {
            free(item);
            return perr(p, "out of memory", NULL);
        }
        out->v = nv;
        out->v[out->n++] = item;
        s = e ? e + 1 : s + n;
        if (e && *s == '\0')
            return perr(p, "trailing comma in %s= list", key);
    }
    return 0;
}

/* Status/code item sanity: digits and dots, optional trailing '*', or "-". */
static int check_codes(struct pctx *p, const char *key, const struct strlist *l,
                       int dots)
{
    for (size_t i = 0; i < l->n; i++) {
        const char *s = l->v[i];
        if (strcmp(s, "-") == 0 || strcmp(s, "*") == 0)
            continue;
        size_t n = strlen(s);
        for (size_t j = 0; j < n; j++) {
            char c = s[j];
            if (c >= '0' && c <= '9')
                continue;
            if (dots && c == '.')
                continue;
            if (c == '*' && j == n - 1)
                continue;
            return perr(p, "bad %s= item", key);
        }
    }
    return 0;
}

/* text="a|b|c": alternatives into the automaton. \" \\ \| escapes. */
static int parse_text(struct pctx *p, struct bg_rules *r, const char *val,
                      uint32_t *first, uint32_t *count)
{
    if (*count)
        return perr(p, "duplicate text condition", NULL);
    *first = (uint32_t)r->ac.npat;
    char raw[RULES_MAX_PAT + 1];
    size_t rn = 0;
    const char *s = val;
    for (;;) {
        int end = *s == '\0';
        if (end || *s == '|') {
            unsigned char norm[RULES_MAX_PAT + 1];
            size_t nn = normalize(raw, rn, norm, sizeof norm);
            if (nn == 0)
                return perr(p, "empty text alternative", NULL);
            if (r->ac.npat >= RULES_MAX_ALTS)
                return perr(p, "too many text alternatives", NULL);
            if (ac_add(&r->ac, norm, nn) < 0)
                return perr(p, "out of memory", NULL);
            (*count)++;
            rn = 0;
            if (end)
                break;
            s++;
            continue;
        }
        char c = *s++;
        if (c == '\\' && (*s == '|' || *s == '\\' || *s == '"'))
            c = *s++;
        if (rn >= RULES_MAX_PAT)
            return perr(p, "text alternative longer than 256 bytes", NULL);
        raw[rn++] = c;
    }
    return 0;
}

static const char *const action_names[] = {
    "unknown", "failed", "delayed", "delivered", "relayed", "expanded",
};

static int parse_actions(struct pctx *p, const char *val, unsigned *mask)
{
    struct strlist l = { 0, NULL };
    if (*mask)
        return perr(p, "duplicate condition action=", NULL);
    if (parse_list(p, "action", val, 0, &l) < 0) {
        strlist_free(&l);
        return -1;
    }
    for (size_t i = 0; i < l.n; i++) {
        size_t k;
        for (k = 0; k < sizeof action_names / sizeof action_names[0]; k++)
            if (strcmp(l.v[i], action_names[k]) == 0)
                break;
        if (k == sizeof action_names / sizeof action_names[0]) {
            int rc = perr(p, "unknown action '%s'", l.v[i]);
            strlist_free(&l);
            return rc;
        }
        *mask |= 1u << k;
    }
    strlist_free(&l);
    return 0;
}

static int parse_report(struct pctx *p, const char *val, unsigned *mask)
{
    struct strlist l = { 0, NULL };
    if (*mask)
        return perr(p, "duplicate condition report=", NULL);
    if (parse_list(p, "report", val, 0, &l) < 0) {
        strlist_free(&l);
        return -1;
    }
    for (size_t i = 0; i < l.n; i++) {
        if (strcmp(l.v[i], "bounce") == 0)
            *mask |= REP_BOUNCE;
        else if (strcmp(l.v[i], "feedback") == 0)
            *mask |= REP_FEEDBACK;
        else if (strcmp(l.v[i], "autoreply") == 0)
            *mask |= REP_AUTOREPLY;
        else {
            int rc = perr(p, "unknown report kind '%s'", l.v[i]);
            strlist_free(&l);
            return rc;
        }
    }
    strlist_free(&l);
    return 0;
}

static int id_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == ':';
}

/* Next whitespace-separated word of a logical line; a word may contain a
 * double-quoted part (key="a b"). Returns length, 0 at end, -1 on error. */
static long next_word(struct pctx *p, const char **sp, char *out, size_t outsz)
{
    const char *s = *sp;
    while (is_blank((unsigned char)*s))
        s++;
    size_t o = 0;
    int inq = 0;
    while (*s && (inq || !is_blank((unsigned char)*s))) {
        char c = *s++;
        if (inq && c == '\\' && *s) {
            /* keep escapes for parse_text, except \" which must not end */
            if (o + 2 >= outsz)
                return perr(p, "rule too long", NULL);
            out[o++] = c;
            out[o++] = *s++;
            continue;
        }
        if (c == '"') {
            inq = !inq;
            continue;
        }
        if (o + 1 >= outsz)
            return perr(p, "rule too long", NULL);
        out[o++] = c;
    }
    if (inq)
        return perr(p, "unterminated quote", NULL);
    out[o] = '\0';
    *sp = s;
    return (long)o;
}

/* One logical rule line (NUL-terminated, comments already removed). */
static int parse_rule(struct pctx *p, struct bg_rules *r, const char *line)
{
    static const char *const hs = "hard/soft";
    char word[RULES_MAX_LINE];
    const char *s = line;
    struct rule ru;
    memset(&ru, 0, sizeof ru);
    long n;

    if (r->nrule >= RULES_MAX_RULES)
        return perr(p, "too many rules", NULL);

    if ((n = next_word(p, &s, word, sizeof word)) <= 0)
        return n < 0 ? -1 : perr(p, "missing rule id", NULL);
    if ((size_t)n >= sizeof ru.id)
        return perr(p, "rule id longer than 47 bytes", NULL);
    for (long i = 0; i < n; i++)
        if (!id_char((unsigned char)word[i]))
            return perr(p, "bad character in rule id '%s'", word);
    copy_str(ru.id, word, sizeof ru.id);
    for (size_t i = 0; i < r->nrule; i++)
        if (strcmp(r->rule[i].id, ru.id) == 0)
            return perr(p, "duplicate rule id '%s'", ru.id);

    if ((n = next_word(p, &s, word, sizeof word)) <= 0)
        return n < 0 ? -1 : perr(p, "missing class", NULL);
    if (strcmp(word, hs) == 0) {
        ru.hard_or_soft = 1;
        ru.cls = BG_CLASS_HARD;
    } else if (class_lookup(word, &ru.cls) < 0 || ru.cls == BG_CLASS_MANUAL) {
        return perr(p, "unknown class '%s'", word);
    }

    if ((n = next_word(p, &s, word, sizeof word)) <= 0)
        return n < 0 ? -1 : perr(p, "missing reason", NULL);
    if (!reason_valid(word))
        return perr(p, "unknown reason '%s'", word);
    copy_str(ru.reason, word, sizeof ru.reason);

    /* Register now so that the free path covers partial lists. */
    struct rule *nr = realloc(r->rule, (r->nrule + 1) * sizeof *nr);
    if (!nr)
        return perr(p, "out of memory", NULL);
    r->rule = nr;
    struct rule *cur = &r->rule[r->nrule];
    *cur = ru;
    r->nrule++;

    while ((n = next_word(p, &s, word, sizeof word)) > 0) {
        char *eq = strchr(word, '=');
        if (!eq || eq == word)
            return perr(p, "expected key=value, got '%s'", word);
        *eq = '\0';
        const char *key = word, *val = eq + 1;
        int rc;
        if (strcmp(key, "status") == 0) {
            rc = parse_list(p, key, val, 0, &cur->status);
            if (rc == 0)
                rc = check_codes(p, key, &cur->status, 1);
        } else if (strcmp(key, "code") == 0) {
            rc = parse_list(p, key, val, 0, &cur->code);
            if (rc == 0)
                rc = check_codes(p, key, &cur->code, 0);
        } else if (strcmp(key, "mta") == 0) {
            rc = parse_list(p, key, val, 0, &cur->mta);
        } else if (strcmp(key, "cmd") == 0) {
            rc = parse_list(p, key, val, 1, &cur->cmd);
        } else if (strcmp(key, "action") == 0) {
            rc = parse_actions(p, val, &cur->actions);
        } else if (strcmp(key, "report") == 0) {
            rc = parse_report(p, val, &cur->report);
        } else if (strcmp(key, "text") == 0) {
            rc = parse_text(p, r, val, &cur->text_first, &cur->text_n);
        } else if (strcmp(key, "notext") == 0) {
            rc = parse_text(p, r, val, &cur->notext_first, &cur->notext_n);
        } else {
            return perr(p, "unknown condition '%s'", key);
        }
        if (rc < 0)
            return -1;
    }
    return n < 0 ? -1 : 0;
}

/* Parse a whole rules text into r (initialized by caller). A logical rule
 * is a line plus the following lines that start with blanks; '#' starts a
 * comment outside quotes. */
static int parse_text_all(struct pctx *p, struct bg_rules *r, const char *txt,
                          size_t len)
{
    char *buf = malloc(RULES_MAX_LINE);
    if (!buf)
        return perr(p, "out of memory", NULL);
    size_t bn = 0;
    int have = 0;
    unsigned lineno = 0, start = 0;
    size_t i = 0;
    int rc = 0;

    while (i < len) {
        /* one physical line [i, e) */
        size_t e = i;
        while (e < len && txt[e] != '\n')
            e++;
        lineno++;
        /* strip comment: first '#' outside quotes */
        size_t ce = i;
        int inq = 0;
        for (; ce < e; ce++) {
            char c = txt[ce];
            if (c == '\0') {
                p->line = lineno;
                rc = perr(p, "NUL byte in rules", NULL);
                goto out;
            }
            if (inq && c == '\\' && ce + 1 < e) {
                ce++;
                continue;
            }
            if (c == '"')
                inq = !inq;
            else if (c == '#' && !inq)
                break;
        }
        int blank = 1;
        for (size_t k = i; k < ce; k++)
            if (!is_blank((unsigned char)txt[k])) {
                blank = 0;
                break;
            }
        int cont = !blank && is_blank((unsigned char)txt[i]);
        if (cont && !have) {
            p->line = lineno;
            rc = perr(p, "continuation line without a rule", NULL);
            goto out;
        }
        if (!blank && !cont) {
            if (have) {
                buf[bn] = '\0';
                p->line = start;
                if (parse_rule(p, r, buf) < 0) {
                    rc = -1;
                    goto out;
                }
            }
            have = 1;
            bn = 0;
            start = lineno;
        }
        if (!blank) {
            size_t n = ce - i;
            if (bn + n + 2 > RULES_MAX_LINE) {
                p->line = start;
                rc = perr(p, "rule longer than 16384 bytes", NULL);
                goto out;
            }
            if (bn)
                buf[bn++] = ' ';
            memcpy(buf + bn, txt + i, n);
            bn += n;
        }
        i = e + 1;
    }
    if (have) {
        buf[bn] = '\0';
        p->line = start;
        if (parse_rule(p, r, buf) < 0)
            rc = -1;
    }
out:
    free(buf);
    if (rc == 0 && ac_build(&r->ac) < 0)
        rc = perr(p, "out of memory", NULL);
    return rc;
}

int bg_rules_parse_text(const char *name, const char *txt, size_t len,
                        struct bg_rules **out, char *err, size_t errsz)
{
    struct pctx p = { name, 0, err, errsz };
    *out = NULL;
    if (len > RULES_MAX_FILE)
        return perr(&p, "rules text larger than 1 MiB", NULL);
    struct bg_rules *r = calloc(1, sizeof *r);
    if (!r)
        return perr(&p, "out of memory", NULL);
    if (ac_init(&r->ac) < 0) {
        free(r);
        return perr(&p, "out of memory", NULL);
    }
    if (parse_text_all(&p, r, txt, len) < 0) {
        rules_clear(r);
        free(r);
        return -1;
    }
    *out = r;
    return 0;
}

/* Defaults: parsed once. */
static struct bg_rules default_rules;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
    struct bg_rules *r = NULL;
    char err[256];
    if (bg_rules_parse_text("<built-in rules>", bg_rules_default_text,
                            strlen(bg_rules_default_text), &r, err,
                            sizeof err) == 0) {
        default_rules = *r;
        free(r);
    } else {
        /* Cannot happen with the shipped text (a unit test parses it);
         * fall back to an empty set: everything undetermined. */
        fprintf(stderr, "bouncegate: %s\n", err);
        memset(&default_rules, 0, sizeof default_rules);
        ac_init(&default_rules.ac);
    }
    default_rules.is_static = 1;
    default_rules.next = NULL;
}

const struct bg_rules *bg_rules_default(void)
{
    pthread_once(&default_once, default_init);
    return &default_rules;
}

struct bg_rules *bg_rules_load(const char *path, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err && errsz)
            snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(RULES_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        if (err && errsz)
            snprintf(err, errsz, "%s: out of memory", path);
        return NULL;
    }
    size_t n = fread(buf, 1, RULES_MAX_FILE + 1, f);
    int ioerr = ferror(f);
    fclose(f);
    if (ioerr) {
        free(buf);
        if (err && errsz)
            snprintf(err, errsz, "%s: read error", path);
        return NULL;
    }
    if (n > RULES_MAX_FILE) {
        free(buf);
        if (err && errsz)
            snprintf(err, errsz, "%s: larger than 1 MiB", path);
        return NULL;
    }
    struct bg_rules *r = NULL;
    int rc = bg_rules_parse_text(path, buf, n, &r, err, errsz);
    free(buf);
    if (rc < 0)
        return NULL;
    r->next = bg_rules_default();
    return r;
}

/* ---------------------------------------------------------------- */
/* Matching                                                          */

/* Item "5.7.*" / "5*" prefix, "*" any non-empty, "-" empty, else exact. */
static int code_match(const struct strlist *l, const char *v)
{
    if (l->n == 0)
        return 1;
    for (size_t i = 0; i < l->n; i++) {
        const char *pat = l->v[i];
        if (pat[0] == '-' && pat[1] == '\0') {
            if (*v == '\0')
                return 1;
            continue;
        }
        if (*v == '\0')
            continue;
        size_t n = strlen(pat);
        if (n && pat[n - 1] == '*') {
            if (strncmp(v, pat, n - 1) == 0)
                return 1;
        } else if (strcmp(v, pat) == 0) {
            return 1;
        }
    }
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
        if (strcmp(l->v[i], "-") == 0) {
            if (*mta == '\0')
                return 1;
            continue;
        }
        if (*mta && glob_match(l->v[i], mta))
            return 1;
    }
    return 0;
}

static int cmd_match(const struct strlist *l, const char *cmd)
{
    if (l->n == 0)
        return 1;
    for (size_t i = 0; i < l->n; i++) {
        const char *a = l->v[i], *b = cmd;
        if (strcmp(a, "-") == 0) {
            if (*cmd == '\0')
                return 1;
            continue;
        }
        while (*a && *b && *a == (char)(*b >= 'a' && *b <= 'z' ? *b - 32 : *b)) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0')
            return 1;
    }
    return 0;
}

static int any_bit(const unsigned char *bits, uint32_t first, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (bit_get(bits, first + i))
            return 1;
    return 0;
}

/* Normalized facts used by all rule sets. */
struct nfacts {
    char status[16];
    char code[4];
    char mta[256];
    char cmd[16];
    unsigned action_bit;
    unsigned report;
    int permanent;              /* 1 perm, 0 temp */
    unsigned char text[TEXT_SCAN_MAX];
    size_t textlen;
};

static int isdig(int c) { return c >= '0' && c <= '9'; }

/* Find an enhanced status code "[245].d{1,3}.d{1,3}" as a word in s. */
static int find_status(const char *s, size_t n, char *out, size_t outsz)
{
    for (size_t i = 0; i + 4 < n + 0 && i < n; i++) {
        char c = s[i];
        if (c != '2' && c != '4' && c != '5')
            continue;
        if (i > 0 && (isdig((unsigned char)s[i - 1]) || s[i - 1] == '.'))
            continue;
        size_t j = i + 1;
        if (j >= n || s[j] != '.')
            continue;
        j++;
        size_t d1 = 0;
        while (j < n && isdig((unsigned char)s[j]) && d1 < 4) {
            j++;
            d1++;
        }
        if (d1 == 0 || d1 > 3 || j >= n || s[j] != '.')
            continue;
        j++;
        size_t d2 = 0;
        while (j < n && isdig((unsigned char)s[j]) && d2 < 4) {
            j++;
            d2++;
        }
        if (d2 == 0 || d2 > 3)
            continue;
        if (j < n && (isdig((unsigned char)s[j]) ||
                      (s[j] == '.' && j + 1 < n && isdig((unsigned char)s[j + 1]))))
            continue;
        size_t len = j - i;
        if (len >= outsz)
            continue;
        memcpy(out, s + i, len);
        out[len] = '\0';
        return 0;
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
static int has_sub(const unsigned char *t, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (t[i] == (unsigned char)needle[0] && memcmp(t + i, needle, m) == 0)
            return 1;
    return 0;
}

static size_t bounded_len(const char *s, size_t max)
{
    const char *z = memchr(s, '\0', max);
    return z ? (size_t)(z - s) : max;
}

static void facts_normalize(const struct bg_facts *f, struct nfacts *n)
{
    memset(n, 0, offsetof(struct nfacts, text));
    n->textlen = 0;
    const char *diag = f->diag ? f->diag : "";
    size_t dlen = bounded_len(diag, TEXT_SCAN_MAX);

    if (f->status && *f->status)
        copy_str(n->status, f->status, sizeof n->status);
    else
        find_status(diag, dlen, n->status, sizeof n->status);
    /* lower-case nothing here: codes are digits; strip junk after code */
    if (f->reply_code && *f->reply_code)
        copy_str(n->code, f->reply_code, sizeof n->code);
    else
        find_code(diag, dlen, n->code);
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

    n->textlen = normalize(diag, dlen, n->text, sizeof n->text);

    /* The command, when the report did not name it but the text does
     * ("... RCPT TO response", "[RCPT_TO]", "SMTP:RCPT host"). */
    if (n->cmd[0] == '\0') {
        static const char *const rcpt[] = { "rcpt to", "rcpt_to", "smtp:rcpt", NULL };
        static const char *const data[] = { "end of data", "after data", "data command", NULL };
        for (int i = 0; rcpt[i] && !n->cmd[0]; i++)
            if (has_sub(n->text, n->textlen, rcpt[i]))
                copy_str(n->cmd, "RCPT", sizeof n->cmd);
        for (int i = 0; data[i] && !n->cmd[0]; i++)
            if (has_sub(n->text, n->textlen, data[i]))
                copy_str(n->cmd, "DATA", sizeof n->cmd);
    }
}

static const struct rule *match_set(const struct bg_rules *r,
                                    const struct nfacts *n)
{
    unsigned char bits[RULES_MAX_ALTS / 8];
    size_t nb = (r->ac.npat + 7) / 8;
    memset(bits, 0, nb);
    ac_scan(&r->ac, n->text, n->textlen, bits);

    for (size_t i = 0; i < r->nrule; i++) {
        const struct rule *ru = &r->rule[i];
        if (ru->report && !(ru->report & n->report))
            continue;
        if (ru->actions && !(ru->actions & n->action_bit))
            continue;
        if (!code_match(&ru->status, n->status))
            continue;
        if (!code_match(&ru->code, n->code))
            continue;
        if (!cmd_match(&ru->cmd, n->cmd))
            continue;
        if (!mta_match(&ru->mta, n->mta))
            continue;
        if (ru->text_n && !any_bit(bits, ru->text_first, ru->text_n))
            continue;
        if (ru->notext_n && any_bit(bits, ru->notext_first, ru->notext_n))
            continue;
        return ru;
    }
    return NULL;
}

void bg_classify(const struct bg_rules *rules, const struct bg_facts *f,
                 struct bg_verdict *v)
{
    struct nfacts n;
    memset(v, 0, sizeof *v);
    facts_normalize(f, &n);
    for (const struct bg_rules *r = rules; r; r = r->next) {
        const struct rule *ru = match_set(r, &n);
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

/* ---------------------------------------------------------------- */
/* Policy                                                            */

void bg_policy_default(struct bg_policy *p)
{
    memset(p, 0, sizeof *p);
    p->by_class[BG_CLASS_NONE] = BG_POLICY_NONE;
    p->by_class[BG_CLASS_HARD] = BG_POLICY_SUPPRESS;
    p->by_class[BG_CLASS_SOFT] = BG_POLICY_COUNT;
    p->by_class[BG_CLASS_BLOCK] = BG_POLICY_NONE;
    p->by_class[BG_CLASS_COMPLAINT] = BG_POLICY_SUPPRESS;
    p->by_class[BG_CLASS_MANUAL] = BG_POLICY_SUPPRESS;
    p->by_class[BG_CLASS_UNDETERMINED] = BG_POLICY_NONE;
}

static int action_parse(const char *s, enum bg_policy_action *a)
{
    if (strcmp(s, "suppress") == 0)
        *a = BG_POLICY_SUPPRESS;
    else if (strcmp(s, "count") == 0)
        *a = BG_POLICY_COUNT;
    else if (strcmp(s, "none") == 0)
        *a = BG_POLICY_NONE;
    else
        return -1;
    return 0;
}

int bg_policy_set(struct bg_policy *p, const char *spec, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!spec) {
        *why = "empty policy spec";
        return -1;
    }
    while (is_blank((unsigned char)*spec))
        spec++;
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        *why = "policy spec must be name=action";
        return -1;
    }
    char name[32], act[16];
    size_t nl = (size_t)(eq - spec);
    while (nl && is_blank((unsigned char)spec[nl - 1]))
        nl--;
    if (nl >= sizeof name) {
        *why = "unknown class or reason";
        return -1;
    }
    for (size_t i = 0; i < nl; i++)
        name[i] = (char)lc((unsigned char)spec[i]);
    name[nl] = '\0';
    const char *a = eq + 1;
    while (is_blank((unsigned char)*a))
        a++;
    size_t al = strlen(a);
    while (al && is_blank((unsigned char)a[al - 1]))
        al--;
    if (al >= sizeof act) {
        *why = "action must be suppress, count or none";
        return -1;
    }
    for (size_t i = 0; i < al; i++)
        act[i] = (char)lc((unsigned char)a[i]);
    act[al] = '\0';
    enum bg_policy_action pa;
    if (action_parse(act, &pa) < 0) {
        *why = "action must be suppress, count or none";
        return -1;
    }
    enum bg_class c;
    if (class_lookup(name, &c) == 0) {
        p->by_class[c] = pa;
        return 0;
    }
    if (!reason_valid(name)) {
        *why = "unknown class or reason";
        return -1;
    }
    for (size_t i = 0; i < p->nover && i < sizeof p->over / sizeof p->over[0]; i++)
        if (strcmp(p->over[i].reason, name) == 0) {
            p->over[i].act = pa;
            return 0;
        }
    if (p->nover >= sizeof p->over / sizeof p->over[0]) {
        *why = "too many reason overrides";
        return -1;
    }
    copy_str(p->over[p->nover].reason, name, sizeof p->over[0].reason);
    p->over[p->nover].act = pa;
    p->nover++;
    return 0;
}

enum bg_policy_action bg_policy_decide(const struct bg_policy *p,
                                       const struct bg_verdict *v)
{
    size_t n = p->nover;
    if (n > sizeof p->over / sizeof p->over[0])
        n = sizeof p->over / sizeof p->over[0];
    for (size_t i = 0; i < n; i++)
        if (strncmp(p->over[i].reason, v->reason, sizeof v->reason) == 0)
            return p->over[i].act;
    /* A manual record is never produced by rules; treat like its class. */
    if ((unsigned)v->cls <= BG_CLASS_UNDETERMINED)
        return p->by_class[v->cls];
    return BG_POLICY_NONE;
}

const char *bg_policy_action_name(enum bg_policy_action a)
{
    switch (a) {
    case BG_POLICY_SUPPRESS: return "suppress";
    case BG_POLICY_COUNT: return "count";
    case BG_POLICY_NONE: return "none";
    }
    return "none";
}
