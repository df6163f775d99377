/* lookup-milter.c - the second floor for test/bench/rcpt-bench.sh: the
 * empty milter (empty-milter.c) plus what any milter pays to ask memcached
 * about a recipient, and nothing else. At each RCPT it takes a connection
 * from a libmemcachedutil pool and fetches two keys in one multi-get (the
 * address and its domain, as bouncegate does), without looking at the
 * answer. bouncegate's cost beyond this floor is its own work (parsing and
 * normalizing the address, decoding the record, deciding, logging); its
 * cost beyond the empty milter includes the round trip to memcached,
 * which no milter that asks a shared store can avoid.
 *
 * Usage: lookup-milter SOCKET MEMCACHED-CONFIG
 *   e.g. lookup-milter inet:9000@127.0.0.1 "--SERVER=127.0.0.1:11211 --BINARY-PROTOCOL"
 * Stops on SIGTERM.
 */
#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/pool.h>
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>

static memcached_pool_st *pool;

static sfsistat on_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
    (void)ctx;
    (void)host;
    (void)sa;
    return SMFIS_CONTINUE;
}

static sfsistat on_mail(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

static sfsistat on_rcpt(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    char kr[300], kd[300];
    const char *a = argv[0] != NULL ? argv[0] : "";
    const char *at = strrchr(a, '@');
    int lr = snprintf(kr, sizeof kr, "bench:r:%s", a);
    int ld = snprintf(kd, sizeof kd, "bench:d:%s", at != NULL ? at + 1 : a);
    if (lr < 0 || ld < 0 || (size_t)lr >= sizeof kr || (size_t)ld >= sizeof kd)
        return SMFIS_CONTINUE;
    const char *keys[2] = { kr, kd };
    size_t lens[2] = { (size_t)lr, (size_t)ld };
    memcached_return_t rc;
    memcached_st *m = memcached_pool_fetch(pool, NULL, &rc);
    if (m == NULL)
        return SMFIS_CONTINUE;
    if (memcached_mget(m, keys, lens, 2) == MEMCACHED_SUCCESS) {
        memcached_result_st *res;
        while ((res = memcached_fetch_result(m, NULL, &rc)) != NULL)
            memcached_result_free(res);
    }
    memcached_pool_release(pool, m);
    return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fputs("usage: lookup-milter SOCKET MEMCACHED-CONFIG\n", stderr);
        return 1;
    }
    pool = memcached_pool(argv[2], strlen(argv[2]));
    if (pool == NULL) {
        fputs("lookup-milter: bad memcached configuration\n", stderr);
        return 1;
    }
    memcached_pool_behavior_set(pool, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    struct smfiDesc d = {
        .xxfi_name = "lookup",
        .xxfi_version = SMFI_VERSION,
        .xxfi_connect = on_connect,
        .xxfi_envfrom = on_mail,
        .xxfi_envrcpt = on_rcpt,
    };
    if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(d) == MI_FAILURE) {
        fputs("lookup-milter: cannot set up libmilter\n", stderr);
        return 1;
    }
    int r = smfi_main() == MI_SUCCESS ? 0 : 1;
    memcached_pool_destroy(pool);
    return r;
}
