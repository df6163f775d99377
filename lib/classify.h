/* classify.h - from delivery facts to class, reason and the rule that
 * decided. Rules are data (conf/rules.conf, compiled in, plus an optional
 * site rules file that is consulted first): first match wins.
 */
#ifndef BG_CLASSIFY_H
#define BG_CLASSIFY_H

#include <stddef.h>
#include "record.h"
#include "dsn.h"

struct bg_facts {
    enum bg_dsn_action action;
    const char *status;      /* "5.1.1" or NULL/"" */
    const char *reply_code;  /* "550" or NULL/"" */
    const char *diag;        /* diagnostic text or NULL */
    const char *remote_mta;  /* or NULL */
    const char *command;     /* "RCPT", "DATA", ... or NULL */
    int is_feedback;         /* ARF report: complaint */
    const char *feedback_type;
    int is_autoreply;
};

struct bg_verdict {
    enum bg_class cls;       /* HARD, SOFT, BLOCK, COMPLAINT, UNDETERMINED, NONE */
    char reason[32];         /* Sisimai vocabulary */
    char rule[48];           /* id of the rule that decided */
    int delayed;             /* the facts were a delay (Action: delayed, "will
                                keep trying", a deferral in the log): the
                                outcome is still to come (learn.h) */
};

struct bg_rules;             /* opaque, immutable once loaded: share freely */

/* The built-in rules. Never fails (static data, checked by tests). */
const struct bg_rules *bg_rules_default(void);
/* Load a site rules file layered before the defaults. Returns NULL and an
 * error naming file and line on failure. */
struct bg_rules *bg_rules_load(const char *path, char *err, size_t errsz);
void bg_rules_free(struct bg_rules *r);

void bg_classify(const struct bg_rules *rules, const struct bg_facts *f,
                 struct bg_verdict *v);

/* How the rule set's text automaton is laid out (diagnostics and tests):
 * every state with a full table row (the defaults, most site rules), or
 * the deep states of very large site rules with their goto edges only.
 * NONE: no automaton. Decided once, when the rules load. */
enum bg_rules_layout { BG_LAYOUT_NONE = 0, BG_LAYOUT_DENSE, BG_LAYOUT_SPARSE };
enum bg_rules_layout bg_rules_layout(const struct bg_rules *r);
/* The facts of recipient r of the parsed report d (r NULL: the report as
 * a whole, no recipient). f points into d, which must outlive it. */
void bg_facts_from_dsn(const struct bg_dsn *d, const struct bg_dsn_rcpt *r,
                       struct bg_facts *f);

/* Policy: what each class / reason does. */
enum bg_policy_action { BG_POLICY_NONE = 0, BG_POLICY_COUNT, BG_POLICY_SUPPRESS };

struct bg_policy {
    enum bg_policy_action by_class[BG_CLASS_UNDETERMINED + 1];
    size_t nover;
    struct { char reason[32]; enum bg_policy_action act; } over[64];
};

/* Defaults: hard, complaint -> suppress; soft -> count; block, none,
 * undetermined -> none. */
void bg_policy_default(struct bg_policy *p);
/* "hard=suppress", "mailboxfull=suppress", "soft=count"... (name is a class
 * or a reason). Returns 0 or -1 with *why. */
int bg_policy_set(struct bg_policy *p, const char *spec, const char **why);
enum bg_policy_action bg_policy_decide(const struct bg_policy *p,
                                       const struct bg_verdict *v);
const char *bg_policy_action_name(enum bg_policy_action a);

#endif
