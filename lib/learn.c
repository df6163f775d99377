/* learn.c - apply the policy to one delivery outcome (see learn.h). */
#include "learn.h"
#include "address.h"
#include "bg.h"
#include "config.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define DAY (86400LL)

void bg_learn_defaults(struct bg_learn_cfg *c, const struct bg_policy *p)
{
    memset(c, 0, sizeof *c);
    c->policy = p;
    c->soft_threshold = 3;
    c->soft_window = 7 * DAY;
    c->soft_ttl = 30 * DAY;
    c->hard_ttl = 0;
    c->complaint_ttl = 0;
    c->dead_domain_rcpts = 2;
    c->dead_domain_ttl = 30 * DAY;
    c->outage_rcpts = 10;
    c->outage_window = 600;
}

const char *bg_learn_result_name(enum bg_learn_result r)
{
    switch (r) {
    case BG_LEARN_NONE: return "none";
    case BG_LEARN_SUPPRESSED: return "suppress";
    case BG_LEARN_COUNTED: return "count";
    case BG_LEARN_DUPLICATE: return "duplicate";
    case BG_LEARN_OUTAGE: return "outage";
    case BG_LEARN_RESET: return "reset";
    case BG_LEARN_ERROR: return "error";
    }
    return "?";
}

/* "a|b" for marker names; returns -1 when it does not fit. */
static int pair(char *out, size_t outsz, const char *a, const char *b)
{
    int n = snprintf(out, outsz, "%s|%s", a, b);
    return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

static void fill_record(struct bg_record *r, const struct bg_event *e, enum bg_class cls,
                        long long now, long long ttl, unsigned count)
{
    memset(r, 0, sizeof *r);
    r->cls = cls;
    bg_strlcpy(r->reason, e->v->reason, sizeof r->reason);
    bg_strlcpy(r->rule, e->v->rule, sizeof r->rule);
    if (e->status)
        bg_strlcpy(r->status, e->status, sizeof r->status);
    if (e->diag)
        bg_strlcpy(r->diag, e->diag, sizeof r->diag);
    bg_strlcpy(r->source, e->source ? e->source : "-", sizeof r->source);
    if (e->id)
        bg_strlcpy(r->id, e->id, sizeof r->id);
    r->first_seen = r->last_seen = now;
    r->count = count ? count : 1;
    r->expires = ttl ? now + ttl : 0;
}

/* Write the recipient entry, keeping first-seen and the running count of
 * an entry that is already there. */
static int suppress(struct bg_store *s, const struct bg_event *e, enum bg_class cls,
                    long long now, long long ttl, unsigned count, struct bg_learn_out *out)
{
    struct bg_record r, old;
    fill_record(&r, e, cls, now, ttl, count);
    if (bg_store_get(s, BG_KIND_RCPT, e->rcpt, &old, NULL, 0) == 1) {
        if (old.first_seen > 0 && old.first_seen < r.first_seen)
            r.first_seen = old.first_seen;
        if (count == 0)
            r.count = old.count + 1;
        /* A learned entry never shortens an operator's or a harder one. */
        if (old.cls == BG_CLASS_MANUAL || (old.cls == BG_CLASS_HARD && cls == BG_CLASS_SOFT)) {
            if (old.expires == 0 || (r.expires != 0 && old.expires > r.expires)) {
                r.cls = old.cls;
                r.expires = old.expires;
            }
        }
    }
    if (bg_store_put(s, BG_KIND_RCPT, e->rcpt, &r, out->err, sizeof out->err) < 0)
        return -1;
    out->stored_class = r.cls;
    out->expires = r.expires;
    return 0;
}

/* A domain that does not exist: once enough distinct recipients there
 * failed with hostunknown, suppress the domain itself. */
static void dead_domain(struct bg_store *s, const struct bg_learn_cfg *c,
                        const struct bg_event *e, const char *domain, long long now,
                        struct bg_learn_out *out)
{
    char name[BG_ADDR_MAX + BG_DOMAIN_MAX + 2];
    unsigned long long n = 0;
    if (c->dead_domain_rcpts == 0 || pair(name, sizeof name, domain, e->rcpt) < 0)
        return;
    int added = bg_store_add(s, BG_KIND_DEAD, name, c->soft_window, NULL, 0);
    if (added < 0 || bg_store_incr(s, BG_KIND_DEAD_N, domain, added ? 1 : 0,
                                   c->soft_window, &n, NULL, 0) < 0)
        return;
    if (n < c->dead_domain_rcpts)
        return;
    struct bg_record r;
    fill_record(&r, e, BG_CLASS_HARD, now, c->dead_domain_ttl, (unsigned)n);
    if (bg_store_put(s, BG_KIND_DOMAIN, domain, &r, NULL, 0) == 0)
        out->domain_suppressed = 1;
}

/* Many recipients of one domain failing at once is the domain's problem
 * (an outage, a rate limit, a block), not theirs. Returns 1 in an outage. */
static int in_outage(struct bg_store *s, const struct bg_learn_cfg *c,
                     const struct bg_event *e, const char *domain, struct bg_learn_out *out)
{
    char name[BG_ADDR_MAX + BG_DOMAIN_MAX + 2];
    unsigned long long n = 0;
    if (c->outage_rcpts == 0 || pair(name, sizeof name, domain, e->rcpt) < 0)
        return 0;
    int added = bg_store_add(s, BG_KIND_OUTAGE, name, c->outage_window, NULL, 0);
    if (added < 0 || bg_store_incr(s, BG_KIND_OUTAGE_N, domain, added ? 1 : 0,
                                   c->outage_window, &n, NULL, 0) < 0)
        return 0; /* store trouble: count as usual */
    if (n <= c->outage_rcpts)
        return 0;
    char warned[BG_DOMAIN_MAX + 16];
    snprintf(warned, sizeof warned, "outage|%s", domain);
    if (bg_store_add(s, BG_KIND_META, warned, c->outage_window, NULL, 0) == 1)
        out->outage_started = 1;
    return 1;
}

int bg_learn(struct bg_store *s, const struct bg_learn_cfg *c, const struct bg_event *e,
             struct bg_learn_out *out)
{
    memset(out, 0, sizeof *out);
    long long now = e->now ? e->now : (long long)time(NULL);
    const char *domain = bg_addr_domain(e->rcpt);
    if (domain == NULL)
        domain = "";

    if (e->delivered) {
        int d = bg_store_del(s, BG_KIND_SOFT, e->rcpt, out->err, sizeof out->err);
        out->result = d < 0 ? BG_LEARN_ERROR : d ? BG_LEARN_RESET : BG_LEARN_NONE;
        return d < 0 ? -1 : 0;
    }
    const struct bg_verdict *v = e->v;
    if (v->delayed && !e->deferral_counts) {
        /* A delay notice: the MTA is still trying. The final bounce will
         * count; a delivery after it would not be reported to us, so a
         * count made now could never be taken back. */
        out->action = BG_POLICY_NONE;
        out->result = BG_LEARN_NONE;
        return 0;
    }
    out->action = bg_policy_decide(c->policy, v);

    if ((v->cls == BG_CLASS_SOFT || v->cls == BG_CLASS_BLOCK) && *domain &&
        in_outage(s, c, e, domain, out)) {
        out->result = BG_LEARN_OUTAGE;
        return 0;
    }
    switch (out->action) {
    case BG_POLICY_NONE:
        out->result = BG_LEARN_NONE;
        return 0;
    case BG_POLICY_SUPPRESS: {
        /* The same outcome of the same message for the same recipient is
         * learned once: Postfix's DSN and its log line (both keyed by the
         * original queue id), or a report sent twice, are one event. The
         * marker names the class, so a complaint about a message that also
         * hard-bounced is still its own event. A store error here does not
         * stop the suppression. */
        if (e->msgkey != NULL && *e->msgkey) {
            char name[BG_ADDR_MAX + 280];
            int n = snprintf(name, sizeof name, "%s|%s|%s", e->rcpt, e->msgkey,
                             bg_class_name(v->cls));
            if (n > 0 && (size_t)n < sizeof name &&
                bg_store_add(s, BG_KIND_EVENT, name, c->soft_window, NULL, 0) == 0) {
                out->result = BG_LEARN_DUPLICATE;
                return 0;
            }
        }
        long long ttl = v->cls == BG_CLASS_COMPLAINT ? c->complaint_ttl
                      : v->cls == BG_CLASS_SOFT      ? c->soft_ttl
                                                     : c->hard_ttl;
        enum bg_class cls = v->cls == BG_CLASS_UNDETERMINED || v->cls == BG_CLASS_NONE ||
                                    v->cls == BG_CLASS_BLOCK
                                ? BG_CLASS_HARD : v->cls;
        if (suppress(s, e, cls, now, ttl, 0, out) < 0) {
            out->result = BG_LEARN_ERROR;
            return -1;
        }
        if (strcmp(v->reason, "hostunknown") == 0 && *domain)
            dead_domain(s, c, e, domain, now, out);
        out->result = BG_LEARN_SUPPRESSED;
        return 0;
    }
    case BG_POLICY_COUNT:
        break;
    }
    /* Count once per original message per recipient within the window. */
    if (e->msgkey != NULL && *e->msgkey) {
        char name[BG_ADDR_MAX + 260];
        if (pair(name, sizeof name, e->rcpt, e->msgkey) == 0) {
            int added = bg_store_add(s, BG_KIND_EVENT, name, c->soft_window, out->err,
                                     sizeof out->err);
            if (added < 0) {
                out->result = BG_LEARN_ERROR;
                return -1;
            }
            if (added == 0) {
                out->result = BG_LEARN_DUPLICATE;
                return 0;
            }
        }
    }
    unsigned long long n = 0;
    if (bg_store_incr(s, BG_KIND_SOFT, e->rcpt, 1, c->soft_window, &n, out->err,
                      sizeof out->err) < 0) {
        out->result = BG_LEARN_ERROR;
        return -1;
    }
    out->count = (unsigned)n;
    if (c->soft_threshold == 0 || n < c->soft_threshold) {
        out->result = BG_LEARN_COUNTED;
        return 0;
    }
    if (suppress(s, e, BG_CLASS_SOFT, now, c->soft_ttl, (unsigned)n, out) < 0) {
        out->result = BG_LEARN_ERROR;
        return -1;
    }
    out->result = BG_LEARN_SUPPRESSED;
    return 0;
}

int bg_learner_setup(struct bg_learner *l, const struct bg_config *c, char *err,
                     size_t errsz)
{
    memset(l, 0, sizeof *l);
    bg_policy_default(&l->policy);
    /* Policy: blank-separated name=action pairs. */
    char buf[sizeof c->policy];
    bg_strlcpy(buf, c->policy, sizeof buf);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \t,", &save); tok != NULL;
         tok = strtok_r(NULL, " \t,", &save)) {
        const char *why = NULL;
        if (bg_policy_set(&l->policy, tok, &why) < 0) {
            snprintf(err, errsz, "Policy: %s: %s", tok, why ? why : "bad entry");
            return -1;
        }
    }
    if (c->rules_file[0]) {
        l->site_rules = bg_rules_load(c->rules_file, err, errsz);
        if (l->site_rules == NULL)
            return -1;
        l->rules = l->site_rules;
    } else {
        l->rules = bg_rules_default();
    }
    bg_learn_defaults(&l->cfg, &l->policy);
    l->cfg.soft_threshold = c->soft_threshold;
    l->cfg.soft_window = c->soft_window ? c->soft_window : 7 * DAY;
    l->cfg.soft_ttl = c->soft_ttl;
    l->cfg.hard_ttl = c->hard_ttl;
    l->cfg.complaint_ttl = c->complaint_ttl;
    l->cfg.dead_domain_rcpts = c->dead_domain_rcpts;
    l->cfg.dead_domain_ttl = c->dead_domain_ttl;
    l->cfg.outage_rcpts = c->outage_rcpts;
    l->cfg.outage_window = c->outage_window ? c->outage_window : 600;
    return 0;
}

