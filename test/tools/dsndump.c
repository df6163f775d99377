/* dsndump - print what bg_dsn_parse finds in each file argument: one
 * tab-separated line per recipient
 *   file kind format action rcpt status reply_code command remote_mta diag
 * (diag truncated to 200 bytes; rcpt "-" when there is none). */
#include "dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_name(enum bg_report_kind k)
{
    switch (k) {
    case BG_REPORT_DSN: return "dsn";
    case BG_REPORT_ARF: return "arf";
    case BG_REPORT_AUTOREPLY: return "autoreply";
    case BG_REPORT_VENDOR: return "vendor";
    case BG_REPORT_NONE: break;
    }
    return "none";
}

static void field(const char *s, size_t max)
{
    size_t n = 0;
    if (!s[0]) {
        fputs("-", stdout);
        return;
    }
    for (; s[n] && n < max; n++)
        putchar(s[n] == '\t' || s[n] == '\n' || s[n] == '\r' ? ' ' : s[n]);
}

int main(int argc, char **argv)
{
    struct bg_dsn *d = malloc(sizeof *d);
    int rc = 0;
    if (!d)
        return 2;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            rc = 1;
            continue;
        }
        size_t cap = 1 << 16, n = 0;
        char *buf = malloc(cap);
        size_t r;
        while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
            n += r;
            if (n == cap) {
                char *nb = realloc(buf, cap * 2);
                if (!nb) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = nb;
                cap *= 2;
            }
        }
        fclose(f);
        if (!buf) {
            rc = 1;
            continue;
        }
        bg_dsn_parse(buf, n, NULL, d);
        size_t k = 0;
        do {
            const struct bg_dsn_rcpt *x = k < d->nrcpt ? &d->r[k] : NULL;
            printf("%s\t%s\t", argv[i], kind_name(d->kind));
            field(d->format, 64);
            printf("\t%s\t", x ? bg_dsn_action_name(x->action) : "-");
            field(x ? x->rcpt : "", 400);
            putchar('\t');
            field(x ? x->status : "", 16);
            putchar('\t');
            field(x ? x->reply_code : "", 4);
            putchar('\t');
            field(x ? x->command : "", 16);
            putchar('\t');
            field(x ? x->remote_mta : "", 256);
            putchar('\t');
            field(x ? x->diag : "", 200);
            putchar('\n');
        } while (++k < d->nrcpt);
        free(buf);
    }
    free(d);
    return rc;
}
