/* secure.c - file permission checks and secrets (see secure.h). */
#include "secure.h"
#include "openreg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_stat(const char *path, const struct stat *st, int secret, char *msg,
                      size_t msgsz)
{
    unsigned mode = (unsigned)(st->st_mode & 07777);
    if (!S_ISREG(st->st_mode)) {
        snprintf(msg, msgsz, "%s: not a regular file", path);
        return -1;
    }
    if (secret && (st->st_mode & (S_IROTH | S_IWOTH | S_IWGRP))) {
        snprintf(msg, msgsz, "%s: unsafe permissions %04o: a secret must not be readable "
                 "by others nor writable by the group (chmod 0640)", path, mode);
        return -1;
    }
    if (st->st_mode & (S_IWOTH | S_IWGRP)) {
        snprintf(msg, msgsz, "%s: unsafe permissions %04o: writable by %s (chmod go-w)",
                 path, mode, (st->st_mode & S_IWOTH) ? "others" : "the group");
        return 1;
    }
    return 0;
}

int bg_file_check(const char *path, int secret, char *msg, size_t msgsz)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(msg, msgsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    return check_stat(path, &st, secret, msg, msgsz);
}

int bg_secret_read(const char *path, char *out, size_t outsz, char *err, size_t errsz)
{
    /* fstat the file that is read, not a name that may change meanwhile;
     * never wait on a FIFO (openreg.h) */
    struct stat st;
    int fd = bg_open_regular(path, &st);
    if (fd == BG_OPEN_NOTREG) {
        snprintf(err, errsz, "%s: not a regular file (%s)", path, bg_file_kind(st.st_mode));
        return -1;
    }
    if (fd < 0) {
        snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (check_stat(path, &st, 1, err, errsz) != 0) {
        close(fd);
        return -1;
    }
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errsz, "%s: read error: %s", path, strerror(errno));
        return -1;
    }
    buf[n] = '\0';
    size_t len = strcspn(buf, "\r\n");
    while (len > 0 && isblank((unsigned char)buf[len - 1]))
        len--;
    int ret = 0;
    if (len == 0) {
        snprintf(err, errsz, "%s: empty first line", path);
        ret = -1;
    } else if (len >= outsz) {
        snprintf(err, errsz, "%s: first line too long (at most %zu bytes)", path, outsz - 1);
        ret = -1;
    } else {
        memcpy(out, buf, len);
        out[len] = '\0';
    }
    memset(buf, 0, sizeof buf);
    return ret;
}

int bg_store_opts_from_config(const struct bg_config *c, struct bg_store_opts *so,
                              char *pw, size_t pwsz, char *err, size_t errsz)
{
    char e[400];
    memset(so, 0, sizeof *so);
    so->config = c->memcached;
    so->prefix = c->key_prefix;
    so->failure_limit = c->mc_failure_limit;
    so->retry_timeout_s = c->mc_retry_timeout;
    so->dead_timeout_s = c->mc_dead_timeout;
    if (pwsz > 0)
        pw[0] = '\0';
    if (c->mc_user[0] == '\0') {
        if (c->mc_password_file[0]) {
            snprintf(err, errsz, "MemcachedPasswordFile is set but MemcachedUser is not");
            return -1;
        }
        return 0;
    }
    if (c->mc_password_file[0] == '\0') {
        snprintf(err, errsz, "MemcachedUser is set but MemcachedPasswordFile is not");
        return -1;
    }
    if (bg_secret_read(c->mc_password_file, pw, pwsz, e, sizeof e) < 0) {
        snprintf(err, errsz, "MemcachedPasswordFile: %s", e);
        return -1;
    }
    so->sasl_user = c->mc_user;
    so->sasl_password = pw;
    return 0;
}

/* ------------------------------------------------------------ files in
 * a directory another user may write (see secure.h) */

int bg_path_dir(const char *path, char *dir, size_t dirsz)
{
    if (snprintf(dir, dirsz, "%s", path) >= (int)dirsz)
        return -1;
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, dirsz, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    return 0;
}

