/* dsndump - print what the bounce parser finds in each file argument,
 * for the parser's case tables (test/integration/26-parser-tables.sh) and
 * test/corpus-recall.sh.
 *
 *   dsndump FILE...          bg_dsn_parse: one tab-separated line per
 *                            recipient (rcpt "-" when there is none)
 *     file kind format action rcpt status reply_code command remote_mta
 *     diag diag_type orig_rcpt feedback_type reporting_mta queue_id
 *     orig_message_id orig_from orig_headers_len
 *   dsndump --mime FILE...   bg_mime_walk: one line per MIME part
 *     file part depth multipart type encoding hdr_len body_len decoded
 *   (decoded: the first 48 bytes of the decoded body, blanks shown as
 *   one space, other control bytes as '.')
 *
 * An empty field is "-"; tabs and line ends inside one are spaces. */
#include "dsn.h"
#include "mime.h"

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

static const char *enc_name(enum bg_mime_enc e)
{
    switch (e) {
    case BG_ENC_BASE64: return "base64";
    case BG_ENC_QP: return "qp";
    case BG_ENC_IDENTITY: break;
    }
    return "identity";
}

/* The MIME tree of one message, one line per part. */
static void dump_mime(const char *name, const char *buf, size_t n)
{
    static struct bg_mime_part parts[96];
    size_t np = bg_mime_walk(buf, n, BG_DSN_MAX_DEPTH, parts, 96);
    for (size_t k = 0; k < np; k++) {
        const struct bg_mime_part *p = &parts[k];
        char dec[64];
        size_t dn = bg_mime_decode(p->enc, p->body, p->body_len < 256 ? p->body_len : 256, dec,
                                   48);
        printf("%s\t%zu\t%d\t%d\t", name, k, p->depth, p->multipart);
        field(p->type, BG_MIME_TYPE_MAX);
        printf("\t%s\t%zu\t%zu\t", enc_name(p->enc), p->hdr_len, p->body_len);
        int sp = 0, any = 0;
        for (size_t i = 0; i < dn; i++) {
            unsigned char c = (unsigned char)dec[i];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                sp = any;
                continue;
            }
            if (sp)
                putchar(' ');
            sp = 0;
            any = 1;
            putchar(c < 0x20 || c == 0x7f ? '.' : c);
        }
        if (!any)
            putchar('-');
        putchar('\n');
    }
}

int main(int argc, char **argv)
{
    struct bg_dsn *d = malloc(sizeof *d);
    int rc = 0, mime = 0;
    if (!d)
        return 2;
    if (argc > 1 && strcmp(argv[1], "--mime") == 0)
        mime = 1;
    for (int i = 1 + mime; i < argc; i++) {
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
        if (mime) {
            dump_mime(argv[i], buf, n);
            free(buf);
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
            field(x ? x->diag : "", BG_DSN_DIAG_MAX);
            putchar('\t');
            field(x ? x->diag_type : "", 16);
            putchar('\t');
            field(x ? x->orig_rcpt : "", 320);
            putchar('\t');
            field(d->feedback_type, 24);
            putchar('\t');
            field(d->reporting_mta, 256);
            putchar('\t');
            field(d->queue_id, 64);
            putchar('\t');
            field(d->orig_message_id, 256);
            putchar('\t');
            field(d->orig_from, 320);
            printf("\t%zu\n", d->orig_headers ? d->orig_headers_len : (size_t)0);
        } while (++k < d->nrcpt);
        free(buf);
    }
    free(d);
    return rc;
}
