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
#include <unistd.h>

#include "classify_internal.h"
#include "openreg.h"

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

/* The automaton is built in two stages. While parsing, patterns go into a
 * plain trie (linked edge lists, cheap to grow). Once the whole rule set is
 * known, rules_compile() (further down, it needs the rules) turns the trie
 * into the form the scanner uses and frees the trie:
 *
 *   - bytes are mapped to classes (every byte that occurs in some pattern
 *     gets its own class, all other bytes share class 0, on which every
 *     state goes back to the root);
 *   - states are renumbered in BFS order, so depth never decreases with
 *     the state number; the first ndense states (the root and the shallow
 *     states, where the scanner spends nearly all its time) get a full
 *     row of DFA transitions per class: one table load per text byte;
 *   - deeper states keep their few goto edges (contiguous, by class) and
 *     their fail link; following fail links from one ends in a dense
 *     state after at most depth steps;
 *   - what a state reports is not pattern ids but "targets": bit numbers
 *     in a per-call hit bitmap, one bit per rule for text=, one per rule
 *     for notext=, and two for the built-in command needles;
 *   - only the first AC_ANCHOR bytes of a pattern go into the trie (its
 *     anchor). The rules' patterns are phrases ("the email account that
 *     you tried to reach does not exist"), and their tails made up most
 *     of the states - 12,000 for the default rules, over 1 MB of tables
 *     that a scan of a few hundred bytes walks through cache miss after
 *     cache miss. Where a longer pattern's anchor ends, the state holds a
 *     verify entry instead of its target: the rest of the pattern is
 *     compared with the normalized text (which is why the text is
 *     normalized into a buffer before the scan). Same hits, a quarter of
 *     the states, all of them dense for the default rules. */

struct ac_edge { uint32_t to, next; unsigned char c; };

/* A pattern longer than AC_ANCHOR: its target, its bytes in pool and
 * rest, the number of bytes after the anchor; head: the first (up to) 8
 * of them, compared first under vmask[min(rest, 8)] (struct ac). 16
 * bytes, so that the entries a text visits take few cache lines. */
struct ac_verify { uint64_t head; uint32_t off; uint16_t target; uint8_t rest; };
#define AC_ANCHOR 8
_Static_assert(RULES_MAX_PAT - AC_ANCHOR <= UINT8_MAX, "rest fits ac_verify");

struct ac_node {
    uint32_t first_edge;     /* UINT32_MAX: none */
    uint32_t fail;
    uint32_t dict;           /* nearest node on the fail chain with output, or 0 */
    uint32_t out;            /* first pattern id ending here, UINT32_MAX none */
};

/* One state of the compiled automaton. */
struct ac_state {
    uint32_t fail;           /* sparse states only: fail link */
    uint32_t edge_first;     /* sparse states only: goto edges in ecls/eto */
    uint32_t edge_n;
    uint32_t emit;           /* first state whose targets apply here: this
                              * state, the nearest on the fail chain, or 0 */
    uint32_t dict;           /* next state with targets on the fail chain, 0 */
    uint32_t out_first;      /* this state's own targets in outs[] */
    uint32_t out_n;
};

struct ac {
    /* trie, only while parsing */
    struct ac_node *node;
    size_t nnode, capnode;
    struct ac_edge *edge;
    size_t nedge, capedge;
    uint32_t root_next[256]; /* dense transitions for the root */
    uint32_t *pat_next;      /* per pattern id: next id ending at same node */
    uint32_t *pat_off;       /* per pattern id: its bytes in pool (kept) */
    uint32_t *pat_len;       /* (kept) */
    size_t npat, cappat;
    unsigned char *pool;     /* the bytes of every pattern; kept after
                              * compiling (tails are compared there) */
    size_t npool, cappool;
    /* compiled (st != NULL once rules_compile succeeded) */
    unsigned char cls[256];  /* byte -> class, 0: in no pattern */
    uint16_t raw[256];       /* text byte -> class of its normalized form
                              * << 8 | that form, or AC_RAW_BLANK /
                              * AC_RAW_STOP << 8 */
    uint32_t ncls;           /* classes including 0 */
    uint32_t nstate;
    uint32_t ndense;         /* states [0, ndense) have a dense row */
    uint32_t dlim;           /* ndense * ncls, see "state codes" */
    uint32_t *dense;         /* ndense rows of ncls state codes (32-bit
                              * layouts; NULL in the 16-bit one) */
    uint16_t *dense16;       /* the 16-bit layout: nstate rows of stride16
                              * codes, or NULL */
    uint32_t stride16;       /* ncls rounded up to a multiple of AC16_SCALE */
    struct ac_state *st;
    unsigned char *ecls;     /* sparse goto edges: class */
    uint32_t *eto;           /*                    target state code */
    uint32_t *outs;          /* targets, grouped per state; AC_VERIFY|v:
                              * verify entry v, see ac_emit */
    struct ac_verify *ver;   /* patterns longer than their anchor */
    uint64_t vmask[9];       /* vmask[r]: the first r of 8 bytes */
};

#define AC_NONE UINT32_MAX
/* State codes. A transition (dense cell, sparse edge) holds a code, not a
 * state number, so that the scanner needs neither a multiplication nor a
 * second load per byte: a dense state j is j * ncls (the offset of its
 * row), a sparse state j >= ndense is dlim + (j - ndense); AC_EMIT is set
 * when the target state reports something. */
#define AC_EMIT (1u << 31)
#define AC_VERIFY (1u << 31)     /* an outs[] entry that is a verify entry */
#define AC_RAW_BLANK 254         /* raw[] classes beyond any real class */
#define AC_RAW_STOP 255
/* Dense rows for states of depth <= AC_DENSE_DEPTH, and never more than
 * AC_DENSE_CELLS cells (4 MiB) whatever a hostile rules file holds. */
