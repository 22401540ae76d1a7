-- Which sealing key each running instance uses, refreshed every minute: `rotate-key` never drops a
-- key that a live instance may still seal new credentials with.
CREATE TABLE key_users (
    instance_id TEXT    PRIMARY KEY NOT NULL,
    key_id      TEXT    NOT NULL,
    seen_at     BIGINT  NOT NULL
);
