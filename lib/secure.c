/* secure.c - file permission checks and secrets (see secure.h). */
#include "secure.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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
    /* fstat the file that is read, not a name that may change meanwhile */
    int fd = open(path, O_RDONLY | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        close(fd);
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
