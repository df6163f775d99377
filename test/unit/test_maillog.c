/* test_maillog.c - bg_maillog_parse: a table of real-shaped Postfix and
 * Sendmail lines (every header format, every delivery agent), lines that
 * are not deliveries, and hostile input (1 MB lines, NUL bytes, unbalanced
 * brackets and parentheses, 1000 recipients, every truncation of a valid
 * line, reply text that tries to pose as fields). Every input is copied to
 * an exact-size heap buffer (no NUL after it) so valgrind/ASan catch any
 * read past len. */
#include "maillog.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct bg_logline L;

static int parse_n(const char *s, size_t n)
{
    char *m = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(m);
    memcpy(m, s, n);
    int rc = bg_maillog_parse(m, n, &L);
    free(m);
    return rc;
}

static int parse(const char *s) { return parse_n(s, strlen(s)); }

#define PF "Nov 23 13:37:00 mx1 "
#define BOUNCE_TEXT "(host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <bob@bad.test>: Recipient " \
                    "address rejected: User unknown (in reply to RCPT TO command))"
#define PF_BOUNCE "4F1A2B3C: to=<bob@bad.test>, relay=127.0.0.1[127.0.0.1]:25, delay=0.12, " \
                  "delays=0.01/0/0.06/0.05, dsn=5.1.1, status=bounced " BOUNCE_TEXT
#define PF_DIAG "550 5.1.1 <bob@bad.test>: Recipient address rejected: User unknown"
#define SM_TAIL ", ctladdr=<app@x.test> (1000/1000), delay=00:00:01, xdelay=00:00:01, " \
                "mailer=esmtp, pri=120325, relay=mx.y.test. [192.0.2.7], "

struct row {
    const char *name;
    const char *line;
    int rc;
    enum bg_log_mta mta;
    enum bg_log_status st;
    const char *qid;
    unsigned nrcpt;
    const char *r0, *r1;     /* first two recipients, NULL = not checked */
    const char *dsn, *code, *cmd, *relay;
    const char *diag;        /* exact diag, NULL = not checked */
};

