/* ctl_csv.c - bouncegatectl export, import and check.
 *
 * CSV (RFC 4180 quoting: a field with a comma, a quote or a blank edge is
 * quoted, quotes inside are doubled), one entry per line, header
 *
 *   address,class,reason,status,first_seen,expires
 *
 * address is the normalized address, or @domain for a whole domain; times
 * are ISO-8601 UTC ("2026-11-20T10:00:00Z"), expires empty = never.
 *
 * Import accepts what ESPs export: header names in any case, with blanks,
 * '_' or '-' ignored ("Email Address" = emailaddress), synonyms
 *   address: email, emailaddress, recipient
 *   class: type          reason: error (Mailgun's reply text)
 *   (status has none: "code" columns hold SMTP reply codes, not X.Y.Z)
 *   first_seen: created, createdat, date     expires: expiresat, expiry
 * and other columns ignored. Missing columns default to class manual,
 * reason imported, first_seen now, expires never. Class values: hard,
 * soft, block, complaint, manual and the synonyms bounce/hardbounce (hard),
 * softbounce (soft), spam/spamreport/abuse (complaint),
 * unsubscribe/unsubscribed/suppressed (manual). A reason that is not one
 * short word (at most 31 of A-Z a-z 0-9 . _ -) is kept in diag, with
 * reason "imported". Times: ISO-8601 (date, date+time, 'T' or blank,
 * optional fraction, Z or +HH:MM / -HH:MM / +HHMM), or Unix seconds.
 * A line without a header whose first field has an '@' is read in the
 * order above.
 */
#include "address.h"
#include "bg.h"
#include "config.h"
#include "ctl.h"
#include "journal.h"
#include "openreg.h"
#include "record.h"
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define CSV_LINE_MAX 8192
#define CSV_FIELDS_MAX 64

enum col { C_ADDRESS, C_CLASS, C_REASON, C_STATUS, C_FIRST, C_EXPIRES, C_N };

/* ------------------------------------------------------------ CSV */

/* Split one line (no newline) into fields, unquoting in place into out
 * (same size as line). Returns the number of fields, or -1 for a quote
 * left open or text after a closing quote. */
int ctl_csv_split(const char *line, char *out, char **f, int maxf)
{
    int n = 0;
    const char *p = line;
    char *o = out;
    for (;;) {
        if (n == maxf)
            return -1;
        f[n++] = o;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0')
                    return -1;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *o++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *o++ = *p++;
            }
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p != ',' && *p != '\0')
                return -1;
        } else {
            while (*p != ',' && *p != '\0') {
                if (*p == '"')
                    return -1;
                *o++ = *p++;
            }
        }
        *o++ = '\0';
        if (*p == '\0')
            return n;
        p++; /* comma */
    }
}

void ctl_trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (isspace((unsigned char)s[i]))
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

char *ctl_skip_bom(char *line)
{
    if ((unsigned char)line[0] == 0xef && (unsigned char)line[1] == 0xbb &&
        (unsigned char)line[2] == 0xbf)
        return line + 3;
    return line;
}

/* ------------------------------------------------------------ values */

static int header_col(const char *h)
{
    char k[64];
    size_t n = 0;
    for (; *h && n + 1 < sizeof k; h++)
        if (*h != ' ' && *h != '_' && *h != '-' && *h != '\t')
            k[n++] = (char)tolower((unsigned char)*h);
    k[n] = '\0';
    static const struct { const char *name; int col; } map[] = {
        { "address", C_ADDRESS }, { "email", C_ADDRESS }, { "emailaddress", C_ADDRESS },
        { "recipient", C_ADDRESS },
        { "class", C_CLASS }, { "type", C_CLASS },
        { "reason", C_REASON }, { "error", C_REASON },
        { "status", C_STATUS },
        { "firstseen", C_FIRST }, { "created", C_FIRST }, { "createdat", C_FIRST },
        { "date", C_FIRST },
        { "expires", C_EXPIRES }, { "expiresat", C_EXPIRES }, { "expiry", C_EXPIRES },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(k, map[i].name) == 0)
            return map[i].col;
    return -1;
}

