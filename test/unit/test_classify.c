/* test_classify.c - the classifier's rules, the embedded defaults, site
 * rules, rules-file errors and the policy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "classify.h"
#include "classify_internal.h"

struct row {
    const char *status, *code, *text, *mta;
    enum bg_dsn_action action;
    const char *cmd;
    enum bg_class cls;
    const char *reason, *rule;
};

#define F BG_ACTION_FAILED
#define D BG_ACTION_DELAYED
#define HARD BG_CLASS_HARD
#define SOFT BG_CLASS_SOFT
#define BLOCK BG_CLASS_BLOCK
#define NONE BG_CLASS_NONE
#define UNDET BG_CLASS_UNDETERMINED

static const struct row rows[] = {
    { NULL, NULL, "Message could not be delivered to mobile. Error: No valid recipients for this MM", NULL, F, NULL, HARD, "userunknown", "verizon-mms-nouser" },
    { NULL, NULL, "Reason: Unable to deliver message to <a@example.jp> (and other recipients in the same domain).", NULL, F, NULL, HARD, "userunknown", "interscan-rcpt" },
    { "5.1.1", "550", "550 5.1.1 RCP-P1 http://postmaster.facebook.com/response_codes#rcp Recipient address does not exist", NULL, F, NULL, HARD, "userunknown", "userunknown-5.1" },
    { "5.0.0", "542", "542 a@example.com Rejected", NULL, F, NULL, HARD, "userunknown", "messagelabs-nouser" },
    { "5.0.0", "550", "550 Unknown user a@example.ne.jp", "mfsmax.docomo.ne.jp", F, NULL, BLOCK, "rejected", "docomo-refused" },
    { "5.2.0", "550", "550 Unknown user a@example.ne.jp", "mfsmax.docomo.ne.jp", F, NULL, SOFT, "filtered", "userunknown-filtered" },
    { "5.0.0", "", "\x1b$B%f!<%6!<\x1b(B Bob (bob@example.jp) \x1b$B$O\x1b(B Domino", NULL, F, NULL, UNDET, "onhold", "jis-undecoded" },
    { "5.0.0", "", "\x1b$B%f!<%6!<\x1b(B Bob: User unknown", NULL, F, NULL, SOFT, "filtered", "userunknown-filtered" },
    { "4.4.0", "", "", NULL, D, NULL, SOFT, "expired", "delayed-4.4.0" },
    { "", "", "<b@example.net>: malformed address: <b@example.net> may not follow a@example.com", NULL, F, NULL, BLOCK, "syntaxerror", "malformed-address" },
    { "", "", "may not follow a@example.com", NULL, F, NULL, BLOCK, "syntaxerror", "malformed-address" },
    { "5.4.1", "550", "550 5.4.1 All recipient addresses rejected : Access denied [x.prod.protection.outlook.com]", NULL, F, NULL, BLOCK, "rejected", "access-denied" },
    { "5.5.0", "554", "554 mx.example.com ESMTP not accepting connections", NULL, F, NULL, BLOCK, "blocked", "greeting-554" },
    { "4.4.0", "", "", NULL, F, NULL, SOFT, "networkerror", "st-5.4" },
    { "5.0.0", "501", "501 5.0.0 Invalid domain name", NULL, F, NULL, BLOCK, "blocked", "sender-domain-invalid" },
    { NULL, NULL, "550 5.1.2 invalid domain in <a@b.example>", NULL, F, NULL, HARD, "hostunknown", "hostunknown-text" },
    { NULL, NULL, "delivery temporarily suspended: host mx.example.net[192.0.2.7] refused to talk to me: 421 Service not available", NULL, F, NULL, BLOCK, "blocked", "refused-to-talk" },
    { NULL, NULL, "Your message was not delivered within 0 days and 1 hours. Remote host is not responding.", NULL, F, NULL, SOFT, "expired", "expired-within" },
    { "4.5.0", NULL, "X-Unix; 71", NULL, F, NULL, SOFT, "mailererror", "mailer-xunix" },
    { "5.3.0", NULL, "X-Unix; 77", NULL, F, NULL, SOFT, "systemerror", "st-5.3" },
    /* --- the traps --- */
    { "5.1.1", "550", "550 5.1.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", NULL, F, NULL, BLOCK, "blocked", "dnsbl" },
    { "5.2.2", "552", "552 5.2.2 Mailbox full", NULL, F, NULL, SOFT, "mailboxfull", "mailbox-full" },
    { "5.2.2", "552", "552 5.2.2 <a@b>: recipient storage exceeded", NULL, F, NULL, SOFT, "mailboxfull", "mailbox-full" },
    { "5.2.2", "552", "552 5.2.2", NULL, F, NULL, SOFT, "mailboxfull", "full-status" },
    { "4.4.7", NULL, "delivery attempts stopped", NULL, F, NULL, SOFT, "expired", "expired-status" },
    { "4.4.7", NULL, "", NULL, D, NULL, SOFT, "expired", "expired-status" },
    { "5.7.1", "550", "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).", "mx.outlook.com", F, NULL, BLOCK, "blocked", "ms-s3150" },
    { "5.7.606", "550", "550 5.7.606 Access denied, banned sending IP [192.0.2.1]", NULL, F, NULL, BLOCK, "blocked", "ms-s3150" },
    { "5.1.1", "550", "550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos", "gmail-smtp-in.l.google.com", F, "RCPT", HARD, "userunknown", "gmail-nouser" },
    { "5.1.10", "550", "550 5.1.10 Recipient address has null MX", NULL, F, NULL, HARD, "notaccept", "null-mx" },
    { "", "556", "556 5.1.10 domain does not accept mail", NULL, F, NULL, HARD, "notaccept", "null-mx" },
    { "", "", "Host example.org does not accept mail (nullMX)", NULL, F, NULL, HARD, "notaccept", "null-mx-text" },
    { "5.1.10", "550", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "x.mail.protection.outlook.com", F, NULL, HARD, "userunknown", "ms-recipient-notfound" },
    { "4.7.0", "421", "421 4.7.0 Try again later, closing connection. Rate limit exceeded", NULL, D, NULL, SOFT, "speeding", "rate-limit" },
    { "4.2.1", "421", "421-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered", NULL, D, NULL, SOFT, "speeding", "gmail-speeding" },
    { "4.7.1", "450", "450 4.7.1 <a@b>: Recipient address rejected: Greylisted, see http://postgrey", NULL, D, NULL, SOFT, "undefined", "greylist" },
    { "", "450", "450 Greylisted for 5 minutes", NULL, D, NULL, SOFT, "undefined", "greylist" },
    { "5.7.1", "554", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using sbl.spamhaus.org", NULL, F, NULL, BLOCK, "blocked", "dnsbl" },
    { "5.7.23", "550", "550 5.7.23 SPF validation failed", NULL, F, NULL, BLOCK, "authfailure", "authfail" },
    { "5.7.23", "550", "550 5.7.23 rejected", NULL, F, NULL, BLOCK, "authfailure", "authfail" },
    { "5.7.26", "550", "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy", "gmail-smtp-in.l.google.com", F, NULL, BLOCK, "authfailure", "gmail-dmarc" },
    { "5.7.26", "550", "550 5.7.26", NULL, F, NULL, BLOCK, "authfailure", "authfail" },
    { "5.7.26", "550", "550 rejected", NULL, F, NULL, BLOCK, "authfailure", "auth-status" },
    { "5.2.1", "550", "550-5.2.1 The email account that you tried to reach is disabled.", NULL, F, NULL, SOFT, "suspend", "gmail-disabled" },
    { "5.2.1", "550", "550 5.2.1 account disabled", NULL, F, NULL, SOFT, "suspend", "suspended" },
    { "", "", "", NULL, BG_ACTION_UNKNOWN, NULL, UNDET, "undefined", "fallback" },
    { NULL, NULL, NULL, NULL, BG_ACTION_UNKNOWN, NULL, UNDET, "undefined", "fallback" },
    /* --- provider and MTA texts added with the corpus tuning --- */
    /* --- second tuning --- */
    { "5.1.6", "551", "551 not our customer", NULL, F, NULL, HARD, "hasmoved", "moved-status-early" },
    { "5.1.1", "", "procmail: Couldn't create \"/var/spool/mail/bob\" id: r.example.org: No such user", NULL, F, NULL, SOFT, "mailererror", "mailer-lda" },
    { "", "421", "Error, ERROR_CODE :421, ERROR_CODE :, Host not reachable.", NULL, F, NULL, SOFT, "expired", "expired-text" },
    { "5.7.0", "550", "550 5.7.0 <a@example.jp>... Please use the smtp server of your ISP.", NULL, F, "MAIL", BLOCK, "blocked", "dnsbl" },
    { "", "554", "554 Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: a@example.jp", NULL, F, NULL, BLOCK, "norelaying", "relay" },
    { "5.5.0", "550", "550 5.5.0 Adresse destinataire invalide. Invalid recipient. LPN007_416", NULL, F, NULL, HARD, "userunknown", "orange-nouser" },
    { "", "", "The recipient name is not recognized MSEXCH:IMS:EXAMPLE 0 (000C05A6) Unknown Recipient", NULL, F, NULL, HARD, "userunknown", "exchange-nouser" },
    { "", "", "because: User ann (ann@example.jp) not listed in Domino Directory", NULL, F, NULL, HARD, "userunknown", "domino-nouser" },
    { "", "", "Invalid final delivery userid: bob@example.com", NULL, F, NULL, HARD, "userunknown", "imail-nouser" },
    { "", "", "User mailbox exceeds allowed size: bob@example.com", NULL, F, NULL, SOFT, "mailboxfull", "imail-full" },
    { "", "", "Google Groups: the group may not exist, or you may not have permission to post messages to the group", NULL, F, NULL, BLOCK, "rejected", "gmail-groups-perm" },
    { "", "", "Message will be retried for 2 more day(s)", NULL, D, NULL, SOFT, "expired", "gmail-did-not-accept" },
    { "", "500", "500 Remote server does not support TLS (state 6).", NULL, F, "STARTTLS", BLOCK, "failedstarttls", "tls" },
    { "5.7.1", "550", "550-5.7.1 [192.0.2.1] Messages with multiple addresses in From: header are not accepted.", NULL, F, NULL, BLOCK, "notcompliantrfc", "gmail-rfc" },
    { "5.1.1", "550", "550 5.1.1 <a@icloud.com>: inactive email address", NULL, F, NULL, HARD, "userunknown", "icloud-inactive" },
    { "5.4.1", "550", "550 5.4.1 [a@example.org]: Recipient address rejected: Access denied. [x.prod.protection.outlook.com]", NULL, F, NULL, HARD, "userunknown", "ms-recipient-notfound" },
    { "5.2.3", "552", "552 5.2.3 Message size exceeds fixed maximum message size", NULL, F, NULL, BLOCK, "exceedlimit", "size-admin" },
    { "", "550", "550-REJECTED - Blacklisted URL in message. See http://lookup.uribl.com", NULL, F, NULL, BLOCK, "spamdetected", "uribl" },
    { "", "", "Name service error for domain example.com: Host not found, try again", NULL, F, NULL, SOFT, "networkerror", "network-text" },
    { "", "", "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1) I'm not going to try again; this message has been in the queue too long.", NULL, F, NULL, SOFT, "networkerror", "qmail-no-conn" },
    { "4.1.9", "", "Resources temporarily unavailable, please try again later [#4.1.9]. I'm not going to try again; this message has been in the queue too long.", NULL, F, NULL, SOFT, "expired", "expired-text" },
    { "", "550", "550 Access denied...", NULL, F, "CONN", BLOCK, "blocked", "conn-rejected" },
    { "5.7.1", "550", "550 5.7.1 Access denied", NULL, F, "MAIL", BLOCK, "rejected", "access-denied" },
    { "", "550", "550 <a@example.jp>: User unknown", NULL, F, NULL, HARD, "userunknown", "userunknown-named" },
    { "", "550", "550 : User unknown", NULL, F, NULL, SOFT, "filtered", "userunknown-filtered" },
    { "", "", "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)", NULL, F, NULL, HARD, "notaccept", "null-mx-text" },
    { "", "", "Could not deliver for the last 432000 seconds. Giving up.", NULL, F, NULL, SOFT, "expired", "expired-text" },
    /* --- user / host --- */
    { "5.1.1", "550", "550 5.1.1 <a@b>: Recipient address rejected: User unknown in local recipient table", NULL, F, "RCPT", HARD, "userunknown", "userunknown-5.1" },
    { "5.1.1", "550", "", NULL, F, NULL, HARD, "userunknown", "userunknown-status" },
    { "", "550", "550 No such user here", NULL, F, "RCPT", HARD, "userunknown", "userunknown-rcpt" },
    { "", "550", "550 No such user here", NULL, F, NULL, SOFT, "filtered", "userunknown-filtered" },
    { "", "550", "550 unknown user (in reply to end of DATA command)", NULL, F, NULL, SOFT, "filtered", "userunknown-filtered" },
    { "", "550", "550 Unknown user a@b [RCPT_TO]", NULL, F, NULL, HARD, "userunknown", "userunknown-rcpt" },
    { "4.1.1", "450", "450 4.1.1 <a@b>: Recipient address rejected: unverified address: user unknown", NULL, D, NULL, SOFT, "userunknown", "userunknown-5.1" },
    { "5.1.2", "550", "550 5.1.2 Host unknown (Name server: example.invalid: host not found)", NULL, F, NULL, HARD, "hostunknown", "hostunknown-text" },
    { "5.4.4", "", "Host or domain name not found. Name service error for name=x.invalid type=A: Host not found", NULL, F, NULL, HARD, "hostunknown", "hostunknown-text" },
    { "5.1.2", "", "", NULL, F, NULL, HARD, "hostunknown", "hostunknown-status" },
    { "5.1.6", "550", "550 5.1.6 recipient no longer on server: a@b", NULL, F, NULL, HARD, "hasmoved", "moved-status-early" },
    { "5.1.6", "551", "551 5.1.6", NULL, F, NULL, HARD, "hasmoved", "moved-status-early" },
    { "", "", "DNS Error: DNS type 'mx' lookup of example.invalid responded with code NXDOMAIN", NULL, F, NULL, HARD, "hostunknown", "gmail-dns-nxdomain" },
    /* --- soft --- */
    { "5.2.2", "550", "550 5.2.2 STOREDRV.Deliver: mailbox full.", NULL, F, NULL, SOFT, "mailboxfull", "ms-quota" },
    { "5.1.1", "552", "552 5.1.1 user over quota", NULL, F, NULL, SOFT, "mailboxfull", "mailbox-full" },
    { "4.2.2", "452", "452 4.2.2 Over quota", NULL, D, NULL, SOFT, "mailboxfull", "mailbox-full" },
    { "4.4.5", "452", "452 4.4.5 Insufficient disk space; try again later", NULL, D, NULL, SOFT, "systemfull", "system-full" },
    { "4.4.1", "", "connect to mx.example.org[192.0.2.1]:25: Connection timed out", NULL, D, NULL, SOFT, "expired", "expired-text" },
    { "4.4.1", "", "lost connection with mx.example.org[192.0.2.1] while receiving the initial server greeting", NULL, D, NULL, SOFT, "networkerror", "network-text" },
    { "5.4.6", "554", "554 5.4.6 Too many hops", NULL, F, NULL, SOFT, "networkerror", "network-text" },
    { "4.0.0", "421", "421 Too many concurrent SMTP connections; please try again later", NULL, D, NULL, SOFT, "toomanyconn", "too-many-conn" },
    { "", "", "procmail: Couldn't create \"/var/spool/mail/x\"", NULL, F, NULL, SOFT, "mailererror", "mailer-lda" },
    { "5.3.0", "554", "554 5.3.0 Internal system error", NULL, F, NULL, SOFT, "systemerror", "system-text" },
    { "", "", "", NULL, D, NULL, SOFT, "expired", "delayed" },
    { "4.3.0", "451", "451 4.3.0 whatever", NULL, D, NULL, SOFT, "systemerror", "st-5.3" },
    { "4.9.9", "", "", NULL, F, NULL, SOFT, "undefined", "temp-other" },
    /* --- block --- */
    { "4.7.650", "451", "451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation.", "x.olc.protection.outlook.com", D, NULL, BLOCK, "badreputation", "ms-ip-reputation" },
    { "5.7.1", "550", "550-5.7.1 Our system has detected that this message is likely suspicious due to the very low reputation of the sending IP address", NULL, F, NULL, BLOCK, "badreputation", "gmail-low-reputation" },
    { "4.7.28", "421", "421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address", NULL, D, NULL, BLOCK, "blocked", "gmail-unusual-rate" },
    { "5.7.1", "550", "550-5.7.1 Our system has detected that this message is likely unsolicited mail", NULL, F, NULL, BLOCK, "spamdetected", "gmail-unsolicited" },
    { "5.7.25", "550", "550-5.7.25 The IP address sending this message does not have a PTR record setup", NULL, F, NULL, BLOCK, "requireptr", "gmail-ptr" },
    { "4.7.0", "421", "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints", NULL, D, NULL, BLOCK, "badreputation", "yahoo-tss04" },
    { "4.7.0", "421", "421 4.7.0 [TS01] Messages from 192.0.2.1 temporarily deferred due to user complaints", NULL, D, NULL, BLOCK, "badreputation", "yahoo-tss04" },
    { "5.7.1", "554", "554 5.7.1 [TS03] All messages from 192.0.2.1 will be permanently deferred", NULL, F, NULL, BLOCK, "blocked", "yahoo-ts0x" },
    { "5.7.9", "554", "554 5.7.9 Message not accepted for policy reasons.", NULL, F, NULL, BLOCK, "policyviolation", "yahoo-policy" },
    { "5.7.1", "554", "554 5.7.1 <x>: Relay access denied", NULL, F, NULL, BLOCK, "norelaying", "relay" },
    { "5.3.4", "552", "552 5.3.4 Message size exceeds fixed limit", NULL, F, NULL, BLOCK, "mesgtoobig", "too-big" },
    { "5.2.3", "552", "552 5.2.3", NULL, F, NULL, BLOCK, "exceedlimit", "size-admin" },
    { "5.7.1", "550", "550 5.7.1 Virus detected: Eicar-Test-Signature", NULL, F, NULL, BLOCK, "virusdetected", "virus" },
    { "5.7.1", "550", "550 5.7.1 Message content rejected, UBE, id=1", NULL, F, NULL, BLOCK, "spamdetected", "barracuda-ube" },
    { "5.7.1", "554", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using Barracuda Reputation", NULL, F, NULL, BLOCK, "blocked", "barracuda-rep" },
    { "5.7.1", "550", "550 5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1", NULL, F, NULL, BLOCK, "blocked", "proofpoint-block" },
    { "5.1.8", "501", "501 5.1.8 <s@x>: Sender address rejected: Domain not found", NULL, F, "MAIL", BLOCK, "rejected", "sender-rejected" },
    { "5.7.1", "550", "550 5.7.1 Please see http://www.spamcop.net/bl.shtml?192.0.2.1", NULL, F, NULL, BLOCK, "blocked", "dnsbl" },
    { "5.7.1", "550", "550 5.7.1 Rejected by header based Anti-Spoofing policy", "us-smtp-inbound-1.mimecast.com", F, NULL, BLOCK, "policyviolation", "mimecast-spoof" },
    { "5.7.509", "550", "550 5.7.509 Access denied, sending domain [X] does not pass DMARC verification", NULL, F, NULL, BLOCK, "authfailure", "ms-dmarc" },
    { "5.7.1", "550", "550 5.7.1 Email rejected: the sender's SPF record does not designate 192.0.2.1", NULL, F, NULL, BLOCK, "authfailure", "authfail" },
    { "5.7.0", "530", "530 5.7.0 Must issue a STARTTLS command first", NULL, F, NULL, BLOCK, "failedstarttls", "tls" },
    { "5.7.1", "550", "550 5.7.1 whatever", NULL, F, NULL, BLOCK, "securityerror", "st-5.7" },
    { "", "554", "554 mwinf5c04 ME Adresse IP source bloquee pour incident de spam", NULL, F, NULL, BLOCK, "blocked", "orange-ip-block" },
    { "", "550", "550 mwinf ME Mail rejete. Mail rejected. ofr_506", NULL, F, NULL, BLOCK, "spamdetected", "orange-spam" },
    { "", "554", "554 resimta-ch2 comcast 192.0.2.1 Comcast block for spam. Please see http://postmaster.comcast.net/smtp-error-codes.php#BL000000", NULL, F, NULL, BLOCK, "blocked", "comcast-bl" },
    { "5.7.1", "554", "554 5.7.1 [CS01] Message rejected due to local policy.", "mx01.mail.icloud.com", F, NULL, BLOCK, "policyviolation", "icloud-policy" },
    { "", "554", "554-gmx.net (mxgmx) Nemesis ESMTP Service not available 554-No SMTP service 554 Bad DNS PTR resource record", NULL, F, NULL, BLOCK, "requireptr", "gmx-nemesis-ptr" },
    { "5.0.0", "550", "550 5.0.0 Access denied", NULL, F, "EHLO", BLOCK, "blocked", "conn-rejected" },
    /* --- not bounces --- */
    { "2.1.5", "250", "250 2.1.5 OK", NULL, BG_ACTION_DELIVERED, NULL, NONE, "delivered", "dsn-delivered" },
    { "2.0.0", "", "", NULL, BG_ACTION_UNKNOWN, NULL, NONE, "delivered", "status-2xx" },
    { "5.9.9", "550", "550 something odd happened", NULL, F, NULL, UNDET, "undefined", "perm-other" },
};

static void facts_of(const struct row *r, struct bg_facts *f)
{
    memset(f, 0, sizeof *f);
    f->action = r->action;
    f->status = r->status;
    f->reply_code = r->code;
    f->diag = r->text;
    f->remote_mta = r->mta;
    f->command = r->cmd;
}

START_TEST(table)
{
    const struct row *r = &rows[_i];
    struct bg_facts f;
    struct bg_verdict v;
    facts_of(r, &f);
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_msg(v.cls == r->cls && strcmp(v.reason, r->reason) == 0 &&
                  strcmp(v.rule, r->rule) == 0,
                  "row %d (%s %s \"%.60s\"): got class %d %s rule %s, want %d %s %s",
                  _i, r->status ? r->status : "NULL", r->code ? r->code : "NULL",
                  r->text ? r->text : "NULL", (int)v.cls, v.reason, v.rule,
                  (int)r->cls, r->reason, r->rule);
}
END_TEST

START_TEST(reports)
{
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.is_feedback = 1;
    f.feedback_type = "abuse";
    f.status = "5.1.1";
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_int_eq(v.cls, BG_CLASS_COMPLAINT);
    ck_assert_str_eq(v.reason, "feedback");
    memset(&f, 0, sizeof f);
    f.is_autoreply = 1;
    f.diag = "I am on vacation";
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_int_eq(v.cls, BG_CLASS_NONE);
    ck_assert_str_eq(v.reason, "vacation");
}
END_TEST

/* Status and code are taken from the text when the report lacks them. */
START_TEST(status_from_text)
{
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.action = BG_ACTION_FAILED;
    f.diag = "host mx.example.org said: 552 5.2.3 stop";
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_str_eq(v.rule, "size-admin");
    f.diag = "   451 try again";
    f.action = BG_ACTION_UNKNOWN;
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_int_eq(v.cls, BG_CLASS_SOFT);
    ck_assert_str_eq(v.rule, "temp-code");
}
END_TEST

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* lib/rules_default.c must be conf/rules.conf byte for byte (run
 * test/tools/gen-rules-default.sh after editing the conf). */
START_TEST(embedded_equals_conf)
{
    size_t len = 0;
    char *txt = slurp("conf/rules.conf", &len);
    if (!txt)
        txt = slurp("../../conf/rules.conf", &len);
    ck_assert_msg(txt != NULL, "cannot read conf/rules.conf (run from the repo root)");
    ck_assert_uint_eq(len, strlen(bg_rules_default_text));
    ck_assert_msg(memcmp(txt, bg_rules_default_text, len) == 0,
                  "lib/rules_default.c is stale: sh test/tools/gen-rules-default.sh");
    free(txt);
    /* and it parses cleanly */
    struct bg_rules *r = NULL;
    char err[256] = "";
    ck_assert_msg(bg_rules_parse_text("rules.conf", bg_rules_default_text,
                                      strlen(bg_rules_default_text), &r, err,
                                      sizeof err) == 0, "%s", err);
    bg_rules_free(r);
}
END_TEST

static char tmpl[] = "/tmp/bg_rules_XXXXXX";

static const char *write_tmp(const char *content)
{
    static char path[64];
    memcpy(path, tmpl, sizeof tmpl);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(content, f);
    fclose(f);
    return path;
}

START_TEST(site_override)
{
    const char *p = write_tmp(
        "# site rules\n"
        "site-full   hard   mailboxfull  status=5.2.2 mta=*.example.net\n"
        "site-acme   block  blocked      text=\"acme says no|\\\"quoted\\\"\"\n"
        "site-cont   soft   suspend      text=\"first part\"\n"
        "    code=550   # continuation line\n");
    char err[256] = "";
    struct bg_rules *r = bg_rules_load(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.action = BG_ACTION_FAILED;
    f.status = "5.2.2";
    f.diag = "552 5.2.2 mailbox full";
    f.remote_mta = "MX1.Example.NET";
    bg_classify(r, &f, &v);
    ck_assert_int_eq(v.cls, BG_CLASS_HARD);
    ck_assert_str_eq(v.rule, "site-full");
    f.remote_mta = "mx.other.org";      /* falls through to the defaults */
    bg_classify(r, &f, &v);
    ck_assert_int_eq(v.cls, BG_CLASS_SOFT);
    ck_assert_str_eq(v.rule, "mailbox-full");
    f.status = "";
    f.diag = "550 ACME SAYS NO";
    bg_classify(r, &f, &v);
    ck_assert_str_eq(v.rule, "site-acme");
    f.diag = "550 we said \"quoted\" here";
    bg_classify(r, &f, &v);
    ck_assert_str_eq(v.rule, "site-acme");
    f.diag = "550 first   part";
    f.reply_code = "550";
    bg_classify(r, &f, &v);
    ck_assert_str_eq(v.rule, "site-cont");
    f.reply_code = "551";
    bg_classify(r, &f, &v);
    ck_assert_str_ne(v.rule, "site-cont");
    bg_rules_free(r);
    remove(p);
}
END_TEST

static const struct { const char *text; const char *want; } bad[] = {
    { "ok hard userunknown\nbad nosuchclass userunknown\n", "x:2: unknown class" },
    { "a hard notareason\n", "x:1: unknown reason" },
    { "\n\n# c\nr1 hard userunknown\nr1 soft mailboxfull\n", "x:5: duplicate rule id" },
    { "r hard userunknown text=\"open\n", "x:1: unterminated quote" },
    { "r hard userunknown bogus=1\n", "x:1: unknown condition" },
    { "r hard userunknown status=5.x.1\n", "x:1: bad status= item" },
    { "r hard userunknown text=\"a||b\"\n", "x:1: empty text alternative" },
    { "  r hard userunknown\n", "x:1: continuation line without a rule" },
    { "r hard userunknown action=exploded\n", "x:1: unknown action" },
    { "r hard\n", "x:1: missing reason" },
    { "r hard userunknown noequals\n", "x:1: expected key=value" },
    { "r$ hard userunknown\n", "x:1: bad character in rule id" },
    { "r hard userunknown code=55,\n", "x:1: trailing comma" },
    { "r hard userunknown report=spam\n", "x:1: unknown report kind" },
    { "r hard userunknown\nq manual userunknown\n", "x:2: unknown class" },
};

START_TEST(bad_rules)
{
    struct bg_rules *r = NULL;
    char err[256] = "";
    int rc = bg_rules_parse_text("x", bad[_i].text, strlen(bad[_i].text), &r, err,
                                 sizeof err);
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_null(r);
    ck_assert_msg(strncmp(err, bad[_i].want, strlen(bad[_i].want)) == 0,
                  "case %d: got \"%s\", want prefix \"%s\"", _i, err, bad[_i].want);
}
END_TEST

START_TEST(load_errors_name_file)
{
    char err[256] = "";
    ck_assert_ptr_null(bg_rules_load("/nonexistent/rules.conf", err, sizeof err));
    ck_assert_msg(strstr(err, "/nonexistent/rules.conf") != NULL, "%s", err);
    const char *p = write_tmp("good hard userunknown\n\nbad hard userunknown status=\n");
    ck_assert_ptr_null(bg_rules_load(p, err, sizeof err));
    char want[128];
    snprintf(want, sizeof want, "%s:3: ", p);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    remove(p);
}
END_TEST

/* RulesFile is read at start, by bouncegate -n and on reload: a FIFO
 * there blocked the open, a device was read. Only a regular file is. */
START_TEST(load_not_regular)
{
    char err[256] = "", fifo[64], want[128];
    ck_assert_ptr_null(bg_rules_load("/dev/zero", err, sizeof err));
    ck_assert_str_eq(err, "/dev/zero: not a regular file (character device)");
    snprintf(fifo, sizeof fifo, "/tmp/bg-test-rules-%ld.fifo", (long)getpid());
    unlink(fifo);
    ck_assert_msg(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    ck_assert_ptr_null(bg_rules_load(fifo, err, sizeof err));
    snprintf(want, sizeof want, "%s: not a regular file (FIFO)", fifo);
    ck_assert_str_eq(err, want);
    unlink(fifo);
}
END_TEST

START_TEST(policy_defaults)
{
    struct bg_policy p;
    struct bg_verdict v;
    bg_policy_default(&p);
    memset(&v, 0, sizeof v);
    strcpy(v.reason, "userunknown");
    v.cls = BG_CLASS_HARD;
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_SUPPRESS);
    v.cls = BG_CLASS_COMPLAINT;
    strcpy(v.reason, "feedback");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_SUPPRESS);
    v.cls = BG_CLASS_SOFT;
    strcpy(v.reason, "mailboxfull");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_COUNT);
    v.cls = BG_CLASS_BLOCK;
    strcpy(v.reason, "blocked");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_NONE);
    v.cls = BG_CLASS_NONE;
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_NONE);
    v.cls = BG_CLASS_UNDETERMINED;
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_NONE);
    ck_assert_str_eq(bg_policy_action_name(BG_POLICY_SUPPRESS), "suppress");
    ck_assert_str_eq(bg_policy_action_name(BG_POLICY_COUNT), "count");
    ck_assert_str_eq(bg_policy_action_name(BG_POLICY_NONE), "none");
}
END_TEST

