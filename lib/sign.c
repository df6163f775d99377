/* sign.c - recipient tags for verifying returned bounces (see sign.h). */
#include "sign.h"

#include <nettle/base64.h>
#include <nettle/hmac.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define TAG_BYTES 9   /* 72 bits -> 12 base64 characters */
#define TAG_CHARS 12

int bg_sign_load_key(const char *path, struct bg_signer *s, char *err, size_t errsz)
{
    struct stat st;
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(fp), &st) < 0 || (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP))) {
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

static void make_tag(const struct bg_signer *s, long long t, const char *rcpt,
                     char out[TAG_CHARS + 1])
{
    struct hmac_sha256_ctx ctx;
    uint8_t mac[SHA256_DIGEST_SIZE];
    char pre[40];
    int n = snprintf(pre, sizeof pre, "bg1|%lld|", t);
    hmac_sha256_set_key(&ctx, s->keylen, s->key);
    hmac_sha256_update(&ctx, (size_t)n, (const uint8_t *)pre);
    hmac_sha256_update(&ctx, strlen(rcpt), (const uint8_t *)rcpt);
    hmac_sha256_digest(&ctx, sizeof mac, mac);
    char b64[BASE64_ENCODE_RAW_LENGTH(TAG_BYTES) + 1];
    base64_encode_raw(b64, TAG_BYTES, mac);  /* 9 bytes: 12 chars, no padding */
    for (size_t i = 0; i < TAG_CHARS; i++)   /* base64url: safe in any header */
        out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    out[TAG_CHARS] = '\0';
}

int bg_sign_value(const struct bg_signer *s, long long now, const char *const *rcpts,
                  size_t n, char *out, size_t outsz)
{
    if (n == 0 || n > BG_SIGN_MAX_RCPT)
        return 0;
    int off = snprintf(out, outsz, "v=1; t=%lld; r=", now);
    if (off < 0 || (size_t)off >= outsz)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char tag[TAG_CHARS + 1];
        make_tag(s, now, rcpts[i], tag);
        int w = snprintf(out + off, outsz - (size_t)off, "%s%s", i ? "," : "", tag);
        if (w < 0 || (size_t)w >= outsz - (size_t)off)
            return -1;
        off += w;
    }
    return off;
}

/* Constant-time comparison of two tags. */
static int tag_eq(const char *a, const char *b)
{
    unsigned char d = 0;
    for (size_t i = 0; i < TAG_CHARS; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Check one unfolded header value. Returns 1, 0 (no match), -1 (bad). */
static int check_value(const struct bg_signer *s, const char *v, const char *rcpt,
                       long long now, long long max_age, const char **why)
{
    long long t = -1;
    const char *r = NULL;
    if (strncmp(v, "v=1;", 4) != 0)
        return -1;
    const char *tp = strstr(v, "t=");
    r = strstr(v, "r=");
    if (tp == NULL || r == NULL)
        return -1;
    char *end;
    t = strtoll(tp + 2, &end, 10);
    if (end == tp + 2 || t <= 0)
        return -1;
    if (t > now + 3600 || (max_age > 0 && now - t > max_age)) {
        *why = "too old";
        return 0;
    }
    char want[TAG_CHARS + 1];
    make_tag(s, t, rcpt, want);
    r += 2;
    for (;;) {
        while (*r == ' ')
            r++;
        size_t len = strcspn(r, ",; ");
        if (len == TAG_CHARS && tag_eq(r, want))
            return 1;
        if (r[len] != ',')
            break;
        r += len + 1;
    }
    *why = "no tag for recipient";
    return 0;
}

int bg_sign_verify(const struct bg_signer *s, const char *headers, size_t len,
                   const char *rcpt, long long now, long long max_age, const char **why)
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
            int rc = check_value(s, v, rcpt, now, max_age, why);
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
