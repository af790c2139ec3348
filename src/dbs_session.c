/* dbs_session: see dbs_session.h. */
#include "dbs_session.h"
#include "dbs_codec.h"

#include <string.h>

#include <apr_hash.h>
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

int dbs_writes_logout(const dbs_writes_t *w)
{
    return (w->values[DBS_OP_INVALIDATE]->nelts ? DBS_LOGOUT_INVALIDATE : 0) |
           (w->values[DBS_OP_REVOKE_OTHERS]->nelts ? DBS_LOGOUT_REVOKE_OTHERS
                                                   : 0);
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

/* The data while one response's writes apply: the entries in their order
 * and an index by key, so that each Set and Unset item costs O(1) and the
 * whole apply is linear in its input (an apr_table set or unset scans the
 * table). The encoded size is kept up to date, so that applying stops as
 * soon as it passes the limit. */
typedef struct {
    apr_array_header_t *keys; /* const char *, in order; NULL once unset */
    apr_array_header_t *vals; /* const char * */
    apr_hash_t *index;        /* key -> its position + 1 */
    apr_size_t bytes;         /* the live entries' "key=value", encoded */
    int live;
} data_edit_t;

static apr_size_t entry_bytes(const char *key, const char *val)
{
    return strlen(key) + 1 + dbs_pct_encoded_len(val);
}

/* The encoded size of the data: entries joined by '&'. */
static apr_size_t edit_size(const data_edit_t *d)
{
    return d->bytes + (d->live > 0 ? (apr_size_t)d->live - 1 : 0);
}

static void edit_set(data_edit_t *d, const char *key, const char *val)
{
    apr_uintptr_t at =
        (apr_uintptr_t)apr_hash_get(d->index, key, APR_HASH_KEY_STRING);

    if (at) {
        const char **old = &APR_ARRAY_IDX(d->vals, at - 1, const char *);

        d->bytes = d->bytes - entry_bytes(key, *old) + entry_bytes(key, val);
        *old = val;
        return;
    }
    APR_ARRAY_PUSH(d->keys, const char *) = key;
    APR_ARRAY_PUSH(d->vals, const char *) = val;
    apr_hash_set(d->index, key, APR_HASH_KEY_STRING,
                 (void *)(apr_uintptr_t)d->keys->nelts);
    d->bytes += entry_bytes(key, val);
    d->live++;
}

static void edit_unset(data_edit_t *d, const char *key)
{
    apr_uintptr_t at =
        (apr_uintptr_t)apr_hash_get(d->index, key, APR_HASH_KEY_STRING);

    if (at) {
        d->bytes -= entry_bytes(key, APR_ARRAY_IDX(d->vals, at - 1, char *));
        d->live--;
        APR_ARRAY_IDX(d->keys, at - 1, const char *) = NULL;
        apr_hash_set(d->index, key, APR_HASH_KEY_STRING, NULL);
    }
}

static void edit_begin(data_edit_t *d, apr_pool_t *pool, const apr_table_t *t)
{
    const apr_array_header_t *arr = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    d->keys = apr_array_make(pool, arr->nelts + 8, sizeof(const char *));
    d->vals = apr_array_make(pool, arr->nelts + 8, sizeof(const char *));
    d->index = apr_hash_make(pool);
    d->bytes = 0;
    d->live = 0;
    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key) {
            edit_set(d, e[i].key, e[i].val);
        }
    }
}

static void edit_end(const data_edit_t *d, apr_pool_t *pool, apr_table_t *out)
{
    int i;

    apr_table_clear(out);
    for (i = 0; i < d->keys->nelts; i++) {
        const char *key = APR_ARRAY_IDX(d->keys, i, const char *);

        if (key) {
            apr_table_addn(out, key, APR_ARRAY_IDX(d->vals, i, const char *));
        }
    }
}

static const char *too_large(apr_pool_t *pool, apr_int64_t max_size)
{
    return apr_psprintf(pool,
                        "the session would hold more than DBSessionMaxSize "
                        "%" APR_INT64_T_FMT " bytes",
                        max_size);
}

static const char *apply_unset(data_edit_t *d, apr_pool_t *pool,
                               const apr_array_header_t *values)
{
    apr_array_header_t *keys = apr_array_make(pool, 4, sizeof(char *));
    const char *err;
    int i;

    for (i = 0; i < values->nelts; i++) {
        if ((err = dbs_parse_keys(pool, APR_ARRAY_IDX(values, i, char *),
                                  keys))) {
            return apr_psprintf(pool, "X-DBSession-Unset: %s", err);
        }
    }
    for (i = 0; i < keys->nelts; i++) {
        edit_unset(d, APR_ARRAY_IDX(keys, i, char *));
    }
    return NULL;
}

