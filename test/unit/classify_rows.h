/* classify_rows.h - the classifier's table of cases for test_classify.c
 * (one row per diagnostic: facts in, class, reason and rule out), whose
 * texts test_classify_scan.c also scans. */
#ifndef BG_CLASSIFY_ROWS_H
#define BG_CLASSIFY_ROWS_H
#include "classify.h"

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
    /* Issue 17, kind 1: words of a directory lookup say the mailbox is not
     * there whatever stage or status a relay reports them under; the same
     * words as a content filter's answer after DATA are filtered */
    { NULL, "550", "550 <a@b>: Recipient address rejected: User unknown in virtual mailbox table", NULL, F, NULL, HARD, "userunknown", "userunknown-lookup" },
    { NULL, "550", "550 5.1.1 <a@b>: Recipient address rejected: User unknown in virtual alias table", NULL, F, "DATA", HARD, "userunknown", "userunknown-lookup" },
    { "5.3.0", "553", "553 5.3.0 <a@b>... Addressee unknown, relay=[192.0.2.1]", NULL, F, NULL, HARD, "userunknown", "userunknown-lookup" },
    { NULL, NULL, "Remote host said: 550 sorry, no mailbox here by that name. (#5.1.1)", NULL, F, NULL, HARD, "userunknown", "userunknown-lookup" },
    { "4.1.1", "450", "450 4.1.1 <a@b>: Recipient address rejected: User unknown in local recipient table", NULL, F, "RCPT", SOFT, "userunknown", "userunknown-lookup" },
    { NULL, "550", "550 No such user here", NULL, F, "RCPT", HARD, "userunknown", "userunknown-rcpt" },
    { "5.0.0", "550", "550 Unknown user a@b", NULL, F, "DATA", SOFT, "filtered", "userunknown-filtered" },
    /* 551 is "the mailbox moved" only in those words: servers also use it
     * to refuse relaying or by policy */
    { NULL, "551", "551 User not local; please try <a@b.example>", NULL, F, "RCPT", HARD, "hasmoved", "moved-551" },
    { "5.7.1", "551", "551 5.7.1 Access denied", NULL, F, "RCPT", BLOCK, "rejected", "access-denied" },
    { NULL, "551", "551 not permitted", NULL, F, NULL, UNDET, "undefined", "perm-code" },
    /* a sender callout's words are no verdict on the recipient */
    { NULL, "550", "550 Callout verification failed: MAIL FROM:<s@x> User unknown in local recipient table", NULL, F, "RCPT", BLOCK, "rejected", "sender-rejected" },
    /* kind 2: a domain that does not exist is hard; a resolver that failed
     * is not, even under 5.4.4 */
    { NULL, NULL, "Sorry, I couldn't find any host named example.invalid. (#5.1.2)", NULL, F, NULL, HARD, "hostunknown", "hostunknown-named" },
    { NULL, NULL, "all relevant MX records point to non-existent hosts", NULL, F, NULL, HARD, "hostunknown", "hostunknown-named" },
    { NULL, NULL, "Unrouteable address", NULL, F, NULL, HARD, "hostunknown", "hostunknown-text" },
    { NULL, NULL, "DNS Error: Address resolution of gmial.con. failed: Domain name not found", NULL, F, NULL, HARD, "hostunknown", "hostunknown-text" },
    { "5.4.4", NULL, "Name service error for name=example.org type=MX: Malformed or unexpected name server reply", NULL, F, NULL, SOFT, "networkerror", "dns-temporary" },
    { "5.4.4", NULL, "Host or domain name not found. Name service error for name=example.invalid type=A: Host not found", NULL, F, NULL, HARD, "hostunknown", "hostunknown-text" },
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
    { "", "", "Name service error for domain example.com: Host not found, try again", NULL, F, NULL, SOFT, "networkerror", "dns-temporary" },
    { "", "", "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1) I'm not going to try again; this message has been in the queue too long.", NULL, F, NULL, SOFT, "networkerror", "qmail-no-conn" },
    { "4.1.9", "", "Resources temporarily unavailable, please try again later [#4.1.9]. I'm not going to try again; this message has been in the queue too long.", NULL, F, NULL, SOFT, "expired", "expired-text" },
    { "", "550", "550 Access denied...", NULL, F, "CONN", BLOCK, "blocked", "conn-rejected" },
    { "5.7.1", "550", "550 5.7.1 Access denied", NULL, F, "MAIL", BLOCK, "rejected", "access-denied" },
    { "", "550", "550 <a@example.jp>: User unknown", NULL, F, NULL, HARD, "userunknown", "userunknown-named" },
    { "", "550", "550 : User unknown", NULL, F, NULL, SOFT, "filtered", "userunknown-filtered" },
    { "", "", "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)", NULL, F, NULL, HARD, "notaccept", "null-mx-text" },
    { "", "", "Could not deliver for the last 432000 seconds. Giving up.", NULL, F, NULL, SOFT, "expired", "expired-text" },
    /* --- user / host --- */
    { "5.1.1", "550", "550 5.1.1 <a@b>: Recipient address rejected: User unknown in local recipient table", NULL, F, "RCPT", HARD, "userunknown", "userunknown-lookup" },
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

#endif
