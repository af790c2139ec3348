/* dbs_policy: see dbs_policy.h. */
#include "dbs_policy.h"

int dbs_policy_expired(const dbs_policy_t *p, apr_int64_t created_at,
                       apr_int64_t active_at, apr_int64_t now)
{
    if (p->idle_timeout > 0 && now > active_at + p->idle_timeout) {
        return 1;
    }
    if (p->absolute_timeout > 0 && now > created_at + p->absolute_timeout) {
        return 1;
    }
    return 0;
}

apr_int64_t dbs_policy_expires_at(const dbs_policy_t *p, apr_int64_t created_at,
                                  apr_int64_t active_at)
{
    apr_int64_t idle = p->idle_timeout > 0 ? active_at + p->idle_timeout : 0;
    apr_int64_t absolute =
        p->absolute_timeout > 0 ? created_at + p->absolute_timeout : 0;

    if (idle && absolute) {
        return idle < absolute ? idle : absolute;
    }
    return idle ? idle : absolute;
}

apr_int64_t dbs_policy_row_expiry(const dbs_policy_t *p, apr_int64_t created_at,
                                  apr_int64_t active_at)
{
    apr_int64_t at = dbs_policy_expires_at(p, created_at, active_at);

    return at ? at : DBS_NEVER_EXPIRES;
}

int dbs_policy_wants_extension(const dbs_policy_t *p, apr_int64_t active_at,
                               apr_int64_t now)
{
    return p->idle_timeout > 0 && now - active_at >= p->extension_delay;
}

dbs_renewal_e dbs_policy_renewal(const dbs_policy_t *p,
                                 const dbs_renewal_state_t *r, apr_int64_t now)
{
    int renewal_on = p->renewal_timeout > 0;

    if (r->presented_previous) {
        if (r->previous_until > 0) {
            return now > r->previous_until ? DBS_RENEWAL_VIOLATION
                                           : DBS_RENEWAL_KEEP;
        }
        if (!renewal_on || now < r->renewed_at + DBS_RENEWAL_GRACE) {
            return DBS_RENEWAL_KEEP;
        }
        /* A stolen pre-renewal cookie replayed later must not take the
         * session over again and again: one replacement per renewal. */
        return r->previous_until == DBS_PREVIOUS_REPLACED
                   ? DBS_RENEWAL_VIOLATION
                   : DBS_RENEWAL_REPLACE;
    }
    if (r->has_previous && r->previous_until <= 0) {
        return DBS_RENEWAL_CONFIRM;
    }
    if (renewal_on && now >= r->renewed_at + p->renewal_timeout &&
        (!r->has_previous || now > r->previous_until)) {
        return DBS_RENEWAL_ROTATE;
    }
    return DBS_RENEWAL_KEEP;
}
