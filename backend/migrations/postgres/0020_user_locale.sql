-- The language a user picked in the user menu ('en', 'it'); NULL follows the browser. Part of every
-- signed-in request's snapshot, so its change moves the 'auth' counter like a rename does.
ALTER TABLE users ADD COLUMN locale TEXT CHECK (locale IN ('en', 'it'));
DROP TRIGGER users_changed ON users;
CREATE TRIGGER users_changed AFTER UPDATE OF email, display_name, role, password_hash, disabled,
    session_epoch, locale ON users
    FOR EACH ROW EXECUTE FUNCTION bump_change_counter('auth');
