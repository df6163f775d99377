/* proc.h - process set-up shared by the daemons (bouncegate,
 * bouncegate-logwatch): becoming the unprivileged user, going to the
 * background. Errors are written to err, never printed. */
#ifndef BG_PROC_H
#define BG_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* "user" or "user:group" -> ids (group: the user's own unless given). */
int bg_proc_lookup_user(const char *spec, uid_t *uid, gid_t *gid, char *name,
                        size_t namesz, char *err, size_t errsz);
/* The user a daemon started as root becomes: an empty UserID would leave
 * the process that parses strangers' mail running as root, so it is an
 * error there (UserID root says so on purpose). When root: spec must name
 * an existing user. 0, or -1 with err. */
int bg_proc_check_user(const char *spec, char *err, size_t errsz);
/* Become spec (supplementary groups too) and check root cannot be
 * regained. A spec that names root is a no-op. 0 or -1. */
int bg_proc_drop_privileges(const char *spec, char *err, size_t errsz);
/* Detach: fork twice, new session, cwd /, stdio to /dev/null. The parent
 * exits 0; returns 0 in the child or -1 when the first fork fails. */
int bg_proc_daemonize(char *err, size_t errsz);

#endif
