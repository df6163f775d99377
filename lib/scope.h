/* scope.h - which mail is checked, and which recipients are exempt.
 *
 * Pure logic over config values, no I/O. Network lists and exemption
 * lists are parsed once (at config load) into these structures.
 */
#ifndef BG_SCOPE_H
#define BG_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#define BG_NET_MAX 64
#define BG_EXEMPT_MAX 128
#define BG_NAMES_MAX 32

/* One CIDR network, IPv4 or IPv6 (IPv4 stored as IPv4-mapped IPv6). */
struct bg_net {
    uint8_t addr[16];
    uint8_t bits;        /* prefix length over the 128-bit form */
};

struct bg_netlist {
    struct bg_net net[BG_NET_MAX];
    size_t n;
};

/* Parse a blank- or comma-separated list of networks ("127.0.0.0/8 ::1
 * 192.0.2.7 2001:db8::/32"). Returns 0, or -1 with *why naming the bad
 * entry problem. A bare address is a /32 or /128. */
int bg_netlist_parse(const char *s, struct bg_netlist *l, const char **why);

/* Non-zero when the textual address (as in the milter connect info or the
 * Postfix {client_addr} macro; "IPv6:" prefix and brackets tolerated) is
 * inside one of the networks. Unparseable -> 0. */
int bg_netlist_match(const struct bg_netlist *l, const char *addr);

/* Exemptions: entries are "local@" (that local part at any domain),
 * "@domain" (every address at that domain or, for "@.domain", any
 * subdomain too) or "local@domain" (one address). Entries are normalized
 * like addresses when parsed. */
struct bg_exempt {
    char entry[BG_EXEMPT_MAX][128];
    size_t n;
};

int bg_exempt_parse(const char *s, struct bg_exempt *e, const char **why);
/* norm is a normalized address (bg_addr_normalize). */
int bg_exempt_match(const struct bg_exempt *e, const char *norm);

/* A list of plain names (Postfix daemon names), compared exactly. */
struct bg_names {
    char name[BG_NAMES_MAX][64];
    size_t n;
};
int bg_names_parse(const char *s, struct bg_names *l, const char **why);
int bg_names_match(const struct bg_names *l, const char *name);

#endif
