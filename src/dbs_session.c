/* dbs_session: see dbs_session.h. */
#include "dbs_session.h"
#include "dbs_codec.h"

#include <string.h>

#include <apr_strings.h>

const char *const dbs_op_headers[DBS_OP_COUNT] = {
    "X-DBSession-Invalidate",    "X-DBSession-Clear", "X-DBSession-Unset",
    "X-DBSession-Set",           "X-DBSession-User",  "X-DBSession-Regenerate",
    "X-DBSession-Revoke-Others", "X-DBSession-Flash",
};

void dbs_session_init(dbs_session_t *s, apr_pool_t *pool)
{
    memset(s, 0, sizeof(*s));
    s->data = apr_table_make(pool, 8);
    s->user = s->flash = s->csrf = s->prev_hash = "";
}

/* Take a loaded row as the session, unless it has expired (strict mode: an
 * unknown or expired ID is never adopted). */
static void renewal_state(const dbs_session_t *s, dbs_renewal_state_t *out)
{
    out->renewed_at = s->renewed_at;
    out->has_previous = *s->prev_hash != '\0';
    out->previous_until = s->prev_until;
    out->presented_previous = s->via_previous;
}

/* An ID a renewal replaced, presented after its grace. */
static int renewal_violated(dbs_session_t *s, const dbs_record_t *rec,
                            const dbs_policy_t *p, apr_int64_t now)
{
    dbs_renewal_state_t state = {rec->renewed_at, 1, rec->prev_until, 1};

    if (!rec->via_previous ||
        dbs_policy_renewal(p, &state, now) != DBS_RENEWAL_VIOLATION) {
        return 0;
    }
    s->renewal_violations++;
    apr_cpystrn(s->violated, rec->id_hash, sizeof(s->violated));
    return 1;
}

static apr_status_t adopt(dbs_session_t *s, apr_pool_t *pool,
                          const dbs_record_t *rec, int found,
                          const dbs_policy_t *p, apr_int64_t now,
                          const char **err)
{
    if (!found || dbs_policy_expired(p, rec->created_at, rec->active_at, now) ||
        renewal_violated(s, rec, p, now)) {
        s->cookie_invalid = 1;
        return APR_SUCCESS;
    }
    apr_table_clear(s->data);
    if (dbs_data_decode(pool, rec->data, s->data) != NULL) {
        *err = "stored session data is malformed";
        return APR_EGENERAL;
    }
    s->loaded = 1;
    s->cookie_invalid = 0;
    s->user = rec->user;
    s->flash = rec->flash;
    s->csrf = rec->csrf;
    s->created_at = rec->created_at;
    s->active_at = rec->active_at;
    s->renewed_at = rec->renewed_at;
    s->prev_hash = rec->prev_hash;
    s->prev_until = rec->prev_until;
    s->via_previous = rec->via_previous;
    apr_cpystrn(s->id_hash, rec->id_hash, sizeof(s->id_hash));
    return APR_SUCCESS;
}

static void set_id(dbs_session_t *s, const unsigned char *id)
{
    memcpy(s->id, id, DBS_ID_BYTES);
    dbs_id_hash_hex(s->id, s->id_hash);
}

