/* restore.h - put the suppression set back into memcached from the
 * local journal (journal.h) when memcached lost it.
 *
 * memcached cannot tell "empty because nothing is suppressed" from "empty
 * because it restarted", so a marker key, KeyPrefix + "m:marker", holds a
 * site generation ("UNIXTIME.HOST.PID" of the restore that wrote it):
 *
 *   marker missing          memcached lost the set (or never had one):
 *                           replay the journal, then write a new marker
 *   marker != last seen     another host restored after a loss: replay
 *                           our journal too (its changes are ours only)
 *   marker == last seen     nothing to do, unless one server of several
 *                           restarted since the last check (new pid or
 *                           start time in its stats): the marker may live
 *                           on another node, so the one that came back
 *                           empty is refilled directly, with the entries
 *                           it holds in the cluster (store_node.c)
 *
 * The generation last seen is kept in JOURNAL.gen, so a daemon started
 * after another host restored still adds its own entries. Replaying uses
 * memcached add: an entry written meanwhile is never overwritten;
 * tombstones are honoured and expired entries skipped. Deletes that
 * happened while replaying are applied again from the journal's tail
 * (journal lines are written before memcached, so none is missed).
 * A replay that fails midway leaves the marker unset: the next check
 * starts again, which is harmless since add never overwrites.
 */
#ifndef BG_RESTORE_H
#define BG_RESTORE_H

#include <stddef.h>
#include "store.h"

#define BG_MARKER_NAME "marker"

struct bg_restore_result {
    size_t entries;          /* live entries in the journal */
    size_t added;            /* of those, written (memcached lacked them) */
    size_t present;          /* of those, already in memcached */
    size_t tombstones;       /* deleted keys in the journal */
    size_t tail_deletes;     /* deletes made while replaying, re-applied */
    size_t bad;              /* malformed journal lines skipped */
    double seconds;
};

/* Replay the journal at path into s. 0 or -1 (err; may have replayed
 * part). */
int bg_restore_run(struct bg_store *s, const char *path, struct bg_restore_result *res,
                   char *err, size_t errsz);

/* Replay the journal at path into one server of s ("host:port") alone:
 * the entries it holds in the cluster (store.h, bg_store_node_restore).
 * The counts are of those entries only. 0 or -1 (err). */
int bg_restore_node(struct bg_store *s, const char *node, const char *path,
                    struct bg_restore_result *res, char *err, size_t errsz);

struct bg_restorer {
    struct bg_server_epoch seen[BG_STORE_MAX_SERVERS]; /* servers last seen */
    size_t nseen;
    /* seen[i] restarted: refills of it still to do (two: at once, and
     * again settle_s later for what the cluster wrote elsewhere while its
     * connections still skipped the node), and when the next is due
     * (time(NULL)). */
    unsigned char need[BG_STORE_MAX_SERVERS];
    long long due[BG_STORE_MAX_SERVERS];    /* monotonic seconds */
    unsigned char present[BG_STORE_MAX_SERVERS]; /* answered the last look */
    long long next_due;      /* the earliest due of a present server that
                                needs a refill (0: none), monotonic s */
    unsigned settle_s;       /* set by the caller: RetryTimeout + DeadTimeout */
    char restarted[80];      /* the node refilled (BG_RESTORE_NODE) */
    char path[512];          /* journal */
    char gen[128];           /* generation last seen ("" = unknown) */
    int loaded;              /* gen read from PATH.gen */
};

enum bg_restore_what {
    BG_RESTORE_NOTHING = 0,  /* marker is the one we know */
    BG_RESTORE_RESTORED,     /* marker was missing: replayed, marker set */
    BG_RESTORE_FOLLOWED,     /* another host restored: replayed ours */
    BG_RESTORE_NODE          /* one server restarted (a cluster node that
                                came back empty): replayed, see r->restarted */
};

/* The clock of next_due and due[] (CLOCK_MONOTONIC, seconds). */
long long bg_restore_clock(void);

/* One check (see above). Returns the enum, or -1 with err. The new
 * generation is in r->gen. Not thread-safe per restorer. */
int bg_restore_check(struct bg_restorer *r, struct bg_store *s, const char *journal,
                     struct bg_restore_result *res, char *err, size_t errsz);

#endif
