/* record.c - suppression record wire format (see record.h).
 *
 * Encode writes every field in a fixed order. Decode is strict about
 * syntax (tag, single spaces, name=value, %XX escapes, numbers) and about
 * size (a value that does not fit its field is an error, except diag,
 * which is documented as truncated text), but ignores fields it does not
 * know so that newer writers can add some.
 */
#include "record.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const class_names[] = {
    [BG_CLASS_NONE] = "none",
    [BG_CLASS_HARD] = "hard",
    [BG_CLASS_SOFT] = "soft",
    [BG_CLASS_BLOCK] = "block",
    [BG_CLASS_COMPLAINT] = "complaint",
    [BG_CLASS_MANUAL] = "manual",
    [BG_CLASS_UNDETERMINED] = "undetermined",
};
#define NCLASS (sizeof class_names / sizeof class_names[0])

const char *bg_class_name(enum bg_class c)
{
    /* Out-of-range values get a name that bg_class_parse refuses, so a
     * corrupt class can never round-trip into a valid one. */
    if ((unsigned)c >= NCLASS)
        return "invalid";
    return class_names[c];
}

/* ASCII case-insensitive, so configuration may say "Hard". */
int bg_class_parse(const char *s, enum bg_class *c)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < NCLASS; i++) {
        const char *n = class_names[i];
        const char *p = s;
        while (*n && *p) {
            unsigned char a = (unsigned char)*p;
            if (a >= 'A' && a <= 'Z')
                a = (unsigned char)(a + ('a' - 'A'));
            if (a != (unsigned char)*n)
                break;
            n++;
            p++;
        }
        if (*n == '\0' && *p == '\0') {
            if (c)
                *c = (enum bg_class)i;
            return 0;
        }
    }
    return -1;
}

