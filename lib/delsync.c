/* delsync.c - delete notes: format, parse, decision, bookkeeping (see
 * delsync.h). */
#include "delsync.h"
#include "secure.h"
#include "sign.h"
#include "err.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NOTE_TAG "bgdel1"

/* ------------------------------------------------------------ names */

static int host_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static int host_ok(const char *s, size_t len)
{
    if (len == 0 || len > BG_DELSYNC_HOST_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!host_byte_ok((unsigned char)s[i]))
            return 0;
    return 1;
}

static int tag_ok(const char *s, size_t len)
{
    if (len == 1 && s[0] == '-')
        return 1;
    if (len != 8)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* ------------------------------------------------------------ self */

void bg_delsync_self_init(struct bg_delsync_self *me, const char *host, const char *journal)
{
    char h[256];
    if (host == NULL) {
        if (gethostname(h, sizeof h) < 0)
            h[0] = '\0';
        h[sizeof h - 1] = '\0';
        host = h;
    }
    size_t n = 0;
    for (; host[n] && n < BG_DELSYNC_HOST_MAX; n++)
        me->host[n] = host_byte_ok((unsigned char)host[n]) ? host[n] : '_';
    me->host[n] = '\0';
    if (n == 0)
        bg_strlcpy(me->host, "unknown", sizeof me->host);
    if (journal == NULL || journal[0] == '\0') {
        bg_strlcpy(me->journal, "-", sizeof me->journal);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(journal), (const uint8_t *)journal);
    sha256_digest(&ctx, sizeof d, d);
    for (int i = 0; i < 4; i++) {
        me->journal[2 * i] = hex[d[i] >> 4];
        me->journal[2 * i + 1] = hex[d[i] & 15];
    }
    me->journal[8] = '\0';
}

/* ------------------------------------------------------------ notes */

int bg_delnote_format(char *out, size_t outsz, const struct bg_delnote *n)
{
    char en[BG_ADDR_MAX * 3 + 1];
    if (out == NULL || outsz == 0)
        return -1;
    out[0] = '\0';
    if ((n->kind != BG_KIND_RCPT && n->kind != BG_KIND_DOMAIN) || n->time <= 0 ||
        strnlen(n->name, sizeof n->name) >= sizeof n->name ||
        bg_journal_name_encode(n->name, en, sizeof en) < 0 ||
        !host_ok(n->host, strnlen(n->host, sizeof n->host)) ||
        !tag_ok(n->journal, strnlen(n->journal, sizeof n->journal)))
        return -1;
    int len = snprintf(out, outsz, NOTE_TAG " time=%lld kind=%c name=%s host=%s journal=%s",
                       n->time, (char)n->kind, en, n->host, n->journal);
    if (len < 0 || (size_t)len >= outsz || len > BG_DELNOTE_MAX) {
        out[0] = '\0';
        return -1;
    }
    return len;
}

static int fail(const char **why, const char *what)
{
    if (why != NULL)
        *why = what;
    return -1;
}

/* Decimal, 1..18 digits (no overflow), > 0. */
static int parse_time(const char *s, size_t len, long long *out)
{
    if (len == 0 || len > 18)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v <= 0)
        return -1;
    *out = v;
    return 0;
}

