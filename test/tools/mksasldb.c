/* mksasldb.c - create a Cyrus sasldb user for a SASL-enabled memcached in
 * tests, without sasl2-bin's saslpasswd2 (Debian's memcached has no
 * MEMCACHED_SASL_PWDB support; it checks passwords through Cyrus SASL).
 *
 * Usage: mksasldb CONFDIR USER PASSWORD
 *
 * CONFDIR must hold memcached.conf ("mech_list: plain" and
 * "sasldb_path: FILE"); the user is written to that sasldb under the realm
 * memcached uses (this host's name), as "saslpasswd2 -c" would. Start
 * memcached with SASL_CONF_PATH=CONFDIR and -S. Exit 0 or 1.
 */
#include <sasl/sasl.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *confdir;

static int getconfpath(void *context, const char **path)
{
    (void)context;
    *path = confdir;
    return SASL_OK;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: mksasldb CONFDIR USER PASSWORD\n");
        return 1;
    }
    confdir = argv[1];
    sasl_callback_t cb[] = {
        { SASL_CB_GETCONFPATH, (int (*)(void))(void (*)(void))getconfpath, NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) < 0)
        host[0] = '\0';
    int r = sasl_server_init(cb, "memcached");
    sasl_conn_t *conn = NULL;
    if (r == SASL_OK)
        r = sasl_server_new("memcached", NULL, host[0] ? host : NULL, NULL, NULL, NULL, 0,
                            &conn);
    if (r == SASL_OK)
        r = sasl_setpass(conn, argv[2], argv[3], (unsigned)strlen(argv[3]), NULL, 0,
                         SASL_SET_CREATE);
    if (r != SASL_OK) {
        fprintf(stderr, "mksasldb: %s\n", conn ? sasl_errdetail(conn) : sasl_errstring(r, NULL, NULL));
        return 1;
    }
    sasl_dispose(&conn);
    sasl_server_done();
    return 0;
}
