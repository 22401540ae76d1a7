//! Users: storage, password hashing (Argon2id, per-user salt) and the rules around roles.

use crate::store::{on, on_tx, Db};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::Alphanumeric;
use rand::Rng;
use shared::{Role, User};

use crate::store::StoreError;

/// Shortest password we accept.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password we hash (Argon2 is fine with more; this bounds the work per request).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Why a user operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// A user with this email exists.
    #[error("a user with this email already exists")]
    DuplicateEmail,
    /// The change would leave no enabled Admin.
    #[error("the last Admin cannot be removed, demoted or disabled")]
    LastAdmin,
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for UserError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

/// Normalises and checks an email address (lower-cased; one `@`, a dot in the domain).
pub fn normalize_email(raw: &str) -> Result<String, UserError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split('@').count() == 2
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(UserError::Invalid("Enter a valid email address.".into()))
    }
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), UserError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(UserError::Invalid(format!(
            "Passwords must be at least {MIN_PASSWORD_LEN} characters long."
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(UserError::Invalid("That password is too long.".into()));
    }
    Ok(())
}

/// A random password for a new user, shown once.
pub fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// Argon2id hash with a fresh salt (PHC string). CPU-heavy: call from a blocking thread.
pub fn hash_password(password: &str) -> Result<String, UserError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Invalid(format!("could not hash password: {e}")))
}

/// Verifies a password against a PHC hash. CPU-heavy: call from a blocking thread.
pub fn verify_password(password: &str, hash: &str) -> bool {
    if password.len() > MAX_PASSWORD_LEN {
        return false;
    }
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A user row with its hash, for sign-in.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// PHC hash.
    pub password_hash: String,
    /// The session epoch read with the hash: a session started from this check belongs to the
    /// password it checked, so a reset meanwhile ends it.
    pub session_epoch: i64,
}

/// A users row as read by [`USER_COLUMNS`] (the epoch and connections version when asked for).
#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    display_name: String,
    role: String,
    disabled: bool,
    created_at: i64,
    last_sign_in_at: Option<i64>,
    password_hash: String,
    #[sqlx(default)]
    session_epoch: i64,
    #[sqlx(default)]
    connections_version: i64,
}

fn user_from_row(row: &UserRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.id,
        email: row.email.clone(),
        display_name: row.display_name.clone(),
        role: Role::parse(&row.role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {}", row.role)))?,
        disabled: row.disabled,
        created_at: row.created_at,
        last_sign_in_at: row.last_sign_in_at,
    })
}

const USER_COLUMNS: &str =
    "id, email, display_name, role, disabled, created_at, last_sign_in_at, password_hash";

/// How many users exist.
pub async fn count(pool: &Db) -> Result<i64, StoreError> {
    Ok(on!(pool, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users"
    )
    .fetch_one(c)
    .await)?)
}

/// Creates a user with an already computed hash.
pub async fn create(
    pool: &Db,
    email: &str,
    display_name: &str,
    role: Role,
    password_hash: &str,
    now: i64,
) -> Result<User, UserError> {
    let email = normalize_email(email)?;
    let display_name = display_name.trim();
    let display_name = if display_name.is_empty() {
        email.split('@').next().unwrap_or_default().to_owned()
    } else {
        display_name
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect()
    };
    let row = on!(pool, |c| sqlx::query_as::<_, UserRow>(&format!(
        "INSERT INTO users (email, display_name, role, password_hash, disabled, created_at) \
         VALUES ($1, $2, $3, $4, FALSE, $5) ON CONFLICT (email) DO NOTHING RETURNING {USER_COLUMNS}"
    ))
    .bind(&email)
    .bind(&display_name)
    .bind(role.as_str())
    .bind(password_hash)
    .bind(now)
    .fetch_optional(c)
    .await)?;
    match row {
        Some(row) => Ok(user_from_row(&row)?),
        None => Err(UserError::DuplicateEmail),
    }
}

/// The credentials for an email, if such a user exists.
pub async fn credentials(pool: &Db, email: &str) -> Result<Option<Credentials>, StoreError> {
    let row = on!(pool, |c| sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS}, session_epoch FROM users WHERE email = $1"
    ))
    .bind(email.trim().to_lowercase())
    .fetch_optional(c)
    .await)?;
    row.map(|row| {
        Ok(Credentials {
            user: user_from_row(&row)?,
            password_hash: row.password_hash,
            session_epoch: row.session_epoch,
        })
    })
    .transpose()
}

/// A user by id.
pub async fn find(pool: &Db, id: i64) -> Result<Option<User>, StoreError> {
    let row = on!(pool, |c| sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await)?;
    row.as_ref().map(user_from_row).transpose()
}