START_TEST(policy_overrides)
{
    struct bg_policy p;
    struct bg_verdict v;
    const char *why = NULL;
    bg_policy_default(&p);
    ck_assert_int_eq(bg_policy_set(&p, "mailboxfull=suppress", &why), 0);
    ck_assert_int_eq(bg_policy_set(&p, " block = count ", &why), 0);
    ck_assert_int_eq(bg_policy_set(&p, "Hard=none", &why), 0);
    ck_assert_int_eq(bg_policy_set(&p, "mailboxfull=none", &why), 0);  /* replaces */
    ck_assert_uint_eq(p.nover, 1);
    memset(&v, 0, sizeof v);
    v.cls = BG_CLASS_SOFT;
    strcpy(v.reason, "mailboxfull");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_NONE);
    strcpy(v.reason, "suspend");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_COUNT);
    v.cls = BG_CLASS_BLOCK;
    strcpy(v.reason, "blocked");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_COUNT);
    v.cls = BG_CLASS_HARD;
    strcpy(v.reason, "userunknown");
    ck_assert_int_eq(bg_policy_decide(&p, &v), BG_POLICY_NONE);

    ck_assert_int_eq(bg_policy_set(&p, "hard=destroy", &why), -1);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(bg_policy_set(&p, "nosuchthing=count", &why), -1);
    ck_assert_int_eq(bg_policy_set(&p, "hard", &why), -1);
    ck_assert_int_eq(bg_policy_set(&p, "=count", &why), -1);
    ck_assert_int_eq(bg_policy_set(&p, NULL, &why), -1);
    /* the override table is bounded */
    static const char *const reasons[] = { "userunknown", "hostunknown", "hasmoved",
        "notaccept", "systemfull", "suspend", "filtered", "rejected", "blocked" };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "%s=count", reasons[i]);
        ck_assert_int_eq(bg_policy_set(&p, spec, &why), 0);
    }
    ck_assert_uint_le(p.nover, 64);
}
END_TEST

