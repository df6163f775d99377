/* test_dsn.c - bg_dsn_parse and the MIME helpers: one test per fixture
 * family under test/fixtures/dsn/ (authored for this project), plus
 * hostile inputs. Every input is copied into an exact-size heap buffer
 * (no NUL after it) so valgrind/ASan catch any read past len. */
#include "dsn.h"
#include "mime.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

static char *load(const char *name, size_t *len)
{
    static const char *const dirs[] = { "test/fixtures/dsn/", "../fixtures/dsn/",
                                        "../../test/fixtures/dsn/", NULL };
    char path[512];
    for (int i = 0; dirs[i]; i++) {
        snprintf(path, sizeof path, "%s%s", dirs[i], name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = malloc(n > 0 ? (size_t)n : 1);
        ck_assert_ptr_nonnull(buf);
        ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        *len = (size_t)n;
        return buf;
    }
    ck_abort_msg("fixture %s not found (run from the repository root)", name);
    return NULL;
}

static struct bg_dsn *parse_file(const char *name, int want_rc)
{
    size_t n;
    char *m = load(name, &n);
    struct bg_dsn *d = malloc(sizeof *d);
    ck_assert_ptr_nonnull(d);
    int rc = bg_dsn_parse(m, n, NULL, d);
    ck_assert_int_eq(rc, want_rc);
    if (d->orig_headers) {
        ck_assert(d->orig_headers >= m && d->orig_headers + d->orig_headers_len <= m + n);
    }
    free(m);
    d->orig_headers = NULL; /* points into freed input now */
    return d;
}

static struct bg_dsn *parse_mem(const char *s, size_t n, int *rc)
{
    char *m = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(m);
    memcpy(m, s, n);
    struct bg_dsn *d = malloc(sizeof *d);
    ck_assert_ptr_nonnull(d);
    *rc = bg_dsn_parse(m, n, NULL, d);
    free(m);
    d->orig_headers = NULL;
    return d;
}

START_TEST(postfix_dsn)
{
    struct bg_dsn *d = parse_file("postfix-dsn.eml", 0);
    ck_assert_int_eq(d->kind, BG_REPORT_DSN);
    ck_assert_str_eq(d->format, "rfc3464");
    ck_assert_str_eq(d->reporting_mta, "mx1.example.org");
    ck_assert_str_eq(d->queue_id, "ABC123");
    ck_assert_str_eq(d->orig_message_id, "m1@example.org");
    ck_assert_str_eq(d->orig_from, "alice@example.org");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "bob@example.net");
    ck_assert_str_eq(d->r[0].orig_rcpt, "bob@example.net");
    ck_assert_int_eq(d->r[0].action, BG_ACTION_FAILED);
    ck_assert_str_eq(d->r[0].status, "5.1.1");
    ck_assert_str_eq(d->r[0].reply_code, "550");
    ck_assert_str_eq(d->r[0].diag_type, "smtp");
    ck_assert_str_eq(d->r[0].remote_mta, "mx.example.net");
    ck_assert_str_eq(d->r[0].command, "RCPT");
    /* folded Diagnostic-Code is unfolded and collapsed */
    ck_assert_str_eq(d->r[0].diag, "550 5.1.1 <bob@example.net>: Recipient address "
                                   "rejected: User unknown in virtual mailbox table");
    free(d);
}
END_TEST

/* A trusted Postfix DSN returns the bounced message, which a stranger
 * wrote: a report inside it (another recipient "failed") is not the DSN's. */
START_TEST(returned_message_holds_a_report)
{
    struct bg_dsn *d = parse_file("postfix-returns-a-report.eml", 0);
    ck_assert_int_eq(d->kind, BG_REPORT_DSN);
    ck_assert_str_eq(d->queue_id, "1234ABCD");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "attacker@good.test");
    ck_assert_str_eq(d->r[0].status, "4.4.1");
    free(d);
}
END_TEST

START_TEST(postfix_orig_headers_point_into_input)
{
    size_t n;
    char *m = load("postfix-dsn.eml", &n);
    struct bg_dsn *d = malloc(sizeof *d);
    ck_assert_int_eq(bg_dsn_parse(m, n, NULL, d), 0);
    ck_assert_ptr_nonnull(d->orig_headers);
    ck_assert(d->orig_headers > m && d->orig_headers + d->orig_headers_len <= m + n);
    ck_assert(strncmp(d->orig_headers, "Return-Path:", 12) == 0);
    free(d);
    free(m);
}
END_TEST

