/* restore.c - replay the journal into memcached (see restore.h). */
#include "restore.h"
#include "secure.h"
#include "err.h"
#include "journal.h"
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct replay {
    struct bg_store *s;
    struct bg_store_node *node;  /* non-NULL: that server alone */
    struct bg_restore_result *res;
    int tail;
    char err[256];
};

/* One entry into memcached, or into the node alone. */
static int put_back(struct replay *rp, const struct bg_journal_entry *e, const char *val,
                    size_t vlen, long long expires)
{
    if (rp->node != NULL)
        return bg_store_node_restore(rp->node, e->kind, e->name, val, vlen, expires, rp->err,
                                     sizeof rp->err);
    return bg_store_restore(rp->s, e->kind, e->name, val, vlen, expires, rp->err,
                            sizeof rp->err);
}

static int replay_one(const struct bg_journal_entry *e, void *arg)
{
    struct replay *rp = arg;
    int rc;
    if (rp->tail) {
        /* Only deletes matter here: puts went to memcached themselves. */
        if (e->state != BG_JE_TOMBSTONE)
            return 0;
        rc = put_back(rp, e, NULL, 0, 0);
        if (rc == 1)
            rp->res->tail_deletes++;
        return rc < 0 ? -1 : 0;
    }
    if (e->state == BG_JE_TOMBSTONE) {
        rp->res->tombstones++;
        return 0;
    }
    if (e->state != BG_JE_LIVE)
        return 0;
    rc = put_back(rp, e, e->rec, e->reclen, e->expires);
    if (rc < 0)
        return -1;
    if (rc == BG_NODE_ELSEWHERE)
        return 0;   /* not the node's: not counted */
    rp->res->entries++;
    if (rc > 0)
        rp->res->added++;
    else
        rp->res->present++;
    return 0;
}

static int run(struct bg_store *s, struct bg_store_node *node, const char *path,
               struct bg_restore_result *res, char *err, size_t errsz)
{
    double t0 = mono();
    long long start = (long long)time(NULL);
    struct bg_journal_set *set = NULL;
    struct bg_journal_stats st;
    memset(res, 0, sizeof *res);
    /* Streamed: a journal of millions is read twice, never held. */
    struct replay rp = { .s = s, .node = node, .res = res, .tail = 0, .err = "" };
    int rc = bg_journal_scan(path, start, replay_one, &rp, &st, err, errsz);
    res->bad = st.bad;
    if (rc != 0) {
        if (rp.err[0] != '\0')
            bg_seterr(err, errsz, "%s", rp.err);
        res->seconds = mono() - t0;
        return -1;
    }
    /* Deletes journalled while we replayed: their memcached delete may
     * have come before our add. Journal lines precede memcached writes,
     * so the tail read after our last add holds every such delete. */
    struct bg_journal_stats ts;
    if (bg_journal_load_tail(path, (long long)time(NULL), st.dev, st.ino, st.size, start - 1,
                             &set, &ts, err, errsz) < 0)
        return -1;
    rp.tail = 1;
    rc = bg_journal_set_each(set, replay_one, &rp);
    bg_journal_set_free(set);
    res->seconds = mono() - t0;
    if (rc != 0) {
        bg_seterr(err, errsz, "%s", rp.err);
        return -1;
    }
    return 0;
}

int bg_restore_run(struct bg_store *s, const char *path, struct bg_restore_result *res,
                   char *err, size_t errsz)
{
    return run(s, NULL, path, res, err, errsz);
}

/* Known limit: a node is refilled with add, and the journal's tombstones
 * are applied to it only for deletes made while the refill ran (the
 * tail). A delete made by a client whose pooled connections still skipped
 * the node, between its restart and the second refill, is not repeated on
 * it. Deletes of entries come from bouncegatectl, whose fresh connections
 * reach the node, so the window is small; re-applying every tombstone
 * would also delete entries another host wrote again since. */
int bg_restore_node(struct bg_store *s, const char *node, const char *path,
                    struct bg_restore_result *res, char *err, size_t errsz)
{
    memset(res, 0, sizeof *res);
    struct bg_store_node *n = bg_store_node_open(s, node, err, errsz);
    if (n == NULL)
        return -1;
    int rc = run(s, n, path, res, err, errsz);
    bg_store_node_close(n);
    return rc;
}

/* ------------------------------------------------------------ marker */

static void gen_path(char *out, size_t outsz, const char *journal)
{
    snprintf(out, outsz, "%s.gen", journal);
}

static void load_gen(struct bg_restorer *r)
{
    char p[600];
    r->gen[0] = '\0';
    gen_path(p, sizeof p, r->path);
    char err[700];
    int fd = bg_open_file(p, O_RDONLY, 0, err, sizeof err);
    if (fd < 0)
        return;
    ssize_t n = read(fd, r->gen, sizeof r->gen - 1);
    close(fd);
    r->gen[n > 0 ? n : 0] = '\0';
    r->gen[strcspn(r->gen, "\r\n")] = '\0';
}