/// What every signed-in request reads, in one query: the user, their session epoch, and the
/// connections table's version (so the Data Sources answer needs no query of its own).
#[derive(Debug, Clone)]
pub struct RequestSnapshot {
    /// The user.
    pub user: User,
    /// Sessions started under another epoch are over.
    pub session_epoch: i64,
    /// `change_counters` version of the connections table at this moment.
    pub connections_version: i64,
}

/// The [`RequestSnapshot`] of user `id`.
pub async fn request_snapshot(pool: &Db, id: i64) -> Result<Option<RequestSnapshot>, StoreError> {
    let row = on!(pool, |c| sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS}, session_epoch, \
         (SELECT version FROM change_counters WHERE name = 'connections') AS connections_version \
         FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await)?;
    row.as_ref()
        .map(|row| {
            Ok(RequestSnapshot {
                user: user_from_row(row)?,
                session_epoch: row.session_epoch,
                connections_version: row.connections_version,
            })
        })
        .transpose()
}

/// Every user, by email.
pub async fn list(pool: &Db) -> Result<Vec<User>, StoreError> {
    let rows = on!(pool, |c| sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY email"
    ))
    .fetch_all(c)
    .await)?;
    rows.iter().map(user_from_row).collect()
}

/// Records a successful sign-in.
pub async fn touch_sign_in(pool: &Db, id: i64, now: i64) -> Result<(), StoreError> {
    on!(pool, |c| sqlx::query(
        "UPDATE users SET last_sign_in_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Replaces a user's password hash.
pub async fn set_password(pool: &Db, email: &str, password_hash: &str) -> Result<bool, StoreError> {
    let done =
        on!(pool, |c| {
            sqlx::query(
        "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1 WHERE email = $2",
    )
    .bind(password_hash)
    .bind(email.trim().to_lowercase())
    .execute(c)
    .await
    .map(|r| r.rows_affected())
        })?;
    Ok(done == 1)
}

/// Argon2id is deliberately expensive: at most one hash or verification runs at a time, on a
/// blocking thread, so a burst of sign-ins queues behind itself instead of taking every core from
/// the other users' requests.
fn argon2_slot() -> &'static std::sync::Arc<tokio::sync::Semaphore> {
    static SLOT: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    SLOT.get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(1)))
}

/// [`verify_password`] off the async runtime, one at a time.
pub async fn verify_password_queued(password: String, hash: String) -> bool {
    // The slot travels with the hashing thread: a caller that gives up (timeout, disconnect) does
    // not free it while the hash still runs.
    let Ok(slot) = argon2_slot().clone().acquire_owned().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        verify_password(&password, &hash)
    })
    .await
    .unwrap_or(false)
}

/// [`hash_password`] off the async runtime, one at a time.
pub async fn hash_password_queued(password: String) -> Result<String, UserError> {
    let slot = argon2_slot()
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| UserError::Invalid(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        hash_password(&password)
    })
    .await
    .map_err(|e| UserError::Invalid(e.to_string()))?
}

/// Changes role and/or disabled flag, refusing to leave no enabled Admin. The check and the change
/// happen in one transaction.
pub async fn update(
    pool: &Db,
    id: i64,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<User, UserError> {
    let mut tx = pool.begin().await?;
    let row = on_tx!(&mut tx, |c| sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(UserError::NotFound)?;
    let current = user_from_row(&row)?;
    let new_role = role.unwrap_or(current.role);
    let new_disabled = disabled.unwrap_or(current.disabled);
    let was_active_admin = current.role == Role::Admin && !current.disabled;
    let stays_active_admin = new_role == Role::Admin && !new_disabled;
    if was_active_admin && !stays_active_admin {
        // PostgreSQL: the enabled Admins' rows stay locked until the change commits, so two Admins
        // demoting each other at once cannot both pass (the second sees the first's change).
        let lock = pool.dialect().for_update();
        let admins: Vec<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(&format!(
            "SELECT id FROM users WHERE role = 'admin' AND disabled = FALSE{lock}"
        ))
        .fetch_all(c)
        .await)?;
        if admins.len() <= 1 {
            return Err(UserError::LastAdmin);
        }
    }
    let row = on_tx!(&mut tx, |c| sqlx::query_as::<_, UserRow>(&format!(
        "UPDATE users SET role = $1, disabled = $2, \
         session_epoch = session_epoch + CASE WHEN role <> $1 OR disabled <> $2 THEN 1 ELSE 0 END \
         WHERE id = $3 RETURNING {USER_COLUMNS}"
    ))
    .bind(new_role.as_str())
    .bind(new_disabled)
    .bind(id)
    .fetch_one(c)
    .await)?;
    tx.commit().await?;
    Ok(user_from_row(&row)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_hash_with_argon2id_and_a_fresh_salt() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "per-user salt");
        assert!(verify_password("correct horse battery", &a));
        assert!(!verify_password("wrong", &a));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough pass").is_ok());
        assert_eq!(generate_password().len(), 20);
    }
}
