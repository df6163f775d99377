/* address.h - normalize envelope addresses and domains.
 *
 * All inputs are untrusted bytes from SMTP clients or bounce messages.
 * Every function is bounded: it never writes more than outsz bytes
 * (including the NUL) and never reads past inlen.
 */
#ifndef BG_ADDRESS_H
#define BG_ADDRESS_H

#include <stddef.h>

/* Normalize an address as given in RCPT TO / MAIL FROM / a DSN field:
 *   - surrounding blanks and one pair of angle brackets are removed;
 *   - an RFC 5321 source route ("@a.example,@b.example:user@c.example")
 *     is dropped;
 *   - a quoted local part is unquoted when its content is a valid
 *     dot-atom ("\"bob\"@x" -> bob@x), otherwise kept quoted with
 *     backslash escapes made canonical;
 *   - the local part is folded to lower case (ASCII only; suppression
 *     lists treat Bob@ and bob@ as one mailbox, as every ESP does);
 *   - the domain is lower-cased, one trailing dot removed, and U-labels
 *     converted to A-labels with libidn2 (IDNA2008 + TR46 non-transitional);
 *     address literals ([192.0.2.1], [IPv6:...]) are kept, lower-cased.
 * Returns 0 and writes "local@domain" to out, or -1 and sets *why to a
 * static description ("empty", "no domain", "bad idna", "too long", ...).
 * The null sender "<>" normalizes to -1 with why "null sender". */
int bg_addr_normalize(const char *in, size_t inlen, char *out, size_t outsz,
                      const char **why);

/* Normalize a bare domain (same rules as the domain part above; a leading
 * '@' is accepted and dropped). Returns 0 or -1 with *why. */
int bg_domain_normalize(const char *in, size_t inlen, char *out, size_t outsz,
                        const char **why);

/* Pointer to the domain inside a normalized address (after the last '@'),
 * or NULL when there is none. */
const char *bg_addr_domain(const char *norm);

#endif
