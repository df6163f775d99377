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
#include <sys/types.h>
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

/* The directory part of path ("." for a bare name, "/" for "/x") in dir.
 * 0, or -1 when it does not fit. */
int bg_path_dir(const char *path, char *dir, size_t dirsz);

/* Files in a directory that a less privileged user may write (the
 * journal's, the pid file's): the daemon's user owns the journal directory
 * and parses strangers' mail, so what it plants there must never turn a
 * root bouncegatectl, logwatch or daemon against another file.
 *
 * bg_open_file opens path without following a symbolic link in its last
 * component and without blocking on a FIFO, then checks what it opened: a
 * regular file with exactly one link (not a hard link to a file elsewhere),
 * owned by root, by this process's user or by the directory's owner.
 * flags: O_RDONLY, O_WRONLY or O_RDWR, optionally O_APPEND and O_CREAT
 * (O_TRUNC is refused: truncate with ftruncate after the check). A file
 * that O_CREAT makes is made with O_EXCL; when root makes it in a directory
 * owned by another user, it is given to that user (so the daemon can
 * append to a journal that root's bouncegatectl created first). Returns a
 * blocking O_CLOEXEC descriptor, or -1 with errno (ENOENT: absent, and no
 * O_CREAT) and err "PATH: why". */
int bg_open_file(const char *path, int flags, mode_t mode, char *err, size_t errsz);

/* A new temporary file beside path, "PATH.tmp.XXXXXX" (mkstemp: created
 * with O_EXCL, never an existing name, mode 0600), its name in tmp;
 * handled like a file bg_open_file created. Descriptor or -1 with err. */
int bg_open_temp(const char *path, char *tmp, size_t tmpsz, char *err, size_t errsz);

#endif
