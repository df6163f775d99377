/* test_config.c - the config table: defaults, parsing, errors that name
 * file, line and key. */
#include "config.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static char path[64];

static void write_conf(const char *text)
{
    snprintf(path, sizeof path, "/tmp/bg-test-config-%ld.conf", (long)getpid());
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
}

static int load(const char *text, struct bg_config *c, char *err, size_t errsz)
{
    write_conf(text);
    bg_config_defaults(c);
    int rc = bg_config_load(c, path, err, errsz);
    unlink(path);
    return rc;
}

START_TEST(defaults)
{
    struct bg_config c;
    bg_config_defaults(&c);
    ck_assert_str_eq(c.socket, "unix:/var/spool/postfix/bouncegate/bouncegate.sock");
    ck_assert_str_eq(c.memcached, "--SERVER=127.0.0.1:11211 --BINARY-PROTOCOL");
    ck_assert_str_eq(c.key_prefix, "bg:");
    ck_assert_uint_eq(c.lookup_timeout_ms, 250);
    ck_assert_int_eq(c.log_level, LOG_NOTICE);
    ck_assert_int_eq(c.syslog_facility, LOG_MAIL);
    ck_assert_int_eq(c.scope, BG_SCOPE_OUTBOUND);
    ck_assert_int_eq(c.outbound_authenticated, 1);
    ck_assert_uint_eq(c.exempt.n, 2);
    ck_assert_uint_eq(c.socket_mode, 0660);
    ck_assert_int_eq(c.manual_ttl, 0);
    ck_assert_uint_eq(c.max_scan_bytes, 1024 * 1024);
    ck_assert_uint_eq(c.breaker_failures, 5);
    ck_assert_uint_eq(c.breaker_cooldown_ms, 500);
}
END_TEST

START_TEST(breaker_keys)
{
    struct bg_config c;
    char err[256] = "";
    ck_assert_int_eq(load("BreakerFailures 0\nBreakerCooldown 500ms\n", &c, err,
                          sizeof err), 0);
    ck_assert_uint_eq(c.breaker_failures, 0);
    ck_assert_uint_eq(c.breaker_cooldown_ms, 500);
    ck_assert_int_eq(load("breakercooldown 30s\n", &c, err, sizeof err), 0);
    ck_assert_uint_eq(c.breaker_cooldown_ms, 30000);
    ck_assert_int_eq(load("BreakerCooldown 2h\n", &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":1: BreakerCooldown: "));
    ck_assert_int_eq(load("BreakerFailures -1\n", &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":1: BreakerFailures: "));
}
END_TEST

START_TEST(cluster_sasl_keys)
{
    struct bg_config c;
    char err[256] = "";
    bg_config_defaults(&c);
    ck_assert_uint_eq(c.mc_failure_limit, 0);
    ck_assert_uint_eq(c.mc_retry_timeout, 1);
    ck_assert_uint_eq(c.mc_dead_timeout, 0);
    ck_assert_str_eq(c.mc_user, "");
    ck_assert_str_eq(c.mc_password_file, "");
    ck_assert_int_eq(load("MemcachedFailureLimit 1\nMemcachedRetryTimeout 2s\n"
                          "MemcachedDeadTimeout 1m\nMemcachedUser bg\n"
                          "MemcachedPasswordFile /etc/bouncegate/pw\n", &c, err, sizeof err), 0);
    ck_assert_uint_eq(c.mc_failure_limit, 1);
    ck_assert_uint_eq(c.mc_retry_timeout, 2);
    ck_assert_uint_eq(c.mc_dead_timeout, 60);
    ck_assert_str_eq(c.mc_user, "bg");
    ck_assert_str_eq(c.mc_password_file, "/etc/bouncegate/pw");
    ck_assert_int_eq(load("MemcachedRetryTimeout soon\n", &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":1: MemcachedRetryTimeout: "));
}
END_TEST

