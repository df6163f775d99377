/* mtclient.c - a small milter protocol (version 6) client for tests.
 *
 * Plays the MTA side of the milter protocol against a filter, driven by a
 * line-oriented script on stdin, and prints one line per command the
 * filter answers, so integration tests can do
 *
 *     mtclient unix:/path/sock < case.in | diff -u case.ref -
 *
 * Usage: mtclient [-v] [-t timeout_ms] [-n runs -c conns] [-q] SOCKET < script
 *
 * SOCKET is a libmilter socket spec: unix:/path (or local:/path, /path),
 * inet:PORT@HOST (HOST defaults to 127.0.0.1), inet6:PORT@HOST.
 *
 * Script lines ('#' starts a comment line, blank lines are ignored):
 *
 *   macro STAGE NAME=value ...   macros for the next STAGE command; STAGE is
 *                                one of connect helo mail rcpt data header
 *                                eoh body eom unknown. NAME is one character
 *                                or {long_name}. A blank-separated word that
 *                                does not look like NAME=... continues the
 *                                previous value: "_=client.example [192.0.2.1]"
 *   connect HOST ADDR [PORT]     ADDR is IPv4, IPv6 (optionally "IPv6:..."),
 *                                a /path (unix family) or "unknown"
 *   helo NAME                    (ehlo is a synonym)
 *   mail <addr> [ESMTP args...]  ("mail" alone sends one empty argument:
 *                                Postfix's non-SMTP null sender)
 *   rcpt <addr> [ESMTP args...]
 *   data
 *   header Name: value
 *   eoh
 *   body text                    one body chunk: text + CRLF
 *   eom
 *   unknown SMTP command text
 *   abort                        SMFIC_ABORT (no reply, prints nothing)
 *   quit                         SMFIC_QUIT (no reply, prints nothing); a
 *                                later command opens a new connection
 *   expect-close                 wait until the filter closes the connection,
 *                                print "expect-close: closed"
 *
 * The connection is opened (and options negotiated) when the first command
 * needs it; "connect" on a connection that already saw one quits it first.
 * In every script line the text %RUN% is replaced by the run number (0 in
 * a single run, 0..N-1 with -n N), so load runs can vary addresses.
 *
 * Output, one line per command the filter answers:
 *   <cmd> <arg>: continue|accept|reject|tempfail|discard|skip|reply <text>
 * At eom every modification action comes first, one line each (addrcpt,
 * addrcpt_par, delrcpt, addheader, insheader, chgheader, chgfrom,
 * quarantine, replbody N bytes). Commands the filter asked not to receive
 * (SMFIP_NO*) are not sent and print nothing; commands for which it asked
 * for no reply (SMFIP_NR_*) are sent and print nothing. After a final
 * reply for the connection (connect, helo) or the message (mail, data,
 * header, eoh, body, eom; accept or discard at rcpt), later commands of
 * that connection/message are not sent and print "<cmd> <arg>: skipped";
 * after "skip" at body the remaining body chunks are skipped.
 *
 * -v prints the negotiated options ("optneg: ...") on stdout, -v -v also
 * traces packets on stderr. -q only probes: connect, negotiate, quit.
 * -n N -c C runs the script N times over C concurrent connections (one
 * thread each) and prints only a summary line; it ends with the RCPT
 * latencies (from sending a RCPT to its reply): rcpt_p50_us, rcpt_p99_us,
 * rcpt_max_us.
 *
 * Exit: 0 conversation completed (whatever the replies), 1 usage or script
 * error, 2 protocol/IO error or timeout (message on stderr naming the step).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#define MAX_PACKET   (1024u * 1024u)        /* largest filter packet (length field) */
#define MAX_SEND     65535u                 /* largest data we send (libmilter default) */
#define MAX_LINE     65536u                 /* longest script line */
#define MAX_SCRIPT   (16u * 1024u * 1024u)  /* largest script */
#define MAX_CONNS    1024
#define MAX_ERRMSGS  10                     /* load mode: errors echoed to stderr */

#define OFFER_ACTS ((uint32_t)(SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | \
    SMFIF_DELRCPT | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_CHGFROM | \
    SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST))
#define OFFER_PROT ((uint32_t)SMFI_CURR_PROT)

#define FMT(a, b) __attribute__((format(printf, a, b)))

/* ---------------------------------------------------------------- script */

enum kind {
    K_MACRO, K_CONNECT, K_HELO, K_MAIL, K_RCPT, K_DATA, K_HEADER, K_EOH,
    K_BODY, K_EOM, K_UNKNOWN, K_ABORT, K_QUIT, K_EXPECT_CLOSE, K_NKINDS
};

enum scope { S_NONE, S_CONN, S_MSG, S_RCPT };
enum args { A_NONE, A_OPT, A_REQ };

struct cmdinfo {
    const char *name;
    enum kind kind;
    char code;          /* SMFIC_* sent, 0 for none */
    char stage;         /* SMFIC_MACRO stage letter, 0 when no macros */
    uint32_t no_bit;    /* SMFIP_NO*: filter does not want it */
    uint32_t nr_bit;    /* SMFIP_NR_*: filter does not reply */
    enum scope scope;
    enum args args;
};

static const struct cmdinfo cmdtab[] = {
    { "macro",   K_MACRO,   0, 0, 0, 0, S_NONE, A_REQ },
    { "connect", K_CONNECT, SMFIC_CONNECT, SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN, S_CONN, A_REQ },
    { "helo",    K_HELO,    SMFIC_HELO, SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO, S_CONN, A_OPT },
    { "ehlo",    K_HELO,    SMFIC_HELO, SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO, S_CONN, A_OPT },
    { "mail",    K_MAIL,    SMFIC_MAIL, SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL, S_MSG, A_OPT },
    { "rcpt",    K_RCPT,    SMFIC_RCPT, SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT, S_RCPT, A_REQ },
    { "data",    K_DATA,    SMFIC_DATA, SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA, S_MSG, A_NONE },
    { "header",  K_HEADER,  SMFIC_HEADER, SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR, S_MSG, A_REQ },
    { "eoh",     K_EOH,     SMFIC_EOH, SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH, S_MSG, A_NONE },
    { "body",    K_BODY,    SMFIC_BODY, SMFIC_BODY, SMFIP_NOBODY, SMFIP_NR_BODY, S_MSG, A_OPT },
    { "eom",     K_EOM,     SMFIC_BODYEOB, SMFIC_BODYEOB, 0, 0, S_MSG, A_NONE },
    { "unknown", K_UNKNOWN, SMFIC_UNKNOWN, SMFIC_UNKNOWN, SMFIP_NOUNKNOWN, SMFIP_NR_UNKN, S_NONE, A_REQ },
    { "abort",   K_ABORT,   SMFIC_ABORT, 0, 0, 0, S_NONE, A_NONE },
    { "quit",    K_QUIT,    SMFIC_QUIT, 0, 0, 0, S_NONE, A_NONE },
    { "expect-close", K_EXPECT_CLOSE, 0, 0, 0, 0, S_NONE, A_NONE },
};
#define NCMDS (sizeof cmdtab / sizeof cmdtab[0])

