/* bouncegatectl - administer the suppression set.
 *
 *   bouncegatectl [-c FILE] add ADDRESS|@DOMAIN [--reason R] [--class C]
 *                                  [--status X.Y.Z] [--ttl DURATION]
 *   bouncegatectl [-c FILE] del ADDRESS|@DOMAIN
 *   bouncegatectl [-c FILE] show ADDRESS|@DOMAIN
 *   bouncegatectl [-c FILE] classify [--json] [--mbox] [FILE|DIR ...]
 *   bouncegatectl [-c FILE] export [FILE]
 *   bouncegatectl [-c FILE] import [FILE]
 *   bouncegatectl [-c FILE] check [FILE]
 *   bouncegatectl [-c FILE] verify [OPTIONS] [FILE]
 *   bouncegatectl [-c FILE] status
 *
 * "--domain example.com" is the same as "@example.com". Exit status (like
 * grep): show 0 = suppressed, 1 = not, 2 = error; add/del 0 = done,
 * 1 = (del) nothing to delete, 2 = error.
 *
 * del also publishes a delete note in memcached (delsync.h) so that the
 * daemons of the other hosts tombstone the entry in their journals too.
 * That is best effort: when it fails (memcached down) the delete is still
 * in this host's journal, a line on stderr says the other hosts were not
 * told, and the exit status stays the one of the delete itself.
 */
#include "address.h"
#include "bg.h"
#include "config.h"
#include "ctl.h"
#include "delsync.h"
#include "err.h"
#include "log.h"
#include "sign.h"
#include "journal.h"
#include "learn.h"
#include "record.h"
#include "secure.h"
#include "store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/bouncegate.conf"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: bouncegatectl [-c FILE] COMMAND ...\n"
            "  add ADDRESS|@DOMAIN [--reason R] [--class C] [--status X.Y.Z] [--ttl DUR]\n"
            "  del ADDRESS|@DOMAIN\n"
            "  show ADDRESS|@DOMAIN      exit 0 suppressed, 1 not, 2 error\n"
            "  classify [--json] [--mbox] [FILE|DIR...]\n"
            "                                parse and classify bounces (stdin: -;\n"
            "                                DIR: a Maildir or a directory of messages)\n"
            "  export [FILE]             live set (from the Journal) as CSV\n"
            "  import [FILE]             add the entries of a CSV file\n"
            "  check [FILE]              count suppressed addresses, one per line\n"
            "  verify [--json|--csv] [--resolver HOST[:PORT]] [--concurrency N]\n"
            "         [--timeout MS] [--suppress-dead] [FILE]\n"
            "                            one verdict per address of a list, before sending\n"
            "  status                    memcached reachable, readable and writable?\n"
            "  stats [--window 1h|24h|7d] [--sender DOMAIN | --logins] [--json]\n"
            "                            per-sender-domain figures of the fleet\n"
            "  release DOMAIN            lift the brake of a sender domain for an hour\n"
            "  (--domain NAME may be given instead of @NAME)\n");
}

struct target {
    enum bg_kind kind;
    char name[BG_ADDR_MAX];
};

static int parse_target(const char *arg, int is_domain, struct target *t)
{
    const char *why = NULL;
    if (is_domain || arg[0] == '@') {
        t->kind = BG_KIND_DOMAIN;
        if (bg_domain_normalize(arg, strlen(arg), t->name, sizeof t->name, &why) < 0) {
            fprintf(stderr, "bouncegatectl: %s: bad domain: %s\n", arg, why ? why : "?");
            return -1;
        }
        return 0;
    }
    t->kind = BG_KIND_RCPT;
    if (bg_addr_normalize(arg, strlen(arg), t->name, sizeof t->name, &why) < 0) {
        fprintf(stderr, "bouncegatectl: %s: bad address: %s\n", arg, why ? why : "?");
        return -1;
    }
    return 0;
}

