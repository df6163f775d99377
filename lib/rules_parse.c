/* rules_parse.c - the rules-file parser: conf/rules.conf's format (see
 * that file) into a rule set, struct bg_rules; the built-in rules
 * (rules_default.c) parsed once; a site's rules file loaded in front of
 * them. Every bound is checked (file size, line length, rules, patterns)
 * and every error names the file and line.
 */
#include "rules_int.h"
#include "classify_internal.h"
#include "openreg.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int reason_valid(const char *s)
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

int class_lookup(const char *s, enum bg_class *c)
{
    for (size_t i = 0; i < sizeof class_names / sizeof class_names[0]; i++)
        if (strcmp(s, class_names[i].name) == 0) {
            *c = class_names[i].cls;
            return 0;
        }
    return -1;
}

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