void bg_learner_free(struct bg_learner *l)
{
    if (l->site_rules != NULL)
        bg_rules_free(l->site_rules);
    l->site_rules = NULL;
    l->rules = NULL;
}

void bg_learn_log(const char *id, const struct bg_event *e, const struct bg_learn_out *o)
{
    char extra[400] = "";
    size_t off = 0;
    if (o->result == BG_LEARN_COUNTED || o->result == BG_LEARN_SUPPRESSED)
        if (o->count)
            off += (size_t)snprintf(extra + off, sizeof extra - off, " count=%u", o->count);
    if (o->result == BG_LEARN_SUPPRESSED && off < sizeof extra) {
        if (o->expires) {
            char when[32];
            struct tm tm;
            time_t t = (time_t)o->expires;
            gmtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            off += (size_t)snprintf(extra + off, sizeof extra - off, " expires=%s", when);
        } else {
            off += (size_t)snprintf(extra + off, sizeof extra - off, " expires=never");
        }
    }
    if (o->result == BG_LEARN_NONE && e->v && e->v->delayed && !e->deferral_counts &&
        off < sizeof extra)
        off += (size_t)snprintf(extra + off, sizeof extra - off, " delay=not-counted");
    if (o->domain_suppressed && off < sizeof extra)
        off += (size_t)snprintf(extra + off, sizeof extra - off, " domain=suppressed");
    if (o->result == BG_LEARN_ERROR && off < sizeof extra)
        snprintf(extra + off, sizeof extra - off, " error=\"%s\"", o->err);
    int level = o->result == BG_LEARN_SUPPRESSED ? LOG_NOTICE
              : o->result == BG_LEARN_ERROR      ? LOG_WARNING
                                                 : LOG_INFO;
    const struct bg_verdict *v = e->v;
    bg_log(level, id, "action=%s rcpt=<%s> class=%s reason=%s status=%s rule=%s source=%s%s",
           bg_learn_result_name(o->result), e->rcpt, v ? bg_class_name(v->cls) : "-",
           v && v->reason[0] ? v->reason : "-", e->status && *e->status ? e->status : "-",
           v && v->rule[0] ? v->rule : "-", e->source ? e->source : "-", extra);
    if (o->outage_started) {
        const char *d = bg_addr_domain(e->rcpt);
        bg_log(LOG_WARNING, id, "action=outage domain=%s problem=many-recipients-failing "
               "note=\"soft and block failures of this domain are not counted for now\"",
               d ? d : "-");
    }
}
