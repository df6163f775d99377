/* classify-mem.c - the classifier's own speed, messages already in memory:
 * what the milter does with a report it has received (no file to open).
 * A measurement for test/bench/classify-bench.sh, not a test.
 *
 *   classify-mem ROUNDS FILE...
 *   classify-mem --per-file FILE...
 *
 * Reads every FILE once (at most 1 MiB each, as MaxScanBytes' default),
 * runs one untimed pass, then times ROUNDS passes. Each message gets what
 * `bouncegatectl classify` does to it: bg_dsn_parse, then per recipient
 * bg_classify, bg_policy_decide and one output line (formatted into a
 * buffer, not written). Prints one line:
 *   messages=N recipients=R seconds=S msg_per_s=M
 *
 * --per-file: each message on its own, everything in cache (the best of 7
 * runs of 20 passes over that one message): one line per file,
 *   FILE BYTES NS
 * then the mean and a least-squares fit over the files,
 *   per-file: files=N mean_ns=M fixed_ns=A ns_per_byte=B
 * i.e. what a message costs whatever its size and what each byte adds.
 */
#include "classify.h"
#include "dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FILE (1024 * 1024)

struct msg {
    char *buf;
    size_t len;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *path, struct msg *m)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    m->buf = malloc(MAX_FILE);
    if (!m->buf) {
        fclose(f);
        return -1;
    }
    m->len = fread(m->buf, 1, MAX_FILE, f);
    int bad = ferror(f);
    fclose(f);
    return bad ? -1 : 0;
}

/* One message as bouncegatectl classify treats it; returns the bytes of
 * output it would print (so the work cannot be optimised away). */
static size_t one(const struct msg *m, struct bg_dsn *d, const struct bg_rules *rules,
                  const struct bg_policy *pol, size_t *nrcpt)
{
    struct bg_dsn_opts opts = { 0 };
    struct bg_facts f;
    struct bg_verdict v;
    char line[2048];
    size_t out = 0;
    int rc = bg_dsn_parse(m->buf, m->len, &opts, d);
    size_t n = rc == 0 ? (d->nrcpt < BG_DSN_MAX_RCPT ? d->nrcpt : BG_DSN_MAX_RCPT) : 0;
    if (n == 0) {
        if (rc == 0)
            bg_facts_from_dsn(d, NULL, &f);
        else
            memset(&f, 0, sizeof f);
        bg_classify(rules, &f, &v);
        int w = snprintf(line, sizeof line, "-\t-\t%s\t%s\t%s\n", v.reason, v.rule,
                         bg_policy_action_name(bg_policy_decide(pol, &v)));
        return w > 0 ? (size_t)w : 0;
    }
    for (size_t i = 0; i < n; i++) {
        const struct bg_dsn_rcpt *r = &d->r[i];
        bg_facts_from_dsn(d, r, &f);
        bg_classify(rules, &f, &v);
        int w = snprintf(line, sizeof line, "%s\t%s\t%s\t%s\t%s\n", r->rcpt,
                         r->status[0] ? r->status : "-", v.reason, v.rule,
                         bg_policy_action_name(bg_policy_decide(pol, &v)));
        out += w > 0 ? (size_t)w : 0;
    }
    *nrcpt += n;
    return out;
}

/* --per-file (see the top). */
static int per_file(struct msg *m, size_t nm, char **names, struct bg_dsn *d,
                    const struct bg_rules *rules, const struct bg_policy *pol)
{
    size_t nrcpt = 0, bytes = 0;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < nm; i++) {
        double best = 1e9;
        for (int r = 0; r < 7; r++) {
            double t0 = now();
            for (int k = 0; k < 20; k++)
                bytes += one(&m[i], d, rules, pol, &nrcpt);
            double dt = (now() - t0) / 20;
            if (dt < best)
                best = dt;
        }
        double x = (double)m[i].len, y = best * 1e9;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        printf("%s\t%zu\t%.0f\n", names[i], m[i].len, y);
    }
    double n = (double)nm, den = n * sxx - sx * sx;
    double b = den != 0 ? (n * sxy - sx * sy) / den : 0, a = (sy - b * sx) / n;
    printf("per-file: files=%zu mean_ns=%.0f fixed_ns=%.0f ns_per_byte=%.3f output_bytes=%zu\n",
           nm, sy / n, a, b, bytes);
    return 0;
}

int main(int argc, char **argv)
{
    int pf = argc >= 2 && strcmp(argv[1], "--per-file") == 0;
    if (argc < 3) {
        fprintf(stderr, "usage: classify-mem ROUNDS FILE...\n"
                        "       classify-mem --per-file FILE...\n");
        return 2;
    }
    long rounds = pf ? 1 : strtol(argv[1], NULL, 10);
    if (rounds < 1 || rounds > 100000) {
        fprintf(stderr, "classify-mem: ROUNDS must be 1..100000\n");
        return 2;
    }
    size_t nm = (size_t)(argc - 2);
    struct msg *m = calloc(nm, sizeof *m);
    struct bg_dsn *d = malloc(sizeof *d);
    if (!m || !d) {
        fprintf(stderr, "classify-mem: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < nm; i++)
        if (load(argv[i + 2], &m[i]) < 0) {
            fprintf(stderr, "classify-mem: cannot read %s\n", argv[i + 2]);
            return 1;
        }
    const struct bg_rules *rules = bg_rules_default();
    struct bg_policy pol;
    bg_policy_default(&pol);
    if (pf) {
        int rc = per_file(m, nm, argv + 2, d, rules, &pol);
        for (size_t i = 0; i < nm; i++)
            free(m[i].buf);
        free(m);
        free(d);
        return rc;
    }

    size_t bytes = 0, nrcpt = 0, warm = 0;
    for (size_t i = 0; i < nm; i++) /* untimed: rules compiled, caches warm */
        bytes += one(&m[i], d, rules, &pol, &warm);
    double t0 = now();
    for (long r = 0; r < rounds; r++)
        for (size_t i = 0; i < nm; i++)
            bytes += one(&m[i], d, rules, &pol, &nrcpt);
    double dt = now() - t0;
    if (dt <= 0)
        dt = 1e-9;
    printf("messages=%zu recipients=%zu seconds=%.3f msg_per_s=%.1f output_bytes=%zu\n",
           nm * (size_t)rounds, nrcpt, dt, (double)(nm * (size_t)rounds) / dt, bytes);
    for (size_t i = 0; i < nm; i++)
        free(m[i].buf);
    free(m);
    free(d);
    return 0;
}
