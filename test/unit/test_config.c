/* test_config.c - the config table: defaults, parsing, errors that name
 * file, line and key. */
#include "config.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>
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
    ck_assert_str_eq(c.socket, "unix:/run/bouncegate/bouncegate.sock");
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
    ck_assert_uint_eq(c.breaker_cooldown_ms, 10000);
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
    { "# ok\n\nSocket a\nsocket b\n", 4, "Socket" },
    { "RejectText a\001b\n", 1, "RejectText" },
    /* regressions (fuzz_config): a duration that overflows long long (UB)
     * and sizes whose k/m multiplication wrapped into range */
    { "SoftWindow 1099511627776w\n", 1, "SoftWindow" },
    { "MaxScanBytes 17592186044417m\n", 1, "MaxScanBytes" },
    { "MaxScanBytes 18014398509481985k\n", 1, "MaxScanBytes" },
};

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
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, overlong_line);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, nul_byte);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(make_suite)
