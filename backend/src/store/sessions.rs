//! Sign-in sessions: one row each in `sessions`, keyed by the hash of the cookie's token, shared by
//! every instance on the database. A signed-in request reads its session and its user in one
//! indexed query ([`signed_in`], which also reads the connections table's trigger-kept version);
//! nothing of it is kept in memory between requests.

use crate::ids::UserId;

use shared::{CallbackNotice, User};

use super::users::{user_from_row, UserRow, USER_COLUMNS};
use super::{args, Db, StoreError};

/// A session as stored, with its user as they are now.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user, read in the same query.
    pub user: User,
    /// When the user signed in (Unix seconds).
    pub signed_in_at: i64,
    /// The idle clock (Unix seconds).
    pub seen_at: i64,
    /// The session was started under the user's current epoch (no reset since).
    pub current_epoch: bool,
    /// The connections table's version at this moment (it keys the Data Sources answer).
    pub connections_version: i64,
}

#[derive(sqlx::FromRow)]
struct SignedInRow {
    #[sqlx(flatten)]
    user: UserRow,
    started_epoch: i64,
    signed_in_at: i64,
    seen_at: i64,
    connections_version: i64,
}

/// Starts session `id_hash` for `user_id`, signed in at `now` under the user's `epoch`.
pub async fn insert_session(
    pool: &Db,
    id_hash: &str,
    user_id: UserId,
    epoch: i64,
    now: i64,
) -> Result<(), StoreError> {
    pool.execute(
        "INSERT INTO sessions (id_hash, user_id, epoch, signed_in_at, seen_at) \
         VALUES ($1, $2, $3, $4, $4)",
        args![id_hash, user_id, epoch, now],
    )
    .await?;
    Ok(())
}

/// Session `id_hash` and its user, in one query (the session's primary key, the user's).
pub async fn signed_in(pool: &Db, id_hash: &str) -> Result<Option<SignedIn>, StoreError> {
    let row = pool
        .fetch_optional::<SignedInRow>(
            &format!(
                "SELECT {USER_COLUMNS}, users.session_epoch, sessions.epoch AS started_epoch, \
                 sessions.signed_in_at, sessions.seen_at, \
                 (SELECT version FROM change_counters WHERE name = 'connections') \
                 AS connections_version \
                 FROM sessions JOIN users ON users.id = sessions.user_id \
                 WHERE sessions.id_hash = $1"
            ),
            args![id_hash],
        )
        .await?;
    row.map(|row| {
        Ok(SignedIn {
            user: user_from_row(&row.user)?,
            signed_in_at: row.signed_in_at,
            seen_at: row.seen_at,
            current_epoch: row.started_epoch == row.user.session_epoch,
            connections_version: row.connections_version,
        })
    })
    .transpose()
}

/// Moves session `id_hash`'s idle clock to `now`.
pub async fn touch_session(pool: &Db, id_hash: &str, now: i64) -> Result<(), StoreError> {
    pool.execute(
        "UPDATE sessions SET seen_at = $2 WHERE id_hash = $1",
        args![id_hash, now],
    )
    .await?;
    Ok(())
}

/// Ends session `id_hash` (nothing happens when there is none).
pub async fn delete_session(pool: &Db, id_hash: &str) -> Result<(), StoreError> {
    pool.execute("DELETE FROM sessions WHERE id_hash = $1", args![id_hash])
        .await?;
    Ok(())
}

/// Ends every session idle since `idle_before` or signed in before `signed_in_before`.
pub async fn delete_expired_sessions(
    pool: &Db,
    idle_before: i64,
    signed_in_before: i64,
) -> Result<(), StoreError> {
    pool.execute(
        "DELETE FROM sessions WHERE seen_at <= $1 OR signed_in_at <= $2",
        args![idle_before, signed_in_before],
    )
    .await?;
    Ok(())
}

/// Session `id_hash`'s OAuth binding: the one it has, else `fresh`, kept from now on. `None` when
/// the session does not exist.
pub async fn session_binding(
    pool: &Db,
    id_hash: &str,
    fresh: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let binding: Option<Option<String>> = match fresh {
        Some(fresh) => {
            pool.scalar_optional(
                "UPDATE sessions SET oauth_binding = COALESCE(oauth_binding, $2) \
                 WHERE id_hash = $1 RETURNING oauth_binding",
                args![id_hash, fresh],
            )
            .await?
        }
        None => {
            pool.scalar_optional(
                "SELECT oauth_binding FROM sessions WHERE id_hash = $1",
                args![id_hash],
            )
            .await?
        }
    };
    Ok(binding.flatten())
}

/// Keeps `notice` in session `id_hash` for the banner (replacing any before it).
pub async fn put_callback_notice(
    pool: &Db,
    id_hash: &str,
    notice: &CallbackNotice,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(notice).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    pool.execute(
        "UPDATE sessions SET callback_notice = $2 WHERE id_hash = $1",
        args![id_hash, json],
    )
    .await?;
    Ok(())
}

/// Session `id_hash`'s callback notice, once: it is cleared as it is read.
pub async fn take_callback_notice(
    pool: &Db,
    id_hash: &str,
) -> Result<Option<CallbackNotice>, StoreError> {
    let lock = pool.dialect().for_update();
    let mut tx = pool.begin().await?;
    let json: Option<Option<String>> = tx
        .scalar_optional(
            &format!("SELECT callback_notice FROM sessions WHERE id_hash = $1{lock}"),
            args![id_hash],
        )
        .await?;
    let Some(json) = json.flatten() else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE sessions SET callback_notice = NULL WHERE id_hash = $1",
        args![id_hash],
    )
    .await?;
    tx.commit().await?;
    // A notice this version cannot read is dropped rather than failing the page.
    Ok(serde_json::from_str(&json).ok())
}
