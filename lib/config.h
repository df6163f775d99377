/* config.h - the one config table of bouncegate and its loader.
 *
 * File format: one "Key value" per line; '#' starts a comment (at line
 * start or after blanks); keys are case-insensitive; the value is the rest
 * of the line with surrounding blanks removed. Every key is declared once,
 * with its type, default and documentation, in config.c's table.
 */
#ifndef BG_CONFIG_H
#define BG_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include "bg.h"
#include "scope.h"
#include "journal.h"

enum bg_scope_mode { BG_SCOPE_OUTBOUND = 0, BG_SCOPE_ALL };

struct bg_config {
    char socket[256];             /* Socket */
    char memcached[1024];         /* Memcached */
    char key_prefix[BG_PREFIX_MAX + 1]; /* KeyPrefix */
    char user_id[64];             /* UserID */
    char pid_file[256];           /* PidFile */
    unsigned socket_mode;         /* SocketMode (octal) */
    int syslog_facility;          /* SyslogFacility (LOG_*) */
    int log_level;                /* LogLevel (LOG_*) */
    char reject_text[256];        /* RejectText */
    unsigned lookup_timeout_ms;   /* LookupTimeout */
    unsigned pool_size;           /* MemcachedPool */
    unsigned warn_interval;       /* WarnInterval (s) */
    unsigned breaker_failures;    /* BreakerFailures (0 = no breaker) */
    unsigned breaker_cooldown_ms; /* BreakerCooldown */
    unsigned mc_failure_limit;    /* MemcachedFailureLimit (0 = libmemcached's) */
    unsigned mc_retry_timeout;    /* MemcachedRetryTimeout (s) */
    unsigned mc_dead_timeout;     /* MemcachedDeadTimeout (s, 0 = not set) */
    char mc_user[128];            /* MemcachedUser (SASL; empty = none) */
    char mc_password_file[256];   /* MemcachedPasswordFile */
    enum bg_scope_mode scope;     /* Scope */
    struct bg_names outbound_daemons;   /* OutboundDaemons */
    int outbound_authenticated;   /* OutboundAuthenticated */
    struct bg_netlist outbound_networks;/* OutboundNetworks */
    struct bg_exempt exempt;      /* ExemptRecipients */
    long long manual_ttl;         /* ManualTTL (s, 0 = never) */
    char rules_file[256];         /* RulesFile */
    size_t max_scan_bytes;        /* MaxScanBytes */
    char policy[512];             /* Policy (class/reason=action list) */
    /* learning (issue 4) */
    unsigned soft_threshold;      /* SoftThreshold */
    long long soft_window;        /* SoftWindow (s) */
    long long soft_ttl;           /* SoftTTL (s, 0 = never) */
    long long hard_ttl;           /* HardTTL */
    long long complaint_ttl;      /* ComplaintTTL */
    unsigned dead_domain_rcpts;   /* DeadDomainRecipients */
    long long dead_domain_ttl;    /* DeadDomainTTL */
    unsigned outage_rcpts;        /* OutageRecipients */
    long long outage_window;      /* OutageWindow */
    char signing_key_file[256];   /* SigningKeyFile */
    long long report_max_age;     /* ReportMaxAge (> 0) */
    char dsn_daemon[64];          /* DSNDaemonName */
    struct bg_exempt report_rcpts;/* ReportRecipients */
    char mail_log[256];           /* MailLog */
    /* durability (issue 5) */
    char journal[256];            /* Journal (empty: off) */
    enum bg_journal_sync journal_sync; /* JournalSync */
    unsigned restore_interval;    /* RestoreInterval (s, 0 = only at start) */
    /* sender statistics (issue 15) */
    unsigned stats_interval;      /* StatsInterval (s, 0 = off) */
    unsigned stats_domains;       /* StatsDomains */
    char metrics_listen[80];      /* MetricsListen: HOST:PORT, "" = off */
    unsigned alert_hard;          /* AlertHardRate, millionths (10000 = 1%) */
    unsigned alert_bounce;        /* AlertBounceRate */
    unsigned alert_complaint;     /* AlertComplaintRate */
    unsigned alert_min;           /* AlertMinRecipients */
    unsigned brake_hard;          /* BrakeHardRate, millionths; 0 = off */
    unsigned brake_min;           /* BrakeMinRecipients */
};

/* Fill *c with the defaults of the table. */
void bg_config_defaults(struct bg_config *c);

/* Largest configuration file read (bytes). */
#define BG_CONFIG_MAX_BYTES (1024 * 1024)

/* Load path over the defaults. Returns 0, or -1 with err holding
 * "FILE:LINE: KEY: problem" (or "FILE: problem" for I/O errors). Only a
 * regular file of at most BG_CONFIG_MAX_BYTES is read: anything else is
 * "FILE: not a regular file (KIND)" or "FILE: too large (...)"; the open
 * never blocks (a FIFO). */
int bg_config_load(struct bg_config *c, const char *path, char *err, size_t errsz);

/* Check a libmilter socket specification as the Socket key (and
 * bouncegate -p) takes it: unix:/abs/path, local:/abs/path, /abs/path
 * (shorter than sun_path, no control bytes), inet:PORT, inet:PORT@HOST,
 * inet6:PORT, inet6:PORT@HOST (PORT decimal 1-65535; HOST for inet a
 * dotted IPv4 address, [IPv4] or a host name of letters, digits, '-'
 * and '.'; for inet6 an IPv6 address, [IPv6] or such a host name). The
 * type is case-insensitive, as for libmilter. Returns 0, or -1 with err
 * holding the problem without a prefix, e.g. "port 99999 out of range
 * (1-65535)"; a caller adds where the value came from. */
int bg_socket_check(const char *spec, char *err, size_t errsz);

/* Parse a duration: "250ms", "5s", "10m", "2h", "30d", "1w", plain number
 * = unit_default_ms milliseconds per unit. Result in milliseconds.
 * Returns 0 or -1. */
int bg_duration_parse(const char *s, long long unit_ms, long long *out_ms);

/* Print every key with its current value (for -n -v). */
void bg_config_print(const struct bg_config *c, FILE *fp);

#endif