#define AC_DENSE_DEPTH 10
#define AC_DENSE_CELLS (1u << 20)
/* The 16-bit layout. The scanner walks one table row per text byte, and
 * the rows of a rule set's 2,500 states are 540 KB as 32-bit codes: a
 * working set that the parser's own data pushes out of the caches between
 * two diagnostic texts. When every state is dense and the table is small
 * enough, it is kept as 16-bit codes instead (half the bytes, a row of the
 * default rules is 112 bytes): a row has stride16 cells (ncls rounded up
 * to a multiple of AC16_SCALE), state j's code is j * stride16 /
 * AC16_SCALE, so that its row starts at code * AC16_SCALE, and AC16_EMIT
 * is the flag. Which layout a rule set uses is decided once, when it is
 * compiled; larger ones (site rules) keep the 32-bit codes. */
#define AC16_SCALE 8u
#define AC16_EMIT 0x8000u
#define AC16_CELLS (AC16_EMIT * AC16_SCALE)   /* codes below AC16_EMIT */

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

static void ac_free_trie(struct ac *a)
{
    free(a->node);
    free(a->edge);
    free(a->pat_next);
    a->node = NULL;
    a->edge = NULL;
    a->pat_next = NULL;
    a->nnode = a->capnode = a->nedge = a->capedge = a->cappat = 0;
}

static void ac_free(struct ac *a)
{
    ac_free_trie(a);
    free(a->pat_off);
    free(a->pat_len);
    free(a->dense);
    free(a->dense16);
    free(a->st);
    free(a->ecls);
    free(a->eto);
    free(a->outs);
    free(a->ver);
    free(a->pool);
    memset(a, 0, sizeof *a);
}

static uint32_t ac_child(const struct ac *a, uint32_t s, unsigned char c)
{
    for (uint32_t e = a->node[s].first_edge; e != AC_NONE; e = a->edge[e].next)
        if (a->edge[e].c == c)
            return a->edge[e].to;
    return AC_NONE;
}

/* Add pattern p (already normalized, len>0) with id == a->npat: its
 * anchor (first AC_ANCHOR bytes) to the trie, the whole of it to the pool
 * (for the tails of longer ones and for bg_classify_hits). */
static int ac_add(struct ac *a, const unsigned char *p, size_t len)
{
    if (!a->node || len == 0 || len > RULES_MAX_PAT)
        return -1;           /* already compiled: the trie is gone */
    if (a->npool + len > a->cappool) {
        size_t nc = a->cappool ? a->cappool * 2 : 4096;
        while (nc < a->npool + len)
            nc *= 2;
        unsigned char *np = realloc(a->pool, nc);
        if (!np)
            return -1;
        a->pool = np;
        a->cappool = nc;
    }
    size_t alen = len > AC_ANCHOR ? AC_ANCHOR : len;
    uint32_t s = 0;
    for (size_t i = 0; i < alen; i++) {
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
        np = realloc(a->pat_off, nc * sizeof *np);
        if (!np)
            return -1;
        a->pat_off = np;
        np = realloc(a->pat_len, nc * sizeof *np);
        if (!np)
            return -1;
        a->pat_len = np;
        a->cappat = nc;
    }
    a->pat_off[a->npat] = (uint32_t)a->npool;
    a->pat_len[a->npat] = (uint32_t)len;
    memcpy(a->pool + a->npool, p, len);
    a->npool += len;
    a->pat_next[a->npat] = a->node[s].out;
    a->node[s].out = (uint32_t)a->npat;
    a->npat++;
    return 0;
}

/* Fail and dictionary links of the trie, BFS. order[] receives the nodes in
 * BFS order (root first) and depth[] their depth; both have nnode slots. */
