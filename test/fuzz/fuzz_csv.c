/* fuzz_csv.c - libFuzzer target for `bouncegatectl import`'s CSV reading:
 * lines, RFC 4180 quoting, header detection and synonyms, values (class,
 * reason, status, times) into rows, all of milter/ctl_csv.c's ctl_import.
 *
 * milter/ctl_csv.c is compiled into this file (its helpers are static)
 * with a few calls renamed by macros so that nothing reaches memcached,
 * the network or the terminal:
 *   stdin         -> the input, through fmemopen (import reads "-")
 *   bg_store_put  -> check_put below, which checks the row and keeps count
 *   time          -> a fixed "now"
 *   printf        -> captured (the "import: ..." summary line)
 *   fprintf       -> discarded (one complaint per bad line)
 * Invariants:
 *   - every row put is a recipient or a domain whose name is non-empty,
 *     normalizes to itself and makes a valid memcached key; its record has
 *     a class that can be stored, a reason (one short word, else
 *     "imported"), an empty or X.Y.Z status, source "import", count 1,
 *     first = last, an expiry in the future or none; it encodes, decodes
 *     to the same record, and formats as a journal line;
 *   - the summary counts the rows put (imported=) and every line, one
 *     holding a NUL byte too (lines=); the exit code is
 *     1 exactly when some lines were bad, 2 when the header has no address
 *     column (no summary, nothing put) or the store failed;
 *   - a store failure (the stub fails for the domain stop.invalid) stops
 *     the import: nothing is put after it.
 */
#include "address.h"
#include "bg.h"
#include "config.h"
#include "journal.h"
#include "key.h"
#include "record.h"
#include "store.h"
#include "../../milter/ctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1763600000LL

/* ---- what the import reaches instead of the world */

static FILE *fuzz_in;         /* the input, through fmemopen */
static size_t n_put;          /* rows put */
static int stopped;           /* the stub failed a put */
static char summary[256];     /* the last printf */

static time_t fuzz_time(time_t *t)
{
    if (t != NULL)
        *t = (time_t)NOW;
    return (time_t)NOW;
}

__attribute__((format(printf, 1, 2)))
static int fuzz_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(summary, sizeof summary, fmt, ap);
    va_end(ap);
    return n;
}

__attribute__((format(printf, 2, 3)))
static int fuzz_fprintf(FILE *fp, const char *fmt, ...)
{
    (void)fp;
    (void)fmt;
    return 0;
}

#define FIELD_OK(r, f) (memchr((r)->f, '\0', sizeof (r)->f) != NULL)

static int same_record(const struct bg_record *a, const struct bg_record *b)
{
    return a->cls == b->cls && strcmp(a->reason, b->reason) == 0 &&
           strcmp(a->status, b->status) == 0 && strcmp(a->rule, b->rule) == 0 &&
           strcmp(a->source, b->source) == 0 && strcmp(a->id, b->id) == 0 &&
           strcmp(a->diag, b->diag) == 0 && a->first_seen == b->first_seen &&
           a->last_seen == b->last_seen && a->expires == b->expires &&
           a->count == b->count;
}

/* X.Y.Z with X in 2, 4, 5 and one to three digits for Y and Z */
static int status_shape(const char *s)
{
    if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
        return 0;
    s += 2;
    for (int part = 0; part < 2; part++) {
        size_t n = strspn(s, "0123456789");
        if (n == 0 || n > 3)
            return 0;
        s += n;
        if (part == 0 && *s++ != '.')
            return 0;
    }
    return *s == '\0';
}

static int reason_shape(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 31)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
            return 0;
    return 1;
}

static void check_name(enum bg_kind kind, const char *name)
{
    size_t len = strnlen(name, BG_ADDR_MAX);
    if (len == 0 || len >= BG_ADDR_MAX)
        abort();
    char *in = malloc(len);
    char *again = malloc(BG_ADDR_MAX);
    const char *why = NULL;
    if (in == NULL || again == NULL)
        abort();
    memcpy(in, name, len);      /* exact size: no NUL after it */
    int rc = kind == BG_KIND_DOMAIN ? bg_domain_normalize(in, len, again, BG_ADDR_MAX, &why)
                                    : bg_addr_normalize(in, len, again, BG_ADDR_MAX, &why);
    if (rc != 0 || strcmp(again, name) != 0)
        abort();
    free(in);
    free(again);
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, "bg:", kind, name);
    if (kl <= 0 || kl > 250 || (size_t)kl != strlen(key) || !bg_key_bytes_ok(key, (size_t)kl))
        abort();
}