static int class_value(const char *v, enum bg_class *c)
{
    if (*v == '\0') {
        *c = BG_CLASS_MANUAL;
        return 0;
    }
    if (bg_class_parse(v, c) == 0)
        return (*c == BG_CLASS_NONE || *c == BG_CLASS_UNDETERMINED) ? -1 : 0;
    char k[32];
    size_t n = 0;
    for (; *v && n + 1 < sizeof k; v++)
        if (*v != ' ' && *v != '_' && *v != '-')
            k[n++] = (char)tolower((unsigned char)*v);
    k[n] = '\0';
    static const struct { const char *name; enum bg_class c; } syn[] = {
        { "bounce", BG_CLASS_HARD }, { "hardbounce", BG_CLASS_HARD },
        { "softbounce", BG_CLASS_SOFT },
        { "spam", BG_CLASS_COMPLAINT }, { "spamreport", BG_CLASS_COMPLAINT },
        { "abuse", BG_CLASS_COMPLAINT },
        { "unsubscribe", BG_CLASS_MANUAL }, { "unsubscribed", BG_CLASS_MANUAL },
        { "suppressed", BG_CLASS_MANUAL },
    };
    for (size_t i = 0; i < sizeof syn / sizeof syn[0]; i++)
        if (strcmp(k, syn[i].name) == 0) {
            *c = syn[i].c;
            return 0;
        }
    return -1;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* ISO-8601 (UTC unless an offset is given) or Unix seconds. 0 or -1. */
static int parse_time(const char *s, long long *out)
{
    const char *p = s;
    int all = *p != '\0';
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            all = 0;
    if (all && strlen(s) <= 12) {
        *out = strtoll(s, NULL, 10);
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        digits(&p, 2, &d) < 0)
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &se) < 0)
                return -1;
            if (*p == '.' || *p == ',') {
                p++;
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
    }
    long long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (digits(&p, 2, &oh) < 0)
            return -1;
        if (*p == ':')
            p++;
        if (*p && digits(&p, 2, &om) < 0)
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 3600LL + om * 60LL);
    } else if (*p == ' ' && strcmp(p, " UTC") == 0) {
        p += 4;
    }
    if (*p != '\0' || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
        h > 23 || mi > 59 || se > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = (long long)t - off;
    return 0;
}

static void fmt_time(char *buf, size_t sz, long long t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
        buf[0] = '\0';
    else
        strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int status_ok(const char *s)
{
    /* X.YYY.ZZZ, X in 2, 4, 5 (RFC 3463) */
    if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
        return 0;
    s += 2;
    for (int part = 0; part < 2; part++) {
        int n = 0;
        while (isdigit((unsigned char)*s) && n < 4) {
            s++;
            n++;
        }
        if (n == 0 || n > 3)
            return 0;
        if (part == 0 && *s++ != '.')
            return 0;
    }
    return *s == '\0';
}

static int reason_word(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 31)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
            return 0;
    return 1;
}

/* FILE of import and check: stdin for "-", else a regular file only (a
 * FIFO would block the open, a device never end; bg_open_regular). */
