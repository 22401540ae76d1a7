-- One credentials model for the three ways to connect (STRIPE.md): how the connection authenticates
-- (connect | apps | restricted_key), when its access token expires (Stripe Apps: one hour), who holds
-- the refresh lease and until when (one refresh per connection across every instance), and the last
-- four characters of a restricted key (the only part ever shown again).
ALTER TABLE connections ADD COLUMN auth_kind TEXT NOT NULL DEFAULT 'connect';
ALTER TABLE connections ADD COLUMN access_expires_at BIGINT;
ALTER TABLE connections ADD COLUMN refresh_lease_owner TEXT;
ALTER TABLE connections ADD COLUMN refresh_lease_until BIGINT;
ALTER TABLE connections ADD COLUMN key_last4 TEXT;

-- Codes, not sentences: the UI words them in the admin's language.
UPDATE connections SET last_error = CASE
    WHEN last_error IS NULL THEN NULL
    WHEN last_error LIKE 'Access was revoked%' THEN 'revoked'
    WHEN last_error LIKE 'Stripe refused the stored%' THEN 'refused'
    WHEN last_error LIKE 'The stored authorization reads a different%' THEN 'other_account'
    WHEN last_error LIKE 'Stripe could not be reached%' THEN 'unreachable'
    ELSE 'bad_answer'
END;
-- Audit lines: an action code and the facts as JSON; older free text is kept as "legacy".
UPDATE audit_log SET
    action = CASE action
        WHEN 're-authenticated' THEN 'reauthenticated'
        WHEN 'access revoked' THEN 'access_revoked'
        ELSE action
    END,
    detail = json_object('legacy', detail);