static void check_record(const struct bg_record *r)
{
    if (!FIELD_OK(r, reason) || !FIELD_OK(r, status) || !FIELD_OK(r, rule) ||
        !FIELD_OK(r, source) || !FIELD_OK(r, id) || !FIELD_OK(r, diag))
        abort();
    if (r->cls == BG_CLASS_NONE || r->cls == BG_CLASS_UNDETERMINED ||
        strcmp(bg_class_name(r->cls), "invalid") == 0)
        abort();
    if (strcmp(r->reason, "imported") != 0 && !reason_shape(r->reason))
        abort();
    if (r->status[0] != '\0' && !status_shape(r->status))
        abort();
    if (strcmp(r->source, "import") != 0 || r->rule[0] != '\0' || r->id[0] != '\0')
        abort();
    if (r->count != 1 || r->first_seen != r->last_seen)
        abort();
    if (r->expires != 0 && r->expires <= NOW)
        abort();
    if (bg_store_exptime(r->expires, NOW) < 0)
        abort();

    static char enc[BG_RECORD_MAX];
    int n = bg_record_encode(r, enc, sizeof enc);
    if (n <= 0 || (size_t)n != strlen(enc))
        abort();
    struct bg_record back;
    if (bg_record_decode(enc, (size_t)n, &back) != 0 || !same_record(r, &back))
        abort();
}

static int check_put(struct bg_store *s, enum bg_kind kind, const char *name,
                     const struct bg_record *rec, char *err, size_t errsz)
{
    (void)s;
    if (stopped)
        abort();              /* the import goes on after a failed put */
    if (kind != BG_KIND_RCPT && kind != BG_KIND_DOMAIN)
        abort();
    check_name(kind, name);
    check_record(rec);
    char line[BG_JOURNAL_LINE_MAX + 1];
    int ll = bg_journal_format(line, sizeof line, NOW, kind, name, rec);
    if (ll <= 0 || ll > BG_JOURNAL_LINE_MAX)
        abort();
    if (kind == BG_KIND_DOMAIN && strcmp(name, "stop.invalid") == 0) {
        stopped = 1;
        snprintf(err, errsz, "fuzz: the store is down");
        return -1;
    }
    n_put++;
    return 0;
}

/* ---- the code under test */

#undef printf
#undef fprintf
#undef stdin
#undef time
#define stdin fuzz_in
#define time(t) fuzz_time(t)
#define printf(...) fuzz_printf(__VA_ARGS__)
#define fprintf(...) fuzz_fprintf(__VA_ARGS__)
#define bg_store_put(s, kind, name, rec, err, errsz) check_put(s, kind, name, rec, err, errsz)
#include "../../milter/ctl_csv.c"
#undef stdin
#undef time
#undef printf
#undef fprintf
#include "../../milter/ctl_progress.c"   /* its progress line (off: no terminal) */
#include "../../milter/ctl_out.c"        /* export's CSV field writer */
#undef bg_store_put

/* ---- the driver */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bg_config cfg;   /* zero: no Journal */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        abort();
    if (size)
        memcpy(buf, data, size);
    fuzz_in = fmemopen(buf, size, "r");
    if (fuzz_in == NULL)
        abort();
    n_put = 0;
    stopped = 0;
    summary[0] = '\0';

    char *argv[] = { NULL };
    int rc = ctl_import(&cfg, NULL, NULL, 0, argv);   /* reads "stdin" */
    fclose(fuzz_in);
    fuzz_in = NULL;
    free(buf);

    unsigned long imported, bad, expired, lines;
    if (summary[0] == '\0') {
        /* the header has no address column: nothing put, exit 2 */
        if (rc != 2 || n_put != 0 || stopped)
            abort();
        return 0;
    }
    if (sscanf(summary, "import: imported=%lu bad=%lu expired=%lu lines=%lu\n", &imported,
               &bad, &expired, &lines) != 4)
        abort();
    if (imported != n_put || imported + bad + expired > lines)
        abort();
    if (stopped ? rc != 2 : rc != (bad > 0 ? 1 : 0))
        abort();
    size_t phys = 0;
    for (size_t i = 0; i < size; i++)
        phys += data[i] == '\n';
    if (size > 0 && data[size - 1] != '\n')
        phys++;
    if (stopped ? lines > phys : lines != phys)
        abort();
    return 0;
}