static const struct row rows[] = {
    /* --- Postfix, header formats */
    { "pf-traditional", PF "postfix/smtp[123]: " PF_BOUNCE, 1, BG_LOG_MTA_POSTFIX,
      BG_LOG_BOUNCED, "4F1A2B3C", 1, "bob@bad.test", NULL, "5.1.1", "550", "RCPT",
      "127.0.0.1", PF_DIAG },
    { "pf-day-padded", "Nov  3 03:07:00 mx1 postfix/smtp[123]: " PF_BOUNCE, 1,
      BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED, "4F1A2B3C", 1, "bob@bad.test", NULL, "5.1.1",
      "550", "RCPT", NULL, PF_DIAG },
    { "pf-iso8601", "2026-11-23T13:37:00.123456+01:00 mx1 postfix/smtp[123]: " PF_BOUNCE, 1,
      BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED, "4F1A2B3C", 1, "bob@bad.test", NULL, "5.1.1",
      "550", "RCPT", NULL, PF_DIAG },
    { "pf-rfc5424", "<22>1 2026-11-23T13:37:00Z mx1 postfix/smtp 123 - - " PF_BOUNCE, 1,
      BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED, "4F1A2B3C", 1, "bob@bad.test", NULL, "5.1.1",
      "550", "RCPT", NULL, PF_DIAG },
    { "pf-rfc5424-sd", "<22>1 2026-11-23T13:37:00Z mx1 postfix/smtp 123 ID7 "
      "[meta x=\"a]b\\\"c\"][o y=\"z\"] " PF_BOUNCE, 1, BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED,
      "4F1A2B3C", 1, "bob@bad.test", NULL, "5.1.1", "550", "RCPT", NULL, PF_DIAG },
    { "pf-maillog-file", "Nov 23 13:37:00 mx1 postfix/smtp[99]: " PF_BOUNCE "\n", 1,
      BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED, "4F1A2B3C", 1, "bob@bad.test", NULL, "5.1.1",
      "550", "RCPT", NULL, PF_DIAG },
    { "pf-bare-tag", "postfix/smtp[123]: " PF_BOUNCE "\r\n", 1, BG_LOG_MTA_POSTFIX,
      BG_LOG_BOUNCED, "4F1A2B3C", 1, "bob@bad.test", NULL, "5.1.1", "550", "RCPT", NULL,
      PF_DIAG },
    /* --- Postfix, agents and statuses */
    { "pf-submission-smtp", PF "postfix/submission/smtp[7]: 3Xk9Lm2QzKz1xy: "
      "to=<Bob@Bad.Test>, orig_to=<alias@x.test>, relay=mx.bad.test[192.0.2.1]:25, "
      "delay=2, delays=0/0/1/1, dsn=4.2.2, status=deferred (host mx.bad.test[192.0.2.1] "
      "said: 452 4.2.2 Mailbox full (in reply to end of DATA command))", 1,
      BG_LOG_MTA_POSTFIX, BG_LOG_DEFERRED, "3Xk9Lm2QzKz1xy", 1, "Bob@Bad.Test", NULL,
      "4.2.2", "452", "DATA", "mx.bad.test", "452 4.2.2 Mailbox full" },
    { "pf-sent", PF "postfix/smtp[1]: ABC123: to=<a@b.test>, relay=mx.b.test[192.0.2.2]:25, "
      "delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9F)", 1,
      BG_LOG_MTA_POSTFIX, BG_LOG_SENT, "ABC123", 1, "a@b.test", NULL, "2.0.0", "250", "",
      "mx.b.test", "250 2.0.0 Ok: queued as 9F" },
    { "pf-lmtp", PF "postfix/lmtp[2]: ABC124: to=<u@b.test>, relay=mail.b.test"
      "[private/dovecot-lmtp], delay=0.1, dsn=5.1.1, status=bounced (host mail.b.test"
      "[private/dovecot-lmtp] said: 550 5.1.1 <u@b.test> User doesn't exist: u@b.test "
      "(in reply to RCPT TO command))", 1, BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED, "ABC124", 1,
      "u@b.test", NULL, "5.1.1", "550", "RCPT", "mail.b.test",
      "550 5.1.1 <u@b.test> User doesn't exist: u@b.test" },
    { "pf-local", PF "postfix/local[3]: ABC125: to=<nobody@h.test>, relay=local, delay=0, "
      "dsn=5.1.1, status=bounced (unknown user: \"nobody\")", 1, BG_LOG_MTA_POSTFIX,
      BG_LOG_BOUNCED, "ABC125", 1, "nobody@h.test", NULL, "5.1.1", "", "", "local",
      "unknown user: \"nobody\"" },
    { "pf-virtual", PF "postfix/virtual[4]: ABC126: to=<v@h.test>, relay=virtual, delay=0, "
      "dsn=2.0.0, status=sent (delivered to maildir)", 1, BG_LOG_MTA_POSTFIX, BG_LOG_SENT,
      "ABC126", 1, "v@h.test", NULL, "2.0.0", "", "", "virtual", "delivered to maildir" },
    { "pf-error", PF "postfix/error[5]: ABC127: to=<e@gone.test>, relay=none, delay=9, "
      "dsn=4.4.1, status=deferred (delivery temporarily suspended: connect to "
      "mx.gone.test[192.0.2.9]:25: Connection refused)", 1, BG_LOG_MTA_POSTFIX,
      BG_LOG_DEFERRED, "ABC127", 1, "e@gone.test", NULL, "4.4.1", "", "", "",
      "connect to mx.gone.test[192.0.2.9]:25: Connection refused" },
    { "pf-suspended-said", PF "postfix/error[5]: ABC128: to=<f@x.test>, relay=none, "
      "dsn=4.7.0, status=deferred (delivery temporarily suspended: host mx.x.test"
      "[192.0.2.3] said: 421 4.7.0 Try again later (in reply to MAIL FROM command))", 1,
      BG_LOG_MTA_POSTFIX, BG_LOG_DEFERRED, "ABC128", 1, "f@x.test", NULL, "4.7.0", "421",
      "MAIL", "", "421 4.7.0 Try again later" },
    { "pf-refused-talk", PF "postfix/smtp[6]: ABC129: to=<g@x.test>, relay=mx.x.test"
      "[192.0.2.4]:25, dsn=5.7.1, status=bounced (host mx.x.test[192.0.2.4] refused to "
      "talk to me: 554 5.7.1 Service unavailable; Client host [198.51.100.1] blocked using "
      "zen.spamhaus.org)", 1, BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED, "ABC129", 1, "g@x.test",
      NULL, "5.7.1", "554", "CONNECT", "mx.x.test",
      "554 5.7.1 Service unavailable; Client host [198.51.100.1] blocked using "
      "zen.spamhaus.org" },
    { "pf-lost-connection", PF "postfix/smtp[6]: ABC130: to=<h@x.test>, relay=mx.x.test"
      "[192.0.2.4]:25, dsn=4.4.2, status=deferred (lost connection with mx.x.test"
      "[192.0.2.4] while sending RCPT TO)", 1, BG_LOG_MTA_POSTFIX, BG_LOG_DEFERRED,
      "ABC130", 1, "h@x.test", NULL, "4.4.2", "", "RCPT", "mx.x.test", NULL },
    { "pf-bdat", PF "postfix/smtp[6]: ABC131: to=<i@x.test>, relay=mx.x.test[192.0.2.4]:25, "
      "dsn=5.7.1, status=bounced (host mx.x.test[192.0.2.4] said: 550 5.7.1 Message "
      "rejected as spam (in reply to BDAT command))", 1, BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED,
      "ABC131", 1, "i@x.test", NULL, "5.7.1", "550", "DATA", NULL,
      "550 5.7.1 Message rejected as spam" },
    { "pf-multi-instance", PF "postfix-out/smtp[6]: ABC132: to=<j@x.test>, relay=none, "
      "dsn=4.4.3, status=deferred (Host or domain name not found. Name service error for "
      "name=x.test type=MX: Host not found, try again)", 1, BG_LOG_MTA_POSTFIX,
      BG_LOG_DEFERRED, "ABC132", 1, "j@x.test", NULL, "4.4.3", "", "", "", NULL },
    { "pf-pipe", PF "postfix/pipe[8]: ABC133: to=<k@x.test>, relay=dovecot, delay=0.1, "
      "dsn=2.0.0, status=sent (delivered via dovecot service)", 1, BG_LOG_MTA_POSTFIX,
      BG_LOG_SENT, "ABC133", 1, "k@x.test", NULL, "2.0.0", "", "", "dovecot", NULL },
    { "pf-quoted-local", PF "postfix/smtp[6]: ABC134: to=<\"a, b>\"@x.test>, relay=none, "
      "dsn=4.4.1, status=deferred (connect to x: Connection timed out)", 1,
      BG_LOG_MTA_POSTFIX, BG_LOG_DEFERRED, "ABC134", 1, "\"a, b>\"@x.test", NULL, "4.4.1",
      "", "", "", NULL },
    { "pf-conn-use", PF "postfix/smtp[6]: ABC135: to=<l@x.test>, relay=mx.x.test"
      "[192.0.2.4]:25, conn_use=3, delay=0.4, delays=0/0/0/0.4, dsn=2.0.0, status=sent "
      "(250 OK id=1)", 1, BG_LOG_MTA_POSTFIX, BG_LOG_SENT, "ABC135", 1, "l@x.test", NULL,
      "2.0.0", "250", "", "mx.x.test", NULL },
    { "pf-expired", PF "postfix/qmgr[9]: ABC136: from=<app@x.test>, status=expired, "
      "returned to sender", 1, BG_LOG_MTA_POSTFIX, BG_LOG_EXPIRED, "ABC136", 0, NULL, NULL,
      "", "", "", "", "" },
    /* --- Sendmail */
    { "sm-bounce-list", PF "sm-mta[4321]: 4AB1cDEf012345: to=<a@y.test>,<b@y.test>,c@y.test"
      SM_TAIL "dsn=5.1.1, stat=User unknown", 1, BG_LOG_MTA_SENDMAIL, BG_LOG_BOUNCED,
      "4AB1cDEf012345", 3, "a@y.test", "b@y.test", "5.1.1", "", "", "mx.y.test",
      "User unknown" },
    { "sm-deferred", PF "sendmail[77]: 4AB1cDEf012346: to=bob@y.test" SM_TAIL
      "dsn=4.2.2, stat=Deferred: 452 4.2.2 Mailbox full", 1, BG_LOG_MTA_SENDMAIL,
      BG_LOG_DEFERRED, "4AB1cDEf012346", 1, "bob@y.test", NULL, "4.2.2", "452", "",
      "mx.y.test", "452 4.2.2 Mailbox full" },
    { "sm-sent", PF "sm-mta[1]: 4AB1cDEf012347: to=<ok@y.test>" SM_TAIL
      "dsn=2.0.0, stat=Sent (Ok: queued as 4XYZ)", 1, BG_LOG_MTA_SENDMAIL, BG_LOG_SENT,
      "4AB1cDEf012347", 1, "ok@y.test", NULL, "2.0.0", "", "", "mx.y.test",
      "Ok: queued as 4XYZ" },
    { "sm-reply-field", PF "sm-mta[1]: 4AB1cDEf012348: to=<r@y.test>" SM_TAIL
      "dsn=5.7.1, stat=Service unavailable, reply=554 5.7.1 Blocked by policy", 1,
      BG_LOG_MTA_SENDMAIL, BG_LOG_BOUNCED, "4AB1cDEf012348", 1, "r@y.test", NULL, "5.7.1",
      "554", "", NULL, "554 5.7.1 Blocked by policy" },
    { "sm-reply-before-stat", PF "sm-mta[4012]: 6B6EERBj004010: to=<carl@bad.test>, "
      "delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=30088, relay=[127.0.0.1] "
      "[127.0.0.1], dsn=5.1.1, reply=550 5.1.1 <carl@bad.test>... User unknown, sorry, "
      "stat=User unknown", 1, BG_LOG_MTA_SENDMAIL, BG_LOG_BOUNCED, "6B6EERBj004010", 1,
      "carl@bad.test", NULL, "5.1.1", "550", "", "",
      "550 5.1.1 <carl@bad.test>... User unknown, sorry" },
    { "sm-no-dsn-5xx", PF "sm-mta[1]: 4AB1cDEf012349: to=<s@y.test>, delay=00:00:01, "
      "mailer=esmtp, relay=mx.y.test. [192.0.2.7], stat=550 5.1.1 No such user", 1,
      BG_LOG_MTA_SENDMAIL, BG_LOG_BOUNCED, "4AB1cDEf012349", 1, "s@y.test", NULL, "5.1.1",
      "550", "", NULL, NULL },
    { "sm-deferred-bare", "2026-11-23T13:37:00+00:00 mx1 sm-mta[1]: 4AB1cDEf012350: "
      "to=<t@y.test>, delay=00:00:05, mailer=esmtp, relay=mx.y.test., stat=Deferred: "
      "Connection refused by mx.y.test.", 1, BG_LOG_MTA_SENDMAIL, BG_LOG_DEFERRED,
      "4AB1cDEf012350", 1, "t@y.test", NULL, "", "", "", "mx.y.test",
      "Connection refused by mx.y.test." },
    { "sm-msp", PF "sm-msp-queue[2]: 4AB1cDEf012351: to=root, ctladdr=root (0/0), "
      "delay=00:00:00, mailer=relay, relay=[127.0.0.1] [127.0.0.1], dsn=2.0.0, "
      "stat=Sent (4AB1cDEf012352 Message accepted for delivery)", 1, BG_LOG_MTA_SENDMAIL,
      BG_LOG_SENT, "4AB1cDEf012351", 1, "root", NULL, "2.0.0", "", "", "", NULL },
    /* --- not delivery lines */
    { "pf-smtpd-reject", PF "postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 550 "
      "5.1.1 <bob@x.test>: Recipient address rejected: User unknown; from=<a@b> to=<bob@x."
      "test> proto=ESMTP helo=<x>", 0, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL,
      NULL },
    { "pf-qmgr-from", PF "postfix/qmgr[9]: ABC140: from=<a@b.test>, size=1234, nrcpt=1 "
      "(queue active)", 0, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { "pf-qmgr-removed", PF "postfix/qmgr[9]: ABC140: removed", 0, 0, 0, NULL, 0, NULL, NULL,
      NULL, NULL, NULL, NULL, NULL },
    { "pf-bounce-notice", PF "postfix/bounce[9]: ABC140: sender non-delivery notification: "
      "ABC141", 0, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { "pf-smtp-said-only", PF "postfix/smtp[6]: ABC142: host mx.x.test[192.0.2.4] said: 451 "
      "4.7.1 Greylisted (in reply to RCPT TO command)", 0, 0, 0, NULL, 0, NULL, NULL, NULL,
      NULL, NULL, NULL, NULL },
    { "pf-verify-probe", PF "postfix/smtp[6]: ABC143: to=<v@x.test>, relay=mx.x.test"
      "[192.0.2.4]:25, dsn=5.1.1, status=undeliverable (host mx.x.test[192.0.2.4] said: 550 "
      "5.1.1 no (in reply to RCPT TO command))", 0, 0, 0, NULL, 0, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL },
    { "pf-cleanup", PF "postfix/cleanup[6]: ABC144: message-id=<x@y>", 0, 0, 0, NULL, 0, NULL,
      NULL, NULL, NULL, NULL, NULL, NULL },
    { "sm-from", PF "sm-mta[1]: 4AB1cDEf012353: from=<a@b.test>, size=312, class=0, "
      "nrcpts=1, msgid=<x@y>, proto=ESMTP, daemon=MTA, relay=localhost [127.0.0.1]", 0, 0, 0,
      NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { "sm-queued", PF "sm-mta[1]: 4AB1cDEf012354: to=<q@y.test>, delay=00:00:00, "
      "mailer=esmtp, stat=queued", 0, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL,
      NULL },
    { "sm-queued-dsn", PF "sm-mta[1]: 4AB1cDEf012357: to=<q@y.test>, delay=00:00:00, "
      "mailer=esmtp, pri=30087, dsn=4.4.3, stat=queued", 0, 0, 0, NULL, 0, NULL, NULL, NULL,
      NULL, NULL, NULL, NULL },
    { "sm-dsn-notice", PF "sm-mta[1]: 4AB1cDEf012355: 4AB1cDEf012356: DSN: User unknown", 0, 0,
      0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { "other-program", PF "dovecot[1]: ABC123: to=<a@b.test>, status=sent (x)", 0, 0, 0, NULL,
      0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { "own-log-line", PF "bouncegate-logwatch[5]: ABC123: action=suppress rcpt=<a@b.test> "
      "status=5.1.1", 0, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { "empty", "", 0, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    /* --- hostile / broken */
    { "unterminated-paren", PF "postfix/smtp[1]: ABC150: to=<u@x.test>, relay=x[192.0.2.1]:25, "
      "dsn=5.1.1, status=bounced (host x[192.0.2.1] said: 550 5.1.1 ((( unknown", 1,
      BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED, "ABC150", 1, "u@x.test", NULL, "5.1.1", "550", "",
      "x", "550 5.1.1 ((( unknown" },
    { "unterminated-bracket", PF "postfix/smtp[1]: ABC151: to=<u@x.test, relay=x, dsn=5.1.1, "
      "status=bounced (x)", 0, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { "injected-fields", PF "postfix/smtp[1]: ABC152: to=<victim@x.test>, relay=evil"
      "[192.0.2.66]:25, dsn=2.0.0, status=sent (250 ok, to=<other@y.test>, dsn=5.1.1, "
      "status=bounced (host y said: 550 5.1.1 (in reply to RCPT TO command)))", 1,
      BG_LOG_MTA_POSTFIX, BG_LOG_SENT, "ABC152", 1, "victim@x.test", NULL, "2.0.0", "250",
      "", "evil", NULL },
    { "sm-injected-stat", PF "sm-mta[1]: 4AB1cDEf012357: to=<v@y.test>" SM_TAIL
      "dsn=4.2.2, stat=Deferred: 452 4.2.2 full, to=<w@y.test>, stat=Sent", 1,
      BG_LOG_MTA_SENDMAIL, BG_LOG_DEFERRED, "4AB1cDEf012357", 1, "v@y.test", NULL, "4.2.2",
      "452", "", NULL, "452 4.2.2 full, to=<w@y.test>, stat=Sent" },
    { "missing-status", PF "postfix/smtp[1]: ABC153: to=<u@x.test>, relay=x, dsn=5.1.1", 0, 0,
      0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { "missing-to", PF "postfix/smtp[1]: ABC154: relay=x, dsn=5.1.1, status=bounced (x)", 0, 0,
      0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { "missing-qid", PF "postfix/smtp[1]: to=<u@x.test>, dsn=5.1.1, status=bounced (x)", 0, 0,
      0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { "bad-dsn", PF "postfix/smtp[1]: ABC155: to=<u@x.test>, relay=x, dsn=9.9, "
      "status=bounced (no code here)", 1, BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED, "ABC155", 1,
      "u@x.test", NULL, "", "", "", "x", "no code here" },
    { "empty-to", PF "postfix/smtp[1]: ABC156: to=<>, relay=x, dsn=5.1.1, status=bounced (x)",
      1, BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED, "ABC156", 0, NULL, NULL, "5.1.1", "", "", "x",
      "x" },
    { "tag-no-pid-bracket", PF "postfix/smtp[12: ABC157: to=<u@x.test>, dsn=5.1.1, "
      "status=bounced (x)", 0, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { "control-in-diag", PF "postfix/smtp[1]: ABC158: to=<u@x.test>, relay=x, dsn=5.1.1, "
      "status=bounced (550 a\tb\x1b[31mc)", 1, BG_LOG_MTA_POSTFIX, BG_LOG_BOUNCED, "ABC158",
      1, "u@x.test", NULL, "5.1.1", "550", "", "x", "550 a?b?[31mc" },
};

START_TEST(test_table)
{
    const struct row *r = &rows[_i];
    int rc = parse(r->line);
    ck_assert_msg(rc == r->rc, "%s: rc %d, want %d", r->name, rc, r->rc);
    if (rc == 0) {
        ck_assert_msg(L.mta == BG_LOG_MTA_NONE && L.queue_id[0] == '\0' && L.nrcpt == 0,
                      "%s: output not cleared", r->name);
        return;
    }
    ck_assert_msg(L.mta == r->mta, "%s: mta %s", r->name, bg_log_mta_name(L.mta));
    ck_assert_msg(L.status == r->st, "%s: status %s", r->name, bg_log_status_name(L.status));
    ck_assert_msg(strcmp(L.queue_id, r->qid) == 0, "%s: qid '%s'", r->name, L.queue_id);
    ck_assert_msg(L.nrcpt == r->nrcpt, "%s: nrcpt %u, want %u", r->name, L.nrcpt, r->nrcpt);
    ck_assert_msg(L.rcpt_seen >= L.nrcpt, "%s: rcpt_seen %u", r->name, L.rcpt_seen);
    if (r->r0)
        ck_assert_msg(strcmp(L.rcpt[0], r->r0) == 0, "%s: rcpt0 '%s'", r->name, L.rcpt[0]);
    if (r->r1)
        ck_assert_msg(strcmp(L.rcpt[1], r->r1) == 0, "%s: rcpt1 '%s'", r->name, L.rcpt[1]);
    if (r->dsn)
        ck_assert_msg(strcmp(L.dsn, r->dsn) == 0, "%s: dsn '%s'", r->name, L.dsn);
    if (r->code)
        ck_assert_msg(strcmp(L.reply_code, r->code) == 0, "%s: code '%s'", r->name,
                      L.reply_code);
    if (r->cmd)
        ck_assert_msg(strcmp(L.command, r->cmd) == 0, "%s: cmd '%s'", r->name, L.command);
    if (r->relay)
        ck_assert_msg(strcmp(L.relay, r->relay) == 0, "%s: relay '%s'", r->name, L.relay);
    if (r->diag)
        ck_assert_msg(strcmp(L.diag, r->diag) == 0, "%s: diag '%s'", r->name, L.diag);
}
END_TEST

START_TEST(test_program_and_orig_to)
{
    ck_assert_int_eq(parse(PF "postfix/submission/smtp[7]: ABC200: to=<a@b.test>, "
                           "orig_to=<Alias@x.test>, relay=none, dsn=4.4.1, "
                           "status=deferred (x)"), 1);
    ck_assert_str_eq(L.program, "postfix/submission/smtp");
    ck_assert_str_eq(L.orig_to, "Alias@x.test");
    ck_assert_int_eq(parse(PF "sm-mta[1]: 4AB1cDEf012345: to=<a@y.test>" SM_TAIL
                           "dsn=5.1.1, stat=User unknown"), 1);
    ck_assert_str_eq(L.program, "sm-mta");
    ck_assert_str_eq(L.orig_to, "");
}
END_TEST

/* A valid line, its length given without the NUL: also every prefix of
 * it parses without reading past the end. */
START_TEST(test_every_prefix)
{
    static const char *const lines[] = {
        PF "postfix/smtp[123]: " PF_BOUNCE,
        "<22>1 2026-11-23T13:37:00Z mx1 postfix/smtp 123 - [a b=\"]\"] " PF_BOUNCE,
        PF "sm-mta[4321]: 4AB1cDEf012345: to=<a@y.test>,<b@y.test>,c@y.test" SM_TAIL
            "dsn=5.1.1, stat=Deferred: 452 4.2.2 x, reply=452 4.2.2 y",
        NULL
    };
    for (int i = 0; lines[i]; i++) {
        size_t n = strlen(lines[i]);
        for (size_t k = 0; k <= n; k++) {
            int rc = parse_n(lines[i], k);
            ck_assert(rc == 0 || rc == 1);
            ck_assert_uint_le(L.nrcpt, BG_LOG_RCPT_MAX);
        }
    }
}
END_TEST

START_TEST(test_nul_bytes)
{
    /* A NUL inside the address: the line is a delivery, the address is
     * not kept. A NUL in the text becomes '?'. */
    static const char a[] = PF "postfix/smtp[1]: ABC160: to=<u\0x@x.test>, relay=x, "
                               "dsn=5.1.1, status=bounced (550 a\0b)";
    ck_assert_int_eq(parse_n(a, sizeof a - 1), 1);
    ck_assert_uint_eq(L.nrcpt, 0);
    ck_assert_uint_eq(L.rcpt_seen, 1);
    ck_assert_str_eq(L.diag, "550 a?b");
    /* A NUL right after the header: no crash, not a delivery. */
    static const char b[] = PF "postfix/smtp[1]:\0ABC160: to=<u@x.test>, status=sent (x)";
    ck_assert_int_eq(parse_n(b, sizeof b - 1), 0);
    /* All NULs. */
    char z[4096];
    memset(z, 0, sizeof z);
    ck_assert_int_eq(parse_n(z, sizeof z), 0);
    /* Every byte value after a valid prefix. */
    for (int c = 0; c < 256; c++) {
        char buf[256];
        int n = snprintf(buf, sizeof buf, "%s", PF "postfix/smtp[1]: ABC161: to=<u@x.test>, "
                                                   "dsn=5.1.1, status=bounced (x");
        buf[n] = (char)c;
        ck_assert(parse_n(buf, (size_t)n + 1) >= 0);
    }
}
END_TEST

static char *big_line(const char *head, size_t fill, char c, const char *tail, size_t *len)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *m = malloc(hl + fill + tl);
    ck_assert_ptr_nonnull(m);
    memcpy(m, head, hl);
    memset(m + hl, c, fill);
    memcpy(m + hl + fill, tail, tl);
    *len = hl + fill + tl;
    return m;
}

START_TEST(test_megabyte_lines)
{
    size_t n;
    /* 1 MB diagnostic: kept, truncated. */
    char *m = big_line(PF "postfix/smtp[1]: ABC170: to=<u@x.test>, relay=x, dsn=5.1.1, "
                          "status=bounced (550 5.1.1 ",
                       1 << 20, 'A', ")", &n);
    ck_assert_int_eq(bg_maillog_parse(m, n, &L), 1);
    ck_assert_int_eq(L.diag_truncated, 1);
    ck_assert_uint_eq(strlen(L.diag), BG_LOG_DIAG_MAX - 1);
    ck_assert_str_eq(L.reply_code, "550");
    free(m);
    /* 1 MB address: counted, not kept. */
    m = big_line(PF "postfix/smtp[1]: ABC171: to=<", 1 << 20, 'a',
                 "@x.test>, relay=x, dsn=5.1.1, status=bounced (x)", &n);
    ck_assert_int_eq(bg_maillog_parse(m, n, &L), 1);
    ck_assert_uint_eq(L.nrcpt, 0);
    ck_assert_uint_eq(L.rcpt_seen, 1);
    free(m);
    /* 1 MB of '(' and '<' and '"' and blanks. */
    const char fills[] = "(<\" ,=[";
    for (int i = 0; fills[i]; i++) {
        m = big_line(PF "postfix/smtp[1]: ABC172: to=<u@x.test>, status=bounced (", 1 << 20,
                     fills[i], "", &n);
        ck_assert(bg_maillog_parse(m, n, &L) >= 0);
        free(m);
        m = big_line(PF "sm-mta[1]: 4AB1cDEf012345: to=", 1 << 20, fills[i], "", &n);
        ck_assert_int_eq(bg_maillog_parse(m, n, &L), 0);
        free(m);
        m = big_line("", 1 << 20, fills[i], "", &n);
        ck_assert_int_eq(bg_maillog_parse(m, n, &L), 0);
        free(m);
    }
    /* 1 MB queue id / program name. */
    m = big_line(PF "postfix/smtp[1]: ", 1 << 20, 'A', ": to=<u@x.test>, status=sent (x)", &n);
    ck_assert_int_eq(bg_maillog_parse(m, n, &L), 0);
    free(m);
    m = big_line(PF "postfix/", 1 << 20, 's', "[1]: ABC: to=<u@x.test>, status=sent (x)", &n);
    ck_assert_int_eq(bg_maillog_parse(m, n, &L), 0);
    free(m);
}
END_TEST

START_TEST(test_thousand_recipients)
{
    char *buf = malloc(64 * 1024);
    ck_assert_ptr_nonnull(buf);
    size_t off = (size_t)snprintf(buf, 64 * 1024, "%s",
                                  PF "sm-mta[1]: 4AB1cDEf012345: to=");
    for (int i = 0; i < 1000; i++)
        off += (size_t)snprintf(buf + off, 64 * 1024 - off, "%s<r%d@y.test>", i ? "," : "", i);
    off += (size_t)snprintf(buf + off, 64 * 1024 - off, "%s",
                            SM_TAIL "dsn=5.1.1, stat=User unknown");
    ck_assert_int_eq(parse_n(buf, off), 1);
    ck_assert_uint_eq(L.nrcpt, BG_LOG_RCPT_MAX);
    ck_assert_uint_eq(L.rcpt_seen, 1000);
    ck_assert_str_eq(L.rcpt[0], "r0@y.test");
    ck_assert_str_eq(L.rcpt[31], "r31@y.test");
    ck_assert_str_eq(L.dsn, "5.1.1");
    /* Bare addresses too, and a 40-element list with an empty element. */
    off = (size_t)snprintf(buf, 64 * 1024, "%s", PF "sendmail[1]: 4AB1cDEf012345: to=");
    for (int i = 0; i < 40; i++)
        off += (size_t)snprintf(buf + off, 64 * 1024 - off, "%sb%d@y.test", i ? "," : "", i);
    off += (size_t)snprintf(buf + off, 64 * 1024 - off, "%s",
                            ",<>, delay=00:00:01, dsn=4.2.2, stat=Deferred: 452 4.2.2 full");
    ck_assert_int_eq(parse_n(buf, off), 1);
    ck_assert_uint_eq(L.nrcpt, BG_LOG_RCPT_MAX);
    ck_assert_uint_eq(L.rcpt_seen, 41);
    ck_assert_int_eq(L.status, BG_LOG_DEFERRED);
    free(buf);
}
END_TEST

/* Runs of elements that each open a quote must not make every element
 * scan to the end of the line: 1 MB of them parses in linear time (the
 * quadratic version took about a minute). */
START_TEST(test_quote_runs_linear)
{
    static const char *const heads[] = {
        PF "sm-mta[1]: 4AB1cDEf012345: to=", PF "postfix/smtp[1]: ABC180: from=", NULL
    };
    static const char *const units[] = { "<\\\"y>,", "<\\\"y>, a=", NULL };
    size_t cap = (1u << 20) + 256;
    char *m = malloc(cap);
    ck_assert_ptr_nonnull(m);
    for (int i = 0; heads[i]; i++) {
        size_t off = (size_t)snprintf(m, cap, "%s", heads[i]);
        size_t ul = strlen(units[i]);
        while (off + ul < (1u << 20)) {
            memcpy(m + off, units[i], ul);
            off += ul;
        }
        off += (size_t)snprintf(m + off, cap - off, "%s", "<z@x.test>, dsn=5.1.1, stat=x");
        clock_t t0 = clock();
        ck_assert(bg_maillog_parse(m, off, &L) >= 0);
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        ck_assert_msg(secs < 10.0, "quote run %d took %.1f s", i, secs);
    }
    free(m);
}
END_TEST

START_TEST(test_null_and_names)
{
    ck_assert_int_eq(bg_maillog_parse(NULL, 10, &L), 0);
    ck_assert_str_eq(bg_log_status_name(BG_LOG_SENT), "sent");
    ck_assert_str_eq(bg_log_status_name(BG_LOG_EXPIRED), "expired");
    ck_assert_str_eq(bg_log_mta_name(BG_LOG_MTA_SENDMAIL), "sendmail");
    ck_assert_str_eq(bg_log_mta_name(BG_LOG_MTA_POSTFIX), "postfix");
}
END_TEST

/* Pseudo-random bytes spliced into a valid line: never a crash, and any
 * line taken as a delivery is internally consistent. */
START_TEST(test_random_splices)
{
    static const char base[] = PF "postfix/smtp[123]: " PF_BOUNCE;
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    char buf[sizeof base + 64];
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(buf, base, sizeof base - 1);
        size_t n = sizeof base - 1;
        for (int k = 0; k < 4; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            buf[x % n] = (char)(x >> 24);
        }
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        n = (size_t)(x % (n + 1));
        if (parse_n(buf, n) == 1) {
            ck_assert(L.mta == BG_LOG_MTA_POSTFIX);
            ck_assert(L.queue_id[0] != '\0');
            ck_assert_uint_le(L.nrcpt, 1);
        }
    }
}
END_TEST

/* bg_maillog_sender: the queue manager's "from=<...>" line of a queue id. */
static const struct {
    const char *line;
    int ok;
    const char *qid, *from;
} senders[] = {
    { "Dec  6 10:00:00 mx postfix/qmgr[11]: 4ABCDE1: from=<app@site.test>, size=400, nrcpt=2 (queue active)",
      1, "4ABCDE1", "app@site.test" },
    { "2026-12-06T10:00:00.1+00:00 mx postfix-out/qmgr[11]: 4ABCDE2: from=<\"a b\"@site.test>, status=expired, returned to sender",
      1, "4ABCDE2", "\"a b\"@site.test" },
    { "Dec  6 10:00:00 mx sm-mta[99]: 5B6A0Jx1001234: from=<app@site.test>, size=1234, class=0, nrcpts=1, msgid=<x@y>, proto=ESMTP, daemon=MTA-v4, relay=localhost [127.0.0.1]",
      1, "5B6A0Jx1001234", "app@site.test" },
    /* the null sender (bounces), other programs, other fields */
    { "Dec  6 10:00:00 mx postfix/qmgr[11]: 4ABCDE3: from=<>, size=400, nrcpt=1 (queue active)", 0, "", "" },
    { "Dec  6 10:00:00 mx postfix/pickup[11]: 4ABCDE4: uid=0 from=<root>", 0, "", "" },
    { "Dec  6 10:00:00 mx postfix/cleanup[11]: 4ABCDE5: message-id=<x@y>", 0, "", "" },
    { "Dec  6 10:00:00 mx postfix/smtp[12]: 4ABCDE1: to=<dave@example.net>, status=sent (250 ok)", 0, "", "" },
    { "Dec  6 10:00:00 mx evil[1]: 4ABCDE6: from=<app@site.test>, size=1", 0, "", "" },
    /* no closing bracket, junk after it, a control byte */
    { "Dec  6 10:00:00 mx postfix/qmgr[11]: 4ABCDE7: from=<app@site.test", 0, "", "" },
    { "Dec  6 10:00:00 mx postfix/qmgr[11]: 4ABCDE8: from=<app@site.test>x, size=1", 0, "", "" },
    { "Dec  6 10:00:00 mx postfix/qmgr[11]: 4ABCDE9: from=<app\001@site.test>, size=1", 0, "", "" },
};

START_TEST(test_senders)
{
    char qid[32], from[BG_LOG_ADDR_MAX + 1];
    const char *line = senders[_i].line;
    int rc = bg_maillog_sender(line, strlen(line), qid, sizeof qid, from, sizeof from);
    ck_assert_msg(rc == senders[_i].ok, "%s: rc %d", line, rc);
    ck_assert_str_eq(qid, senders[_i].qid);
    ck_assert_str_eq(from, senders[_i].from);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("maillog");
    TCase *tc = tcase_create("parse");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_table, 0, (int)(sizeof rows / sizeof rows[0]));
    tcase_add_test(tc, test_program_and_orig_to);
    tcase_add_test(tc, test_every_prefix);
    tcase_add_test(tc, test_nul_bytes);
    tcase_add_test(tc, test_megabyte_lines);
    tcase_add_test(tc, test_thousand_recipients);
    tcase_add_test(tc, test_quote_runs_linear);
    tcase_add_test(tc, test_null_and_names);
    tcase_add_test(tc, test_random_splices);
    tcase_add_loop_test(tc, test_senders, 0, (int)(sizeof senders / sizeof senders[0]));
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
