/* rules_compile.c - the Aho-Corasick automaton of a rule set: every
 * text=/notext= pattern goes into one trie while the rules are parsed
 * (ac_add); once the set is known, rules_compile turns the trie into the
 * scanner's tables (rules_int.h, at struct ac, says how) and works out
 * the per-rule bitmaps and conditions that matching checks.
 */
#include "rules_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int ac_init(struct ac *a)
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

void ac_free(struct ac *a)
{
    ac_free_trie(a);
    free(a->pat_off);
    free(a->pat_len);
    free(a->dense);
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
int ac_add(struct ac *a, const unsigned char *p, size_t len)
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

/* Needles that name the SMTP command when the report did not ("... RCPT TO
 * response", "[RCPT_TO]", "SMTP:RCPT host"). They ride along in every
 * automaton, so the scan that matches the rules finds them too. Already in
 * normalized form. The first AC_N_RCPT say RCPT, the rest DATA. */
const char *const cmd_needles[] = {
    "rcpt to", "rcpt_to", "smtp:rcpt",
    "end of data", "after data", "data command",
};
#define AC_N_RCPT 3

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

/* State number -> state code (see AC_EMIT), without the flag. */
static uint32_t ac_code(const struct ac *a, uint32_t j)
{
    return j < a->ndense ? j * a->ncls : a->dlim + (j - a->ndense);
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
int rules_compile(struct bg_rules *r)
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
     * so at most 256 - 26 - 6 bytes have a class: ncls fits a byte. */
    for (int b = 0; b < 256; b++)
        if (a->cls[b])
            a->cls[b] = (unsigned char)ncls++;

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