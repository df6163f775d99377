/* ctl_dir.c - the files of a directory operand of `bouncegatectl
 * classify`: a Maildir (cur/ and new/, never tmp/ where deliveries are
 * still being written) or a plain directory of message files, so a
 * postmaster can hand over a bounce mailbox of any size without the
 * shell's argument limit (about 100,000 names).
 *
 * Only regular files (a symbolic link counts when it leads to one),
 * names not starting with "." (Maildir++ folders, editors' leftovers);
 * no recursion below that. Sorted by path with strcmp (byte order, not
 * the locale's), so the same directory gives the same output on every
 * host: in a Maildir cur/ comes before new/ and, within each, names
 * begin with the delivery time, i.e. oldest first.
 *
 * Written by hand: scandir(3) would sort by the locale (alphasort) or
 * need a second pass for the Maildir's two subdirectories, and could not
 * keep every path in one allocation. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

static int is_dir_at(int dfd, const char *name)
{
    struct stat st;
    return fstatat(dfd, name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

/* The listing under way: the arena moves while it grows, so paths are
 * kept as offsets until the end. */
struct acc {
    char *arena;
    size_t used, acap;
    size_t *off;
    size_t n, ocap;
};

/* Append "dir/sub/name" (sub may be NULL) to the arena. */
static int add_path(struct acc *a, const char *dir, const char *sub, const char *name)
{
    size_t dl = strlen(dir), sl = sub ? strlen(sub) + 1 : 0, nl = strlen(name);
    size_t need = dl + 1 + sl + nl + 1;
    if (need > CTL_DIR_PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (a->n == a->ocap) {
        size_t nc = a->ocap ? a->ocap * 2 : 256;
        size_t *o = realloc(a->off, nc * sizeof *o);
        if (!o)
            return -1;
        a->off = o;
        a->ocap = nc;
    }
    if (a->used + need > a->acap) {
        size_t nc = a->acap ? a->acap * 2 : 16384;
        while (nc < a->used + need)
            nc *= 2;
        char *r = realloc(a->arena, nc);
        if (!r)
            return -1;
        a->arena = r;
        a->acap = nc;
    }
    char *w = a->arena + a->used;
    memcpy(w, dir, dl);
    w += dl;
    if (dl == 0 || dir[dl - 1] != '/')
        *w++ = '/';
    else
        need--;
    if (sub) {
        memcpy(w, sub, sl - 1);
        w += sl - 1;
        *w++ = '/';
    }
    memcpy(w, name, nl + 1);
    a->off[a->n++] = a->used;
    a->used += need;
    return 0;
}

/* The regular files of dir/sub (sub NULL: of dir itself). */
static int list_one(struct acc *a, int dfd, const char *dir, const char *sub)
{
    int fd = sub ? openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                 : dup(dfd);
    if (fd < 0)
        return -1;
    DIR *dp = fdopendir(fd);
    if (!dp) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(dp);
        if (!de) {
            if (errno)
                rc = -1;
            break;
        }
        if (de->d_name[0] == '.')
            continue;
        if (de->d_type != DT_REG) {
            struct stat st;
            if (de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
                continue;
            if (fstatat(dirfd(dp), de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
                continue;   /* a dangling link or not a file: not a message */
        }
        if (add_path(a, dir, sub, de->d_name) != 0) {
            rc = -1;
            break;
        }
    }
    int e = errno;
    closedir(dp);
    errno = e;
    return rc;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ctl_dir_list(const char *dir, struct ctl_dir_list *l)
{
    memset(l, 0, sizeof *l);
    struct acc a = { 0 };
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    int rc;
    if (is_dir_at(dfd, "cur") && is_dir_at(dfd, "new")) {
        l->maildir = 1;
        rc = list_one(&a, dfd, dir, "cur");
        if (rc == 0)
            rc = list_one(&a, dfd, dir, "new");
    } else {
        rc = list_one(&a, dfd, dir, NULL);
    }
    int e = errno;
    close(dfd);
    if (rc == 0 && a.n > 0 && !(l->path = malloc(a.n * sizeof *l->path))) {
        rc = -1;
        e = ENOMEM;
    }
    if (rc != 0) {
        free(a.arena);
        free(a.off);
        errno = e;
        return -1;
    }
    l->arena = a.arena;
    l->n = a.n;
    for (size_t i = 0; i < a.n; i++)
        l->path[i] = a.arena + a.off[i];
    free(a.off);
    if (l->n > 1)
        qsort(l->path, l->n, sizeof *l->path, cmp_path);
    return 0;
}

void ctl_dir_free(struct ctl_dir_list *l)
{
    free(l->path);
    free(l->arena);
    memset(l, 0, sizeof *l);
}
