/* dsn_ses.c - Amazon SES notifications delivered by mail: the JSON of a
 * bounce, complaint or delivery ("bouncedRecipients", "emailAddress",
 * "diagnosticCode", "complaintFeedbackType"), read by plain search: the
 * fields are flat strings, and no JSON library is needed to find them.
 */
#include "dsn_int.h"

#include <string.h>

/* SES JSON notifications: "emailAddress":"..." entries. */
int parse_ses_json(struct ctx *c, const char *t, size_t n)
{
    int found = 0;
    const char *p = t;
    const char *h;
    while ((h = ci_find(p, n - (size_t)(p - t), "\"emailAddress\"")) != NULL) {
        const char *q = h + 14;
        while ((size_t)(q - t) < n && (*q == ' ' || *q == ':'))
            q++;
        if ((size_t)(q - t) < n && *q == '"') {
            q++;
            const char *z = q;
            while ((size_t)(z - t) < n && *z != '"' && z - q < 320)
                z++;
            char a[320];
            scopy(a, sizeof a, q, (size_t)(z - q));
            struct bg_dsn_rcpt *r = strchr(a, '@') ? rcpt_add(c->out, a) : NULL;
            if (r) {
                found = 1;
                /* fields of this object: up to the next '}' */
                const char *end = memchr(z, '}', n - (size_t)(z - t));
                size_t on = end ? (size_t)(end - z) : n - (size_t)(z - t);
                /* the object may start before emailAddress */
                const char *ob = h;
                while (ob > t && *ob != '{' && h - ob < 2000)
                    ob--;
                size_t olen = (size_t)(z - ob) + on;
                const char *d = ci_find(ob, olen, "\"diagnosticCode\"");
                if (d) {
                    const char *v = d + 16;
                    while (v < ob + olen && (*v == ' ' || *v == ':'))
                        v++;
                    if (v < ob + olen && *v == '"') {
                        v++;
                        const char *ve = v;
                        while (ve < ob + olen && *ve != '"')
                            ve++;
                        char dd[BG_DSN_DIAG_MAX];
                        scopy(dd, sizeof dd, v, (size_t)(ve - v));
                        const char *semi = strchr(dd, ';');
                        if (semi && semi - dd < 12) {
                            scopy(r->diag_type, sizeof r->diag_type, dd, (size_t)(semi - dd));
                            scpy(r->diag, sizeof r->diag, semi + 1);
                        } else {
                            scpy(r->diag, sizeof r->diag, dd);
                        }
                        collapse(r->diag);
                    }
                }
                const char *st = ci_find(ob, olen, "\"status\"");
                if (st) {
                    char tmp[64];
                    scopy(tmp, sizeof tmp, st, (size_t)(ob + olen - st));
                    find_status(tmp, r->status, sizeof r->status);
                }
                const char *ac = ci_find(ob, olen, "\"action\"");
                if (ac) {
                    const char *v = ac + 8;
                    while (v < ob + olen && (*v == ' ' || *v == ':' || *v == '"'))
                        v++;
                    char tmp[16];
                    scopy(tmp, sizeof tmp, v, (size_t)(ob + olen - v));
                    r->action = parse_action(tmp);
                }
                fill_codes(r);
            }
            p = z;
        } else {
            p = q;
        }
        if ((size_t)(p - t) >= n)
            break;
    }
    const char *nt = ci_find(t, n, "\"notificationType\":\"Delivery\"");
    const char *rl = nt ? ci_find(nt, n - (size_t)(nt - t), "\"recipients\":[") : NULL;
    if (!found && rl) {
        /* SES delivery notification: "recipients":["a@b", ...] */
        const char *q = rl + 14;
        const char *end = memchr(q, ']', n - (size_t)(q - t));
        char resp[BG_DSN_DIAG_MAX] = "";
        const char *sr = ci_find(nt, n - (size_t)(nt - t), "\"smtpResponse\":\"");
        if (sr) {
            const char *v = sr + 16;
            const char *ve = memchr(v, '"', n - (size_t)(v - t));
            if (ve)
                scopy(resp, sizeof resp, v, (size_t)(ve - v));
        }
        while (end && q < end) {
            const char *a = memchr(q, '"', (size_t)(end - q));
            if (!a)
                break;
            const char *z = memchr(a + 1, '"', (size_t)(end - a - 1));
            if (!z)
                break;
            char addr[320];
            scopy(addr, sizeof addr, a + 1, (size_t)(z - a - 1));
            struct bg_dsn_rcpt *r = strchr(addr, '@') ? rcpt_add(c->out, addr) : NULL;
            if (r) {
                found = 1;
                r->action = BG_ACTION_DELIVERED;
                scpy(r->diag, sizeof r->diag, resp);
                fill_codes(r);
            }
            q = z + 1;
        }
    }
    if (found) {
        const char *ft = ci_find(t, n, "\"complaintFeedbackType\"");
        if (ft) {
            const char *v = ft + 23;
            while ((size_t)(v - t) < n && (*v == ' ' || *v == ':' || *v == '"'))
                v++;
            size_t k = 0;
            while ((size_t)(v - t) + k < n && v[k] != '"' && k < 23)
                k++;
            scopy(c->out->feedback_type, sizeof c->out->feedback_type, v, k);
            c->out->kind = BG_REPORT_ARF;
        }
    }
    return found;
}
