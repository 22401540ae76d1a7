-- Connection ids must never be reused: the audit log outlives a deleted connection and a pending
-- re-authentication names its connection by id. SQLite reuses the highest rowid unless the key is
-- AUTOINCREMENT, so the table is rebuilt with it, and the sequence starts past every id the audit
-- log has ever seen.
CREATE TABLE connections_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind                TEXT    NOT NULL,
    stripe_user_id      TEXT    NOT NULL UNIQUE,
    livemode            BOOLEAN NOT NULL,
    display_name        TEXT    NOT NULL,
    scope               TEXT    NOT NULL,
    publishable_key     TEXT,
    access_token_ct     TEXT    NOT NULL,
    refresh_token_ct    TEXT,
    token_key_id        TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    last_started_at     BIGINT,
    last_duration_ms    BIGINT,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    last_error          TEXT,
    failure_count       BIGINT  NOT NULL DEFAULT 0,
    next_check_at       BIGINT  NOT NULL DEFAULT 0
);
INSERT INTO connections_new (id, kind, stripe_user_id, livemode, display_name, scope,
    publishable_key, access_token_ct, refresh_token_ct, token_key_id, status, last_started_at,
    last_duration_ms, created_at, updated_at, last_error, failure_count, next_check_at)
SELECT id, kind, stripe_user_id, livemode, display_name, scope, publishable_key, access_token_ct,
    refresh_token_ct, token_key_id, status, last_started_at, last_duration_ms, created_at,
    updated_at, last_error, failure_count, next_check_at
FROM connections;
DROP TABLE connections;
ALTER TABLE connections_new RENAME TO connections;
INSERT INTO sqlite_sequence (name, seq)
SELECT 'connections', MAX(COALESCE((SELECT MAX(id) FROM connections), 0),
                          COALESCE((SELECT MAX(connection_id) FROM audit_log), 0))
WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'connections');
UPDATE sqlite_sequence
SET seq = MAX(seq, COALESCE((SELECT MAX(connection_id) FROM audit_log), 0))
WHERE name = 'connections';