START_TEST(sendmail_dsn_crlf)
{
    struct bg_dsn *d = parse_file("sendmail-dsn.eml", 0);
    ck_assert_int_eq(d->kind, BG_REPORT_DSN);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "dave@example.jp");
    ck_assert_str_eq(d->r[0].status, "5.1.1");
    ck_assert_str_eq(d->r[0].reply_code, "550");
    ck_assert_str_eq(d->r[0].remote_mta, "mx.example.jp");
    ck_assert_str_eq(d->r[0].diag, "550 5.1.1 <dave@example.jp>... User unknown");
    ck_assert_str_eq(d->orig_message_id, "s1@example.com");
    ck_assert_str_eq(d->orig_from, "carol@example.com");
    free(d);
}
END_TEST

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

/* per-recipient fields written before Final-Recipient in their block,
 * and a multi-line reply copied into Diagnostic-Code without folding */
START_TEST(ds_fields_before_final_recipient)
{
    struct bg_dsn *d = parse_file("ds-fields-first.eml", 0);
    ck_assert_str_eq(d->format, "rfc3464");
    ck_assert_uint_eq(d->nrcpt, 2);
    ck_assert_str_eq(d->r[0].rcpt, "first@example.com");
    ck_assert_str_eq(d->r[0].status, "5.1.1");
    ck_assert_str_eq(d->r[0].diag, "550 5.1.1 Recipient address does not exist");
    ck_assert_str_eq(d->r[1].rcpt, "second@example.com");
    ck_assert_str_eq(d->r[1].status, "5.0.0");
    ck_assert_ptr_nonnull(strstr(d->r[1].diag, "is not permitted to relay through this server"));
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

/* "Diagnostic-Code: X-Unix; 255": a bare exit status keeps its type */
START_TEST(xunix_exit_status)
{
    struct bg_dsn *d = parse_file("sendmail-xunix.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "local@example.jp");
    ck_assert_str_eq(d->r[0].diag, "X-Unix; 255");
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

START_TEST(arf_abuse)
{
    struct bg_dsn *d = parse_file("arf-abuse.eml", 0);
    ck_assert_int_eq(d->kind, BG_REPORT_ARF);
    ck_assert_str_eq(d->format, "arf");
    ck_assert_str_eq(d->feedback_type, "abuse");
    ck_assert_str_eq(d->reporting_mta, "mail.example.net");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "tina@example.net");
    ck_assert_str_eq(d->orig_message_id, "a1@example.org");
    free(d);
}
END_TEST

START_TEST(arf_to_fallback)
{
    static const char m[] =
        "From: fbl@isp.example\nSubject: report\n"
        "Content-Type: multipart/report; report-type=feedback-report; boundary=\"x\"\n\n"
        "--x\nContent-Type: message/feedback-report\n\nFeedback-Type: opt-out\n\n"
        "--x\nContent-Type: message/rfc822\n\nFrom: a@b.example\nTo: Who <who@c.example>\n\nhi\n--x--\n";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(d->kind, BG_REPORT_ARF);
    ck_assert_str_eq(d->feedback_type, "opt-out");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "who@c.example");
    free(d);
}
END_TEST

START_TEST(vacation)
{
    struct bg_dsn *d = parse_file("vacation.eml", 0);
    ck_assert_int_eq(d->kind, BG_REPORT_AUTOREPLY);
    ck_assert_str_eq(d->format, "rfc3834");
    for (size_t i = 0; i < d->nrcpt; i++)
        ck_assert_int_ne(d->r[i].action, BG_ACTION_FAILED);
    free(d);
}
END_TEST

START_TEST(autoreply_subject_only)
{
    static const char m[] = "From: x@y.example\nSubject: =?utf-8?B?QXV0bzogaGVsbG8=?=\n\naway\n";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(d->kind, BG_REPORT_AUTOREPLY);
    free(d);
}
END_TEST

START_TEST(bounce_with_auto_submitted_is_no_autoreply)
{
    /* RFC 3464 bounces carry Auto-Submitted: auto-replied too */
    struct bg_dsn *d = parse_file("postfix-dsn.eml", 0);
    ck_assert_int_eq(d->kind, BG_REPORT_DSN);
    free(d);
    d = parse_file("exim.eml", 0);
    ck_assert_int_eq(d->kind, BG_REPORT_VENDOR);
    free(d);
}
END_TEST

START_TEST(delayed)
{
    struct bg_dsn *d = parse_file("delayed-dsn.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "xena@example.net");
    ck_assert_int_eq(d->r[0].action, BG_ACTION_DELAYED);
    ck_assert_str_eq(d->r[0].status, "4.4.1");
    ck_assert_str_eq(d->r[0].diag_type, "x-postfix");
    ck_assert_str_eq(d->r[0].diag, "connect to mx.example.net[192.0.2.50]:25: Connection timed out");
    ck_assert_str_eq(d->r[0].reply_code, "");
    free(d);
}
END_TEST

START_TEST(multi_rcpt)
{
    struct bg_dsn *d = parse_file("multi-rcpt-dsn.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 3);
    ck_assert_str_eq(d->r[0].rcpt, "a1@example.net");
    ck_assert_str_eq(d->r[0].command, "RCPT");
    ck_assert_str_eq(d->r[1].rcpt, "a2@example.net");
    ck_assert_str_eq(d->r[1].status, "5.2.2");
    ck_assert_str_eq(d->r[1].reply_code, "552");
    ck_assert_str_eq(d->r[1].command, "DATA");
    ck_assert_str_eq(d->r[2].rcpt, "a3@example.net");
    /* no Status field: taken from the diagnostic text */
    ck_assert_str_eq(d->r[2].status, "5.7.1");
    ck_assert_str_eq(d->r[2].reply_code, "550");
    ck_assert_int_eq(d->r[2].action, BG_ACTION_FAILED);
    free(d);
}
END_TEST

START_TEST(base64_delivery_status)
{
    struct bg_dsn *d = parse_file("base64-ds.eml", 0);
    ck_assert_int_eq(d->kind, BG_REPORT_DSN);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "zoe@example.net");
    ck_assert_str_eq(d->r[0].status, "5.1.1");
    ck_assert_str_eq(d->r[0].diag, "550 5.1.1 unknown user");
    free(d);
}
END_TEST

START_TEST(global_delivery_status_qp)
{
    struct bg_dsn *d = parse_file("global-dsn.eml", 0);
    ck_assert_int_eq(d->kind, BG_REPORT_DSN);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "b\xc3\xbc" "cher@example.de");
    ck_assert_str_eq(d->r[0].status, "5.1.1");
    free(d);
}
END_TEST

START_TEST(not_a_report)
{
    static const char m[] = "From: a@b.example\nTo: c@d.example\nSubject: lunch?\n\nsee you at noon\n";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(d->kind, BG_REPORT_NONE);
    ck_assert_uint_eq(d->nrcpt, 0);
    free(d);
}
END_TEST

/* ---- hostile inputs ---- */

START_TEST(empty_and_null)
{
    struct bg_dsn *d = malloc(sizeof *d);
    ck_assert_int_eq(bg_dsn_parse("", 0, NULL, d), -1);
    ck_assert_int_eq(bg_dsn_parse(NULL, 10, NULL, d), -1);
    ck_assert_int_eq(bg_dsn_parse("x", 1, NULL, NULL), -1);
    free(d);
}
END_TEST

START_TEST(header_only)
{
    static const char m[] = "From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\n"
                            "Content-Type: multipart/report; boundary=zz";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_uint_eq(d->nrcpt, 0);
    free(d);
}
END_TEST

START_TEST(truncated_mime)
{
    size_t n;
    char *m = load("postfix-dsn.eml", &n);
    struct bg_dsn *d = malloc(sizeof *d);
    for (size_t cut = 0; cut <= n; cut += 7) {
        char *t = malloc(cut ? cut : 1);
        memcpy(t, m, cut);
        bg_dsn_parse(t, cut, NULL, d);
        ck_assert_uint_le(d->nrcpt, BG_DSN_MAX_RCPT);
        free(t);
    }
    /* cut inside the delivery-status part: the recipient is still found */
    const char *p = strstr(m, "Action: failed");
    ck_assert_ptr_nonnull(p);
    size_t cut = (size_t)(p - m);
    char *t = malloc(cut);
    memcpy(t, m, cut);
    ck_assert_int_eq(bg_dsn_parse(t, cut, NULL, d), 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "bob@example.net");
    free(t);
    free(d);
    free(m);
}
END_TEST

START_TEST(missing_boundaries)
{
    static const char m[] =
        "From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail Returned to Sender\n"
        "Content-Type: multipart/report; boundary=\"nowhere\"\n\n"
        "This is the mail system at host x.example.\n\n"
        "<gone@y.example>: host y.example[192.0.2.1] said: 550 5.1.1 unknown (in reply to RCPT TO command)\n";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "gone@y.example");
    ck_assert_str_eq(d->r[0].command, "RCPT");
    free(d);
}
END_TEST

