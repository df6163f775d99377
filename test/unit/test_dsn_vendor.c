/* test_dsn_vendor.c - bg_dsn_parse on bounces without a delivery-status
 * part (qmail, Exim, Exchange, Gmail, Yahoo, Courier, Domino, SES, old
 * Sendmail, ...) and the text heuristics behind them: where a recipient's
 * reason is, format and cut marks anywhere in the text, repeated reply
 * codes. Reports with a DSN part: test_dsn.c. */
#include "dsn.h"
#include "unit.h"
#include "dsn_fixture.h"

#include <stdio.h>
#include <string.h>

START_TEST(exim)
{
    struct bg_dsn *d = parse_file("exim.eml", 0);
    ck_assert_int_eq(d->kind, BG_REPORT_VENDOR);
    ck_assert_str_eq(d->format, "exim");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "frank@example.net");
    ck_assert_int_eq(d->r[0].action, BG_ACTION_FAILED);
    ck_assert_str_eq(d->r[0].status, "5.1.1");
    ck_assert_str_eq(d->r[0].reply_code, "550");
    ck_assert_str_eq(d->r[0].command, "RCPT");
    ck_assert_str_eq(d->r[0].remote_mta, "mx.example.net");
    ck_assert_ptr_nonnull(strstr(d->r[0].diag, "User unknown"));
    free(d);
}
END_TEST

START_TEST(qmail)
{
    struct bg_dsn *d = parse_file("qmail.eml", 0);
    ck_assert_str_eq(d->format, "qmail");
    ck_assert_uint_eq(d->nrcpt, 1); /* the sender gina@ is never a recipient */
    ck_assert_str_eq(d->r[0].rcpt, "hank@example.net");
    ck_assert_str_eq(d->r[0].status, "5.1.1");
    ck_assert_str_eq(d->r[0].reply_code, "550");
    ck_assert(strncmp(d->r[0].diag, "550 5.1.1 <hank@example.net>... No such user", 44) == 0);
    free(d);
}
END_TEST

START_TEST(office365_qp)
{
    struct bg_dsn *d = parse_file("office365.eml", 0);
    ck_assert_str_eq(d->format, "exchange");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "ivan@contoso.example");
    ck_assert_str_eq(d->r[0].status, "5.1.10");
    ck_assert_str_eq(d->r[0].reply_code, "550");
    /* QP soft line break inside the reply is undone */
    ck_assert_ptr_nonnull(strstr(d->r[0].diag,
        "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"));
    free(d);
}
END_TEST

START_TEST(gmail)
{
    struct bg_dsn *d = parse_file("gmail.eml", 0);
    ck_assert_str_eq(d->format, "gmail");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "leo@example.jp");
    ck_assert_str_eq(d->r[0].diag, "550 5.1.1 <leo@example.jp>... User Unknown");
    ck_assert_str_eq(d->r[0].status, "5.1.1");
    free(d);
}
END_TEST

START_TEST(yahoo)
{
    struct bg_dsn *d = parse_file("yahoo.eml", 0);
    ck_assert_str_eq(d->format, "yahoo");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "ned@example.org");
    ck_assert_str_eq(d->r[0].status, "5.2.2");
    ck_assert_str_eq(d->r[0].reply_code, "552");
    free(d);
}
END_TEST

START_TEST(courier)
{
    struct bg_dsn *d = parse_file("courier.eml", 0);
    ck_assert_int_eq(d->kind, BG_REPORT_DSN);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "pete@example.com");
    /* no Diagnostic-Code: the reply comes from the human text */
    ck_assert_str_eq(d->r[0].diag, "550 5.1.1 <pete@example.com>... User Unknown");
    ck_assert_str_eq(d->r[0].command, "RCPT");
    ck_assert_str_eq(d->r[0].reply_code, "550");
    free(d);
}
END_TEST

START_TEST(ses_json)
{
    struct bg_dsn *d = parse_file("ses-json.eml", 0);
    ck_assert_str_eq(d->format, "ses");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "rita@example.net");
    ck_assert_str_eq(d->r[0].status, "5.1.1");
    ck_assert_str_eq(d->r[0].diag_type, "smtp");
    ck_assert_str_eq(d->r[0].diag, "550 5.1.1 user unknown");
    ck_assert_int_eq(d->r[0].action, BG_ACTION_FAILED);
    free(d);
}
END_TEST