static void print_time(const char *label, long long t)
{
    char buf[32];
    struct tm tm;
    time_t tt = (time_t)t;
    if (t == 0 || gmtime_r(&tt, &tm) == NULL)
        snprintf(buf, sizeof buf, "%s", strcmp(label, "expires") == 0 ? "never" : "-");
    else
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%-11s %s\n", label, buf);
}

static void print_record(const char *name, int domain, const struct bg_record *r)
{
    printf("%-11s %s%s\n", "entry", domain ? "@" : "", name);
    printf("%-11s %s\n", "scope", domain ? "domain" : "recipient");
    printf("%-11s %s\n", "class", bg_class_name(r->cls));
    printf("%-11s %s\n", "reason", r->reason[0] ? r->reason : "-");
    printf("%-11s %s\n", "status", r->status[0] ? r->status : "-");
    print_time("first_seen", r->first_seen);
    print_time("last_seen", r->last_seen);
    printf("%-11s %u\n", "count", r->count);
    print_time("expires", r->expires);
    printf("%-11s %s\n", "source", r->source[0] ? r->source : "-");
    printf("%-11s %s\n", "rule", r->rule[0] ? r->rule : "-");
    printf("%-11s %s\n", "id", r->id[0] ? r->id : "-");
    printf("%-11s %s\n", "diag", r->diag[0] ? r->diag : "-");
}

/* The journal the store appends to (Journal), closed with the store. */
static struct bg_journal *ctl_journal;

static struct bg_store *open_store(const struct bg_config *cfg)
{
    char err[512], pw[512];
    if (cfg->journal[0] && ctl_journal == NULL &&
        (ctl_journal = bg_journal_open(cfg->journal, cfg->journal_sync, err,
                                       sizeof err)) == NULL) {
        fprintf(stderr, "bouncegatectl: Journal: %s\n", err);
        return NULL;
    }
    struct bg_store_opts so;
    if (bg_store_opts_from_config(cfg, &so, pw, sizeof pw, err, sizeof err) < 0) {
        fprintf(stderr, "bouncegatectl: %s\n", err);
        return NULL;
    }
    so.timeout_ms = cfg->lookup_timeout_ms < 1000 ? 1000 : cfg->lookup_timeout_ms;
    so.pool_max = 1;
    so.journal = ctl_journal;
    struct bg_store *s = bg_store_open(&so, err, sizeof err);
    memset(pw, 0, sizeof pw);
    if (s == NULL)
        fprintf(stderr, "bouncegatectl: %s\n", err);
    return s;
}

static void close_store(struct bg_store *s)
{
    bg_store_close(s);
    bg_journal_close(ctl_journal);
    ctl_journal = NULL;
}

