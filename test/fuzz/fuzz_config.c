/* fuzz_config.c - libFuzzer target for the config loader bg_config_load.
 *
 * The loader reads a path, so the input is written to a memfd (reused
 * across runs, truncated each time) and loaded through /proc/self/fd/N;
 * no file system is touched. Invariants:
 *   - the result is 0 or -1;
 *   - on -1 the error message starts with the file name and a ':'
 *     ("FILE:LINE: KEY: problem" or "FILE: problem");
 *   - on 0 every string field is terminated within its array, every list
 *     count is within its bound, and the KeyPrefix still builds keys that
 *     memcached accepts. The loaded values are also printed (to
 *     /dev/null) through bg_config_print. */
#define _GNU_SOURCE
#include "config.h"
#include "key.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];
static FILE *devnull;

#define STR_OK(c, f) (memchr((c)->f, '\0', sizeof (c)->f) != NULL)

static void check_config(const struct bg_config *c)
{
    if (!STR_OK(c, socket) || !STR_OK(c, memcached) || !STR_OK(c, key_prefix) ||
        !STR_OK(c, user_id) || !STR_OK(c, pid_file) || !STR_OK(c, reject_text) ||
        !STR_OK(c, rules_file) || !STR_OK(c, policy) || !STR_OK(c, signing_key_file) ||
        !STR_OK(c, mail_log))
        abort();
    if (c->outbound_daemons.n > BG_NAMES_MAX || c->outbound_networks.n > BG_NET_MAX ||
        c->exempt.n > BG_EXEMPT_MAX || c->report_rcpts.n > BG_EXEMPT_MAX)
        abort();
    for (size_t i = 0; i < c->outbound_daemons.n; i++)
        if (!memchr(c->outbound_daemons.name[i], '\0', sizeof c->outbound_daemons.name[i]))
            abort();
    for (size_t i = 0; i < c->exempt.n; i++)
        if (!memchr(c->exempt.entry[i], '\0', sizeof c->exempt.entry[i]))
            abort();
    for (size_t i = 0; i < c->report_rcpts.n; i++)
        if (!memchr(c->report_rcpts.entry[i], '\0', sizeof c->report_rcpts.entry[i]))
            abort();
    for (size_t i = 0; i < c->outbound_networks.n; i++)
        if (c->outbound_networks.net[i].bits > 128)
            abort();
    char key[BG_KEY_MAX];
    int n = bg_key_build(key, sizeof key, c->key_prefix, BG_KIND_RCPT, "bob@example.com");
    if (n < 0 || n > 250 || !bg_key_bytes_ok(key, (size_t)n))
        abort();
    if (c->socket_mode > 0777 || c->lookup_timeout_ms > 3600000 ||
        c->breaker_cooldown_ms > 3600000 || c->max_scan_bytes < 1024 ||
        c->max_scan_bytes > 64u * 1024 * 1024)
        abort();
    const long long ttls[] = {c->manual_ttl, c->soft_window, c->soft_ttl, c->hard_ttl,
                              c->complaint_ttl, c->dead_domain_ttl, c->outage_window,
                              c->report_max_age};
    for (size_t i = 0; i < sizeof ttls / sizeof ttls[0]; i++)
        if (ttls[i] < 0 || ttls[i] > 86400LL * 3660)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bg_config c; /* large; the fuzzer is single-threaded */
    char err[1024];

    if (fd < 0) {
        fd = memfd_create("bg-fuzz-config", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        devnull = fopen("/dev/null", "w");
        if (!devnull)
            abort();
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();

    bg_config_defaults(&c);
    memset(err, 0, sizeof err);
    int rc = bg_config_load(&c, path, err, sizeof err);
    if (rc == 0) {
        check_config(&c);
        bg_config_print(&c, devnull);
    } else if (rc == -1) {
        size_t pl = strlen(path);
        if (strncmp(err, path, pl) != 0 || err[pl] != ':')
            abort();   /* every error names the file */
    } else {
        abort();
    }
    return 0;
}
