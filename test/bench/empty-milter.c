/* empty-milter.c - the floor for test/bench/rcpt-bench.sh: a libmilter
 * milter that does nothing but answer. It asks for the same protocol steps
 * as bouncegate's RCPT path (connect, helo, envfrom, envrcpt) and
 * continues every one, so what bouncegate costs beyond it is its own work:
 * normalizing the address, the memcached lookup, the log line.
 *
 * Usage: empty-milter SOCKET   (a libmilter spec: inet:PORT@127.0.0.1)
 * Stops on SIGTERM.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>

static sfsistat on_rcpt(SMFICTX *ctx, char **argv)
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
        .xxfi_envrcpt = on_rcpt,
    };
    if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(d) == MI_FAILURE) {
        fputs("empty-milter: cannot set up libmilter\n", stderr);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
