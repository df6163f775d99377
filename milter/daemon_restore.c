/* daemon_restore.c - the background thread that keeps memcached holding
 * the suppression set (restore.h), the journal tidy, and the deletes of
 * other hosts in this host's journal (delsync.h).
 *
 * It wakes once per second: syncs journal lines written since the last
 * sync (JournalSync interval), and every RestoreInterval (and at start,
 * and within 100 ms of restore_wake: the breaker closed)
 * first reads the delete notes it has not processed yet (at most
 * BG_DELSYNC_BATCH; with more waiting it goes on at the next wake-up)
 * and appends a tombstone for each key still live here with an older
 * put, then checks the marker and replays the journal when memcached
 * lost the set, then looks whether the journal needs compacting. Notes
 * go first, so a replay (a cluster node that came back empty) does not
 * put back what another host deleted. Mail never waits for any of this:
 * the milter workers only ever do their own lookups, which fail open
 * while memcached is empty or down. A failed check is retried at the
 * next interval; failures are logged at most once per WarnInterval.
 */
#include "daemon.h"
#include "delsync.h"
#include "log.h"
#include "restore.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int wake_now;

void restore_wake(void)
{
    atomic_store(&wake_now, 1);
}

static long long mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

/* One restore check; the enum bg_restore_what, or -1. */
static int one_check(struct runtime *r, struct bg_restorer *rs, long long *last_warn)
{
    struct bg_restore_result res;
    char err[512];
    int what = bg_restore_check(rs, r->store, r->cfg.journal, &res, err, sizeof err);
    if (what < 0) {
        long long now = mono_s();
        if (*last_warn == 0 || now - *last_warn >= (long long)r->cfg.warn_interval) {
            *last_warn = now;
            bg_log(LOG_WARNING, "restore", "action=restore-failed entries=%zu error=\"%s\" "
                   "retry_in=%us", res.entries, err,
                   r->cfg.restore_interval ? r->cfg.restore_interval : 1);
        }
        return -1;
    }
    *last_warn = 0;
    if (what == BG_RESTORE_NOTHING)
        return what;
    bg_log(LOG_NOTICE, "restore", "action=restore entries=%zu tombstones=%zu seconds=%.3f "
           "added=%zu present=%zu tail_deletes=%zu bad_lines=%zu reason=%s%s%s generation=%s",
           res.entries, res.tombstones, res.seconds, res.added, res.present,
           res.tail_deletes, res.bad,
           what == BG_RESTORE_RESTORED ? "marker-missing"
           : what == BG_RESTORE_NODE   ? "node-restarted"
                                       : "other-host-restored",
           what == BG_RESTORE_NODE ? " node=" : "", what == BG_RESTORE_NODE ? rs->restarted : "",
           rs->gen);
    return what;
}

/* ------------------------------------------------------------ delete notes */

struct delsync {
    char journal[sizeof ((struct bg_config *)0)->journal]; /* state belongs to it */
    struct bg_delsync_self me;
    unsigned long long done;       /* last note processed (JOURNAL.delseq) */
    unsigned long long prev_head;  /* the counter at the previous read */
    int loaded;
    int more;                      /* notes left over: go on at the next wake-up */
    int restart;                   /* memcached lost data: read from note 1 */
    long long last_warn;
    /* keys tombstoned in this batch (two notes for one key: one line) */
    const struct bg_journal_entry *applied[BG_DELSYNC_BATCH];
};

static void ds_warn(const struct runtime *r, struct delsync *ds, const char *what,
                    const char *err)
{
    long long now = mono_s();
    if (ds->last_warn != 0 && now - ds->last_warn < (long long)r->cfg.warn_interval)
        return;
    ds->last_warn = now;
    bg_log(LOG_WARNING, "delsync", "problem=%s error=\"%s\" done=%llu", what, err, ds->done);
}

struct ds_count {
    size_t tombstones, skipped, missing, bad;
};

/* One note of the batch, as read from memcached. */
struct ds_item {
    unsigned long long seq;
    int good;                      /* parsed: n holds it */
    struct bg_delnote n;
};