START_TEST(domino)
{
    struct bg_dsn *d = parse_file("domino.eml", 0);
    ck_assert_str_eq(d->format, "domino");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "dora@notes.example.com");
    ck_assert_ptr_nonnull(strstr(d->r[0].diag, "not listed in Domino Directory"));
    free(d);
}
END_TEST

/* one recipient listed after the reason: the text before it is the
 * diagnostic (a code line there wins) */
START_TEST(reason_before_recipient)
{
    struct bg_dsn *d = parse_file("reason-before-rcpt.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "dora@notes.example.com");
    ck_assert_str_eq(d->r[0].diag, "User not listed in public Name & Address Book");
    free(d);
    d = parse_file("code-before-rcpt.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "gone@example.com");
    ck_assert_str_eq(d->r[0].diag, "550 5.1.1 User unknown");
    ck_assert_str_eq(d->r[0].status, "5.1.1");
    free(d);
    d = parse_file("rcpt-in-sentence.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "nobody@example.jp");
    ck_assert_str_eq(d->r[0].diag, "Reason: Unable to deliver message to <nobody@example.jp> "
                                   "(and other recipients in the same domain).");
    free(d);
}
END_TEST

/* Postfix: "<a> (expanded from <x>): reason" - x is the alias the sender
 * used (also quoted as Original-Recipient), not a second recipient; the
 * reason is the paragraph after the parenthesis */
START_TEST(postfix_expanded_from)
{
    struct bg_dsn *d = parse_file("postfix-expanded-from.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "final-box@mx.example.jp");
    ck_assert_str_eq(d->r[0].diag, "delivery temporarily suspended: connect to "
                                   "mx.example.jp[192.0.2.9]: server refused to talk to me: "
                                   "421 Service not available, closing transmission channel");
    free(d);
}
END_TEST

/* a transcript's accepted steps (250 2.1.5) give way to the failing one */
START_TEST(transcript_final_code)
{
    struct bg_dsn *d = parse_file("transcript-final-code.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "box@example.jp");
    ck_assert_str_eq(d->r[0].status, "4.3.0");
    ck_assert_str_eq(d->r[0].reply_code, "451");
    free(d);
}
END_TEST

/* Exim names a failed file/pipe delivery, not the X-Failed-Recipients
 * address: the block under "The following address(es) failed:" */
START_TEST(exim_failed_block)
{
    struct bg_dsn *d = parse_file("exim-pipe-failed.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "box@example.net");
    ck_assert_str_eq(d->r[0].diag, "save to /var/mail/box generated by box "
                                   "mailbox is full: retry timeout exceeded");
    free(d);
}
END_TEST

/* "For the following reason:" alone in its paragraph heads the reason */
START_TEST(reason_heading_paragraph)
{
    struct bg_dsn *d = parse_file("reason-heading.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "big@example.de");
    ck_assert_str_eq(d->r[0].diag, "For the following reason: Mail size limit exceeded.");
    free(d);
}
END_TEST

/* a notice in an undecoded national charset first (EUC-JP, ISO-2022-JP),
 * then in English: the English paragraph is the diagnostic */
START_TEST(national_charset_first)
{
    struct bg_dsn *d = parse_file("national-charset-first.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "off@carrier.example.jp");
    ck_assert_str_eq(d->r[0].diag, "The user(s) account is disabled.");
    free(d);
}
END_TEST

/* a lone "Technical details:" heading (under a rule of '=') after the
 * address: the reason is the paragraph below it */
START_TEST(details_heading)
{
    struct bg_dsn *d = parse_file("details-heading.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "gone@dest.example.com");
    ck_assert_ptr_nonnull(strstr(d->r[0].diag, "Could not find a gateway"));
    free(d);
}
END_TEST

/* old sendmail: "554 <a@b>... text" is a's reply, line by line */
START_TEST(sendmail_v5_reply_per_line)
{
    struct bg_dsn *d = parse_file("sendmail-v5-lines.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 2);
    ck_assert_str_eq(d->r[0].rcpt, "first@example.org");
    ck_assert_str_eq(d->r[0].diag, "554 <first@example.org>... Remote protocol error");
    ck_assert_str_eq(d->r[1].rcpt, "second@example.net");
    ck_assert_str_eq(d->r[1].diag, "554 <second@example.net>... 550 Host unknown "
                                   "(Authoritative answer from name server)");
    free(d);
}
END_TEST

START_TEST(gmail_delayed_summary)
{
    /* the indented address line is skipped; Gmail's "Technical details"
     * heading introduces the diagnostic */
    struct bg_dsn *d = parse_file("gmail-delayed.eml", 0);
    ck_assert_str_eq(d->format, "gmail");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "otto@slow.example.net");
    ck_assert(strncmp(d->r[0].diag, "The recipient server did not accept our requests", 48) == 0);
    free(d);
}
END_TEST

START_TEST(gmail_state_and_multiline_reply)
{
    struct bg_dsn *d = parse_file("gmail-state.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].status, "5.7.1");
    ck_assert_str_eq(d->r[0].reply_code, "550");
    /* "(state 18)" is Gmail's DATA state */
    ck_assert_str_eq(d->r[0].command, "DATA");
    /* continuation codes of the multi-line reply are dropped */
    ck_assert_ptr_nonnull(strstr(d->r[0].diag, "Messages with multiple addresses in From: header are not accepted."));
    free(d);
}
END_TEST

START_TEST(google_groups)
{
    struct bg_dsn *d = parse_file("googlegroups.eml", 0);
    ck_assert_str_eq(d->format, "googlegroups");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "cats@googlegroups.com");
    ck_assert(strncmp(d->r[0].diag, "Google Groups:", 14) == 0);
    free(d);
}
END_TEST

START_TEST(sendmail_transcript_command)
{
    /* ">>> RCPT To:<addr>": the command precedes the address */
    struct bg_dsn *d = parse_file("sendmail-v5.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "quinn@example.net");
    ck_assert_str_eq(d->r[0].command, "RCPT");
    ck_assert_str_eq(d->r[0].reply_code, "550");
    free(d);
}
END_TEST

START_TEST(repeated_codes_hostile)
{
    /* a diagnostic made of nothing but repeated codes stays bounded */
    char msg[4096];
    size_t o = (size_t)snprintf(msg, sizeof msg,
        "From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail\r\n"
        "Content-Type: multipart/report; boundary=\"b\"\r\n\r\n--b\r\n"
        "Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\n"
        "Status: 5.0.0\r\nDiagnostic-Code: smtp; 550");
    while (o + 16 < sizeof msg - 32)
        o += (size_t)snprintf(msg + o, sizeof msg - o, " 550-5.0.0");
    o += (size_t)snprintf(msg + o, sizeof msg - o, "\r\n\r\n--b--\r\n");
    int rc;
    struct bg_dsn *d = parse_mem(msg, o, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert(strlen(d->r[0].diag) < BG_DSN_DIAG_MAX);
    free(d);
}
END_TEST

/* A diagnostic of one recipient, from a DSN whose Diagnostic-Code is
 * "smtp; " dc (NULL when the parse finds no recipient). */
static struct bg_dsn *parse_diag(const char *dc)
{
    char msg[2048];
    int n = snprintf(msg, sizeof msg,
        "From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Final-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 5.0.0\r\n"
        "Diagnostic-Code: smtp; %s\r\n\r\n--b--\r\n", dc);
    ck_assert(n > 0 && (size_t)n < sizeof msg);
    int rc;
    struct bg_dsn *d = parse_mem(msg, (size_t)n, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    return d;
}

/* Codes repeated by a multi-line reply are dropped once, and what is
 * kept is final: the diagnostic fed back in comes out unchanged (a
 * "550-550 b" right after a dropped repeat used to survive one pass and
 * not the next). */
START_TEST(repeated_codes_fixed_point)
{
    static const struct { const char *in, *want; } t[] = {
        { "550 a 550-550 b", "550 a b" },
        { "550 a 550-550-550 b", "550 a b" },
        { "550-5.1.1 user 550-5.1.1 unknown 550 5.1.1 here", "550-5.1.1 user unknown here" },
        { "550 5.7.1 blocked 550 5.7.1 550 5.7.1 see", "550 5.7.1 blocked see" },
        { "450 4.2.0 try 450-450 450 later", "450 4.2.0 try later" },
        { "550 x550 y", "550 x550 y" },
        { "554 a 554- b", "554 a b" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct bg_dsn *d = parse_diag(t[i].in);
        ck_assert_msg(strcmp(d->r[0].diag, t[i].want) == 0, "%zu: \"%s\" -> \"%s\", want \"%s\"",
                      i, t[i].in, d->r[0].diag, t[i].want);
        struct bg_dsn *again = parse_diag(d->r[0].diag);
        ck_assert_str_eq(again->r[0].diag, d->r[0].diag);
        free(again);
        free(d);
    }
}
END_TEST

/* ---- the scanners' answers (one-pass rewrites must keep them) ---------- */

START_TEST(format_mark_table_order)
{
    /* the earliest entry of the mark table wins, not the earliest byte;
     * a mark past the first 64 KiB of text is not looked at */
    static const char m[] =
        "From: MAILER-DAEMON@x.example\nSubject: failure notice\n\nundeliverable\n"
        "Hi. This is the qmail-send program at x.example.\n<bob@y.example>:\n"
        "550 5.1.1 no mailbox\n";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(d->format, "qmail");
    free(d);

    size_t cap = 70000, o;
    char *big = malloc(cap);
    ck_assert_ptr_nonnull(big);
    o = (size_t)snprintf(big, cap, "From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n"
                                   "undeliverable\n<bob@y.example>:\n550 5.1.1 no mailbox\n");
    while (o < 66000) {
        memcpy(big + o, "filler text line of no meaning\n", 31);
        o += 31;
    }
    o += (size_t)snprintf(big + o, cap - o, "This is the qmail-send program at x.example.\n");
    d = parse_mem(big, o, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(d->format, "generic");
    ck_assert_uint_eq(d->nrcpt, 1);
    free(d);
    free(big);
}
END_TEST

START_TEST(format_mark_runs)
{
    /* once a mark is found only earlier marks of another format are
     * looked for: later marks of lower index but the same format change
     * nothing, one of an earlier format further on still wins */
    static const struct { const char *body; const char *fmt; } cases[] = {
        { "user unknown\ncould not be delivered\nundeliverable\n", "generic" },
        { "user unknown\nRemote Server returned '550 no'\ncould not be delivered\n"
          "SMTP error from remote mail server after RCPT TO:\n", "exim" },
        { "SMTP error from remote mail server after RCPT TO:\n"
          "This message was created automatically by mail delivery software\n"
          "undeliverable\n", "exim" },
        { "SMTP error from remote mail server after RCPT TO:\nuser unknown\n"
          "qmail-send program\n", "qmail" },
        { "Remote Server returned '550 no'\nDelivery has failed to these recipients or groups\n"
          "Technical details of permanent failure\n", "exchange" },
        /* bytes 8..15 of a mark compared as one word: any case there,
         * a non-letter must be exact */
        { "undeliverable\nTHIS IS THE QMAIL-SEND PROGRAM\n", "qmail" },
        { "undeliverable\nsMTP eRROR fROM rEMOTE mAIL sERVER aFTER\n", "exim" },
        { "Remote Server_returned '550 no'\nundeliverable\n", "generic" },
        { "Remote Server returneD '550 no'\nundeliverable\n", "exchange" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char m[1024];
        int len = snprintf(m, sizeof m,
                           "From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n"
                           "<bob@y.example>: 550 5.1.1 no mailbox\n%s",
                           cases[i].body);
        int rc;
        struct bg_dsn *d = parse_mem(m, (size_t)len, &rc);
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(d->format, cases[i].fmt);
        free(d);
    }
}
END_TEST

START_TEST(cut_mark_at_format_scan_end)
{
    /* parse_vendor looks for the cut in its format scan of the first
     * 64 KiB: a cut mark across that end (or after it) is still found
     * by cut_before, from where the format scan could not see one end;
     * a cut mark before a format mark is still the cut. The address
     * after the cut is no recipient; without a mark it is one. */
    static const char *const marks[] = { "", "-----Original Message-----",
                                         "Content-Type: message/rfc822",
                                         "--- Below this line is a copy of the message" };
    static const char hdr[] = "From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n";
    static const char head[] = "undeliverable\n<bob@y.example>: 550 5.1.1 no mailbox\n";
    static const char tail[] = "\n<dave@w.example>: 550 5.1.1 no mailbox\n";
    size_t cap = 70000;
    char *m = malloc(cap);
    ck_assert_ptr_nonnull(m);
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        for (size_t off = 65536 - 50; off < 65536 + 8; off++) {
            size_t o = (size_t)snprintf(m, cap, "%s%s", hdr, head), b = sizeof hdr - 1;
            while (o - b + 31 <= off) {
                memcpy(m + o, "filler text line of no meaning\n", 31);
                o += 31;
            }
            while (o - b < off)
                m[o++] = 'x';
            o += (size_t)snprintf(m + o, cap - o, "%s%s", marks[i], tail);
            int rc;
            struct bg_dsn *d = parse_mem(m, o, &rc);
            ck_assert_int_eq(rc, 0);
            ck_assert_str_eq(d->format, "generic");
            ck_assert_uint_eq(d->nrcpt, marks[i][0] ? 1 : 2);
            ck_assert_str_eq(d->r[0].rcpt, "bob@y.example");
            free(d);
        }
        int len = snprintf(m, cap, "%s%s%s%sThis is the qmail-send program\n", hdr, head, marks[i],
                           tail);
        int rc;
        struct bg_dsn *d = parse_mem(m, (size_t)len, &rc);
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(d->format, "qmail");
        ck_assert_uint_eq(d->nrcpt, marks[i][0] ? 1 : 2);
        free(d);
    }
    free(m);
}
END_TEST

START_TEST(marks_at_every_offset)
{
    /* a mark that ends the text (or the subject) at any offset: the wide
     * scans end with a window that ends at the input's end, positions
     * before the start masked off; the table order still decides */
    for (size_t pad = 0; pad < 80; pad++) {
        char m[512], fill[96];
        memset(fill, 'z', pad);
        fill[pad] = 0;
        int len = snprintf(m, sizeof m,
                           "From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n"
                           "%s undeliverable <bob@y.example>: 550 no mailbox\n%s "
                           "qmail-send program",
                           fill, fill);
        int rc;
        struct bg_dsn *d = parse_mem(m, (size_t)len, &rc);
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(d->format, "qmail");
        free(d);
        /* only the subject says bounce: no mark in the text */
        len = snprintf(m, sizeof m,
                       "From: someone@x.example\nSubject: %sReturned mail\n\n"
                       "hello <bob@y.example>\n",
                       fill);
        d = parse_mem(m, (size_t)len, &rc);
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(d->format, "generic");
        free(d);
        /* a lead found at the text's very end: no command word after it */
        len = snprintf(m, sizeof m,
                       "From: MAILER-DAEMON@x.example\nSubject: Undeliverable\n\n"
                       "Delivery has failed to these recipients or groups:\n\nuser@a.example\n"
                       "%s550 5.1.1 unknown in reply to RCPT command, after",
                       fill);
        d = parse_mem(m, (size_t)len, &rc);
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_eq(d->nrcpt, 1);
        ck_assert_str_eq(d->r[0].command, "RCPT");
        free(d);
    }
}
END_TEST

START_TEST(recipient_lines_only_with_at)
{
    /* only lines with an '@' are looked at: a quoted header of the
     * original is skipped, an address on the last line (no line end, CRLF
     * before) and one after a long line without '@' are found */
    static const char m[] =
        "From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail\r\n\r\n"
        "Delivery to the following recipient failed permanently:\r\n\r\n"
        "Reply-To: other@c.example\r\n"
        "a line without any address, long enough to fill a few of the windows "
        "the scanners read at once, and then some more words\r\n"
        "   first@a.example\r\n\r\nuser unknown\r\n\r\n"
        "second@b.example";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 2);
    ck_assert_str_eq(d->r[0].rcpt, "first@a.example");
    ck_assert_str_eq(d->r[1].rcpt, "second@b.example");
    free(d);
}
END_TEST

START_TEST(html_only_text)
{
    /* an HTML-only notice: line-breaking tags (any case, with attributes)
     * end lines, other tags are a space, entities are decoded */
    static const char m[] =
        "From: MAILER-DAEMON@x.example\nSubject: Undeliverable\n"
        "Content-Type: text/html\n\n"
        "<HTML><Body><P class=x>Delivery has failed to these recipients or groups:</P>"
        "<DIV style=\"a\"><a href=\"mailto:user@a.example\">user@a.example</a></div>"
        "<table><tr><td>the mailbox<br>550 5.2.2 The&nbsp;mailbox is &AMP; was full "
        "&lt;quota&gt; &#39;x&#39; &foo; &<BR/>next<span>word</td></TR></table></body></html>\n";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(d->format, "exchange");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "user@a.example");
    ck_assert_str_eq(d->r[0].diag, "550 5.2.2 The mailbox is & was full <quota> 'x' &foo; & next word");
    free(d);
}
END_TEST

START_TEST(cut_mark_inside_dash_run)
{
    /* "------ Original message ------" starts at the seventh of twelve
     * dashes: the returned original's To: is no recipient */
    static const char m[] =
        "From: MAILER-DAEMON@x.example\nSubject: Undeliverable\n\n"
        "Delivery has failed to these recipients or groups:\n\nuser@a.example\n"
        "The mailbox is full.\n\n------------ Original message ------------\n"
        "To: other@b.example\n";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(d->format, "exchange");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "user@a.example");
    ck_assert_str_eq(d->r[0].diag, "The mailbox is full.");
    free(d);
}
END_TEST

START_TEST(host_key_order_and_strong_mark)
{
    /* "host " outranks an earlier "mta "; a strong reply mark outranks an
     * earlier weak one ("The response was:") */
    static const char m1[] =
        "From: MAILER-DAEMON@x.example\nSubject: Undeliverable\n\n"
        "Delivery has failed to these recipients or groups:\n\nuser@a.example\n"
        "mta relay.example.org reported an error:\n"
        "host mx.a.example said: 550 5.1.1 User unknown\n";
    static const char m2[] =
        "From: MAILER-DAEMON@x.example\nSubject: Undeliverable\n\n"
        "Delivery has failed to these recipients or groups:\n\nuser@a.example\n"
        "The response was: see below\n\nRemote host said: 550 5.1.1 No such user here\n";
    int rc;
    struct bg_dsn *d = parse_mem(m1, sizeof m1 - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].remote_mta, "mx.a.example");
    ck_assert_str_eq(d->r[0].diag, "550 5.1.1 User unknown");
    free(d);
    d = parse_mem(m2, sizeof m2 - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].diag, "550 5.1.1 No such user here");
    free(d);
}
END_TEST

/* Issue 17, kind 5: an enhanced status written anywhere in the failure's
 * own words becomes the recipient's status, whatever is around it. */
static const struct { const char *line, *status, *code; } status_rows[] = {
    { "550 5.1.2 <x@example.net>: Recipient address rejected: Domain not found", "5.1.2", "550" },
    { "Remote host said: 550-5.1.2 The domain does not exist", "5.1.2", "550" },
    { "Remote host said: 550 #5.1.2 Domain not found", "5.1.2", "550" },
    { "Sorry, I couldn't find any host named example.net. (#5.1.2)", "5.1.2", "" },
    { "host mx.example.net said: 550 5.1.2 Bad destination mailbox address", "5.1.2", "550" },
    { "Diagnostic: smtp; 550 5.1.2 bad destination system address", "5.1.2", "550" },
    { "Error: 550:5.1.2 domain unknown", "5.1.2", "" },
    { "The server responded: 5.1.2 - Bad destination host", "5.1.2", "" },
    { "said: 550 5.1.2. Domain does not exist", "5.1.2", "550" },
    { "550 5.1.2", "5.1.2", "550" },
    /* an IP address or a version is no status */
    { "550 rejected by 192.0.2.5.1 gateway 4.2.1.9", "", "550" },
};

START_TEST(status_from_text)
{
    char m[1024];
    int n = snprintf(m, sizeof m,
                     "From: MAILER-DAEMON@mx.example.org\nTo: app@site.example\n"
                     "Subject: Undeliverable\n\nYour message could not be delivered to "
                     "the following recipient:\n\n<x@example.net>\n%s\n",
                     status_rows[_i].line);
    ck_assert_int_gt(n, 0);
    int rc;
    struct bg_dsn *d = parse_mem(m, (size_t)n, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_msg(strcmp(d->r[0].status, status_rows[_i].status) == 0, "\"%s\": status %s, want %s",
                  status_rows[_i].line, d->r[0].status, status_rows[_i].status);
    ck_assert_str_eq(d->r[0].reply_code, status_rows[_i].code);
    free(d);
}
END_TEST

/* Issue 17, kind 6: a delay notice (still trying) is no failure; but a
 * permanent code is one whatever the text says, and the original's
 * subject quoted in the notice's ("Undeliverable: Shipment delayed")
 * is no sign of a delay. */
static const struct { const char *subject, *body; enum bg_dsn_action want; } delay_rows[] = {
    { "Delivery Status Notification (Delay)",
      "Delivery to the following recipient has been delayed:\n\n     x@example.net\n\n"
      "Message will be retried for 2 more day(s)\n", BG_ACTION_DELAYED },
    { "Warning: could not send message for past 4 hours",
      "The following addresses had transient non-fatal errors\n<x@example.net>\n"
      "Deferred: Connection timed out with mx.example.net.\n", BG_ACTION_DELAYED },
    { "Undeliverable: Shipment has been delayed",
      "Delivery has failed to these recipients:\n<x@example.net>\n"
      "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found\n", BG_ACTION_FAILED },
    { "Undeliverable",
      "Delivery has failed to these recipients:\n<x@example.net>\n"
      "550 5.1.1 User unknown. The server will retry the other recipients later.\n",
      BG_ACTION_FAILED },
    { "failure notice",
      "Hi. This is the qmail-send program.\n<x@example.net>:\n"
      "450 4.2.2 Mailbox Full\nI'm not going to try again; this message has been in the "
      "queue too long.\n", BG_ACTION_FAILED },
};

START_TEST(delay_or_failure)
{
    char m[2048];
    int n = snprintf(m, sizeof m, "From: MAILER-DAEMON@mx.example.org\nTo: app@site.example\n"
                                  "Subject: %s\n\n%s", delay_rows[_i].subject, delay_rows[_i].body);
    ck_assert_int_gt(n, 0);
    int rc;
    struct bg_dsn *d = parse_mem(m, (size_t)n, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "x@example.net");
    ck_assert_msg(d->r[0].action == delay_rows[_i].want, "\"%s\": action %s, want %s",
                  delay_rows[_i].subject, bg_dsn_action_name(d->r[0].action),
                  bg_dsn_action_name(delay_rows[_i].want));
    free(d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("dsn_vendor");
    TCase *f = tcase_create("formats");
    tcase_add_test(f, exim);
    tcase_add_test(f, qmail);
    tcase_add_test(f, office365_qp);
    tcase_add_test(f, gmail);
    tcase_add_test(f, yahoo);
    tcase_add_test(f, gmail_delayed_summary);
    tcase_add_test(f, gmail_state_and_multiline_reply);
    tcase_add_test(f, google_groups);
    tcase_add_test(f, sendmail_transcript_command);
    tcase_add_test(f, repeated_codes_hostile);
    tcase_add_test(f, repeated_codes_fixed_point);
    tcase_add_test(f, courier);
    tcase_add_test(f, ses_json);
    tcase_add_test(f, domino);
    tcase_add_test(f, reason_before_recipient);
    tcase_add_test(f, postfix_expanded_from);
    tcase_add_test(f, transcript_final_code);
    tcase_add_test(f, exim_failed_block);
    tcase_add_test(f, reason_heading_paragraph);
    tcase_add_test(f, national_charset_first);
    tcase_add_test(f, details_heading);
    tcase_add_test(f, sendmail_v5_reply_per_line);
    tcase_add_test(f, format_mark_table_order);
    tcase_add_test(f, format_mark_runs);
    tcase_add_test(f, cut_mark_at_format_scan_end);
    tcase_add_test(f, cut_mark_inside_dash_run);
    tcase_add_test(f, marks_at_every_offset);
    tcase_add_test(f, recipient_lines_only_with_at);
    tcase_add_test(f, html_only_text);
    tcase_add_test(f, host_key_order_and_strong_mark);
    tcase_add_loop_test(f, status_from_text, 0, (int)(sizeof status_rows / sizeof status_rows[0]));
    tcase_add_loop_test(f, delay_or_failure, 0, (int)(sizeof delay_rows / sizeof delay_rows[0]));
    suite_add_tcase(s, f);
    return s;
}

BG_UNIT_MAIN(make_suite)