START_TEST(missing_final_boundary)
{
    static const char m[] =
        "From: MAILER-DAEMON@x.example\nSubject: failure\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
        "--B\nContent-Type: text/plain\n\nfailed\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x.example\n\n"
        "Final-Recipient: rfc822; last@y.example\nAction: failed\nStatus: 5.2.2\n";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "last@y.example");
    ck_assert_str_eq(d->r[0].status, "5.2.2");
    free(d);
}
END_TEST

START_TEST(one_megabyte_line)
{
    size_t n = 1u << 20;
    char *m = malloc(n);
    static const char h[] = "From: MAILER-DAEMON@x.example\nSubject: Undeliverable\n\n";
    memcpy(m, h, sizeof h - 1);
    for (size_t i = sizeof h - 1; i < n; i++)
        m[i] = "a@b.c <x@y.z>... "[i % 17];
    struct bg_dsn *d = malloc(sizeof *d);
    bg_dsn_parse(m, n, NULL, d);
    ck_assert_uint_le(d->nrcpt, BG_DSN_MAX_RCPT);
    /* and a line of nothing but '@' and spaces */
    memset(m + sizeof h - 1, '@', n - (sizeof h - 1));
    bg_dsn_parse(m, n, NULL, d);
    memset(m + sizeof h - 1, ' ', n - (sizeof h - 1));
    m[n - 1] = '@';
    bg_dsn_parse(m, n, NULL, d);
    free(d);
    free(m);
}
END_TEST

