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
