/* sign.c - per-message recipient tags for verifying returned reports
 * (see sign.h). */
#include "sign.h"
#include "openreg.h"

#include <nettle/base64.h>
#include <nettle/hmac.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG_BYTES 12  /* 96 bits -> 16 base64 characters */
#define TAG_CHARS 16

int bg_sign_load_key(const char *path, struct bg_signer *s, char *err, size_t errsz)
{
    struct stat st;
    int fd = bg_open_regular(path, &st);
    if (fd == BG_OPEN_NOTREG) {
        snprintf(err, errsz, "%s: not a regular file (%s)", path, bg_file_kind(st.st_mode));
        return -1;
    }
    FILE *fp = fd < 0 ? NULL : fdopen(fd, "r");
    if (fp == NULL) {
        snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) {
        snprintf(err, errsz, "%s: unsafe permissions %04o: the key must not be readable "
                 "by others nor writable by the group (chmod 0640)", path,
                 (unsigned)(st.st_mode & 07777));
        fclose(fp);
        return -1;
    }
    char line[512];
    if (fgets(line, sizeof line, fp) == NULL) {
        snprintf(err, errsz, "%s: empty key file", path);
        fclose(fp);
        return -1;
    }
    fclose(fp);
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        p[--n] = '\0';
    if (n < 16 || n > sizeof s->key) {
        snprintf(err, errsz, "%s: the key must be 16 to %zu bytes on its first line", path,
                 sizeof s->key);
        return -1;
    }
    memcpy(s->key, p, n);
    s->keylen = n;
    memset(line, 0, sizeof line);
    return 0;
}

static void b64url(const uint8_t *in, size_t inlen, char *out, size_t outchars)
{
    char b64[BASE64_ENCODE_RAW_LENGTH(SHA256_DIGEST_SIZE) + 1];
    base64_encode_raw(b64, inlen, in);
    for (size_t i = 0; i < outchars; i++)
        out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    out[outchars] = '\0';
}

void bg_sign_mac(const struct bg_signer *s, const char *purpose, const void *data,
                 size_t len, char out[BG_SIGN_MAC_CHARS + 1])
{
    struct hmac_sha256_ctx ctx;
    uint8_t mac[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&ctx, s->keylen, s->key);
    hmac_sha256_update(&ctx, strlen(purpose), (const uint8_t *)purpose);
    hmac_sha256_update(&ctx, 1, (const uint8_t *)"|");
    hmac_sha256_update(&ctx, len, (const uint8_t *)data);
    hmac_sha256_digest(&ctx, sizeof mac, mac);
    b64url(mac, 16, out, BG_SIGN_MAC_CHARS);   /* 128 bits */
}

