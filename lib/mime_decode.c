/* mime_decode.c - what MIME values and bodies say: the media type and
 * parameters of a Content-Type value, the transfer encoding's name, and
 * decoding (base64, quoted-printable, RFC 2047 encoded words), every
 * output bounded by its buffer. See mime.h.
 */
#include "mime_int.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* The media type at the start of v[0, n) (no NUL in it), lower-cased into
 * out, cut to outsz - 1 bytes: its length. (The walk reads a part's type
 * with first_token, from the header bytes.) */
size_t media_type_n(const char *v, size_t n, char *out, size_t outsz)
{
    size_t i = 0;
    while (i < n && is_ws((unsigned char)v[i]))
        i++;
    if (!outsz)
        return 0;
    size_t lim = n - i < outsz - 1 ? n : i + outsz - 1, k = i;
    for (unsigned ch; k < lim && ((ch = (unsigned char)v[k]) > ';' || !((TYPE_STOP >> ch) & 1)); k++)
        ;
    lower_copy(out, v + i, k - i);
    out[k - i] = 0;
    return k - i;
}

void bg_mime_media_type(const char *ctval, char *out, size_t outsz)
{
    const char *s = ctval;
    while (*s && is_ws((unsigned char)*s))
        s++;
    /* no more than fits out is looked at */
    media_type_n(s, outsz ? strnlen(s, outsz - 1) : 0, out, outsz);
}

/* The offset of the first a or b in s[0, n), or n: parameter lists are
 * scanned between quotes and ';'s. */
static size_t find2(const char *s, size_t n, char a, char b)
{
    size_t k = 0;
    while (k < n && s[k] != a && s[k] != b)
        k++;
    return k;
}

/* bg_mime_param of v[0, n) (no NUL in it) and a name of plen bytes. */
int param_n(const char *v, size_t n, const char *param, size_t plen,
            char *out, size_t outsz)
{
    size_t i = 0;
    if (outsz)
        out[0] = 0;
    for (;;) {
        /* the next ';' outside quotes (the first one ends the media
         * type); a '\\' in quotes escapes the byte after it */
        for (;;) {
            i += find2(v + i, n - i, ';', '"');
            if (i >= n)
                return 0;
            if (v[i] == ';')
                break;
            for (i++;;) {
                i += find2(v + i, n - i, '"', '\\');
                if (i >= n)
                    return 0;
                if (v[i] == '"')
                    break;
                i += i + 1 < n ? 2 : 1;
            }
            i++;
        }
        i++; /* past ';' */
        while (i < n && is_ws((unsigned char)v[i]))
            i++;
        /* not this parameter: the search goes on from its name */
        if (n - i < plen || !ci_name(v + i, param, plen))
            continue;
        size_t t = i + plen;
        while (t < n && (v[t] == ' ' || v[t] == '\t'))
            t++;
        if (t >= n || v[t] != '=')
            continue;
        t++;
        while (t < n && (v[t] == ' ' || v[t] == '\t'))
            t++;
        size_t o = 0;
        if (t < n && v[t] == '"') {
            t++;
            while (t < n && v[t] != '"') {
                /* a run up to the closing quote or a '\\', then that */
                size_t r = find2(v + t, n - t, '"', '\\');
                size_t room = outsz > o + 1 ? outsz - 1 - o : 0;
                size_t c = r < room ? r : room;
                memcpy(out + o, v + t, c);
                o += c;
                t += r;
                if (t >= n || v[t] == '"')
                    break;
                if (t + 1 < n)
                    t++; /* the escaped byte */
                if (o + 1 < outsz)
                    out[o++] = v[t];
                t++;
            }
        } else {
            while (t < n && v[t] != ';' && !is_ws((unsigned char)v[t])) {
                if (o + 1 < outsz)
                    out[o++] = v[t];
                t++;
            }
        }
        if (outsz)
            out[o] = 0;
        return 1;
    }
}

int bg_mime_param(const char *ctval, const char *param, char *out,
                  size_t outsz)
{
    return param_n(ctval, strlen(ctval), param, strlen(param), out, outsz);
}

/* The encoding a lower-cased token of tl bytes names. */
enum bg_mime_enc encoding_of(const char *t, size_t tl)
{
    if (tl == 6 && memcmp(t, "base64", 6) == 0)
        return BG_ENC_BASE64;
    if (tl == 16 && memcmp(t, "quoted-printable", 16) == 0)
        return BG_ENC_QP;
    return BG_ENC_IDENTITY;
}

enum bg_mime_enc bg_mime_encoding(const char *v)
{
    char t[32];
    while (*v && is_ws((unsigned char)*v))
        v++;
    /* the token is cut to 31 bytes: what follows is not looked at */
    size_t tl = media_type_n(v, strnlen(v, sizeof t - 1), t, sizeof t);
    return encoding_of(t, tl);
}