START_TEST(full_file)
{
    struct bg_config c;
    char err[256] = "";
    int rc = load("# comment\n"
                  "\n"
                  "socket   inet:8899@127.0.0.1   # trailing comment\n"
                  "MEMCACHED --SERVER=10.0.0.1:11211 --SERVER=10.0.0.2:11211\n"
                  "KeyPrefix site1:\n"
                  "LookupTimeout 2s\n"
                  "LogLevel info\n"
                  "SyslogFacility local3\n"
                  "Scope all\n"
                  "OutboundDaemons submission ORIGINATING\n"
                  "OutboundNetworks 192.0.2.0/24, 2001:db8::/32\n"
                  "ExemptRecipients postmaster@ @example.org\n"
                  "ManualTTL 30d\n"
                  "SocketMode 0600\n"
                  "MaxScanBytes 512k\n"
                  "  RejectText  {rcpt}: no (100%)\r\n",
                  &c, err, sizeof err);
    ck_assert_msg(rc == 0, "load failed: %s", err);
    ck_assert_str_eq(c.socket, "inet:8899@127.0.0.1");
    ck_assert_str_eq(c.memcached, "--SERVER=10.0.0.1:11211 --SERVER=10.0.0.2:11211");
    ck_assert_str_eq(c.key_prefix, "site1:");
    ck_assert_uint_eq(c.lookup_timeout_ms, 2000);
    ck_assert_int_eq(c.log_level, LOG_INFO);
    ck_assert_int_eq(c.syslog_facility, LOG_LOCAL3);
    ck_assert_int_eq(c.scope, BG_SCOPE_ALL);
    ck_assert_uint_eq(c.outbound_daemons.n, 2);
    ck_assert_uint_eq(c.outbound_networks.n, 2);
    ck_assert_uint_eq(c.exempt.n, 2);
    ck_assert_int_eq(c.manual_ttl, 30LL * 86400);
    ck_assert_uint_eq(c.socket_mode, 0600);
    ck_assert_uint_eq(c.max_scan_bytes, 512 * 1024);
    ck_assert_str_eq(c.reject_text, "{rcpt}: no (100%)");
}
END_TEST

/* Each bad file must fail with "FILE:LINE: Key: problem". */
static const struct {
    const char *text;
    unsigned line;
    const char *key;
} bad[] = {
    { "Socket inet:1@x\nNoSuchKey 1\n", 2, "NoSuchKey" },
    { "LookupTimeout soon\n", 1, "LookupTimeout" },
    { "LookupTimeout 2h\n", 1, "LookupTimeout" },
    { "LogLevel loud\n", 1, "LogLevel" },
    { "SyslogFacility kern\n", 1, "SyslogFacility" },
    { "Scope inbound\n", 1, "Scope" },
    { "OutboundAuthenticated maybe\n", 1, "OutboundAuthenticated" },
    { "OutboundNetworks 300.1.1.1/8\n", 1, "OutboundNetworks" },
    { "OutboundNetworks 10.0.0.0/33\n", 1, "OutboundNetworks" },
    { "KeyPrefix has space\n", 1, "KeyPrefix" },
    { "KeyPrefix 01234567890123456789012345678901234567890123456789012345678901234\n", 1,
      "KeyPrefix" },
    { "SocketMode 999\n", 1, "SocketMode" },
    { "MemcachedPool -1\n", 1, "MemcachedPool" },
    { "ManualTTL forever\n", 1, "ManualTTL" },
    { "MaxScanBytes 1g\n", 1, "MaxScanBytes" },
    { "# ok\n\nSocket /a\nsocket /b\n", 4, "Socket" },
    { "Socket inet:99999@127.0.0.1\n", 1, "Socket" },
    { "# ok\nSocket unix:relative\n", 2, "Socket" },
    { "RejectText a\001b\n", 1, "RejectText" },
    /* regressions (fuzz_config): a duration that overflows long long (UB)
     * and sizes whose k/m multiplication wrapped into range */
    { "SoftWindow 1099511627776w\n", 1, "SoftWindow" },
    { "MaxScanBytes 17592186044417m\n", 1, "MaxScanBytes" },
    { "MaxScanBytes 18014398509481985k\n", 1, "MaxScanBytes" },
    { "AlertHardRate 101%\n", 1, "AlertHardRate" },
    { "AlertHardRate 100.5%\n", 1, "AlertHardRate" },
    { "AlertBounceRate -1%\n", 1, "AlertBounceRate" },
    { "AlertComplaintRate 0.12345%\n", 1, "AlertComplaintRate" },
    { "BrakeHardRate 5%%\n", 1, "BrakeHardRate" },
    { "BrakeHardRate .5%\n", 1, "BrakeHardRate" },
    { "BrakeHardRate 5.%\n", 1, "BrakeHardRate" },
    { "MetricsListen localhost:9465\n", 1, "MetricsListen" },
    { "MetricsListen 127.0.0.1:0\n", 1, "MetricsListen" },
};

