/* bouncegate - milter that rejects suppressed recipients at RCPT TO.
 *
 *   bouncegate [-c FILE] [-f|-F] [-n] [-p SOCKET] [-V]
 *
 * Start-up order matters: load and check the config, daemonize, write the
 * pid file (as root only in a root-only directory), set the signal mask,
 * then drop privileges (writing the pid file now when it lives in a
 * directory others can write) and only then create the milter socket.
 */
#include "daemon.h"
#include "bg.h"
#include "err.h"
#include "log.h"
#include "proc.h"
#include "secure.h"

#include <libmilter/mfapi.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <netdb.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/bouncegate.conf"

static const char *config_path = DEFAULT_CONFIG;
static const char *cli_socket;

static void usage(FILE *fp)
{
    fprintf(fp, "usage: bouncegate [-c FILE] [-f|-F] [-n] [-p SOCKET] [-V]\n"
                "  -c FILE    configuration file (default " DEFAULT_CONFIG ")\n"
                "  -f         stay in the foreground, log to stderr too\n"
                "  -F         stay in the foreground, log to syslog only (systemd)\n"
                "  -n         check the configuration and exit (0 = good)\n"
                "  -p SOCKET  milter socket, overrides Socket\n"
                "  -V         print the version and exit (also --version)\n"
                "  -h         this text (also --help)\n");
}

/* The file system path of a unix socket spec, or NULL for inet. */
static const char *unix_path(const char *spec)
{
    if (strncmp(spec, "unix:", 5) == 0)
        return spec + 5;
    if (strncmp(spec, "local:", 6) == 0)
        return spec + 6;
    if (spec[0] == '/')
        return spec;
    return NULL;
}