struct step {
    const struct cmdinfo *ci;
    unsigned lineno;
    const struct cmdinfo *mstage;   /* K_MACRO: the stage's command */
    char *arg;                      /* as written, "" when none */
    char *desc;                     /* "rcpt <x>" for messages */
};

struct script {
    struct step *steps;
    size_t nsteps;
    int has_run;                    /* some line contains %RUN% */
};

/* ---------------------------------------------------------------- helpers */

static void die_oom(void)
{
    fputs("mtclient: out of memory\n", stderr);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        die_oom();
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xrealloc(NULL, n);
    memcpy(p, s, n);
    return p;
}

struct buf {
    unsigned char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const void *d, size_t n)
{
    if (n == 0)
        return;
    if (n > SIZE_MAX / 4 - b->len)
        die_oom();
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n)
            nc *= 2;
        b->p = xrealloc(b->p, nc);
        b->cap = nc;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void buf_addc(struct buf *b, unsigned char c)
{
    buf_add(b, &c, 1);
}

static void buf_addz(struct buf *b, const char *s)      /* with the NUL */
{
    buf_add(b, s, strlen(s) + 1);
}

static void buf_add32(struct buf *b, uint32_t v)
{
    unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v };
    buf_add(b, x, 4);
}

static void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* RCPT latencies (load mode): microseconds from sending the RCPT (its
 * macros first) to its reply. */
struct latv {
    uint32_t *v;
    size_t n, cap;
};

static void latv_push(struct latv *l, int64_t us)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        uint32_t *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return;                 /* a statistic: drop the sample */
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = us < 0 ? 0 : us > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int is_blank(int c)
{
    return c == ' ' || c == '\t';
}

/* Replace every %RUN% in s by run; returns malloc'd text. */
static char *expand_run(const char *s, unsigned long run)
{
    struct buf b = { 0 };
    char num[32];
    int nl = snprintf(num, sizeof num, "%lu", run);
    for (const char *p = s; *p;) {
        if (strncmp(p, "%RUN%", 5) == 0) {
            buf_add(&b, num, (size_t)nl);
            p += 5;
        } else {
            buf_addc(&b, (unsigned char)*p++);
        }
    }
    buf_addc(&b, 0);
    return (char *)b.p;
}

/* Splits s (modified) into blank-separated words; returns count. */
static size_t split_words(char *s, char **w, size_t maxw)
{
    size_t n = 0;
    while (*s) {
        while (is_blank((unsigned char)*s))
            *s++ = '\0';
        if (!*s)
            break;
        if (n == maxw)
            return maxw + 1;
        w[n++] = s;
        while (*s && !is_blank((unsigned char)*s))
            s++;
    }
    return n;
}

/* Does word w start a macro definition "X=..." or "{name}=..."? */
static size_t macro_name_len(const char *w)
{
    if (w[0] == '{') {
        const char *e = strchr(w, '}');
        if (e == NULL || e == w + 1 || e[1] != '=' || memchr(w, '=', (size_t)(e - w)))
            return 0;
        return (size_t)(e - w) + 1;
    }
    if (w[0] != '\0' && w[0] != '=' && w[1] == '=')
        return 1;
    return 0;
}

/* Appends the SMFIC_MACRO payload pairs for "NAME=value ..." to b.
 * Returns 0, or -1 with *why set. */
static int parse_macros(const char *defs, struct buf *b, const char **why)
{
    char *copy = xstrdup(defs);
    size_t maxw = strlen(copy) / 2 + 2;
    char **w = xrealloc(NULL, maxw * sizeof *w);
    size_t n = split_words(copy, w, maxw);
    int have = 0, rc = 0;
    struct buf val = { 0 };
    for (size_t i = 0; i <= n; i++) {
        size_t nl = i < n ? macro_name_len(w[i]) : 1;
        if (nl > 0 && have) {
            buf_addc(&val, 0);
            buf_add(b, val.p, val.len);
            val.len = 0;
            have = 0;
        }
        if (i == n)
            break;
        if (nl > 0) {
            buf_add(b, w[i], nl);
            buf_addc(b, 0);
            buf_add(&val, w[i] + nl + 1, strlen(w[i] + nl + 1));
            have = 1;
        } else if (have) {
            buf_addc(&val, ' ');
            buf_add(&val, w[i], strlen(w[i]));
        } else {
            *why = "expected NAME=value (NAME one character or {name})";
            rc = -1;
            break;
        }
    }
    if (n == 0) {
        *why = "no macro definitions";
        rc = -1;
    }
    buf_free(&val);
    free(w);
    free(copy);
    return rc;
}

static const struct cmdinfo *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCMDS; i++)
        if (strcmp(cmdtab[i].name, name) == 0)
            return &cmdtab[i];
    return NULL;
}

static void script_free(struct script *sc)
{
    for (size_t i = 0; i < sc->nsteps; i++) {
        free(sc->steps[i].arg);
        free(sc->steps[i].desc);
    }
    free(sc->steps);
    sc->steps = NULL;
    sc->nsteps = 0;
}

/* Checks one step's syntax (after %RUN% expansion); NULL when fine. */
static const char *check_step(const struct step *st, const char *arg)
{
    switch (st->ci->kind) {
    case K_MACRO: {
        struct buf b = { 0 };
        const char *why = NULL;
        int rc = parse_macros(arg, &b, &why);
        buf_free(&b);
        return rc < 0 ? why : NULL;
    }
    case K_CONNECT: {
        char *copy = xstrdup(arg);
        char *w[4];
        const char *why = NULL;
        size_t n = split_words(copy, w, 3);
        if (n < 2 || n > 3) {
            why = "usage: connect HOST ADDR [PORT]";
        } else if (n == 3) {
            char *end;
            errno = 0;
            unsigned long p = strtoul(w[2], &end, 10);
            if (errno || *end || end == w[2] || p > 65535)
                why = "bad port";
        }
        free(copy);
        return why;
    }
    case K_HEADER: {
        const char *c = strchr(arg, ':');
        if (c == NULL || c == arg)
            return "usage: header Name: value";
        for (const char *p = arg; p < c; p++)
            if (is_blank((unsigned char)*p))
                return "blank in header name";
        return NULL;
    }
    case K_BODY:
        return strlen(arg) > MAX_SEND - 2 ? "body line too long" : NULL;
    default:
        return NULL;
    }
}

