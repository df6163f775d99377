/* blackhole.c - a fake memcached for tests that accepts and never answers.
 *
 * Usage: blackhole [-p PORT] [-m MAXCONN] [-t SECONDS]
 *
 * Listens on 127.0.0.1:PORT (0 or no -p: a port the kernel chooses), prints
 * the port on stdout (one line, flushed) once it listens, then accepts
 * every connection and reads and discards whatever arrives, never writing a
 * byte: the memcached that is the hard case for a client, one whose TCP
 * connect succeeds and whose requests simply time out.
 *
 * Bounded: at most MAXCONN (default 256, at most 1024) connections are held
 * open at once; past that no more are accepted (the kernel's backlog keeps
 * the next ones waiting, which is just as silent). It exits 0 after
 * SECONDS (default 300, at most 86400) or on SIGTERM/SIGINT/SIGHUP,
 * printing "blackhole: connections=N bytes=M" on stderr.
 *
 * Exit: 0 normal end, 1 usage error, 2 socket error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN_LIMIT 1024

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void usage(void)
{
    fputs("usage: blackhole [-p PORT] [-m MAXCONN] [-t SECONDS]\n", stderr);
}

int main(int argc, char **argv)
{
    long port = 0, maxconn = 256, seconds = 300;
    int opt;
    while ((opt = getopt(argc, argv, "p:m:t:")) != -1) {
        switch (opt) {
        case 'p':
            if (parse_num(optarg, 0, 65535, &port) < 0) {
                fputs("blackhole: -p wants 0..65535\n", stderr);
                return 1;
            }
            break;
        case 'm':
            if (parse_num(optarg, 1, MAXCONN_LIMIT, &maxconn) < 0) {
                fprintf(stderr, "blackhole: -m wants 1..%d\n", MAXCONN_LIMIT);
                return 1;
            }
            break;
        case 't':
            if (parse_num(optarg, 1, 86400, &seconds) < 0) {
                fputs("blackhole: -t wants 1..86400\n", stderr);
                return 1;
            }
            break;
        default:
            usage();
            return 1;
        }
    }
    if (optind != argc) {
        usage();
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) {
        perror("blackhole: socket");
        return 2;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin;
    socklen_t slen = sizeof sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((unsigned short)port);
    if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(lfd, 128) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sin, &slen) < 0) {
        fprintf(stderr, "blackhole: port %ld: %s\n", port, strerror(errno));
        close(lfd);
        return 2;
    }
    printf("%u\n", (unsigned)ntohs(sin.sin_port));
    fflush(stdout);

    /* pfd[0] is the listening socket, pfd[1..n] the held connections. */
    struct pollfd pfd[MAXCONN_LIMIT + 1];
    size_t n = 0;
    unsigned long long conns = 0, bytes = 0;
    int full_said = 0;
    long long end = now_ms() + seconds * 1000LL;
    pfd[0].fd = lfd;
    pfd[0].events = POLLIN;

    while (!stop) {
        long long left = end - now_ms();
        if (left <= 0)
            break;
        /* At the limit, stop looking at the listening socket. */
        pfd[0].fd = n < (size_t)maxconn ? lfd : -1;
        if (n >= (size_t)maxconn && !full_said) {
            fprintf(stderr, "blackhole: holding %zu connections, not accepting more\n", n);
            full_said = 1;
        }
        int r = poll(pfd, n + 1, left < 200 ? (int)left : 200);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            perror("blackhole: poll");
            break;
        }
        if (r == 0)
            continue;
        if (pfd[0].fd >= 0 && (pfd[0].revents & POLLIN)) {
            int c = accept(lfd, NULL, NULL);
            if (c >= 0) {
                n++;
                pfd[n].fd = c;
                pfd[n].events = POLLIN;
                pfd[n].revents = 0;
                conns++;
            }
        }
        for (size_t i = 1; i <= n; i++) {
            if (pfd[i].revents == 0)
                continue;
            char buf[4096];
            ssize_t got = read(pfd[i].fd, buf, sizeof buf);
            if (got > 0) {
                bytes += (unsigned long long)got;
                continue;
            }
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            /* EOF or error: drop it, move the last one into its slot. */
            close(pfd[i].fd);
            pfd[i] = pfd[n];
            n--;
            i--;
            if (n < (size_t)maxconn)
                full_said = 0;
        }
    }
    for (size_t i = 1; i <= n; i++)
        close(pfd[i].fd);
    close(lfd);
    fprintf(stderr, "blackhole: connections=%llu bytes=%llu\n", conns, bytes);
    return 0;
}