FILE *ctl_open_in(const char *path)
{
    if (path == NULL || strcmp(path, "-") == 0)
        return stdin;
    struct stat st;
    int fd = bg_open_regular(path, &st);
    if (fd == BG_OPEN_NOTREG) {
        fprintf(stderr, "bouncegatectl: %s: not a regular file (%s)\n", path,
                bg_file_kind(st.st_mode));
        return NULL;
    }
    FILE *fp = fd < 0 ? NULL : fdopen(fd, "r");
    if (fp == NULL) {
        fprintf(stderr, "bouncegatectl: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return fp;
}

/* Next line without its newline (and a CR before it); 1 line, 0 EOF, -1
 * a line too long or holding a NUL byte: read to its end and skipped, so
 * it counts as one bad line and never swallows the next. Read byte by
 * byte (one thread: no stdio locking): fgets cannot say where a line with
 * a NUL in it ends. */
int ctl_next_line(FILE *fp, char *buf, size_t sz)
{
    size_t n = 0;
    int c, bad = 0, any = 0;
    while ((c = getc_unlocked(fp)) != EOF) {
        any = 1;
        if (c == '\n')
            break;
        if (c == '\0' || n + 1 >= sz)
            bad = 1;
        else
            buf[n++] = (char)c;
    }
    if (!any)
        return 0;
    buf[n] = '\0';
    if (bad)
        return -1;
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return 1;
}

int ctl_header_is_address(const char *h)
{
    return header_col(h) == C_ADDRESS;
}

/* ------------------------------------------------------------ export */

struct exp_ctx {
    FILE *fp;
    size_t n;
    unsigned long seen;          /* entries walked, for the progress line */
    struct ctl_progress pg;
};

static int export_one(const struct bg_journal_entry *e, void *arg)
{
    struct exp_ctx *x = arg;
    struct bg_record r;
    x->seen++;
    ctl_progress_tick(&x->pg, x->seen, (long long)x->seen);
    if (e->state != BG_JE_LIVE || bg_record_decode(e->rec, e->reclen, &r) < 0)
        return 0;
    char addr[BG_ADDR_MAX + 2], first[32], exp[32];
    snprintf(addr, sizeof addr, "%s%s", e->kind == BG_KIND_DOMAIN ? "@" : "", e->name);
    fmt_time(first, sizeof first, r.first_seen);
    fmt_time(exp, sizeof exp, r.expires);
    ctl_csv_field(x->fp, addr, 0);
    ctl_csv_field(x->fp, bg_class_name(r.cls), 0);
    ctl_csv_field(x->fp, r.reason, 0);
    ctl_csv_field(x->fp, r.status, 0);
    ctl_csv_field(x->fp, first, 0);
    ctl_csv_field(x->fp, exp, 1);
    x->n++;
    return 0;
}

int ctl_export(const struct bg_config *cfg, int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: bouncegatectl export [FILE]\n");
        return 2;
    }
    if (cfg->journal[0] == '\0') {
        fprintf(stderr, "bouncegatectl: export reads the live set from the Journal "
                "(memcached cannot list its keys): set Journal in the configuration\n");
        return 2;
    }
    char err[512];
    struct bg_journal_stats st;
    const char *path = argc == 1 ? argv[0] : "-";
    /* A regular file (or a new one) is written beside itself and renamed
     * over at the end: a journal that cannot be read leaves what was
     * there untouched, never half an export. Anything else (a terminal,
     * /dev/stdout, a pipe) is written to directly. */
    char tmp[4200] = "";
    FILE *fp = stdout;
    if (strcmp(path, "-") != 0) {
        struct stat ps;
        int sr = stat(path, &ps);
        if (sr == 0 ? S_ISREG(ps.st_mode) : errno == ENOENT) {
            if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) {
                fprintf(stderr, "bouncegatectl: %s: path too long\n", path);
                return 2;
            }
            int fd = mkstemp(tmp);
            mode_t um = umask(0);
            umask(um);
            if (fd < 0 || fchmod(fd, 0666 & ~um) < 0 || (fp = fdopen(fd, "w")) == NULL) {
                fprintf(stderr, "bouncegatectl: %s: %s\n", tmp, strerror(errno));
                if (fd >= 0) {
                    close(fd);
                    unlink(tmp);
                }
                return 2;
            }
        } else if ((fp = fopen(path, "w")) == NULL) {
            fprintf(stderr, "bouncegatectl: %s: %s\n", path, strerror(errno));
            return 2;
        }
    }
    fputs("address,class,reason,status,first_seen,expires\n", fp);
    struct exp_ctx x = { .fp = fp };
    /* Streamed (bg_journal_scan): the journal is read twice, never held,
     * so the total is not known up front and the progress line has no
     * estimate of the time left. */
    ctl_progress_start(&x.pg, "export", NULL, 0);
    int rc = bg_journal_scan(cfg->journal, (long long)time(NULL), export_one, &x, &st, err,
                             sizeof err);
    ctl_progress_end(&x.pg);
    int bad = ferror(fp) != 0;
    if (fp != stdout)
        bad |= fclose(fp) != 0;
    else
        bad |= fflush(fp) != 0;
    if (rc != 0 || bad) {
        if (rc != 0)
            fprintf(stderr, "bouncegatectl: export: %s\n", err);
        else
            fprintf(stderr, "bouncegatectl: %s: write error\n", tmp[0] ? tmp : path);
        if (tmp[0])
            unlink(tmp);
        return 2;
    }
    if (tmp[0] && rename(tmp, path) < 0) {
        fprintf(stderr, "bouncegatectl: rename %s: %s\n", tmp, strerror(errno));
        unlink(tmp);
        return 2;
    }
    if (st.bad)
        fprintf(stderr, "bouncegatectl: export: %zu malformed journal lines skipped\n", st.bad);
    fprintf(stderr, "export: entries=%zu\n", x.n);
    return 0;
}

/* ------------------------------------------------------------ import */

struct row {
    enum bg_kind kind;
    char name[BG_ADDR_MAX];
    struct bg_record rec;
};

