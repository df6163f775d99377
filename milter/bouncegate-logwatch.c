/* bouncegate-logwatch - learn delivery outcomes from the MTA's own log.
 *
 *   bouncegate-logwatch [-c FILE] [-f|-F] [-n] [--from-start] [LOGFILE|-]
 *
 * Follows the mail log (the MailLog key, or LOGFILE; "-" reads stdin and
 * exits at its end) like `tail -F`: from the end unless --from-start,
 * reopening from the start when the file is replaced (another inode) or
 * truncated, polling while idle. Every Postfix or Sendmail delivery line
 * (maillog.h) is classified per recipient and handed to the learner with
 * source "log" and the queue id as message key, so a message deferred
 * many times counts as one soft event, and a delivery resets the count.
 *
 * The log is a trusted source: its lines are written by the local MTA.
 * The remote servers' reply texts in it are not trusted for anything but
 * the outcome of their own recipients, and the parser never lets them
 * pose as fields.
 *
 * With StatsInterval, it also counts per sender domain (stats.h) the
 * deliveries (status=sent) and the outcomes it learns: the sender of a
 * queue id is taken from the queue manager's "from=<...>" line (Postfix's
 * qmgr, Sendmail's own), kept in a small cache of recent queue ids.
 *
 * -f stays in the foreground and echoes the log lines to stderr; -n checks
 * the configuration and exits. SIGTERM, SIGINT and SIGHUP stop cleanly.
 * Started as root with UserID set, it becomes that user before opening the
 * log (the user must be able to read it, e.g. be in group adm).
 */
#include "address.h"
#include "bg.h"
#include "err.h"
#include "classify.h"
#include "config.h"
#include "journal.h"
#include "learn.h"
#include "log.h"
#include "proc.h"
#include "maillog.h"
#include "secure.h"
#include "stats.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/bouncegate.conf"
#define LINE_CAP 65536          /* longer lines are dropped whole */
#define POLL_MS 200             /* idle poll interval when following */

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig) { stop_sig = sig; }

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: bouncegate-logwatch [-c FILE] [-f|-F] [-n] [--from-start] [LOGFILE|-]\n"
            "  -c FILE       configuration file (default " DEFAULT_CONFIG ")\n"
            "  -f            stay in the foreground, log to stderr too\n"
            "  -F            stay in the foreground, log to syslog only (systemd)\n"
            "  -n            check the configuration and exit\n"
            "  --from-start  read the file from its start (default: only new lines)\n"
            "  LOGFILE       the mail log to follow (default: MailLog); - = stdin\n");
}

/* ------------------------------------------------------------ learning */

/* The sender domain of recent queue ids: direct-mapped, a newer queue id
 * takes the slot of an older one. A miss costs a figure ("-"), never
 * mail. 16,384 slots, 2.6 MB. */
#define SENDERS 16384
struct sender_slot {
    char qid[32];
    char dom[128];
};

struct ctx {
    struct bg_store *store;
    struct bg_learner learner;
    unsigned long lines, deliveries, events, errors;
    struct bg_stats *stats;      /* NULL: StatsInterval 0 */
    unsigned stats_interval;
    long long last_flush;
    struct sender_slot *senders;
};

static size_t sender_slot(const char *qid)
{
    unsigned long h = 5381;
    for (; *qid; qid++)
        h = h * 33 + (unsigned char)*qid;
    return (size_t)(h % SENDERS);
}

static void sender_note(struct ctx *c, const char *qid, const char *from)
{
    const char *at = strrchr(from, '@');
    struct sender_slot *s = &c->senders[sender_slot(qid)];
    if (at == NULL || strlen(at + 1) >= sizeof s->dom || strlen(qid) >= sizeof s->qid)
        return;
    memcpy(s->qid, qid, strlen(qid) + 1);
    memcpy(s->dom, at + 1, strlen(at + 1) + 1);
}

static const char *sender_of(const struct ctx *c, const char *qid)
{
    const struct sender_slot *s = &c->senders[sender_slot(qid)];
    return strcmp(s->qid, qid) == 0 ? s->dom : "";
}