static int script_read(FILE *in, struct script *sc)
{
    char *line = NULL;
    size_t cap = 0, total = 0, alloc = 0;
    ssize_t got;
    unsigned lineno = 0;
    int rc = 0;

    memset(sc, 0, sizeof *sc);
    while ((got = getline(&line, &cap, in)) != -1) {
        lineno++;
        total += (size_t)got;
        if (total > MAX_SCRIPT) {
            fprintf(stderr, "mtclient: script larger than %u bytes\n", MAX_SCRIPT);
            rc = -1;
            break;
        }
        if ((size_t)got > MAX_LINE) {
            fprintf(stderr, "mtclient: script line %u: longer than %u bytes\n", lineno, MAX_LINE);
            rc = -1;
            break;
        }
        if (memchr(line, '\0', (size_t)got) != NULL) {
            fprintf(stderr, "mtclient: script line %u: NUL byte\n", lineno);
            rc = -1;
            break;
        }
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *s = line;
        while (is_blank((unsigned char)*s))
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        char *word = s;
        while (*s && !is_blank((unsigned char)*s))
            s++;
        char *arg;
        if (*s) {
            *s++ = '\0';
            if (find_cmd(word) != NULL && find_cmd(word)->kind == K_BODY) {
                arg = s;        /* body text is kept verbatim */
            } else {
                while (is_blank((unsigned char)*s))
                    s++;
                arg = s;
                size_t al = strlen(arg);
                while (al > 0 && is_blank((unsigned char)arg[al - 1]))
                    arg[--al] = '\0';
            }
        } else {
            arg = s;
        }
        const struct cmdinfo *ci = find_cmd(word);
        if (ci == NULL) {
            fprintf(stderr, "mtclient: script line %u: unknown command '%.64s'\n", lineno, word);
            rc = -1;
            break;
        }
        if (ci->args == A_NONE && *arg) {
            fprintf(stderr, "mtclient: script line %u: %s takes no argument\n", lineno, ci->name);
            rc = -1;
            break;
        }
        if (ci->args == A_REQ && !*arg) {
            fprintf(stderr, "mtclient: script line %u: %s needs an argument\n", lineno, ci->name);
            rc = -1;
            break;
        }
        struct step st = { ci, lineno, NULL, NULL, NULL };
        if (ci->kind == K_MACRO) {
            char *sp = arg;
            while (*sp && !is_blank((unsigned char)*sp))
                sp++;
            char save = *sp;
            *sp = '\0';
            st.mstage = find_cmd(arg);
            *sp = save;
            if (st.mstage == NULL || st.mstage->stage == 0) {
                fprintf(stderr, "mtclient: script line %u: macro: bad stage '%.64s'\n",
                        lineno, arg);
                rc = -1;
                break;
            }
            while (is_blank((unsigned char)*sp))
                sp++;
            arg = sp;
        }
        if (strstr(arg, "%RUN%") != NULL)
            sc->has_run = 1;
        char *ex = expand_run(arg, 0);
        const char *why = check_step(&st, ex);
        free(ex);
        if (why != NULL) {
            fprintf(stderr, "mtclient: script line %u: %s\n", lineno, why);
            rc = -1;
            break;
        }
        st.arg = xstrdup(arg);
        if (sc->nsteps == alloc) {
            alloc = alloc ? alloc * 2 : 32;
            sc->steps = xrealloc(sc->steps, alloc * sizeof *sc->steps);
        }
        sc->steps[sc->nsteps++] = st;
    }
    free(line);
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "mtclient: reading script: %s\n", strerror(errno));
        rc = -1;
    }
    if (rc < 0)
        script_free(sc);
    return rc;
}

/* ---------------------------------------------------------------- socket */

struct target {
    struct sockaddr_storage sa;
    socklen_t salen;
    const char *spec;
};

static int parse_spec(const char *spec, struct target *t)
{
    memset(t, 0, sizeof *t);
    t->spec = spec;
    const char *path = NULL;
    if (strncmp(spec, "unix:", 5) == 0)
        path = spec + 5;
    else if (strncmp(spec, "local:", 6) == 0)
        path = spec + 6;
    else if (spec[0] == '/')
        path = spec;
    if (path != NULL) {
        struct sockaddr_un *su = (struct sockaddr_un *)&t->sa;
        if (*path == '\0' || strlen(path) >= sizeof su->sun_path) {
            fprintf(stderr, "mtclient: %s: bad unix socket path\n", spec);
            return -1;
        }
        su->sun_family = AF_UNIX;
        memcpy(su->sun_path, path, strlen(path) + 1);
        t->salen = (socklen_t)sizeof *su;
        return 0;
    }
    int family;
    const char *rest, *dflt;
    if (strncmp(spec, "inet:", 5) == 0) {
        family = AF_INET;
        rest = spec + 5;
        dflt = "127.0.0.1";
    } else if (strncmp(spec, "inet6:", 6) == 0) {
        family = AF_INET6;
        rest = spec + 6;
        dflt = "::1";
    } else {
        fprintf(stderr, "mtclient: %s: socket must be unix:/path, inet:PORT@HOST or "
                "inet6:PORT@HOST\n", spec);
        return -1;
    }
    char port[16];
    const char *at = strchr(rest, '@');
    size_t pl = at ? (size_t)(at - rest) : strlen(rest);
    const char *host = at && at[1] ? at + 1 : dflt;
    if (pl == 0 || pl >= sizeof port || strspn(rest, "0123456789") != pl) {
        fprintf(stderr, "mtclient: %s: bad port\n", spec);
        return -1;
    }
    memcpy(port, rest, pl);
    port[pl] = '\0';
    if (strtoul(port, NULL, 10) < 1 || strtoul(port, NULL, 10) > 65535) {
        fprintf(stderr, "mtclient: %s: bad port\n", spec);
        return -1;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0 || res == NULL || res->ai_addrlen > sizeof t->sa) {
        fprintf(stderr, "mtclient: %s: %s\n", spec, gai ? gai_strerror(gai) : "no address");
        if (res)
            freeaddrinfo(res);
        return -1;
    }
    memcpy(&t->sa, res->ai_addr, res->ai_addrlen);
    t->salen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* ---------------------------------------------------------------- session */

enum rkind {
    R_CONTINUE, R_ACCEPT, R_REJECT, R_TEMPFAIL, R_DISCARD, R_SKIP, R_REPLY,
    R_REPLY4, R_REPLY5, R_SKIPPED, R_SHUTDOWN, R_CONNFAIL, R_MODS, R_NKINDS
};
static const char *const rnames[R_NKINDS] = {
    "continue", "accept", "reject", "tempfail", "discard", "skip", "reply",
    "reply4xx", "reply5xx", "skipped", "shutdown", "connfail", "mods"
};

struct session {
    const struct script *sc;
    const struct target *tg;
    unsigned long run;
    int timeout_ms;
    int verbose;
    FILE *out;                      /* NULL: load mode, print nothing */
    struct latv *lat;               /* load mode: RCPT latencies, or NULL */

    int fd;                         /* -1: not connected */
    int quitting;                   /* QUIT sent, fd kept for expect-close */
    int connect_sent;
    uint32_t version, acts, prot;   /* negotiated */
    int conn_skip, msg_skip, body_skip;

    struct buf macros[K_NKINDS];    /* pending, per stage command */
    unsigned long counts[R_NKINDS];
    char step[160];                 /* "line 7 (rcpt <bob@x>)" */
    char err[512];
};

static int fail(struct session *s, const char *fmt, ...) FMT(2, 3);
static int fail(struct session *s, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(s->err, sizeof s->err, "%s: %s", s->step, msg);
    return -1;
}

static void put_esc(FILE *f, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '\r')
            fputs("\\r", f);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

static void put_str(FILE *f, const char *s)
{
    put_esc(f, (const unsigned char *)s, strlen(s));
}

/* Waits for fd to become ready; 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = { fd, events, 0 };
        int r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

static void trace(struct session *s, const char *dir, char cmd, size_t len)
{
    if (s->verbose >= 2)
        fprintf(stderr, "mtclient: %s %c (0x%02x) %zu bytes data\n", dir,
                cmd >= 0x20 && cmd < 0x7f ? cmd : '?', (unsigned char)cmd, len);
}

static int send_packet(struct session *s, char cmd, const void *data, size_t len,
                       int64_t deadline)
{
    if (len > MAX_SEND)
        return fail(s, "command data of %zu bytes exceeds %u", len, MAX_SEND);
    struct buf b = { 0 };
    buf_add32(&b, (uint32_t)len + 1);
    buf_addc(&b, (unsigned char)cmd);
    buf_add(&b, data, len);
    trace(s, ">", cmd, len);
    size_t off = 0;
    int rc = 0;
    while (off < b.len) {
        ssize_t w = send(s->fd, b.p + off, b.len - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(s->fd, POLLOUT, deadline);
            if (r > 0)
                continue;
            rc = r == 0 ? fail(s, "timeout after %d ms sending to filter", s->timeout_ms)
                        : fail(s, "poll: %s", strerror(errno));
            break;
        }
        rc = fail(s, "write to filter: %s", w < 0 ? strerror(errno) : "short write");
        break;
    }
    buf_free(&b);
    return rc;
}

/* Reads exactly n bytes. Returns 0, -1 error, 1 EOF before the first byte
 * when eof_ok. */
static int read_full(struct session *s, unsigned char *p, size_t n, int64_t deadline,
                     int eof_ok)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = read(s->fd, p + off, n - off);
        if (r > 0) {
            off += (size_t)r;
            continue;
        }
        if (r == 0) {
            if (eof_ok && off == 0)
                return 1;
            return fail(s, "filter closed the connection%s", off ? " mid-packet" : "");
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(s->fd, POLLIN, deadline);
            if (w > 0)
                continue;
            if (w == 0)
                return fail(s, "timeout after %d ms waiting for the filter", s->timeout_ms);
            return fail(s, "poll: %s", strerror(errno));
        }
        return fail(s, "read from filter: %s", strerror(errno));
    }
    return 0;
}

