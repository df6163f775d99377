/* dsn_int.h - what the files of the bounce parser share: the context of
 * one message and the functions one file calls in another. Not an API:
 * dsn.h is.
 *
 *   dsn.c         entry point: headers, MIME parts, which reader runs,
 *                 auto-replies, the per-message context
 *   dsn_report.c  the machine-readable parts: RFC 3464 delivery status,
 *                 RFC 5965 feedback reports (ARF)
 *   dsn_text.c    the human-readable text: decoding, HTML, where the
 *                 returned original starts, which addresses are senders
 *   dsn_vendor.c  bounces without a DSN part: the format marks (data) and
 *                 the recipients found in the text
 *   dsn_region.c  one recipient's details from the text around it: the
 *                 remote server's words, host, SMTP command
 *   dsn_ses.c     Amazon SES JSON notifications
 *   dsn_codes.c   addresses, status and reply codes, SMTP commands
 *   textscan.c    the case-insensitive searches all of them use
 */
#ifndef BG_DSN_INT_H
#define BG_DSN_INT_H

#include "dsn.h"
#include "mime.h"
#include "textscan.h"

#include <stddef.h>

#define MAX_PARTS 96
#define FIELD_MAX 1024

/* One per message (parse_msg, dsn.c), in one allocation with its two buffers.
 * ctx_new does not zero it (the string buffers come to about 5 KB): it
 * sets every field that can be read before it is written, so a field
 * added here must be set there too. */
struct ctx {
    const char *msg;
    size_t len;
    struct bg_dsn *out;
    size_t nparts;
    char *buf;          /* decode scratch: len + 1 bytes */
    char *text;         /* human-readable text, NUL-terminated, len + 1 bytes */
    size_t text_len;
    /* text_cut(text), found lazily (cut_before): the positions before
     * cut_from hold no cut mark; cut is it once cut_done */
    size_t cut, cut_from;
    int cut_done;
    char subject[512];
    char from[512];
    char from_addr[320]; /* value_addr(from), once from_addr_done */
    int from_addr_done;
    char to[512];
    /* the returned original's header block indexed (take_original), once
     * have_orig: its To: and X-HmXmrOriginalRecipient are looked up only
     * when a path reads them (orig_to_get, hmxmr_get) - most never do. The
     * index points into the input, which outlives the ctx. */
    int have_orig;
    struct bg_mime_hdrs orig_hx;
    int orig_to_done, hmxmr_done;
    char orig_to[1024];   /* set once orig_to_done */
    char xfailed[1024];
    char hmxmr[320];      /* value_addr(X-HmXmrOriginalRecipient), once hmxmr_done */
    char senders[4][320]; /* envelope/header senders seen in the text */
    int nsenders;
    char field[FIELD_MAX];  /* a delivery-status field's value */
    struct bg_mime_part parts[MAX_PARTS]; /* [0,nparts) set */
    unsigned char kind[MAX_PARTS];        /* part_kind of each part */
    size_t alloc;       /* bytes in the allocation (ctx_new, ctx_free) */
    /* buf and text follow in the same allocation (ctx_new) */
};

/* What the parser does with a part, by its media type. */
enum { PK_OTHER, PK_PLAIN, PK_HTML, PK_DS, PK_FB, PK_RFC822, PK_MSG, PK_HDRS };

/* ---- dsn.c */
/* The record of addr in out (added if new; the first one kept for a
 * repeat, compared without case), or NULL when out is full. */
struct bg_dsn_rcpt *rcpt_add(struct bg_dsn *out, const char *addr);

/* Every address of an address-list header value. */
void add_addr_list(struct bg_dsn *out, const char *v);

/* ---- dsn_codes.c */
/* Around the '@' at s[at] (s has n bytes): address bounds. 1 if plausible. */
int addr_bounds(const char *s, size_t n, size_t at, size_t *b, size_t *e);

/* The address in a field value ("rfc822; <a@b>", "Name <a@b>", "a@b"). */
void value_addr(const char *v, char *out, size_t osz);

/* A usable mailbox address: local@domain.tld, no source route. */
int addr_valid(const char *a);

/* The first enhanced status code ("5.1.1") in s, into out: 1, or 0. */
int find_status(const char *s, char *out, size_t osz);

/* A recipient's status, reply code and command from its diagnostic where
 * missing (and "5.0.0" refined by the reply's own status), and its action
 * from the status when unknown. */
void fill_codes(struct bg_dsn_rcpt *r);

/* An Action: field's value. */
enum bg_dsn_action parse_action(const char *v);

/* "dns; host.example" -> "host.example" */
void after_type(const char *v, char *out, size_t osz);

/* A reply or status code in the line's first 255 bytes, up to a NUL. */
int line_has_code(const char *l, size_t n);

/* Does a diagnostic carry a status, or start with a reply code? */
int diag_has_code(const char *d);

/* The SMTP command a text names ("in reply to RCPT TO command", "after
 * end of data", ">>> DATA") into out: 1, or 0. */
