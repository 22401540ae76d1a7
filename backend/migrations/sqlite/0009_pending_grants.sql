-- A journal of OAuth exchanges in flight: written (with the code, sealed) before the code is sent to
-- Stripe, given the account once Stripe answers, removed when the grant is stored or handed back.
-- A row left behind by a crash is reconciled by the background task: the grant is handed back, so
-- "no connection or a complete one" holds on Stripe's side too.
CREATE TABLE pending_grants (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    auth_kind   TEXT    NOT NULL,
    code_ct     TEXT    NOT NULL,
    key_id      TEXT    NOT NULL,
    account     TEXT,
    livemode    BOOLEAN,
    created_at  BIGINT  NOT NULL
);
