/* reply.c - SMTP reply text for a suppressed recipient (see reply.h). */
#include "reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Output with a hard bound. Every byte goes through emit(), which doubles
 * '%' and replaces unsafe bytes; once something does not fit, the sink is
 * closed, so the text is a clean prefix and never ends in half a "%%". */
struct out {
    char *buf;
    size_t size, len;
    int full;
};

static void emit(struct out *o, unsigned char c)
{
    size_t need;

    if (o->full)
        return;
    /* Control bytes, CR and LF could forge reply lines; bytes >= 0x80 are
     * replaced too, because SMTP reply text is 7-bit ASCII (RFC 5321
     * 4.2) and a hostile recipient can carry anything. */
    if (c < 0x20 || c >= 0x7f)
        c = '?';
    need = c == '%' ? 2 : 1;
    if (o->len + need + 1 > o->size) {
        o->full = 1;
        return;
    }
    o->buf[o->len++] = (char)c;
    if (c == '%')
        o->buf[o->len++] = '%';
    o->buf[o->len] = '\0';
}

static void emit_n(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && !o->full; i++)
        emit(o, (unsigned char)s[i]);
}

static void emit_s(struct out *o, const char *s)
{
    emit_n(o, s, strlen(s));
}

/* A record string field, read no further than its array, "-" if empty. */
static void emit_field(struct out *o, const char *f, size_t fsz)
{
    size_t n = strnlen(f, fsz);
    if (n == 0)
        emit_s(o, "-");
    else
        emit_n(o, f, n);
}

static const char *what_phrase(enum bg_class c)
{
    switch (c) {
    case BG_CLASS_HARD:
        return "hard bounce";
    case BG_CLASS_SOFT:
        return "repeated soft bounces";
    case BG_CLASS_COMPLAINT:
        return "spam complaint";
    case BG_CLASS_MANUAL:
        return "manual suppression";
    case BG_CLASS_BLOCK:
        return "block";
    default:
        return "suppression";
    }
}

static void emit_since(struct out *o, int64_t t)
{
    char date[32];
    struct tm tm;
    time_t tt = (time_t)t;

    /* 0 (or less) means the date is unknown; 1970-01-01 would mislead. */
    if (t <= 0 || (int64_t)tt != t || !gmtime_r(&tt, &tm)) {
        emit_s(o, "-");
        return;
    }
    /* tm_year + 1900 overflows int for times near the end of what
     * gmtime_r accepts (a record's first= can hold any int64). */
    snprintf(date, sizeof date, "%04lld-%02d-%02d", (long long)tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
    emit_s(o, date);
}

/* Placeholder name at p (after '{'), up to the '}'. Returns 1 and emits
 * the value when known, 0 otherwise. */
static int placeholder(struct out *o, const char *name, size_t n,
                       const char *rcpt, int domain_scope,
                       const struct bg_record *r)
{
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(name, lit, n) == 0)
    if (IS("rcpt")) {
        emit(o, '<');
        if (rcpt)
            emit_s(o, rcpt);
        emit(o, '>');
    } else if (IS("what")) {
        emit_s(o, what_phrase(r->cls));
    } else if (IS("class")) {
        emit_s(o, bg_class_name(r->cls));
    } else if (IS("reason")) {
        emit_field(o, r->reason, sizeof r->reason);
    } else if (IS("since")) {
        emit_since(o, r->first_seen);
    } else if (IS("status")) {
        emit_field(o, r->status, sizeof r->status);
    } else if (IS("scope")) {
        emit_s(o, domain_scope ? "domain" : "recipient");
    } else {
        return 0;
    }
    return 1;
#undef IS
}

int bg_reply_build(const char *tmpl, const char *rcpt_norm, int domain_scope,
                   const struct bg_record *r, char *out, size_t outsz)
{
    static const struct bg_record empty; /* const: no shared mutable state */
    struct out o = {out, outsz, 0, 0};
    const char *p;

    if (!out || outsz == 0)
        return -1;
    out[0] = '\0';
    if (!tmpl)
        tmpl = BG_REPLY_DEFAULT_TEMPLATE;
    if (!r)
        r = &empty;

    for (p = tmpl; *p && !o.full;) {
        if (*p == '{') {
            /* placeholder names are short lower-case words */
            size_t n = 0;
            while (n < 16 && p[1 + n] >= 'a' && p[1 + n] <= 'z')
                n++;
            if (p[1 + n] == '}' &&
                placeholder(&o, p + 1, n, rcpt_norm, domain_scope, r)) {
                p += n + 2;
                continue;
            }
        }
        emit(&o, (unsigned char)*p++);
    }
    return (int)o.len;
}

/* "5.x.y" with 1..3 digits each (RFC 3463), nothing else. */
static int status_ok(const char *s, size_t max)
{
    size_t i = 0, d;

    if (strnlen(s, max) >= max || s[0] != '5' || s[1] != '.')
        return 0;
    i = 2;
    for (int part = 0; part < 2; part++) {
        for (d = 0; s[i] >= '0' && s[i] <= '9'; d++)
            i++;
        if (d < 1 || d > 3)
            return 0;
        if (part == 0 && s[i++] != '.')
            return 0;
    }
    return s[i] == '\0';
}

void bg_reply_codes(const struct bg_record *r, int domain_scope,
                    char rcode[4], char xcode[16])
{
    memcpy(rcode, "550", 4);
    if (r && status_ok(r->status, sizeof r->status)) {
        memcpy(xcode, r->status, strlen(r->status) + 1);
        return;
    }
    if (r && r->cls == BG_CLASS_COMPLAINT)
        memcpy(xcode, "5.7.1", 6);
    else if (domain_scope)
        memcpy(xcode, "5.1.2", 6);
    else
        memcpy(xcode, "5.1.1", 6);
}