/* Read note seq into it: 1 read (good, bad or a gap to step over), 0 stop
 * here (not written yet, or memcached failed: retry later). */
static int ds_read(struct runtime *r, struct delsync *ds, unsigned long long seq,
                   struct ds_item *it, struct ds_count *cnt)
{
    char name[40], val[BG_DELNOTE_MAX + 2], err[512];
    size_t len = 0;
    it->seq = seq;
    it->good = 0;
    if (bg_delsync_note_name(name, sizeof name, seq) < 0)
        return 0;
    int g = bg_store_meta_getn(r->store, name, val, sizeof val, &len, err, sizeof err);
    if (g < 0) {
        ds_warn(r, ds, "read-note", err);
        return 0;
    }
    if (g == 0) {
        /* Numbered at the last read of the counter and still missing: it
         * expired or its writer failed. Numbered since: maybe on its way. */
        if (!bg_delsync_is_gap(seq, ds->prev_head))
            return 0;
        cnt->missing++;
        return 1;
    }
    const char *why = "?";
    size_t vlen = len < sizeof val ? len : sizeof val - 1;
    /* With a key, only this site's signed notes count (delsync.h). */
    if (r->have_signer && bg_delnote_verify(val, vlen, &r->signer, &why) < 0) {
        bg_log(LOG_WARNING, "delsync", "action=skip reason=%s seq=%llu",
               strcmp(why, "unsigned") == 0 ? "unsigned-note" : "bad-mac", seq);
        cnt->bad++;
        return 1;
    }
    if (bg_delnote_parse(val, vlen, &it->n, &why) < 0) {
        bg_log(LOG_WARNING, "delsync", "action=skip reason=bad-note seq=%llu error=\"%s\"",
               seq, why);
        cnt->bad++;
        return 1;
    }
    it->good = 1;
    return 1;
}

/* The keys of the batch's good notes, sorted, so that loading the journal
 * keeps only those (bg_journal_load_keys): memory for the batch, not for
 * a journal of millions of entries. */
struct ds_keys {
    const struct bg_delnote **k;
    size_t n;
};

static int key_cmp(enum bg_kind ka, const char *na, enum bg_kind kb, const char *nb)
{
    if (ka != kb)
        return ka < kb ? -1 : 1;
    return strcmp(na, nb);
}

static int note_cmp(const void *a, const void *b)
{
    const struct bg_delnote *x = *(const struct bg_delnote *const *)a;
    const struct bg_delnote *y = *(const struct bg_delnote *const *)b;
    return key_cmp(x->kind, x->name, y->kind, y->name);
}

