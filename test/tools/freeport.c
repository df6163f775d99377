/* freeport.c - print free loopback TCP ports for integration tests.
 *
 * Usage: freeport [-n COUNT]
 *
 * Binds COUNT (default 1, at most 64) TCP sockets to 127.0.0.1 port 0,
 * prints the port the kernel chose for each (one per line, all distinct
 * because every socket stays bound until all are printed), then closes
 * them. The ports are free at that moment; a test starting a server on
 * one should still retry with a new port if the bind fails.
 *
 * Exit 0 on success, 1 on usage error, 2 on a socket error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXPORTS 64

int main(int argc, char **argv)
{
    long count = 1;
    int fds[MAXPORTS];
    unsigned ports[MAXPORTS];

    if (argc == 3 && strcmp(argv[1], "-n") == 0) {
        char *end;
        count = strtol(argv[2], &end, 10);
        if (*end || end == argv[2] || count < 1 || count > MAXPORTS) {
            fprintf(stderr, "freeport: -n wants 1..%d\n", MAXPORTS);
            return 1;
        }
    } else if (argc != 1) {
        fputs("usage: freeport [-n COUNT]\n", stderr);
        return 1;
    }
    for (long i = 0; i < count; i++) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = 0;
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof sa) < 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &len) < 0) {
            fprintf(stderr, "freeport: %s\n", strerror(errno));
            return 2;
        }
        ports[i] = ntohs(sa.sin_port);
    }
    for (long i = 0; i < count; i++) {
        printf("%u\n", ports[i]);
        close(fds[i]);
    }
    return fflush(stdout) == 0 ? 0 : 2;
}
