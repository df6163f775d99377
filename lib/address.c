/* address.c - normalize envelope addresses and domains (see address.h).
 *
 * The result is the key material for suppression look-ups, so the aim is
 * one canonical spelling per mailbox:
 *
 *   local part  decoded content (quotes and escapes removed), ASCII
 *               letters folded to lower case, 8-bit bytes kept as they
 *               are; written bare when it is a valid dot-atom, otherwise
 *               as a quoted string escaping only '"' and '\'.
 *   domain      lower case, no trailing dot, A-labels (IDNA2008 with
 *               UTS #46 non-transitional mapping); address literals
 *               validated and kept, IP addresses in canonical form.
 *
 * Anything we cannot read unambiguously is refused with a static reason
 * rather than guessed at: the caller then simply does not look it up.
 */
#include "address.h"
#include "bg.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <string.h>

/* Longest input we are willing to look at after trimming blanks; anything
 * longer cannot produce a result that fits BG_ADDR_MAX. */
#define ADDR_IN_MAX (4 * BG_ADDR_MAX)

#define DOMAIN_TEXT_MAX 253 /* RFC 1035 presentation form, no trailing dot */
#define LABEL_MAX 63

static int set_why(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* RFC 5322 atext, extended with every 8-bit byte (RFC 6531 UTF8-non-ascii;
 * we do not validate UTF-8 in local parts, the bytes are kept verbatim). */
static int is_atext(unsigned char c)
{
    if (c >= 0x80)
        return 1;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static void trim(const char **p, size_t *len)
{
    const char *s = *p;
    size_t n = *len;
    while (n > 0 && is_blank((unsigned char)s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_blank((unsigned char)s[n - 1]))
        n--;
    *p = s;
    *len = n;
}

/* ---------------------------------------------------------------- domain */

/* Validate an ASCII domain (already lower case, no trailing dot) in place:
 * labels of 1..63 letters, digits, '-' or '_' (underscores occur in real
 * host names and harm nothing here), at most 253 bytes in all. */
static int check_ascii_domain(const char *d, size_t n, const char **why)
{
    size_t label = 0;

    if (n == 0)
        return set_why(why, "no domain");
    if (n > DOMAIN_TEXT_MAX)
        return set_why(why, "domain too long");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '.') {
            if (label == 0)
                return set_why(why, "empty label");
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_'))
            return set_why(why, "bad character in domain");
        if (++label > LABEL_MAX)
            return set_why(why, "label too long");
    }
    if (label == 0)
        return set_why(why, "empty label");
    return 0;
}

/* "[...]" address literal: IPv4, "IPv6:" + IPv6 (both rewritten in the
 * canonical inet_ntop form so two spellings of one address share a key),
 * or an RFC 5321 General-address-literal "tag:dcontent", lower-cased. */
static int literal_normalize(const char *in, size_t n, char *out, size_t outsz,
                             const char **why)
{
    char body[BG_DOMAIN_MAX];
    char text[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    size_t blen;

    if (n < 2 || in[n - 1] != ']')
        return set_why(why, "unbalanced brackets");
    blen = n - 2;
    if (blen == 0)
        return set_why(why, "empty address literal");
    if (blen >= sizeof body)
        return set_why(why, "domain too long");
    for (size_t i = 0; i < blen; i++) {
        unsigned char c = (unsigned char)in[1 + i];
        /* dcontent = %d33-90 / %d94-126: no blanks, controls, [ \ ] */
        if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']')
            return set_why(why, "bad address literal");
        body[i] = (char)lower(c);
    }
    body[blen] = '\0';

    if (inet_pton(AF_INET, body, bin) == 1) {
        if (!inet_ntop(AF_INET, bin, text, sizeof text))
            return set_why(why, "bad address literal");
        if (strlen(text) + 3 > outsz)
            return set_why(why, "too long");
        out[0] = '[';
        memcpy(out + 1, text, strlen(text));
        memcpy(out + 1 + strlen(text), "]", 2);
        return 0;
    }
    if (strncmp(body, "ipv6:", 5) == 0) {
        if (inet_pton(AF_INET6, body + 5, bin) != 1 ||
            !inet_ntop(AF_INET6, bin, text, sizeof text))
            return set_why(why, "bad address literal");
        if (strlen(text) + 8 > outsz)
            return set_why(why, "too long");
        memcpy(out, "[ipv6:", 6);
        memcpy(out + 6, text, strlen(text));
        memcpy(out + 6 + strlen(text), "]", 2);
        return 0;
    }
    /* General-address-literal: Standardized-tag is Ldh-str, then ':' and
     * at least one dcontent byte. */
    {
        const char *colon = strchr(body, ':');
        if (!colon || colon == body || colon[1] == '\0')
            return set_why(why, "bad address literal");
        for (const char *p = body; p < colon; p++) {
            unsigned char c = (unsigned char)*p;
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-'))
                return set_why(why, "bad address literal");
        }
    }
    if (blen + 3 > outsz)
        return set_why(why, "too long");
    out[0] = '[';
    memcpy(out + 1, body, blen);
    memcpy(out + 1 + blen, "]", 2);
    return 0;
}

/* U-labels -> A-labels. in is NUL-terminated, has no trailing dot and
 * holds at least one byte >= 0x80. */
static int idna_normalize(const char *in, char *out, size_t outsz,
                          const char **why)
{
    char *res = NULL;
    int rc;

    rc = idn2_lookup_u8((const uint8_t *)in, (uint8_t **)&res,
                        IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    if (rc != IDN2_OK) {
        /* Fallback: UTS #46 transitional processing accepts a few names
         * the non-transitional mode refuses (and a libidn2 built without
         * non-transitional support reports IDN2_INVALID_FLAGS). It still
         * refuses names that are not IDNA at all, so nothing unsafe gets
         * through; the two modes differ only for ß, ς, ZWJ and ZWNJ. */
        idn2_free(res);
        res = NULL;
        rc = idn2_lookup_u8((const uint8_t *)in, (uint8_t **)&res,
                            IDN2_TRANSITIONAL | IDN2_NFC_INPUT);
    }
    if (rc != IDN2_OK || res == NULL) {
        idn2_free(res);
        return set_why(why, "bad idna");
    }
    size_t n = strlen(res);
    /* TR46 maps ideographic full stops etc. to '.', which can leave a
     * trailing dot behind: drop one, as for ASCII input. */
    if (n > 0 && res[n - 1] == '.')
        n--;
    for (size_t i = 0; i < n; i++)
        res[i] = (char)lower((unsigned char)res[i]);
    if (check_ascii_domain(res, n, why) != 0) {
        idn2_free(res);
        return -1;
    }
    if (n + 1 > outsz) {
        idn2_free(res);
        return set_why(why, "too long");
    }
    memcpy(out, res, n);
    out[n] = '\0';
    idn2_free(res);
    return 0;
}

/* Domain proper: in/n already trimmed, no leading '@'. */
static int domain_core(const char *in, size_t n, char *out, size_t outsz,
                       const char **why)
{
    char buf[4 * BG_DOMAIN_MAX]; /* room for U-labels, which shrink */
    int eight_bit = 0;

    if (n == 0)
        return set_why(why, "no domain");
    if (in[0] == '[')
        return literal_normalize(in, n, out, outsz, why);
    if (n > 0 && in[n - 1] == '.')
        n--; /* one trailing dot: "example.com." is example.com */
    if (n == 0)
        return set_why(why, "no domain");
    if (n >= sizeof buf)
        return set_why(why, "domain too long");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x21 || c == 0x7f)
            return set_why(why, "control or blank in domain");
        if (c == ']' || c == '[')
            return set_why(why, "unbalanced brackets");
        if (c >= 0x80)
            eight_bit = 1;
        buf[i] = (char)lower(c);
    }
    buf[n] = '\0';

    if (eight_bit)
        return idna_normalize(buf, out, outsz, why);
    if (check_ascii_domain(buf, n, why) != 0)
        return -1;
    if (n + 1 > outsz)
        return set_why(why, "too long");
    memcpy(out, buf, n + 1);
    return 0;
}

int bg_domain_normalize(const char *in, size_t inlen, char *out, size_t outsz,
                        const char **why)
{
    if (!out || outsz == 0)
        return set_why(why, "no buffer");
    out[0] = '\0';
    if (!in)
        return set_why(why, "empty");
    if (memchr(in, '\0', inlen))
        return set_why(why, "nul byte");
    trim(&in, &inlen);
    if (inlen > 0 && in[0] == '@') {
        in++;
        inlen--;
    }
    if (inlen == 0)
        return set_why(why, "empty");
    if (domain_core(in, inlen, out, outsz, why) != 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- local */

/* Skip an RFC 5321 source route "@a,@b:" at the start of s. Returns the
 * number of bytes it occupies (0 when there is none) or -1 when it is
 * malformed. Route hops are discarded, so they are only checked for shape:
 * each hop is '@' and a non-empty run of domain-ish bytes. */
static long skip_route(const char *s, size_t n)
{
    size_t i = 0;

    if (n == 0 || s[0] != '@')
        return 0;
    /* Without a ':' outside brackets this is "@domain": an address with an
     * empty local part, reported as such by the caller. */
    {
        int depth = 0, found = 0;
        for (size_t j = 0; j < n; j++) {
            if (s[j] == '[')
                depth++;
            else if (s[j] == ']')
                depth--;
            else if (s[j] == ':' && depth == 0) {
                found = 1;
                break;
            }
        }
        if (!found)
            return 0;
    }
    for (;;) {
        size_t start;
        int depth = 0;
        if (i >= n || s[i] != '@')
            return -1;
        start = ++i;
        while (i < n) {
            unsigned char c = (unsigned char)s[i];
            if (c == '[')
                depth++;
            else if (c == ']') {
                if (--depth < 0)
                    return -1;
            } else if (depth == 0 && (c == ',' || c == ':'))
                break;
            else if (c <= 0x20 || c == 0x7f || c == '"' || c == '@' ||
                     c == '\\')
                return -1;
            i++;
        }
        if (i == start || depth != 0 || i >= n)
            return -1;
        if (s[i++] == ':')
            return (long)i;
        /* ',' : next hop */
    }
}

/* Decode the local part s[0..n) into content (lower-cased, unescaped).
 * Returns the content length or -1. */
static long local_decode(const char *s, size_t n, char *content,
                         size_t contentsz, const char **why)
{
    size_t o = 0;

    if (n == 0)
        return set_why(why, "empty local part");
    if (s[0] == '"') {
        /* The caller split at the '@' after the closing quote, so the
         * quoted string must span exactly s[0..n). */
        size_t i = 1;
        int closed = 0;
        while (i < n) {
            unsigned char c = (unsigned char)s[i];
            if (c == '"') {
                closed = 1;
                i++;
                break;
            }
            if (c == '\\') {
                if (++i >= n)
                    return set_why(why, "unbalanced quotes");
                c = (unsigned char)s[i];
            }
            /* qtextSMTP / quoted-pairSMTP: printable ASCII and blank;
             * 8-bit for SMTPUTF8. No controls, escaped or not. */
            if (c < 0x20 || c == 0x7f)
                return set_why(why, "control byte in local part");
            if (o + 1 >= contentsz)
                return set_why(why, "too long");
            content[o++] = (char)lower(c);
            i++;
        }
        if (!closed)
            return set_why(why, "unbalanced quotes");
        if (i != n)
            return set_why(why, "bad quoting");
    } else {
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x20 || c == 0x7f)
                return set_why(why, "control byte in local part");
            if (c == ' ')
                return set_why(why, "blank in local part");
            if (c == '"')
                return set_why(why, "bad quoting");
            /* '@' occurs when the address had several: "a@b@c" has local
             * part "a@b" (the last '@' separates); it is kept, quoted. */
            if (!is_atext(c) && c != '.' && c != '@')
                return set_why(why, "bad character in local part");
            if (o + 1 >= contentsz)
                return set_why(why, "too long");
            content[o++] = (char)lower(c);
        }
    }
    if (o == 0)
        return set_why(why, "empty local part");
    content[o] = '\0';
    return (long)o;
}

static int is_dot_atom(const char *s, size_t n)
{
    size_t atom = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (atom == 0)
                return 0;
            atom = 0;
        } else if (is_atext(c)) {
            atom++;
        } else {
            return 0;
        }
    }
    return atom > 0;
}

