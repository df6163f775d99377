/* log.h - one syslog line per decision, key=value, id first.
 *
 * bg_log(LOG_NOTICE, "4F1A2B3C", "action=reject rcpt=<%s> ...", ...)
 * writes "4F1A2B3C: action=reject ..." to syslog (facility and minimum
 * level from bg_log_open) and, when stderr echo is on (-f), to stderr
 * with a timestamp. id NULL or "" means no id ("NOQUEUE" is the caller's
 * business). Lines are bounded (1024 bytes); CR, LF and control bytes in
 * the formatted result are replaced by '?', so a hostile address cannot
 * forge a log line. Thread-safe.
 */
#ifndef BG_LOG_H
#define BG_LOG_H

#include <syslog.h>

void bg_log_open(const char *ident, int facility, int minlevel, int echo_stderr);
void bg_log_set_level(int minlevel);
int bg_log_enabled(int level);
void bg_log(int level, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse "mail", "local0".."local7", "daemon", "user" -> LOG_*; -1 if bad. */
int bg_log_facility_parse(const char *s);
/* Parse "error", "warning", "notice", "info", "debug" -> LOG_*; -1 if bad. */
int bg_log_level_parse(const char *s);

#endif