/* Reads one packet into *data (malloc'd, NUL-terminated for safety). */
static int read_packet(struct session *s, char *cmd, unsigned char **data, size_t *len,
                       int64_t deadline, int eof_ok)
{
    unsigned char hdr[5];
    int r = read_full(s, hdr, 4, deadline, eof_ok);
    if (r != 0)
        return r;
    uint32_t plen = get32(hdr);
    if (plen == 0)
        return fail(s, "filter sent a packet of length 0");
    if (plen > MAX_PACKET)
        return fail(s, "filter packet of %lu bytes exceeds %u", (unsigned long)plen, MAX_PACKET);
    if (read_full(s, hdr + 4, 1, deadline, 0) != 0)
        return -1;
    unsigned char *d = xrealloc(NULL, plen);
    if (read_full(s, d, plen - 1, deadline, 0) != 0) {
        free(d);
        return -1;
    }
    d[plen - 1] = '\0';
    *cmd = (char)hdr[4];
    *data = d;
    *len = plen - 1;
    trace(s, "<", *cmd, *len);
    return 0;
}

/* Takes one NUL-terminated string from [*p, *p + *n). */
static const char *take_str(const unsigned char **p, size_t *n)
{
    const unsigned char *z = memchr(*p, '\0', *n);
    if (z == NULL)
        return NULL;
    const char *s = (const char *)*p;
    *n -= (size_t)(z - *p) + 1;
    *p = z + 1;
    return s;
}

static void close_conn(struct session *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->quitting = 0;
    s->connect_sent = 0;
    s->conn_skip = s->msg_skip = s->body_skip = 0;
}

static void put_flags(FILE *f, uint32_t v, const char *const *names, const uint32_t *bits,
                      size_t n)
{
    int first = 1;
    fprintf(f, "0x%08lx", (unsigned long)v);
    for (size_t i = 0; i < n; i++)
        if (v & bits[i]) {
            fprintf(f, "%s%s", first ? " (" : ",", names[i]);
            first = 0;
            v &= ~bits[i];
        }
    if (v)
        fprintf(f, "%s0x%lx", first ? " (" : ",", (unsigned long)v);
    if (!first || v)
        fputc(')', f);
}

static void print_optneg(struct session *s)
{
    static const char *const an[] = { "ADDHDRS", "CHGBODY", "ADDRCPT", "DELRCPT", "CHGHDRS",
        "QUARANTINE", "CHGFROM", "ADDRCPT_PAR", "SETSYMLIST" };
    static const uint32_t ab[] = { SMFIF_ADDHDRS, SMFIF_CHGBODY, SMFIF_ADDRCPT, SMFIF_DELRCPT,
        SMFIF_CHGHDRS, SMFIF_QUARANTINE, SMFIF_CHGFROM, SMFIF_ADDRCPT_PAR, SMFIF_SETSYMLIST };
    static const char *const pn[] = { "NOCONNECT", "NOHELO", "NOMAIL", "NORCPT", "NOBODY",
        "NOHDRS", "NOEOH", "NR_HDR", "NOUNKNOWN", "NODATA", "SKIP", "RCPT_REJ", "NR_CONN",
        "NR_HELO", "NR_MAIL", "NR_RCPT", "NR_DATA", "NR_UNKN", "NR_EOH", "NR_BODY",
        "HDR_LEADSPC", "MDS_256K", "MDS_1M" };
    static const uint32_t pb[] = { SMFIP_NOCONNECT, SMFIP_NOHELO, SMFIP_NOMAIL, SMFIP_NORCPT,
        SMFIP_NOBODY, SMFIP_NOHDRS, SMFIP_NOEOH, SMFIP_NR_HDR, SMFIP_NOUNKNOWN, SMFIP_NODATA,
        SMFIP_SKIP, SMFIP_RCPT_REJ, SMFIP_NR_CONN, SMFIP_NR_HELO, SMFIP_NR_MAIL, SMFIP_NR_RCPT,
        SMFIP_NR_DATA, SMFIP_NR_UNKN, SMFIP_NR_EOH, SMFIP_NR_BODY, SMFIP_HDR_LEADSPC,
        SMFIP_MDS_256K, SMFIP_MDS_1M };
    fprintf(s->out, "optneg: version %lu actions ", (unsigned long)s->version);
    put_flags(s->out, s->acts, an, ab, sizeof ab / sizeof ab[0]);
    fputs(" protocol ", s->out);
    put_flags(s->out, s->prot, pn, pb, sizeof pb / sizeof pb[0]);
    fputc('\n', s->out);
}

