/*
 * dbs_codec: the session data encoding and the write-back header values.
 *
 * httpd-free. Data is stored form-urlencoded ("k=v&k2=v2", values
 * percent-encoded), the same encoding handlers use in X-DBSession-Set, so one
 * parser serves both. Keys match [A-Za-z_][A-Za-z0-9_]{0,63}.
 */
#ifndef DBS_CODEC_H
#define DBS_CODEC_H

#include <apr_pools.h>
#include <apr_tables.h>

#define DBS_KEY_MAX_CHARS 64

/* [A-Za-z_][A-Za-z0-9_]*, at most max_chars: session keys, and the names
 * that directives take (table, variable prefix). */
int dbs_identifier_valid(const char *s, size_t max_chars);
int dbs_key_is_valid(const char *key);

/* A session's user name (decoded): valid UTF-8 without C0 or C1 controls
 * (U+0000-U+001F, U+007F-U+009F), the line and paragraph separators U+2028
 * and U+2029, the bidi embeddings and overrides U+202A-U+202E or the bidi
 * isolates U+2066-U+2069; at most DBS_USER_MAX_BYTES bytes (the schema's
 * 255). NULL or a reason. */
#define DBS_USER_MAX_BYTES 255
const char *dbs_user_check(const char *user);

/* text as a terminal or a log may show it: a backslash doubled; C0
 * controls, DEL and bytes that are not UTF-8 as \xHH; the C1 controls, the
 * line and paragraph separators and the bidi controls that dbs_user_check
 * refuses as \u{XXXX}; everything else as is. In pool. (dbsessionctl prints
 * what it reads from the table through it.) */
const char *dbs_printable(apr_pool_t *pool, const char *text);

/* Percent-decode len bytes ('+' is a space). NULL or a reason. A decoded NUL
 * byte is refused: values travel as C strings and environment variables. */
const char *dbs_pct_decode(apr_pool_t *pool, const char *in, apr_size_t len,
                           char **out);

/* Percent-encode everything but RFC 3986 unreserved characters. */
char *dbs_pct_encode(apr_pool_t *pool, const char *in);
/* The length dbs_pct_encode's result would have, without making it. */
apr_size_t dbs_pct_encoded_len(const char *in);

/* Split a header value on '&' and ',' (httpd joins repeated headers with
 * ", "; encoded values never hold a raw comma), trimming blanks and dropping
 * empty items. */
apr_array_header_t *dbs_split_items(apr_pool_t *pool, const char *value);

/* "k=v&k2=v2": each assignment in order, its key checked and its value
 * decoded, handed to each(), which may stop the walk with a reason. NULL or
 * a reason. */
typedef const char *dbs_assignment_fn(void *ctx, char *key, char *val);
const char *dbs_parse_assignments_each(apr_pool_t *pool, const char *value,
                                       dbs_assignment_fn *each, void *ctx);

/* "k=v&k2=v2" into table (set, last one wins). NULL or a reason. */
const char *dbs_parse_assignments(apr_pool_t *pool, const char *value,
                                  apr_table_t *into);

/* "k&k2" into an array of valid keys. NULL or a reason. */
const char *dbs_parse_keys(apr_pool_t *pool, const char *value,
                           apr_array_header_t *into);

/* Decode stored data (empty string = no keys). NULL or a reason. */
const char *dbs_data_decode(apr_pool_t *pool, const char *encoded,
                            apr_table_t *into);

/* Encode a table; keys in table order. */
char *dbs_data_encode(apr_pool_t *pool, const apr_table_t *data);

#endif
