/* config.c - reading bouncegate's configuration file against the one
 * typed table of keys (config_keys.c): each value parsed by its key's
 * type, errors naming file, line and key. Defaults are applied by parsing
 * the default text through the same code as the file, so a default can
 * never be of the wrong type.
 */
#include "config_int.h"
#include "listen.h"
#include "err.h"
#include "log.h"
#include "key.h"
#include "openreg.h"
#include "record.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int bg_duration_parse(const char *s, long long unit_ms, long long *out_ms)
{
    char *end;
    long long mult;
    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || v > (1ULL << 40))
        return -1;
    if (*end == '\0')                mult = unit_ms;
    else if (strcmp(end, "ms") == 0) mult = 1;
    else if (strcmp(end, "s") == 0)  mult = 1000;
    else if (strcmp(end, "m") == 0)  mult = 60LL * 1000;
    else if (strcmp(end, "h") == 0)  mult = 3600LL * 1000;
    else if (strcmp(end, "d") == 0)  mult = 86400LL * 1000;
    else if (strcmp(end, "w") == 0)  mult = 7 * 86400LL * 1000;
    else return -1;
    if ((long long)v > LLONG_MAX / mult)
        return -1; /* "1099511627776w" would overflow */
    *out_ms = (long long)v * mult;
    return 0;
}

/* ---------------------------------------------------------- Socket */

/* The longest unix socket path, without its NUL (107 on Linux). */
#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static int sock_unix(const char *path, char *err, size_t errsz)
{
    if (*path == '\0') {
        bg_seterr(err, errsz, "missing path of the unix socket");
        return -1;
    }
    if (*path != '/') {
        bg_seterr(err, errsz, "unix socket path %.200s is not absolute", path);
        return -1;
    }
    size_t n = strlen(path);
    if (n > SUN_PATH_MAX) {
        bg_seterr(err, errsz, "unix socket path too long (%zu bytes, at most %zu)", n,
                  (size_t)SUN_PATH_MAX);
        return -1;
    }
    return 0;
}

/* A host name as a resolver takes it: labels of [A-Za-z0-9-], 1 to 63
 * bytes, neither starting nor ending with '-', separated by single dots
 * (one trailing dot allowed); at most 253 bytes without that dot. */