/* Hostile input: long, binary, no NULs past the bound. */
START_TEST(hostile_facts)
{
    static char big[20000];
    memset(big, 'A', sizeof big - 1);
    memcpy(big + 15000, "mailbox full", 12);   /* past the scan bound */
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.diag = big;
    f.status = "5.5.5.5.5.5.5.5.5.5.5.5.5";
    f.reply_code = "99999999";
    f.remote_mta = "**********************************?";
    f.command = "\xff\xfe";
    bg_classify(bg_rules_default(), &f, &v);
    ck_assert_str_ne(v.reason, "mailboxfull");
    ck_assert(strlen(v.rule) > 0);
}
END_TEST

/* Classify diag (status, code, cmd as given) with the rules in text,
 * layered before the defaults; returns the deciding rule's id. */
static const char *classify_with(const char *rules, const char *status,
                                 const char *code, const char *cmd,
                                 const char *diag, char *out, size_t outsz)
{
    const char *p = write_tmp(rules);
    char err[256] = "";
    struct bg_rules *r = bg_rules_load(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct bg_facts f;
    struct bg_verdict v;
    memset(&f, 0, sizeof f);
    f.action = BG_ACTION_FAILED;
    f.status = status;
    f.reply_code = code;
    f.command = cmd;
    f.diag = diag;
    bg_classify(r, &f, &v);
    bg_rules_free(r);
    remove(p);
    snprintf(out, outsz, "%s", v.rule);
    return out;
}

/* The diagnostic text is looked at normalized and bounded: 4096 input
 * bytes, at most 4095 normalized ones. Patterns right at the bound. */
START_TEST(text_bound)
{
    static char d[5000];
    char got[64];
    const char *rules = "end-zq  block blocked text=\"zq\"\n"
                        "end-z   block rejected text=\"az\"\n";
    /* 4096 bytes, no blank: the last byte is cut by the output bound */
    memset(d, 'a', 4094);
    memcpy(d + 4094, "zq", 3);
    ck_assert_str_eq(classify_with(rules, "", "", NULL, d, got, sizeof got), "end-z");
    /* 4095 bytes: all of it */
    memset(d, 'a', 4093);
    memcpy(d + 4093, "zq", 3);
    ck_assert_str_eq(classify_with(rules, "", "", NULL, d, got, sizeof got), "end-zq");
    /* 4096 bytes with a blank run: normalized shorter, the last byte counts */
    memset(d, 'a', 4092);
    memcpy(d + 4092, "  zq", 5);
    ck_assert_str_eq(classify_with(rules, "", "", NULL, d, got, sizeof got), "end-zq");
    /* a single blank costs nothing: 4096 bytes, last byte cut again */
    memset(d, 'a', 4093);
    memcpy(d + 4093, " zq", 4);
    ck_assert_str_ne(classify_with(rules, "", "", NULL, d, got, sizeof got), "end-zq");
    /* beyond 4096 input bytes nothing is seen */
    memset(d, 'a', 4096);
    memcpy(d + 4096, "zq", 3);
    ck_assert_str_ne(classify_with(rules, "", "", NULL, d, got, sizeof got), "end-zq");
    /* blanks: leading/trailing ignored, runs are one space, any case */
    ck_assert_str_eq(classify_with("sp block blocked text=\"x y\"\n", "", "", NULL,
                                   " \t X \r\n\v\f Y ", got, sizeof got), "sp");
    ck_assert_str_ne(classify_with("sp block blocked text=\"x y\"\n", "", "", NULL,
                                   "xy", got, sizeof got), "sp");
}
END_TEST

/* Long patterns, overlapping ones, matches found only through fail links;
 * notext= beats text= of the same rule. */
START_TEST(text_overlap)
{
    char got[64];
    const char *rules =
        "deep    block blocked text=\"abcabcabcabcabcabd\"\n"
        "suffix  block rejected text=\"cabcabx|bcq\"\n"
        "neg     block spamdetected text=\"needle\" notext=\"needles\"\n"
        "dup     block virusdetected text=\"virus|virus|irus|us found\"\n";
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "xx abcabcabcabcabcabcabd yy", got, sizeof got), "deep");
    ck_assert_str_ne(classify_with(rules, "", "", NULL,
        "abcabcabcabcabcabcab", got, sizeof got), "deep");
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "abcabcabcabcabcabx", got, sizeof got), "suffix");
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "abcabcabcabcabcabcq", got, sizeof got), "suffix");
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "a needle here", got, sizeof got), "neg");
    ck_assert_str_ne(classify_with(rules, "", "", NULL,
        "needles here", got, sizeof got), "neg");
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "VIRUS FOUND", got, sizeof got), "dup");
    ck_assert_str_eq(classify_with(rules, "", "", NULL,
        "xirus", got, sizeof got), "dup");
}
END_TEST