/* Percentages are kept in millionths: 1% = 10000. */
static const struct {
    const char *text;
    unsigned hard, bounce, complaint, brake;
} percents[] = {
    { "", 10000, 20000, 1000, 0 },
    { "AlertHardRate 5%\nAlertBounceRate 2.5\nAlertComplaintRate 0.0001%\nBrakeHardRate 100%\n",
      50000, 25000, 1, 1000000 },
    { "AlertHardRate 0\nBrakeHardRate 7.35%\n", 0, 20000, 1000, 73500 },
};

START_TEST(percentages)
{
    struct bg_config c;
    char err[512] = "";
    ck_assert_msg(load(percents[_i].text, &c, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.alert_hard, percents[_i].hard);
    ck_assert_uint_eq(c.alert_bounce, percents[_i].bounce);
    ck_assert_uint_eq(c.alert_complaint, percents[_i].complaint);
    ck_assert_uint_eq(c.brake_hard, percents[_i].brake);
    ck_assert_uint_eq(c.alert_min, 100);
}
END_TEST

START_TEST(errors_name_file_line_key)
{
    struct bg_config c;
    char err[512] = "";
    int rc = load(bad[_i].text, &c, err, sizeof err);
    ck_assert_int_eq(rc, -1);
    char want[128];
    snprintf(want, sizeof want, "%s:%u: %s: ", path, bad[_i].line, bad[_i].key);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got '%s', want prefix '%s'", err,
                  want);
}
END_TEST

/* Socket: the forms libmilter takes, with port, host and path checked
 * (libmilter itself turns port 99999 into 34463 with atoi and a cast). */
static const char *const good_sockets[] = {
    "unix:/var/spool/postfix/bouncegate/bouncegate.sock",
    "local:/var/spool/postfix/bouncegate/bg.sock",
    "/run/bg.sock",
    "UNIX:/run/bg.sock",                  /* the type is case-insensitive */
    "unix:/run/with:colon",               /* the path is all after "unix:" */
    "inet:8899",
    "inet:1@127.0.0.1",
    "inet:65535@localhost",
    "inet:08899@mx1.example.com",
    "inet:25@localhost.",
    "inet:25@[192.0.2.1]",
    "inet:8899@0.0.0.0",
    "inet:25@a-b.example",
    "inet6:8899",
    "inet6:8899@::1",
    "inet6:8899@[::1]",
    "inet6:8899@2001:db8::25",
    "inet6:8899@::ffff:192.0.2.1",
    "inet6:8899@ip6-localhost",
    /* 107 bytes of path: the longest that fits sun_path with its NUL */
    ("unix:/2345678901234567890123456789012345678901234567890123456789"
     "012345678901234567890123456789012345678901234567"),
};

