/* empty-milter.c - the floor for test/bench/rcpt-bench.sh: a libmilter
 * milter that does nothing but answer. It registers the callbacks of
 * bouncegate's RCPT path (connect, envfrom, envrcpt) and continues every
 * one. libmilter asks the MTA not to send a step whose callback is NULL, so
 * a milter with only envrcpt would be spared the connect and MAIL round
 * trips that bouncegate needs (the client's address, the sender) and would
 * not be the same floor. What bouncegate costs beyond this is its own work:
 * normalizing the address, the memcached lookup, the log line.
 *
 * Usage: empty-milter SOCKET   (a libmilter spec: inet:PORT@127.0.0.1)
 * Stops on SIGTERM.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>

static sfsistat on_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
    (void)ctx;
    (void)host;
    (void)sa;
    return SMFIS_CONTINUE;
}

static sfsistat on_args(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: empty-milter SOCKET\n", stderr);
        return 1;
    }
    struct smfiDesc d = {
        .xxfi_name = "empty",
        .xxfi_version = SMFI_VERSION,
        .xxfi_connect = on_connect,
        .xxfi_envfrom = on_args,
        .xxfi_envrcpt = on_args,
    };
    if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(d) == MI_FAILURE) {
        fputs("empty-milter: cannot set up libmilter\n", stderr);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