static void ac_links(struct ac *a, uint32_t *order, uint32_t *depth)
{
    size_t qh = 1, qt = 0;               /* the root is order[0], done */
    for (int c = 0; c < 256; c++)
        a->root_next[c] = 0;
    order[qt++] = 0;
    depth[0] = 0;
    for (uint32_t e = a->node[0].first_edge; e != AC_NONE; e = a->edge[e].next) {
        uint32_t t = a->edge[e].to;
        a->root_next[a->edge[e].c] = t;
        a->node[t].fail = 0;
        a->node[t].dict = 0;
        depth[t] = 1;
        order[qt++] = t;
    }
    while (qh < qt) {
        uint32_t s = order[qh++];
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
            depth[t] = depth[s] + 1;
            order[qt++] = t;
        }
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

/* One item of a status=/code=/mta=/cmd= list, with what matching needs
 * worked out at load time (no strlen or strcmp per classification). */
enum { IT_EXACT = 0, IT_PREFIX, IT_EMPTY, IT_GLOB, IT_NEVER };
struct item {
    char *s;                 /* NUL-terminated */
    size_t len;              /* strlen(s); for IT_PREFIX the '*' excluded */
    int kind;                /* IT_*: "-" is IT_EMPTY in every list */
    /* status=/code= IT_EXACT and IT_PREFIX: the item as 16 zero-padded
     * bytes and which of them must agree (see code_match) */
    uint64_t w[2], m[2];
};
struct strlist { size_t n; struct item *v; };

/* First byte classes of a status or reply code, for the per-call rule
 * filter: "", '2', '4', '5', anything else. */
enum { FC_EMPTY = 0, FC_2, FC_4, FC_5, FC_OTHER, FC_N };

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

/* A rule's conditions in the form match_set checks them: 16 bytes per
 * rule and 32 per status=/code= item, all in two arrays, instead of the
 * parsed rule's lists (a heap block per list, 56 bytes per item) - the
 * few candidates of a call touch a few cache lines. A status=/code= item
 * is its value as CODE_BUF zero-padded bytes and which of them must agree
 * (see code_match): "-" is the empty value (all 16 bytes zero), "*" is
 * RM_*_STAR instead of an item (any non-empty value), and an item that
 * can never match (IT_NEVER) is left out. */
struct citem { uint64_t w[2], m[2]; };
enum {
    RM_STATUS_ANY = 1, RM_STATUS_STAR = 2, RM_CODE_ANY = 4, RM_CODE_STAR = 8,
    RM_CMD = 16, RM_MTA = 32, RM_TEXT = 64, RM_NOTEXT = 128
};
struct rmatch {
    uint32_t status_first, code_first;   /* items in citem[] */
    uint8_t status_n, code_n;
    uint8_t report;                      /* REP_* mask, 0: any */
    uint8_t actions;                     /* 1 << enum bg_dsn_action, 0: any */
    uint8_t flags;                       /* RM_* */
};

struct bg_rules {
    struct rule *rule;
    size_t nrule;
    struct ac ac;
    const struct bg_rules *next;     /* consulted when nothing here matches */
    int is_static;
    /* Compiled with the automaton: bitmaps over rules, nword 64-bit words
     * each. Rule i is bit i%64 of word i/64. */
    size_t nword;
    uint64_t *cand_static;           /* rules without text=: always tried */
    uint64_t *fc_status;             /* FC_N bitmaps: rules a status of that
                                      * first-byte class can satisfy */
    uint64_t *fc_code;               /* same for the reply code */
    struct rmatch *rm;               /* per rule: its conditions as match_set
                                      * checks them (nrule entries) */
    struct citem *citem;             /* the status=/code= items of all rules */
};

static void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].s);
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
    free(r->cand_static);
    free(r->fc_status);
    free(r->fc_code);
    free(r->rm);
    free(r->citem);
    r->cand_static = r->fc_status = r->fc_code = NULL;
    r->rm = NULL;
    r->citem = NULL;
    r->nword = 0;
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
        struct item *nv = realloc(out->v, (out->n + 1) * sizeof *nv);
        if (!nv) {
            free(item);
            return perr(p, "out of memory", NULL);
        }
        out->v = nv;
        out->v[out->n].s = item;
        out->v[out->n].len = n;
        /* "-" is IT_EMPTY in every list; parse_rule refines the rest per
         * list type (code_kinds, IT_GLOB for mta=) */
        out->v[out->n].kind = (n == 1 && item[0] == '-') ? IT_EMPTY : IT_EXACT;
        out->n++;
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
        const char *s = l->v[i].s;
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

/* Status and reply code values are compared as CODE_BUF zero-padded
 * bytes (two 64-bit words). */
#define CODE_BUF 16
_Static_assert(CODE_BUF == 2 * sizeof(uint64_t), "code_match compares two words");

/* status=/code= items: "-" empty, trailing '*' a prefix (its length
 * without the '*'; "*" is the empty prefix: any non-empty value), else
 * exact. The same reading as the old per-call strcmp/strncmp. */
