/* smtpclient.c - a tiny synchronous SMTP client for end-to-end tests.
 *
 * Usage: smtpclient [-t SECONDS] HOST PORT < script
 *
 * Connects to HOST (name or address) PORT, reads the greeting, then sends
 * the script's lines one at a time and waits for each reply (no
 * pipelining). Script lines are SMTP commands sent as-is, CRLF appended:
 *
 *     EHLO client.test
 *     MAIL FROM:<app@site.test>
 *     RCPT TO:<bob@bad.test>
 *     DATA
 *     Subject: test
 *
 *     body line
 *     .
 *     QUIT
 *
 * Blank lines outside a message are ignored. After "DATA" every line up to
 * the one that is just "." is message text (dot-stuffed on the wire, not
 * printed); it is sent only when DATA got a 354, otherwise it is skipped.
 *
 * Output, one line per server reply (a multi-line reply shows its last
 * line only):
 *
 *     greeting -> 220 host ESMTP Postfix
 *     RCPT TO:<bob@bad.test> -> 550 5.1.1 <bob@bad.test>: recipient suppressed ...
 *     . -> 250 2.0.0 Ok: queued as 4F1A2B3C
 *
 * Every network step is bounded by the timeout (-t, default 10 s). The
 * program ends after the reply to QUIT, at the end of the script, or when
 * the server closes the connection after a 421.
 *
 * Exit status: 0 the script ran (whatever the replies were), 1 usage or
 * script error (a line longer than 998 bytes, a message without its "."),
 * 2 I/O error (connect, timeout, connection closed, malformed reply).
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define LINE_MAX_SMTP 998      /* RFC 5321 text line limit, without CRLF */
#define REPLY_LINE_MAX 4096    /* longest reply line accepted */
#define REPLY_LINES_MAX 200    /* most lines of one multi-line reply */

static int timeout_ms = 10000;
static int sock_fd = -1;

/* Receive buffer. */
static char rbuf[8192];
static size_t rlen, rpos;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int die_io(const char *what, const char *detail)
{
    fprintf(stderr, "smtpclient: %s: %s\n", what, detail);
    fflush(stdout);
    return 2;
}

/* Waits until fd is ready for ev or the deadline passes: 1 ready, 0
 * timeout, -1 error. */
static int wait_fd(int fd, short ev, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = { .fd = fd, .events = ev, .revents = 0 };
        int n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            continue;  /* re-check the deadline */
        return 1;
    }
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints, *res = NULL, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "smtpclient: %s:%s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    int err = 0;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            err = errno;
            close(fd);
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        if (errno != EINPROGRESS) {
            err = errno;
            close(fd);
            continue;
        }
        int w = wait_fd(fd, POLLOUT, now_ms() + timeout_ms);
        if (w <= 0) {
            err = w == 0 ? ETIMEDOUT : errno;
            close(fd);
            continue;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
        if (soerr == 0) {
            freeaddrinfo(res);
            return fd;
        }
        err = soerr;
        close(fd);
    }
    freeaddrinfo(res);
    fprintf(stderr, "smtpclient: connect %s:%s: %s\n", host, port,
            strerror(err ? err : ECONNREFUSED));
    return -1;
}

