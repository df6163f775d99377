/* policy.c - what bouncegate does with a verdict: suppress, count or
 * nothing, by class, with per-reason overrides (the Policy key). See
 * classify.h.
 */
#include "rules_int.h"

#include <string.h>

void bg_policy_default(struct bg_policy *p)
{
    memset(p, 0, sizeof *p);
    p->by_class[BG_CLASS_NONE] = BG_POLICY_NONE;
    p->by_class[BG_CLASS_HARD] = BG_POLICY_SUPPRESS;
    p->by_class[BG_CLASS_SOFT] = BG_POLICY_COUNT;
    p->by_class[BG_CLASS_BLOCK] = BG_POLICY_NONE;
    p->by_class[BG_CLASS_COMPLAINT] = BG_POLICY_SUPPRESS;
    p->by_class[BG_CLASS_MANUAL] = BG_POLICY_SUPPRESS;
    p->by_class[BG_CLASS_UNDETERMINED] = BG_POLICY_NONE;
}

static int action_parse(const char *s, enum bg_policy_action *a)
{
    if (strcmp(s, "suppress") == 0)
        *a = BG_POLICY_SUPPRESS;
    else if (strcmp(s, "count") == 0)
        *a = BG_POLICY_COUNT;
    else if (strcmp(s, "none") == 0)
        *a = BG_POLICY_NONE;
    else
        return -1;
    return 0;
}

int bg_policy_set(struct bg_policy *p, const char *spec, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!spec) {
        *why = "empty policy spec";
        return -1;
    }
    while (is_blank((unsigned char)*spec))
        spec++;
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        *why = "policy spec must be name=action";
        return -1;
    }
    char name[32], act[16];
    size_t nl = (size_t)(eq - spec);
    while (nl && is_blank((unsigned char)spec[nl - 1]))
        nl--;
    if (nl >= sizeof name) {
        *why = "unknown class or reason";
        return -1;
    }
    for (size_t i = 0; i < nl; i++)
        name[i] = (char)lc((unsigned char)spec[i]);
    name[nl] = '\0';
    const char *a = eq + 1;
    while (is_blank((unsigned char)*a))
        a++;
    size_t al = strlen(a);
    while (al && is_blank((unsigned char)a[al - 1]))
        al--;
    if (al >= sizeof act) {
        *why = "action must be suppress, count or none";
        return -1;
    }
    for (size_t i = 0; i < al; i++)
        act[i] = (char)lc((unsigned char)a[i]);
    act[al] = '\0';
    enum bg_policy_action pa;
    if (action_parse(act, &pa) < 0) {
        *why = "action must be suppress, count or none";
        return -1;
    }
    enum bg_class c;
    if (class_lookup(name, &c) == 0) {
        p->by_class[c] = pa;
        return 0;
    }
    if (!reason_valid(name)) {
        *why = "unknown class or reason";
        return -1;
    }
    for (size_t i = 0; i < p->nover && i < sizeof p->over / sizeof p->over[0]; i++)
        if (strcmp(p->over[i].reason, name) == 0) {
            p->over[i].act = pa;
            return 0;
        }
    if (p->nover >= sizeof p->over / sizeof p->over[0]) {
        *why = "too many reason overrides";
        return -1;
    }
    copy_str(p->over[p->nover].reason, name, sizeof p->over[0].reason);
    p->over[p->nover].act = pa;
    p->nover++;
    return 0;
}

enum bg_policy_action bg_policy_decide(const struct bg_policy *p,
                                       const struct bg_verdict *v)
{
    size_t n = p->nover;
    if (n > sizeof p->over / sizeof p->over[0])
        n = sizeof p->over / sizeof p->over[0];
    for (size_t i = 0; i < n; i++)
        if (strncmp(p->over[i].reason, v->reason, sizeof v->reason) == 0)
            return p->over[i].act;
    /* A manual record is never produced by rules; treat like its class. */
    if ((unsigned)v->cls <= BG_CLASS_UNDETERMINED)
        return p->by_class[v->cls];
    return BG_POLICY_NONE;
}

const char *bg_policy_action_name(enum bg_policy_action a)
{
    switch (a) {
    case BG_POLICY_SUPPRESS: return "suppress";
    case BG_POLICY_COUNT: return "count";
    case BG_POLICY_NONE: return "none";
    }
    return "none";
}