/* Turn one row into an entry. 0, 1 expired (skip), -1 bad (why). */
static int make_row(char **f, int nf, const int *col, long long now, struct row *r,
                    const char **why, char *whybuf, size_t whysz)
{
    const char *v[C_N];
    for (int c = 0; c < C_N; c++) {
        v[c] = "";
        if (col[c] >= 0 && col[c] < nf) {
            ctl_trim(f[col[c]]);
            v[c] = f[col[c]];
        }
    }
    if (*v[C_ADDRESS] == '\0') {
        *why = "no address";
        return -1;
    }
    const char *nwhy = NULL;
    if (v[C_ADDRESS][0] == '@') {
        r->kind = BG_KIND_DOMAIN;
        if (bg_domain_normalize(v[C_ADDRESS], strlen(v[C_ADDRESS]), r->name, sizeof r->name,
                                &nwhy) < 0) {
            snprintf(whybuf, whysz, "bad domain: %s", nwhy ? nwhy : "?");
            *why = whybuf;
            return -1;
        }
    } else {
        r->kind = BG_KIND_RCPT;
        if (bg_addr_normalize(v[C_ADDRESS], strlen(v[C_ADDRESS]), r->name, sizeof r->name,
                              &nwhy) < 0) {
            snprintf(whybuf, whysz, "bad address: %s", nwhy ? nwhy : "?");
            *why = whybuf;
            return -1;
        }
    }
    memset(&r->rec, 0, sizeof r->rec);
    if (class_value(v[C_CLASS], &r->rec.cls) < 0) {
        *why = "unknown class";
        return -1;
    }
    if (reason_word(v[C_REASON])) {
        bg_strlcpy(r->rec.reason, v[C_REASON], sizeof r->rec.reason);
    } else {
        bg_strlcpy(r->rec.reason, "imported", sizeof r->rec.reason);
        bg_strlcpy(r->rec.diag, v[C_REASON], sizeof r->rec.diag);
    }
    if (*v[C_STATUS]) {
        if (!status_ok(v[C_STATUS])) {
            *why = "bad status (expected an enhanced status code such as 5.1.1)";
            return -1;
        }
        bg_strlcpy(r->rec.status, v[C_STATUS], sizeof r->rec.status);
    }
    long long first = now, exp = 0;
    if (*v[C_FIRST] && parse_time(v[C_FIRST], &first) < 0) {
        *why = "bad first_seen time";
        return -1;
    }
    if (*v[C_EXPIRES] && strcasecmp(v[C_EXPIRES], "never") != 0 &&
        parse_time(v[C_EXPIRES], &exp) < 0) {
        *why = "bad expires time";
        return -1;
    }
    bg_strlcpy(r->rec.source, "import", sizeof r->rec.source);
    r->rec.first_seen = r->rec.last_seen = first;
    r->rec.count = 1;
    r->rec.expires = exp;
    return (exp != 0 && exp <= now) ? 1 : 0;
}