static const struct {
    const char *spec;
    const char *why;           /* start of the problem text */
} bad_sockets[] = {
    { "inet:99999@127.0.0.1", "port 99999 out of range (1-65535)" },
    { "inet:0@127.0.0.1", "port 0 out of range (1-65535)" },
    { "inet:65536", "port 65536 out of range (1-65535)" },
    { "inet:18446744073709551617", "port 18446744073709551617 out of range" },
    { "inet:@1.2.3.4", "missing port" },
    { "inet:", "missing port" },
    { "inet6:", "missing port" },
    { "inet:smtp@localhost", "port smtp is not a number" },
    { "inet:-1@localhost", "port -1 is not a number" },
    { "inet:+25@localhost", "port +25 is not a number" },
    { "inet: 25@localhost", "port  25 is not a number" },
    { "inet:80@", "missing host after '@'" },
    { "inet6:80@", "missing host after '@'" },
    { "inet:80@local host", "host local host contains a blank" },
    { "inet:80@300.1.1.1", "300.1.1.1 is not an IPv4 address" },
    { "inet:80@1.2.3", "1.2.3 is not an IPv4 address" },
    { "inet:80@::1", "bad host ::1" },
    { "inet:80@[::1]", "[::1] is not an IPv4 address" },
    { "inet:80@[1.2.3.4", "bad address [1.2.3.4" },
    { "inet:80@[]", "bad address []" },
    { "inet:80@host_name", "bad host host_name" },
    { "inet:80@a..b", "bad host a..b" },
    { "inet:80@.a", "bad host .a" },
    { "inet:80@-a.example", "bad host -a.example" },
    { "inet:80@a-.example", "bad host a-.example" },
    { "inet:80@a@b", "bad host a@b" },
    { "inet6:80@127.0.0.1", "127.0.0.1 is not an IPv6 address" },
    { "inet6:80@::1::2", "::1::2 is not an IPv6 address" },
    { "inet6:80@fe80::1%eth0", "fe80::1%eth0 is not an IPv6 address" },
    { "inet6:80@[192.0.2.1]", "[192.0.2.1] is not an IPv6 address" },
    { "foo:bar", "unknown socket type foo" },
    { ":/run/bg.sock", "unknown socket type " },
    { "tcp:25@localhost", "unknown socket type tcp" },
    { "unix:relative", "unix socket path relative is not absolute" },
    { "local:run/bg.sock", "unix socket path run/bg.sock is not absolute" },
    { "unix:", "missing path of the unix socket" },
    { "relative.sock", "relative.sock: expected unix:/path" },
    { "/run/a:b.sock", "unknown socket type /run/a" },
    { "", "empty socket" },
    { "unix:/run/a\tb", "control character in socket" },
    { "unix:/run/a\x7f", "control character in socket" },
    /* 108 bytes of path: no room for the NUL in sun_path */
    { "unix:/2345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789012345678",
      "unix socket path too long (108 bytes, at most 107)" },
};

START_TEST(socket_good)
{
    char err[256] = "";
    const char *spec = good_sockets[_i];
    ck_assert_msg(bg_socket_check(spec, err, sizeof err) == 0, "'%s' refused: %s", spec, err);
    /* and through the config file, as bouncegate -n reads it */
    struct bg_config c;
    char text[512];
    snprintf(text, sizeof text, "Socket %s\n", spec);
    ck_assert_msg(load(text, &c, err, sizeof err) == 0, "'%s' refused: %s", spec, err);
    ck_assert_str_eq(c.socket, spec);
}
END_TEST

START_TEST(socket_bad)
{
    char err[256] = "";
    const char *spec = bad_sockets[_i].spec, *why = bad_sockets[_i].why;
    ck_assert_msg(bg_socket_check(spec, err, sizeof err) == -1, "'%s' accepted", spec);
    ck_assert_msg(strncmp(err, why, strlen(why)) == 0, "'%s': got '%s', want prefix '%s'",
                  spec, err, why);
    if (spec[0] == '\0' || strpbrk(spec, "\t\x7f") != NULL)
        return; /* the file parser catches those before (empty value, control byte) */
    /* bouncegate -n: "FILE:LINE: Socket: problem", the default kept */
    struct bg_config c;
    char text[512], want[512], ferr[512] = "";
    snprintf(text, sizeof text, "LogLevel info\nSocket %s\n", spec);
    ck_assert_int_eq(load(text, &c, ferr, sizeof ferr), -1);
    snprintf(want, sizeof want, "%s:2: Socket: %s", path, why);
    ck_assert_msg(strncmp(ferr, want, strlen(want)) == 0, "got '%s', want prefix '%s'", ferr,
                  want);
    ck_assert_str_eq(c.socket, "unix:/var/spool/postfix/bouncegate/bouncegate.sock");
}
END_TEST