int bg_delnote_parse(const char *in, size_t len, struct bg_delnote *n, const char **why)
{
    enum { F_TIME = 1, F_KIND = 2, F_NAME = 4, F_HOST = 8, F_JOURNAL = 16 };
    unsigned seen = 0;
    memset(n, 0, sizeof *n);
    if (in == NULL || len == 0)
        return fail(why, "empty");
    if (len > BG_DELNOTE_MAX)
        return fail(why, "too long");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c >= 0x7f)
            return fail(why, "control or 8-bit byte");
    }
    size_t tl = sizeof NOTE_TAG - 1;
    if (len < tl || memcmp(in, NOTE_TAG, tl) != 0 || (len > tl && in[tl] != ' '))
        return fail(why, "not a bgdel1 note");
    size_t i = tl;
    while (i < len) {
        /* in[i] is the blank before a field */
        size_t start = ++i;
        while (i < len && in[i] != ' ')
            i++;
        const char *f = in + start;
        size_t fl = i - start;
        const char *eq = fl ? memchr(f, '=', fl) : NULL;
        if (eq == NULL || eq == f || eq == f + fl - 1)
            return fail(why, "field without name=value");
        size_t kl = (size_t)(eq - f);
        const char *v = eq + 1;
        size_t vl = fl - kl - 1;
        unsigned bit = 0;
        if (kl == 4 && memcmp(f, "time", 4) == 0) {
            bit = F_TIME;
            if (!(seen & bit) && parse_time(v, vl, &n->time) < 0)
                return fail(why, "bad time");
        } else if (kl == 4 && memcmp(f, "kind", 4) == 0) {
            bit = F_KIND;
            if (vl != 1 || (v[0] != 'r' && v[0] != 'd'))
                return fail(why, "bad kind");
            n->kind = v[0] == 'r' ? BG_KIND_RCPT : BG_KIND_DOMAIN;
        } else if (kl == 4 && memcmp(f, "name", 4) == 0) {
            bit = F_NAME;
            if (!(seen & bit) && bg_journal_name_decode(v, vl, n->name, sizeof n->name) < 0)
                return fail(why, "bad name");
        } else if (kl == 4 && memcmp(f, "host", 4) == 0) {
            bit = F_HOST;
            if (!host_ok(v, vl))
                return fail(why, "bad host");
            if (!(seen & bit)) {
                memcpy(n->host, v, vl);
                n->host[vl] = '\0';
            }
        } else if (kl == 7 && memcmp(f, "journal", 7) == 0) {
            bit = F_JOURNAL;
            if (!tag_ok(v, vl))
                return fail(why, "bad journal");
            if (!(seen & bit)) {
                memcpy(n->journal, v, vl);
                n->journal[vl] = '\0';
            }
        }
        if (bit & seen)
            return fail(why, "duplicate field");
        seen |= bit;
    }
    if (seen != (F_TIME | F_KIND | F_NAME | F_HOST | F_JOURNAL))
        return fail(why, "missing field");
    return 0;
}

/* ------------------------------------------------------------ decision */

const char *bg_delsync_decision_name(enum bg_delsync_decision d)
{
    switch (d) {
    case BG_DS_TOMBSTONE: return "tombstone";
    case BG_DS_OWN: return "own";
    case BG_DS_ABSENT: return "not-live";
    case BG_DS_NEWER: return "put-newer";
    }
    return "?";
}

enum bg_delsync_decision bg_delsync_decide(const struct bg_delnote *n,
                                           const struct bg_delsync_self *me,
                                           const struct bg_journal_entry *e)
{
    if (strcmp(n->host, me->host) == 0 && strcmp(n->journal, me->journal) == 0)
        return BG_DS_OWN;
    if (e == NULL || e->state != BG_JE_LIVE || e->kind != n->kind)
        return BG_DS_ABSENT;
    if (e->ts >= n->time)
        return BG_DS_NEWER;
    return BG_DS_TOMBSTONE;
}

/* ------------------------------------------------------------ sequence */