int find_command(const char *s, size_t n, char *out, size_t osz);

/* The command named by the rem bytes at w (just after a lead), or NULL. */
const char *cmd_word(const char *w, size_t rem);

/* The leads before an SMTP command's name ("in reply to ", "after ",
 * ...), NULL-terminated; cmd_word reads the name after one. The last two
 * name their command themselves (qmail's "does not like recipient"). */
#define N_CMD_LEAD 10
extern const char *const cmd_lead[N_CMD_LEAD + 1];
/* The command lead number lead names, with the rem bytes at w after it. */
const char *cmd_after_lead(size_t lead, const char *w, size_t rem);

/* ---- dsn_report.c */
/* The fields of a message/delivery-status part: one recipient per
 * block, into c->out. */
void parse_delivery_status(struct ctx *c, const char *p, size_t n);

/* The fields of a message/feedback-report part (ARF). */
void parse_feedback(struct ctx *c, const char *p, size_t n);

/* ---- dsn_text.c */
/* Decode all text/plain parts (or, lacking them, text/html) outside the
 * returned original into c->text. */
void build_text(struct ctx *c);

/* Where the returned original starts inside the human text (the first
 * cut mark), if that is before lim; else lim (at most text_len). A DSN's
 * text seldom has a mark, and its readers only ask about the text up to
 * a recipient's mention: searching the positions before lim, and only
 * those not searched before, spares a pass over the rest. A mark that
 * starts before lim ends before lim + maxlen - 1: that window finds every
 * one, in the order of the whole text's search. */
size_t cut_before(struct ctx *c, size_t lim);

/* Is the line a header of the returned original (From:, Received:,
 * ...)? Addresses there are never failed recipients. */
int line_is_header_of_original(const char *l, size_t n);

/* Is a the bounce's sender, the original's, or a daemon (never a failed
 * recipient)? */
int excluded_addr(struct ctx *c, const char *a);

/* Senders: "MAIL FROM:<x>" before the cut, and From:/Return-path: of an
 * original quoted inline after it. Never failed recipients. */
void collect_senders(struct ctx *c, const char *t, size_t n, size_t cut);

/* Does the address at line[b,e) read as a failed recipient, by the words
 * before it ("RCPT TO:", "recipient", "<a@b>..."), and not a sender's?
 * 1 yes, 0 no, RCPT_WEAK only on a "To:" line of its own (a header of
 * the returned original: a recipient when the report names no other). */
#define RCPT_WEAK 2
int rcpt_context(const char *line, size_t ln, size_t b, size_t e);

/* Where the text's first paragraph that starts in ASCII begins: a
 * notice in an undecoded national charset (EUC-JP, ISO-2022-JP: 8-bit
 * bytes or ESC) often precedes the same notice in English (au/EZweb,
 * Japanese MTAs). At most 8 paragraphs are skipped; 0 when none fits. */
size_t first_ascii_para(const char *t, size_t n);

/* Postfix names an alias' expansion as "<a@b> (expanded from <x@y>):",
 * the parenthesis often folded onto the next line: x@y is the address
 * the sender used, not a second failed recipient. Is the address at
 * t[b] preceded (across at most one line break) by "expanded from"? */
int after_expanded_from(const char *t, size_t b);

/* Does the text (before the returned original) or the subject say this
 * is a delay notice - still trying, the outcome to follow - and nothing
 * says the failure is final? */
int text_says_delay(struct ctx *c);

/* The marks where a returned original starts in the text,
 * NULL-terminated (cut_before; dsn_vendor.c searches them in its pass). */
#define N_CUT_MARKS 19
extern const char *const cut_marks[N_CUT_MARKS + 1];

/* ---- dsn_region.c */
/* Fill a recipient's diag etc. from the text region [rb, re). */
void region_details(struct bg_dsn_rcpt *r, const char *t, size_t rb, size_t re,
                    int overwrite_diag);

/* One failed recipient listed AFTER the reason (Lotus Notes' "Failure
 * Reasons", MailMarshal's "Could not be delivered because of ... The
 * following recipients were affected:", Verizon's "Error message below:
 * 550 ..." then "RCPT TO: a@b", InterScan's "Unable to deliver message to
 * <a@b> (...)"): when the text after the address carried no reply code,
 * the text before it is the reason. A line with a reply/status code in
 * it wins (that line and the rest of its paragraph); else, when the text
 * up to the address' line is short, all of it (through that line). */
void preamble_details(struct bg_dsn_rcpt *r, const char *t, size_t at);

/* ---- dsn_vendor.c */
/* Vendor bounce: find recipients in the human text. Returns 1 if it
 * looks like a bounce. */
int parse_vendor(struct ctx *c, int force);

/* ---- dsn_ses.c */
/* SES JSON notifications: "emailAddress":"..." entries. */
int parse_ses_json(struct ctx *c, const char *t, size_t n);

#endif