static int cmd_add(const struct bg_config *cfg, int argc, char **argv)
{
    const char *target = NULL, *reason = "manual", *cls = "manual", *status = NULL;
    int is_domain = 0;
    long long ttl = cfg->manual_ttl;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--domain") == 0 && i + 1 < argc) {
            is_domain = 1;
            target = argv[++i];
        } else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc) {
            reason = argv[++i];
        } else if (strcmp(argv[i], "--class") == 0 && i + 1 < argc) {
            cls = argv[++i];
        } else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc) {
            status = argv[++i];
        } else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
            long long ms;
            const char *v = argv[++i];
            if (strcmp(v, "never") == 0)
                ttl = 0;
            else if (bg_duration_parse(v, 1000, &ms) < 0 || ms < 1000) {
                fprintf(stderr, "bouncegatectl: --ttl %s: expected never or a duration "
                        "such as 3600, 90m, 30d\n", v);
                return 2;
            } else
                ttl = ms / 1000;
        } else if (argv[i][0] != '-' && target == NULL) {
            target = argv[i];
        } else {
            fprintf(stderr, "bouncegatectl: add: %s %s\n",
                    argv[i][0] != '-' ? "a second address:" : "unknown option or missing value:",
                    argv[i]);
            usage(stderr);
            return 2;
        }
    }
    struct target t;
    if (target == NULL) {
        fprintf(stderr, "bouncegatectl: add: no address or @domain given\n");
        usage(stderr);
        return 2;
    }
    if (parse_target(target, is_domain, &t) < 0)
        return 2;
    struct bg_record r;
    memset(&r, 0, sizeof r);
    if (bg_class_parse(cls, &r.cls) < 0) {
        fprintf(stderr, "bouncegatectl: --class %s: expected hard, soft, complaint or "
                "manual\n", cls);
        return 2;
    }
    if (strlen(reason) >= sizeof r.reason ||
        (status != NULL && strlen(status) >= sizeof r.status)) {
        fprintf(stderr, "bouncegatectl: --reason or --status too long\n");
        return 2;
    }
    bg_strlcpy(r.reason, reason, sizeof r.reason);
    if (status != NULL)
        bg_strlcpy(r.status, status, sizeof r.status);
    bg_strlcpy(r.source, "manual", sizeof r.source);
    long long now = (long long)time(NULL);
    r.first_seen = r.last_seen = now;
    r.count = 1;
    r.expires = ttl ? now + ttl : 0;
    struct bg_store *s = open_store(cfg);
    if (s == NULL)
        return 2;
    char err[512];
    /* Keep the evidence of an existing entry: first seen and count. */
    struct bg_record old;
    if (bg_store_get(s, t.kind, t.name, &old, err, sizeof err) == 1) {
        r.first_seen = old.first_seen;
        r.count = old.count + 1;
    }
    int rc = bg_store_put(s, t.kind, t.name, &r, err, sizeof err);
    close_store(s);
    if (rc < 0) {
        fprintf(stderr, "bouncegatectl: add %s: %s\n", target, err);
        return 2;
    }
    printf("added %s%s\n", t.kind == BG_KIND_DOMAIN ? "@" : "", t.name);
    return 0;
}

/* The delete note for the other hosts' journals (best effort). */
static void publish_delete(struct bg_store *s, const struct bg_config *cfg,
                           const struct target *t, const char *target)
{
    struct bg_delsync_self me;
    struct bg_delnote n;
    char err[512];
    unsigned long long seq;
    bg_delsync_self_init(&me, NULL, cfg->journal);
    memset(&n, 0, sizeof n);
    n.time = (long long)time(NULL);
    n.kind = t->kind;
    bg_strlcpy(n.name, t->name, sizeof n.name);
    bg_strlcpy(n.host, me.host, sizeof n.host);
    bg_strlcpy(n.journal, me.journal, sizeof n.journal);
    /* With a SigningKeyFile the other daemons apply signed notes only. */
    struct bg_signer key;
    int signed_ = cfg->signing_key_file[0] != '\0';
    if (signed_ && bg_sign_load_key(cfg->signing_key_file, &key, err, sizeof err) < 0) {
        fprintf(stderr, "bouncegatectl: del %s: other hosts not told (their journals may "
                "bring it back at a restore): SigningKeyFile: %s\n", target, err);
        return;
    }
    int rc = bg_delsync_publish(s, &n, signed_ ? &key : NULL, &seq, err, sizeof err);
    if (signed_)
        memset(&key, 0, sizeof key);
    if (rc < 0)
        fprintf(stderr, "bouncegatectl: del %s: other hosts not told (their journals may "
                "bring it back at a restore; run del again when memcached is up): %s\n",
                target, err);
}

