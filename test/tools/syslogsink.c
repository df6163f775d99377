/* syslogsink.c - a minimal syslog receiver for end-to-end tests.
 *
 * Usage: syslogsink SOCKET LOGFILE
 *
 * Binds a unix datagram socket at SOCKET (the path glibc's syslog(3)
 * writes to is /dev/log; tests bind it in a private mount namespace) and
 * appends every message it receives to LOGFILE as one line in the
 * traditional format of a mail log:
 *
 *     Dec  6 14:00:00 HOSTNAME sm-mta[123]: text
 *
 * (the "<PRI>" in front is dropped, the host name inserted after the
 * time stamp, trailing newlines removed, control characters replaced by
 * '?'). Each line is written with one write(2) on an O_APPEND descriptor,
 * so a reader following the file never sees half a line. Runs until
 * SIGTERM or SIGINT, then removes SOCKET.
 *
 * Why by hand: Sendmail logs only through syslog(3), and a test machine
 * has no syslog daemon (rsyslog would want the real /dev/log and its own
 * configuration); this is 100 lines with no configuration at all.
 *
 * Exit 0 on a signal, 1 on usage error, 2 on a socket or file error.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fputs("usage: syslogsink SOCKET LOGFILE\n", stderr);
        return 1;
    }
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(argv[1]) >= sizeof sa.sun_path) {
        fprintf(stderr, "syslogsink: socket path too long: %s\n", argv[1]);
        return 1;
    }
    strcpy(sa.sun_path, argv[1]);

    char host[256];
    if (gethostname(host, sizeof host) != 0)
        strcpy(host, "localhost");
    host[sizeof host - 1] = '\0';

    int out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (out < 0) {
        fprintf(stderr, "syslogsink: %s: %s\n", argv[2], strerror(errno));
        return 2;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    (void)unlink(argv[1]);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        chmod(argv[1], 0666) != 0) {
        fprintf(stderr, "syslogsink: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }

    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal;      /* no SA_RESTART: recv returns EINTR */
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);

    char msg[8192], line[8192 + 300];
    while (!stop) {
        ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "syslogsink: recv: %s\n", strerror(errno));
            break;
        }
        size_t len = (size_t)n;
        while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\0'))
            len--;
        msg[len] = '\0';
        const char *p = msg;
        /* "<PRI>" */
        if (*p == '<') {
            const char *q = strchr(p, '>');
            if (q && q - p <= 4)
                p = q + 1;
        }
        /* "Mmm dd hh:mm:ss " is 16 characters; keep it, add the host. */
        size_t rest = strlen(p);
        int w;
        if (rest > 16 && p[3] == ' ' && p[6] == ' ' && p[9] == ':' && p[15] == ' ')
            w = snprintf(line, sizeof line, "%.15s %s %s", p, host, p + 16);
        else
            w = snprintf(line, sizeof line, "%s", p);
        if (w < 0)
            continue;
        size_t l = (size_t)w < sizeof line - 1 ? (size_t)w : sizeof line - 2;
        for (size_t i = 0; i < l; i++)
            if ((unsigned char)line[i] < 0x20)
                line[i] = '?';
        line[l++] = '\n';
        if (write(out, line, l) != (ssize_t)l) {
            fprintf(stderr, "syslogsink: %s: %s\n", argv[2], strerror(errno));
            break;
        }
    }
    (void)unlink(argv[1]);
    return stop ? 0 : 2;
}