static void stats_flush(struct ctx *c, int now_anyway)
{
    if (c->stats == NULL)
        return;
    long long now = (long long)time(NULL);
    if (!now_anyway && now - c->last_flush < (long long)c->stats_interval)
        return;
    c->last_flush = now;
    char err[512];
    if (bg_stats_flush(c->stats, c->store, now, err, sizeof err) < 0)
        bg_log(LOG_WARNING, "logwatch", "problem=stats-flush error=\"%s\"", err);
}

/* One learned outcome for the sender's figures: a delivery, or a failure
 * counted once (a repeat of the same message's deferral is a duplicate). */
static void count_outcome(struct ctx *c, const char *qid, const struct bg_verdict *v,
                          const struct bg_event *e, const struct bg_learn_out *out)
{
    if (c->stats == NULL)
        return;
    const char *sender = sender_of(c, qid);
    if (e->delivered) {
        bg_stats_count(c->stats, sender, BG_STAT_DELIVERED);
        return;
    }
    if (out->result == BG_LEARN_DUPLICATE || out->result == BG_LEARN_ERROR)
        return;
    switch (v->cls) {
    case BG_CLASS_HARD:      bg_stats_count(c->stats, sender, BG_STAT_HARD); break;
    case BG_CLASS_SOFT:      bg_stats_count(c->stats, sender, BG_STAT_SOFT); break;
    case BG_CLASS_BLOCK:     bg_stats_count(c->stats, sender, BG_STAT_BLOCK); break;
    case BG_CLASS_COMPLAINT: bg_stats_count(c->stats, sender, BG_STAT_COMPLAINT); break;
    default:                 break;
    }
}

static enum bg_dsn_action action_of(enum bg_log_status s)
{
    switch (s) {
    case BG_LOG_SENT: return BG_ACTION_DELIVERED;
    case BG_LOG_DEFERRED: return BG_ACTION_DELAYED;
    case BG_LOG_BOUNCED: return BG_ACTION_FAILED;
    case BG_LOG_EXPIRED: return BG_ACTION_FAILED;
    case BG_LOG_STATUS_NONE: break;
    }
    return BG_ACTION_UNKNOWN;
}

static void handle_line(struct ctx *c, const char *line, size_t len)
{
    static struct bg_logline l;   /* 11 KB: single-threaded, keep it off the stack */
    c->lines++;
    stats_flush(c, 0);
    if (c->stats != NULL) {
        char qid[32], from[BG_LOG_ADDR_MAX + 1];
        if (bg_maillog_sender(line, len, qid, sizeof qid, from, sizeof from) == 1)
            sender_note(c, qid, from);
    }
    if (bg_maillog_parse(line, len, &l) != 1)
        return;
    c->deliveries++;
    if (l.nrcpt == 0) {
        /* qmgr "status=expired": the recipients were in earlier lines. */
        if (l.rcpt_seen > 0)
            bg_log(LOG_INFO, l.queue_id, "action=ignore reason=no-usable-recipient "
                   "recipients=%u mta=%s", l.rcpt_seen, bg_log_mta_name(l.mta));
        return;
    }
    if (l.rcpt_seen > l.nrcpt)
        bg_log(LOG_NOTICE, l.queue_id, "action=ignore reason=recipients-not-kept "
               "recipients=%u kept=%u mta=%s", l.rcpt_seen, l.nrcpt, bg_log_mta_name(l.mta));

    struct bg_facts f;
    memset(&f, 0, sizeof f);
    f.action = action_of(l.status);
    f.status = l.dsn;
    f.reply_code = l.reply_code;
    f.diag = l.diag;
    f.remote_mta = l.relay;
    f.command = l.command;
    struct bg_verdict v;
    bg_classify(c->learner.rules, &f, &v);

    for (unsigned i = 0; i < l.nrcpt; i++) {
        char norm[BG_ADDR_MAX];
        const char *why = NULL;
        if (bg_addr_normalize(l.rcpt[i], strlen(l.rcpt[i]), norm, sizeof norm, &why) < 0) {
            bg_log(LOG_INFO, l.queue_id, "action=ignore reason=bad-recipient problem=\"%s\" "
                   "source=log", why ? why : "?");
            continue;
        }
        struct bg_event e = {
            .rcpt = norm, .v = &v, .status = l.dsn[0] ? l.dsn : NULL,
            .diag = l.diag[0] ? l.diag : NULL, .source = "log", .id = l.queue_id,
            .msgkey = l.queue_id, .delivered = l.status == BG_LOG_SENT,
            .deferral_counts = 1, .now = 0,
        };
        struct bg_learn_out out;
        if (bg_learn(c->store, &c->learner.cfg, &e, &out) < 0)
            c->errors++;
        c->events++;
        bg_learn_log(l.queue_id, &e, &out);
        count_outcome(c, l.queue_id, &v, &e, &out);
    }
}

