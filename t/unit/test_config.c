/* dbs_config: defaults, the merge rule (a forgotten field shows up), checks. */
#include "unit.h"
#include "dbs_config.h"

#include <string.h>

static dbs_dir_config_t *full_dir(void)
{
    dbs_dir_config_t *c = dbs_dir_config_make(unit_pool);

    c->enabled = 1;
    c->cookie_secure = 0;
    c->cookie_httponly = 0;
    c->csrf_check = 1;
    c->request_headers = 1;
    c->writes = 0;
    c->cookie_samesite = DBS_SAMESITE_STRICT;
    c->rollback_status = 500;
    c->cookie_max_age = 11;
    c->idle_timeout = 12;
    c->absolute_timeout = 13;
    c->extension_delay = 14;
    c->renewal_timeout = 15;
    c->lock_timeout = 16;
    c->max_size = 17;
    c->cookie_name = "n";
    c->cookie_path = "/p";
    c->cookie_domain = "d";
    c->env_prefix = "E_";
    c->login_url = "/login";
    c->enabled_at = "f:1";
    return c;
}

START_TEST(dir_merge_both_ways)
{
    dbs_dir_config_t *full = full_dir(),
                     *empty = dbs_dir_config_make(unit_pool);
    dbs_dir_config_t *a = dbs_dir_config_merge(unit_pool, empty, full);
    dbs_dir_config_t *b = dbs_dir_config_merge(unit_pool, full, empty);

    /* Field by field equal to full: memcmp works as all pointers are shared. */
    ck_assert(memcmp(a, full, sizeof(*full)) == 0);
    ck_assert(memcmp(b, full, sizeof(*full)) == 0);
}
END_TEST

START_TEST(dir_defaults)
{
    dbs_dir_config_t r;

    dbs_dir_config_resolve(dbs_dir_config_make(unit_pool), &r);
    ck_assert_int_eq(r.enabled, 0);
    ck_assert_int_eq(r.cookie_secure, 1);
    ck_assert_int_eq(r.cookie_httponly, 1);
    ck_assert_int_eq(r.csrf_check, 0);
    ck_assert_int_eq(r.writes, 1);
    ck_assert_int_eq(dbs_dir_config_writes(dbs_dir_config_make(unit_pool)), 1);
    ck_assert_int_eq(r.cookie_samesite, DBS_SAMESITE_LAX);
    ck_assert_int_eq(r.rollback_status, 400);
    ck_assert_int_eq(r.idle_timeout, 1800);
    ck_assert_int_eq(r.absolute_timeout, 86400);
    ck_assert_int_eq(r.extension_delay, 60);
    ck_assert_int_eq(r.lock_timeout, 10);
    ck_assert_int_eq(r.max_size, 65536);
    ck_assert_str_eq(r.cookie_name, "session");
    ck_assert_str_eq(r.cookie_path, "/");
    ck_assert_ptr_null(r.cookie_domain);
    ck_assert_str_eq(r.env_prefix, "SESSION_");
    ck_assert_ptr_null(r.login_url);
    ck_assert_ptr_null(dbs_dir_config_check(unit_pool, &r));
}
END_TEST

START_TEST(host_prefix_forces_attributes)
{
    dbs_dir_config_t *c = full_dir(), r;

    c->cookie_name = "__Host-sid";
    dbs_dir_config_resolve(c, &r);
    ck_assert_int_eq(r.cookie_secure, 1);
    ck_assert_str_eq(r.cookie_path, "/");
    ck_assert_ptr_null(r.cookie_domain);
}
END_TEST

START_TEST(cross_checks)
{
    dbs_dir_config_t *c = dbs_dir_config_make(unit_pool), r;

    c->idle_timeout = 600;
    c->absolute_timeout = 600;
    dbs_dir_config_resolve(c, &r);
    ck_assert_ptr_nonnull(strstr(dbs_dir_config_check(unit_pool, &r),
                                 "DBSessionAbsoluteTimeout"));
    c->idle_timeout = 0; /* off: no conflict */
    dbs_dir_config_resolve(c, &r);
    ck_assert_ptr_null(dbs_dir_config_check(unit_pool, &r));

    c = dbs_dir_config_make(unit_pool);
    c->cookie_samesite = DBS_SAMESITE_NONE;
    c->cookie_secure = 0;
    dbs_dir_config_resolve(c, &r);
    ck_assert_ptr_nonnull(
        strstr(dbs_dir_config_check(unit_pool, &r), "DBSessionCookieSameSite"));
}
END_TEST

START_TEST(server_merge_and_defaults)
{
    dbs_server_config_t *full = dbs_server_config_make(unit_pool);
    dbs_server_config_t *empty = dbs_server_config_make(unit_pool), r;

    full->keys = dbs_keyring_make(unit_pool);
    full->keys_at = "k:1";
    full->table = "t";
    full->cipher = DBS_CIPHER_AES256GCM;
    full->cipher_at = "c:1";
    full->cleanup_interval = 9;
    ck_assert(memcmp(dbs_server_config_merge(unit_pool, empty, full), full,
                     sizeof(*full)) == 0);
    ck_assert(memcmp(dbs_server_config_merge(unit_pool, full, empty), full,
                     sizeof(*full)) == 0);
    dbs_server_config_resolve(empty, &r);
    ck_assert_str_eq(r.table, "dbsession");
    ck_assert_int_eq(r.cipher, DBS_CIPHER_XCHACHA20POLY1305);
    ck_assert_int_eq(r.cleanup_interval, 300);
    ck_assert_ptr_null(r.keys);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("dbs_config");
    TCase *tc = tcase_create("config");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, dir_merge_both_ways);
    tcase_add_test(tc, dir_defaults);
    tcase_add_test(tc, host_prefix_forces_attributes);
    tcase_add_test(tc, cross_checks);
    tcase_add_test(tc, server_merge_and_defaults);
    suite_add_tcase(s, tc);
    return s;
}