static int host_name_ok(const char *h, size_t n)
{
    if (n > 0 && h[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return 0;
    size_t lab = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (ch == '.') {
            if (lab == 0 || h[i - 1] == '-')
                return 0;
            lab = 0;
            continue;
        }
        if (!isalnum(ch) && ch != '-')
            return 0;
        if (ch == '-' && lab == 0)
            return 0;
        if (++lab > 63)
            return 0;
    }
    return h[n - 1] != '-';
}

/* PORT[@HOST] of inet: (v6 = 0) or inet6: (v6 = 1). */
static int sock_inet(const char *s, int v6, char *err, size_t errsz)
{
    const char *proto = v6 ? "inet6" : "inet";
    const char *at = strchr(s, '@');
    size_t plen = at ? (size_t)(at - s) : strlen(s);
    if (plen == 0) {
        bg_seterr(err, errsz, "missing port (%s:PORT@HOST)", proto);
        return -1;
    }
    unsigned long port = 0;
    for (size_t i = 0; i < plen; i++) {
        if (!isdigit((unsigned char)s[i])) {
            bg_seterr(err, errsz, "port %.*s is not a number (1-65535)",
                      (int)(plen < 64 ? plen : 64), s);
            return -1;
        }
        if (port <= 65535)
            port = port * 10 + (unsigned long)(s[i] - '0');
    }
    if (port < 1 || port > 65535) {
        bg_seterr(err, errsz, "port %.*s out of range (1-65535)",
                  (int)(plen < 64 ? plen : 64), s);
        return -1;
    }
    if (at == NULL)
        return 0; /* every address of the host */
    const char *h = at + 1;
    size_t hl = strlen(h);
    if (hl == 0) {
        bg_seterr(err, errsz, "missing host after '@'");
        return -1;
    }
    for (size_t i = 0; i < hl; i++)
        if (h[i] == ' ' || h[i] == '\t') {
            bg_seterr(err, errsz, "host %.200s contains a blank", h);
            return -1;
        }
    char lit[INET6_ADDRSTRLEN + 1];
    unsigned char bin[sizeof(struct in6_addr)];
    int fam = v6 ? AF_INET6 : AF_INET;
    if (h[0] == '[') {
        /* libmilter's numeric form: [1.2.3.4] or [::1] */
        if (hl < 3 || h[hl - 1] != ']' || hl - 2 >= sizeof lit) {
            bg_seterr(err, errsz, "bad address %.200s", h);
            return -1;
        }
        memcpy(lit, h + 1, hl - 2);
        lit[hl - 2] = '\0';
        if (inet_pton(fam, lit, bin) != 1) {
            bg_seterr(err, errsz, "%.200s is not an %s address", h, v6 ? "IPv6" : "IPv4");
            return -1;
        }
        return 0;
    }
    if (hl < sizeof lit && inet_pton(fam, h, bin) == 1)
        return 0;
    if (strspn(h, "0123456789.") == hl) {
        /* all digits and dots: meant as an IPv4 address, and not one */
        if (v6)
            bg_seterr(err, errsz, "%.200s is not an IPv6 address (use inet: for IPv4)", h);
        else
            bg_seterr(err, errsz, "%.200s is not an IPv4 address", h);
        return -1;
    }
    if (v6 && strchr(h, ':') != NULL) {
        bg_seterr(err, errsz, "%.200s is not an IPv6 address", h);
        return -1;
    }
    if (!host_name_ok(h, hl)) {
        bg_seterr(err, errsz, "bad host %.200s: expected %s or a host name", h,
                  v6 ? "an IPv6 address" : "a dotted IPv4 address");
        return -1;
    }
    return 0;
}

int bg_socket_check(const char *spec, char *err, size_t errsz)
{
    if (spec == NULL || *spec == '\0') {
        bg_seterr(err, errsz, "empty socket");
        return -1;
    }
    for (const char *q = spec; *q; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f) {
            bg_seterr(err, errsz, "control character in socket");
            return -1;
        }
    /* As libmilter reads it: the type is what comes before the first
     * ':', so a bare path may not hold one. */
    const char *colon = strchr(spec, ':');
    if (colon == NULL) {
        if (*spec == '/')
            return sock_unix(spec, err, errsz);
        bg_seterr(err, errsz, "%.200s: expected unix:/path, local:/path, /path, "
                  "inet:PORT[@HOST] or inet6:PORT[@HOST]", spec);
        return -1;
    }
    size_t tl = (size_t)(colon - spec);
    if ((tl == 4 && strncasecmp(spec, "unix", 4) == 0) ||
        (tl == 5 && strncasecmp(spec, "local", 5) == 0))
        return sock_unix(colon + 1, err, errsz);
    if (tl == 4 && strncasecmp(spec, "inet", 4) == 0)
        return sock_inet(colon + 1, 0, err, errsz);
    if (tl == 5 && strncasecmp(spec, "inet6", 5) == 0)
        return sock_inet(colon + 1, 1, err, errsz);
    bg_seterr(err, errsz, "unknown socket type %.*s (expected unix:, local:, inet: or "
              "inet6:)", (int)(tl < 64 ? tl : 64), spec);
    return -1;
}

/* Parse one value into its field. Returns 0 or -1 with a problem text
 * (*why may point into whybuf). */
static int set_value(struct bg_config *c, const struct keydef *k, const char *v,
                     const char **why, char *whybuf, size_t whysz)
{
    void *p = (char *)c + k->off;
    long long ms;
    char *end;
    unsigned long u;

    switch (k->type) {
    case KT_STRING:
        for (const char *q = v; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f) {
                *why = "control character in value";
                return -1;
            }
        if (strlen(v) >= k->size) {
            *why = "value too long";
            return -1;
        }
        memcpy(p, v, strlen(v) + 1);
        return 0;
    case KT_SOCKET:
        if (bg_socket_check(v, whybuf, whysz) < 0) {
            *why = whybuf;
            return -1;
        }
        if (strlen(v) >= k->size) {
            *why = "value too long";
            return -1;
        }
        memcpy(p, v, strlen(v) + 1);
        return 0;
    case KT_LISTEN: {
        struct sockaddr_storage ss;
        socklen_t sl;
        if (v[0] != '\0' && bg_listen_parse(v, &ss, &sl, whybuf, whysz) < 0) {
            *why = whybuf;
            return -1;
        }
        if (strlen(v) >= k->size) {
            *why = "value too long";
            return -1;
        }
        memcpy(p, v, strlen(v) + 1);
        return 0;
    }
    case KT_PREFIX: {
        char probe[BG_KEY_MAX];
        if (*v == '\0' || strlen(v) > BG_PREFIX_MAX ||
            !bg_key_bytes_ok(v, strlen(v)) ||
            bg_key_build(probe, sizeof probe, v, BG_KIND_RCPT, "x@y") < 0) {
            *why = "must be 1-64 printable characters without blanks";
            return -1;
        }
        memcpy(p, v, strlen(v) + 1);
        return 0;
    }
    case KT_PERCENT: {
        /* up to 4 decimals, the % optional: kept as millionths */
        unsigned long ip = 0, frac = 0, scale = 10000;
        const char *q = v;
        size_t nd = 0;
        for (; *q >= '0' && *q <= '9' && nd < 4; q++, nd++)
            ip = ip * 10 + (unsigned long)(*q - '0');
        if (nd > 0 && *q == '.') {
            q++;
            size_t nf = 0;
            for (; *q >= '0' && *q <= '9' && nf < 4; q++, nf++) {
                scale /= 10;
                frac += (unsigned long)(*q - '0') * scale;
            }
            if (nf == 0)
                nd = 0;
        }
        if (*q == '%')
            q++;
        if (nd == 0 || *q != '\0' || ip > 100 || (ip == 100 && frac > 0)) {
            *why = "expected a percentage from 0% to 100% (such as 1%, 0.1%, 2.5%)";
            return -1;
        }
        *(unsigned *)p = (unsigned)(ip * 10000 + frac);
        return 0;
    }
    case KT_UINT:
        errno = 0;
        u = strtoul(v, &end, 10);
        if (!isdigit((unsigned char)*v) || *end || errno || u > 100000) {
            *why = "expected a number from 0 to 100000";
            return -1;
        }
        *(unsigned *)p = (unsigned)u;
        return 0;
    case KT_MODE:
        errno = 0;
        u = strtoul(v, &end, 8);
        if (!isdigit((unsigned char)*v) || *end || errno || u > 0777) {
            *why = "expected an octal mode such as 0660";
            return -1;
        }
        *(unsigned *)p = (unsigned)u;
        return 0;
    case KT_MS:
        if (bg_duration_parse(v, 1, &ms) < 0 || ms > 3600000) {
            *why = "expected a duration such as 250ms or 2s (at most 1h)";
            return -1;
        }
        *(unsigned *)p = (unsigned)ms;
        return 0;
    case KT_SECONDS:
        if (bg_duration_parse(v, 1000, &ms) < 0 || ms / 1000 > 86400 * 366) {
            *why = "expected a duration such as 60s, 10m or 1d";
            return -1;
        }
        *(unsigned *)p = (unsigned)(ms / 1000);
        return 0;
    case KT_TTL:
        if (strcasecmp(v, "never") == 0 || strcmp(v, "0") == 0) {
            *(long long *)p = 0;
            return 0;
        }
        if (bg_duration_parse(v, 1000, &ms) < 0 || ms < 1000 ||
            ms / 1000 > 86400LL * 3660) {
            *why = "expected never or a duration such as 30d (1s to 10 years)";
            return -1;
        }
        *(long long *)p = ms / 1000;
        return 0;
    case KT_AGE:
        if (bg_duration_parse(v, 1000, &ms) < 0 || ms < 3600LL * 1000 ||
            ms / 1000 > 86400LL * 366) {
            *why = "expected a duration from 1h to 366d such as 30d (0 and never are "
                   "not allowed)";
            return -1;
        }
        *(long long *)p = ms / 1000;
        return 0;
    case KT_BYTES: {
        errno = 0;
        unsigned long long b = strtoull(v, &end, 10);
        if (!isdigit((unsigned char)*v) || errno) {
            *why = "expected a size such as 65536, 512k or 1m";
            return -1;
        }
        if (b > 64ULL * 1024 * 1024)
            b = 64ULL * 1024 * 1024 + 1; /* too big; keep "k"/"m" from wrapping */
        if (*end == 'k' || *end == 'K') { b *= 1024; end++; }
        else if (*end == 'm' || *end == 'M') { b *= 1024 * 1024; end++; }
        if (*end || b < 1024 || b > 64ULL * 1024 * 1024) {
            *why = "expected a size from 1k to 64m";
            return -1;
        }
        *(size_t *)p = (size_t)b;
        return 0;
    }
    case KT_BOOL:
        if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") ||
            !strcasecmp(v, "on"))
            *(int *)p = 1;
        else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
                 !strcmp(v, "0") || !strcasecmp(v, "off"))
            *(int *)p = 0;
        else {
            *why = "expected yes or no";
            return -1;
        }
        return 0;
    case KT_FACILITY: {
        int f = bg_log_facility_parse(v);
        if (f < 0) {
            *why = "expected mail, daemon, user or local0..local7";
            return -1;
        }
        *(int *)p = f;
        return 0;
    }
    case KT_LOGLEVEL: {
        int l = bg_log_level_parse(v);
        if (l < 0) {
            *why = "expected error, warning, notice, info or debug";
            return -1;
        }
        *(int *)p = l;
        return 0;
    }
    case KT_SCOPE:
        if (!strcasecmp(v, "outbound"))
            *(enum bg_scope_mode *)p = BG_SCOPE_OUTBOUND;
        else if (!strcasecmp(v, "all"))
            *(enum bg_scope_mode *)p = BG_SCOPE_ALL;
        else {
            *why = "expected outbound or all";
            return -1;
        }
        return 0;
    case KT_NAMES:
        return bg_names_parse(v, p, why);
    case KT_NETS:
        return bg_netlist_parse(v, p, why);
    case KT_EXEMPT:
        return bg_exempt_parse(v, p, why);
    case KT_JSYNC:
        if (bg_journal_sync_parse(v, (enum bg_journal_sync *)p) < 0) {
            *why = "expected always, interval or never";
            return -1;
        }
        return 0;
    }
    *why = "internal: unknown type";
    return -1;
}

