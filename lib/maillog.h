/* maillog.h - parse one mail log line into a delivery outcome.
 *
 * Pure parser, no I/O, no heap: the result is a fixed-size struct. The
 * input is untrusted (remote servers' replies end up in the log), need not
 * be NUL-terminated and may contain NUL bytes; nothing outside line[0..len)
 * is ever read, and every field is bounded.
 *
 * Header formats (the syslog part before the program tag):
 *   traditional     "Nov 23 13:37:00 host postfix/smtp[123]: ..."
 *                   (also Postfix's own maillog_file, same layout)
 *   ISO-8601        "2026-11-23T13:37:00.123456+01:00 host postfix/smtp[123]: ..."
 *   RFC 5424        "<22>1 2026-11-23T13:37:00Z host postfix/smtp 123 - - ..."
 *   bare            "postfix/smtp[123]: ..."
 * The program tag is found among the first few blank-separated words.
 *
 * Programs:
 *   Postfix  a name whose first component starts with "postfix" (postfix,
 *            postfix-out, postfix/submission, ...) and whose last component
 *            is a delivery agent: smtp, lmtp, local, virtual, error, retry,
 *            pipe, discard; or qmgr (only its "status=expired" line).
 *   Sendmail sm-mta, sendmail, sm-msp-queue.
 *
 * A delivery line is "QID: to=..., ..., status=WORD (TEXT)" (Postfix) or
 * "QID: to=..., ..., stat=TEXT" (Sendmail). Fields are read left to right
 * and the status field ends the parse, so text inside a remote reply can
 * never pose as a field.
 *
 * Postfix's qmgr line "QID: from=<a@b>, status=expired, returned to sender"
 * is returned as a delivery line (1) with status BG_LOG_EXPIRED and no
 * recipients: the recipients were in the delivery agents' earlier
 * status=deferred lines. Postfix status words other than sent, deferred,
 * bounced and expired (address verification's deliverable/undeliverable)
 * are not delivery lines.
 *
 * Sendmail's stat= gives the status: "Sent ..." -> sent, "Deferred..." ->
 * deferred, anything else -> bounced when the dsn= (or the code in the
 * text) is 5.x.x / 5xx, deferred when it is 4.x.x / 4xx, else (e.g.
 * "queued") not a delivery line. A ", reply=TEXT" after stat= (the remote
 * server's reply) gives the reply code and becomes the diagnostic text.
 */
#ifndef BG_MAILLOG_H
#define BG_MAILLOG_H

#include <stddef.h>

#define BG_LOG_RCPT_MAX 32     /* recipients kept from one line */
#define BG_LOG_ADDR_MAX 320    /* longest address kept (as logged, no <>) */
#define BG_LOG_DIAG_MAX 512    /* diagnostic text incl. NUL */

enum bg_log_mta { BG_LOG_MTA_NONE = 0, BG_LOG_MTA_POSTFIX, BG_LOG_MTA_SENDMAIL };

enum bg_log_status {
    BG_LOG_STATUS_NONE = 0,
    BG_LOG_SENT,
    BG_LOG_DEFERRED,
    BG_LOG_BOUNCED,
    BG_LOG_EXPIRED
};

struct bg_logline {
    enum bg_log_mta mta;
    enum bg_log_status status;
    char program[64];          /* "postfix/submission/smtp", "sm-mta" */
    char queue_id[32];         /* Postfix or Sendmail queue id */
    unsigned nrcpt;            /* addresses in rcpt[] */
    unsigned rcpt_seen;        /* recipients in the line: also those not kept
                                  (beyond BG_LOG_RCPT_MAX, too long, empty,
                                  control bytes) */
    char rcpt[BG_LOG_RCPT_MAX][BG_LOG_ADDR_MAX + 1];  /* as logged, no <> */
    char orig_to[BG_LOG_ADDR_MAX + 1];  /* Postfix orig_to=, or "" */
    char dsn[16];              /* enhanced status "5.1.1", or "" */
    char relay[256];           /* relay host name (no [ip], :port, final dot)
                                  or "" for none */
    char reply_code[4];        /* "550" from the text, or "" */
    char command[16];          /* "RCPT", "MAIL", "DATA", "CONNECT", "EHLO"...
                                  from the text, or "" */
    char diag[BG_LOG_DIAG_MAX];/* the reply/explanation without "host X said:"
                                  and "(in reply to ... command)"; control
                                  bytes replaced by '?' */
    int diag_truncated;
};

/* Returns 1 and fills *out for a delivery line, 0 for any other line (out
 * is then zeroed). Never reads outside line[0..len). */
int bg_maillog_parse(const char *line, size_t len, struct bg_logline *out);

/* The sender of a queue id: Postfix's queue manager line
 * "QID: from=<a@b>, size=N, nrcpt=M (queue active)" (postfix.../qmgr) or
 * Sendmail's "QID: from=<a@b>, size=N, ...". 1 with qid and from (as
 * logged, no <>) filled; 0 for any other line, the null sender, or an
 * address that does not fit or holds control bytes. */
int bg_maillog_sender(const char *line, size_t len, char *qid, size_t qidsz, char *from,
                      size_t fromsz);

const char *bg_log_status_name(enum bg_log_status s);
const char *bg_log_mta_name(enum bg_log_mta m);

#endif
