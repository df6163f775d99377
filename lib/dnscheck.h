/* dnscheck.h - can a domain receive mail? Many domains at once, through
 * c-ares (an asynchronous resolver: many queries in flight on one thread,
 * each bounded in time), for `bouncegatectl verify`.
 *
 * For each domain: its MX records; a single "MX 0 ." is RFC 7505's null
 * MX (the domain accepts no mail); no MX at all falls back to A, then
 * AAAA (RFC 5321 5.1: the implicit MX). NXDOMAIN at any step means the
 * domain does not exist. A server failure, a refusal or a timeout is a
 * DNS error: it says nothing about the domain, and is never counted
 * against an address.
 */
#ifndef BG_DNSCHECK_H
#define BG_DNSCHECK_H

#include <stddef.h>

enum bg_dns_verdict {
    BG_DNS_OK = 0,        /* an MX, or an address for the implicit MX */
    BG_DNS_NO_DOMAIN,     /* NXDOMAIN */
    BG_DNS_NULL_MX,       /* RFC 7505 "MX 0 ." */
    BG_DNS_NO_MAIL_HOST,  /* the domain exists: no MX, no A, no AAAA */
    BG_DNS_ERROR          /* SERVFAIL, REFUSED, timeout: no answer */
};
const char *bg_dns_verdict_name(enum bg_dns_verdict v);

struct bg_dnscheck;

/* resolver: "HOST:PORT" (or "HOST", port 53) to ask that server only;
 * NULL or "": the system's /etc/resolv.conf. timeout_ms: per try; tries:
 * how many times a query is sent. NULL with err on failure. */
struct bg_dnscheck *bg_dnscheck_new(const char *resolver, unsigned timeout_ms, unsigned tries,
                                    char *err, size_t errsz);
void bg_dnscheck_free(struct bg_dnscheck *d);

/* Checks domains[0, n) (lower-case ASCII names, IDNs already in A-label
 * form), at most concurrency at a time; out[i] gets domain i's verdict,
 * detail[i] (when not NULL, 64 bytes each) a few words of why ("mx
 * mx1.example.com", "nxdomain", "timeout"). progress, when not NULL, is
 * called after each domain. 0, or -1 when the resolver itself failed
 * (err). */
int bg_dnscheck_run(struct bg_dnscheck *d, const char *const *domains, size_t n,
                    unsigned concurrency, enum bg_dns_verdict *out, char (*detail)[64],
                    void (*progress)(size_t done, size_t n, void *arg), void *arg,
                    char *err, size_t errsz);

#endif