/* Patterns longer than the automaton's anchor are completed by comparing
 * their tail with the text: a tail that differs, is cut short by the end
 * of the text, or ends exactly there; more reporting states than the pass
 * notes (the second walk); a text over the scan bound. */
START_TEST(text_anchor)
{
    static char d[5000];
    char got[64];
    const char *rules =
        "full    soft mailboxfull text=\"mailbox is full\"\n"
        "eight   block blocked text=\"abcdefgh\"\n"
        "nine    block rejected text=\"bcdefghij\"\n"
        "seven   block spamdetected text=\"zyxwvut\"\n";
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "MAILBOX \t IS   FULL!", got,
                                   sizeof got), "full");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "mailbox is full", got,
                                   sizeof got), "full");
    ck_assert_str_ne(classify_with(rules, "", "", NULL, "mailbox is ful", got,
                                   sizeof got), "full");
    ck_assert_str_ne(classify_with(rules, "", "", NULL, "mailbox is fall", got,
                                   sizeof got), "full");
    ck_assert_str_ne(classify_with(rules, "", "", NULL, "mailbox", got, sizeof got),
                     "full");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "xabcdefghy", got, sizeof got),
                     "eight");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "xbcdefghij", got, sizeof got),
                     "nine");
    ck_assert_str_ne(classify_with(rules, "", "", NULL, "xbcdefghi", got, sizeof got),
                     "nine");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "zyxwvut", got, sizeof got),
                     "seven");
    /* 300 anchors before the match: more than the pass notes */
    size_t o = 0;
    for (int i = 0; i < 300; i++) {
        memcpy(d + o, "mailbox ", 8);
        o += 8;
    }
    memcpy(d + o, "is full", 8);
    ck_assert_str_eq(classify_with(rules, "", "", NULL, d, got, sizeof got), "full");
    memcpy(d + o, "is fu", 6);
    ck_assert_str_ne(classify_with(rules, "", "", NULL, d, got, sizeof got), "full");
    /* 4096 input bytes (normalized shorter): the bounded path */
    memset(d, 'a', 4000);
    memset(d + 4000, ' ', 81);
    memcpy(d + 4081, "mailbox is full", 16);
    ck_assert_uint_eq(strlen(d), 4096);
    ck_assert_str_eq(classify_with(rules, "", "", NULL, d, got, sizeof got), "full");
    d[4095] = 'x';
    ck_assert_str_ne(classify_with(rules, "", "", NULL, d, got, sizeof got), "full");
}
END_TEST

