/* sign.h - prove that a returned message left this site for a recipient.
 *
 * Bounces and complaint reports that arrive over SMTP can be forged by
 * anyone. bouncegate adds one header to the outbound mail it checks:
 *
 *   X-Bouncegate-Tag: v=2; t=1763900000; q=4F2A1C3B7D; r=Ab3dEf9hIjKlMn0p
 *
 * t is the send time, q the message's queue id at this MTA, and r the
 * first 96 bits of HMAC-SHA256(key, "bg2|" t "|" q "|" normalized-rcpt),
 * base64url. A report counts for a recipient only when its returned
 * original headers carry a tag made for exactly that recipient, younger
 * than the max age; the tag's queue id then names the original message.
 *
 * Only a message with exactly ONE accepted recipient is tagged. Every
 * recipient of a message sees the same headers, so a tag in a message to
 * several recipients would let any of them forge a report about the
 * others; a tag made for one recipient, bound to one message, proves
 * nothing about anyone else. (Bulk and transactional mail is sent one
 * recipient per message in practice; reports about messages with several
 * recipients cannot be verified: Postfix's own DSNs and the mail log
 * cover those.) Version 1 tags (one header listing every recipient's tag)
 * are refused.
 */
#ifndef BG_SIGN_H
#define BG_SIGN_H

#include <stddef.h>

#define BG_SIGN_HEADER "X-Bouncegate-Tag"
#define BG_SIGN_QID_MAX 32           /* a queue id: 1..31 of [0-9A-Za-z] */
#define BG_SIGN_VALUE_MAX 96

struct bg_signer {
    unsigned char key[128];
    size_t keylen;
};

/* Read the key file: its first line, at least 16 bytes, blanks trimmed.
 * Refuses a file that others than its owner and group can read or that
 * anyone but the owner can write. Returns 0 or -1 with err. */
int bg_sign_load_key(const char *path, struct bg_signer *s, char *err, size_t errsz);

/* A keyed MAC of len bytes for another purpose than tags (delete notes:
 * delsync.h), separated from tags and from other uses by purpose: the
 * first 128 bits of HMAC-SHA256(key, purpose "|" data), base64url, 22
 * characters and a NUL in out. */
#define BG_SIGN_MAC_CHARS 22
void bg_sign_mac(const struct bg_signer *s, const char *purpose, const void *data,
                 size_t len, char out[BG_SIGN_MAC_CHARS + 1]);
/* Constant-time comparison of two MACs of BG_SIGN_MAC_CHARS characters. */
int bg_sign_mac_eq(const char *a, const char *b);

/* Is qid usable in a tag (1..31 characters of [0-9A-Za-z])? */
int bg_sign_qid_ok(const char *qid);

/* Header value for the one normalized recipient of message qid. Returns
 * its length, 0 when qid is not usable (no header), -1 when out is too
 * small. */
int bg_sign_value(const struct bg_signer *s, long long now, const char *qid,
                  const char *rcpt, char *out, size_t outsz);

/* Look for a valid tag for rcpt (normalized) in a header block (len bytes,
 * need not be NUL-terminated). Returns 1 valid, with the tag's queue id in
 * qid (BG_SIGN_QID_MAX bytes), else 0 with *why set ("no tag header", "no
 * tag for recipient", "too old", "bad header", "version 1 tag refused"). */
int bg_sign_verify(const struct bg_signer *s, const char *headers, size_t len,
                   const char *rcpt, long long now, long long max_age,
                   char qid[BG_SIGN_QID_MAX], const char **why);

#endif