/* adopt() in t: a malformed row is t's error. */
static apr_status_t adopt_in(dbs_txn_t *t, dbs_session_t *s,
                             const dbs_record_t *rec, int found,
                             const dbs_policy_t *p, apr_int64_t now)
{
    const char *err = NULL;

    if (adopt(s, dbs_txn_pool(t), rec, found, p, now, &err) != APR_SUCCESS) {
        dbs_txn_set_error(t, err);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t dbs_session_load(dbs_txn_t *t, dbs_session_t *s,
                              const unsigned char *id, const dbs_policy_t *p,
                              apr_int64_t now)
{
    dbs_record_t rec;
    int found = 0;
    apr_status_t rv;

    if (!id) {
        return APR_SUCCESS;
    }
    set_id(s, id);
    if ((rv = dbs_store_load(t, s->id_hash, &rec, &found)) != APR_SUCCESS) {
        return rv;
    }
    return adopt_in(t, s, &rec, found, p, now);
}

static apr_status_t open_once(dbs_txn_t *t, dbs_session_t *s,
                              const apr_array_header_t *ids,
                              const dbs_policy_t *p, apr_int64_t now)
{
    dbs_record_t rec;
    int found = 0, i;
    apr_status_t rv;

    s->loaded = 0;
    if (ids->nelts) {
        set_id(s, (const unsigned char *)ids->elts);
    }
    rv = dbs_store_begin(t, ids->nelts ? s->id_hash : NULL, &rec, &found);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (ids->nelts &&
        (rv = adopt_in(t, s, &rec, found, p, now)) != APR_SUCCESS) {
        return dbs_store_abort(t, rv);
    }
    /* Several cookies of our name: the first live one wins. */
    for (i = 1; i < ids->nelts && !s->loaded; i++) {
        rv = dbs_session_load(t, s,
                              (const unsigned char *)ids->elts +
                                  (apr_size_t)i * DBS_ID_BYTES,
                              p, now);
        if (rv != APR_SUCCESS) {
            return dbs_store_abort(t, rv);
        }
    }
    return APR_SUCCESS;
}

apr_status_t dbs_session_open(dbs_txn_t *t, dbs_session_t *s,
                              const apr_array_header_t *ids,
                              const dbs_policy_t *p, apr_int64_t now,
                              const char **retried)
{
    apr_status_t rv = open_once(t, s, ids, p, now);

    *retried = NULL;
    /* Nothing else has used the connection in this request yet; a lock
     * wait that ran out is no reason to try again. */
    if (rv == APR_SUCCESS || rv == APR_TIMEUP ||
        dbs_store_revive(t) != APR_SUCCESS) {
        return rv;
    }
    *retried = dbs_txn_error(t);
    return open_once(t, s, ids, p, now);
}

const char *dbs_session_take_flash(dbs_session_t *s)
{
    const char *flash = s->flash;

    if (*flash) {
        s->flash = "";
        s->changed = 1;
    }
    return flash;
}

dbs_writes_t *dbs_writes_make(apr_pool_t *pool)
{
    dbs_writes_t *w = apr_pcalloc(pool, sizeof(*w));
    int i;

    for (i = 0; i < DBS_OP_COUNT; i++) {
        w->values[i] = apr_array_make(pool, 1, sizeof(char *));
    }
    return w;
}

int dbs_writes_empty(const dbs_writes_t *w)
{
    int i;

    for (i = 0; i < DBS_OP_COUNT; i++) {
        if (w->values[i]->nelts) {
            return 0;
        }
    }
    return 1;
}

/* Every item of every value of a header: repeats may be joined with ", ". */
static apr_array_header_t *all_items(apr_pool_t *pool,
                                     const apr_array_header_t *values)
{
    apr_array_header_t *items = apr_array_make(pool, 4, sizeof(char *));
    int i;

    for (i = 0; i < values->nelts; i++) {
        apr_array_cat(items,
                      dbs_split_items(pool, APR_ARRAY_IDX(values, i, char *)));
    }
    return items;
}

/* Invalidate, Clear, Regenerate and Revoke-Others take "1". */
static const char *check_switch(apr_pool_t *pool, dbs_op_e op,
                                const apr_array_header_t *values)
{
    apr_array_header_t *items = all_items(pool, values);
    int i;

    for (i = 0; i < items->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(items, i, char *), "1") != 0) {
            return apr_psprintf(pool, "%s takes only the value 1",
                                dbs_op_headers[op]);
        }
    }
    return NULL;
}

/* A single-value header (User): the last one counts. */
static const char *last_value(apr_pool_t *pool,
                              const apr_array_header_t *values, char **out)
{
    const char *raw = APR_ARRAY_IDX(values, values->nelts - 1, char *);
    const char *comma = strrchr(raw, ',');
    const char *start = comma ? comma + 1 : raw;

    start += strspn(start, " \t");
    return dbs_pct_decode(pool, start, strlen(start), out);
}

static const char *append_flash(apr_pool_t *pool, dbs_session_t *s,
                                const apr_array_header_t *values)
{
    apr_array_header_t *items = all_items(pool, values);
    int i;

    for (i = 0; i < items->nelts; i++) {
        const char *item = APR_ARRAY_IDX(items, i, char *);
        char *msg;
        const char *err = dbs_pct_decode(pool, item, strlen(item), &msg);

        if (err) {
            return apr_psprintf(pool, "X-DBSession-Flash: %s", err);
        }
        s->flash = *s->flash ? apr_pstrcat(pool, s->flash, "&",
                                           dbs_pct_encode(pool, msg), NULL)
                             : dbs_pct_encode(pool, msg);
    }
    return NULL;
}