int bg_delsync_seq_parse(const char *in, size_t len, unsigned long long *out)
{
    size_t i = 0;
    unsigned long long v = 0;
    if (in == NULL)
        return -1;
    for (; i < len && in[i] >= '0' && in[i] <= '9'; i++) {
        unsigned d = (unsigned)(in[i] - '0');
        if (v > (~0ULL - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (i == 0 || i > 20)
        return -1;
    for (; i < len; i++)
        if (in[i] != ' ' && in[i] != '\r' && in[i] != '\n')
            return -1;
    *out = v;
    return 0;
}

void bg_delsync_plan(unsigned long long done, unsigned long long head, unsigned batch,
                     struct bg_delsync_plan *p)
{
    memset(p, 0, sizeof *p);
    if (head < done) {
        p->reset = 1;
        done = 0;
    }
    if (head - done > BG_DELSYNC_BACKLOG_MAX) {
        p->skipped = head - done - BG_DELSYNC_BACKLOG_MAX;
        done = head - BG_DELSYNC_BACKLOG_MAX;
    }
    p->from = done + 1;
    p->to = head - done > batch ? done + batch : head;
}

int bg_delsync_is_gap(unsigned long long seq, unsigned long long prev_head)
{
    return seq <= prev_head;
}

int bg_delsync_note_name(char *out, size_t outsz, unsigned long long seq)
{
    int n = snprintf(out, outsz, "del:%llu", seq);
    return n < 0 || (size_t)n >= outsz ? -1 : n;
}

/* ------------------------------------------------------------ state */

static int state_path(char *out, size_t outsz, const char *journal)
{
    int n = snprintf(out, outsz, "%s.delseq", journal);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int bg_delsync_state_load(const char *journal, unsigned long long *seq)
{
    char p[600], buf[64];
    *seq = 0;
    if (state_path(p, sizeof p, journal) < 0)
        return 0;
    char oerr[700];
    int fd = bg_open_file(p, O_RDONLY, 0, oerr, sizeof oerr);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0 || (size_t)n >= sizeof buf)
        return 0;
    unsigned long long v;
    if (bg_delsync_seq_parse(buf, (size_t)n, &v) < 0)
        return 0;
    *seq = v;
    return 1;
}

int bg_delsync_state_save(const char *journal, unsigned long long seq, char *err,
                          size_t errsz)
{
    char p[600], tmp[640], line[32];
    if (state_path(p, sizeof p, journal) < 0) {
        bg_seterr(err, errsz, "%s.delseq: path too long", journal);
        return -1;
    }
    int len = snprintf(line, sizeof line, "%llu\n", seq);
    /* A new file of our own (secure.h), never a name planted there. */
    int fd = bg_open_temp(p, tmp, sizeof tmp, err, errsz);
    if (fd < 0)
        return -1;
    fchmod(fd, 0644);
    if (write(fd, line, (size_t)len) != len) {
        bg_seterr(err, errsz, "%s: write: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) < 0 || rename(tmp, p) < 0) {
        bg_seterr(err, errsz, "%s: %s", p, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ publish */

#define MAC_FIELD " mac="
#define MAC_PURPOSE "bgdel1"

int bg_delnote_sign(char *buf, size_t len, size_t bufsz, const struct bg_signer *key)
{
    char mac[BG_SIGN_MAC_CHARS + 1];
    bg_sign_mac(key, MAC_PURPOSE, buf, len, mac);
    int n = snprintf(buf + len, bufsz > len ? bufsz - len : 0, "%s%s", MAC_FIELD, mac);
    if (bufsz <= len || n < 0 || (size_t)n >= bufsz - len || len + (size_t)n > BG_DELNOTE_MAX)
        return -1;
    return (int)(len + (size_t)n);
}

int bg_delnote_verify(const char *in, size_t len, const struct bg_signer *key,
                      const char **why)
{
    const size_t fl = sizeof MAC_FIELD - 1, tail = fl + BG_SIGN_MAC_CHARS;
    /* memcached may pad nothing here, but a writer may end with blanks */
    while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\r' || in[len - 1] == ' '))
        len--;
    if (len <= tail || memcmp(in + len - tail, MAC_FIELD, fl) != 0) {
        *why = "unsigned";
        return -1;
    }
    char want[BG_SIGN_MAC_CHARS + 1];
    bg_sign_mac(key, MAC_PURPOSE, in, len - tail, want);
    if (!bg_sign_mac_eq(in + len - BG_SIGN_MAC_CHARS, want)) {
        *why = "bad mac";
        return -1;
    }
    return 0;
}

int bg_delsync_publish(struct bg_store *s, const struct bg_delnote *n,
                       const struct bg_signer *key, unsigned long long *seq, char *err,
                       size_t errsz)
{
    char val[BG_DELNOTE_MAX + 1], name[40];
    int len = bg_delnote_format(val, sizeof val, n);
    if (len < 0 || (key != NULL && bg_delnote_sign(val, (size_t)len, sizeof val, key) < 0)) {
        bg_seterr(err, errsz, "cannot format the delete note");
        return -1;
    }
    unsigned long long v = 0;
    /* The counter never expires (ttl 0); incr creates it when missing,
     * with the text and the binary protocol alike (store.c). */
    if (bg_store_incr(s, BG_KIND_META, BG_DELSYNC_SEQ_NAME, 1, 0, &v, err, errsz) < 0)
        return -1;
    if (bg_delsync_note_name(name, sizeof name, v) < 0 ||
        bg_store_meta_set_ttl(s, name, val, BG_DELSYNC_TTL, err, errsz) < 0)
        return -1;
    *seq = v;
    return 0;
}