static int open_conn(struct session *s)
{
    int64_t deadline = now_ms() + s->timeout_ms;
    const struct target *t = s->tg;
    int fd = -1;
    for (;;) {
        fd = socket(t->sa.ss_family, SOCK_STREAM, 0);
        if (fd < 0)
            return fail(s, "socket: %s", strerror(errno));
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        /* A macro packet and its command are two writes, and the filter
         * answers neither until the command: with Nagle the command waited
         * for the delayed ACK (40 ms per command over inet). */
        if (t->sa.ss_family != AF_UNIX) {
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
            close(fd);
            return fail(s, "fcntl: %s", strerror(errno));
        }
        if (connect(fd, (const struct sockaddr *)&t->sa, t->salen) == 0)
            break;
        if (errno == EINPROGRESS || errno == EINTR) {
            int r = wait_fd(fd, POLLOUT, deadline);
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
            close(fd);
            if (r == 0)
                return fail(s, "connect to %s: timeout after %d ms", t->spec, s->timeout_ms);
            return fail(s, "connect to %s: %s", t->spec, strerror(r > 0 ? soerr : errno));
        }
        /* A full unix listen queue says EAGAIN: retry until the deadline. */
        if (errno == EAGAIN && t->sa.ss_family == AF_UNIX && now_ms() < deadline) {
            close(fd);
            struct timespec ts = { 0, 2 * 1000 * 1000 };
            nanosleep(&ts, NULL);
            continue;
        }
        int e = errno;
        close(fd);
        return fail(s, "connect to %s: %s", t->spec, strerror(e));
    }
    s->fd = fd;
    s->quitting = 0;
    s->connect_sent = 0;
    s->conn_skip = s->msg_skip = s->body_skip = 0;

    /* SMFIC_OPTNEG: version, actions, protocol. */
    struct buf b = { 0 };
    buf_add32(&b, SMFI_PROT_VERSION);
    buf_add32(&b, OFFER_ACTS);
    buf_add32(&b, OFFER_PROT);
    int rc = send_packet(s, SMFIC_OPTNEG, b.p, b.len, deadline);
    buf_free(&b);
    if (rc < 0)
        return -1;
    char cmd;
    unsigned char *d;
    size_t len;
    if (read_packet(s, &cmd, &d, &len, deadline, 0) != 0)
        return -1;
    if (cmd != SMFIC_OPTNEG) {
        free(d);
        return fail(s, "optneg: filter answered '%c' (0x%02x), not 'O'",
                    cmd >= 0x20 && cmd < 0x7f ? cmd : '?', (unsigned char)cmd);
    }
    if (len < 12) {
        free(d);
        return fail(s, "optneg: reply of %zu bytes, need 12", len);
    }
    s->version = get32(d);
    s->acts = get32(d + 4);
    s->prot = get32(d + 8);
    if (s->version < 2 || s->version > SMFI_PROT_VERSION) {
        free(d);
        return fail(s, "optneg: filter speaks version %lu, want 2..%d",
                    (unsigned long)s->version, SMFI_PROT_VERSION);
    }
    if (s->acts & ~OFFER_ACTS) {
        free(d);
        return fail(s, "optneg: filter wants actions 0x%lx not offered",
                    (unsigned long)(s->acts & ~OFFER_ACTS));
    }
    if (s->prot & ~(OFFER_PROT | (uint32_t)SMFI_INTERNAL)) {
        free(d);
        return fail(s, "optneg: filter wants protocol bits 0x%lx not offered",
                    (unsigned long)(s->prot & ~(OFFER_PROT | (uint32_t)SMFI_INTERNAL)));
    }
    if (s->verbose && s->out)
        print_optneg(s);
    /* Optional SMFIR_SETSYMLIST part: (stage, "macro list") pairs. */
    const unsigned char *p = d + 12;
    size_t n = len - 12;
    while (n > 0) {
        if (n < 5) {
            free(d);
            return fail(s, "optneg: truncated macro list");
        }
        uint32_t stage = get32(p);
        p += 4;
        n -= 4;
        const char *list = take_str(&p, &n);
        if (list == NULL || stage > SMFIM_LAST) {
            free(d);
            return fail(s, "optneg: malformed macro list");
        }
        if (s->verbose && s->out) {
            fprintf(s->out, "optneg: symlist %lu ", (unsigned long)stage);
            put_str(s->out, list);
            fputc('\n', s->out);
        }
    }
    free(d);
    return 0;
}

static void count(struct session *s, enum rkind k)
{
    s->counts[k]++;
}

static void print_head(struct session *s, const struct step *st, const char *arg)
{
    fputs(st->ci->name, s->out);
    if (*arg) {
        fputc(' ', s->out);
        put_str(s->out, arg);
    }
    fputs(": ", s->out);
}

/* Handles one modification action at eom. */
static int do_mod(struct session *s, char cmd, const unsigned char *d, size_t len)
{
    static const struct { char cmd; uint32_t act; const char *name; } mods[] = {
        { SMFIR_ADDRCPT, SMFIF_ADDRCPT, "addrcpt" },
        { SMFIR_ADDRCPT_PAR, SMFIF_ADDRCPT_PAR, "addrcpt_par" },
        { SMFIR_DELRCPT, SMFIF_DELRCPT, "delrcpt" },
        { SMFIR_ADDHEADER, SMFIF_ADDHDRS, "addheader" },
        { SMFIR_INSHEADER, SMFIF_ADDHDRS, "insheader" },
        { SMFIR_CHGHEADER, SMFIF_CHGHDRS, "chgheader" },
        { SMFIR_CHGFROM, SMFIF_CHGFROM, "chgfrom" },
        { SMFIR_QUARANTINE, SMFIF_QUARANTINE, "quarantine" },
        { SMFIR_REPLBODY, SMFIF_CHGBODY, "replbody" },
    };
    size_t i;
    for (i = 0; i < sizeof mods / sizeof mods[0]; i++)
        if (mods[i].cmd == cmd)
            break;
    if (i == sizeof mods / sizeof mods[0])
        return fail(s, "unknown modification action");
    if (!(s->acts & mods[i].act))
        return fail(s, "filter sent %s without negotiating that action", mods[i].name);
    const unsigned char *p = d;
    size_t n = len;
    FILE *f = s->out;
    count(s, R_MODS);
    if (cmd == SMFIR_REPLBODY) {
        if (f)
            fprintf(f, "replbody %zu bytes\n", len);
        return 0;
    }
    unsigned long idx = 0;
    if (cmd == SMFIR_INSHEADER || cmd == SMFIR_CHGHEADER) {
        if (n < 4)
            return fail(s, "%s: truncated", mods[i].name);
        idx = get32(p);
        p += 4;
        n -= 4;
    }
    const char *a = take_str(&p, &n);
    if (a == NULL)
        return fail(s, "%s: missing NUL-terminated argument", mods[i].name);
    const char *b = NULL;
    if (cmd == SMFIR_ADDHEADER || cmd == SMFIR_INSHEADER || cmd == SMFIR_CHGHEADER) {
        b = take_str(&p, &n);
        if (b == NULL)
            return fail(s, "%s: missing header value", mods[i].name);
    } else if ((cmd == SMFIR_ADDRCPT_PAR || cmd == SMFIR_CHGFROM) && n > 0) {
        b = take_str(&p, &n);
        if (b == NULL)
            return fail(s, "%s: ESMTP arguments not NUL-terminated", mods[i].name);
    }
    if (f == NULL)
        return 0;
    fputs(mods[i].name, f);
    if (cmd == SMFIR_INSHEADER || cmd == SMFIR_CHGHEADER)
        fprintf(f, " %lu", idx);
    fputc(' ', f);
    put_str(f, a);
    if (cmd == SMFIR_ADDHEADER || cmd == SMFIR_INSHEADER || cmd == SMFIR_CHGHEADER) {
        fputc(':', f);
        if (*b && !(s->prot & SMFIP_HDR_LEADSPC))
            fputc(' ', f);
        put_str(f, b);
    } else if (b != NULL && *b) {
        fputc(' ', f);
        put_str(f, b);
    }
    fputc('\n', f);
    return 0;
}