void bg_config_defaults(struct bg_config *c)
{
    const char *why;
    char whybuf[256];
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < bg_config_nkeys; i++)
        if (set_value(c, &bg_config_keys[i], bg_config_keys[i].def, &why, whybuf, sizeof whybuf) < 0)
            abort(); /* a bad default is a build bug; test_config catches it */
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Longest line, without its '\n'. */
#define LINE_MAX_BYTES 2046

/* The key a misspelt name most likely meant: the one at the smallest
 * case-insensitive edit distance, if that is at most 2 (a typo, not
 * another word). NULL when none is that close. */
static const char *nearest_key(const char *name)
{
    enum { W = 40 };
    size_t n = strlen(name);
    if (n == 0 || n >= W)
        return NULL;
    const char *best = NULL;
    unsigned bestd = 3;
    for (size_t k = 0; k < bg_config_nkeys; k++) {
        const char *t = bg_config_keys[k].name;
        size_t m = strlen(t);
        if (m >= W)
            continue;
        unsigned row[W], prev[W];       /* Levenshtein, two rows */
        for (size_t j = 0; j <= m; j++)
            prev[j] = (unsigned)j;
        for (size_t i = 1; i <= n; i++) {
            row[0] = (unsigned)i;
            for (size_t j = 1; j <= m; j++) {
                unsigned sub = prev[j - 1] + (tolower((unsigned char)name[i - 1]) !=
                                              tolower((unsigned char)t[j - 1]));
                unsigned del = prev[j] + 1, ins = row[j - 1] + 1;
                row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            }
            memcpy(prev, row, (m + 1) * sizeof row[0]);
        }
        if (prev[m] < bestd) {
            bestd = prev[m];
            best = t;
        }
    }
    return best;
}

