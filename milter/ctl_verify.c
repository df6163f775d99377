/* ctl_verify.c - `bouncegatectl verify`: which addresses of a list should
 * not be sent to, before the campaign (see bouncegatectl(8)).
 *
 * Reads every line first (one address per line, or a CSV with an address
 * column), so a bad input is reported before anything is written; then
 * asks the shared set for each address, and the DNS once per domain
 * (lib/dnscheck.c), many domains at a time; then writes one verdict per
 * address in input order and a summary on stderr. Verdicts, strongest
 * first: invalid, suppressed, no-domain, null-mx, no-mail-host,
 * dns-error, risky (a role account, a likely typo of a big provider's
 * domain), ok.
 */
#include "ctl.h"
#include "address.h"
#include "config.h"
#include "dnscheck.h"
#include "journal.h"
#include "record.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VERIFY_LINE_MAX 4096

enum verdict { V_OK, V_RISKY, V_DNS_ERROR, V_NO_MAIL_HOST, V_NULL_MX, V_NO_DOMAIN,
               V_SUPPRESSED, V_INVALID, V_N };
static const char *const verdict_name[V_N] = {
    "ok", "risky", "dns-error", "no-mail-host", "null-mx", "no-domain", "suppressed", "invalid",
};

struct entry {
    char *raw;                 /* as read (trimmed) */
    char norm[BG_ADDR_MAX];    /* "" when invalid */
    size_t dom;                /* index into the domain table */
    enum verdict v;
    char detail[160];
};

/* ---------------------------------------------------------------- hints */

/* Big providers' domains: a domain one edit away from one of them (a
 * letter added, dropped, changed, or two swapped) is probably a typo. */
static const char *const providers[] = {
    "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
    "msn.com", "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de",
    "yahoo.co.uk", "hotmail.co.uk", "yahoo.fr", "hotmail.fr", "orange.fr", "free.fr",
    "comcast.net", "verizon.net", "att.net", "protonmail.com", "proton.me", "mail.ru",
    "yandex.ru", "qq.com", "163.com", NULL };

/* Is b one edit (Damerau) from a? Both NUL-terminated, short. */
static int one_edit(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i = 0;
    if (la > lb + 1 || lb > la + 1 || (la == lb && strcmp(a, b) == 0))
        return 0;
    while (i < la && i < lb && a[i] == b[i])
        i++;
    if (la == lb)   /* one changed, or two swapped */
        return strcmp(a + i + 1, b + i + 1) == 0 ||
               (i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] &&
                strcmp(a + i + 2, b + i + 2) == 0);
    return la > lb ? strcmp(a + i + 1, b + i) == 0 : strcmp(a + i, b + i + 1) == 0;
}

static const char *typo_of(const char *domain)
{
    for (int k = 0; providers[k]; k++)
        if (strcmp(domain, providers[k]) == 0)
            return NULL;
    for (int k = 0; providers[k]; k++)
        if (one_edit(domain, providers[k]))
            return providers[k];
    return NULL;
}

