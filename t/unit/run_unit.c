/* The unit test runner: every core suite, one process. With DBS_UNIT_DRIVER
 * (pgsql or mysql, and DBS_UNIT_PARAMS; see db_fixture.h) only the suites
 * that talk to a database, against that server. */
#include "unit.h"
#include "db_fixture.h"
#include "dbs_crypto.h"

#include <stdio.h>
#include <stdlib.h>

#include <apr_dbd.h>
#include <apr_general.h>

apr_pool_t *unit_pool;
static apr_pool_t *root_pool;

void unit_pool_setup(void)
{
    apr_pool_create(&unit_pool, root_pool);
}

void unit_pool_teardown(void)
{
    apr_pool_destroy(unit_pool);
    unit_pool = NULL;
}

dbs_keyring_t *unit_keyring(const char *first, const char *second)
{
    dbs_keyring_t *ring = dbs_keyring_make(unit_pool);

    ck_assert_ptr_null(dbs_keyring_add(ring, first));
    if (second) {
        ck_assert_ptr_null(dbs_keyring_add(ring, second));
    }
    return ring;
}

int main(void)
{
    SRunner *runner;
    int failed;

    apr_initialize();
    apr_pool_create(&root_pool, NULL);
    apr_dbd_init(root_pool);
    if (dbs_crypto_init() != APR_SUCCESS) {
        fprintf(stderr, "libsodium failed to initialise\n");
        return EXIT_FAILURE;
    }
    printf("database suites on %s\n", unit_driver());
    runner = srunner_create(store_suite());
    srunner_add_suite(runner, session_suite());
    srunner_add_suite(runner, admin_suite());
    if (unit_driver_is("sqlite3")) {
        srunner_add_suite(runner, crypto_suite());
        srunner_add_suite(runner, cookie_suite());
        srunner_add_suite(runner, codec_suite());
        srunner_add_suite(runner, parse_suite());
        srunner_add_suite(runner, policy_suite());
        srunner_add_suite(runner, config_suite());
        srunner_add_suite(runner, lock_suite());
        srunner_add_suite(runner, csrf_suite());
        srunner_add_suite(runner, stats_suite());
    }
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    apr_pool_destroy(root_pool);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