/* Every error of a file is reported in one run: one line each in err,
 * separated by '\n', as many as fit. */
__attribute__((format(printf, 4, 5)))
static void add_err(char *err, size_t errsz, unsigned *nerr, const char *fmt, ...)
{
    size_t used = (*nerr)++ && err ? strlen(err) : 0;
    if (err == NULL || errsz < 2 || used + 2 >= errsz)
        return;
    if (used > 0)
        err[used++] = '\n';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + used, errsz - used, fmt, ap);
    va_end(ap);
}

int bg_config_load(struct bg_config *c, const char *path, char *err, size_t errsz)
{
    FILE *fp;
    char *line = NULL;
    size_t cap = 0;
    char *text = NULL;
    ssize_t got;
    unsigned lineno = 0, nerr = 0;
    unsigned char seen[BG_CONFIG_KEYS_MAX];
    int rc = -1;
    struct stat st;

    memset(seen, 0, sizeof seen);
    /* Only a regular file: a FIFO would block the open (and the daemon's
     * reload), a device such as /dev/zero would be read for ever. */
    int fd = bg_open_regular(path, &st);
    if (fd == BG_OPEN_NOTREG) {
        bg_seterr(err, errsz, "%s: not a regular file (%s)", path, bg_file_kind(st.st_mode));
        return -1;
    }
    if (fd < 0) {
        bg_seterr(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_size > BG_CONFIG_MAX_BYTES) {
        bg_seterr(err, errsz, "%s: too large (%lld bytes, at most %d)", path,
                  (long long)st.st_size, BG_CONFIG_MAX_BYTES);
        close(fd);
        return -1;
    }
    /* Read it whole, one byte past the bound (a file can grow after the
     * fstat), then parse from memory. */
    size_t n = 0;
    text = malloc(BG_CONFIG_MAX_BYTES + 1);
    if (text == NULL) {
        bg_seterr(err, errsz, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    while (n < BG_CONFIG_MAX_BYTES + 1) {
        ssize_t r = read(fd, text + n, BG_CONFIG_MAX_BYTES + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            bg_seterr(err, errsz, "%s: read error: %s", path, strerror(errno));
            close(fd);
            free(text);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > BG_CONFIG_MAX_BYTES) {
        bg_seterr(err, errsz, "%s: too large (more than %d bytes)", path,
                  BG_CONFIG_MAX_BYTES);
        free(text);
        return -1;
    }
    if (n == 0) {           /* an empty file: the defaults (and fmemopen */
        free(text);         /* may refuse a buffer of 0 bytes) */
        return 0;
    }
    fp = fmemopen(text, n, "r");
    if (fp == NULL) {
        bg_seterr(err, errsz, "%s: cannot read: %s", path, strerror(errno));
        free(text);
        return -1;
    }
    /* getline, not fgets: it reports the true length, so a NUL byte in a
     * line is seen (fgets would silently cut the line there and, past
     * the cut, hide its length). */
    while ((got = getline(&line, &cap, fp)) != -1) {
        lineno++;
        size_t len = (size_t)got;
        if (len - (line[len - 1] == '\n') > LINE_MAX_BYTES) {
            add_err(err, errsz, &nerr, "%s:%u: line too long (max %d bytes)", path, lineno,
                    LINE_MAX_BYTES);
            continue;
        }
        if (memchr(line, '\0', len) != NULL) {
            add_err(err, errsz, &nerr, "%s:%u: NUL byte in line", path, lineno);
            continue;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *name = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (*s)
            *s++ = '\0';
        char *value = trim(s);
        /* A '#' after blanks starts a comment; a '#' inside a word is data. */
        for (char *h = value; *h; h++)
            if (*h == '#' && h > value && (h[-1] == ' ' || h[-1] == '\t')) {
                *h = '\0';
                value = trim(value);
                break;
            }
        size_t i;
        for (i = 0; i < bg_config_nkeys; i++)
            if (strcasecmp(name, bg_config_keys[i].name) == 0)
                break;
        if (i == bg_config_nkeys) {
            const char *near = nearest_key(name);
            add_err(err, errsz, &nerr, "%s:%u: %.64s: unknown key%s%s%s", path, lineno, name,
                    near ? " (did you mean " : "", near ? near : "", near ? "?)" : "");
            continue;
        }
        if (seen[i]) {
            add_err(err, errsz, &nerr, "%s:%u: %s: key given twice", path, lineno,
                    bg_config_keys[i].name);
            continue;
        }
        seen[i] = 1;
        const char *why = NULL;
        char whybuf[256];
        if (set_value(c, &bg_config_keys[i], value, &why, whybuf, sizeof whybuf) < 0)
            add_err(err, errsz, &nerr, "%s:%u: %s: %s", path, lineno, bg_config_keys[i].name,
                    why ? why : "bad value");
    }
    if (ferror(fp))
        add_err(err, errsz, &nerr, "%s: read error", path);
    rc = nerr ? -1 : 0;
    free(line);
    fclose(fp);
    free(text);
    return rc;
}

void bg_config_print(const struct bg_config *c, FILE *fp)
{
    for (size_t i = 0; i < bg_config_nkeys; i++) {
        const struct keydef *k = &bg_config_keys[i];
        const void *p = (const char *)c + k->off;
        fprintf(fp, "%-22s ", k->name);
        switch (k->type) {
        case KT_STRING:
        case KT_SOCKET:
        case KT_LISTEN:
        case KT_PREFIX:
            fprintf(fp, "%s", (const char *)p);
            break;
        case KT_UINT:
            fprintf(fp, "%u", *(const unsigned *)p);
            break;
        case KT_PERCENT:
            fprintf(fp, "%g%%", *(const unsigned *)p / 10000.0);
            break;
        case KT_MODE:
            fprintf(fp, "%04o", *(const unsigned *)p);
            break;
        case KT_MS:
            fprintf(fp, "%ums", *(const unsigned *)p);
            break;
        case KT_SECONDS:
            fprintf(fp, "%us", *(const unsigned *)p);
            break;
        case KT_AGE:
            fprintf(fp, "%llds", *(const long long *)p);
            break;
        case KT_TTL:
            if (*(const long long *)p == 0)
                fprintf(fp, "never");
            else
                fprintf(fp, "%llds", *(const long long *)p);
            break;
        case KT_BYTES:
            fprintf(fp, "%zu", *(const size_t *)p);
            break;
        case KT_BOOL:
            fprintf(fp, "%s", *(const int *)p ? "yes" : "no");
            break;
        case KT_FACILITY:
        case KT_LOGLEVEL:
            fprintf(fp, "%d", *(const int *)p);
            break;
        case KT_SCOPE:
            fprintf(fp, "%s", *(const enum bg_scope_mode *)p == BG_SCOPE_ALL ? "all"
                                                                            : "outbound");
            break;
        case KT_NAMES: {
            const struct bg_names *l = p;
            for (size_t j = 0; j < l->n; j++)
                fprintf(fp, "%s%s", j ? " " : "", l->name[j]);
            break;
        }
        case KT_NETS:
            fprintf(fp, "(%zu networks)", ((const struct bg_netlist *)p)->n);
            break;
        case KT_EXEMPT: {
            const struct bg_exempt *e = p;
            for (size_t j = 0; j < e->n; j++)
                fprintf(fp, "%s%s", j ? " " : "", e->entry[j]);
            break;
        }
        case KT_JSYNC:
            fprintf(fp, "%s", bg_journal_sync_name(*(const enum bg_journal_sync *)p));
            break;
        }
        fprintf(fp, "\n");
    }
}
