-- Facts about this database that every instance must agree with. `stripe` is `demo` or `live`:
-- connections made against the built-in emulator must never meet real Stripe, nor real ones the
-- emulator (it would be sent their tokens and trusted on delete).
CREATE TABLE instance_facts (
    name    TEXT    PRIMARY KEY NOT NULL,
    value   TEXT    NOT NULL
);
-- A deauthorization event older than the grant it would revoke changes nothing: the grant's time.
ALTER TABLE connections ADD COLUMN granted_at BIGINT NOT NULL DEFAULT 0;
UPDATE connections SET granted_at = updated_at;