/* status=/code=/cmd= items: exact, prefix, "*", "-", values truncated as
 * held (status 15 bytes, reply code 3), items longer than any value. */
START_TEST(list_items)
{
    char got[64];
    const char *rules =
        "long-ex  block blocked     status=5.1.100000000000000\n"
        "long-pre block rejected    status=5.1.10000000000000*\n"
        "ex15     block spamdetected status=5.1.10000000000\n"
        "code3    block securityerror code=550\n"
        "code4    block authfailure code=5501\n"
        "any      block requireptr  status=-,* code=4*,- cmd=rcpt\n";
    ck_assert_str_eq(classify_with(rules, "5.1.10000000000000000", "", NULL, "",
                                   got, sizeof got), "ex15");
    ck_assert_str_eq(classify_with(rules, "", "5501", NULL, "",
                                   got, sizeof got), "code3");
    ck_assert_str_eq(classify_with(rules, "4.0.0", "", "Rcpt", "",
                                   got, sizeof got), "any");
    ck_assert_str_eq(classify_with(rules, "", "421", "RCPT", "",
                                   got, sizeof got), "any");
    ck_assert_str_ne(classify_with(rules, "", "521", "RCPT", "",
                                   got, sizeof got), "any");
    ck_assert_str_ne(classify_with(rules, "", "", "RCPTX", "",
                                   got, sizeof got), "any");
    ck_assert_str_ne(classify_with(rules, "", "", "RCP", "",
                                   got, sizeof got), "any");
}
END_TEST

