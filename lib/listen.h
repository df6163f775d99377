/* listen.h - the address of a TCP listener given as "HOST:PORT"
 * (MetricsListen): HOST a numeric IPv4 address or a bracketed IPv6 one
 * ("127.0.0.1:9465", "[::1]:9465"), PORT 1-65535. No names: a listener
 * must not depend on the resolver at start. */
#ifndef BG_LISTEN_H
#define BG_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

/* 0 with *ss and *len filled, or -1 with the problem in err (without a
 * prefix, e.g. "port 0 out of range (1-65535)"). */
int bg_listen_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
                    char *err, size_t errsz);

#endif