static const char *apply_all(dbs_session_t *s, apr_pool_t *pool,
                             const dbs_writes_t *w)
{
    const apr_array_header_t *v;
    const char *err;
    int i, j;

    v = w->values[DBS_OP_INVALIDATE];
    if (v->nelts) {
        if ((err = check_switch(pool, DBS_OP_INVALIDATE, v))) {
            return err;
        }
        /* The old row goes; anything set below starts a fresh session. */
        s->deleted = s->deleted || s->loaded;
        s->loaded = 0;
        s->rotate = 0;
        apr_table_clear(s->data);
        s->user = s->flash = s->csrf = "";
        s->changed = 0;
    }
    v = w->values[DBS_OP_CLEAR];
    if (v->nelts) {
        if ((err = check_switch(pool, DBS_OP_CLEAR, v))) {
            return err;
        }
        apr_table_clear(s->data);
        s->changed = 1;
    }
    v = w->values[DBS_OP_UNSET];
    for (i = 0; i < v->nelts; i++) {
        apr_array_header_t *keys = apr_array_make(pool, 4, sizeof(char *));

        if ((err = dbs_parse_keys(pool, APR_ARRAY_IDX(v, i, char *), keys))) {
            return apr_psprintf(pool, "X-DBSession-Unset: %s", err);
        }
        for (j = 0; j < keys->nelts; j++) {
            apr_table_unset(s->data, APR_ARRAY_IDX(keys, j, char *));
        }
        s->changed = 1;
    }
    v = w->values[DBS_OP_SET];
    for (i = 0; i < v->nelts; i++) {
        if ((err = dbs_parse_assignments(pool, APR_ARRAY_IDX(v, i, char *),
                                         s->data))) {
            return apr_psprintf(pool, "X-DBSession-Set: %s", err);
        }
        s->changed = 1;
    }
    v = w->values[DBS_OP_USER];
    if (v->nelts) {
        char *user;

        if ((err = last_value(pool, v, &user)) ||
            (err = dbs_user_check(user))) {
            return apr_psprintf(pool, "X-DBSession-User: %s", err);
        }
        if (strcmp(user, s->user) != 0) {
            /* Session fixation defence: a new user gets a new ID, and a new
             * CSRF token (a planted session's token must not survive the
             * login). */
            s->user = user;
            s->changed = 1;
            s->rotate = s->loaded;
            s->csrf = *s->csrf ? dbs_token_generate(pool) : s->csrf;
        }
    }
    v = w->values[DBS_OP_REGENERATE];
    if (v->nelts) {
        if ((err = check_switch(pool, DBS_OP_REGENERATE, v))) {
            return err;
        }
        s->rotate = s->loaded;
        if (s->loaded) {
            s->csrf = dbs_token_generate(pool);
            s->changed = 1;
        }
    }
    v = w->values[DBS_OP_REVOKE_OTHERS];
    if (v->nelts) {
        if ((err = check_switch(pool, DBS_OP_REVOKE_OTHERS, v))) {
            return err;
        }
        s->revoke_others = 1;
    }
    v = w->values[DBS_OP_FLASH];
    if (v->nelts) {
        if ((err = append_flash(pool, s, v))) {
            return err;
        }
        s->changed = 1;
    }
    return NULL;
}

apr_status_t dbs_session_apply(dbs_session_t *s, apr_pool_t *pool,
                               const dbs_writes_t *w, apr_int64_t max_size,
                               const char **err)
{
    dbs_session_t scratch = *s;
    apr_size_t size;

    scratch.data = apr_table_copy(pool, s->data);
    *err = apply_all(&scratch, pool, w);
    if (*err) {
        return APR_EINVAL;
    }
    size = strlen(dbs_data_encode(pool, scratch.data)) + strlen(scratch.flash) +
           strlen(scratch.user);
    if ((apr_int64_t)size > max_size) {
        *err = apr_psprintf(pool,
                            "the session would hold %" APR_SIZE_T_FMT
                            " bytes, over DBSessionMaxSize %" APR_INT64_T_FMT,
                            size, max_size);
        return APR_EINVAL;
    }
    *s = scratch;
    return APR_SUCCESS;
}

static int has_content(const dbs_session_t *s)
{
    return !apr_is_empty_table(s->data) || *s->user || *s->flash;
}

static void fill_record(const dbs_session_t *s, apr_pool_t *pool,
                        dbs_record_t *rec)
{
    rec->user = s->user;
    rec->data = dbs_data_encode(pool, s->data);
    rec->flash = s->flash;
    rec->csrf = s->csrf;
    rec->created_at = s->created_at;
    rec->active_at = s->active_at;
    rec->renewed_at = s->renewed_at;
    rec->prev_hash = s->prev_hash;
    rec->prev_until = s->prev_until;
}

/* A fresh ID for the session, with what renewal keeps of the old one. */
static void new_id(dbs_session_t *s, apr_pool_t *pool, const char *prev_hash,
                   apr_int64_t now)
{
    s->prev_hash = apr_pstrdup(pool, prev_hash);
    s->prev_until = 0;
    s->renewed_at = now;
    s->via_previous = 0;
    dbs_id_generate(s->id);
    dbs_id_hash_hex(s->id, s->id_hash);
}