/* Reads replies to the command of step st until a final one; prints it and
 * returns its kind (>= 0) or -1 on error. */
static int get_reply(struct session *s, const struct step *st, const char *arg)
{
    int64_t deadline = now_ms() + s->timeout_ms;
    for (;;) {
        char cmd;
        unsigned char *d;
        size_t len;
        if (read_packet(s, &cmd, &d, &len, deadline, 0) != 0)
            return -1;
        enum rkind k;
        switch (cmd) {
        case SMFIR_PROGRESS:
            free(d);
            deadline = now_ms() + s->timeout_ms;
            continue;
        case SMFIR_ADDRCPT: case SMFIR_ADDRCPT_PAR: case SMFIR_DELRCPT:
        case SMFIR_ADDHEADER: case SMFIR_INSHEADER: case SMFIR_CHGHEADER:
        case SMFIR_CHGFROM: case SMFIR_QUARANTINE: case SMFIR_REPLBODY: {
            int rc = st->ci->kind == K_EOM ? do_mod(s, cmd, d, len)
                : fail(s, "modification action '%c' outside eom", cmd);
            free(d);
            if (rc < 0)
                return -1;
            continue;
        }
        case SMFIR_CONTINUE: k = R_CONTINUE; break;
        case SMFIR_ACCEPT:   k = R_ACCEPT; break;
        case SMFIR_REJECT:   k = R_REJECT; break;
        case SMFIR_TEMPFAIL: k = R_TEMPFAIL; break;
        case SMFIR_DISCARD:  k = R_DISCARD; break;
        case SMFIR_SKIP:     k = R_SKIP; break;
        case SMFIR_SHUTDOWN: k = R_SHUTDOWN; break;
        case SMFIR_CONN_FAIL: k = R_CONNFAIL; break;
        case SMFIR_REPLYCODE: {
            const unsigned char *p = d;
            size_t n = len;
            const char *text = take_str(&p, &n);
            if (text == NULL) {
                free(d);
                return fail(s, "reply code text not NUL-terminated");
            }
            if (strlen(text) < 3 || (text[0] != '4' && text[0] != '5') ||
                text[1] < '0' || text[1] > '9' || text[2] < '0' || text[2] > '9' ||
                (text[3] != '\0' && text[3] != ' ' && text[3] != '-')) {
                char shown[64];
                snprintf(shown, sizeof shown, "%s", text);
                for (char *c = shown; *c; c++)
                    if ((unsigned char)*c < 0x20)
                        *c = '?';
                free(d);
                return fail(s, "reply code text is not 4xx/5xx: '%s'", shown);
            }
            count(s, text[0] == '4' ? R_REPLY4 : R_REPLY5);
            count(s, R_REPLY);
            if (s->out) {
                print_head(s, st, arg);
                fputs("reply ", s->out);
                put_str(s->out, text);
                fputc('\n', s->out);
            }
            free(d);
            return R_REPLY;
        }
        default: {
            unsigned char c = (unsigned char)cmd;
            free(d);
            return fail(s, "unknown reply code '%c' (0x%02x)", c >= 0x20 && c < 0x7f ? c : '?', c);
        }
        }
        free(d);
        count(s, k);
        if (s->out) {
            print_head(s, st, arg);
            fprintf(s->out, "%s\n", rnames[k]);
        }
        return (int)k;
    }
}

/* Builds the command data of step st (arg already expanded). */
static void build_data(struct session *s, const struct step *st, const char *arg,
                       struct buf *b)
{
    char *copy, *w[4] = { NULL, NULL, NULL, NULL };
    switch (st->ci->kind) {
    case K_CONNECT: {
        copy = xstrdup(arg);
        size_t n = split_words(copy, w, 3);
        buf_addz(b, n > 0 ? w[0] : "unknown");
        const char *addr = n > 1 ? w[1] : "unknown";
        uint16_t port = n > 2 ? (uint16_t)strtoul(w[2], NULL, 10) : 0;
        unsigned char a6[16];
        if (strncasecmp(addr, "IPv6:", 5) == 0)
            addr += 5;
        char fam;
        if (strcmp(addr, "unknown") == 0)
            fam = SMFIA_UNKNOWN;
        else if (addr[0] == '/')
            fam = SMFIA_UNIX;
        else if (inet_pton(AF_INET, addr, a6) == 1)
            fam = SMFIA_INET;
        else if (inet_pton(AF_INET6, addr, a6) == 1)
            fam = SMFIA_INET6;
        else
            fam = SMFIA_INET;   /* let the filter judge a bad address */
        buf_addc(b, (unsigned char)fam);
        if (fam != SMFIA_UNKNOWN) {
            buf_addc(b, (unsigned char)(port >> 8));
            buf_addc(b, (unsigned char)port);
            buf_addz(b, addr);
        }
        free(copy);
        break;
    }
    case K_HELO:
    case K_UNKNOWN:
        buf_addz(b, arg);
        break;
    case K_MAIL:
    case K_RCPT: {
        copy = xstrdup(arg);
        /* No argument at all: one empty string, the way Postfix's non-SMTP
         * path sends the null sender (unlike SMTP's "<>"). */
        if (*copy == '\0')
            buf_addc(b, 0);
        for (char *p = copy; *p;) {
            while (is_blank((unsigned char)*p))
                p++;
            if (!*p)
                break;
            char *e = p;
            while (*e && !is_blank((unsigned char)*e))
                e++;
            buf_add(b, p, (size_t)(e - p));
            buf_addc(b, 0);
            p = e;
        }
        free(copy);
        break;
    }
    case K_HEADER: {
        const char *c = strchr(arg, ':');
        buf_add(b, arg, (size_t)(c - arg));
        buf_addc(b, 0);
        c++;
        if (!(s->prot & SMFIP_HDR_LEADSPC))
            while (is_blank((unsigned char)*c))
                c++;
        buf_addz(b, c);
        break;
    }
    case K_BODY:
        buf_add(b, arg, strlen(arg));
        buf_add(b, "\r\n", 2);
        break;
    default:
        break;
    }
}

