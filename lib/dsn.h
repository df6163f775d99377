/* dsn.h - parse a whole message (bytes) into delivery reports.
 *
 * Handles RFC 3464 multipart/report delivery-status (and RFC 6533
 * message/global-delivery-status), RFC 5965 ARF feedback reports, RFC 3834
 * auto-replies, and the non-standard formats real MTAs send (qmail, Exim,
 * old Sendmail, Exchange/Office 365, Gmail, Yahoo, Courier, Domino, SES,
 * ...). Pure function of its input: no I/O, no globals, no libmilter.
 *
 * Bounded: at most opts->max_scan bytes are looked at (default 1 MiB),
 * MIME nesting at most BG_DSN_MAX_DEPTH, at most BG_DSN_MAX_RCPT
 * recipients; linear time; never reads past len; never crashes.
 */
#ifndef BG_DSN_H
#define BG_DSN_H

#include <stddef.h>

#define BG_DSN_MAX_RCPT 64
#define BG_DSN_MAX_DEPTH 8
#define BG_DSN_DIAG_MAX 512

enum bg_report_kind {
    BG_REPORT_NONE = 0,     /* not a report we recognise */
    BG_REPORT_DSN,          /* RFC 3464 delivery status */
    BG_REPORT_ARF,          /* RFC 5965 feedback report */
    BG_REPORT_AUTOREPLY,    /* RFC 3834 / vacation: never a bounce */
    BG_REPORT_VENDOR        /* non-standard bounce format, see .format */
};

enum bg_dsn_action {
    BG_ACTION_UNKNOWN = 0, BG_ACTION_FAILED, BG_ACTION_DELAYED,
    BG_ACTION_DELIVERED, BG_ACTION_RELAYED, BG_ACTION_EXPANDED
};

struct bg_dsn_rcpt {
    char rcpt[320];              /* Final-Recipient address (bare, as found) */
    char orig_rcpt[320];         /* Original-Recipient / Original-Rcpt-To */
    enum bg_dsn_action action;
    char status[16];             /* "5.1.1" or "" */
    char reply_code[4];          /* "550" or "" */
    char diag_type[16];          /* "smtp", "x-postfix", ... or "" */
    char diag[BG_DSN_DIAG_MAX];  /* diagnostic text, unfolded, decoded */
    char remote_mta[256];        /* Remote-MTA host or "" */
    char command[16];            /* SMTP command it failed at ("RCPT", "DATA"...) or "" */
    int weak;                    /* only a "To:" line of the returned original
                                    names this address: the report named no
                                    failed recipient itself (evidence, never
                                    acted on) */
    int diag_from_text;          /* a DSN without a Diagnostic-Code: diag was
                                    taken from the human-readable text and
                                    carries no reply or status code */
};

struct bg_dsn {
    enum bg_report_kind kind;
    char format[24];             /* "rfc3464", "arf", "qmail", "exim", ... */
    char feedback_type[24];      /* ARF: "abuse", "opt-out", ... */
    char reporting_mta[256];
    char queue_id[64];           /* X-Postfix-Queue-ID of the report, if any */
    char orig_message_id[256];   /* Message-ID of the returned original */
    char orig_from[320];         /* From/Return-Path of the returned original */
    const char *orig_headers;    /* pointer INTO the input: the returned */
    size_t orig_headers_len;     /*   original's header block, or NULL/0 */
    size_t nrcpt;
    struct bg_dsn_rcpt r[BG_DSN_MAX_RCPT];
};

struct bg_dsn_opts {
    size_t max_scan;             /* 0 = default 1 MiB */
};

/* Parse msg (len bytes, need not be NUL-terminated). Fills *out (caller
 * allocates; it is large - heap, not stack, in threads). Returns 0 when
 * the message was understood as a report of some kind (out->kind set,
 * possibly nrcpt 0), -1 when it is not a report. */
int bg_dsn_parse(const char *msg, size_t len, const struct bg_dsn_opts *opts,
                 struct bg_dsn *out);

const char *bg_dsn_action_name(enum bg_dsn_action a);

#endif
