/* bg.h - constants shared by every part of libbouncegate. */
#ifndef BG_H
#define BG_H

#define BG_VERSION "0.1.0"

/* Largest normalized address we handle (RFC 5321: 64 local + 1 + 255 domain
 * is 320; IDNA A-labels and quoted local parts can grow it, so leave room). */
#define BG_ADDR_MAX 512
#define BG_DOMAIN_MAX 256

/* memcached's hard key limit is 250 bytes. */
#define BG_KEY_MAX 251

/* A KeyPrefix is at most this long (leaves room for kind and a hash). */
#define BG_PREFIX_MAX 64

#endif