/* What apply_set's walk needs. */
typedef struct {
    data_edit_t *data;
    apr_pool_t *pool;
    apr_int64_t max_size;
} set_walk_t;

static const char *set_one(void *ctx, char *key, char *val)
{
    set_walk_t *walk = ctx;

    edit_set(walk->data, key, val);
    return (apr_int64_t)edit_size(walk->data) > walk->max_size
               ? too_large(walk->pool, walk->max_size)
               : NULL;
}

static const char *apply_set(data_edit_t *d, apr_pool_t *pool,
                             const apr_array_header_t *values,
                             apr_int64_t max_size)
{
    set_walk_t walk = {d, pool, max_size};
    int i;

    for (i = 0; i < values->nelts; i++) {
        const char *err = dbs_parse_assignments_each(
            pool, APR_ARRAY_IDX(values, i, char *), set_one, &walk);

        if (err) {
            return apr_psprintf(pool, "X-DBSession-Set: %s", err);
        }
    }
    return NULL;
}

/* The messages join the stored ones in one concatenation at the end. */
static const char *append_flash(apr_pool_t *pool, dbs_session_t *s,
                                const apr_array_header_t *values,
                                apr_size_t other_bytes, apr_int64_t max_size)
{
    apr_array_header_t *items = all_items(pool, values);
    struct iovec *vec =
        apr_palloc(pool, sizeof(*vec) * (2 * (apr_size_t)items->nelts + 1));
    apr_size_t n = 0, bytes = strlen(s->flash);
    int i;

    if (bytes) {
        vec[n].iov_base = (char *)s->flash;
        vec[n++].iov_len = bytes;
    }
    for (i = 0; i < items->nelts; i++) {
        const char *item = APR_ARRAY_IDX(items, i, char *);
        char *msg;
        const char *err = dbs_pct_decode(pool, item, strlen(item), &msg);

        if (err) {
            return apr_psprintf(pool, "X-DBSession-Flash: %s", err);
        }
        if (n > 0) {
            vec[n].iov_base = "&";
            vec[n++].iov_len = 1;
            bytes++;
        }
        vec[n].iov_base = dbs_pct_encode(pool, msg);
        vec[n].iov_len = strlen(vec[n].iov_base);
        bytes += vec[n++].iov_len;
        if ((apr_int64_t)(bytes + other_bytes) > max_size) {
            return apr_psprintf(pool, "X-DBSession-Flash: %s",
                                too_large(pool, max_size));
        }
    }
    s->flash = apr_pstrcatv(pool, vec, n, NULL);
    return NULL;
}

static const char *apply_all(dbs_session_t *s, apr_pool_t *pool,
                             const dbs_writes_t *w, apr_int64_t max_size)
{
    const apr_array_header_t *v;
    data_edit_t data;
    const char *err;

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
        s->logout |= DBS_LOGOUT_INVALIDATE;
    }
    v = w->values[DBS_OP_CLEAR];
    if (v->nelts) {
        if ((err = check_switch(pool, DBS_OP_CLEAR, v))) {
            return err;
        }
        apr_table_clear(s->data);
        s->changed = 1;
    }
    if (w->values[DBS_OP_UNSET]->nelts || w->values[DBS_OP_SET]->nelts) {
        edit_begin(&data, pool, s->data);
        if ((err = apply_unset(&data, pool, w->values[DBS_OP_UNSET])) ||
            (err = apply_set(&data, pool, w->values[DBS_OP_SET], max_size))) {
            return err;
        }
        edit_end(&data, pool, s->data);
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
        /* "Log out everywhere else" includes a copy of the ID that a
         * renewal replaced. */
        s->end_grace = 1;
        s->logout |= DBS_LOGOUT_REVOKE_OTHERS;
    }
    v = w->values[DBS_OP_FLASH];
    if (v->nelts) {
        if ((err = append_flash(pool, s, v,
                                strlen(dbs_data_encode(pool, s->data)) +
                                    strlen(s->user),
                                max_size))) {
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
    *err = apply_all(&scratch, pool, w, max_size);
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
        s->prev_until = DBS_PREVIOUS_REPLACED; /* no second replacement */
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
    if (s->end_grace && *s->prev_hash) {
        /* The renewed-away ID dies now; a request that came with it needs
         * a new one. */
        if (s->via_previous) {
            s->rotate = 1;
        }
        s->prev_hash = "";
        s->prev_until = 0;
        s->changed = 1;
    }
    s->end_grace = 0;
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
