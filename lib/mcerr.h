/* mcerr.h - a failed memcached call in words an operator reads.
 *
 * libmemcached's own message for a failure ("(0x55cf...) SERVER HAS FAILED
 * AND IS DISABLED UNTIL TIMED RETRY, host: 127.0.0.1:11211 ->
 * ./src/libmemcached/connect.cc:509") names a pointer and a source line.
 * bg_mc_seterr says what happened and to which server instead:
 *
 *   memcached get: cannot reach memcached at 127.0.0.1:11211: Connection refused
 *   memcached get: cannot reach memcached at 127.0.0.1:11211 (failed a moment
 *     ago; not asked again before MemcachedRetryTimeout)
 *   memcached fetch: memcached at 10.0.0.2:11211 did not answer in time (timeout)
 *
 * and falls back to libmemcached's short name of the error (e.g.
 * "AUTHENTICATION FAILURE") for the rest.
 */
#ifndef BG_MCERR_H
#define BG_MCERR_H

#include <stddef.h>
#include <libmemcached/memcached.h>

/* "memcached OP: what went wrong" for the last error of m, into out. */
void bg_mc_seterr(char *out, size_t outsz, const char *op, const memcached_st *m);

#endif