/* Index of the '@' separating local part and domain in s[0..n): after a
 * leading quoted string, the '@' that follows it; otherwise the last '@'.
 * -1 when there is none (or the quoted string is unterminated). */
static long find_at(const char *s, size_t n, const char **why)
{
    if (n > 0 && s[0] == '"') {
        size_t i = 1;
        while (i < n) {
            if (s[i] == '\\') {
                i += 2;
                continue;
            }
            if (s[i] == '"')
                break;
            i++;
        }
        if (i >= n)
            return set_why(why, "unbalanced quotes");
        i++; /* past the closing quote */
        if (i >= n)
            return set_why(why, "no domain");
        if (s[i] != '@')
            return set_why(why, "bad quoting");
        /* A further '@' after the quoted string would make the last '@'
         * the separator and '"x"@y' an unquotable local part: refuse. */
        if (memchr(s + i + 1, '@', n - i - 1))
            return set_why(why, "bad quoting");
        return (long)i;
    }
    for (size_t i = n; i > 0; i--)
        if (s[i - 1] == '@')
            return (long)(i - 1);
    return set_why(why, "no domain");
}

int bg_addr_normalize(const char *in, size_t inlen, char *out, size_t outsz,
                      const char **why)
{
    char content[BG_ADDR_MAX];
    char domain[BG_DOMAIN_MAX];
    long clen, at, route;
    size_t o = 0, dlen;

    if (!out || outsz == 0)
        return set_why(why, "no buffer");
    out[0] = '\0';
    if (!in)
        return set_why(why, "empty");
    if (memchr(in, '\0', inlen))
        return set_why(why, "nul byte");
    trim(&in, &inlen);
    if (inlen > 0 && (in[0] == '<' || in[inlen - 1] == '>')) {
        if (inlen < 2 || in[0] != '<' || in[inlen - 1] != '>')
            return set_why(why, "unbalanced brackets");
        in++;
        inlen -= 2;
        trim(&in, &inlen);
        if (inlen == 0)
            return set_why(why, "null sender");
    }
    if (inlen == 0)
        return set_why(why, "empty");
    if (inlen > ADDR_IN_MAX)
        return set_why(why, "too long");

    route = skip_route(in, inlen);
    if (route < 0)
        return set_why(why, "bad source route");
    in += route;
    inlen -= (size_t)route;
    if (inlen == 0)
        return set_why(why, "empty");

    at = find_at(in, inlen, why);
    if (at < 0)
        return -1;
    clen = local_decode(in, (size_t)at, content, sizeof content, why);
    if (clen < 0)
        return -1;
    if (domain_core(in + at + 1, inlen - (size_t)at - 1, domain,
                    sizeof domain, why) != 0)
        return -1;
    dlen = strlen(domain);

    /* Write local part, bare or quoted; each step checks room for the
     * rest ("@" + domain + NUL). */
    if (is_dot_atom(content, (size_t)clen)) {
        if ((size_t)clen + 1 + dlen + 1 > outsz)
            return set_why(why, "too long");
        memcpy(out, content, (size_t)clen);
        o = (size_t)clen;
    } else {
        out[o++] = '"';
        for (long i = 0; i < clen; i++) {
            char c = content[i];
            size_t need = (c == '"' || c == '\\') ? 2 : 1;
            if (o + need + 1 + 1 + dlen + 1 > outsz) {
                out[0] = '\0';
                return set_why(why, "too long");
            }
            if (need == 2)
                out[o++] = '\\';
            out[o++] = c;
        }
        if (o + 1 + 1 + dlen + 1 > outsz) {
            out[0] = '\0';
            return set_why(why, "too long");
        }
        out[o++] = '"';
    }
    out[o++] = '@';
    memcpy(out + o, domain, dlen + 1);
    return 0;
}

const char *bg_addr_domain(const char *norm)
{
    const char *at;

    if (!norm)
        return NULL;
    at = strrchr(norm, '@');
    if (!at || at[1] == '\0')
        return NULL;
    return at + 1;
}
