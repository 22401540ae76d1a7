-- Users of the product. Emails are stored lower-cased, so uniqueness is case-insensitive.
CREATE TABLE users (
    id              INTEGER PRIMARY KEY NOT NULL,
    email           TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    password_hash   TEXT    NOT NULL,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT  NOT NULL,
    last_sign_in_at BIGINT
);

-- Failed sign-ins per key ("account:<email>" or "client:<address>") in a fixed window. Kept in the
-- database, not in process memory, so several instances share it and a restart does not reset it.
CREATE TABLE sign_in_failures (
    throttle_key    TEXT    PRIMARY KEY NOT NULL,
    failures        BIGINT  NOT NULL,
    window_start    BIGINT  NOT NULL
);

-- An OAuth flow belongs to the session that started it: the SHA-256 of a nonce kept in that session.
ALTER TABLE oauth_states ADD COLUMN session_binding TEXT NOT NULL DEFAULT '';