/* The command from the text ("RCPT TO", "after DATA") when the report has
 * none, for the site rules and the defaults after them; a named command
 * wins over the text; RCPT over DATA. */
START_TEST(cmd_from_text)
{
    char got[64];
    const char *rules =
        "site-rcpt block blocked   cmd=RCPT text=\"zork\"\n"
        "site-data block rejected  cmd=DATA text=\"zork\"\n"
        "site-none block norelaying cmd=- text=\"zork\"\n";
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "550 zork at RCPT  TO",
                                   got, sizeof got), "site-rcpt");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "zork after data command",
                                   got, sizeof got), "site-data");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "zork end of data, smtp:rcpt",
                                   got, sizeof got), "site-rcpt");
    ck_assert_str_eq(classify_with(rules, "", "", "DATA", "zork rcpt_to",
                                   got, sizeof got), "site-data");
    ck_assert_str_eq(classify_with(rules, "", "", NULL, "zork rcpt",
                                   got, sizeof got), "site-none");
    /* decided once, before the defaults: their cmd=RCPT rules see it */
    const char *none = "unrelated block blocked text=\"qqqq\"\n";
    char a[64], b[64];
    classify_with(none, "", "", NULL, "550 RCPT TO:<a@b> user unknown", a, sizeof a);
    classify_with(none, "", "", "RCPT", "550 <a@b> user unknown", b, sizeof b);
    ck_assert_str_eq(a, b);
}
END_TEST