START_TEST(socket_check_bounds)
{
    /* a short error buffer is cut, never overrun; NULL is no socket */
    char err[8];
    memset(err, 'x', sizeof err);
    ck_assert_int_eq(bg_socket_check("inet:99999@127.0.0.1", err, sizeof err), -1);
    ck_assert_str_eq(err, "port 99");
    ck_assert_int_eq(bg_socket_check("inet:99999", NULL, 0), -1);
    ck_assert_int_eq(bg_socket_check(NULL, NULL, 0), -1);
    /* a value the check accepts but the field cannot hold */
    char text[512], longhost[300], ferr[256];
    memset(longhost, 0, sizeof longhost);
    for (size_t i = 0; i < 250; i += 50)
        memcpy(longhost + i, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.", 50);
    longhost[249] = 'b';
    char spec[320];
    snprintf(spec, sizeof spec, "inet6:65535@%s", longhost);
    ck_assert_int_eq(bg_socket_check(spec, NULL, 0), 0);
    snprintf(text, sizeof text, "Socket %s\n", spec);
    struct bg_config c;
    ck_assert_int_eq(load(text, &c, ferr, sizeof ferr), -1);
    ck_assert_ptr_nonnull(strstr(ferr, ":1: Socket: value too long"));
}
END_TEST

/* Only a regular file is read as a configuration: a FIFO blocked the
 * open (bouncegate -n, the daemon, a reload), /dev/zero was read for ever
 * and /dev/null passed as an empty file. */
START_TEST(not_regular)
{
    struct bg_config c;
    char err[512] = "", fifo[64], want[128];
    bg_config_defaults(&c);
    ck_assert_int_eq(bg_config_load(&c, "/dev/null", err, sizeof err), -1);
    ck_assert_str_eq(err, "/dev/null: not a regular file (character device)");
    ck_assert_int_eq(bg_config_load(&c, "/dev/zero", err, sizeof err), -1);
    ck_assert_str_eq(err, "/dev/zero: not a regular file (character device)");
    ck_assert_int_eq(bg_config_load(&c, "/tmp", err, sizeof err), -1);
    ck_assert_str_eq(err, "/tmp: not a regular file (directory)");
    /* a FIFO nobody writes to: refused at once, not waited on */
    snprintf(fifo, sizeof fifo, "/tmp/bg-test-config-%ld.fifo", (long)getpid());
    unlink(fifo);
    ck_assert_msg(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    ck_assert_int_eq(bg_config_load(&c, fifo, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: not a regular file (FIFO)", fifo);
    ck_assert_str_eq(err, want);
    unlink(fifo);
    /* a link to a regular file is read as the file */
    write_conf("Scope all\n");
    char link[80];
    snprintf(link, sizeof link, "%s.link", path);
    unlink(link);
    ck_assert_int_eq(symlink(path, link), 0);
    ck_assert_int_eq(bg_config_load(&c, link, err, sizeof err), 0);
    ck_assert_int_eq(c.scope, BG_SCOPE_ALL);
    unlink(link);
    unlink(path);
}
END_TEST

START_TEST(too_large)
{
    /* exactly BG_CONFIG_MAX_BYTES of comment lines load; one byte more
     * does not */
    static char text[BG_CONFIG_MAX_BYTES + 2];
    size_t n = BG_CONFIG_MAX_BYTES;
    memset(text, '#', n);
    for (size_t i = 1023; i < n; i += 1024)
        text[i] = '\n';
    text[n] = '\0';
    struct bg_config c;
    char err[256] = "";
    ck_assert_msg(load(text, &c, err, sizeof err) == 0, "%s", err);
    text[n] = '#';
    text[n + 1] = '\0';
    ck_assert_int_eq(load(text, &c, err, sizeof err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s: too large (%d bytes, at most %d)", path,
             BG_CONFIG_MAX_BYTES + 1, BG_CONFIG_MAX_BYTES);
    ck_assert_str_eq(err, want);
}
END_TEST

/* UserID: a key without a value is accepted and leaves user_id empty
 * (the daemon decides what an empty UserID means); quotes are not
 * special, so UserID "" is the two-byte name "". */
START_TEST(empty_user_id)
{
    struct bg_config c;
    char err[256] = "";
    bg_config_defaults(&c);
    ck_assert_str_eq(c.user_id, "bouncegate");
    ck_assert_int_eq(load("UserID\n", &c, err, sizeof err), 0);
    ck_assert_str_eq(c.user_id, "");
    ck_assert_int_eq(load("UserID   \t\n", &c, err, sizeof err), 0);
    ck_assert_str_eq(c.user_id, "");
    ck_assert_int_eq(load("UserID \"\"\n", &c, err, sizeof err), 0);
    ck_assert_str_eq(c.user_id, "\"\"");
}
END_TEST

START_TEST(missing_file)
{
    struct bg_config c;
    char err[256] = "";
    bg_config_defaults(&c);
    ck_assert_int_eq(bg_config_load(&c, "/nonexistent/bouncegate.conf", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/bouncegate.conf: cannot open"));
}
END_TEST

START_TEST(overlong_line)
{
    char big[3000];
    memset(big, 'x', sizeof big - 2);
    memcpy(big, "Socket ", 7);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = '\0';
    struct bg_config c;
    char err[256] = "";
    ck_assert_int_eq(load(big, &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":1: line too long"));
}
END_TEST

START_TEST(durations)
{
    long long ms;
    ck_assert_int_eq(bg_duration_parse("250ms", 1, &ms), 0);
    ck_assert_int_eq(ms, 250);
    ck_assert_int_eq(bg_duration_parse("3", 1000, &ms), 0);
    ck_assert_int_eq(ms, 3000);
    ck_assert_int_eq(bg_duration_parse("2w", 1, &ms), 0);
    ck_assert_int_eq(ms, 14LL * 86400 * 1000);
    ck_assert_int_eq(bg_duration_parse("-1s", 1, &ms), -1);
    ck_assert_int_eq(bg_duration_parse("1y", 1, &ms), -1);
    ck_assert_int_eq(bg_duration_parse("", 1, &ms), -1);
    ck_assert_int_eq(bg_duration_parse("99999999999999999999", 1, &ms), -1);
    /* regression (fuzz_config): v * unit overflowed long long */
    ck_assert_int_eq(bg_duration_parse("1099511627776w", 1, &ms), -1);
    ck_assert_int_eq(bg_duration_parse("1099511627776", 604800000, &ms), -1);
    ck_assert_int_eq(bg_duration_parse("1099511627776d", 1, &ms), -1);
    ck_assert_int_eq(bg_duration_parse("1099511627776s", 1, &ms), 0);
    ck_assert_int_eq(ms, 1099511627776LL * 1000);
}
END_TEST

/* Regression: a NUL byte in a line was never detected (the check ran
 * over strlen(line) bytes), so the rest of the line was silently dropped
 * and a long line with a NUL escaped the length check, its tail read as a
 * line of its own. */
START_TEST(nul_byte)
{
    static const char text[] = "Socket /x\0Memcached y\n";
    struct bg_config c;
    char err[256] = "";
    write_conf("");
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fwrite(text, 1, sizeof text - 1, fp);
    fclose(fp);
    bg_config_defaults(&c);
    ck_assert_int_eq(bg_config_load(&c, path, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":1: NUL byte in line"));

    static char longer[3000];
    memset(longer, 'x', sizeof longer);
    memcpy(longer, "Socket a", 8);
    longer[8] = '\0';
    memcpy(longer + 2047, " Scope all\n", 11);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fwrite(longer, 1, 2047 + 11, fp);
    fclose(fp);
    bg_config_defaults(&c);
    ck_assert_int_eq(bg_config_load(&c, path, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":1: line too long"));
    ck_assert_int_eq(c.scope, BG_SCOPE_OUTBOUND);
    unlink(path);

    /* exactly the longest line is fine, with or without its newline */
    char max[2047 + 2];
    memset(max, 'y', sizeof max);
    max[0] = '#';
    memcpy(max + 2046, "\n", 2);
    ck_assert_int_eq(load(max, &c, err, sizeof err), 0);
    max[2046] = '\0';
    ck_assert_int_eq(load(max, &c, err, sizeof err), 0);
    memcpy(max + 2046, "y\n", 3);
    ck_assert_int_eq(load(max, &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":1: line too long"));
    max[2047] = '\0';
    ck_assert_int_eq(load(max, &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":1: line too long"));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, breaker_keys);
    tcase_add_test(tc, cluster_sasl_keys);
    tcase_add_test(tc, full_file);
    tcase_add_loop_test(tc, errors_name_file_line_key, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_loop_test(tc, percentages, 0, sizeof percents / sizeof percents[0]);
    tcase_add_test(tc, missing_file);
    tcase_add_loop_test(tc, socket_good, 0, (int)(sizeof good_sockets / sizeof good_sockets[0]));
    tcase_add_loop_test(tc, socket_bad, 0, (int)(sizeof bad_sockets / sizeof bad_sockets[0]));
    tcase_add_test(tc, socket_check_bounds);
    tcase_add_test(tc, not_regular);
    tcase_add_test(tc, too_large);
    tcase_add_test(tc, empty_user_id);
    tcase_add_test(tc, overlong_line);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, nul_byte);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
