-- mod_dbsession: the session table. Loads unmodified in sqlite3, PostgreSQL
-- and MySQL/MariaDB. Times are Unix seconds (64-bit). The table name must
-- match DBSessionTable (default "dbsession").
--
-- id_hash holds BLAKE2b-256 of the session ID in hex: the ID itself is never
-- stored, so read access to this table does not let anyone take a session.
-- Empty strings mean "none" in user_name, flash, csrf_token and
-- prev_id_hash.
-- Renewal (DBSessionRenewalTimeout): renewed_at is when the current ID was
-- issued; prev_id_hash is the hash of the ID it replaced, which keeps
-- working until prev_until (0: until the new ID is first presented).
-- session_data and flash are limited by DBSessionMaxSize (default 65536
-- bytes). TEXT holds that on SQLite and PostgreSQL; MySQL/MariaDB's TEXT
-- stops at 65535 bytes, so the ALTER TABLE at the end, in a comment that
-- only MySQL and MariaDB execute, makes them MEDIUMTEXT (16 MiB) there.
-- user_name compares byte for byte (Revoke-Others, dbsessionctl list and
-- revoke): SQLite's default collation is BINARY (memcmp) and PostgreSQL's
-- collations are deterministic (only identical bytes are equal; VARCHAR
-- never pads), but MySQL/MariaDB's collations match ALICE, an accented
-- alice and "alice " to alice (case, accents, and PAD SPACE, which even
-- utf8mb4_bin has in MariaDB): the same ALTER makes user_name VARBINARY
-- there (bytes, NO PAD).
CREATE TABLE dbsession (
    id_hash      CHAR(64)     NOT NULL PRIMARY KEY,
    user_name    VARCHAR(255) NOT NULL DEFAULT '',
    session_data TEXT         NOT NULL,
    flash        TEXT         NOT NULL,
    csrf_token   VARCHAR(64)  NOT NULL DEFAULT '',
    created_at   BIGINT       NOT NULL,
    active_at    BIGINT       NOT NULL,
    expires_at   BIGINT       NOT NULL,
    renewed_at   BIGINT       NOT NULL DEFAULT 0,
    prev_id_hash VARCHAR(64)  NOT NULL DEFAULT '',
    prev_until   BIGINT       NOT NULL DEFAULT 0
);
CREATE INDEX dbsession_expires_at ON dbsession (expires_at);
CREATE INDEX dbsession_user_name ON dbsession (user_name);
CREATE INDEX dbsession_prev_id_hash ON dbsession (prev_id_hash);
/*!40100 ALTER TABLE dbsession MODIFY session_data MEDIUMTEXT NOT NULL,
                              MODIFY flash MEDIUMTEXT NOT NULL,
                              MODIFY user_name VARBINARY(255) NOT NULL DEFAULT '' */;