/* The facts handed to the classifier come from the parsed report: one
 * recipient's fields, or (no recipient) only the report's kind. */
START_TEST(facts_from_dsn)
{
    static struct bg_dsn d;
    struct bg_facts f;
    memset(&d, 0, sizeof d);
    d.kind = BG_REPORT_ARF;
    snprintf(d.feedback_type, sizeof d.feedback_type, "abuse");
    d.nrcpt = 1;
    d.r[0].action = BG_ACTION_FAILED;
    snprintf(d.r[0].status, sizeof d.r[0].status, "5.1.1");
    snprintf(d.r[0].diag, sizeof d.r[0].diag, "user unknown");
    bg_facts_from_dsn(&d, &d.r[0], &f);
    ck_assert_int_eq(f.action, BG_ACTION_FAILED);
    ck_assert_str_eq(f.status, "5.1.1");
    ck_assert_str_eq(f.diag, "user unknown");
    ck_assert_int_eq(f.is_feedback, 1);
    ck_assert_int_eq(f.is_autoreply, 0);
    ck_assert_str_eq(f.feedback_type, "abuse");
    d.kind = BG_REPORT_AUTOREPLY;
    bg_facts_from_dsn(&d, NULL, &f);
    ck_assert_ptr_null(f.status);
    ck_assert_ptr_null(f.diag);
    ck_assert_int_eq(f.is_feedback, 0);
    ck_assert_int_eq(f.is_autoreply, 1);
}
END_TEST

/* Rule sets of every automaton layout (see bg_rules_layout): the
 * defaults, and generated site rules of nrand random patterns over a
 * 32-byte alphabet, up to large enough for sparse deep states. Every pattern (some longer than the anchor, so
 * completed by a tail compare) is found in a text as its own rule's,
 * and a pattern with its last byte changed is not. */
struct layout_case { size_t nrand; enum bg_rules_layout want; };
static const struct layout_case layout_cases[] = {
    { 0, BG_LAYOUT_DENSE },
    { 300, BG_LAYOUT_DENSE },
    { 1200, BG_LAYOUT_DENSE },
    { 6000, BG_LAYOUT_SPARSE },
};

#define LAYOUT_RULES 16

static unsigned long layout_rand(unsigned long *x)
{
    *x = *x * 6364136223846793005UL + 1442695040888963407UL;
    return (*x >> 33) & 0x7fffffffUL;
}

/* Pattern i of the generated set: 8 to 13 bytes from "a-z0-5". */
static void layout_pat(size_t i, char *out, size_t *len)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz012345";
    unsigned long x = 0x9e3779b97f4a7c15UL ^ (unsigned long)i;
    layout_rand(&x);
    size_t n = 8 + (i % 3 == 0 ? i % 6 : 0);
    for (size_t k = 0; k < n; k++)
        out[k] = alpha[layout_rand(&x) % 32];
    out[n] = '\0';
    *len = n;
}

static void hits_equal(const struct bg_rules *rs, const char *d, size_t len);