/* The value of each base64 digit (both alphabets), -1 for other bytes. */
static const signed char b64v[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, 62, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

size_t bg_mime_b64_decode(const char *in, size_t inlen, char *out,
                          size_t outsz)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)in;
    for (size_t i = 0; i < inlen && o < outsz; i++) {
        if (bits == 0) {
            /* whole quads of digits: three bytes each (what the digit
             * at a time below makes of them) */
            while (inlen - i >= 4 && outsz - o >= 3) {
                int a = b64v[u[i]], b = b64v[u[i + 1]], c = b64v[u[i + 2]], d = b64v[u[i + 3]];
                if ((a | b | c | d) < 0)
                    break;
                acc = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)c << 6 | (unsigned)d;
                out[o] = (char)(acc >> 16);
                out[o + 1] = (char)(acc >> 8);
                out[o + 2] = (char)acc;
                o += 3;
                i += 4;
            }
            if (i >= inlen || o >= outsz)
                break;
        }
        int v = b64v[u[i]];
        if (v < 0) {
            if (in[i] == '=') { /* padding: drop partial bits */
                acc = 0;
                bits = 0;
            }
            continue;
        }
        acc = ((acc << 6) | (unsigned)v) & 0xffffffu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    return o;
}

/* Each hex digit's value plus one (both cases); 0 for other bytes. */
static const unsigned char hex1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
    ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The '=' at in[i] (i < inlen) of quoted-printable text: "=XX" is a byte,
 * '=' then blanks then a line break (or the end of the input) is a soft
 * line break and is dropped, any other '=' stands for itself. Stores at
 * most one byte at out[*o] (the caller has room for one) and returns the
 * offset after what it consumed. */
static inline size_t qp_escape(const char *in, size_t inlen, size_t i, char *out, size_t *o)
{
    unsigned hi, lo;
    if (i + 2 < inlen && (hi = hex1[(unsigned char)in[i + 1]]) != 0 &&
        (lo = hex1[(unsigned char)in[i + 2]]) != 0) {
        out[(*o)++] = (char)((hi - 1) << 4 | (lo - 1));
        return i + 3;
    }
    size_t j = i + 1;
    while (j < inlen && (in[j] == ' ' || in[j] == '\t'))
        j++;
    if (j < inlen && in[j] == '\r')
        j++;
    if (j >= inlen)
        return inlen;
    if (in[j] == '\n')
        return j + 1;
    out[(*o)++] = '=';
    return i + 1;
}

size_t bg_mime_qp_decode(const char *in, size_t inlen, char *out,
                         size_t outsz)
{
    size_t o = 0, i = 0;
    while (i < inlen && o < outsz) {
        if (in[i] == '=')
            i = qp_escape(in, inlen, i, out, &o);
        else
            out[o++] = in[i++];
    }
    return o;
}

/* The Q encoding of RFC 2047 words: quoted-printable where '_' is a
 * space. Words are short: a byte at a time. */
static size_t q_word_decode(const char *in, size_t inlen, char *out, size_t outsz)
{
    size_t o = 0, i = 0;
    while (i < inlen && o < outsz) {
        char c = in[i];
        if (c == '=') {
            i = qp_escape(in, inlen, i, out, &o);
            continue;
        }
        out[o++] = c == '_' ? ' ' : c;
        i++;
    }
    return o;
}

size_t bg_mime_decode(enum bg_mime_enc enc, const char *in, size_t inlen,
                      char *out, size_t outsz)
{
    if (enc == BG_ENC_BASE64)
        return bg_mime_b64_decode(in, inlen, out, outsz);
    if (enc == BG_ENC_QP)
        return bg_mime_qp_decode(in, inlen, out, outsz);
    size_t n = inlen < outsz ? inlen : outsz;
    if (n)
        memcpy(out, in, n);
    return n;
}

/* One encoded word at s ("=?cs?X?text?="): decode into out, return the
 * length of the word consumed or 0 if it is not one. */
static size_t enc_word(const char *s, char *out, size_t outsz, size_t *wrote)
{
    if (s[0] != '=' || s[1] != '?')
        return 0;
    const char *cs = s + 2;
    const char *q1 = strchr(cs, '?');
    if (!q1 || q1 - cs > 64 || q1 == cs)
        return 0;
    char e = (char)lc((unsigned char)q1[1]);
    if ((e != 'b' && e != 'q') || q1[2] != '?')
        return 0;
    const char *txt = q1 + 3;
    const char *end = strstr(txt, "?=");
    if (!end || end - txt > 2000)
        return 0;
    size_t n = (size_t)(end - txt);
    *wrote = e == 'b' ? bg_mime_b64_decode(txt, n, out, outsz)
                      : q_word_decode(txt, n, out, outsz);
    return (size_t)(end + 2 - s);
}

void bg_mime_decode_words(const char *in, char *out, size_t outsz)
{
    size_t o = 0;
    const char *s = in;
    int last_was_word = 0;
    if (!outsz)
        return;
    while (*s && o + 1 < outsz) {
        if (s[0] == '=' && s[1] == '?') {
            size_t w = 0;
            size_t used = enc_word(s, out + o, outsz - 1 - o, &w);
            if (used) {
                o += w;
                s += used;
                last_was_word = 1;
                continue;
            }
        }
        if (last_was_word && is_ws((unsigned char)*s)) {
            /* white space between two encoded words is dropped */
            const char *t = s;
            while (*t && is_ws((unsigned char)*t))
                t++;
            if (t[0] == '=' && t[1] == '?') {
                s = t;
                continue;
            }
        }
        last_was_word = 0;
        out[o++] = *s++;
        /* what comes before the next '=' is copied as it is */
        size_t run = strcspn(s, "="), room = outsz - 1 - o;
        if (run > room)
            run = room;
        memcpy(out + o, s, run);
        o += run;
        s += run;
    }
    out[o] = 0;
}