/* What renewal adds to this save: a new ID (keeping the one to remember as
 * previous), or the start of the previous ID's grace. 1 if it writes. */
static int plan_renewal(dbs_session_t *s, apr_pool_t *pool,
                        const dbs_policy_t *p, apr_int64_t now)
{
    dbs_renewal_state_t state;

    renewal_state(s, &state);
    switch (s->rotate ? DBS_RENEWAL_KEEP : dbs_policy_renewal(p, &state, now)) {
    case DBS_RENEWAL_CONFIRM:
        s->prev_until = now + DBS_RENEWAL_GRACE;
        return 1;
    case DBS_RENEWAL_ROTATE:
        new_id(s, pool, s->id_hash, now);
        s->renewed = 1;
        return 1;
    case DBS_RENEWAL_REPLACE:
        new_id(s, pool, s->prev_hash, now);
        s->renewed = 1;
        return 1;
    default:
        return 0;
    }
}

static apr_status_t store_changes(dbs_txn_t *t, dbs_session_t *s,
                                  const dbs_policy_t *p, apr_int64_t now,
                                  apr_int64_t cookie_max_age,
                                  dbs_cookie_action_e *cookie)
{
    apr_pool_t *pool = dbs_txn_pool(t);
    apr_status_t rv;
    dbs_record_t rec;
    char old_hash[DBS_HASH_HEX_CHARS + 1];

    *cookie = DBS_COOKIE_NONE;
    if (s->deleted) {
        if ((rv = dbs_store_delete(t, s->id_hash)) != APR_SUCCESS) {
            return rv;
        }
        s->deleted = 0;
        *cookie = DBS_COOKIE_CLEAR;
    }
    if (!s->loaded) {
        /* Lazy: a row and a cookie only once something is stored. */
        if (!s->changed || !has_content(s)) {
            if (s->cookie_invalid) {
                *cookie = DBS_COOKIE_CLEAR;
            }
            return APR_SUCCESS;
        }
        new_id(s, pool, "", now);
        s->created_at = s->active_at = now;
        s->csrf = dbs_token_generate(pool);
        fill_record(s, pool, &rec);
        rv = dbs_store_insert(t, s->id_hash, &rec,
                              dbs_policy_row_expiry(p, now, now));
        if (rv != APR_SUCCESS) {
            return rv;
        }
        s->loaded = s->created = 1;
        s->changed = 0;
        *cookie = DBS_COOKIE_SET;
        return APR_SUCCESS;
    }
    memcpy(old_hash, s->id_hash, sizeof(old_hash));
    if (plan_renewal(s, pool, p, now) || s->rotate || s->changed) {
        if (s->rotate) {
            /* Regenerate, a new user: the old ID dies at once. */
            new_id(s, pool, "", now);
        }
        s->active_at = now;
        fill_record(s, pool, &rec);
        rv = dbs_store_update(t, old_hash, s->id_hash, &rec,
                              dbs_policy_row_expiry(p, s->created_at, now));
        if (rv != APR_SUCCESS) {
            return rv;
        }
        s->rotate = s->changed = 0;
    }
    else if (dbs_policy_wants_extension(p, s->active_at, now)) {
        s->active_at = now;
        rv = dbs_store_touch(t, s->id_hash, now,
                             dbs_policy_row_expiry(p, s->created_at, now));
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    else {
        return APR_SUCCESS;
    }
    /* A new ID needs its cookie; a write that moved the idle expiry moves a
     * Max-Age with it. The previous ID's cookie is never sent again: it
     * would replace the new one the client may hold by now. */
    *cookie = strcmp(old_hash, s->id_hash) != 0 ||
                      (cookie_max_age > 0 && !s->via_previous)
                  ? DBS_COOKIE_SET
                  : DBS_COOKIE_NONE;
    return APR_SUCCESS;
}

apr_status_t dbs_session_save(dbs_txn_t *t, dbs_session_t *s,
                              const dbs_policy_t *p, apr_int64_t now,
                              apr_int64_t cookie_max_age,
                              dbs_cookie_action_e *cookie)
{
    apr_status_t rv = store_changes(t, s, p, now, cookie_max_age, cookie);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* "Log out everywhere else": after any rotation, so the session keeps
     * its new ID. Without a user there is nobody to log out. */
    if (s->revoke_others && s->loaded && *s->user) {
        rv = dbs_store_revoke_others(t, s->user, s->id_hash, &s->revoked);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        s->revoke_others = 0;
    }
    return APR_SUCCESS;
}