static void drop_message_macros(struct session *s)
{
    static const enum kind mk[] = { K_MAIL, K_RCPT, K_DATA, K_HEADER, K_EOH, K_BODY, K_EOM };
    for (size_t i = 0; i < sizeof mk / sizeof mk[0]; i++)
        s->macros[mk[i]].len = 0;
}

/* Runs one SMTP-stage command (connect .. eom, unknown). */
static int do_command(struct session *s, const struct step *st, const char *arg)
{
    const struct cmdinfo *ci = st->ci;
    if (ci->kind == K_CONNECT && s->fd >= 0 && s->connect_sent && !s->quitting) {
        int64_t dl = now_ms() + s->timeout_ms;
        if (send_packet(s, SMFIC_QUIT, NULL, 0, dl) < 0)
            return -1;
        close_conn(s);
    }
    if (s->fd >= 0 && s->quitting)
        close_conn(s);
    if (s->fd < 0 && open_conn(s) < 0)
        return -1;
    if (ci->kind == K_CONNECT)
        s->connect_sent = 1;
    if (ci->kind == K_MAIL && !s->conn_skip)
        s->msg_skip = s->body_skip = 0;

    struct buf *mac = &s->macros[ci->kind];
    if (s->prot & ci->no_bit) {
        mac->len = 0;
        return 0;
    }
    if (s->conn_skip || (ci->scope >= S_MSG && s->msg_skip) ||
        (ci->kind == K_BODY && s->body_skip)) {
        mac->len = 0;
        if (!(s->prot & ci->nr_bit)) {
            count(s, R_SKIPPED);
            if (s->out) {
                print_head(s, st, arg);
                fputs("skipped\n", s->out);
            }
        }
        if (ci->kind == K_EOM && !s->conn_skip)
            s->msg_skip = s->body_skip = 0;
        return 0;
    }

    int64_t deadline = now_ms() + s->timeout_ms;
    int64_t t0 = now_us();
    if (mac->len > 0) {
        struct buf m = { 0 };
        buf_addc(&m, (unsigned char)ci->stage);
        buf_add(&m, mac->p, mac->len);
        mac->len = 0;
        int rc = send_packet(s, SMFIC_MACRO, m.p, m.len, deadline);
        buf_free(&m);
        if (rc < 0)
            return -1;
    }
    struct buf d = { 0 };
    build_data(s, st, arg, &d);
    int rc = send_packet(s, ci->code, d.p, d.len, deadline);
    buf_free(&d);
    if (rc < 0)
        return -1;
    if (s->prot & ci->nr_bit)
        return 0;
    int k = get_reply(s, st, arg);
    if (k < 0)
        return -1;
    if (ci->kind == K_RCPT && s->lat != NULL)
        latv_push(s->lat, now_us() - t0);

    int final = k == R_ACCEPT || k == R_REJECT || k == R_TEMPFAIL || k == R_DISCARD ||
                k == R_REPLY;
    if (k == R_SHUTDOWN || k == R_CONNFAIL)
        s->conn_skip = 1;
    else if (ci->scope == S_CONN && final)
        s->conn_skip = 1;
    else if (ci->scope == S_MSG && final)
        s->msg_skip = 1;
    else if (ci->scope == S_RCPT && (k == R_ACCEPT || k == R_DISCARD))
        s->msg_skip = 1;
    if (ci->kind == K_BODY && k == R_SKIP)
        s->body_skip = 1;
    if (ci->kind == K_EOM)
        s->msg_skip = s->body_skip = 0;
    return 0;
}

static int do_expect_close(struct session *s, const struct step *st)
{
    if (s->fd < 0 && open_conn(s) < 0)
        return -1;
    int64_t deadline = now_ms() + s->timeout_ms;
    char cmd;
    unsigned char *d;
    size_t len;
    int r = read_packet(s, &cmd, &d, &len, deadline, 1);
    if (r < 0)
        return -1;
    if (r == 0) {
        free(d);
        return fail(s, "expected the filter to close, got packet '%c' (0x%02x)",
                    cmd >= 0x20 && cmd < 0x7f ? cmd : '?', (unsigned char)cmd);
    }
    close_conn(s);
    if (s->out)
        fprintf(s->out, "%s: closed\n", st->ci->name);
    return 0;
}

/* Runs the whole script once; 0 ok, -1 error (s->err). */
static int session_run(struct session *s)
{
    int rc = 0;
    for (size_t i = 0; i < s->sc->nsteps && rc == 0; i++) {
        const struct step *st = &s->sc->steps[i];
        char *arg = s->sc->has_run ? expand_run(st->arg, s->run) : st->arg;
        snprintf(s->step, sizeof s->step, "line %u (%s%s%.100s)", st->lineno, st->ci->name,
                 *arg ? " " : "", arg);
        switch (st->ci->kind) {
        case K_MACRO: {
            const char *why = NULL;
            if (parse_macros(arg, &s->macros[st->mstage->kind], &why) < 0)
                rc = fail(s, "%s", why);
            else if (s->macros[st->mstage->kind].len > MAX_SEND - 1)
                rc = fail(s, "too many macros for one stage");
            break;
        }
        case K_ABORT:
            if (s->fd >= 0 && !s->quitting && !s->conn_skip)
                rc = send_packet(s, SMFIC_ABORT, NULL, 0, now_ms() + s->timeout_ms);
            s->msg_skip = s->body_skip = 0;
            drop_message_macros(s);
            break;
        case K_QUIT:
            if (s->fd >= 0 && !s->quitting) {
                rc = send_packet(s, SMFIC_QUIT, NULL, 0, now_ms() + s->timeout_ms);
                s->quitting = 1;
            }
            break;
        case K_EXPECT_CLOSE:
            rc = do_expect_close(s, st);
            break;
        default:
            rc = do_command(s, st, arg);
            break;
        }
        if (arg != st->arg)
            free(arg);
    }
    if (rc == 0 && s->fd >= 0 && !s->quitting) {
        snprintf(s->step, sizeof s->step, "end of script (quit)");
        rc = send_packet(s, SMFIC_QUIT, NULL, 0, now_ms() + s->timeout_ms);
    }
    close_conn(s);
    for (int k = 0; k < K_NKINDS; k++)
        buf_free(&s->macros[k]);
    return rc;
}

