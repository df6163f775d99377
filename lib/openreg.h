/* openreg.h - open a file whose contents are to be read, and refuse it
 * unless it is a regular file.
 *
 * A configuration, a rules file or a message named on the command line
 * is meant to be a regular file. Anything else can hang the reader or
 * feed it without end: opening a FIFO that has no writer blocks, a
 * device such as /dev/zero never reaches end of file, a unix socket
 * cannot be opened at all. bg_open_regular opens without blocking,
 * looks at what it opened (fstat(2) of the descriptor, not of the name,
 * so the name cannot be swapped in between) and hands back only a
 * regular file.
 */
#ifndef BG_OPENREG_H
#define BG_OPENREG_H

#include <sys/stat.h>
#include <sys/types.h>

/* Returned by bg_open_regular for a name that is not a regular file. */
#define BG_OPEN_NOTREG (-2)

/* Open path read-only with O_NONBLOCK (opening a FIFO without a writer
 * cannot block), O_NOCTTY (a terminal never becomes the controlling one)
 * and O_CLOEXEC, fstat(2) the descriptor and keep it only when it is a
 * regular file; O_NONBLOCK is cleared again before it is returned.
 * Returns the descriptor, its stat in *st; -1 with errno when it cannot
 * be opened; BG_OPEN_NOTREG, nothing left open, when path names something
 * else (a directory too, so a caller that gives directories a meaning of
 * its own can tell), its stat in *st: bg_file_kind(st->st_mode) says
 * what it is. */
int bg_open_regular(const char *path, struct stat *st);

/* What a file of this mode is, for messages: "regular file", "directory",
 * "FIFO", "character device", "block device", "socket", "symbolic link",
 * or "file of unknown type". */
const char *bg_file_kind(mode_t mode);

#endif
