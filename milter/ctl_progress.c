/* ctl_progress.c - a progress line on the terminal for the long runs of
 * bouncegatectl (import, check, export of millions of rows): rows done,
 * rate, and, when the size is known, share done and time left. Only when
 * standard error is a terminal, at most twice a second, on one line that
 * is rewritten (\r) and erased at the end, so nothing is left in a log or
 * a pipe. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ctl_progress_start(struct ctl_progress *p, const char *what, FILE *in, long long total)
{
    memset(p, 0, sizeof *p);
    p->on = isatty(STDERR_FILENO);
    p->what = what;
    p->total = total;
    struct stat st;
    if (in != NULL && fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode)) {
        p->in = in;
        p->total = (long long)st.st_size;
    }
    p->start = p->last = mono();
}

void ctl_progress_tick(struct ctl_progress *p, unsigned long rows, long long done)
{
    if (!p->on || (rows & 255) != 0)
        return;
    double now = mono();
    if (now - p->last < 0.5)
        return;
    p->last = now;
    if (p->in != NULL)
        done = (long long)ftell(p->in);
    double rate = rows / (now - p->start > 0 ? now - p->start : 1);
    char line[160];
    int n = snprintf(line, sizeof line, "%s: %lu rows, %.0f/s", p->what, rows, rate);
    if (p->total > 0 && done >= 0 && done <= p->total && rate > 0) {
        double share = (double)done / (double)p->total;
        double left = share > 0 ? (now - p->start) * (1 - share) / share : 0;
        n += snprintf(line + n, sizeof line - (size_t)n, ", %.0f%%, about %.0f s left",
                      share * 100, left);
    }
    fprintf(stderr, "\r%-*s", p->width > n ? p->width : n, line);
    fflush(stderr);
    p->width = n;
}

void ctl_progress_end(struct ctl_progress *p)
{
    if (p->on && p->width > 0) {
        fprintf(stderr, "\r%*s\r", p->width, "");
        fflush(stderr);
    }
    p->width = 0;
}
