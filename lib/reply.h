/* reply.h - build the text of the SMTP reply for a suppressed recipient.
 *
 * The template (config key RejectText) may use these placeholders:
 *   {rcpt}    the recipient as "<local@domain>"
 *   {what}    "hard bounce", "repeated soft bounces", "spam complaint",
 *             "manual suppression", "block" ... (from the class)
 *   {class}   the class name      {reason} the reason ("-" if none)
 *   {since}   first seen, UTC, YYYY-MM-DD
 *   {status}  the enhanced status code
 *   {scope}   "recipient" or "domain"
 * Unknown placeholders are copied as they are. Every '%' in the result is
 * doubled (smfi_setreply treats the text as a format string) and control
 * bytes, CR and LF are replaced by '?'. The result is bounded by outsz.
 */
#ifndef BG_REPLY_H
#define BG_REPLY_H

#include <stddef.h>
#include "record.h"

#define BG_REPLY_MAX 512

/* The RejectText used when the configuration sets none; bg_reply_build
 * also uses it when tmpl is NULL. */
#define BG_REPLY_DEFAULT_TEMPLATE \
    "{rcpt}: {scope} suppressed after {what} on {since} ({reason})"

/* Returns the length written, or -1 when outsz is 0. Truncates safely
 * (never in the middle of a "%%" pair). */
int bg_reply_build(const char *tmpl, const char *rcpt_norm, int domain_scope,
                   const struct bg_record *r, char *out, size_t outsz);

/* The SMTP reply code and enhanced status to send for a record. The reply
 * code is always "550" (a permanent refusal of this recipient; 5xx keeps
 * the sending application from retrying). The enhanced status is the
 * record's own when it is a well-formed 5.x.y code, else "5.1.1" for an
 * address entry, "5.1.2" for a domain entry, "5.7.1" for a complaint. */
void bg_reply_codes(const struct bg_record *r, int domain_scope,
                    char rcode[4], char xcode[16]);

#endif
