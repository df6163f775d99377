/* store_node.c - one server of a cluster on its own, to refill it after
 * it restarted empty (restore.c).
 *
 * Why not through the cluster's own connections: libmemcached keeps a
 * server that failed out of its distribution for RetryTimeout and
 * DeadTimeout, separately in every pooled connection, and meanwhile sends
 * that server's keys to the next one, where add finds the replica and
 * writes nothing. Replays through the pool therefore refilled the node
 * only when they happened to come after every timeout: on a loaded CI
 * machine three replays in 30 s all added nothing (issue 16's CI run,
 * test/integration/60-cluster.sh). A handle on the node alone has no
 * such memory and writes to it at once.
 *
 * Only the entries the node holds in the cluster are written: those whose
 * first copy is on it or whose replicas are (libmemcached 1.1.4 puts the
 * NUMBER_OF_REPLICAS copies on the servers that follow the first one in
 * the server list). Which server comes first is asked of a fresh clone of
 * the cluster's master, which has never seen a failure.
 */
#include "store_conn.h"
#include "mcerr.h"
#include "err.h"
#include "key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bg_store_node {
    memcached_st *map;     /* the whole cluster, never used for I/O */
    memcached_st *one;     /* the node alone, no replicas */
    uint32_t index;        /* the node's place in map's server list */
    uint32_t count;        /* servers in the cluster */
    uint32_t replicas;     /* NUMBER_OF_REPLICAS, at most count - 1 */
    char prefix[BG_PREFIX_MAX + 1];
};

void bg_store_node_close(struct bg_store_node *n)
{
    if (n == NULL)
        return;
    memcached_free(n->one);
    memcached_free(n->map);
    free(n);
}

struct bg_store_node *bg_store_node_open(struct bg_store *s, const char *name, char *err,
                                         size_t errsz)
{
    struct bg_store_node *n = calloc(1, sizeof *n);
    if (n == NULL) {
        bg_seterr(err, errsz, "out of memory");
        return NULL;
    }
    memcpy(n->prefix, s->prefix, sizeof n->prefix);
    /* The master is only read, as the pool's own clones read it. */
    n->map = memcached_clone(NULL, s->master);
    n->one = memcached_clone(NULL, s->master);
    if (n->map == NULL || n->one == NULL) {
        bg_seterr(err, errsz, "cannot clone the memcached handle");
        bg_store_node_close(n);
        return NULL;
    }
    n->count = memcached_server_count(n->map);
    uint64_t r = memcached_behavior_get(n->map, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS);
    n->replicas = n->count == 0 ? 0 : r >= n->count ? n->count - 1 : (uint32_t)r;
    /* libmemcached writes replicas with the binary protocol only */
    if (!memcached_behavior_get(n->map, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL))
        n->replicas = 0;
    const memcached_instance_st *in = NULL;
    for (uint32_t i = 0; i < n->count; i++) {
        const memcached_instance_st *c = memcached_server_instance_by_position(n->map, i);
        char cname[sizeof ((struct bg_server_epoch *)0)->name];
        if (c == NULL)
            continue;
        snprintf(cname, sizeof cname, "%s:%u", memcached_server_name(c),
                 (unsigned)memcached_server_port(c));
        if (strcmp(cname, name) == 0) {
            in = c;
            n->index = i;
            break;
        }
    }
    if (in == NULL) {
        bg_seterr(err, errsz, "no server %s in the Memcached configuration", name);
        bg_store_node_close(n);
        return NULL;
    }
    /* The clone keeps the protocol, SASL data and failure behaviours; only
     * its server list changes. */
    memcached_servers_reset(n->one);
    memcached_return_t rc;
    if (strcmp(memcached_server_type(in), "SOCKET") == 0)
        rc = memcached_server_add_unix_socket(n->one, memcached_server_name(in));
    else
        rc = memcached_server_add(n->one, memcached_server_name(in),
                                  memcached_server_port(in));
    if (rc == MEMCACHED_SUCCESS)
        rc = memcached_behavior_set(n->one, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS, 0);
    if (rc != MEMCACHED_SUCCESS) {
        bg_seterr(err, errsz, "cannot address server %s: %s", name,
                  memcached_strerror(n->one, rc));
        bg_store_node_close(n);
        return NULL;
    }
    unsigned t = s->timeout_ms;
    memcached_behavior_set(n->one, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, t);
    memcached_behavior_set(n->one, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, t);
    memcached_behavior_set(n->one, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, (uint64_t)t * 1000);
    memcached_behavior_set(n->one, MEMCACHED_BEHAVIOR_SND_TIMEOUT, (uint64_t)t * 1000);
    memcached_behavior_set(n->one, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    return n;
}

int bg_store_node_restore(struct bg_store_node *n, enum bg_kind kind, const char *name,
                          const char *val, size_t vlen, long long expires, char *err,
                          size_t errsz)
{
    char key[BG_KEY_MAX];
    int kl = bg_key_build(key, sizeof key, n->prefix, kind, name);
    if (kl < 0) {
        bg_seterr(err, errsz, "cannot build key");
        return -1;
    }
    uint32_t first = memcached_generate_hash(n->map, key, (size_t)kl);
    if (first >= n->count || (n->index + n->count - first) % n->count > n->replicas)
        return BG_NODE_ELSEWHERE;
    long long exp = 0;
    if (val != NULL && (exp = bg_store_exptime(expires, (long long)time(NULL))) < 0)
        return 0; /* expired meanwhile: nothing to restore */
    memcached_return_t rc;
    if (val != NULL) {
        rc = memcached_add(n->one, key, (size_t)kl, val, vlen, (time_t)exp, 0);
        if (rc == MEMCACHED_SUCCESS)
            return 1;
        if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS)
            return 0;
        bg_mc_seterr(err, errsz, "add", n->one);
        return -1;
    }
    rc = memcached_delete(n->one, key, (size_t)kl, 0);
    if (rc == MEMCACHED_SUCCESS)
        return 1;
    if (rc == MEMCACHED_NOTFOUND)
        return 0;
    bg_mc_seterr(err, errsz, "delete", n->one);
    return -1;
}
