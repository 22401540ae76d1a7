-- Health of each connection: why the last test failed (a sentence for the admin), how many times in
-- a row, and when the background checker should look again.
ALTER TABLE connections ADD COLUMN last_error TEXT;
ALTER TABLE connections ADD COLUMN failure_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN next_check_at BIGINT NOT NULL DEFAULT 0;

-- A flow started to re-authenticate an existing connection remembers which one.
ALTER TABLE oauth_states ADD COLUMN connection_id BIGINT;

-- Who did what to which connection, and when. Kept after a connection is deleted.
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY NOT NULL,
    connection_id   BIGINT  NOT NULL,
    stripe_user_id  TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    detail          TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX audit_log_connection ON audit_log (connection_id, created_at);

-- Stripe webhook events already processed: a redelivery changes nothing.
CREATE TABLE webhook_events (
    event_id        TEXT    PRIMARY KEY NOT NULL,
    event_type      TEXT    NOT NULL,
    account         TEXT,
    received_at     BIGINT  NOT NULL
);
