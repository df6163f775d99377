/* learn.h - turn one classified delivery outcome into a change of the
 * suppression set, following the policy.
 *
 *   hard, complaint (policy suppress)  -> recipient entry now, once per
 *        message per recipient (a DSN and a log line for the same queue id
 *        are one event: the second is a duplicate)
 *   soft (policy count)                -> counted once per message per
 *        recipient within SoftWindow; at SoftThreshold the recipient is
 *        suppressed with class soft for SoftTTL
 *   block, undetermined, none          -> nothing (the caller logs it)
 *   hostunknown from >= DeadDomainRecipients distinct recipients
 *                                      -> a domain entry for DeadDomainTTL
 *   soft/block failures of more than OutageRecipients distinct recipients
 *   of one domain within OutageWindow  -> outage: not counted, warned once
 *   a delivery                         -> the soft count is reset
 *
 * Counters and markers live in memcached next to the entries, so every MTA
 * of the site counts together. Counting uses memcached add/incr, which are
 * atomic across clients.
 */
#ifndef BG_LEARN_H
#define BG_LEARN_H

#include "classify.h"
#include "store.h"

struct bg_learn_cfg {
    const struct bg_policy *policy;
    unsigned soft_threshold;
    long long soft_window;       /* s */
    long long soft_ttl;          /* s, 0 = never */
    long long hard_ttl;          /* s, 0 = never */
    long long complaint_ttl;     /* s, 0 = never */
    unsigned dead_domain_rcpts;  /* 0 = never suppress domains */
    long long dead_domain_ttl;   /* s, 0 = never */
    unsigned outage_rcpts;       /* 0 = no outage detection */
    long long outage_window;     /* s */
};

struct bg_event {
    const char *rcpt;            /* normalized address */
    const struct bg_verdict *v;  /* class, reason, rule */
    const char *status;          /* enhanced status or NULL */
    const char *diag;            /* diagnostic text or NULL */
    const char *source;          /* postfix-dsn, remote-dsn, arf, log */
    const char *id;              /* queue id / message id for the record */
    const char *msgkey;          /* the original message's identity, for
                                    once-per-message counting; NULL = none */
    int delivered;               /* a successful delivery (resets soft) */
    int deferral_counts;         /* a delay counts as a soft failure: set by
                                    the log reader, which also sees the
                                    delivery that may follow and resets the
                                    count; a report's delay notice never
                                    counts (the bounce or the silent
                                    delivery that follows is the outcome) */
    long long now;               /* time of the event (0 = now) */
};

enum bg_learn_result {
    BG_LEARN_NONE = 0,       /* policy says nothing to do */
    BG_LEARN_SUPPRESSED,     /* recipient entry written */
    BG_LEARN_COUNTED,        /* soft event counted, below threshold */
    BG_LEARN_DUPLICATE,      /* event already learned for this message */
    BG_LEARN_OUTAGE,         /* domain-wide event: not counted */
    BG_LEARN_RESET,          /* delivery: soft count cleared */
    BG_LEARN_ERROR
};

struct bg_learn_out {
    enum bg_learn_result result;
    enum bg_policy_action action;  /* what the policy said */
    unsigned count;                /* soft count after this event */
    enum bg_class stored_class;    /* class of the entry written */
    long long expires;             /* of the entry written */
    int domain_suppressed;         /* a domain entry was written too */
    int outage_started;            /* first event past the outage limit */
    char err[256];
};

void bg_learn_defaults(struct bg_learn_cfg *c, const struct bg_policy *p);

/* Everything a learner needs, built from the config: the rules (site file
 * layered over the built-in ones), the policy with its overrides, and the
 * learning parameters. Immutable once set up; share between threads. */
struct bg_config;
struct bg_learner {
    const struct bg_rules *rules;
    struct bg_rules *site_rules;   /* owned; NULL without RulesFile */
    struct bg_policy policy;
    struct bg_learn_cfg cfg;
};
/* Returns 0, or -1 with err naming the config key or the rules file line. */
int bg_learner_setup(struct bg_learner *l, const struct bg_config *c, char *err,
                     size_t errsz);
void bg_learner_free(struct bg_learner *l);

/* The one log line of a learning decision, queue id (or message id) first:
 * "ID: action=suppress rcpt=<bob@example.com> class=hard reason=userunknown
 *  status=5.1.1 rule=... source=postfix-dsn [count=2] [expires=...]". */
void bg_learn_log(const char *id, const struct bg_event *e, const struct bg_learn_out *o);
int bg_learn(struct bg_store *s, const struct bg_learn_cfg *c, const struct bg_event *e,
             struct bg_learn_out *out);
const char *bg_learn_result_name(enum bg_learn_result r);

#endif
