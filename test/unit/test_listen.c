/* test_listen.c - MetricsListen's HOST:PORT (listen.h), table-driven:
 * each spec, whether it parses, and the family, port and address it
 * gives or a piece of the problem it names. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "listen.h"

static const struct {
    const char *spec;
    int ok;
    int family;
    unsigned port;
    const char *addr_or_problem;
} cases[] = {
    { "127.0.0.1:9465", 1, AF_INET, 9465, "127.0.0.1" },
    { "0.0.0.0:1", 1, AF_INET, 1, "0.0.0.0" },
    { "[::1]:65535", 1, AF_INET6, 65535, "::1" },
    { "[2001:db8::5]:80", 1, AF_INET6, 80, "2001:db8::5" },
    { "127.0.0.1:0", 0, 0, 0, "out of range" },
    { "127.0.0.1:65536", 0, 0, 0, "out of range" },
    { "127.0.0.1:", 0, 0, 0, "out of range" },
    { "127.0.0.1:94x", 0, 0, 0, "out of range" },
    { "127.0.0.1:0009465", 0, 0, 0, "out of range" },
    { "localhost:9465", 0, 0, 0, "not a numeric IPv4" },
    { "::1:9465", 0, 0, 0, "not a numeric IPv4" },
    { "[127.0.0.1]:9465", 0, 0, 0, "not a numeric IPv6" },
    { "[::1]9465", 0, 0, 0, "expected [IPv6]:PORT" },
    { "[::1", 0, 0, 0, "expected [IPv6]:PORT" },
    { "9465", 0, 0, 0, "expected ADDRESS:PORT" },
    { "", 0, 0, 0, "expected ADDRESS:PORT" },
};

START_TEST(test_specs)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len = 0;
        char err[200] = "";
        int rc = bg_listen_parse(cases[i].spec, &ss, &len, err, sizeof err);
        ck_assert_msg(rc == (cases[i].ok ? 0 : -1), "%s: rc %d (%s)", cases[i].spec, rc, err);
        if (!cases[i].ok) {
            ck_assert_msg(strstr(err, cases[i].addr_or_problem) != NULL, "%s: problem '%s'",
                          cases[i].spec, err);
            continue;
        }
        char a[64];
        ck_assert_int_eq(ss.ss_family, cases[i].family);
        if (cases[i].family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&ss;
            ck_assert_uint_eq(ntohs(in->sin_port), cases[i].port);
            ck_assert_uint_eq(len, sizeof *in);
            inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
        } else {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&ss;
            ck_assert_uint_eq(ntohs(in6->sin6_port), cases[i].port);
            ck_assert_uint_eq(len, sizeof *in6);
            inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
        }
        ck_assert_str_eq(a, cases[i].addr_or_problem);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("listen");
    TCase *tc = tcase_create("listen");
    tcase_add_test(tc, test_specs);
    suite_add_tcase(s, tc);
    return s;
}

BG_UNIT_MAIN(suite)