/* ------------------------------------------------------------ lines */

struct reader {
    int fd;
    size_t have;
    int skipping;               /* dropping the rest of an over-long line */
    char buf[LINE_CAP];
};

/* Hands every complete line in the buffer to handle_line and keeps the
 * incomplete rest. A line that fills the whole buffer is dropped. */
static void split_lines(struct ctx *c, struct reader *r)
{
    size_t start = 0;
    for (;;) {
        char *nl = memchr(r->buf + start, '\n', r->have - start);
        if (nl == NULL)
            break;
        size_t end = (size_t)(nl - r->buf);
        if (!r->skipping)
            handle_line(c, r->buf + start, end - start);
        r->skipping = 0;
        start = end + 1;
    }
    if (start > 0) {
        memmove(r->buf, r->buf + start, r->have - start);
        r->have -= start;
    }
    if (r->have == sizeof r->buf) {
        if (!r->skipping)
            bg_log(LOG_WARNING, "logwatch", "action=skip reason=line-too-long bytes=%zu+",
                   r->have);
        r->skipping = 1;
        r->have = 0;
    }
}

/* The last line of a file or pipe without its newline. */
static void flush_partial(struct ctx *c, struct reader *r)
{
    if (r->have > 0 && !r->skipping)
        handle_line(c, r->buf, r->have);
    r->have = 0;
    r->skipping = 0;
}

/* Reads what is there. Returns bytes read, 0 at EOF, -1 on error (EINTR
 * counts as 0 bytes with errno EINTR). */
static ssize_t read_some(struct ctx *c, struct reader *r)
{
    ssize_t n = read(r->fd, r->buf + r->have, sizeof r->buf - r->have);
    if (n > 0) {
        r->have += (size_t)n;
        split_lines(c, r);
    }
    return n;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);   /* a signal cuts it short: the caller checks */
}

/* stdin or a pipe: read to the end. */
static int run_stream(struct ctx *c, struct reader *r)
{
    while (!stop_sig) {
        struct pollfd p = { .fd = r->fd, .events = POLLIN };
        int pr = poll(&p, 1, 500);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            bg_log(LOG_ERR, "logwatch", "problem=poll error=\"%s\"", strerror(errno));
            return 1;
        }
        if (pr == 0) {
            stats_flush(c, 0);
            continue;
        }
        ssize_t n = read_some(c, r);
        if (n == 0)
            break;
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            bg_log(LOG_ERR, "logwatch", "problem=read error=\"%s\"", strerror(errno));
            return 1;
        }
    }
    if (!stop_sig)
        flush_partial(c, r);
    return 0;
}