/* Best effort: without it the next start replays once more (harmless). */
static void save_gen(const struct bg_restorer *r)
{
    char p[600], tmp[640], err[700];
    gen_path(p, sizeof p, r->path);
    int fd = bg_open_temp(p, tmp, sizeof tmp, err, sizeof err);
    if (fd < 0)
        return;
    fchmod(fd, 0644);
    char line[160];
    int n = snprintf(line, sizeof line, "%s\n", r->gen);
    int ok = n >= 0 && write(fd, line, (size_t)n) == n;
    if (close(fd) < 0 || !ok || rename(tmp, p) < 0)
        unlink(tmp);
}

static void new_gen(char *out, size_t outsz)
{
    char host[65];
    if (gethostname(host, sizeof host) < 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    for (char *h = host; *h; h++)
        if ((unsigned char)*h <= 0x20 || (unsigned char)*h >= 0x7f)
            *h = '_';
    snprintf(out, outsz, "%lld.%s.%ld", (long long)time(NULL), host, (long)getpid());
}

/* A server that did not answer the last look is not tried (it may be
 * down again, or gone from the configuration): no journal read and no
 * connect timeout every 10 s for nothing. Its need stays for when it
 * answers. */
static void set_next_due(struct bg_restorer *r)
{
    r->next_due = 0;
    for (size_t j = 0; j < r->nseen; j++)
        if (r->need[j] && r->present[j] && (r->next_due == 0 || r->due[j] < r->next_due))
            r->next_due = r->due[j];
}

long long bg_restore_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

/* Notes the servers that restarted since the last look (new pid, or
 * started more than a few seconds later) in r->need, when there are
 * several: a single server that restarted lost the marker too, and the
 * whole journal is replayed for it anyway. A server seen for the first
 * time only joins the list. Servers that do not answer keep their entry. */
static void note_restarts(struct bg_restorer *r, struct bg_store *s, long long t)
{
    struct bg_server_epoch now[BG_STORE_MAX_SERVERS];
    int n = bg_store_epochs(s, now, BG_STORE_MAX_SERVERS, NULL, 0);
    if (n < 0)
        return;
    memset(r->present, 0, sizeof r->present);
    for (int i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < r->nseen; j++)
            if (strcmp(r->seen[j].name, now[i].name) == 0)
                break;
        if (j == r->nseen) {
            if (r->nseen < BG_STORE_MAX_SERVERS) {
                r->present[r->nseen] = 1;
                r->seen[r->nseen++] = now[i];
            }
            continue;
        }
        r->present[j] = 1;
        long long d = now[i].started - r->seen[j].started;
        if (r->nseen > 1 && (now[i].pid != r->seen[j].pid || d > 2 || d < -2)) {
            r->need[j] = 2;
            r->due[j] = t;
        }
        r->seen[j] = now[i];
    }
    set_next_due(r);
}

/* Refills one server noted in r->need whose turn has come, straight to it
 * (store_node.c says why not through the pool); BG_RESTORE_NOTHING when
 * none is due. After a failure (the node may have gone again) the next
 * try is 10 s later. */
static int refill_node(struct bg_restorer *r, struct bg_store *s, const char *journal,
                       long long t, struct bg_restore_result *res, char *err, size_t errsz)
{
    for (size_t j = 0; j < r->nseen; j++) {
        if (!r->need[j] || !r->present[j] || r->due[j] > t)
            continue;
        bg_strlcpy(r->restarted, r->seen[j].name, sizeof r->restarted);
        int rc = bg_restore_node(s, r->seen[j].name, journal, res, err, errsz);
        if (rc < 0) {
            r->due[j] = t + 10;
        } else {
            r->need[j]--;
            r->due[j] = t + (r->settle_s ? r->settle_s : 1);
        }
        set_next_due(r);
        return rc < 0 ? -1 : BG_RESTORE_NODE;
    }
    return BG_RESTORE_NOTHING;
}

int bg_restore_check(struct bg_restorer *r, struct bg_store *s, const char *journal,
                     struct bg_restore_result *res, char *err, size_t errsz)
{
    if (!r->loaded || strcmp(r->path, journal) != 0) {
        snprintf(r->path, sizeof r->path, "%s", journal);
        load_gen(r);
        r->loaded = 1;
    }
    char cur[128];
    memset(res, 0, sizeof *res);
    int found = bg_store_meta_get(s, BG_MARKER_NAME, cur, sizeof cur, err, errsz);
    if (found < 0)
        return -1;
    long long t = bg_restore_clock();
    note_restarts(r, s, t);
    if (found && r->gen[0] && strcmp(cur, r->gen) == 0)
        return refill_node(r, s, journal, t, res, err, errsz);
    /* The marker is gone or another host's: the whole journal, through the
     * cluster. A node that restarted is refilled on its own at the next
     * check (r->next_due), since the cluster may not write to it yet. */
    if (bg_restore_run(s, journal, res, err, errsz) < 0)
        return -1;
    if (found) {
        snprintf(r->gen, sizeof r->gen, "%s", cur);
        save_gen(r);
        return BG_RESTORE_FOLLOWED;
    }
    char gen[128];
    new_gen(gen, sizeof gen);
    if (bg_store_meta_set(s, BG_MARKER_NAME, gen, err, errsz) < 0)
        return -1;
    snprintf(r->gen, sizeof r->gen, "%s", gen);
    save_gen(r);
    return BG_RESTORE_RESTORED;
}
