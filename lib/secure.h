/* secure.h - permission checks of the files that hold secrets or steer the
 * daemon, the SASL password file, and the store options every program
 * builds from the configuration.
 *
 * Policy (what a postmaster expects, as sendmail and postfix check do):
 * - a file holding a secret (SigningKeyFile, MemcachedPasswordFile) must
 *   be readable by nobody but its owner and group, and writable by nobody
 *   but its owner: anything else is refused (the program does not start,
 *   a reload keeps the old configuration);
 * - the configuration file itself holds no secret (the password is only
 *   named by it), so it may be world-readable, but a configuration
 *   writable by the group or by others is warned about, naming the file.
 */
#ifndef BG_SECURE_H
#define BG_SECURE_H

#include <stddef.h>
#include "config.h"
#include "store.h"

/* Checks path's permissions. secret: refuse (-1) when readable or writable
 * by others or writable by the group; otherwise warn (1) when writable by
 * the group or others. 0 when fine. -1 also when it cannot be examined.
 * msg gets "PATH: problem" for -1 and 1. */
int bg_file_check(const char *path, int secret, char *msg, size_t msgsz);

/* Reads the first line of a secret file (trailing blanks and line end
 * removed) after bg_file_check(path, 1). 0, or -1 with err. An empty
 * first line is an error. */
int bg_secret_read(const char *path, char *out, size_t outsz, char *err, size_t errsz);

/* The store options of a configuration: Memcached, KeyPrefix, the
 * failure keys and SASL (the password read from MemcachedPasswordFile into
 * pw, which must outlive *so). Timeouts, pool size and breaker are left
 * for the caller. 0, or -1 with err ("MemcachedPasswordFile: ..."). */
int bg_store_opts_from_config(const struct bg_config *c, struct bg_store_opts *so,
                              char *pw, size_t pwsz, char *err, size_t errsz);

#endif
