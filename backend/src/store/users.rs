//! Users and their sign-in facts: the `users` rows (with the session epoch a password reset
//! moves). Rules (emails, passwords, hashes) live in `crate::users`.

use crate::ids::UserId;

use shared::{Locale, Role, User};

use super::{args, Db, StoreError};

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

/// A users row as read by [`USER_COLUMNS`] (the epoch when asked for).
#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: UserId,
    email: String,
    display_name: String,
    role: String,
    disabled: bool,
    created_at: i64,
    last_sign_in_at: Option<i64>,
    password_hash: String,
    locale: Option<String>,
    #[sqlx(default)]
    pub(super) session_epoch: i64,
}

pub(super) fn user_from_row(row: &UserRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.id.into(),
        email: row.email.clone(),
        display_name: row.display_name.clone(),
        role: Role::parse(&row.role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {}", row.role)))?,
        disabled: row.disabled,
        created_at: row.created_at,
        last_sign_in_at: row.last_sign_in_at,
        // A language this version no longer speaks reads as none (the browser's).
        locale: row.locale.as_deref().and_then(Locale::from_wire),
    })
}

pub(super) const USER_COLUMNS: &str =
    "id, email, display_name, role, disabled, created_at, last_sign_in_at, password_hash, locale";

/// How many users exist.
pub async fn count_users(pool: &Db) -> Result<i64, StoreError> {
    pool.scalar_one("SELECT COUNT(*) FROM users", args![]).await
}

/// Inserts a user (email and name already checked); `None` when the email is taken.
pub async fn insert_user(
    pool: &Db,
    email: &str,
    display_name: &str,
    role: Role,
    password_hash: &str,
    now: i64,
) -> Result<Option<User>, StoreError> {
    let row = pool
        .fetch_optional::<UserRow>(
            &format!(
                "INSERT INTO users (email, display_name, role, password_hash, disabled, \
                 created_at) VALUES ($1, $2, $3, $4, FALSE, $5) \
                 ON CONFLICT (email) DO NOTHING RETURNING {USER_COLUMNS}"
            ),
            args![email, display_name, role.as_str(), password_hash, now],
        )
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// The credentials for an email, if such a user exists.
pub async fn user_credentials(pool: &Db, email: &str) -> Result<Option<Credentials>, StoreError> {
    let row = pool
        .fetch_optional::<UserRow>(
            &format!("SELECT {USER_COLUMNS}, session_epoch FROM users WHERE email = $1"),
            args![email.trim().to_lowercase()],
        )
        .await?;
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
pub async fn find_user(pool: &Db, id: UserId) -> Result<Option<User>, StoreError> {
    let row = pool
        .fetch_optional::<UserRow>(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            args![id],
        )
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// Every user, by email.
pub async fn list_users(pool: &Db) -> Result<Vec<User>, StoreError> {
    let rows = pool
        .fetch_all::<UserRow>(
            &format!("SELECT {USER_COLUMNS} FROM users ORDER BY email"),
            args![],
        )
        .await?;
    rows.iter().map(user_from_row).collect()
}

/// Records a successful sign-in.
pub async fn touch_sign_in(pool: &Db, id: UserId, now: i64) -> Result<(), StoreError> {
    pool.execute(
        "UPDATE users SET last_sign_in_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    Ok(())
}

/// Replaces a user's password hash.
pub async fn set_password(pool: &Db, email: &str, password_hash: &str) -> Result<bool, StoreError> {
    let done = pool
        .execute(
            "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1 \
             WHERE email = $2",
            args![password_hash, email.trim().to_lowercase()],
        )
        .await?;
    Ok(done == 1)
}

/// What [`update_user`] did.
#[derive(Debug)]
pub enum UserUpdate {
    /// Changed (or already so): the user as it now is.
    Updated(User),
    /// No such user.
    NotFound,
    /// Refused: it would leave no enabled Admin.
    LastAdmin,
}

/// Changes role and/or disabled flag, refusing to leave no enabled Admin. The check and the change
/// happen in one transaction.
pub async fn update_user(
    pool: &Db,
    id: UserId,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<UserUpdate, StoreError> {
    let mut tx = pool.begin().await?;
    let row = tx
        .fetch_optional::<UserRow>(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            args![id],
        )
        .await?;
    let Some(row) = row else {
        return Ok(UserUpdate::NotFound);
    };
    let current = user_from_row(&row)?;
    let new_role = role.unwrap_or(current.role);
    let new_disabled = disabled.unwrap_or(current.disabled);
    let was_active_admin = current.role == Role::Admin && !current.disabled;
    let stays_active_admin = new_role == Role::Admin && !new_disabled;
    if was_active_admin && !stays_active_admin {
        // PostgreSQL: the enabled Admins' rows stay locked until the change commits, so two Admins
        // demoting each other at once cannot both pass (the second sees the first's change).
        let lock = pool.dialect().for_update();
        let admins: Vec<i64> = tx
            .scalar_all(
                &format!("SELECT id FROM users WHERE role = 'admin' AND disabled = FALSE{lock}"),
                args![],
            )
            .await?;
        if admins.len() <= 1 {
            return Ok(UserUpdate::LastAdmin);
        }
    }
    let row = tx
        .fetch_one::<UserRow>(
            &format!(
                "UPDATE users SET role = $1, disabled = $2, \
                 session_epoch = session_epoch \
                     + CASE WHEN role <> $1 OR disabled <> $2 THEN 1 ELSE 0 END \
                 WHERE id = $3 RETURNING {USER_COLUMNS}"
            ),
            args![new_role.as_str(), new_disabled, id],
        )
        .await?;
    tx.commit().await?;
    Ok(UserUpdate::Updated(user_from_row(&row)?))
}

/// Records the language user `id` picked (`None`: follow the browser). `false` when no such user.
pub async fn set_locale(pool: &Db, id: UserId, locale: Option<Locale>) -> Result<bool, StoreError> {
    let done = pool
        .execute(
            "UPDATE users SET locale = $1 WHERE id = $2",
            args![locale.map(Locale::as_str), id],
        )
        .await?;
    Ok(done == 1)
}
