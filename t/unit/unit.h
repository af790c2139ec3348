/* One Check suite per core source file; run_unit.c runs them all. */
#ifndef DBS_UNIT_H
#define DBS_UNIT_H

#include <check.h>
#include <apr_pools.h>

#include "dbs_crypto.h"

Suite *crypto_suite(void);
Suite *cookie_suite(void);
Suite *codec_suite(void);
Suite *parse_suite(void);
Suite *policy_suite(void);
Suite *config_suite(void);
Suite *store_suite(void);
Suite *session_suite(void);
Suite *lock_suite(void);
Suite *csrf_suite(void);
Suite *stats_suite(void);
Suite *admin_suite(void);

/* A pool per test, made in a fixture. */
extern apr_pool_t *unit_pool;
void unit_pool_setup(void);
void unit_pool_teardown(void);

/* A key ring in unit_pool of first and, unless NULL, second (base64). */
dbs_keyring_t *unit_keyring(const char *first, const char *second);

#endif