/* The owner of path's directory, or -1 when it cannot be examined. */
static int dir_owner(const char *path, uid_t *uid, gid_t *gid)
{
    char dir[1024];
    struct stat ds;
    if (bg_path_dir(path, dir, sizeof dir) < 0 || stat(dir, &ds) < 0)
        return -1;
    *uid = ds.st_uid;
    *gid = ds.st_gid;
    return 0;
}

/* What was opened must be what we meant: a regular file with one link,
 * owned by root, us or the directory's owner. 0, or -1 with err. */
static int check_opened(int fd, const char *path, char *err, size_t errsz)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "%s: not a regular file", path);
        errno = EINVAL;
        return -1;
    }
    if (st.st_nlink != 1) {
        snprintf(err, errsz, "%s: has %lu links: refusing a hard-linked file", path,
                 (unsigned long)st.st_nlink);
        errno = EMLINK;
        return -1;
    }
    uid_t du = 0;
    gid_t dg;
    if (st.st_uid != 0 && st.st_uid != geteuid() &&
        (dir_owner(path, &du, &dg) < 0 || st.st_uid != du)) {
        snprintf(err, errsz, "%s: owned by uid %lu, neither root, us nor the directory's "
                 "owner", path, (unsigned long)st.st_uid);
        errno = EPERM;
        return -1;
    }
    return 0;
}

/* A file root just made in another user's directory becomes that user's. */
static void give_to_dir_owner(int fd, const char *path)
{
    uid_t du;
    gid_t dg;
    if (geteuid() == 0 && dir_owner(path, &du, &dg) == 0 && du != 0 &&
        fchown(fd, du, dg) < 0) {
        /* best effort: the daemon then cannot append, and says so */
    }
}

static int finish_open(int fd, const char *path, int created, char *err, size_t errsz)
{
    if (check_opened(fd, path, err, errsz) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (created)
        give_to_dir_owner(fd, path);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int bg_open_file(const char *path, int flags, mode_t mode, char *err, size_t errsz)
{
    if (flags & O_TRUNC) {
        snprintf(err, errsz, "%s: O_TRUNC before the check (internal error)", path);
        errno = EINVAL;
        return -1;
    }
    int base = (flags & ~(O_CREAT | O_EXCL)) | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    /* Open what is there; make it only when nothing is (O_EXCL: never
     * through a link planted meanwhile). Bounded: a name that keeps
     * appearing and vanishing is somebody's game. */
    for (int tries = 0; tries < 5; tries++) {
        int fd = open(path, base);
        if (fd >= 0)
            return finish_open(fd, path, 0, err, errsz);
        if (errno == ELOOP) {
            snprintf(err, errsz, "%s: is a symbolic link: refusing to follow it", path);
            return -1;
        }
        if (errno != ENOENT || !(flags & O_CREAT)) {
            int e = errno;
            snprintf(err, errsz, "%s: %s", path, strerror(e));
            errno = e;
            return -1;
        }
        fd = open(path, base | O_CREAT | O_EXCL, mode);
        if (fd >= 0)
            return finish_open(fd, path, 1, err, errsz);
        if (errno != EEXIST) {
            int e = errno;
            snprintf(err, errsz, "%s: %s", path, strerror(e));
            errno = e;
            return -1;
        }
    }
    snprintf(err, errsz, "%s: keeps changing while being opened", path);
    errno = EAGAIN;
    return -1;
}

int bg_open_temp(const char *path, char *tmp, size_t tmpsz, char *err, size_t errsz)
{
    if (snprintf(tmp, tmpsz, "%s.tmp.XXXXXX", path) >= (int)tmpsz) {
        snprintf(err, errsz, "%s: path too long", path);
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd >= 0)
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errsz, "%s: %s", tmp, strerror(e));
        errno = e;
        return -1;
    }
    return finish_open(fd, tmp, 1, err, errsz);
}
