-- OAuth `state` values waiting for their callback. Only a SHA-256 of each state is kept, so a copy of
-- the database cannot be used to complete someone's flow. Rows are consumed (deleted) exactly once.
CREATE TABLE oauth_states (
    state_hash  TEXT    PRIMARY KEY NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);

-- Connected data sources. Tokens are AES-256-GCM ciphertexts (see backend/src/crypto.rs) with the id
-- of the key that sealed them; no plaintext token is ever written here.
CREATE TABLE connections (
    id                  INTEGER PRIMARY KEY NOT NULL,
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
    updated_at          BIGINT  NOT NULL
);