static int open_log(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Follow a file across rotation (rename + new file, or truncation). */
static int run_follow(struct ctx *c, struct reader *r, const char *path, int from_start)
{
    struct stat st;
    int warned_missing = 0, first = 1;
    r->fd = -1;
    while (!stop_sig) {
        if (r->fd < 0) {
            r->fd = open_log(path, &st);
            if (r->fd < 0) {
                if (!warned_missing)
                    bg_log(LOG_WARNING, "logwatch", "problem=cannot-open file=%s "
                           "error=\"%s\" note=\"waiting for it\"", path, strerror(errno));
                warned_missing = 1;
                first = 0;      /* a file that appears later is new: read it all */
                sleep_ms(POLL_MS);
                continue;
            }
            off_t pos = 0;
            if (first && !from_start)
                pos = lseek(r->fd, 0, SEEK_END);
            bg_log(LOG_NOTICE, "logwatch", "action=open file=%s inode=%llu position=%lld",
                   path, (unsigned long long)st.st_ino, (long long)(pos < 0 ? 0 : pos));
            first = 0;
            warned_missing = 0;
            r->have = 0;
            r->skipping = 0;
        }
        ssize_t n = read_some(c, r);
        if (n > 0)
            continue;
        if (n < 0 && errno != EINTR) {
            bg_log(LOG_ERR, "logwatch", "problem=read file=%s error=\"%s\"", path,
                   strerror(errno));
            close(r->fd);
            r->fd = -1;
            sleep_ms(POLL_MS);
            continue;
        }
        if (n < 0)
            continue;
        /* At the end: was the file replaced or truncated? */
        struct stat now;
        if (stat(path, &now) == 0) {
            if (now.st_ino != st.st_ino || now.st_dev != st.st_dev) {
                /* Drain what was written to the old file before the switch. */
                while (!stop_sig && read_some(c, r) > 0)
                    ;
                flush_partial(c, r);
                bg_log(LOG_NOTICE, "logwatch", "action=reopen reason=rotated file=%s", path);
                close(r->fd);
                r->fd = -1;
                continue;
            }
            off_t cur = lseek(r->fd, 0, SEEK_CUR);
            if (cur >= 0 && now.st_size < cur) {
                bg_log(LOG_NOTICE, "logwatch", "action=reopen reason=truncated file=%s", path);
                lseek(r->fd, 0, SEEK_SET);
                r->have = 0;
                r->skipping = 0;
                continue;
            }
        }
        /* else: moved away and no new file yet; keep reading the old one */
        stats_flush(c, 0);
        sleep_ms(POLL_MS);
    }
    if (r->fd >= 0)
        close(r->fd);
    return 0;
}

/* ------------------------------------------------------------ setup */


int main(int argc, char **argv)
{
    const char *config_path = NULL;
    int foreground = 0, echo = 0, check_only = 0, from_start = 0, opt;
    static const struct option longopts[] = {
        { "from-start", no_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    while ((opt = getopt_long(argc, argv, "c:fFnVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'f': foreground = 1; echo = 1; break;
        case 'F': foreground = 1; echo = 0; break;
        case 'n': check_only = 1; break;
        case 'S': from_start = 1; break;
        case 'V': printf("bouncegate-logwatch %s\n", BG_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind > 1) {
        usage(stderr);
        return 2;
    }

    static struct bg_config cfg;
    char err[2048];
    bg_config_defaults(&cfg);
    /* An explicit -c must load; the default file is used when present. */
    if (config_path == NULL && access(DEFAULT_CONFIG, R_OK) == 0)
        config_path = DEFAULT_CONFIG;
    if (config_path != NULL && bg_config_load(&cfg, config_path, err, sizeof err) < 0) {
        bg_err_print(stderr, "bouncegate-logwatch", err);
        return 1;
    }
    const char *cname = config_path ? config_path : "(defaults)";
    const char *path = optind < argc ? argv[optind] : cfg.mail_log;
    if (path[0] == '\0') {
        fprintf(stderr, "bouncegate-logwatch: %s: no MailLog and no LOGFILE argument\n", cname);
        return 1;
    }
    int stream = strcmp(path, "-") == 0;
    /* Daemonizing changes to /: make a relative LOGFILE absolute first. */
    static char abspath[4096];
    if (!stream && path[0] != '/') {
        char cwd[2048];
        if (getcwd(cwd, sizeof cwd) == NULL ||
            (size_t)snprintf(abspath, sizeof abspath, "%s/%s", cwd, path) >= sizeof abspath) {
            fprintf(stderr, "bouncegate-logwatch: %s: path too long\n", path);
            return 1;
        }
        path = abspath;
    }

    static struct ctx c;
    if (bg_learner_setup(&c.learner, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "bouncegate-logwatch: %s: %s\n", cname, err);
        return 1;
    }
    /* Learned suppressions are journalled like every other change (the
     * file is opened at the first append, as the unprivileged user). */
    struct bg_journal *journal = NULL;
    if (cfg.journal[0] &&
        (journal = bg_journal_open(cfg.journal, cfg.journal_sync, err, sizeof err)) == NULL) {
        fprintf(stderr, "bouncegate-logwatch: %s: Journal: %s\n", cname, err);
        bg_learner_free(&c.learner);
        return 1;
    }
    struct bg_store_opts so;
    char pw[512];
    if (bg_store_opts_from_config(&cfg, &so, pw, sizeof pw, err, sizeof err) < 0) {
        fprintf(stderr, "bouncegate-logwatch: %s: %s\n", cname, err);
        bg_journal_close(journal);
        bg_learner_free(&c.learner);
        return 1;
    }
    /* Nobody waits on us: give memcached time rather than lose events. */
    so.timeout_ms = cfg.lookup_timeout_ms < 1000 ? 1000 : cfg.lookup_timeout_ms;
    so.pool_max = 1;
    so.journal = journal;
    c.store = bg_store_open(&so, err, sizeof err);
    memset(pw, 0, sizeof pw);
    if (c.store == NULL) {
        fprintf(stderr, "bouncegate-logwatch: %s: Memcached: %s\n", cname, err);
        bg_journal_close(journal);
        bg_learner_free(&c.learner);
        return 1;
    }
    if (bg_proc_check_user(cfg.user_id, err, sizeof err) < 0) {
        fprintf(stderr, "bouncegate-logwatch: %s: %s\n", cname, err);
        bg_store_close(c.store);
        bg_journal_close(journal);
        bg_learner_free(&c.learner);
        return 1;
    }
    if (check_only) {
        printf("bouncegate-logwatch: %s: configuration OK, log %s\n", cname,
               stream ? "stdin" : path);
        bg_store_close(c.store);
        bg_journal_close(journal);
        bg_learner_free(&c.learner);
        return 0;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;      /* no SA_RESTART: a blocking call returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (geteuid() == 0 && cfg.user_id[0] &&
        bg_proc_drop_privileges(cfg.user_id, err, sizeof err) < 0) {
        fprintf(stderr, "bouncegate-logwatch: %s\n", err);
        return 1;
    }
    /* stdin is the input: never detach from it. */
    if (!foreground && !stream && bg_proc_daemonize(err, sizeof err) < 0) {
        fprintf(stderr, "bouncegate-logwatch: %s\n", err);
        return 1;
    }
    bg_log_open("bouncegate-logwatch", cfg.syslog_facility, cfg.log_level, echo);
    bg_log(LOG_NOTICE, "start", "action=start version=%s file=%s config=%s uid=%ld%s",
           BG_VERSION, stream ? "-" : path, cname, (long)geteuid(),
           from_start ? " from=start" : "");

    if (cfg.stats_interval > 0) {
        c.stats = bg_stats_new(cfg.stats_domains, BG_STATS_SENDERS);
        c.senders = calloc(SENDERS, sizeof *c.senders);
        if (c.stats == NULL || c.senders == NULL) {
            bg_log(LOG_ERR, "start", "problem=out-of-memory what=stats");
            return 1;
        }
        c.stats_interval = cfg.stats_interval;
        c.last_flush = (long long)time(NULL);
    }
    static struct reader r;
    int rc;
    if (stream) {
        r.fd = 0;
        rc = run_stream(&c, &r);
    } else {
        rc = run_follow(&c, &r, path, from_start);
    }
    stats_flush(&c, 1);
    bg_log(LOG_NOTICE, "stop", "action=stop reason=%s lines=%lu deliveries=%lu "
           "recipients=%lu store_errors=%lu",
           stop_sig ? "signal" : stream ? "end-of-input" : "error", c.lines, c.deliveries,
           c.events, c.errors);
    bg_stats_free(c.stats);
    free(c.senders);
    bg_store_close(c.store);
    bg_journal_close(journal);
    bg_learner_free(&c.learner);
    return rc;
}