int ctl_import(const struct bg_config *cfg, struct bg_store *s, struct bg_journal *j,
               int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: bouncegatectl import [FILE]\n");
        return 2;
    }
    FILE *fp = ctl_open_in(argc == 1 ? argv[0] : NULL);
    if (fp == NULL)
        return 2;
    if (cfg->journal[0] == '\0')
        fprintf(stderr, "bouncegatectl: warning: no Journal configured: imported entries "
                "live in memcached only\n");
    char *line = malloc(CSV_LINE_MAX), *work = malloc(CSV_LINE_MAX);
    char *f[CSV_FIELDS_MAX];
    int col[C_N];
    int have_header = 0, rc = 0;
    unsigned long lineno = 0, imported = 0, bad = 0, expired = 0;
    long long now = (long long)time(NULL);
    if (line == NULL || work == NULL) {
        fprintf(stderr, "bouncegatectl: out of memory\n");
        rc = 2;
        goto done;
    }
    for (int c = 0; c < C_N; c++)
        col[c] = -1;
    struct ctl_progress pg;
    ctl_progress_start(&pg, "import", fp, 0);
    for (;;) {
        int got = ctl_next_line(fp, line, CSV_LINE_MAX);
        if (got == 0)
            break;
        lineno++;
        ctl_progress_tick(&pg, lineno, -1);
        if (got < 0) {
            ctl_progress_end(&pg);   /* the message on a line of its own */
            fprintf(stderr, "bouncegatectl: import: line %lu: too long\n", lineno);
            bad++;
            continue;
        }
        char *l = lineno == 1 ? ctl_skip_bom(line) : line;
        const char *q = l;
        while (isspace((unsigned char)*q))
            q++;
        if (*q == '\0')
            continue;
        int nf = ctl_csv_split(l, work, f, CSV_FIELDS_MAX);
        if (nf < 0) {
            ctl_progress_end(&pg);   /* the message on a line of its own */
            fprintf(stderr, "bouncegatectl: import: line %lu: bad CSV quoting\n", lineno);
            bad++;
            continue;
        }
        if (!have_header) {
            have_header = 1;
            int any = 0;
            for (int i = 0; i < nf; i++) {
                ctl_trim(f[i]);
                int c = header_col(f[i]);
                if (c >= 0 && col[c] < 0) {
                    col[c] = i;
                    any |= c == C_ADDRESS;
                }
            }
            if (any)
                continue;
            if (strchr(f[0], '@') == NULL) {
                ctl_progress_end(&pg);   /* the message on a line of its own */
                fprintf(stderr, "bouncegatectl: import: line %lu: no address or email "
                        "column in the header\n", lineno);
                rc = 2;
                goto done;
            }
            /* No header: the export's column order. */
            for (int c = 0; c < C_N; c++)
                col[c] = c;
        }
        struct row r;
        const char *why = "?";
        char whybuf[160];
        int m = make_row(f, nf, col, now, &r, &why, whybuf, sizeof whybuf);
        if (m < 0) {
            ctl_progress_end(&pg);   /* the message on a line of its own */
            fprintf(stderr, "bouncegatectl: import: line %lu: %s\n", lineno, why);
            bad++;
            continue;
        }
        if (m > 0) {
            expired++;
            continue;
        }
        char err[512];
        if (bg_store_put(s, r.kind, r.name, &r.rec, err, sizeof err) < 0) {
            ctl_progress_end(&pg);   /* the message on a line of its own */
            fprintf(stderr, "bouncegatectl: import: line %lu: %s%s: %s (stopped)\n", lineno,
                    r.kind == BG_KIND_DOMAIN ? "@" : "", r.name, err);
            rc = 2;
            break;
        }
        imported++;
    }
    if (rc == 0 && ferror(fp)) {
        fprintf(stderr, "bouncegatectl: import: read error\n");
        rc = 2;
    }
    if (rc == 0 && !have_header && lineno == 0)
        fprintf(stderr, "bouncegatectl: import: empty input\n");
    if (j != NULL) {
        char err[512];
        if (bg_journal_flush(j, err, sizeof err) < 0) {
            fprintf(stderr, "bouncegatectl: import: %s\n", err);
            rc = 2;
        }
        if (bg_journal_maintain(j, now, BG_JOURNAL_COMPACT_MIN, err, sizeof err) < 0)
            fprintf(stderr, "bouncegatectl: import: compacting the journal: %s\n", err);
    }
    ctl_progress_end(&pg);
    printf("import: imported=%lu bad=%lu expired=%lu lines=%lu\n", imported, bad, expired,
           lineno);
    if (rc == 0 && bad > 0)
        rc = 1;
done:
    free(line);
    free(work);
    if (fp != stdin)
        fclose(fp);
    return rc;
}

/* ------------------------------------------------------------ check */

int ctl_check(struct bg_store *s, int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: bouncegatectl check [FILE]\n");
        return 2;
    }
    FILE *fp = ctl_open_in(argc == 1 ? argv[0] : NULL);
    if (fp == NULL)
        return 2;
    char line[CSV_LINE_MAX];
    unsigned long yes = 0, no = 0, bad = 0, errors = 0, rows = 0;
    int got;
    struct ctl_progress pg;
    ctl_progress_start(&pg, "check", fp, 0);
    while ((got = ctl_next_line(fp, line, sizeof line)) != 0) {
        ctl_progress_tick(&pg, ++rows, -1);
        if (got < 0) {
            bad++;
            continue;
        }
        ctl_trim(line);
        if (line[0] == '\0')
            continue;
        char norm[BG_ADDR_MAX];
        const char *why = NULL;
        if (bg_addr_normalize(line, strlen(line), norm, sizeof norm, &why) < 0) {
            bad++;
            continue;
        }
        const char *d = bg_addr_domain(norm);
        struct bg_record rec;
        int dh = 0;
        char err[512];
        int rc = bg_store_lookup(s, norm, d ? d : "", &rec, &dh, err, sizeof err);
        if (rc < 0) {
            if (errors++ == 0) {
                ctl_progress_end(&pg);
                fprintf(stderr, "bouncegatectl: check: %s\n", err);
            }
        } else if (rc > 0) {
            yes++;
        } else {
            no++;
        }
    }
    ctl_progress_end(&pg);
    if (fp != stdin)
        fclose(fp);
    printf("suppressed=%lu not_suppressed=%lu bad=%lu errors=%lu\n", yes, no, bad, errors);
    if (errors || bad)
        return 2;
    return no ? 1 : 0;
}