/* Addresses of a role, not a person: lists rarely have a right to mail them. */
static int is_role(const char *addr)
{
    static const char *const roles[] = {
        "postmaster", "abuse", "hostmaster", "webmaster", "admin", "administrator", "info",
        "support", "sales", "noreply", "no-reply", "donotreply", "contact", "office",
        "marketing", "help", "root", "security", "billing", "newsletter", NULL };
    const char *at = strrchr(addr, '@');
    size_t n = at ? (size_t)(at - addr) : strlen(addr);
    const char *plus = memchr(addr, '+', n);
    if (plus)
        n = (size_t)(plus - addr);
    for (int k = 0; roles[k]; k++)
        if (strlen(roles[k]) == n && strncasecmp(addr, roles[k], n) == 0)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- input */

/* The address column of a CSV header line (import's names, through
 * ctl_header_is_address), or -1. work is as long as line. */
static int address_column(const char *line, char *work)
{
    char *f[64];
    int nf = ctl_csv_split(line, work, f, 64);
    for (int col = 0; col < nf; col++) {
        ctl_trim(f[col]);
        if (ctl_header_is_address(f[col]))
            return col;
    }
    return -1;
}

/* ---------------------------------------------------------------- domains */

struct domains {
    char **name;
    size_t n, cap;
    size_t *slot;              /* open addressing: index + 1, 0 empty */
    size_t nslot;
};

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The index of domain d, added when new; (size_t)-1 out of memory. */
static size_t domain_index(struct domains *t, const char *d)
{
    if (2 * (t->n + 1) > t->nslot) {
        size_t ns = t->nslot ? 2 * t->nslot : 1024;
        size_t *s = calloc(ns, sizeof *s);
        if (s == NULL)
            return (size_t)-1;
        for (size_t i = 0; i < t->n; i++) {
            size_t h = hash_str(t->name[i]) & (ns - 1);
            while (s[h])
                h = (h + 1) & (ns - 1);
            s[h] = i + 1;
        }
        free(t->slot);
        t->slot = s;
        t->nslot = ns;
    }
    size_t h = hash_str(d) & (t->nslot - 1);
    while (t->slot[h]) {
        if (strcmp(t->name[t->slot[h] - 1], d) == 0)
            return t->slot[h] - 1;
        h = (h + 1) & (t->nslot - 1);
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 256;
        char **nn = realloc(t->name, nc * sizeof *nn);
        if (nn == NULL)
            return (size_t)-1;
        t->name = nn;
        t->cap = nc;
    }
    if ((t->name[t->n] = strdup(d)) == NULL)
        return (size_t)-1;
    t->slot[h] = t->n + 1;
    return t->n++;
}

/* ---------------------------------------------------------------- output */

static void progress(size_t done, size_t n, void *arg)
{
    if (*(int *)arg && (done % 100 == 0 || done == n))
        fprintf(stderr, "\rverify: %zu of %zu domains", done, n);
}

static int usage(void)
{
    fprintf(stderr, "usage: bouncegatectl verify [--json|--csv] [--resolver HOST[:PORT]] "
                    "[--concurrency N] [--timeout MS] [--suppress-dead] [FILE|-]\n");
    return 2;
}

/* --suppress-dead: a domain entry for a domain that cannot take mail,
 * journalled like every write of the tool. 0 written, 1 there already
 * (its entry and evidence stay as they are), -1 error. */
static int suppress_domain(struct bg_store *s, const struct bg_config *cfg, const char *d,
                           enum verdict v, const char *detail)
{
    struct bg_record r;
    memset(&r, 0, sizeof r);
    long long now = (long long)time(NULL);
    r.cls = BG_CLASS_HARD;
    snprintf(r.reason, sizeof r.reason, "%s", v == V_NULL_MX ? "notaccept" : "hostunknown");
    snprintf(r.status, sizeof r.status, "%s", v == V_NULL_MX ? "5.1.10" : "5.1.2");
    snprintf(r.rule, sizeof r.rule, "verify");
    snprintf(r.source, sizeof r.source, "verify");
    snprintf(r.diag, sizeof r.diag, "%s: %s", d, detail);
    r.first_seen = r.last_seen = now;
    r.expires = cfg->dead_domain_ttl > 0 ? now + cfg->dead_domain_ttl : 0;
    r.count = 1;
    char err[512];
    struct bg_record old;
    int have = bg_store_get(s, BG_KIND_DOMAIN, d, &old, err, sizeof err);
    if (have < 0) {
        fprintf(stderr, "bouncegatectl: verify: cannot read @%s: %s\n", d, err);
        return -1;
    }
    if (have > 0)
        return 1;   /* already suppressed: its evidence stays */
    if (bg_store_put(s, BG_KIND_DOMAIN, d, &r, err, sizeof err) < 0) {
        fprintf(stderr, "bouncegatectl: verify: cannot suppress @%s: %s\n", d, err);
        return -1;
    }
    return 0;
}

int ctl_verify(const struct bg_config *cfg, struct bg_store *s, int argc, char **argv)
{
    int json = 0, csv = 0, dead = 0;
    unsigned conc = 50, timeout_ms = 2000;
    const char *resolver = NULL, *file = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0)
            json = 1;
        else if (strcmp(a, "--csv") == 0)
            csv = 1;
        else if (strcmp(a, "--suppress-dead") == 0)
            dead = 1;
        else if ((strcmp(a, "--resolver") == 0 || strcmp(a, "--concurrency") == 0 ||
                  strcmp(a, "--timeout") == 0) && i + 1 < argc) {
            const char *v = argv[++i];
            if (a[2] == 'r') {
                resolver = v;
            } else {
                char *end;
                unsigned long n = strtoul(v, &end, 10);
                if (*v == '\0' || *end || n == 0 || n > (a[2] == 'c' ? 1000UL : 60000UL))
                    return usage();
                if (a[2] == 'c')
                    conc = (unsigned)n;
                else
                    timeout_ms = (unsigned)n;
            }
        } else if (a[0] == '-' && a[1]) {
            return usage();
        } else if (file == NULL) {
            file = a;
        } else {
            return usage();
        }
    }
    if (json && csv)
        return usage();
    const char *name = file && strcmp(file, "-") != 0 ? file : "-";
    FILE *fp = ctl_open_in(file);
    if (fp == NULL)
        return 2;

    /* ---- read everything; stop at the first bad line */
    struct entry *e = NULL;
    size_t n = 0, cap = 0;
    char line[VERIFY_LINE_MAX], work[VERIFY_LINE_MAX];
    unsigned long lineno = 0;
    int col = -1, got, rc = 0;
    while ((got = ctl_next_line(fp, line, sizeof line)) != 0) {
        lineno++;
        if (got < 0) {
            fprintf(stderr, "bouncegatectl: verify: %s: line %lu: a NUL byte or longer than %d "
                    "bytes\n", name, lineno, VERIFY_LINE_MAX - 1);
            rc = 2;
            break;
        }
        char *l = lineno == 1 ? ctl_skip_bom(line) : line;
        if (lineno == 1 && strchr(l, ',') != NULL) {
            if ((col = address_column(l, work)) < 0) {
                fprintf(stderr, "bouncegatectl: verify: %s: line 1: a CSV without an address "
                        "column (address, email, email_address or recipient)\n", name);
                rc = 2;
                break;
            }
            continue;
        }
        if (lineno == 1 && address_column(l, work) == 0) {
            col = 0;   /* a one-column CSV: its header */
            continue;
        }
        char *addr = l;
        if (col >= 0) {
            char *f[64];
            int nf = ctl_csv_split(l, work, f, 64);
            if (nf <= col) {
                fprintf(stderr, "bouncegatectl: verify: %s: line %lu: no field %d, or bad "
                        "quoting\n", name, lineno, col + 1);
                rc = 2;
                break;
            }
            addr = f[col];
        }
        ctl_trim(addr);
        if (addr[0] == '\0')
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 1024;
            struct entry *ne = realloc(e, nc * sizeof *ne);
            if (ne == NULL) {
                fprintf(stderr, "bouncegatectl: verify: out of memory\n");
                rc = 2;
                break;
            }
            e = ne;
            cap = nc;
        }
        struct entry *x = &e[n];
        memset(x, 0, sizeof *x);
        if ((x->raw = strdup(addr)) == NULL) {
            fprintf(stderr, "bouncegatectl: verify: out of memory\n");
            rc = 2;
            break;
        }
        n++;
    }
    if (rc == 0 && ferror(fp)) {
        fprintf(stderr, "bouncegatectl: verify: %s: read error\n", name);
        rc = 2;
    }
    if (fp != stdin)
        fclose(fp);

    struct domains dt = { 0 };
    enum bg_dns_verdict *dv = NULL;
    char (*dd)[64] = NULL;
    unsigned long errors = 0;
    if (rc == 0) {
        /* ---- syntax, the shared set, the domains to ask */
        for (size_t i = 0; i < n && rc == 0; i++) {
            struct entry *x = &e[i];
            const char *why = NULL;
            if (bg_addr_normalize(x->raw, strlen(x->raw), x->norm, sizeof x->norm, &why) < 0) {
                x->norm[0] = '\0';
                x->v = V_INVALID;
                snprintf(x->detail, sizeof x->detail, "%s", why ? why : "not an address");
                continue;
            }
            const char *d = bg_addr_domain(x->norm);
            if ((x->dom = domain_index(&dt, d ? d : "")) == (size_t)-1) {
                fprintf(stderr, "bouncegatectl: verify: out of memory\n");
                rc = 2;
                break;
            }
            struct bg_record rec;
            int dh = 0;
            char err[512];
            int lr = bg_store_lookup(s, x->norm, d ? d : "", &rec, &dh, err, sizeof err);
            if (lr < 0) {
                if (errors++ == 0)
                    fprintf(stderr, "bouncegatectl: verify: memcached: %s\n", err);
            } else if (lr > 0) {
                char since[16] = "-";
                time_t t = (time_t)rec.first_seen;
                struct tm tm;
                if (t > 0 && gmtime_r(&t, &tm))
                    strftime(since, sizeof since, "%Y-%m-%d", &tm);
                x->v = V_SUPPRESSED;
                snprintf(x->detail, sizeof x->detail, "class=%s reason=%s since=%s scope=%s",
                         bg_class_name(rec.cls), rec.reason[0] ? rec.reason : "-", since,
                         dh ? "domain" : "recipient");
            }
        }
    }
    if (rc == 0 && dt.n > 0) {
        /* ---- the DNS, once per domain */
        char err[512];
        struct bg_dnscheck *dc = bg_dnscheck_new(resolver, timeout_ms, 2, err, sizeof err);
        dv = calloc(dt.n, sizeof *dv);
        dd = calloc(dt.n, sizeof *dd);
        if (dc == NULL || dv == NULL || dd == NULL) {
            fprintf(stderr, "bouncegatectl: verify: %s\n", dc ? "out of memory" : err);
            rc = 2;
        } else {
            int tty = isatty(STDERR_FILENO);
            if (bg_dnscheck_run(dc, (const char *const *)dt.name, dt.n, conc, dv, dd, progress,
                                &tty, err, sizeof err) < 0) {
                fprintf(stderr, "bouncegatectl: verify: %s\n", err);
                rc = 2;
            }
            if (tty)
                fputs("\r\033[K", stderr);
        }
        bg_dnscheck_free(dc);
    }
    unsigned long count[V_N] = { 0 }, dead_bad = 0;
    if (rc == 0) {
        /* ---- verdicts, in input order */
        if (csv)
            fputs("address,verdict,detail\n", stdout);
        for (size_t i = 0; i < n; i++) {
            struct entry *x = &e[i];
            if (x->v == V_OK && x->norm[0]) {
                switch (dv[x->dom]) {
                case BG_DNS_NO_DOMAIN: x->v = V_NO_DOMAIN; break;
                case BG_DNS_NULL_MX: x->v = V_NULL_MX; break;
                case BG_DNS_NO_MAIL_HOST: x->v = V_NO_MAIL_HOST; break;
                case BG_DNS_ERROR: x->v = V_DNS_ERROR; break;
                case BG_DNS_OK: break;
                }
                if (x->v != V_OK) {
                    snprintf(x->detail, sizeof x->detail, "%s", dd[x->dom]);
                } else {
                    const char *t = typo_of(dt.name[x->dom]);
                    if (t) {
                        x->v = V_RISKY;
                        snprintf(x->detail, sizeof x->detail, "typo? did you mean %s",
                                 t);
                    } else if (is_role(x->norm)) {
                        x->v = V_RISKY;
                        snprintf(x->detail, sizeof x->detail, "role account");
                    } else {
                        snprintf(x->detail, sizeof x->detail, "%s", dd[x->dom]);
                    }
                }
            }
            count[x->v]++;
            const char *shown = x->norm[0] ? x->norm : x->raw;
            if (json) {
                printf("{\"line\":%zu,\"address\":", i + 1);
                ctl_json_str(stdout, shown);
                printf(",\"verdict\":\"%s\",\"detail\":", verdict_name[x->v]);
                ctl_json_str(stdout, x->detail);
                fputs("}\n", stdout);
            } else if (csv) {
                ctl_csv_field(stdout, shown, 0);
                ctl_csv_field(stdout, verdict_name[x->v], 0);
                ctl_csv_field(stdout, x->detail, 1);
            } else {
                printf("%s\t%s\t%s\n", shown, verdict_name[x->v], x->detail[0] ? x->detail : "-");
            }
        }
        if (dead) {
            for (size_t k = 0; k < dt.n; k++)
                if (dv[k] == BG_DNS_NO_DOMAIN || dv[k] == BG_DNS_NULL_MX) {
                    int w = suppress_domain(s, cfg, dt.name[k],
                                            dv[k] == BG_DNS_NULL_MX ? V_NULL_MX : V_NO_DOMAIN,
                                            dd[k]);
                    if (w < 0)
                        errors++;
                    else if (w == 0)
                        dead_bad++;
                }
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "bouncegatectl: verify: cannot write the verdicts\n");
            rc = 2;
        }
        /* the share that would bounce: what is certain to fail */
        unsigned long bounce = count[V_INVALID] + count[V_NO_DOMAIN] + count[V_NULL_MX] +
                               count[V_NO_MAIL_HOST] + count[V_SUPPRESSED];
        fprintf(stderr, "verify: addresses=%zu domains=%zu", n, dt.n);
        for (int v = 0; v < V_N; v++)
            fprintf(stderr, " %s=%lu", verdict_name[v], count[v]);
        fprintf(stderr, " would_bounce=%.1f%%", n ? 100.0 * (double)bounce / (double)n : 0.0);
        if (dead)
            fprintf(stderr, " domains_suppressed=%lu", dead_bad);
        if (errors)
            fprintf(stderr, " memcached_errors=%lu", errors);
        fputc('\n', stderr);
        if (rc == 0)
            rc = errors ? 2 : bounce ? 1 : 0;
    }
    for (size_t i = 0; i < n; i++)
        free(e[i].raw);
    free(e);
    for (size_t k = 0; k < dt.n; k++)
        free(dt.name[k]);
    free(dt.name);
    free(dt.slot);
    free(dv);
    free(dd);
    return rc;
}