START_TEST(deep_nesting)
{
    /* 100 nested multiparts, each with its own boundary; the DSN part at
     * the bottom is past BG_DSN_MAX_DEPTH and must simply be ignored */
    size_t cap = 100 * 200 + 1024, o = 0;
    char *m = malloc(cap);
    o += (size_t)snprintf(m + o, cap - o, "From: MAILER-DAEMON@x.example\nSubject: x\n");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(m + o, cap - o,
                              "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
    o += (size_t)snprintf(m + o, cap - o,
                          "Content-Type: message/delivery-status\n\nFinal-Recipient: rfc822; deep@x.example\n"
                          "Action: failed\n\n");
    int rc;
    struct bg_dsn *d = parse_mem(m, o, &rc);
    ck_assert_uint_le(d->nrcpt, 1);
    free(d);
    free(m);
}
END_TEST

START_TEST(nested_within_limit)
{
    size_t cap = 8192, o = 0;
    char *m = malloc(cap);
    o += (size_t)snprintf(m + o, cap - o, "From: MAILER-DAEMON@x.example\nSubject: x\n");
    for (int i = 0; i < BG_DSN_MAX_DEPTH - 1; i++)
        o += (size_t)snprintf(m + o, cap - o,
                              "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
    o += (size_t)snprintf(m + o, cap - o,
                          "Content-Type: message/delivery-status\n\nFinal-Recipient: rfc822; deep@x.example\n"
                          "Action: failed\nStatus: 5.0.0\n\n");
    int rc;
    struct bg_dsn *d = parse_mem(m, o, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "deep@x.example");
    free(d);
    free(m);
}
END_TEST

START_TEST(nul_bytes)
{
    static const char m[] =
        "From: MAILER-DAEMON@x.example\0\nSubject: Undelivered\n"
        "Content-Type: multipart/report; boundary=B\n\n"
        "--B\nContent-Type: message/delivery-status\n\n"
        "Final-Recipient: rfc822; n\0ul@y.example\nAction: failed\n\n"
        "Final-Recipient: rfc822; ok@y.example\nAction: fai\0led\nStatus: 5.1.1\n--B--\n";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_int_eq(rc, 0);
    int found = 0;
    for (size_t i = 0; i < d->nrcpt; i++) {
        ck_assert_uint_lt(strlen(d->r[i].rcpt), sizeof d->r[i].rcpt);
        found |= strcmp(d->r[i].rcpt, "ok@y.example") == 0;
    }
    ck_assert(found);
    free(d);
}
END_TEST

START_TEST(bad_base64)
{
    static const char m[] =
        "From: MAILER-DAEMON@x.example\nSubject: Undelivered\n"
        "Content-Type: multipart/report; boundary=B\n\n"
        "--B\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
        "!!!!====****%%%%\n====\nQ\nZm9v=YmFy\n\xff\xfe\n--B--\n";
    int rc;
    struct bg_dsn *d = parse_mem(m, sizeof m - 1, &rc);
    ck_assert_uint_eq(d->nrcpt, 0);
    free(d);
}
END_TEST

START_TEST(long_boundary)
{
    size_t cap = 8192, o = 0;
    char *m = malloc(cap);
    char b[2001];
    memset(b, 'q', 2000);
    b[2000] = 0;
    o += (size_t)snprintf(m + o, cap - o,
                          "From: MAILER-DAEMON@x.example\nSubject: Undelivered\n"
                          "Content-Type: multipart/report; boundary=\"%s\"\n\n--%s\n"
                          "Content-Type: message/delivery-status\n\n"
                          "Final-Recipient: rfc822; lb@y.example\nAction: failed\n\n--%s--\n",
                          b, b, b);
    ck_assert_uint_lt(o, cap);
    int rc;
    struct bg_dsn *d = parse_mem(m, o, &rc);
    ck_assert_uint_le(d->nrcpt, 1);
    free(d);
    free(m);
}
END_TEST

START_TEST(many_recipients_capped)
{
    size_t cap = 200 * 80 + 512, o = 0;
    char *m = malloc(cap);
    o += (size_t)snprintf(m + o, cap - o,
                          "From: MAILER-DAEMON@x.example\nContent-Type: multipart/report; boundary=B\n\n"
                          "--B\nContent-Type: message/delivery-status\n\n");
    for (int i = 0; i < 200; i++)
        o += (size_t)snprintf(m + o, cap - o, "Final-Recipient: rfc822; u%d@y.example\nAction: failed\n\n", i);
    int rc;
    struct bg_dsn *d = parse_mem(m, o, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, BG_DSN_MAX_RCPT);
    free(d);
    free(m);
}
END_TEST

START_TEST(max_scan_respected)
{
    size_t n;
    char *m = load("postfix-dsn.eml", &n);
    struct bg_dsn *d = malloc(sizeof *d);
    struct bg_dsn_opts o = { 100 };
    bg_dsn_parse(m, n, &o, d);
    ck_assert_uint_eq(d->nrcpt, 0);
    free(d);
    free(m);
}
END_TEST

/* ---- MIME helpers ---- */

START_TEST(mime_fields_and_params)
{
    static const char h[] = "Subject: a\r\n  b\tc\r\nContent-Type: multipart/report;\r\n"
                            "\treport-type=delivery-status; boundary=\"x;y\\\"z\"\r\n";
    char v[128];
    ck_assert(bg_mime_header(h, sizeof h - 1, "SUBJECT", v, sizeof v));
    ck_assert_str_eq(v, "a b c");
    ck_assert(bg_mime_header(h, sizeof h - 1, "content-type", v, sizeof v));
    char t[64], b[64];
    bg_mime_media_type(v, t, sizeof t);
    ck_assert_str_eq(t, "multipart/report");
    ck_assert(bg_mime_param(v, "boundary", b, sizeof b));
    ck_assert_str_eq(b, "x;y\"z");
    ck_assert(bg_mime_param(v, "REPORT-TYPE", b, sizeof b));
    ck_assert_str_eq(b, "delivery-status");
    ck_assert(!bg_mime_param(v, "charset", b, sizeof b));
}
END_TEST

START_TEST(mime_decoders)
{
    char out[64];
    size_t n = bg_mime_b64_decode("aGVs\r\nbG8=", 10, out, sizeof out);
    ck_assert_uint_eq(n, 5);
    ck_assert(memcmp(out, "hello", 5) == 0);
    n = bg_mime_qp_decode("a=3Db=\r\nc=\nd=zz", 15, out, sizeof out);
    ck_assert_uint_eq(n, 8);
    ck_assert(memcmp(out, "a=bcd=zz", 8) == 0);
    n = bg_mime_b64_decode("aGVsbG8=", 8, out, 2); /* bounded */
    ck_assert_uint_eq(n, 2);
    char w[64];
    bg_mime_decode_words("=?utf-8?B?T3V0?= =?iso-8859-1?Q?_of=5FOffice?= x", w, sizeof w);
    ck_assert_str_eq(w, "Out of_Office x");
    bg_mime_decode_words("=?broken", w, sizeof w);
    ck_assert_str_eq(w, "=?broken");
}
END_TEST

START_TEST(mime_walk_crlf_and_lf)
{
    static const char m[] = "Content-Type: multipart/mixed; boundary=Q\r\n\r\npre\r\n--Q\r\n"
                            "Content-Type: text/plain\r\n\r\none\r\n--Q\n\ntwo\n--Q--\r\nepilogue\n";
    struct bg_mime_part p[8];
    size_t n = bg_mime_walk(m, sizeof m - 1, 8, p, 8);
    ck_assert_uint_eq(n, 3);
    ck_assert(p[0].multipart);
    ck_assert_str_eq(p[1].type, "text/plain");
    ck_assert_uint_eq(p[1].body_len, 3);
    ck_assert(memcmp(p[1].body, "one", 3) == 0);
    ck_assert_uint_eq(p[2].body_len, 3);
    ck_assert(memcmp(p[2].body, "two", 3) == 0);
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

START_TEST(status_refined_from_reply)
{
    /* Status: 5.0.0 says nothing; the reply's 5.1.1 is kept */
    struct bg_dsn *d = parse_file("dsn-status-refine.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].status, "5.1.1");
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

START_TEST(dsn_text_details_before_cut_only)
{
    /* a DSN takes details from its text only where the recipient is named
     * before the returned original starts */
    static const char head[] =
        "From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail Returned to Sender\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n"
        "--b\nContent-Type: text/plain\n\nThis is the mail system.\n\n";
    static const char cut[] = "------ This is a copy of the message, including all the headers. ------\n";
    static const char said[] =
        "<bob@y.example>: host mx.y.example said: 550 5.1.1 unknown user (in reply to "
        "RCPT TO command)\n\n";
    static const char tail[] =
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x.example\n\n"
        "Final-Recipient: rfc822; bob@y.example\nAction: failed\nStatus: 5.1.1\n\n--b--\n";
    char m[2048];
    int rc;
    int n = snprintf(m, sizeof m, "%s%s%s", head, said, tail);
    struct bg_dsn *d = parse_mem(m, (size_t)n, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].remote_mta, "mx.y.example");
    ck_assert_str_eq(d->r[0].command, "RCPT");
    free(d);
    n = snprintf(m, sizeof m, "%s%s%s%s", head, cut, said, tail);
    d = parse_mem(m, (size_t)n, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].remote_mta, "");
    ck_assert_str_eq(d->r[0].command, "");
    ck_assert_str_eq(d->r[0].status, "5.1.1");
    free(d);
}
END_TEST

START_TEST(original_to_and_jmrp_looked_up_late)
{
    /* the original's To: and X-HmXmrOriginalRecipient: are read from its
     * header index only on the paths that use them: Hotmail's JMRP (no
     * feedback-report part), and a DSN without recipient blocks */
    static const char jmrp[] =
        "From: staff@hotmail.example\nSubject: complaint\n"
        "Content-Type: multipart/mixed; boundary=\"x\"\n\n"
        "--x\nContent-Type: text/plain\n\nThis is an email abuse report.\n"
        "--x\nContent-Type: message/rfc822\n\nFrom: a@b.example\nTo: c@d.example\n"
        "X-HmXmrOriginalRecipient: <who@hotmail.example>\n\nhi\n--x--\n";
    int rc;
    struct bg_dsn *d = parse_mem(jmrp, sizeof jmrp - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(d->kind, BG_REPORT_ARF);
    ck_assert_str_eq(d->format, "jmrp");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "who@hotmail.example");
    ck_assert_str_eq(d->orig_from, "a@b.example");
    free(d);
    static const char ds[] =
        "From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail Returned to Sender\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n"
        "--b\nContent-Type: text/plain\n\nDelivery report unavailable.\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x.example\n\n"
        "--b\nContent-Type: text/rfc822-headers\n\nFrom: a@b.example\nTo: Bob <bob@y.example>\n"
        "Subject: x\n\n--b--\n";
    d = parse_mem(ds, sizeof ds - 1, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(d->kind, BG_REPORT_DSN);
    ck_assert_str_eq(d->format, "rfc3464");
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].rcpt, "bob@y.example");
    free(d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("dsn");
    TCase *f = tcase_create("formats");
    tcase_add_test(f, postfix_dsn);
    tcase_add_test(f, returned_message_holds_a_report);
    tcase_add_test(f, postfix_orig_headers_point_into_input);
    tcase_add_test(f, sendmail_dsn_crlf);
    tcase_add_test(f, exim);
    tcase_add_test(f, qmail);
    tcase_add_test(f, office365_qp);
    tcase_add_test(f, gmail);
    tcase_add_test(f, yahoo);
    tcase_add_test(f, gmail_delayed_summary);
    tcase_add_test(f, gmail_state_and_multiline_reply);
    tcase_add_test(f, google_groups);
    tcase_add_test(f, sendmail_transcript_command);
    tcase_add_test(f, status_refined_from_reply);
    tcase_add_test(f, repeated_codes_hostile);
    tcase_add_test(f, repeated_codes_fixed_point);
    tcase_add_test(f, courier);
    tcase_add_test(f, ses_json);
    tcase_add_test(f, domino);
    tcase_add_test(f, ds_fields_before_final_recipient);
    tcase_add_test(f, reason_before_recipient);
    tcase_add_test(f, postfix_expanded_from);
    tcase_add_test(f, transcript_final_code);
    tcase_add_test(f, exim_failed_block);
    tcase_add_test(f, reason_heading_paragraph);
    tcase_add_test(f, national_charset_first);
    tcase_add_test(f, xunix_exit_status);
    tcase_add_test(f, details_heading);
    tcase_add_test(f, sendmail_v5_reply_per_line);
    tcase_add_test(f, arf_abuse);
    tcase_add_test(f, arf_to_fallback);
    tcase_add_test(f, vacation);
    tcase_add_test(f, autoreply_subject_only);
    tcase_add_test(f, bounce_with_auto_submitted_is_no_autoreply);
    tcase_add_test(f, delayed);
    tcase_add_test(f, multi_rcpt);
    tcase_add_test(f, base64_delivery_status);
    tcase_add_test(f, global_delivery_status_qp);
    tcase_add_test(f, not_a_report);
    tcase_add_test(f, format_mark_table_order);
    tcase_add_test(f, format_mark_runs);
    tcase_add_test(f, cut_mark_at_format_scan_end);
    tcase_add_test(f, cut_mark_inside_dash_run);
    tcase_add_test(f, marks_at_every_offset);
    tcase_add_test(f, recipient_lines_only_with_at);
    tcase_add_test(f, html_only_text);
    tcase_add_test(f, host_key_order_and_strong_mark);
    tcase_add_test(f, dsn_text_details_before_cut_only);
    tcase_add_test(f, original_to_and_jmrp_looked_up_late);
    suite_add_tcase(s, f);
    TCase *h = tcase_create("hostile");
    tcase_set_timeout(h, 60);
    tcase_add_test(h, empty_and_null);
    tcase_add_test(h, header_only);
    tcase_add_test(h, truncated_mime);
    tcase_add_test(h, missing_boundaries);
    tcase_add_test(h, missing_final_boundary);
    tcase_add_test(h, one_megabyte_line);
    tcase_add_test(h, deep_nesting);
    tcase_add_test(h, nested_within_limit);
    tcase_add_test(h, nul_bytes);
    tcase_add_test(h, bad_base64);
    tcase_add_test(h, long_boundary);
    tcase_add_test(h, many_recipients_capped);
    tcase_add_test(h, max_scan_respected);
    suite_add_tcase(s, h);
    TCase *mm = tcase_create("mime");
    tcase_add_test(mm, mime_fields_and_params);
    tcase_add_test(mm, mime_decoders);
    tcase_add_test(mm, mime_walk_crlf_and_lf);
    suite_add_tcase(s, mm);
    return s;
}

BG_UNIT_MAIN(make_suite)
