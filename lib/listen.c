/* listen.c - "HOST:PORT" of a TCP listener (see listen.h). */
#include "listen.h"
#include "err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int bg_listen_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
                    char *err, size_t errsz)
{
    char host[64];
    const char *colon;
    memset(ss, 0, sizeof *ss);
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':') {
            bg_seterr(err, errsz, "expected [IPv6]:PORT");
            return -1;
        }
        if ((size_t)(close - spec - 1) >= sizeof host) {
            bg_seterr(err, errsz, "address too long");
            return -1;
        }
        memcpy(host, spec + 1, (size_t)(close - spec - 1));
        host[close - spec - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL || (size_t)(colon - spec) >= sizeof host) {
            bg_seterr(err, errsz, "expected ADDRESS:PORT (127.0.0.1:9465, [::1]:9465)");
            return -1;
        }
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
    }
    const char *p = colon + 1;
    unsigned long port = 0;
    size_t nd = 0;
    for (; *p >= '0' && *p <= '9' && nd < 6; p++, nd++)
        port = port * 10 + (unsigned long)(*p - '0');
    if (nd == 0 || *p != '\0' || port < 1 || port > 65535) {
        bg_seterr(err, errsz, "port %s out of range (1-65535)", colon + 1);
        return -1;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
    if (spec[0] != '[' && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((unsigned short)port);
        *len = sizeof *in4;
        return 0;
    }
    if (spec[0] == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)port);
        *len = sizeof *in6;
        return 0;
    }
    bg_seterr(err, errsz, "%s is not a numeric %s address", host,
              spec[0] == '[' ? "IPv6" : "IPv4");
    return -1;
}
