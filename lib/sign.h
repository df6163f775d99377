/* sign.h - prove that a returned message left this site for a recipient.
 *
 * Bounces and complaint reports that arrive over SMTP can be forged by
 * anyone. bouncegate adds one header to the outbound mail it checks:
 *
 *   X-Bouncegate-Tag: v=1; t=1763900000; r=Ab3dEf9hIjKl,ZZ01mNopQrSt
 *
 * t is the send time, and each r entry a tag of one accepted recipient:
 * the first 72 bits of HMAC-SHA256(key, "bg1|" t "|" normalized-rcpt),
 * base64url. Tags reveal nothing about the other recipients (a BCC stays
 * hidden) and cannot be made for another address without the key. A
 * report is trusted for a recipient when the returned original headers
 * carry a tag for exactly that recipient, not older than the max age.
 * Messages with more than BG_SIGN_MAX_RCPT accepted recipients carry no
 * header (their reports cannot be verified; bulk mail is sent one
 * recipient per message in practice).
 */
#ifndef BG_SIGN_H
#define BG_SIGN_H

#include <stddef.h>

#define BG_SIGN_HEADER "X-Bouncegate-Tag"
#define BG_SIGN_MAX_RCPT 40
#define BG_SIGN_VALUE_MAX (40 + BG_SIGN_MAX_RCPT * 13)

struct bg_signer {
    unsigned char key[128];
    size_t keylen;
};

/* Read the key file: its first line, at least 16 bytes, blanks trimmed.
 * Refuses a file that others than its owner and group can read or that
 * anyone but the owner can write. Returns 0 or -1 with err. */
int bg_sign_load_key(const char *path, struct bg_signer *s, char *err, size_t errsz);

/* Header value for n normalized recipients. Returns its length, 0 when
 * n is 0 or above BG_SIGN_MAX_RCPT (no header), -1 when out is too small. */
int bg_sign_value(const struct bg_signer *s, long long now, const char *const *rcpts,
                  size_t n, char *out, size_t outsz);

/* Look for a valid tag for rcpt (normalized) in a header block (len bytes,
 * need not be NUL-terminated). Returns 1 valid, 0 not, with *why set
 * ("no tag header", "no tag for recipient", "too old", "bad header"). */
int bg_sign_verify(const struct bg_signer *s, const char *headers, size_t len,
                   const char *rcpt, long long now, long long max_age, const char **why);

#endif
