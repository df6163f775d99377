/* storetool.c - drive lib/store.c directly, for integration tests.
 *
 * Usage: storetool -c CONF [-d] COMMAND [NAME...]
 *
 *   put NAME...   store a manual hard entry for each name
 *   get NAME...   print "NAME: found CLASS" or "NAME: absent"
 *   del NAME...   print "NAME: deleted" or "NAME: absent"
 *   key NAME...   print the memcached key the name maps to
 *   load          put every line of stdin (bulk: 1,000 in well under a
 *                 second), print "loaded=N failed=M"
 *   refill HOST:PORT  replay the configuration's Journal into that server
 *                 of the cluster alone (bg_restore_node, as the daemon
 *                 does for a node that restarted), print
 *                 "entries=E added=A present=P"
 *
 * The store is opened exactly as the daemon opens it from CONF (Memcached,
 * KeyPrefix, failure keys, SASL), with a deadline of at least 1 s. NAME is
 * given to the store as it is, NOT normalized, after C-style escapes are
 * decoded (\r \n \t \\ \xHH), so tests can hand it what an address
 * normalizer would never let through: blanks, CR LF, control and 8-bit
 * bytes, 1,000-byte names. -d uses domain entries instead of recipients.
 * Output names are printed with those escapes again.
 *
 * Exit: 0 when no call failed, 1 when one did (message on stdout), 2 usage
 * or configuration error.
 */
#include "config.h"
#include "key.h"
#include "record.h"
#include "restore.h"
#include "secure.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void put_esc(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\r') fputs("\\r", stdout);
        else if (*p == '\n') fputs("\\n", stdout);
        else if (*p == '\t') fputs("\\t", stdout);
        else if (*p == '\\') fputs("\\\\", stdout);
        else if (*p < 0x20 || *p >= 0x7f) printf("\\x%02x", *p);
        else putchar(*p);
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes escapes in place; -1 on a bad escape or an escaped NUL. */
static int unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r != '\\') {
            *w++ = *r;
            continue;
        }
        r++;
        switch (*r) {
        case 'r': *w++ = '\r'; break;
        case 'n': *w++ = '\n'; break;
        case 't': *w++ = '\t'; break;
        case '\\': *w++ = '\\'; break;
        case 'x': {
            int h = hexval(r[1]), l = h < 0 ? -1 : hexval(r[2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return -1;
            *w++ = (char)(h * 16 + l);
            r += 2;
            break;
        }
        default:
            return -1;
        }
    }
    *w = '\0';
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: storetool -c CONF [-d] put|get|del|key NAME... | load < names"
                    " | refill HOST:PORT\n");
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    enum bg_kind kind = BG_KIND_RCPT;
    int opt;
    while ((opt = getopt(argc, argv, "c:d")) != -1) {
        switch (opt) {
        case 'c': conf = optarg; break;
        case 'd': kind = BG_KIND_DOMAIN; break;
        default: usage(); return 2;
        }
    }
    if (conf == NULL || optind >= argc) {
        usage();
        return 2;
    }
    const char *cmd = argv[optind++];
    struct bg_config cfg;
    char err[512], pw[512];
    bg_config_defaults(&cfg);
    if (bg_config_load(&cfg, conf, err, sizeof err) < 0) {
        fprintf(stderr, "storetool: %s\n", err);
        return 2;
    }
    if (strcmp(cmd, "key") == 0) {
        for (int i = optind; i < argc; i++) {
            char key[BG_KEY_MAX];
            if (unescape(argv[i]) < 0 ||
                bg_key_build(key, sizeof key, cfg.key_prefix, kind, argv[i]) < 0) {
                printf("cannot build a key\n");
                return 1;
            }
            printf("%s\n", key);
        }
        return 0;
    }
    struct bg_store_opts so;
    if (bg_store_opts_from_config(&cfg, &so, pw, sizeof pw, err, sizeof err) < 0) {
        fprintf(stderr, "storetool: %s\n", err);
        return 2;
    }
    so.timeout_ms = cfg.lookup_timeout_ms < 1000 ? 1000 : cfg.lookup_timeout_ms;
    so.pool_max = 1;
    struct bg_store *s = bg_store_open(&so, err, sizeof err);
    if (s == NULL) {
        fprintf(stderr, "storetool: %s\n", err);
        return 2;
    }
    struct bg_record rec;
    memset(&rec, 0, sizeof rec);
    rec.cls = BG_CLASS_MANUAL;
    snprintf(rec.reason, sizeof rec.reason, "storetool");
    snprintf(rec.source, sizeof rec.source, "manual");
    rec.first_seen = rec.last_seen = (long long)time(NULL);
    rec.count = 1;

    int failed = 0;
    if (strcmp(cmd, "load") == 0) {
        char line[2048];
        unsigned long ok = 0, bad = 0;
        while (fgets(line, sizeof line, stdin) != NULL) {
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0] == '\0')
                continue;
            if (bg_store_put(s, kind, line, &rec, err, sizeof err) == 0)
                ok++;
            else if (bad++ == 0)
                printf("first failure: %s: %s\n", line, err);
        }
        printf("loaded=%lu failed=%lu\n", ok, bad);
        failed = bad > 0;
    } else if (strcmp(cmd, "refill") == 0 && optind + 1 == argc && cfg.journal[0]) {
        struct bg_restore_result res;
        if (bg_restore_node(s, argv[optind], cfg.journal, &res, err, sizeof err) < 0) {
            printf("refill failed: %s\n", err);
            failed = 1;
        } else {
            printf("entries=%zu added=%zu present=%zu\n", res.entries, res.added, res.present);
        }
    } else if (strcmp(cmd, "put") == 0 || strcmp(cmd, "get") == 0 ||
               strcmp(cmd, "del") == 0) {
        for (int i = optind; i < argc; i++) {
            if (unescape(argv[i]) < 0) {
                fprintf(stderr, "storetool: bad escape in argument %d\n", i);
                bg_store_close(s);
                return 2;
            }
            struct bg_record got;
            int rc;
            put_esc(argv[i]);
            if (cmd[0] == 'p') {
                rc = bg_store_put(s, kind, argv[i], &rec, err, sizeof err);
                if (rc == 0)
                    printf(": stored\n");
            } else if (cmd[0] == 'g') {
                rc = bg_store_get(s, kind, argv[i], &got, err, sizeof err);
                if (rc >= 0)
                    printf(": %s%s\n", rc ? "found " : "absent",
                           rc ? bg_class_name(got.cls) : "");
            } else {
                rc = bg_store_del(s, kind, argv[i], err, sizeof err);
                if (rc >= 0)
                    printf(": %s\n", rc ? "deleted" : "absent");
            }
            if (rc < 0) {
                printf(": error %s\n", err);
                failed = 1;
            }
        }
    } else {
        usage();
        bg_store_close(s);
        return 2;
    }
    bg_store_close(s);
    return failed;
}
