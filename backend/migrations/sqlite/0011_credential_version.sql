-- Which grant a row holds: moves on every new grant or renewal, never on re-encryption (a key
-- rotation rewrites the ciphertexts, which used to stand for the version and so broke renewals and
-- tests in flight).
ALTER TABLE connections ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 1;