int bg_strlcpy(char *dst, const char *src, size_t dstsz)
{
    size_t n;

    if (!src)
        src = "";
    n = strlen(src);
    if (dstsz == 0)
        return n > 0;
    if (n >= dstsz) {
        memcpy(dst, src, dstsz - 1);
        dst[dstsz - 1] = '\0';
        return 1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

/* ---------------------------------------------------------------- encode */

struct sink {
    char *buf;
    size_t size, len;
    int overflow;
};

static void put(struct sink *k, const char *s, size_t n)
{
    if (k->overflow || n >= k->size - k->len) {
        k->overflow = 1;
        return;
    }
    memcpy(k->buf + k->len, s, n);
    k->len += n;
    k->buf[k->len] = '\0';
}

static int needs_escape(unsigned char c)
{
    return c == '%' || c == '=' || c <= 0x20 || c >= 0x7f;
}

/* A string field: fields are fixed arrays that should be NUL-terminated,
 * but we never read past the array even if one is not. */
static void put_str(struct sink *k, const char *name, const char *v,
                    size_t vsz)
{
    static const char hex[] = "0123456789ABCDEF";
    /* At most vsz-1 bytes: an unterminated field is truncated to what the
     * decoder will accept back into the same field. */
    size_t n = strnlen(v, vsz - 1);

    put(k, " ", 1);
    put(k, name, strlen(name));
    put(k, "=", 1);
    if (n == 0) {
        put(k, "-", 1);
        return;
    }
    if (n == 1 && v[0] == '-') {
        put(k, "%2D", 3); /* a literal "-" must not read back as empty */
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (needs_escape(c)) {
            char e[3] = {'%', hex[c >> 4], hex[c & 0x0f]};
            put(k, e, 3);
        } else {
            put(k, (const char *)&v[i], 1);
        }
    }
}

static void put_num(struct sink *k, const char *name, const char *fmt_val)
{
    put(k, " ", 1);
    put(k, name, strlen(name));
    put(k, "=", 1);
    put(k, fmt_val, strlen(fmt_val));
}

int bg_record_encode(const struct bg_record *r, char *out, size_t outsz)
{
    struct sink k = {out, outsz, 0, 0};
    char num[32];

    if (!r || !out || outsz == 0)
        return -1;
    out[0] = '\0';
    if ((unsigned)r->cls >= NCLASS)
        return -1;
    if (outsz > BG_RECORD_MAX + 1)
        k.size = BG_RECORD_MAX + 1; /* the format's own limit */

    put(&k, "bg1 class=", 10);
    put(&k, class_names[r->cls], strlen(class_names[r->cls]));
    put_str(&k, "reason", r->reason, sizeof r->reason);
    put_str(&k, "status", r->status, sizeof r->status);
    snprintf(num, sizeof num, "%" PRId64, r->first_seen);
    put_num(&k, "first", num);
    snprintf(num, sizeof num, "%" PRId64, r->last_seen);
    put_num(&k, "last", num);
    snprintf(num, sizeof num, "%" PRIu32, r->count);
    put_num(&k, "count", num);
    snprintf(num, sizeof num, "%" PRId64, r->expires);
    put_num(&k, "expires", num);
    put_str(&k, "source", r->source, sizeof r->source);
    put_str(&k, "rule", r->rule, sizeof r->rule);
    put_str(&k, "id", r->id, sizeof r->id);
    put_str(&k, "diag", r->diag, sizeof r->diag);

    if (k.overflow) {
        out[0] = '\0';
        return -1;
    }
    return (int)k.len;
}

/* ---------------------------------------------------------------- decode */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode value v[0..n) into dst (dstsz bytes with NUL). Returns 0, or -1
 * on a bad encoding or, unless truncate is set, when it does not fit. */
static int get_str(const char *v, size_t n, char *dst, size_t dstsz,
                   int truncate)
{
    size_t o = 0;
    int cut = 0;

    if (n == 1 && v[0] == '-') {
        dst[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '%') {
            int hi, lo;
            if (n - i < 3)
                return -1;
            hi = hexval((unsigned char)v[i + 1]);
            lo = hexval((unsigned char)v[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi << 4 | lo);
            if (c == 0)
                return -1; /* would silently cut the C string */
            i += 2;
        } else if (needs_escape(c)) {
            return -1; /* raw byte the encoder would have escaped */
        }
        if (cut)
            continue; /* keep validating the rest of the encoding */
        if (o + 1 >= dstsz) {
            if (!truncate)
                return -1;
            cut = 1;
            continue;
        }
        dst[o++] = (char)c;
    }
    if (cut) {
        /* Do not leave half a UTF-8 sequence at the end of the text. */
        size_t back = 0;
        while (back < o && back < 4 &&
               ((unsigned char)dst[o - 1 - back] & 0xC0) == 0x80)
            back++;
        if (back < o) {
            unsigned char lead = (unsigned char)dst[o - 1 - back];
            size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3
                        : lead >= 0xC0 ? 2 : 1;
            if (lead >= 0xC0 && want > back + 1)
                o -= back + 1;
        }
    }
    dst[o] = '\0';
    return 0;
}

/* Strict decimal: optional '-' when is_signed, 1..19 digits, no leading
 * '+', no blanks, overflow checked against [min, max]. */
static int get_num(const char *v, size_t n, int is_signed, int64_t min,
                   uint64_t max, int64_t *sv, uint64_t *uv)
{
    int neg = 0;
    uint64_t acc = 0;
    size_t i = 0;

    if (is_signed && n > 0 && v[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i >= n || n - i > 20)
        return -1;
    for (; i < n; i++) {
        unsigned d;
        if (v[i] < '0' || v[i] > '9')
            return -1;
        d = (unsigned)(v[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return -1;
        acc = acc * 10 + d;
    }
    if (neg) {
        /* -min as unsigned, computed without overflowing int64. */
        uint64_t lim = (uint64_t)(-(min + 1)) + 1;
        if (acc > lim)
            return -1;
        if (sv)
            *sv = acc == lim ? min : -(int64_t)acc;
    } else {
        if (acc > max)
            return -1;
        if (sv)
            *sv = (int64_t)acc;
        if (uv)
            *uv = acc;
    }
    return 0;
}

enum field {
    F_CLASS, F_REASON, F_STATUS, F_FIRST, F_LAST, F_COUNT, F_EXPIRES,
    F_SOURCE, F_RULE, F_ID, F_DIAG, F_NFIELDS
};

static const char *const field_names[F_NFIELDS] = {
    "class", "reason", "status", "first", "last", "count", "expires",
    "source", "rule", "id", "diag",
};

static int decode_field(struct bg_record *r, enum field f, const char *v,
                        size_t n)
{
    char cls[16];
    uint64_t u;

    switch (f) {
    case F_CLASS:
        if (get_str(v, n, cls, sizeof cls, 0) != 0)
            return -1;
        return bg_class_parse(cls, &r->cls);
    case F_REASON:
        return get_str(v, n, r->reason, sizeof r->reason, 0);
    case F_STATUS:
        return get_str(v, n, r->status, sizeof r->status, 0);
    case F_SOURCE:
        return get_str(v, n, r->source, sizeof r->source, 0);
    case F_RULE:
        return get_str(v, n, r->rule, sizeof r->rule, 0);
    case F_ID:
        return get_str(v, n, r->id, sizeof r->id, 0);
    case F_DIAG:
        return get_str(v, n, r->diag, sizeof r->diag, 1);
    case F_FIRST:
        return get_num(v, n, 1, INT64_MIN, INT64_MAX, &r->first_seen, NULL);
    case F_LAST:
        return get_num(v, n, 1, INT64_MIN, INT64_MAX, &r->last_seen, NULL);
    case F_EXPIRES:
        return get_num(v, n, 1, INT64_MIN, INT64_MAX, &r->expires, NULL);
    case F_COUNT:
        if (get_num(v, n, 0, 0, UINT32_MAX, NULL, &u) != 0)
            return -1;
        r->count = (uint32_t)u;
        return 0;
    case F_NFIELDS:
        break;
    }
    return -1;
}

int bg_record_decode(const char *in, size_t len, struct bg_record *r)
{
    struct bg_record tmp;
    unsigned seen = 0;
    size_t i;

    if (!in || !r || len > BG_RECORD_MAX)
        return -1;
    memset(&tmp, 0, sizeof tmp);
    if (len < 3 || memcmp(in, "bg1", 3) != 0 || (len > 3 && in[3] != ' '))
        return -1;

    i = 3;
    while (i < len) {
        size_t start, eq = 0, end;
        int have_eq = 0;

        /* exactly one space before each field, none at the end */
        if (in[i] != ' ' || i + 1 >= len || in[i + 1] == ' ')
            return -1;
        start = ++i;
        while (i < len && in[i] != ' ') {
            if (in[i] == '=' && !have_eq) {
                have_eq = 1;
                eq = i;
            }
            i++;
        }
        end = i;
        if (!have_eq || eq == start || eq + 1 == end)
            return -1; /* need name=value, both non-empty */
        for (size_t j = start; j < eq; j++) {
            unsigned char c = (unsigned char)in[j];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-'))
                return -1;
        }

        int known = -1;
        for (int f = 0; f < F_NFIELDS; f++) {
            size_t fl = strlen(field_names[f]);
            if (fl == eq - start && memcmp(in + start, field_names[f], fl) == 0) {
                known = f;
                break;
            }
        }
        if (known < 0) {
            /* Unknown field: skipped, but its value must still be a
             * well-formed encoding (same grammar for every field). */
            char scratch[2];
            if (get_str(in + eq + 1, end - eq - 1, scratch, sizeof scratch, 1))
                return -1;
            continue;
        }
        if (seen & (1u << known))
            return -1; /* duplicate field: ambiguous, refuse */
        seen |= 1u << known;
        if (decode_field(&tmp, (enum field)known, in + eq + 1, end - eq - 1))
            return -1;
    }
    if (!(seen & (1u << F_CLASS)))
        return -1;
    *r = tmp;
    return 0;
}