static int send_all(const char *p, size_t n)
{
    long long deadline = now_ms() + timeout_ms;
    while (n > 0) {
        ssize_t w = send(sock_fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(sock_fd, POLLOUT, deadline);
            if (r == 0) {
                errno = ETIMEDOUT;
                return -1;
            }
            if (r < 0)
                return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

static int send_line(const char *line)
{
    if (send_all(line, strlen(line)) < 0 || send_all("\r\n", 2) < 0)
        return die_io("send", strerror(errno));
    return 0;
}

/* Reads one reply line (CRLF or LF stripped) into out. 0 ok, 2 error. */
static int read_line(char *out, size_t outsz, long long deadline)
{
    size_t n = 0;
    for (;;) {
        while (rpos < rlen) {
            char c = rbuf[rpos++];
            if (c == '\n') {
                if (n > 0 && out[n - 1] == '\r')
                    n--;
                out[n] = '\0';
                return 0;
            }
            if (n + 1 >= outsz)
                return die_io("reply", "line too long");
            out[n++] = c;
        }
        int w = wait_fd(sock_fd, POLLIN, deadline);
        if (w == 0)
            return die_io("reply", "timed out");
        if (w < 0)
            return die_io("poll", strerror(errno));
        ssize_t r = recv(sock_fd, rbuf, sizeof rbuf, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (r < 0)
            return die_io("recv", strerror(errno));
        if (r == 0)
            return die_io("reply", "connection closed by the server");
        rlen = (size_t)r;
        rpos = 0;
    }
}

/* Reads a whole reply; its last line goes to last. Returns 0 or 2; *code
 * gets the 3-digit reply code. */
static int read_reply(char *last, size_t lastsz, int *code)
{
    long long deadline = now_ms() + timeout_ms;
    for (int i = 0; i < REPLY_LINES_MAX; i++) {
        char line[REPLY_LINE_MAX];
        if (read_line(line, sizeof line, deadline) != 0)
            return 2;
        if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
            line[1] > '9' || line[2] < '0' || line[2] > '9' ||
            (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
            return die_io("malformed reply", line);
        if (line[3] == '-')
            continue;
        snprintf(last, lastsz, "%s", line);
        *code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        return 0;
    }
    return die_io("reply", "too many lines");
}

/* Reads one script line into buf (newline stripped). 1 got one, 0 EOF,
 * -1 too long. */
static int read_script(char *buf, size_t bufsz)
{
    if (fgets(buf, (int)bufsz, stdin) == NULL)
        return 0;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (!feof(stdin))
        return -1;
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return 1;
}

static int print_reply(const char *what)
{
    char last[REPLY_LINE_MAX];
    int code = 0;
    if (read_reply(last, sizeof last, &code) != 0)
        return -1;
    printf("%s -> %s\n", what, last);
    fflush(stdout);
    return code;
}

static void usage(void)
{
    fputs("usage: smtpclient [-t SECONDS] HOST PORT < script\n", stderr);
}

int main(int argc, char **argv)
{
    int ai = 1;
    if (argc >= 3 && strcmp(argv[1], "-t") == 0) {
        char *end;
        long t = strtol(argv[2], &end, 10);
        if (*end || end == argv[2] || t < 1 || t > 3600) {
            fputs("smtpclient: -t wants 1..3600 seconds\n", stderr);
            return 1;
        }
        timeout_ms = (int)t * 1000;
        ai = 3;
    }
    if (argc - ai != 2) {
        usage();
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    sock_fd = connect_to(argv[ai], argv[ai + 1]);
    if (sock_fd < 0)
        return 2;
    int code = print_reply("greeting");
    if (code < 0)
        return 2;

    char line[LINE_MAX_SMTP + 3];
    int lineno = 0;
    for (;;) {
        int r = read_script(line, sizeof line);
        lineno++;
        if (r == 0)
            break;
        if (r < 0) {
            fprintf(stderr, "smtpclient: script line %d longer than %d bytes\n", lineno,
                    LINE_MAX_SMTP);
            return 1;
        }
        if (line[0] == '\0')
            continue;
        if (send_line(line) != 0)
            return 2;
        code = print_reply(line);
        if (code < 0)
            return 2;
        if (code == 421) {
            fflush(stdout);
            return 0;  /* the server is closing the connection */
        }
        if (strcasecmp(line, "QUIT") == 0)
            break;
        if (strcasecmp(line, "DATA") != 0)
            continue;
        /* Message text up to ".": sent only after a 354. */
        int sending = (code == 354), ended = 0;
        while ((r = read_script(line, sizeof line)) > 0) {
            lineno++;
            if (strcmp(line, ".") == 0) {
                ended = 1;
                break;
            }
            if (!sending)
                continue;
            if (line[0] == '.' && send_all(".", 1) < 0)
                return die_io("send", strerror(errno));
            if (send_line(line) != 0)
                return 2;
        }
        if (r < 0) {
            fprintf(stderr, "smtpclient: script line %d longer than %d bytes\n",
                    lineno + 1, LINE_MAX_SMTP);
            return 1;
        }
        if (!ended) {
            fprintf(stderr, "smtpclient: script ends inside a message (no \".\" line)\n");
            return 1;
        }
        if (!sending) {
            printf(". -> (message not sent)\n");
            continue;
        }
        if (send_line(".") != 0)
            return 2;
        if ((code = print_reply(".")) < 0)
            return 2;
    }
    close(sock_fd);
    return fflush(stdout) == 0 ? 0 : 2;
}
