//! Users: the rules (emails, passwords, the last Admin), password hashing (Argon2id, per-user salt);
//! their rows are the store's (`store::users`).

use crate::ids::UserId;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::Alphanumeric;
use rand::Rng;
use shared::{Role, User};

use crate::store::{self, Db, StoreError, UserUpdate};
pub use crate::store::{
    count_users as count, find_user as find, list_users as list, set_password, touch_sign_in,
    user_credentials as credentials, Credentials,
};

/// Shortest password we accept.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password we hash (Argon2 is fine with more; this bounds the work per request).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Why a user operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The email is not an address.
    #[error("Enter a valid email address.")]
    InvalidEmail,
    /// The password is shorter than [`MIN_PASSWORD_LEN`].
    #[error("Passwords must be at least {MIN_PASSWORD_LEN} characters long.")]
    PasswordTooShort,
    /// The password is longer than [`MAX_PASSWORD_LEN`] bytes.
    #[error("That password is too long.")]
    PasswordTooLong,
    /// Hashing failed (never the user's fault).
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
        Err(UserError::InvalidEmail)
    }
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), UserError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(UserError::PasswordTooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(UserError::PasswordTooLong);
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
    store::insert_user(pool, &email, &display_name, role, password_hash, now)
        .await?
        .ok_or(UserError::DuplicateEmail)
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

/// Changes role and/or disabled flag, refusing to leave no enabled Admin (the check and the change
/// happen in one transaction).
pub async fn update(
    pool: &Db,
    id: UserId,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<User, UserError> {
    match store::update_user(pool, id, role, disabled).await? {
        UserUpdate::Updated(user) => Ok(user),
        UserUpdate::NotFound => Err(UserError::NotFound),
        UserUpdate::LastAdmin => Err(UserError::LastAdmin),
    }
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
