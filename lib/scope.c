/* scope.c - network, exemption and name lists (see scope.h). */
#include "scope.h"
#include "address.h"
#include "bg.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static int set_why(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

/* ------------------------------------------------------------- tokenizer */

static int is_sep(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',';
}

/* Next token of a blank- or comma-separated list. A double-quoted part
 * (with backslash escapes) may contain separators, so an exemption like
 * "\"john smith\"@example.com" stays one entry. Returns 0 at the end,
 * 1 with *tok and *len set, -1 on an unterminated quote. */
static int next_token(const char **sp, const char **tok, size_t *len)
{
    const char *s = *sp;
    const char *start;
    int inq = 0;

    while (*s && is_sep((unsigned char)*s))
        s++;
    if (!*s) {
        *sp = s;
        return 0;
    }
    start = s;
    while (*s && (inq || !is_sep((unsigned char)*s))) {
        if (inq && *s == '\\' && s[1]) {
            s += 2;
            continue;
        }
        if (*s == '"')
            inq = !inq;
        s++;
    }
    *sp = s;
    if (inq)
        return -1;
    *tok = start;
    *len = (size_t)(s - start);
    return 1;
}

/* ------------------------------------------------------------- networks */

/* Parse a textual IPv4 or IPv6 address (NUL-terminated) into the 128-bit
 * form; IPv4 becomes ::ffff:a.b.c.d. Sets *v4. Returns 0 or -1. */
static int parse_ip(const char *s, uint8_t out[16], int *v4)
{
    uint8_t b4[4];

    if (inet_pton(AF_INET, s, b4) == 1) {
        memset(out, 0, 10);
        out[10] = 0xff;
        out[11] = 0xff;
        memcpy(out + 12, b4, 4);
        *v4 = 1;
        return 0;
    }
    if (inet_pton(AF_INET6, s, out) == 1) {
        *v4 = 0;
        return 0;
    }
    return -1;
}

/* Strip the decorations seen in milter/Postfix address text: "[...]",
 * an "IPv6:" tag, and an interface zone ("%eth0"). Copies into buf. */
static int clean_addr(const char *s, size_t n, char *buf, size_t bufsz)
{
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n >= 5 && strncasecmp(s, "ipv6:", 5) == 0) {
        s += 5;
        n -= 5;
    }
    const char *pct = memchr(s, '%', n);
    if (pct)
        n = (size_t)(pct - s);
    if (n == 0 || n >= bufsz)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 0;
}

static void mask_net(struct bg_net *net)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned lo = i * 8;
        if (net->bits >= lo + 8)
            continue;
        if (net->bits <= lo)
            net->addr[i] = 0;
        else
            net->addr[i] &= (uint8_t)(0xff << (8 - (net->bits - lo)));
    }
}

int bg_netlist_parse(const char *s, struct bg_netlist *l, const char **why)
{
    const char *tok;
    size_t len;
    int rc;

    if (!l)
        return set_why(why, "no list");
    l->n = 0;
    if (!s)
        return 0;
    while ((rc = next_token(&s, &tok, &len)) == 1) {
        char buf[64];
        const char *slash = memchr(tok, '/', len);
        size_t alen = slash ? (size_t)(slash - tok) : len;
        struct bg_net net;
        int v4;
        unsigned bits, maxbits;

        if (l->n >= BG_NET_MAX)
            return set_why(why, "too many networks");
        if (clean_addr(tok, alen, buf, sizeof buf) != 0 ||
            parse_ip(buf, net.addr, &v4) != 0)
            return set_why(why, "bad network address");
        maxbits = v4 ? 32 : 128;
        if (slash) {
            size_t nd = len - alen - 1;
            if (nd == 0 || nd > 3)
                return set_why(why, "bad prefix length");
            bits = 0;
            for (size_t i = 0; i < nd; i++) {
                char c = slash[1 + i];
                if (c < '0' || c > '9')
                    return set_why(why, "bad prefix length");
                bits = bits * 10 + (unsigned)(c - '0');
            }
            if (bits > maxbits)
                return set_why(why, "bad prefix length");
        } else {
            bits = maxbits;
        }
        net.bits = (uint8_t)(v4 ? bits + 96 : bits);
        /* Host bits below the prefix ("10.1.2.3/8") are cleared rather
         * than refused: the operator's intent is unambiguous. */
        mask_net(&net);
        l->net[l->n++] = net;
    }
    if (rc < 0)
        return set_why(why, "unbalanced quotes");
    return 0;
}

static int net_contains(const struct bg_net *net, const uint8_t a[16])
{
    unsigned full = net->bits / 8, rest = net->bits % 8;

    if (net->bits > 128)
        return 0;
    if (memcmp(net->addr, a, full) != 0)
        return 0;
    if (rest) {
        uint8_t m = (uint8_t)(0xff << (8 - rest));
        if ((net->addr[full] & m) != (a[full] & m))
            return 0;
    }
    return 1;
}

int bg_netlist_match(const struct bg_netlist *l, const char *addr)
{
    char buf[64];
    uint8_t a[16];
    int v4;

    if (!l || !addr)
        return 0;
    if (clean_addr(addr, strlen(addr), buf, sizeof buf) != 0 ||
        parse_ip(buf, a, &v4) != 0)
        return 0;
    for (size_t i = 0; i < l->n && i < BG_NET_MAX; i++)
        if (net_contains(&l->net[i], a))
            return 1;
    return 0;
}

