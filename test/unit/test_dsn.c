/* test_dsn.c - bg_dsn_parse on reports with a machine-readable part
 * (RFC 3464 delivery status, ARF), auto-replies, what is no report, and
 * hostile inputs (truncated, nested, NUL bytes, 1 MB lines, caps); the
 * MIME helpers the parser uses. Formats without a DSN part and the text
 * heuristics: test_dsn_vendor.c. Fixtures under test/fixtures/dsn/. */
#include "dsn.h"
#include "mime.h"
#include "unit.h"
#include "dsn_fixture.h"

#include <stdio.h>
#include <string.h>

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

START_TEST(status_refined_from_reply)
{
    /* Status: 5.0.0 says nothing; the reply's 5.1.1 is kept */
    struct bg_dsn *d = parse_file("dsn-status-refine.eml", 0);
    ck_assert_uint_eq(d->nrcpt, 1);
    ck_assert_str_eq(d->r[0].status, "5.1.1");
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
    tcase_add_test(f, status_refined_from_reply);
    tcase_add_test(f, ds_fields_before_final_recipient);
    tcase_add_test(f, xunix_exit_status);
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