static int ds_keep(enum bg_kind kind, const char *name, void *arg)
{
    const struct ds_keys *ks = arg;
    size_t lo = 0, hi = ks->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(kind, name, ks->k[mid]->kind, ks->k[mid]->name);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

/* Decide on one good note and append its tombstone: 1 done, 0 stop here
 * (the journal could not be written: retry later). */
static int ds_apply(struct runtime *r, struct delsync *ds, const struct ds_item *it,
                    const struct bg_journal_set *set, size_t *napplied, struct ds_count *cnt)
{
    char err[512];
    const struct bg_delnote *n = &it->n;
    const struct bg_journal_entry *e = bg_journal_set_find(set, n->kind, n->name);
    enum bg_delsync_decision d = bg_delsync_decide(n, &ds->me, e);
    for (size_t i = 0; d == BG_DS_TOMBSTONE && i < *napplied; i++)
        if (ds->applied[i] == e)
            d = BG_DS_ABSENT;
    char en[BG_ADDR_MAX * 3 + 1];
    if (bg_journal_name_encode(n->name, en, sizeof en) < 0)
        bg_strlcpy(en, "?", sizeof en);
    if (d != BG_DS_TOMBSTONE) {
        bg_log(LOG_DEBUG, "delsync", "action=skip reason=%s kind=%c name=%s from=%s seq=%llu",
               bg_delsync_decision_name(d), (char)n->kind, en, n->host, it->seq);
        cnt->skipped++;
        return 1;
    }
    if (bg_journal_append(r->journal, 0, n->kind, n->name, NULL, err, sizeof err) < 0) {
        ds_warn(r, ds, "journal", err);
        return 0;
    }
    if (*napplied < BG_DELSYNC_BATCH)
        ds->applied[(*napplied)++] = e;
    cnt->tombstones++;
    bg_log(LOG_NOTICE, "delsync", "action=tombstone kind=%c name=%s from=%s seq=%llu "
           "deleted=%lld put=%lld", (char)n->kind, en, n->host, it->seq, n->time, e->ts);
    return 1;
}

/* The batch from..to: read the notes (stopping at the first that is not
 * there yet), load the journal's entries for their keys only, then decide
 * and tombstone in order. Returns the last note processed (from - 1:
 * none), *stopped when it stopped early. */
static unsigned long long ds_batch(struct runtime *r, struct delsync *ds,
                                   unsigned long long from, unsigned long long to,
                                   struct ds_count *cnt, int *stopped)
{
    size_t cap = (size_t)(to - from + 1), n = 0, ngood = 0;
    struct ds_item *items = malloc(cap * sizeof *items);
    const struct bg_delnote **keys = malloc(cap * sizeof *keys);
    unsigned long long done = from - 1;
    *stopped = 1;
    if (items == NULL || keys == NULL) {
        ds_warn(r, ds, "memory", "out of memory");
        goto out;
    }
    *stopped = 0;
    for (unsigned long long seq = from; n < cap; seq++) {
        if (!ds_read(r, ds, seq, &items[n], cnt)) {
            *stopped = 1;
            break;
        }
        if (items[n].good)
            keys[ngood++] = &items[n].n;
        n++;
    }
    struct bg_journal_set *set = NULL;
    if (ngood > 0) {
        char err[512];
        struct ds_keys ks = { keys, ngood };
        qsort(keys, ngood, sizeof *keys, note_cmp);
        if (bg_journal_load_keys(r->cfg.journal, (long long)time(NULL), ds_keep, &ks, &set,
                                 NULL, err, sizeof err) < 0) {
            ds_warn(r, ds, "read-journal", err);
            *stopped = 1;
            goto out;
        }
    }
    size_t napplied = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].good && !ds_apply(r, ds, &items[i], set, &napplied, cnt)) {
            *stopped = 1;
            break;
        }
        done = items[i].seq;
    }
    bg_journal_set_free(set);
out:
    free(items);
    free(keys);
    return done;
}

/* Read the notes not processed yet (at most one batch) and tombstone
 * their keys here; remember how far it got in JOURNAL.delseq. */
static void delsync_run(struct runtime *r, struct delsync *ds)
{
    char val[64], err[512];
    size_t len = 0;
    if (!ds->loaded || strcmp(ds->journal, r->cfg.journal) != 0) {
        bg_strlcpy(ds->journal, r->cfg.journal, sizeof ds->journal);
        bg_delsync_self_init(&ds->me, NULL, r->cfg.journal);
        bg_delsync_state_load(r->cfg.journal, &ds->done);
        ds->prev_head = 0;
        ds->loaded = 1;
    }
    ds->more = 0;
    int f = bg_store_meta_getn(r->store, BG_DELSYNC_SEQ_NAME, val, sizeof val, &len, err,
                               sizeof err);
    if (f < 0) {
        ds_warn(r, ds, "read-counter", err);
        return;
    }
    unsigned long long head = 0, saved = ds->done;
    if (f > 0 && (len >= sizeof val || bg_delsync_seq_parse(val, len, &head) < 0)) {
        ds_warn(r, ds, "bad-counter", "m:" BG_DELSYNC_SEQ_NAME " is not a number");
        return;
    }
    if (ds->restart) {
        bg_log(LOG_NOTICE, "delsync", "action=restart reason=restore done=%llu counter=%llu",
               ds->done, head);
        ds->done = ds->prev_head = 0;
        ds->restart = 0;
    }
    struct bg_delsync_plan p;
    bg_delsync_plan(ds->done, head, BG_DELSYNC_BATCH, &p);
    if (p.reset) {
        bg_log(LOG_NOTICE, "delsync", "action=restart reason=counter-lower done=%llu "
               "counter=%llu", ds->done, head);
        ds->prev_head = 0;
    }
    if (p.skipped)
        bg_log(LOG_WARNING, "delsync", "action=skip reason=backlog notes=%llu counter=%llu",
               p.skipped, head);
    ds->done = p.from - 1;
    struct ds_count cnt = { 0, 0, 0, 0 };
    int stopped = 0;
    if (p.from <= p.to)
        ds->done = ds_batch(r, ds, p.from, p.to, &cnt, &stopped);
    ds->prev_head = head;
    ds->more = !stopped && ds->done < head;
    if (ds->done != saved || p.reset) {
        if (bg_delsync_state_save(r->cfg.journal, ds->done, err, sizeof err) < 0)
            ds_warn(r, ds, "save-state", err);
        bg_log(LOG_INFO, "delsync", "action=read done=%llu counter=%llu tombstones=%zu "
               "skipped=%zu missing=%zu bad=%zu", ds->done, head, cnt.tombstones, cnt.skipped,
               cnt.missing, cnt.bad);
    }
}