static void code_kinds(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct item *it = &l->v[i];
        if (it->len == 1 && it->s[0] == '-') {
            it->kind = IT_EMPTY;
            continue;
        }
        if (it->len && it->s[it->len - 1] == '*') {
            it->kind = IT_PREFIX;
            it->len--;
        } else
            it->kind = IT_EXACT;
        if (it->len >= CODE_BUF) {
            /* longer than any value can be (status and code are held in
             * CODE_BUF bytes with their NUL): exact or prefix, no match */
            it->kind = IT_NEVER;
            continue;
        }
        unsigned char b[CODE_BUF] = { 0 }, m[CODE_BUF] = { 0 };
        memcpy(b, it->s, it->len);
        memset(m, 0xff, it->kind == IT_EXACT ? CODE_BUF : it->len);
        memcpy(it->w, b, sizeof it->w);
        memcpy(it->m, m, sizeof it->m);
    }
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
            if (strcmp(l.v[i].s, action_names[k]) == 0)
                break;
        if (k == sizeof action_names / sizeof action_names[0]) {
            int rc = perr(p, "unknown action '%s'", l.v[i].s);
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
        if (strcmp(l.v[i].s, "bounce") == 0)
            *mask |= REP_BOUNCE;
        else if (strcmp(l.v[i].s, "feedback") == 0)
            *mask |= REP_FEEDBACK;
        else if (strcmp(l.v[i].s, "autoreply") == 0)
            *mask |= REP_AUTOREPLY;
        else {
            int rc = perr(p, "unknown report kind '%s'", l.v[i].s);
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
            if (rc == 0)
                code_kinds(&cur->status);
        } else if (strcmp(key, "code") == 0) {
            rc = parse_list(p, key, val, 0, &cur->code);
            if (rc == 0)
                rc = check_codes(p, key, &cur->code, 0);
            if (rc == 0)
                code_kinds(&cur->code);
        } else if (strcmp(key, "mta") == 0) {
            rc = parse_list(p, key, val, 0, &cur->mta);
            for (size_t i = 0; rc == 0 && i < cur->mta.n; i++)
                if (cur->mta.v[i].kind != IT_EMPTY)
                    cur->mta.v[i].kind = IT_GLOB;
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

/* ---------------------------------------------------------------- */
/* Compiling a parsed rule set                                       */

/* Needles that name the SMTP command when the report did not ("... RCPT TO
 * response", "[RCPT_TO]", "SMTP:RCPT host"). They ride along in every
 * automaton, so the scan that matches the rules finds them too. Already in
 * normalized form. The first AC_N_RCPT say RCPT, the rest DATA. */
static const char *const cmd_needles[] = {
    "rcpt to", "rcpt_to", "smtp:rcpt",
    "end of data", "after data", "data command",
};
#define AC_N_NEEDLES (sizeof cmd_needles / sizeof cmd_needles[0])
#define AC_N_RCPT 3

/* Hit bitmap of one scan (see struct ac): text= bits of rules in words
 * [0, nword), notext= bits in [nword, 2 nword), the two needle bits in
 * word 2 nword. */
#define HIT_WORDS_MAX (2 * ((RULES_MAX_RULES + 63) / 64) + 1)

static unsigned fc_of(const char *v)
{
    switch (v[0]) {
    case '\0': return FC_EMPTY;
    case '2': return FC_2;
    case '4': return FC_4;
    case '5': return FC_5;
    default: return FC_OTHER;
    }
}

/* First-byte classes of the values a status=/code= list can match: a
 * necessary condition only (code_match still decides). */
static unsigned list_fc(const struct strlist *l)
{
    const unsigned all = (1u << FC_N) - 1, nonempty = all & ~(1u << FC_EMPTY);
    if (l->n == 0)
        return all;
    unsigned m = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct item *it = &l->v[i];
        if (it->kind == IT_EMPTY)
            m |= 1u << FC_EMPTY;
        else if (it->kind == IT_PREFIX && it->len == 0)
            m |= nonempty;                     /* "*" */
        else
            m |= 1u << fc_of(it->s);           /* value must start with s[0] */
    }
    return m;
}

static void bitmap_set(uint64_t *w, size_t i)
{
    w[i >> 6] |= (uint64_t)1 << (i & 63);
}

static int bitmap_get(const uint64_t *w, size_t i)
{
    return (int)((w[i >> 6] >> (i & 63)) & 1);
}

/* State number -> state code (see AC_EMIT), without the flag. */
static uint32_t ac_code(const struct ac *a, uint32_t j)
{
    return j < a->ndense ? j * a->ncls : a->dlim + (j - a->ndense);
}

/* State code (either layout, without the flag) -> state number. */
static uint32_t ac_state_num(const struct ac *a, uint32_t c)
{
    if (a->dense16)
        return c * AC16_SCALE / a->stride16;
    return c < a->dlim ? c / a->ncls : c - a->dlim + a->ndense;
}

/* The 16-bit layout (see AC16_SCALE) from the finished 32-bit table of an
 * automaton whose states are all dense; the 32-bit table is freed. */
static int ac_make16(struct ac *a)
{
    uint32_t ncls = a->ncls, stride = (ncls + AC16_SCALE - 1) / AC16_SCALE * AC16_SCALE;
    size_t cells = (size_t)a->nstate * stride;
    if (a->ndense != a->nstate || cells > AC16_CELLS)
        return -1;
    uint16_t *d = calloc(cells ? cells : 1, sizeof *d);
    if (!d)
        return -1;
    for (size_t j = 0; j < a->nstate; j++)
        for (uint32_t k = 0; k < ncls; k++) {
            uint32_t v = a->dense[j * ncls + k];
            uint32_t t = (v & ~AC_EMIT) / ncls;   /* target state */
            d[j * stride + k] = (uint16_t)(t * stride / AC16_SCALE |
                                           (v & AC_EMIT ? AC16_EMIT : 0));
        }
    free(a->dense);
    a->dense = NULL;
    a->dense16 = d;
    a->stride16 = stride;
    return 0;
}

/* A status=/code= list into citem[] from *nc on; sets the list's RM_*
 * flags (any, star) in *flags. */
static void rmatch_list(struct bg_rules *r, size_t *nc, const struct strlist *l,
                        uint32_t *first, uint8_t *n, uint8_t *flags,
                        uint8_t any, uint8_t star)
{
    *first = (uint32_t)*nc;
    *n = 0;
    if (l->n == 0)
        *flags |= any;
    for (size_t i = 0; i < l->n; i++) {
        const struct item *it = &l->v[i];
        struct citem *c = &r->citem[*nc];
        if (it->kind == IT_NEVER)
            continue;
        if (it->kind == IT_PREFIX && it->len == 0) {
            *flags |= star;
            continue;
        }
        if (it->kind == IT_EMPTY) {
            c->w[0] = c->w[1] = 0;
            c->m[0] = c->m[1] = ~(uint64_t)0;
        } else {
            c->w[0] = it->w[0];
            c->w[1] = it->w[1];
            c->m[0] = it->m[0];
            c->m[1] = it->m[1];
        }
        (*nc)++;
        (*n)++;
    }
}

/* r->rm and r->citem from the parsed rules. */
static int rmatch_build(struct bg_rules *r)
{
    size_t total = 0;
    for (size_t i = 0; i < r->nrule; i++)
        total += r->rule[i].status.n + r->rule[i].code.n;
    r->rm = calloc(r->nrule ? r->nrule : 1, sizeof *r->rm);
    r->citem = calloc(total ? total : 1, sizeof *r->citem);
    if (!r->rm || !r->citem)
        return -1;
    size_t nc = 0;
    for (size_t i = 0; i < r->nrule; i++) {
        const struct rule *ru = &r->rule[i];
        struct rmatch *m = &r->rm[i];
        if (ru->status.n > RULES_MAX_LIST || ru->code.n > RULES_MAX_LIST ||
            ru->report > UINT8_MAX || ru->actions > UINT8_MAX)
            return -1;     /* cannot happen: bounded by the parser */
        m->report = (uint8_t)ru->report;
        m->actions = (uint8_t)ru->actions;
        rmatch_list(r, &nc, &ru->status, &m->status_first, &m->status_n, &m->flags,
                    RM_STATUS_ANY, RM_STATUS_STAR);
        rmatch_list(r, &nc, &ru->code, &m->code_first, &m->code_n, &m->flags,
                    RM_CODE_ANY, RM_CODE_STAR);
        if (ru->cmd.n)
            m->flags |= RM_CMD;
        if (ru->mta.n)
            m->flags |= RM_MTA;
        if (ru->text_n)
            m->flags |= RM_TEXT;
        if (ru->notext_n)
            m->flags |= RM_NOTEXT;
    }
    return 0;
}

/* Rule bitmaps, then the automaton: the trie becomes the scanner's form
 * (see the comment at struct ac_edge) and is freed. On failure the rule
 * set must be discarded. */
static int rules_compile(struct bg_rules *r)
{
    struct ac *a = &r->ac;
    if (!a->node || r->nrule > RULES_MAX_RULES)
        return -1;
    size_t npat_rules = a->npat;
    for (size_t k = 0; k < AC_N_NEEDLES; k++)
        if (ac_add(a, (const unsigned char *)cmd_needles[k],
                   strlen(cmd_needles[k])) < 0)
            return -1;

    size_t W = (r->nrule + 63) / 64;
    r->nword = W;
    r->cand_static = calloc(W ? W : 1, sizeof *r->cand_static);
    r->fc_status = calloc(FC_N * (W ? W : 1), sizeof *r->fc_status);
    r->fc_code = calloc(FC_N * (W ? W : 1), sizeof *r->fc_code);
    if (!r->cand_static || !r->fc_status || !r->fc_code)
        return -1;
    for (size_t i = 0; i < r->nrule; i++) {
        const struct rule *ru = &r->rule[i];
        if (ru->text_n == 0)
            bitmap_set(r->cand_static, i);
        unsigned sm = list_fc(&ru->status), cm = list_fc(&ru->code);
        for (unsigned c = 0; c < FC_N; c++) {
            if (sm & (1u << c))
                bitmap_set(r->fc_status + c * W, i);
            if (cm & (1u << c))
                bitmap_set(r->fc_code + c * W, i);
        }
    }

    if (rmatch_build(r) < 0)
        return -1;

    int rc = -1;
    size_t nn = a->nnode, ntgt = 2 * W * 64 + 2;
    uint32_t *tgt = malloc(a->npat * sizeof *tgt);
    uint32_t *order = malloc(nn * sizeof *order);
    uint32_t *depth = malloc(nn * sizeof *depth);
    uint32_t *newid = malloc(nn * sizeof *newid);
    uint32_t *stamp = calloc(ntgt, sizeof *stamp);
    a->st = calloc(nn, sizeof *a->st);
    a->ecls = malloc(a->nedge ? a->nedge : 1);
    a->eto = malloc((a->nedge ? a->nedge : 1) * sizeof *a->eto);
    a->outs = malloc((a->npat ? a->npat : 1) * sizeof *a->outs);
    a->ver = malloc((a->npat ? a->npat : 1) * sizeof *a->ver);
    if (!tgt || !order || !depth || !newid || !stamp || !a->st || !a->ecls ||
        !a->eto || !a->outs || !a->ver)
        goto out;

    /* pattern id -> target bit */
    for (size_t p = 0; p < a->npat; p++)
        tgt[p] = AC_NONE;
    for (size_t i = 0; i < r->nrule; i++) {
        const struct rule *ru = &r->rule[i];
        for (uint32_t k = 0; k < ru->text_n; k++)
            if ((size_t)ru->text_first + k < npat_rules)
                tgt[ru->text_first + k] = (uint32_t)i;
        for (uint32_t k = 0; k < ru->notext_n; k++)
            if ((size_t)ru->notext_first + k < npat_rules)
                tgt[ru->notext_first + k] = (uint32_t)(W * 64 + i);
    }
    for (size_t k = 0; k < AC_N_NEEDLES; k++)
        tgt[npat_rules + k] = (uint32_t)(2 * W * 64 + (k < AC_N_RCPT ? 0 : 1));

    ac_links(a, order, depth);
    for (size_t j = 0; j < nn; j++)
        newid[order[j]] = (uint32_t)j;

    /* byte classes */
    uint32_t ncls = 1;
    memset(a->cls, 0, sizeof a->cls);
    for (size_t e = 0; e < a->nedge; e++)
        a->cls[a->edge[e].c] = 1;
    /* Patterns are normalized: no upper case, no NUL, no blank but ' ',
     * so at most 256 - 26 - 6 bytes have a class: ncls < AC_RAW_BLANK. */
    for (int b = 0; b < 256; b++)
        if (a->cls[b])
            a->cls[b] = (unsigned char)ncls++;
    /* a text byte as normalize() presents it (lower case, a blank as
     * AC_RAW_BLANK, NUL as AC_RAW_STOP) and its class, in one load */
    for (int b = 0; b < 256; b++) {
        unsigned k = b == 0 ? AC_RAW_STOP : is_blank(b) ? AC_RAW_BLANK : a->cls[lc(b)];
        a->raw[b] = (uint16_t)(k << 8 | (k >= AC_RAW_BLANK ? 0 : (unsigned)lc(b)));
    }

    /* dense rows: a BFS prefix, so a state's fail target (shallower) has
     * its row filled before the state itself */
    size_t nd = 0;
    while (nd < nn && depth[order[nd]] <= AC_DENSE_DEPTH &&
           (nd + 1) * ncls <= AC_DENSE_CELLS)
        nd++;
    a->dense = malloc((nd ? nd : 1) * ncls * sizeof *a->dense);
    if (!a->dense)
        goto out;
    if (nd * ncls + nn >= AC_EMIT)
        goto out;          /* codes need bit 31 free; far beyond the limits */
    a->ndense = (uint32_t)nd;
    a->ncls = ncls;
    a->dlim = (uint32_t)(nd * ncls);

    /* per state: what it reports (own targets, dictionary chain) */
    if (ntgt > (size_t)UINT16_MAX + 1)
        goto out;          /* targets of verify entries are 16-bit */
    for (size_t mi = 0; mi <= 8; mi++) {
        unsigned char mb[8] = { 0 };
        memset(mb, 0xff, mi);
        memcpy(&a->vmask[mi], mb, 8);
    }
    size_t no = 0, nv = 0;
    for (size_t j = 0; j < nn; j++) {
        uint32_t o = order[j];
        struct ac_state *x = &a->st[j];
        x->fail = newid[a->node[o].fail];
        x->dict = newid[a->node[o].dict];      /* root (0) means none */
        x->out_first = (uint32_t)no;
        for (uint32_t p = a->node[o].out; p != AC_NONE; p = a->pat_next[p]) {
            uint32_t t = tgt[p];
            if (t == AC_NONE || t >= ntgt || stamp[t] == j + 1)
                continue;                      /* one entry per target */
            if (a->pat_len[p] > AC_ANCHOR) {
                /* only the anchor ends here: the tail is to be compared */
                a->ver[nv].target = (uint16_t)t;
                a->ver[nv].off = a->pat_off[p];
                size_t h = a->pat_len[p] - AC_ANCHOR;
                a->ver[nv].rest = (uint8_t)h;
                unsigned char hb[8] = { 0 };
                memcpy(hb, a->pool + a->pat_off[p] + AC_ANCHOR, h < 8 ? h : 8);
                memcpy(&a->ver[nv].head, hb, 8);
                a->outs[no++] = AC_VERIFY | (uint32_t)nv++;
                continue;
            }
            stamp[t] = (uint32_t)(j + 1);
            a->outs[no++] = t;
        }
        x->out_n = (uint32_t)(no - x->out_first);
        x->emit = x->out_n ? (uint32_t)j : x->dict;
    }
    /* newid[] from here on: state codes (no longer needed as numbers) */
    for (size_t o = 0; o < nn; o++) {
        uint32_t j = newid[o];
        newid[o] = ac_code(a, j) | (a->st[j].emit ? AC_EMIT : 0);
    }

    /* Transitions: dense rows for [0, nd), goto edges for the rest. A
     * transition into a state that reports something carries AC_EMIT, so
     * the scanner needs no extra load per byte to know. */
    size_t ne = 0;
    for (size_t j = 0; j < nn; j++) {
        uint32_t o = order[j];
        struct ac_state *x = &a->st[j];
        x->edge_first = (uint32_t)ne;
        if (j < nd) {
            /* the fail state's row (j > 0), then this state's own edges */
            uint32_t *row = a->dense + j * ncls;
            if (j)
                memcpy(row, a->dense + (size_t)x->fail * ncls, ncls * sizeof *row);
            else
                memset(row, 0, ncls * sizeof *row);
            for (uint32_t e = a->node[o].first_edge; e != AC_NONE; e = a->edge[e].next)
                row[a->cls[a->edge[e].c]] = newid[a->edge[e].to];
        } else {
            for (uint32_t e = a->node[o].first_edge; e != AC_NONE; e = a->edge[e].next) {
                a->ecls[ne] = a->cls[a->edge[e].c];
                a->eto[ne] = newid[a->edge[e].to];
                ne++;
            }
        }
        x->edge_n = (uint32_t)(ne - x->edge_first);
    }
    a->nstate = (uint32_t)nn;
    ac_free_trie(a);
    /* small enough for 16-bit codes? (else the 32-bit table stays) */
    (void)ac_make16(a);
    rc = 0;
out:
    if (rc < 0) {
        free(a->st);
        a->st = NULL;                          /* "not compiled" */
    }
    free(tgt);
    free(order);
    free(depth);
    free(newid);
    free(stamp);
    return rc;
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
    if (rc == 0 && rules_compile(r) < 0)
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
    /* Only a regular file: opening a FIFO would block (bouncegate -n,
     * the daemon's start and reload), a device could be read for ever. */
    struct stat st;
    int fd = bg_open_regular(path, &st);
    if (fd == BG_OPEN_NOTREG) {
        if (err && errsz)
            snprintf(err, errsz, "%s: not a regular file (%s)", path,
                     bg_file_kind(st.st_mode));
        return NULL;
    }
    FILE *f = fd < 0 ? NULL : fdopen(fd, "rb");
    if (!f) {
        if (err && errsz)
            snprintf(err, errsz, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
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

/* One text byte (class k) through the sparse state j: its goto edge if
 * it has one, else down the fail chain until a state has the edge or is
 * dense. Every fail link leads to a shallower state and the root is
 * dense, so this ends within depth steps. Returns the transition: a state
 * code with AC_EMIT. */
static uint32_t ac_step_sparse(const struct ac *a, uint32_t j, uint32_t k)
{
    if (k == 0)
        return 0;            /* a byte in no pattern: back to the root */
    for (;;) {
        const struct ac_state *x = &a->st[j];
        for (uint32_t e = x->edge_first; e < x->edge_first + x->edge_n; e++)
            if (a->ecls[e] == k)
                return a->eto[e];
        j = x->fail;
        if (j < a->ndense)
            return a->dense[(size_t)j * a->ncls + k];
    }
}

/* Entered the state with code c (the transition had AC_EMIT) with the
 * byte t[end - 1]: set the target bits of every pattern ending there,
 * along the dictionary chain. A verify entry stands for a pattern whose
 * anchor is t[end - AC_ANCHOR, end): its target is hit when the rest of
 * the pattern follows in t[end, n). */
static void ac_emit(const struct ac *a, uint32_t c, uint64_t *hits,
                    const unsigned char *t, size_t n, size_t end)
{
    uint32_t j = ac_state_num(a, c);
    for (uint32_t o = a->st[j].emit; o != 0; o = a->st[o].dict) {
        const uint32_t *p = a->outs + a->st[o].out_first;
        for (uint32_t q = 0; q < a->st[o].out_n; q++) {
            uint32_t x = p[q];
            if (x & AC_VERIFY) {
                /* t has 8 zero bytes after its end: the 8-byte load is
                 * always inside it */
                const struct ac_verify *v = &a->ver[x & ~AC_VERIFY];
                size_t rest = v->rest;
                uint64_t w;
                memcpy(&w, t + end, 8);
                if (rest > n - end || (w & a->vmask[rest < 8 ? rest : 8]) != v->head ||
                    (rest > 8 && memcmp(t + end + 8, a->pool + v->off + AC_ANCHOR + 8,
                                        rest - 8) != 0))
                    continue;
                x = v->target;
            }
            bitmap_set(hits, x);
        }
    }
}


/* The 16-bit layout over the normalized t[0, n) (8 zero bytes after it).
 * Each byte is a table load whose address depends on the previous load, so
 * one walk waits out the load latency byte after byte. A text of at least
 * AC_SPLIT_MIN bytes is walked as AC_CHAINS independent walks instead, in
 * one loop, their loads overlapping. That is exact because the trie is at
 * most AC_ANCHOR deep: the state after t[p - 1] is the longest suffix of
 * t[0, p) in the trie, so it is also the state reached from the root over
 * t[p - AC_ANCHOR, p). Walk j > 0 starts from the root AC_ANCHOR bytes
 * before its part, and reports nothing in those AC_ANCHOR bytes: walk
 * j - 1 ends on them with the true states and reports what is there. */
#define AC_CHAINS 3
#define AC_SPLIT_MIN 64

/* The transition on byte b from the state with code c (AC16_EMIT set
 * when the new state reports something). */
static inline __attribute__((always_inline)) uint32_t
ac_next16(const struct ac *a, uint32_t c, unsigned char b)
{
    return a->dense16[(size_t)c * AC16_SCALE + a->cls[b]];
}

/* One byte, t[p], from the state with code c; returns the new code. */
static inline __attribute__((always_inline)) uint32_t
ac_step16(const struct ac *a, uint32_t c, const unsigned char *t, size_t n,
          size_t p, uint64_t *hits)
{
    uint32_t v = ac_next16(a, c, t[p]);
    c = v & ~AC16_EMIT;
    if (__builtin_expect((v & AC16_EMIT) != 0, 0))
        ac_emit(a, c, hits, t, n, p + 1);
    return c;
}

static void ac_scan16(const struct ac *a, const unsigned char *t, size_t n,
                      uint64_t *hits)
{
    if (n < AC_SPLIT_MIN) {
        uint32_t c = 0;
        for (size_t i = 0; i < n; i++)
            c = ac_step16(a, c, t, n, i, hits);
        return;
    }
    /* L steps each; walk j starts at j * d, d = L - AC_ANCHOR, so the parts
     * meet. L rounds up: the last walk may read up to AC_CHAINS - 1 of the
     * zero bytes after t, which lead to the root and emit nothing. */
    size_t L = (n + (AC_CHAINS - 1) * AC_ANCHOR + AC_CHAINS - 1) / AC_CHAINS;
    size_t d = L - AC_ANCHOR;
    uint32_t c0 = 0, c1 = 0, c2 = 0;
    size_t i = 0;
    /* the warm-up of walks 1 and 2: states only; what they would report
     * there, the walk before reports at the same bytes */
    for (; i < AC_ANCHOR; i++) {
        c0 = ac_step16(a, c0, t, n, i, hits);
        c1 = ac_next16(a, c1, t[i + d]) & ~AC16_EMIT;
        c2 = ac_next16(a, c2, t[i + 2 * d]) & ~AC16_EMIT;
    }
    for (; i < L; i++) {
        c0 = ac_step16(a, c0, t, n, i, hits);
        c1 = ac_step16(a, c1, t, n, i + d, hits);
        c2 = ac_step16(a, c2, t, n, i + 2 * d, hits);
    }
}
_Static_assert(AC_CHAINS == 3 && AC_SPLIT_MIN > AC_CHAINS * AC_ANCHOR,
               "ac_scan16 walks three parts, each longer than AC_ANCHOR");

/* The automaton over t[0, n), already normalized; emits at once, as the
 * whole text is known. */
static void ac_scan_norm(const struct ac *a, const unsigned char *t, size_t n,
                         uint64_t *hits)
{
    if (a->dense16) {
        ac_scan16(a, t, n, hits);
        return;
    }
    const uint32_t *dense = a->dense;
    const uint32_t dlim = a->dlim;
    uint32_t c = 0;                         /* the root's code */
    for (size_t i = 0; i < n; i++) {
        uint32_t k = a->cls[t[i]];
        uint32_t v = c < dlim ? dense[c + k]
                              : ac_step_sparse(a, c - dlim + a->ndense, k);
        c = v & ~AC_EMIT;
        if (v & AC_EMIT)
            ac_emit(a, c, hits, t, n, i + 1);
    }
}

/* Set the target bits of every pattern occurring in the diagnostic text
 * in[0, inlen) AS NORMALIZED by normalize(in, inlen, buf, TEXT_SCAN_MAX).
 *
 * One pass normalizes into t[] and walks the automaton (with the 16-bit
 * layout a text of AC_SPLIT_MIN bytes or more is only normalized, and
 * ac_scan16 walks t after). A state that reports something is rare
 * (about two per text); its verify entries need the text after the
 * anchor, which is not normalized yet, so the pass only notes where it
 * entered such a state and the notes are worked off once the text is
 * complete. Should a text enter more than EMIT_MAX
 * of them, the notes are dropped and the automaton walks the finished
 * text again, emitting at once: the same hits, only slower.
 *
 * While inlen < TEXT_SCAN_MAX the output, never longer than the input,
 * cannot reach normalize()'s bound, so the loop has no test for it; a
 * longer text is normalized by normalize() itself first. */
#define EMIT_MAX 64

/* Where the pass entered a state that reports something. */
struct ac_notes {
    uint32_t code[EMIT_MAX];
    uint16_t end[EMIT_MAX];
    size_t n;
    int overflow;
};

/* Table layouts, for ac_feed: none (the pass only normalizes, for
 * ac_scan16), 16-bit codes (all states dense, see AC16_SCALE), 32-bit
 * codes with every state dense, 32-bit codes with sparse deep states. */
enum { AC_NORM, AC_L16, AC_L32_DENSE, AC_L32 };

/* One normalized byte of class k from the state with code c; returns the
 * new code and notes an emit. layout: AC_L*, a constant at each call, so
 * the compiler makes one loop of ac_pass per layout, none with a test for
 * another. */
static inline __attribute__((always_inline)) uint32_t
ac_feed(const struct ac *a, uint32_t c, uint32_t k, size_t end,
        struct ac_notes *nt, const int layout)
{
    uint32_t v, emit;
    if (layout == AC_NORM)
        return c;
    if (layout == AC_L16) {
        v = a->dense16[(size_t)c * AC16_SCALE + k];
        emit = AC16_EMIT;
    } else {
        v = layout == AC_L32_DENSE || c < a->dlim
                ? a->dense[c + k]
                : ac_step_sparse(a, c - a->dlim + a->ndense, k);
        emit = AC_EMIT;
    }
    c = v & ~emit;
    if (__builtin_expect((v & emit) != 0, 0)) {
        if (nt->n < EMIT_MAX) {
            nt->code[nt->n] = c;
            nt->end[nt->n++] = (uint16_t)end;
        } else {
            nt->overflow = 1;
        }
    }
    return c;
}

/* The single pass of ac_scan_text (inlen < TEXT_SCAN_MAX): returns the
 * normalized length. */
static inline __attribute__((always_inline)) size_t
ac_pass(const struct ac *a, const unsigned char *s, size_t inlen, unsigned char *t,
        struct ac_notes *nt, const int layout)
{
    const uint16_t *raw = a->raw;
    const uint32_t space = a->cls[' '];
    uint32_t c = 0;                         /* the root's code */
    size_t o = 0;
    for (size_t i = 0; i < inlen; i++) {
        uint32_t e = raw[s[i]], k = e >> 8;
        if (__builtin_expect(k >= AC_RAW_BLANK, 0)) {
            if (k == AC_RAW_STOP)
                break;
            /* a run of blanks: one space, if a char came before and one
             * follows (NUL or the end drops it) */
            size_t j = i + 1;
            while (j < inlen && (raw[s[j]] >> 8) == AC_RAW_BLANK)
                j++;
            if (j >= inlen || (raw[s[j]] >> 8) == AC_RAW_STOP)
                break;
            if (o > 0) {
                t[o++] = ' ';
                c = ac_feed(a, c, space, o, nt, layout);
            }
            i = j;
            e = raw[s[i]];
            k = e >> 8;
        }
        t[o++] = (unsigned char)e;
        c = ac_feed(a, c, k, o, nt, layout);
    }
    return o;
}

static void ac_scan_text(const struct ac *a, const char *in, size_t inlen,
                         uint64_t *hits)
{
    if (!a->st)
        return;
    unsigned char t[TEXT_SCAN_MAX + 8];
    if (inlen >= TEXT_SCAN_MAX) {
        size_t n = normalize(in, inlen, t, TEXT_SCAN_MAX);
        memset(t + n, 0, 8);                /* see ac_emit */
        ac_scan_norm(a, t, n, hits);
        return;
    }
    const unsigned char *s = (const unsigned char *)in;
    struct ac_notes nt;
    nt.n = 0;
    nt.overflow = 0;
    if (a->dense16 && inlen >= AC_SPLIT_MIN) {
        size_t n = ac_pass(a, s, inlen, t, &nt, AC_NORM);
        memset(t + n, 0, 8);                /* see ac_emit, ac_scan16 */
        ac_scan16(a, t, n, hits);
        return;
    }
    size_t n = a->dense16 ? ac_pass(a, s, inlen, t, &nt, AC_L16)
             : a->ndense == a->nstate ? ac_pass(a, s, inlen, t, &nt, AC_L32_DENSE)
                                      : ac_pass(a, s, inlen, t, &nt, AC_L32);
    memset(t + n, 0, 8);                    /* see ac_emit */
    if (nt.overflow) {
        ac_scan_norm(a, t, n, hits);
        return;
    }
    for (size_t e = 0; e < nt.n; e++)
        ac_emit(a, nt.code[e], hits, t, n, nt.end[e]);
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
    if (a->dense16)
        return BG_LAYOUT_DENSE16;
    return a->ndense == a->nstate ? BG_LAYOUT_DENSE32 : BG_LAYOUT_SPARSE32;
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
