-- A version that moves whenever a signed-in request's snapshot may change: a user's name, email,
-- role, password, disabled flag or session epoch, a deleted user, an ended session. An instance
-- reuses the snapshots it read for as long as this (and the connections' version) stays put.
-- The last sign-in time is left out on purpose: a burst of sign-ins must not end that reuse.
INSERT INTO change_counters (name, version) VALUES ('auth', 0);
CREATE TRIGGER users_changed AFTER UPDATE OF email, display_name, role, password_hash, disabled,
    session_epoch ON users BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'auth';
END;
CREATE TRIGGER users_deleted AFTER DELETE ON users BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'auth';
END;
CREATE TRIGGER sessions_ended AFTER DELETE ON tower_sessions BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'auth';
END;