static int cmd_del_show(const struct bg_config *cfg, int del, int argc, char **argv)
{
    const char *target = NULL;
    int is_domain = 0;
    if (argc == 2 && strcmp(argv[0], "--domain") == 0) {
        is_domain = 1;
        target = argv[1];
    } else if (argc == 1) {
        target = argv[0];
    } else {
        fprintf(stderr, "bouncegatectl: %s: expected one ADDRESS, @DOMAIN or --domain "
                "DOMAIN%s%s\n", del ? "del" : "show", argc ? ", got " : "",
                argc ? argv[0] : "");
        usage(stderr);
        return 2;
    }
    struct target t;
    if (parse_target(target, is_domain, &t) < 0)
        return 2;
    struct bg_store *s = open_store(cfg);
    if (s == NULL)
        return 2;
    char err[512];
    int rc;
    if (del) {
        rc = bg_store_del(s, t.kind, t.name, err, sizeof err);
        /* Also after a failure: the journal may have taken the delete
         * although memcached did not, and a note only ever removes
         * entries put before it. */
        publish_delete(s, cfg, &t, target);
        close_store(s);
        if (rc < 0) {
            fprintf(stderr, "bouncegatectl: del %s: %s\n", target, err);
            return 2;
        }
        printf("%s %s%s\n", rc ? "deleted" : "not found:", t.kind == BG_KIND_DOMAIN ? "@" : "",
               t.name);
        return rc ? 0 : 1;
    }
    struct bg_record r;
    int domain_hit = 0;
    if (t.kind == BG_KIND_RCPT) {
        /* The same question the milter asks: address or its domain. */
        const char *d = bg_addr_domain(t.name);
        rc = bg_store_lookup(s, t.name, d ? d : "", &r, &domain_hit, err, sizeof err);
    } else {
        rc = bg_store_get(s, t.kind, t.name, &r, err, sizeof err);
        domain_hit = 1;
    }
    close_store(s);
    if (rc < 0) {
        fprintf(stderr, "bouncegatectl: show %s: %s\n", target, err);
        return 2;
    }
    if (rc == 0) {
        printf("not suppressed: %s%s\n", t.kind == BG_KIND_DOMAIN ? "@" : "", t.name);
        return 1;
    }
    if (domain_hit && t.kind == BG_KIND_RCPT) {
        const char *d = bg_addr_domain(t.name);
        printf("%-11s %s\n", "address", t.name);
        print_record(d ? d : "", 1, &r);
    } else {
        print_record(t.name, t.kind == BG_KIND_DOMAIN, &r);
    }
    return 0;
}

/* status: can this host reach memcached, and read and write there with
 * its credentials? Each server that answers, then a value written and read
 * back (a client without SASL credentials against a SASL memcached reads
 * every key as absent: only a round trip shows it). 0 fine, 2 not. */
