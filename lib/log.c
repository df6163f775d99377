/* log.c - syslog plus optional stderr echo, one bounded line per call. */
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Set once at start-up (before threads) and on reload; read by workers.
 * Plain ints are enough: a torn read is impossible for an aligned int and
 * a worker seeing the old level for one line is harmless. */
static volatile int log_min = LOG_NOTICE;
static volatile int log_echo;
static char log_ident[32] = "bouncegate";
static pthread_mutex_t echo_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether /dev/log is there. Without it, glibc's syslog() makes a socket,
 * fails to connect and closes it again for every line (three system calls
 * per line for nothing; on a loaded RCPT path that was a good part of the
 * kernel's time). So it is looked at when the log is opened and then at
 * most once a second (a syslog daemon that starts later is found). */
static _Atomic int syslog_there = 1;
static _Atomic long long syslog_checked;   /* monotonic seconds */

static long long mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

static int syslog_available(void)
{
    if (atomic_load(&syslog_there))
        return 1;
    long long now = mono_s(), last = atomic_load(&syslog_checked);
    if (now == last || !atomic_compare_exchange_strong(&syslog_checked, &last, now))
        return 0;
    int there = access(_PATH_LOG, F_OK) == 0;
    atomic_store(&syslog_there, there);
    return there;
}

void bg_log_open(const char *ident, int facility, int minlevel, int echo_stderr)
{
    snprintf(log_ident, sizeof log_ident, "%s", ident);
    openlog(log_ident, LOG_PID | LOG_NDELAY, facility);
    atomic_store(&syslog_there, access(_PATH_LOG, F_OK) == 0);
    atomic_store(&syslog_checked, mono_s());
    log_min = minlevel;
    log_echo = echo_stderr;
}

void bg_log_set_level(int minlevel) { log_min = minlevel; }

int bg_log_enabled(int level) { return level <= log_min; }

static const char *level_name(int level)
{
    switch (level) {
    case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "error";
    case LOG_WARNING: return "warning";
    case LOG_NOTICE: return "notice";
    case LOG_INFO: return "info";
    default: return "debug";
    }
}

void bg_log(int level, const char *id, const char *fmt, ...)
{
    char line[1024];
    size_t off = 0;
    va_list ap;

    if (!bg_log_enabled(level))
        return;
    if (id != NULL && *id != '\0') {
        int n = snprintf(line, sizeof line, "%s: ", id);
        off = (n < 0) ? 0 : ((size_t)n >= sizeof line ? sizeof line - 1 : (size_t)n);
    }
    va_start(ap, fmt);
    vsnprintf(line + off, sizeof line - off, fmt, ap);
    va_end(ap);
    /* Nothing from outside may start a new log line or hide in one. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (syslog_available())
        syslog(level, "%s", line);
    if (log_echo) {
        char ts[32];
        struct tm tm;
        time_t now = time(NULL);
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        pthread_mutex_lock(&echo_lock);
        fprintf(stderr, "%s %s[%s]: %s\n", ts, log_ident, level_name(level), line);
        fflush(stderr);
        pthread_mutex_unlock(&echo_lock);
    }
}

static const struct { const char *name; int v; } facilities[] = {
    { "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
    { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
    { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
    { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};
static const struct { const char *name; int v; } levels[] = {
    { "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
    { "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

int bg_log_facility_parse(const char *s)
{
    for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
        if (strcasecmp(s, facilities[i].name) == 0)
            return facilities[i].v;
    return -1;
}

int bg_log_level_parse(const char *s)
{
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcasecmp(s, levels[i].name) == 0)
            return levels[i].v;
    return -1;
}