/* Remove a stale unix socket, but never one a live process listens on. */
static int clear_stale_socket(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "bouncegate: %s exists and is not a socket\n", path);
        return -1;
    }
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "bouncegate: socket path too long: %s\n", path);
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
        close(fd);
        fprintf(stderr, "bouncegate: %s: another process is listening there\n", path);
        return -1;
    }
    if (fd >= 0)
        close(fd);
    if (unlink(path) < 0 && errno != ENOENT) {
        fprintf(stderr, "bouncegate: cannot remove stale socket %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* Is path's directory writable by root alone (owned by root, no group or
 * other write)? */
static int dir_root_only(const char *path)
{
    char dir[256];
    struct stat st;
    return bg_path_dir(path, dir, sizeof dir) == 0 && stat(dir, &st) == 0 && st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* Write our pid, never through a link nor into another file (secure.h). */
static int write_pidfile(const char *path)
{
    char err[700], line[32];
    int fd = bg_open_file(path, O_WRONLY | O_CREAT, 0644, err, sizeof err);
    int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (fd < 0 || ftruncate(fd, 0) < 0 || write(fd, line, (size_t)n) != n) {
        if (fd >= 0)
            snprintf(err, sizeof err, "%s: %s", path, strerror(errno));
        bg_log(LOG_ERR, "start", "problem=pidfile file=%s error=\"%s\"", path, err);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* When root, create the socket's directory for the unprivileged user. */
static void prepare_socket_dir(const char *path, const char *user)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return;
    *slash = '\0';
    struct stat st;
    if (stat(dir, &st) == 0)
        return;
    uid_t uid;
    gid_t gid;
    char name[64], err[256];
    if (mkdir(dir, 0750) < 0 ||
        bg_proc_lookup_user(user, &uid, &gid, name, sizeof name, err, sizeof err) < 0)
        return;
    /* Give away the directory just made, not whatever the name may lead
     * to by now. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchown(fd, uid, gid) < 0)
        fprintf(stderr, "bouncegate: chown %s: %s\n", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
}

/* Connect to our own listening socket once, so libmilter's accept loop
 * (which otherwise looks at its stop flag only every 5 seconds) notices
 * smfi_stop() at once. */
static void poke_listener(const char *spec)
{
    const char *path = unix_path(spec);
    int fd = -1;
    if (path != NULL) {
        struct sockaddr_un sun;
        memset(&sun, 0, sizeof sun);
        sun.sun_family = AF_UNIX;
        if (strlen(path) < sizeof sun.sun_path) {
            memcpy(sun.sun_path, path, strlen(path) + 1);
            fd = socket(AF_UNIX, SOCK_STREAM, 0);
            if (fd >= 0)
                (void)connect(fd, (struct sockaddr *)&sun, sizeof sun);
        }
    } else if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0) {
        int v6 = spec[4] == '6';
        const char *p = spec + (v6 ? 6 : 5);
        char port[16], host[128];
        const char *at = strchr(p, '@');
        size_t pl = at ? (size_t)(at - p) : strlen(p);
        if (pl == 0 || pl >= sizeof port)
            return;
        memcpy(port, p, pl);
        port[pl] = '\0';
        snprintf(host, sizeof host, "%s", at ? at + 1 : (v6 ? "::1" : "127.0.0.1"));
        /* A wildcard listener is reached through loopback. */
        if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "INADDR_ANY") == 0)
            snprintf(host, sizeof host, "127.0.0.1");
        if (strcmp(host, "::") == 0)
            snprintf(host, sizeof host, "::1");
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = v6 ? AF_INET6 : AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        if (getaddrinfo(host, port, &hints, &res) == 0 && res != NULL) {
            fd = socket(res->ai_family, SOCK_STREAM, 0);
            if (fd >= 0)
                (void)connect(fd, res->ai_addr, res->ai_addrlen);
            freeaddrinfo(res);
        }
    }
    if (fd >= 0)
        close(fd);
}

static void reload(void)
{
    char err[2048];
    struct runtime *old = rt_get();
    struct runtime *r = rt_build(config_path, cli_socket, err, sizeof err);
    if (r == NULL) {
        bg_err_oneline(err);
        bg_log(LOG_ERR, "reload", "action=keep-old-config error=\"%s\"", err);
        rt_put(old);
        return;
    }
    if (old != NULL && strcmp(old->cfg.socket, r->cfg.socket) != 0)
        bg_log(LOG_WARNING, "reload", "problem=socket-change-needs-restart "
               "socket=%s", old->cfg.socket);
    rt_put(old);
    bg_log_set_level(r->cfg.log_level);
    if (r->warning[0])
        bg_log(LOG_WARNING, "reload", "problem=unsafe-permissions error=\"%s\"",
               r->warning);
    rt_install(r);
    bg_log(LOG_NOTICE, "reload", "action=reload config=%s", config_path);
}

/* smfi_main runs in its own thread, so that the main thread can sigwait:
 * the kernel hands a process-directed signal to the main thread first when
 * it waits for it, so SIGTERM reaches us rather than libmilter's own signal
 * thread, and we can wake libmilter's accept loop (which otherwise looks at
 * its stop flag only every 5 seconds). SIGUSR2 is our own "smfi_main has
 * returned" note to the main thread. */
static pthread_t main_thread;
static int milter_rc = MI_FAILURE;

static void *stop_thread(void *arg)
{
    (void)arg;
    smfi_stop();
    return NULL;
}

static void *milter_thread(void *arg)
{
    (void)arg;
    milter_rc = smfi_main();
    pthread_kill(main_thread, SIGUSR2);
    return NULL;
}

int main(int argc, char **argv)
{
    int opt, foreground = 0, echo = 0, check_only = 0;
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    while ((opt = getopt_long(argc, argv, "c:fFnp:Vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'f': foreground = 1; echo = 1; break;
        case 'F': foreground = 1; echo = 0; break;
        case 'n': check_only = 1; break;
        case 'p': cli_socket = optarg; break;
        case 'V': printf("bouncegate %s\n", BG_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    char err[2048];
    struct runtime *r = rt_build(config_path, cli_socket, err, sizeof err);
    if (r == NULL) {
        bg_err_print(stderr, "bouncegate", err);
        return 1;
    }
    if (r->warning[0] && (check_only || !echo))   /* -f: bg_log echoes it */
        fprintf(stderr, "bouncegate: warning: %s\n", r->warning);
    char uerr[256];
    if (bg_proc_check_user(r->cfg.user_id, uerr, sizeof uerr) < 0) {
        fprintf(stderr, "bouncegate: %s: %s\n", config_path, uerr);
        rt_put(r);
        return 1;
    }
    if (check_only) {
        printf("bouncegate: %s: configuration OK\n", config_path);
        rt_put(r);
        return 0;
    }

    signal(SIGPIPE, SIG_IGN);
    if (!foreground && bg_proc_daemonize(err, sizeof err) < 0) {
        fprintf(stderr, "bouncegate: %s\n", err);
        return 1;
    }
    bg_log_open("bouncegate", r->cfg.syslog_facility, r->cfg.log_level, echo);
    filter_init();
    if (r->warning[0])
        bg_log(LOG_WARNING, "start", "problem=unsafe-permissions error=\"%s\"", r->warning);

    /* The pid file: root writes it now only where no other user can
     * write; anywhere else (the daemon's own /run/bouncegate) the daemon's
     * user writes it once privileges are dropped. */
    int pid_later = r->cfg.pid_file[0] && !(geteuid() == 0 && dir_root_only(r->cfg.pid_file));
    if (r->cfg.pid_file[0] && !pid_later && write_pidfile(r->cfg.pid_file) < 0)
        return 1;

    /* SIGUSR1 reloads (SIGHUP and SIGTERM belong to libmilter and stop
     * smfi_main). Block it before any thread exists, so only the reload
     * thread ever receives it. */
    /* Blocked in every thread (they inherit this mask) and taken with
     * sigwait: by our signal thread, and for the stop signals also by
     * libmilter's; a thread that left them unblocked would be killed by
     * the default action instead of stopping cleanly. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGUSR1);
    sigaddset(&sigs, SIGUSR2);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    const char *spath = unix_path(r->cfg.socket);
    if (spath != NULL && geteuid() == 0 && r->cfg.user_id[0])
        prepare_socket_dir(spath, r->cfg.user_id);
    if (geteuid() == 0 && r->cfg.user_id[0] &&
        bg_proc_drop_privileges(r->cfg.user_id, err, sizeof err) < 0) {
        bg_log(LOG_ERR, "start", "problem=privileges error=\"%s\"", err);
        return 1;
    }
    if (pid_later && write_pidfile(r->cfg.pid_file) < 0)
        return 1;
    if (spath != NULL && clear_stale_socket(spath) < 0)
        return 1;

    if (smfi_register(bg_filter_desc) == MI_FAILURE) {
        bg_log(LOG_ERR, "start", "problem=smfi_register");
        return 1;
    }
    if (smfi_setconn(r->cfg.socket) == MI_FAILURE) {
        bg_log(LOG_ERR, "start", "problem=bad-socket socket=%s", r->cfg.socket);
        return 1;
    }
    mode_t old = umask((mode_t)(~r->cfg.socket_mode & 0777));
    if (smfi_opensocket(true) == MI_FAILURE) {
        umask(old);
        bg_log(LOG_ERR, "start", "problem=cannot-open-socket socket=%s", r->cfg.socket);
        return 1;
    }
    umask(old);
    if (spath != NULL && chmod(spath, (mode_t)r->cfg.socket_mode) < 0)
        bg_log(LOG_WARNING, "start", "problem=chmod socket=%s error=\"%s\"", spath,
               strerror(errno));

    bg_log(LOG_NOTICE, "start", "action=start version=%s socket=%s config=%s uid=%ld",
           BG_VERSION, r->cfg.socket, config_path, (long)geteuid());
    if (r->journal != NULL) {
        char jerr[512];
        if (bg_journal_probe(r->journal, jerr, sizeof jerr) < 0)
            bg_log(LOG_WARNING, "start", "problem=journal error=\"%s\"", jerr);
    }
    char pidfile[256];
    snprintf(pidfile, sizeof pidfile, "%s", r->cfg.pid_file);
    rt_install(r);
    if (restore_start() < 0 || probe_start() < 0 ||
        stats_start(r->cfg.stats_domains, r->cfg.stats_interval) < 0) {
        bg_log(LOG_ERR, "start", "problem=thread error=\"cannot start restore, probe or stats thread\"");
        return 1;
    }
    if (http_start(r->cfg.metrics_listen) < 0)
        return 1;

    main_thread = pthread_self();
    pthread_t th;
    if (pthread_create(&th, NULL, milter_thread, NULL) != 0) {
        bg_log(LOG_ERR, "start", "problem=thread error=\"cannot start the milter\"");
        return 1;
    }
    for (;;) {
        int sig;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGUSR1) {
            reload();
            continue;
        }
        if (sig == SIGUSR2)
            break;                      /* smfi_main returned by itself */
        bg_log(LOG_NOTICE, "stop", "action=stopping signal=%s",
               sig == SIGTERM ? "TERM" : sig == SIGINT ? "INT" : "HUP");
        /* smfi_stop() waits for a lock the accept loop holds while it
         * polls, so it runs in a thread of its own while we connect to our
         * socket until the loop wakes, sees the stop and smfi_main returns
         * (bounded: after 6 s we just wait for libmilter's own timeout). */
        pthread_t stopper;
        if (pthread_create(&stopper, NULL, stop_thread, NULL) == 0)
            pthread_detach(stopper);
        char spec[256];
        struct runtime *cur = rt_get();
        snprintf(spec, sizeof spec, "%s", cur ? cur->cfg.socket : "");
        rt_put(cur);
        sigset_t done;
        sigemptyset(&done);
        sigaddset(&done, SIGUSR2);
        for (int i = 0; i < 120; i++) {
            poke_listener(spec);
            struct timespec ts = { 0, 50 * 1000 * 1000 };
            if (sigtimedwait(&done, NULL, &ts) == SIGUSR2)
                break;
        }
        break;
    }
    pthread_join(th, NULL);
    int rc = milter_rc;

    http_stop();
    rt_unchecked_flush(1);
    stats_stop();
    bg_log(LOG_NOTICE, "stop", "action=stop status=%s", rc == MI_SUCCESS ? "clean" : "error");
    if (spath != NULL) {
        struct runtime *cur = rt_get();
        if (cur != NULL) {
            const char *p = unix_path(cur->cfg.socket);
            if (p != NULL)
                unlink(p);
            rt_put(cur);
        }
    }
    if (pidfile[0])
        unlink(pidfile);
    rt_install(NULL);
    return rc == MI_SUCCESS ? 0 : 1;
}
