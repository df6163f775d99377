/* proc.c - privilege drop and daemonizing (see proc.h). */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int bg_proc_lookup_user(const char *spec, uid_t *uid, gid_t *gid, char *name,
                        size_t namesz, char *err, size_t errsz)
{
    char buf[64];
    if (snprintf(buf, sizeof buf, "%s", spec) >= (int)sizeof buf) {
        snprintf(err, errsz, "UserID %.64s: too long", spec);
        return -1;
    }
    char *grp = strchr(buf, ':');
    if (grp != NULL)
        *grp++ = '\0';
    struct passwd *pw = getpwnam(buf);
    if (pw == NULL) {
        snprintf(err, errsz, "UserID %s: no such user", buf);
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    snprintf(name, namesz, "%s", buf);
    if (grp != NULL && *grp != '\0') {
        struct group *gr = getgrnam(grp);
        if (gr == NULL) {
            snprintf(err, errsz, "UserID %s: no such group %s", spec, grp);
            return -1;
        }
        *gid = gr->gr_gid;
    }
    return 0;
}

int bg_proc_check_user(const char *spec, char *err, size_t errsz)
{
    if (geteuid() != 0)
        return 0;
    if (spec == NULL || spec[0] == '\0') {
        snprintf(err, errsz, "UserID is empty: started as root, the daemon would stay root "
                 "(name its user, e.g. UserID bouncegate; UserID root to mean it)");
        return -1;
    }
    uid_t u;
    gid_t g;
    char name[64];
    return bg_proc_lookup_user(spec, &u, &g, name, sizeof name, err, errsz);
}

int bg_proc_drop_privileges(const char *spec, char *err, size_t errsz)
{
    uid_t uid;
    gid_t gid;
    char name[64];
    if (bg_proc_lookup_user(spec, &uid, &gid, name, sizeof name, err, errsz) < 0)
        return -1;
    if (uid == 0)
        return 0; /* asked to stay root */
    if (initgroups(name, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
        snprintf(err, errsz, "cannot become %s: %s", spec, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) {
        snprintf(err, errsz, "could regain root after dropping to %s", spec);
        return -1;
    }
    return 0;
}

int bg_proc_daemonize(char *err, size_t errsz)
{
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errsz, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0)
        _exit(0);
    setsid();
    pid = fork();
    if (pid < 0)
        _exit(1);
    if (pid > 0)
        _exit(0);
    if (chdir("/") < 0)
        _exit(1);
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    return 0;
}
