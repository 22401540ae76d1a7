-- Sessions carry the user's epoch from their sign-in; a password reset, a role change or disabling
-- the user moves it on, which ends every older session of that user at its next request.
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;