static int cmd_status(const struct bg_config *cfg, int argc)
{
    if (argc != 0) {
        usage(stderr);
        return 2;
    }
    struct bg_store *s = open_store(cfg);
    if (s == NULL)
        return 2;
    char err[512], host[65] = "", want[128], got[128];
    struct bg_server_epoch ep[BG_STORE_MAX_SERVERS];
    int n = bg_store_epochs(s, ep, BG_STORE_MAX_SERVERS, err, sizeof err);
    printf("memcached   %s\n", cfg->memcached);
    printf("key prefix  %s\n", cfg->key_prefix);
    for (int i = 0; i < n; i++)
        printf("server      %s up, pid %lld, running for %llds\n", ep[i].name, ep[i].pid,
               (long long)time(NULL) - ep[i].started);
    if (n <= 0) {
        fprintf(stderr, "bouncegatectl: status: no memcached server answered (down, or "
                "refusing this client: MemcachedUser, MemcachedPasswordFile?)%s%s\n",
                n < 0 ? ": " : "", n < 0 ? err : "");
        close_store(s);
        return 2;
    }
    gethostname(host, sizeof host - 1);
    char name[120];
    snprintf(name, sizeof name, "status:%.64s", host);
    snprintf(want, sizeof want, "t=%lld pid=%ld", (long long)time(NULL), (long)getpid());
    int rc = 0;
    if (bg_store_meta_set_ttl(s, name, want, 60, err, sizeof err) < 0) {
        fprintf(stderr, "bouncegatectl: status: cannot write: %s\n", err);
        rc = 2;
    } else if (bg_store_meta_get(s, name, got, sizeof got, err, sizeof err) != 1 ||
               strcmp(got, want) != 0) {
        fprintf(stderr, "bouncegatectl: status: a value just written does not read back%s%s "
                "(SASL credentials missing on this host?)\n", err[0] ? ": " : "", err);
        rc = 2;
    } else {
        printf("read/write  ok\n");
    }
    close_store(s);
    return rc;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int opt;
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    while ((opt = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("bouncegatectl %s\n", BG_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    struct bg_config cfg;
    bg_config_defaults(&cfg);
    char err[2048];
    /* An explicit -c must load; the default file is used when present. */
    if (path == NULL && access(DEFAULT_CONFIG, R_OK) == 0)
        path = DEFAULT_CONFIG;
    if (path != NULL && bg_config_load(&cfg, path, err, sizeof err) < 0) {
        bg_err_print(stderr, "bouncegatectl", err);
        return 2;
    }
    const char *cmd = argv[optind];
    int n = argc - optind - 1;
    char **rest = argv + optind + 1;
    if (strcmp(cmd, "classify") == 0) {
        /* Works without any config file: built-in rules and policy. */
        struct bg_learner l;
        if (bg_learner_setup(&l, &cfg, err, sizeof err) < 0) {
            fprintf(stderr, "bouncegatectl: %s%s%s\n", path ? path : "", path ? ": " : "",
                    err);
            return 2;
        }
        int rc = ctl_classify(n, rest, l.rules, &l.policy, cfg.max_scan_bytes);
        bg_learner_free(&l);
        return rc;
    }
    /* No configuration at all: say which memcached and prefix the
     * defaults mean, rather than write to a memcached nobody named. */
    if (path == NULL)
        fprintf(stderr, "bouncegatectl: no %s and no -c: using the defaults, Memcached %s, "
                "KeyPrefix %s\n", DEFAULT_CONFIG, cfg.memcached, cfg.key_prefix);
    /* What the library logs on our behalf (a journal quarantine) goes to
     * syslog like the daemons' lines, and to the admin's terminal. */
    bg_log_open("bouncegatectl", cfg.syslog_facility, LOG_WARNING, 1);
    if (strcmp(cmd, "export") == 0)
        return ctl_export(&cfg, n, rest);
    if (strcmp(cmd, "import") == 0 || strcmp(cmd, "check") == 0) {
        struct bg_store *s = open_store(&cfg);
        if (s == NULL)
            return 2;
        int rc = cmd[0] == 'i' ? ctl_import(&cfg, s, ctl_journal, n, rest)
                               : ctl_check(s, n, rest);
        close_store(s);
        return rc;
    }
    if (strcmp(cmd, "verify") == 0) {
        struct bg_store *s = open_store(&cfg);
        if (s == NULL)
            return 2;
        int rc = ctl_verify(&cfg, s, n, rest);
        close_store(s);
        return rc;
    }
    if (strcmp(cmd, "stats") == 0 || strcmp(cmd, "release") == 0) {
        struct bg_store *s = open_store(&cfg);
        if (s == NULL)
            return 2;
        int rc = cmd[1] == 't' ? ctl_stats(s, &cfg, n, rest) : ctl_release(s, n, rest);
        close_store(s);
        return rc;
    }
    if (strcmp(cmd, "status") == 0)
        return cmd_status(&cfg, n);
    if (strcmp(cmd, "add") == 0)
        return cmd_add(&cfg, n, rest);
    if (strcmp(cmd, "del") == 0)
        return cmd_del_show(&cfg, 1, n, rest);
    if (strcmp(cmd, "show") == 0)
        return cmd_del_show(&cfg, 0, n, rest);
    fprintf(stderr, "bouncegatectl: unknown command %s\n", cmd);
    usage(stderr);
    return 2;
}