START_TEST(layouts)
{
    const struct layout_case *lc_ = &layout_cases[_i];
    if (lc_->nrand == 0) {
        ck_assert_int_eq(bg_rules_layout(bg_rules_default()), lc_->want);
        return;
    }
    size_t cap = lc_->nrand * 16 + LAYOUT_RULES * 64 + 1;
    char *txt = malloc(cap);
    ck_assert_ptr_nonnull(txt);
    size_t o = 0, per = (lc_->nrand + LAYOUT_RULES - 1) / LAYOUT_RULES;
    for (size_t r = 0; r < LAYOUT_RULES; r++) {
        o += (size_t)snprintf(txt + o, cap - o, "gen-%zu block blocked text=\"", r);
        for (size_t i = r * per; i < (r + 1) * per && i < lc_->nrand; i++) {
            char pat[16];
            size_t n;
            layout_pat(i, pat, &n);
            o += (size_t)snprintf(txt + o, cap - o, "%s%s", i > r * per ? "|" : "", pat);
        }
        o += (size_t)snprintf(txt + o, cap - o, "\"\n");
        ck_assert_uint_lt(o, cap);
    }
    struct bg_rules *rs = NULL;
    char err[256] = "";
    ck_assert_msg(bg_rules_parse_text("gen", txt, o, &rs, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(bg_rules_layout(rs), lc_->want);
    for (size_t i = 0; i < lc_->nrand; i++) {
        char pat[16], diag[64], want[32];
        size_t n;
        struct bg_facts f;
        struct bg_verdict v;
        layout_pat(i, pat, &n);
        snprintf(want, sizeof want, "gen-%zu", i / per);
        memset(&f, 0, sizeof f);
        f.action = BG_ACTION_FAILED;
        f.diag = diag;
        snprintf(diag, sizeof diag, "550 x%sy", pat);
        hits_equal(rs, diag, strlen(diag));
        bg_classify(rs, &f, &v);
        ck_assert_str_eq(v.rule, want);
        pat[n - 1] = pat[n - 1] == '6' ? '7' : '6';   /* not in the alphabet */
        snprintf(diag, sizeof diag, "550 %s", pat);
        bg_classify(rs, &f, &v);
        ck_assert_str_ne(v.rule, want);
    }
    bg_rules_free(rs);
    free(txt);
}
END_TEST

/* The differential check (bg_classify_hits): the automaton's hits equal
 * those of a naive search of every pattern in the normalized text. Texts
 * of every length up to DIFF_PLACE_MAX get a pattern at every offset, so
 * that patterns (some longer than the anchor, AC_ANCHOR = 8 bytes, and
 * completed by a tail compare) sit at the start, the end and everywhere
 * between. */
static const char diff_rules[] =
    "d-short block blocked text=\"ab|b a|abc|c\"\n"
    "d-long  block rejected text=\"abcabcab ca|ba ba bab ab|a b c a b c a\"\n"
    "d-nine  block spamdetected text=\"cabbacabb\" notext=\"cc b\"\n"
    "d-tail  block virusdetected text=\"rcpt to a|end of dat\"\n";
static const char *const diff_pats[] = {
    "abcabcab ca", "a b c a b c a", "cabbacabb", "end of data", "ab",
};
#define DIFF_PLACE_MAX 160
#define DIFF_WORDS 256      /* >= 2 * (rules + 63) / 64 + 1 */

static struct bg_rules *diff_parse(void)
{
    struct bg_rules *rs = NULL;
    char err[256] = "";
    ck_assert_msg(bg_rules_parse_text("diff", diff_rules, sizeof diff_rules - 1, &rs,
                                      err, sizeof err) == 0, "%s", err);
    return rs;
}

static void hits_equal(const struct bg_rules *rs, const char *d, size_t len)
{
    uint64_t fast[DIFF_WORDS], ref[DIFF_WORDS];
    int nw = bg_classify_hits(rs, d, len, fast, ref, DIFF_WORDS);
    ck_assert_int_gt(nw, 0);
    ck_assert_msg(memcmp(fast, ref, (size_t)nw * sizeof fast[0]) == 0,
                  "hits differ, %zu bytes: \"%.*s\"", len,
                  (int)(len < 200 ? len : 200), d);
}

/* len bytes from "abcABC " that normalize to themselves lower-cased: no
 * blank at either end, never two in a row. */
static void diff_fill(char *d, size_t len, unsigned long *x)
{
    static const char alpha[] = "abcaAbBcC ";
    for (size_t i = 0; i < len; i++) {
        d[i] = alpha[layout_rand(x) % 10];
        if (d[i] == ' ' && (i == 0 || i + 1 == len || d[i - 1] == ' '))
            d[i] = 'b';
    }
    d[len] = '\0';
}

START_TEST(diff_place)
{
    struct bg_rules *rs = diff_parse();
    char d[DIFF_PLACE_MAX + 1];
    unsigned long x = 7;
    for (size_t len = 0; len <= DIFF_PLACE_MAX; len++) {
        diff_fill(d, len, &x);
        hits_equal(rs, d, len);
        for (size_t k = 0; k < sizeof diff_pats / sizeof diff_pats[0]; k++) {
            size_t m = strlen(diff_pats[k]);
            for (size_t o = 0; o + m <= len; o++) {
                diff_fill(d, len, &x);
                memcpy(d + o, diff_pats[k], m);
                hits_equal(rs, d, len);
            }
        }
    }
    bg_rules_free(rs);
}
END_TEST

/* Raw texts: blank runs (at the ends too), upper case, bytes >= 0x80,
 * NULs (the text ends there), of lengths up to 320 and at the 4096-byte
 * bound, with the test rules and the defaults; then the defaults over
 * the table's texts run together, cut at many lengths and places. */
START_TEST(diff_noise)
{
    static const char alpha[] = "abcABC \t\r\n\v\f\x80\xe9" "bab cab" "rcpt to end of data";
    static char d[4200];
    struct bg_rules *rs = diff_parse();
    const struct bg_rules *def = bg_rules_default();
    unsigned long x = 11;
    static const size_t big[] = { 1000, 2047, 4090, 4094, 4095, 4096, 4097, 4100 };
    for (size_t li = 0; li <= 320 + sizeof big / sizeof big[0]; li++) {
        size_t len = li <= 320 ? li : big[li - 321];
        for (int rep = 0; rep < 3; rep++) {
            for (size_t i = 0; i < len; i++)
                d[i] = alpha[layout_rand(&x) % (sizeof alpha - 1)];
            if (rep == 2 && len > 0)
                d[layout_rand(&x) % len] = '\0';
            hits_equal(rs, d, len);
            hits_equal(def, d, len);
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0] && n < 3000; i++)
        if (rows[i].text && rows[i].text[0])
            n += (size_t)snprintf(d + n, sizeof d - n, "%s\n", rows[i].text);
    for (size_t start = 0; start < 600; start += 149)
        for (size_t len = 0; len <= 400 && start + len <= n; len += 3)
            hits_equal(def, d + start, len);
    bg_rules_free(rs);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("classify");
    TCase *t = tcase_create("rules");
    tcase_add_loop_test(t, table, 0, (int)(sizeof rows / sizeof rows[0]));
    tcase_add_test(t, reports);
    tcase_add_test(t, status_from_text);
    tcase_add_test(t, embedded_equals_conf);
    tcase_add_test(t, site_override);
    tcase_add_loop_test(t, bad_rules, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(t, load_errors_name_file);
    tcase_add_test(t, load_not_regular);
    tcase_add_test(t, hostile_facts);
    tcase_add_test(t, text_bound);
    tcase_add_test(t, text_overlap);
    tcase_add_test(t, text_anchor);
    tcase_add_test(t, list_items);
    tcase_add_test(t, cmd_from_text);
    tcase_add_test(t, facts_from_dsn);
    tcase_add_test(t, diff_place);
    tcase_add_test(t, diff_noise);
    tcase_add_loop_test(t, layouts, 0,
                        (int)(sizeof layout_cases / sizeof layout_cases[0]));
    suite_add_tcase(s, t);
    TCase *p = tcase_create("policy");
    tcase_add_test(p, policy_defaults);
    tcase_add_test(p, policy_overrides);
    suite_add_tcase(s, p);
    return s;
}

BG_UNIT_MAIN(make_suite)