static void session_init(struct session *s, const struct script *sc, const struct target *tg,
                         unsigned long run, int timeout_ms, int verbose, FILE *out)
{
    memset(s, 0, sizeof *s);
    s->sc = sc;
    s->tg = tg;
    s->run = run;
    s->timeout_ms = timeout_ms;
    s->verbose = verbose;
    s->out = out;
    s->fd = -1;
}

/* ---------------------------------------------------------------- load */

struct load {
    const struct script *sc;
    const struct target *tg;
    int timeout_ms;
    unsigned long runs;
    pthread_mutex_t mu;
    unsigned long next, ok, errors;
    unsigned long counts[R_NKINDS];
    struct latv lat;                /* every worker's, merged at its end */
};

static void *load_worker(void *arg)
{
    struct load *L = arg;
    struct session *s = xrealloc(NULL, sizeof *s);
    struct latv lat = { 0 };
    for (;;) {
        pthread_mutex_lock(&L->mu);
        unsigned long run = L->next < L->runs ? L->next++ : L->runs;
        pthread_mutex_unlock(&L->mu);
        if (run >= L->runs)
            break;
        session_init(s, L->sc, L->tg, run, L->timeout_ms, 0, NULL);
        s->lat = &lat;
        int rc = session_run(s);
        pthread_mutex_lock(&L->mu);
        if (rc == 0) {
            L->ok++;
        } else {
            if (L->errors < MAX_ERRMSGS)
                fprintf(stderr, "mtclient: run %lu: %s\n", run, s->err);
            L->errors++;
        }
        for (int k = 0; k < R_NKINDS; k++)
            L->counts[k] += s->counts[k];
        pthread_mutex_unlock(&L->mu);
    }
    pthread_mutex_lock(&L->mu);
    for (size_t i = 0; i < lat.n; i++)
        latv_push(&L->lat, lat.v[i]);
    pthread_mutex_unlock(&L->mu);
    free(lat.v);
    free(s);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The q-th quantile (0..1) of sorted v[0..n), nearest rank. */
static uint32_t quantile(const uint32_t *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(q * (double)n + 0.999999);
    if (i == 0)
        i = 1;
    if (i > n)
        i = n;
    return v[i - 1];
}

static int run_load(const struct script *sc, const struct target *tg, int timeout_ms,
                    unsigned long runs, unsigned long conns)
{
    struct load L;
    memset(&L, 0, sizeof L);
    L.sc = sc;
    L.tg = tg;
    L.timeout_ms = timeout_ms;
    L.runs = runs;
    pthread_mutex_init(&L.mu, NULL);
    if (conns > runs)
        conns = runs;
    pthread_t *th = xrealloc(NULL, conns * sizeof *th);
    unsigned long started = 0;
    for (; started < conns; started++) {
        int e = pthread_create(&th[started], NULL, load_worker, &L);
        if (e != 0) {
            fprintf(stderr, "mtclient: pthread_create: %s (running with %lu)\n",
                    strerror(e), started);
            break;
        }
    }
    if (started == 0)
        load_worker(&L);
    for (unsigned long i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    pthread_mutex_destroy(&L.mu);
    printf("runs=%lu ok=%lu errors=%lu replies:", runs, L.ok, L.errors);
    for (int k = 0; k < R_NKINDS; k++)
        printf(" %s=%lu", rnames[k], L.counts[k]);
    qsort(L.lat.v, L.lat.n, sizeof *L.lat.v, cmp_u32);
    printf(" rcpt_p50_us=%u rcpt_p99_us=%u rcpt_max_us=%u",
           quantile(L.lat.v, L.lat.n, 0.50), quantile(L.lat.v, L.lat.n, 0.99),
           L.lat.n ? L.lat.v[L.lat.n - 1] : 0);
    putchar('\n');
    free(L.lat.v);
    return L.errors == 0 && L.ok == runs ? 0 : 2;
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
    fputs("usage: mtclient [-v] [-t timeout_ms] [-n runs -c conns] [-q] SOCKET < script\n"
          "  SOCKET  unix:/path | inet:PORT@HOST | inet6:PORT@HOST\n"
          "  -t ms   timeout per reply (default 10000)\n"
          "  -n N    run the script N times (load mode: summary line only)\n"
          "  -c C    over C concurrent connections (default 1)\n"
          "  -q      probe: connect, negotiate options, quit; no script\n"
          "  -v      print the negotiated options; twice: trace packets on stderr\n",
          stderr);
}

static int parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long timeout = 10000, runs = 1, conns = 1, tmp;
    int verbose = 0, load = 0, probe = 0, opt;

    signal(SIGPIPE, SIG_IGN);
    while ((opt = getopt(argc, argv, "t:n:c:qvh")) != -1) {
        switch (opt) {
        case 't':
            if (parse_ulong(optarg, 1, 3600000, &timeout) < 0) {
                fputs("mtclient: -t wants 1..3600000 (ms)\n", stderr);
                return 1;
            }
            break;
        case 'n':
            if (parse_ulong(optarg, 1, 100000000, &runs) < 0) {
                fputs("mtclient: -n wants 1..100000000\n", stderr);
                return 1;
            }
            load = 1;
            break;
        case 'c':
            if (parse_ulong(optarg, 1, MAX_CONNS, &tmp) < 0) {
                fprintf(stderr, "mtclient: -c wants 1..%d\n", MAX_CONNS);
                return 1;
            }
            conns = tmp;
            load = 1;
            break;
        case 'q':
            probe = 1;
            break;
        case 'v':
            verbose++;
            break;
        default:
            usage();
            return 1;
        }
    }
    if (optind != argc - 1) {
        usage();
        return 1;
    }
    struct target tg;
    if (parse_spec(argv[optind], &tg) < 0)
        return 1;

    struct script sc;
    if (probe) {
        memset(&sc, 0, sizeof sc);
    } else if (script_read(stdin, &sc) < 0) {
        return 1;
    }

    int rc;
    if (load && !probe) {
        rc = run_load(&sc, &tg, (int)timeout, runs, conns);
    } else {
        struct session *s = xrealloc(NULL, sizeof *s);
        session_init(s, &sc, &tg, 0, (int)timeout, verbose, stdout);
        if (probe) {
            snprintf(s->step, sizeof s->step, "probe");
            rc = open_conn(s);
            if (rc == 0)
                rc = send_packet(s, SMFIC_QUIT, NULL, 0, now_ms() + s->timeout_ms);
            close_conn(s);
        } else {
            rc = session_run(s);
        }
        if (rc < 0) {
            fflush(stdout);
            fprintf(stderr, "mtclient: %s\n", s->err);
        }
        free(s);
        rc = rc < 0 ? 2 : 0;
    }
    script_free(&sc);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mtclient: writing output: %s\n", strerror(errno));
        return 2;
    }
    return rc;
}
