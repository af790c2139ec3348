/*
 * Test-only module: writes an application row and a session value in the
 * same request, through the request's mod_dbd connection, then answers the
 * status asked for. t/35-appdata.t checks that both commit or neither does.
 *   /dbs-app?note=NAME&status=200|500&via=acquire|api|subreq[&orphan=1]
 * With via=subreq the session value is set through a subrequest that is
 * destroyed before the response (its pool must not hold the session's data).
 * With size=N the session value is made as long as fits in N bytes of
 * stored data ("note=xxx...").
 * With orphan=1 it also writes a row that breaks a deferred foreign key
 * (SQLite, PostgreSQL), so that the commit fails after the handler.
 */
#if CONFIG_FOR_HTTPD_TEST
<Location /dbs-app>
    SetHandler dbs-app
    DBSession On
    DBSessionCookieSecure Off
</Location>
<Location /dbs-app-nowrite>
    SetHandler dbs-app
    DBSession On
    DBSessionCookieSecure Off
    DBSessionWrites Off
</Location>
#endif

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include "apr_lib.h"
#include <stdlib.h>
#include <string.h>

#include "mod_dbsession.h"

static const char *arg(request_rec *r, const char *name)
{
    char *args = apr_pstrdup(r->pool, r->args ? r->args : ""), *last, *pair;

    for (pair = apr_strtok(args, "&", &last); pair;
         pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '=');
        if (eq && (size_t)(eq - pair) == strlen(name)
            && strncmp(pair, name, eq - pair) == 0) {
            return eq + 1;
        }
    }
    return "";
}

static int dbs_app_handler(request_rec *r)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *acquire;
    APR_OPTIONAL_FN_TYPE(dbsession_dbd) *session_dbd;
    APR_OPTIONAL_FN_TYPE(dbsession_set) *session_set;
    const char *note = arg(r, "note");
    ap_dbd_t *dbd;
    const char *p;
    int rows;

    if (!r->handler || strcmp(r->handler, "dbs-app") != 0) {
        return DECLINED;
    }
    for (p = note; *p; p++) {
        if (!apr_isalnum(*p)) {
            return HTTP_BAD_REQUEST;
        }
    }
    acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    session_dbd = APR_RETRIEVE_OPTIONAL_FN(dbsession_dbd);
    session_set = APR_RETRIEVE_OPTIONAL_FN(dbsession_set);
    dbd = strcmp(arg(r, "via"), "acquire") == 0 ? acquire(r) : session_dbd(r);
    if (!dbd || dbd != session_dbd(r)) {
        return HTTP_SERVICE_UNAVAILABLE; /* not the session's connection */
    }
    if (apr_dbd_query(dbd->driver, dbd->handle, &rows,
                      apr_psprintf(r->pool,
                                   "INSERT INTO app_log (note) VALUES ('%s')",
                                   note)) != 0) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (strcmp(arg(r, "via"), "subreq") == 0) {
        request_rec *sub = ap_sub_req_lookup_uri("/index.html", r, NULL);
        apr_status_t rv = session_set(sub, "note",
                                      apr_pstrcat(sub->pool, note, "-sub",
                                                  NULL));

        ap_destroy_sub_req(sub);
        /* Reuse the freed memory at once, as a busy server would. */
        memset(apr_palloc(r->pool, 8192), 'x', 8192);
        if (rv != APR_SUCCESS) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
    }
    else if (*arg(r, "size")) {
        apr_size_t n = (apr_size_t)atol(arg(r, "size")) - strlen("note=");
        char *big = apr_palloc(r->pool, n + 1);

        memset(big, 'x', n);
        big[n] = '\0';
        if (session_set(r, "note", big) != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    else if (session_set(r, "note", note) != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (strcmp(arg(r, "orphan"), "1") == 0
        && apr_dbd_query(dbd->driver, dbd->handle, &rows,
                         "INSERT INTO app_child (parent) VALUES (999999)") != 0) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (strcmp(arg(r, "status"), "500") == 0) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_set_content_type(r, "text/plain");
    ap_rputs("written\n", r);
    return OK;
}

static void dbs_app_register_hooks(apr_pool_t *p)
{
    ap_hook_handler(dbs_app_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA dbs_app_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL,
    dbs_app_register_hooks
};