static void *restore_thread(void *arg)
{
    (void)arg;
    struct bg_restorer rs;
    memset(&rs, 0, sizeof rs);
    static struct delsync ds;   /* one restore thread */
    memset(&ds, 0, sizeof ds);
    long long last_check = 0, last_warn = 0;
    int first = 1;
    for (;;) {
        int woke = atomic_exchange(&wake_now, 0);   /* cleared, journal or not */
        struct runtime *r = rt_get();
        if (r == NULL)
            break; /* stopping */
        if (r->journal != NULL) {
            char err[512];
            if (bg_journal_flush(r->journal, err, sizeof err) < 0)
                bg_log(LOG_WARNING, "journal", "problem=sync error=\"%s\"", err);
            long long now = mono_s();
            rs.settle_s = r->cfg.mc_retry_timeout + r->cfg.mc_dead_timeout + 1;
            int check = woke || first ||
                        (rs.next_due != 0 && bg_restore_clock() >= rs.next_due) ||
                        (r->cfg.restore_interval &&
                         now - last_check >= (long long)r->cfg.restore_interval);
            if (check || ds.more)
                delsync_run(r, &ds);
            if (check) {
                first = 0;
                last_check = now;
                /* memcached lost data (the notes too): read the notes
                 * written since from the first, at the next wake-up */
                if (one_check(r, &rs, &last_warn) > BG_RESTORE_NOTHING)
                    ds.restart = ds.more = 1;
                int c = bg_journal_maintain(r->journal, (long long)time(NULL),
                                            BG_JOURNAL_COMPACT_MIN, err, sizeof err);
                if (c < 0)
                    bg_log(LOG_WARNING, "journal", "problem=compact error=\"%s\"", err);
                else if (c > 0)
                    bg_log(LOG_NOTICE, "journal", "action=compact journal=%s",
                           r->cfg.journal);
                /* A replay and the journal check each hold the whole
                 * journal in memory for a moment (a million entries: about
                 * 270 MB at the peak); glibc keeps freed heap pages, so
                 * hand them back: measured with a 1,000,000-entry journal,
                 * the daemon's RSS after the restore went from 138 MB to
                 * the figure in docs/rcpt-path.md (Memory). */
                malloc_trim(0);
            }
        }
        rt_put(r);
        rt_unchecked_flush(0);
        /* One second, in tenths, cut short by restore_wake. */
        for (int i = 0; i < 10 && !atomic_load(&wake_now); i++) {
            struct timespec tenth = { 0, 100 * 1000 * 1000 };
            nanosleep(&tenth, NULL);
        }
    }
    return NULL;
}

int restore_start(void)
{
    pthread_t th;
    if (pthread_create(&th, NULL, restore_thread, NULL) != 0)
        return -1;
    pthread_detach(th);
    return 0;
}
