/* mcerr.c - a failed memcached call in words an operator reads (see
 * mcerr.h). */
#include "mcerr.h"

#include <stdio.h>
#include <string.h>

void bg_mc_seterr(char *out, size_t outsz, const char *op, const memcached_st *m)
{
    if (out == NULL || outsz == 0)
        return;
    memcached_return_t rc = memcached_last_error(m);
    int e = memcached_last_error_errno(m);
    const memcached_instance_st *srv = memcached_server_get_last_disconnect(m);
    if (srv == NULL && memcached_server_count(m) == 1)   /* only one it can be */
        srv = memcached_server_instance_by_position(m, 0);
    char where[300] = "";
    if (srv != NULL && memcached_server_name(srv) != NULL)
        snprintf(where, sizeof where, " at %s:%u", memcached_server_name(srv),
                 (unsigned)memcached_server_port(srv));
    switch (rc) {
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_CONNECTION_SOCKET_CREATE_FAILURE:
    case MEMCACHED_HOST_LOOKUP_FAILURE:
    case MEMCACHED_ERRNO:
        snprintf(out, outsz, "memcached %s: cannot reach memcached%s: %s", op, where,
                 e ? strerror(e) : "connection failed");
        return;
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
        snprintf(out, outsz, "memcached %s: cannot reach memcached%s%s%s (failed a moment "
                 "ago; not asked again before MemcachedRetryTimeout)", op, where,
                 e ? ": " : "", e ? strerror(e) : "");
        return;
    case MEMCACHED_SERVER_MARKED_DEAD:
        snprintf(out, outsz, "memcached %s: memcached%s is marked dead; not asked again "
                 "before MemcachedDeadTimeout", op, where);
        return;
    case MEMCACHED_TIMEOUT:
        snprintf(out, outsz, "memcached %s: memcached%s did not answer in time (timeout)",
                 op, where);
        return;
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_WRITE_FAILURE:
        snprintf(out, outsz, "memcached %s: lost the connection to memcached%s%s%s", op,
                 where, e ? ": " : "", e ? strerror(e) : "");
        return;
    default:
        snprintf(out, outsz, "memcached %s: %s", op, memcached_strerror(NULL, rc));
        return;
    }
}