/* ----------------------------------------------------------- exemptions */

/* Normalize one exemption entry into out (128 bytes). */
static int exempt_entry(const char *tok, size_t len, char *out, size_t outsz,
                        const char **why)
{
    char buf[BG_ADDR_MAX];

    if (len > 0 && tok[0] == '@') {
        /* "@domain" or "@.domain" (that domain and its subdomains) */
        int sub = len > 1 && tok[1] == '.';
        size_t skip = sub ? 2 : 1;
        if (bg_domain_normalize(tok + skip, len - skip, buf, sizeof buf,
                                why) != 0)
            return -1;
        if (buf[0] == '[' && sub)
            return set_why(why, "address literal has no subdomains");
        if (strlen(buf) + skip + 1 > outsz)
            return set_why(why, "entry too long");
        memcpy(out, sub ? "@." : "@", skip);
        memcpy(out + skip, buf, strlen(buf) + 1);
        return 0;
    }
    if (len > 0 && tok[len - 1] == '@') {
        /* "local@": normalize it as an address at a placeholder domain
         * so local parts follow exactly the address rules, then cut the
         * domain off again. */
        static const char ph[] = "x.invalid";
        char tmp[BG_ADDR_MAX];
        const char *at;
        if (len + sizeof ph > sizeof tmp)
            return set_why(why, "entry too long");
        memcpy(tmp, tok, len);
        memcpy(tmp + len, ph, sizeof ph);
        if (bg_addr_normalize(tmp, len + sizeof ph - 1, buf, sizeof buf,
                              why) != 0)
            return -1;
        at = strrchr(buf, '@');
        if (!at)
            return set_why(why, "bad entry");
        if ((size_t)(at - buf) + 2 > outsz)
            return set_why(why, "entry too long");
        memcpy(out, buf, (size_t)(at - buf) + 1);
        out[at - buf + 1] = '\0';
        return 0;
    }
    if (bg_addr_normalize(tok, len, buf, sizeof buf, why) != 0)
        return -1;
    if (strlen(buf) + 1 > outsz)
        return set_why(why, "entry too long");
    memcpy(out, buf, strlen(buf) + 1);
    return 0;
}

int bg_exempt_parse(const char *s, struct bg_exempt *e, const char **why)
{
    const char *tok;
    size_t len;
    int rc;

    if (!e)
        return set_why(why, "no list");
    e->n = 0;
    if (!s)
        return 0;
    while ((rc = next_token(&s, &tok, &len)) == 1) {
        if (e->n >= BG_EXEMPT_MAX)
            return set_why(why, "too many exemptions");
        if (exempt_entry(tok, len, e->entry[e->n], sizeof e->entry[0],
                         why) != 0)
            return -1;
        e->n++;
    }
    if (rc < 0)
        return set_why(why, "unbalanced quotes");
    return 0;
}

int bg_exempt_match(const struct bg_exempt *e, const char *norm)
{
    const char *dom;
    size_t llen; /* local part length including the '@' */

    if (!e || !norm)
        return 0;
    dom = bg_addr_domain(norm);
    if (!dom)
        return 0;
    llen = (size_t)(dom - norm);
    for (size_t i = 0; i < e->n && i < BG_EXEMPT_MAX; i++) {
        const char *x = e->entry[i];
        size_t xl = strnlen(x, sizeof e->entry[i]);
        if (xl == 0 || xl == sizeof e->entry[i])
            continue;
        if (x[0] == '@' && x[1] == '.') {
            const char *d = x + 2;
            size_t dl = xl - 2, nl = strlen(dom);
            if (strcmp(dom, d) == 0)
                return 1;
            if (nl > dl && dom[nl - dl - 1] == '.' &&
                memcmp(dom + nl - dl, d, dl) == 0)
                return 1;
        } else if (x[0] == '@') {
            if (strcmp(dom, x + 1) == 0)
                return 1;
        } else if (x[xl - 1] == '@') {
            if (xl == llen && memcmp(norm, x, xl) == 0)
                return 1;
        } else if (strcmp(norm, x) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- names */

int bg_names_parse(const char *s, struct bg_names *l, const char **why)
{
    const char *tok;
    size_t len;
    int rc;

    if (!l)
        return set_why(why, "no list");
    l->n = 0;
    if (!s)
        return 0;
    while ((rc = next_token(&s, &tok, &len)) == 1) {
        if (l->n >= BG_NAMES_MAX)
            return set_why(why, "too many names");
        if (len >= sizeof l->name[0])
            return set_why(why, "name too long");
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)tok[i];
            if (c < 0x21 || c > 0x7e)
                return set_why(why, "bad character in name");
        }
        memcpy(l->name[l->n], tok, len);
        l->name[l->n][len] = '\0';
        l->n++;
    }
    if (rc < 0)
        return set_why(why, "unbalanced quotes");
    return 0;
}

int bg_names_match(const struct bg_names *l, const char *name)
{
    if (!l || !name)
        return 0;
    for (size_t i = 0; i < l->n && i < BG_NAMES_MAX; i++)
        if (strncmp(l->name[i], name, sizeof l->name[i]) == 0 &&
            strnlen(l->name[i], sizeof l->name[i]) < sizeof l->name[i])
            return 1;
    return 0;
}
