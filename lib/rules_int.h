/* rules_int.h - what the files of the classifier share: the bounds, the
 * parsed rule set (struct bg_rules), the automaton (struct ac) and the
 * functions one file calls in another. Not an API: classify.h is.
 *
 *   rules_parse.c    the rules-file parser (conf/rules.conf's format) and
 *                    loading: text -> struct bg_rules
 *   rules_compile.c  the Aho-Corasick automaton over every text= pattern,
 *                    built while parsing and compiled once the set is known
 *   classify_scan.c  one pass of the automaton over a diagnostic text
 *   classify.c       matching: from the facts of one recipient to a rule
 *   policy.c         from class and reason to what bouncegate does
 *   rules_default.c  the built-in rules (generated from conf/rules.conf)
 */
#ifndef BG_RULES_INT_H
#define BG_RULES_INT_H

#include "classify.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bounds. */
#define RULES_MAX_FILE   (1024 * 1024)  /* bytes of a rules file */
#define RULES_MAX_LINE   16384          /* bytes of one logical rule */
#define RULES_MAX_RULES  4096
#define RULES_MAX_ALTS   16384          /* text alternatives per rule set */
#define RULES_MAX_PAT    256            /* bytes of one text alternative */
#define RULES_MAX_LIST   64             /* entries in status=/code=/mta=... */
#define RULES_MAX_TOKLEN 128            /* bytes of one status/code/mta item */
#define TEXT_SCAN_MAX    4096           /* bytes of diag looked at */

static inline int lc(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static inline int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

static inline void copy_str(char *dst, const char *src, size_t dstsz)
{
    size_t n = strlen(src);
    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The automaton is built in two stages. While parsing, patterns go into a
 * plain trie (linked edge lists, cheap to grow). Once the whole rule set is
 * known, rules_compile() (rules_compile.c) turns the trie
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
    uint32_t ncls;           /* classes including 0 */
    uint32_t nstate;
    uint32_t ndense;         /* states [0, ndense) have a dense row */
    uint32_t dlim;           /* ndense * ncls, see "state codes" */
    uint32_t *dense;         /* ndense rows of ncls state codes */
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
/* Dense rows for states of depth <= AC_DENSE_DEPTH, and never more than
 * AC_DENSE_CELLS cells (4 MiB) whatever a hostile rules file holds. */
#define AC_DENSE_DEPTH 10
#define AC_DENSE_CELLS (1u << 20)
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

/* Status and reply code values are compared as CODE_BUF zero-padded
 * bytes (two 64-bit words). */
#define CODE_BUF 16
_Static_assert(CODE_BUF == 2 * sizeof(uint64_t), "code_match compares two words");

static inline unsigned fc_of(const char *v)
{
    switch (v[0]) {
    case '\0': return FC_EMPTY;
    case '2': return FC_2;
    case '4': return FC_4;
    case '5': return FC_5;
    default: return FC_OTHER;
    }
}

static inline void bitmap_set(uint64_t *w, size_t i)
{
    w[i >> 6] |= (uint64_t)1 << (i & 63);
}

static inline int bitmap_get(const uint64_t *w, size_t i)
{
    return (int)((w[i >> 6] >> (i & 63)) & 1);
}

/* State code (without the flag) -> state number. */
static inline uint32_t ac_state_num(const struct ac *a, uint32_t c)
{
    return c < a->dlim ? c / a->ncls : c - a->dlim + a->ndense;
}

/* ---- rules_parse.c */
/* Is s one of the reason names (Sisimai's vocabulary)? */
int reason_valid(const char *s);
/* The class named s: 0 with *c set, or -1. */
int class_lookup(const char *s, enum bg_class *c);

/* ---- rules_compile.c */
/* An empty trie; 0, or -1 out of memory. */
int ac_init(struct ac *a);
/* Everything the automaton holds, trie or compiled. */
void ac_free(struct ac *a);
/* Adds pattern p (normalized, 0 < len <= RULES_MAX_PAT) with the next
 * pattern id (a->npat): its first AC_ANCHOR bytes to the trie, all of it
 * to the pool. 0, or -1 (out of memory, or already compiled). */
int ac_add(struct ac *a, const unsigned char *p, size_t len);
/* Rule bitmaps, then the automaton: the trie becomes the scanner's form
 * and is freed. On failure the rule set must be discarded. */
int rules_compile(struct bg_rules *r);

/* Needles that name the SMTP command when the report did not, in every
 * automaton (rules_compile.c): the first AC_N_RCPT say RCPT, the rest
 * DATA. */
#define AC_N_NEEDLES 6
#define AC_N_RCPT 3
extern const char *const cmd_needles[AC_N_NEEDLES];

/* Hit bitmap of one scan (see struct ac): text= bits of rules in words
 * [0, nword), notext= bits in [nword, 2 nword), the two needle bits in
 * word 2 nword. */
#define HIT_WORDS_MAX (2 * ((RULES_MAX_RULES + 63) / 64) + 1)

/* ---- classify_scan.c */
/* Lowercase ASCII, collapse whitespace runs to one space, trim: the form
 * patterns and texts are compared in. Returns the length written. */
size_t normalize(const char *in, size_t inlen, unsigned char *out, size_t outsz);
/* Sets the target bits (struct ac) of every pattern in the diagnostic
 * in[0, inlen) as normalized, at most TEXT_SCAN_MAX bytes of it. */
void ac_scan_text(const struct ac *a, const char *in, size_t inlen, uint64_t *hits);

#endif
