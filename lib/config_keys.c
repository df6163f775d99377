/* config_keys.c - the one typed table of bouncegate's configuration
 * keys: each key once, with its type, the offset of its field in struct
 * bg_config, its default text and a one-line description. config.c parses
 * a file (and the defaults, through the same code) against it. */
#include "config_int.h"

const struct keydef bg_config_keys[] = {
    { "Socket", KT_SOCKET, F(socket), "unix:/var/spool/postfix/bouncegate/bouncegate.sock",
      "libmilter socket: unix:/path, local:/path, /path, inet:port[@host] or "
      "inet6:port[@host]" },
    { "SocketMode", KT_MODE, F(socket_mode), "0660",
      "permissions of a unix socket (octal)" },
    { "Memcached", KT_STRING, F(memcached), "--SERVER=127.0.0.1:11211 --BINARY-PROTOCOL",
      "libmemcached configuration string" },
    { "MemcachedPool", KT_UINT, F(pool_size), "100",
      "most memcached connections (opened as needed, one per concurrent lookup)" },
    { "MemcachedFailureLimit", KT_UINT, F(mc_failure_limit), "0",
      "failed calls after which a memcached server counts as failed (libmemcached's "
      "SERVER_FAILURE_LIMIT; with --REMOVE-FAILED-SERVERS=1 it is then left out of "
      "the distribution); 0 = as the Memcached string says" },
    { "MemcachedRetryTimeout", KT_SECONDS, F(mc_retry_timeout), "1s",
      "how long a failed memcached server is not asked before it is tried again" },
    { "MemcachedDeadTimeout", KT_SECONDS, F(mc_dead_timeout), "0",
      "how long a removed (dead) memcached server is left out before it is tried "
      "again; 0 = not set (libmemcached's default)" },
    { "MemcachedUser", KT_STRING, F(mc_user), "",
      "SASL user for memcached (needs --BINARY-PROTOCOL); empty = no authentication" },
    { "MemcachedPasswordFile", KT_STRING, F(mc_password_file), "",
      "file whose first line is the SASL password of MemcachedUser; must not be "
      "readable by others (chmod 0640)" },
    { "KeyPrefix", KT_PREFIX, F(key_prefix), "bg:",
      "namespace of every memcached key this site reads and writes" },
    { "LookupTimeout", KT_MS, F(lookup_timeout_ms), "250ms",
      "deadline of one memcached lookup; past it the recipient is accepted" },
    { "WarnInterval", KT_SECONDS, F(warn_interval), "60s",
      "least time between two warnings about the same store failure" },
    { "BreakerFailures", KT_UINT, F(breaker_failures), "5",
      "consecutive memcached failures (timeouts, errors) after which memcached is "
      "not asked for BreakerCooldown and every recipient is accepted; 0 = never" },
    { "BreakerCooldown", KT_MS, F(breaker_cooldown_ms), "500ms",
      "least time between the breaker opening (or a failed probe) and the next "
      "probe; probes come from a background thread, never from a recipient" },
    { "UserID", KT_STRING, F(user_id), "bouncegate",
      "user (or user:group) to run as when started as root" },
    { "PidFile", KT_STRING, F(pid_file), "",
      "file to write the daemon's process id to (empty: none)" },
    { "SyslogFacility", KT_FACILITY, F(syslog_facility), "mail",
      "syslog facility: mail, daemon, user, local0..local7" },
    { "LogLevel", KT_LOGLEVEL, F(log_level), "notice",
      "least severity logged: error, warning, notice, info (each accepted "
      "recipient), debug" },
    { "RejectText", KT_STRING, F(reject_text),
      "{rcpt}: {scope} suppressed after {what} on {since} ({reason})",
      "text of the 550 reply; {rcpt} {scope} {what} {class} {reason} {since} {status}" },
    { "Scope", KT_SCOPE, F(scope), "outbound",
      "outbound: check only mail matched by the Outbound* keys; all: every message" },
    { "OutboundDaemons", KT_NAMES, F(outbound_daemons), "",
      "Postfix {daemon_name} values (milter_macro_daemon_name) that mark outbound mail" },
    { "OutboundAuthenticated", KT_BOOL, F(outbound_authenticated), "yes",
      "mail from a SASL-authenticated client is outbound" },
    { "OutboundNetworks", KT_NETS, F(outbound_networks), "127.0.0.0/8 ::1",
      "client networks whose mail is outbound" },
    { "ExemptRecipients", KT_EXEMPT, F(exempt), "postmaster@ abuse@",
      "never rejected: local@ (any domain), @domain, @.domain, or local@domain" },
    { "ManualTTL", KT_TTL, F(manual_ttl), "never",
      "default lifetime of entries added by bouncegatectl add" },
    { "RulesFile", KT_STRING, F(rules_file), "",
      "site classification rules, consulted before the built-in ones" },
    { "MaxScanBytes", KT_BYTES, F(max_scan_bytes), "1m",
      "most bytes of one bounce message that are parsed" },
    { "Policy", KT_STRING, F(policy), "",
      "overrides of what a class or reason does: e.g. mailboxfull=suppress block=none" },
    { "SoftThreshold", KT_UINT, F(soft_threshold), "3",
      "soft events (separate messages) that suppress a recipient; 0 = never" },
    { "SoftWindow", KT_TTL, F(soft_window), "7d",
      "window in which soft events are counted" },
    { "SoftTTL", KT_TTL, F(soft_ttl), "30d",
      "lifetime of a suppression after repeated soft bounces" },
    { "HardTTL", KT_TTL, F(hard_ttl), "never",
      "lifetime of a suppression after a hard bounce" },
    { "ComplaintTTL", KT_TTL, F(complaint_ttl), "never",
      "lifetime of a suppression after a complaint" },
    { "DeadDomainRecipients", KT_UINT, F(dead_domain_rcpts), "2",
      "distinct recipients failing with hostunknown that suppress their domain; 0 = never" },
    { "DeadDomainTTL", KT_TTL, F(dead_domain_ttl), "30d",
      "lifetime of a dead-domain suppression" },
    { "OutageRecipients", KT_UINT, F(outage_rcpts), "10",
      "more distinct failing recipients of one domain than this within OutageWindow "
      "is an outage: not counted against anyone; 0 = off" },
    { "OutageWindow", KT_TTL, F(outage_window), "10m",
      "window of the outage detection" },
    { "SigningKeyFile", KT_STRING, F(signing_key_file), "",
      "secret that tags outbound mail so returned bounces and complaints can be "
      "verified; empty: reports from outside are never trusted" },
    { "ReportMaxAge", KT_AGE, F(report_max_age), "30d",
      "oldest sending time a returned report is trusted for (1h to 366d; there is "
      "no \"never\": a tag is not a proof forever)" },
    { "DSNDaemonName", KT_STRING, F(dsn_daemon), "bouncegate-dsn",
      "the milter_macro_daemon_name of the cleanup service Postfix's bounce and "
      "defer daemons use (cleanup_service_name): null-sender mail on the "
      "non-SMTP path with this {daemon_name} is Postfix's own DSN and trusted; "
      "empty: none is" },
    { "ReportRecipients", KT_EXEMPT, F(report_rcpts), "",
      "addresses that receive bounces and feedback reports (return path, FBL "
      "mailbox): mail to them is parsed as a report" },
    { "MailLog", KT_STRING, F(mail_log), "",
      "mail log that bouncegate-logwatch follows (a file, or - for stdin)" },
    { "Journal", KT_STRING, F(journal), "",
      "local append-only journal of every suppression change made on this host, "
      "replayed into memcached when memcached lost the set; empty: off "
      "(production: /var/lib/bouncegate/journal)" },
    { "JournalSync", KT_JSYNC, F(journal_sync), "interval",
      "when journal lines reach the disk: always (fdatasync per line), interval "
      "(at most once per second), never (the kernel decides)" },
    { "RestoreInterval", KT_SECONDS, F(restore_interval), "10s",
      "how often the daemon checks that memcached still holds the set (its marker "
      "key) and restores it from the Journal; 0 = only at start" },
    { "StatsInterval", KT_SECONDS, F(stats_interval), "10s",
      "how often the per-sender-domain counts go to memcached (bouncegatectl stats); "
      "0 = not counted" },
    { "MetricsListen", KT_LISTEN, F(metrics_listen), "",
      "ADDRESS:PORT of the metrics and status page listener (/metrics, /); "
      "empty: none. Loopback unless a firewall guards it: the page names senders" },
    { "AlertHardRate", KT_PERCENT, F(alert_hard), "1%",
      "a sender domain's hard bounces over the last hour above this share of its "
      "recipients sent: one action=alert line for the fleet; 0: never" },
    { "AlertBounceRate", KT_PERCENT, F(alert_bounce), "2%",
      "the same for all bounces (hard, soft and block)" },
    { "AlertComplaintRate", KT_PERCENT, F(alert_complaint), "0.1%",
      "the same for complaints" },
    { "AlertMinRecipients", KT_UINT, F(alert_min), "100",
      "recipients a sender domain must have sent in the hour before any rate is judged "
      "(alerts, the brake, the marks of bouncegatectl stats and of the status page)" },
    { "BrakeHardRate", KT_PERCENT, F(brake_hard), "0",
      "a sender domain whose hard bounces over the last hour pass this share gets 451 "
      "4.7.1 at MAIL FROM (SMTP only) until the rate falls or bouncegatectl release; "
      "0: off" },
    { "BrakeMinRecipients", KT_UINT, F(brake_min), "100",
      "recipients a sender domain must have sent in the hour before the brake judges it" },
    { "StatsDomains", KT_UINT, F(stats_domains), "100",
      "sender domains counted by name per hour; the rest count as \"other\"" },
};
const size_t bg_config_nkeys = sizeof bg_config_keys / sizeof bg_config_keys[0];

_Static_assert(sizeof bg_config_keys / sizeof bg_config_keys[0] <= BG_CONFIG_KEYS_MAX,
               "raise BG_CONFIG_KEYS_MAX");