int bg_sign_mac_eq(const char *a, const char *b)
{
    unsigned char d = 0;
    for (size_t i = 0; i < BG_SIGN_MAC_CHARS; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int bg_sign_qid_ok(const char *qid)
{
    size_t n = 0;
    for (; qid[n]; n++)
        if (n >= BG_SIGN_QID_MAX - 1 || !isalnum((unsigned char)qid[n]))
            return 0;
    return n > 0;
}

static void make_tag(const struct bg_signer *s, long long t, const char *qid,
                     const char *rcpt, char out[TAG_CHARS + 1])
{
    struct hmac_sha256_ctx ctx;
    uint8_t mac[SHA256_DIGEST_SIZE];
    char pre[40 + BG_SIGN_QID_MAX];
    int n = snprintf(pre, sizeof pre, "bg2|%lld|%s|", t, qid);
    hmac_sha256_set_key(&ctx, s->keylen, s->key);
    hmac_sha256_update(&ctx, (size_t)n, (const uint8_t *)pre);
    hmac_sha256_update(&ctx, strlen(rcpt), (const uint8_t *)rcpt);
    hmac_sha256_digest(&ctx, sizeof mac, mac);
    b64url(mac, TAG_BYTES, out, TAG_CHARS);  /* 12 bytes: 16 chars, base64url */
}

int bg_sign_value(const struct bg_signer *s, long long now, const char *qid,
                  const char *rcpt, char *out, size_t outsz)
{
    if (qid == NULL || !bg_sign_qid_ok(qid))
        return 0;
    char tag[TAG_CHARS + 1];
    make_tag(s, now, qid, rcpt, tag);
    int n = snprintf(out, outsz, "v=2; t=%lld; q=%s; r=%s", now, qid, tag);
    return n < 0 || (size_t)n >= outsz ? -1 : n;
}

/* Constant-time comparison of two tags. */
static int tag_eq(const char *a, const char *b)
{
    unsigned char d = 0;
    for (size_t i = 0; i < TAG_CHARS; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* The value of field name ("t", "q", "r") in "v=2; t=..; q=..; r=..":
 * its start and length, or NULL. Fields are separated by ';' and blanks. */
static const char *field(const char *v, char name, size_t *len)
{
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t n = strcspn(p, "; ");
        if (n >= 2 && p[0] == name && p[1] == '=') {
            *len = n - 2;
            return p + 2;
        }
        p += n;
    }
    return NULL;
}

/* Check one unfolded header value. Returns 1, 0 (no match), -1 (bad). */
static int check_value(const struct bg_signer *s, const char *v, const char *rcpt,
                       long long now, long long max_age, char qid[BG_SIGN_QID_MAX],
                       const char **why)
{
    if (strncmp(v, "v=1;", 4) == 0) {
        *why = "version 1 tag refused";
        return 0;
    }
    if (strncmp(v, "v=2;", 4) != 0)
        return -1;
    size_t tl, ql, rl;
    const char *tp = field(v + 4, 't', &tl), *qp = field(v + 4, 'q', &ql),
               *rp = field(v + 4, 'r', &rl);
    if (tp == NULL || qp == NULL || rp == NULL || tl == 0 || tl > 18 ||
        ql == 0 || ql >= BG_SIGN_QID_MAX || rl != TAG_CHARS)
        return -1;
    long long t = 0;
    for (size_t i = 0; i < tl; i++) {
        if (tp[i] < '0' || tp[i] > '9')
            return -1;
        t = t * 10 + (tp[i] - '0');
    }
    char q[BG_SIGN_QID_MAX];
    memcpy(q, qp, ql);
    q[ql] = '\0';
    if (t <= 0 || !bg_sign_qid_ok(q))
        return -1;
    if (max_age <= 0 || t > now + 3600 || now - t > max_age) {
        *why = "too old";
        return 0;
    }
    char want[TAG_CHARS + 1];
    make_tag(s, t, q, rcpt, want);
    if (!tag_eq(rp, want)) {
        *why = "no tag for recipient";
        return 0;
    }
    memcpy(qid, q, ql + 1);
    return 1;
}

int bg_sign_verify(const struct bg_signer *s, const char *headers, size_t len,
                   const char *rcpt, long long now, long long max_age,
                   char qid[BG_SIGN_QID_MAX], const char **why)
{
    static const char name[] = BG_SIGN_HEADER ":";
    const size_t nl = sizeof name - 1;
    int seen = 0;
    *why = "no tag header";
    size_t i = 0;
    while (i < len) {
        /* i is at the start of a line */
        if (len - i > nl && strncasecmp(headers + i, name, nl) == 0) {
            char val[BG_SIGN_VALUE_MAX + 64];
            size_t o = 0, j = i + nl;
            /* Unfold: copy until a line break not followed by blank. */
            while (j < len) {
                char c = headers[j];
                if (c == '\r' || c == '\n') {
                    size_t k = j;
                    if (headers[k] == '\r' && k + 1 < len && headers[k + 1] == '\n')
                        k++;
                    if (k + 1 < len && (headers[k + 1] == ' ' || headers[k + 1] == '\t')) {
                        j = k + 1;
                        continue;
                    }
                    break;
                }
                if (o < sizeof val - 1 && c != '\0')
                    val[o++] = (c == '\t') ? ' ' : c;
                j++;
            }
            val[o] = '\0';
            char *v = val;
            while (*v == ' ')
                v++;
            seen = 1;
            int rc = check_value(s, v, rcpt, now, max_age, qid, why);
            if (rc == 1)
                return 1;
            if (rc < 0)
                *why = "bad header";
            i = j;
        }
        const char *nlp = memchr(headers + i, '\n', len - i);
        if (nlp == NULL)
            break;
        i = (size_t)(nlp - headers) + 1;
    }
    if (!seen)
        *why = "no tag header";
    return 0;
}
