//! Connections: the Data Sources rows, their health, and the background checker's leases.

use crate::ids::{ConnectionId, OrganizationId};

use super::{args, Db};
use shared::{AuthKind, Connection, ConnectionStatus, IntegrationKind, Problem};

use super::{token_context, StoreError};
use crate::crypto::TokenCipher;
use crate::domain::Credential;

/// What a completed authorization (any flow) learned about an account.
#[derive(Debug, Clone)]
pub struct NewConnection {
    /// `acct_…`.
    pub stripe_user_id: String,
    /// Live or test data.
    pub livemode: bool,
    /// The account's display name.
    pub display_name: String,
    /// Granted scope (`read_only`, `stripe_apps`, `restricted_key`).
    pub scope: String,
    /// The account's publishable key, if Stripe sent one.
    pub publishable_key: Option<String>,
    /// How it authenticates (plaintext only in memory).
    pub credential: Credential,
    /// For a restricted key: its last four characters.
    pub key_last4: Option<String>,
    /// When the connection check started (Unix seconds).
    pub started_at: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// When the background checker should test it next.
    pub next_check_at: i64,
    /// The organization it is made for: a new connection goes there, and an existing one of the
    /// account must already be there. `None`: the app's Admin (any organization; a new one is the
    /// app's own).
    pub organization: Option<OrganizationId>,
}

/// Inserts the connection, or updates the existing one for the same Stripe account (same id), in one
/// transaction. Returns the connection's id; [`StoreError::OtherOrganization`] (nothing written)
/// when the account's connection belongs to another organization than `new.organization`.
pub async fn upsert_connection(
    pool: &Db,
    cipher: &TokenCipher,
    new: &NewConnection,
    now: i64,
) -> Result<ConnectionId, StoreError> {
    let account = &new.stripe_user_id;
    let access = cipher.seal(
        new.credential.secret.expose(),
        &token_context(account, "access_token"),
    )?;
    let refresh = new
        .credential
        .refresh_token
        .as_ref()
        .map(|t| cipher.seal(t.expose(), &token_context(account, "refresh_token")))
        .transpose()?;
    let mut tx = pool.begin().await?;
    let id: ConnectionId = tx
        .scalar_optional(
            "INSERT INTO connections (kind, stripe_user_id, livemode, display_name, scope, \
                 publishable_key, access_token_ct, refresh_token_ct, token_key_id, status, \
                 last_started_at, last_duration_ms, created_at, updated_at, next_check_at, \
                 auth_kind, access_expires_at, key_last4, granted_at, credential_version, \
                 organization_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, \
                 $16, $17, $13, 1, COALESCE($18, 1)) \
             ON CONFLICT (stripe_user_id) DO UPDATE SET \
                 livemode = excluded.livemode, display_name = excluded.display_name, \
                 scope = excluded.scope, publishable_key = excluded.publishable_key, \
                 access_token_ct = excluded.access_token_ct, \
                 refresh_token_ct = excluded.refresh_token_ct, \
                 token_key_id = excluded.token_key_id, status = excluded.status, \
                 last_started_at = excluded.last_started_at, \
                 last_duration_ms = excluded.last_duration_ms, updated_at = excluded.updated_at, \
                 last_error = NULL, failure_count = 0, next_check_at = excluded.next_check_at, \
                 auth_kind = excluded.auth_kind, access_expires_at = excluded.access_expires_at, \
                 key_last4 = excluded.key_last4, granted_at = excluded.granted_at, \
                 credential_version = connections.credential_version + 1, \
                 refresh_lease_owner = NULL, \
                 refresh_lease_until = NULL \
             WHERE $18 IS NULL OR connections.organization_id = $18 \
             RETURNING id",
            args![
                "stripe",
                account,
                new.livemode,
                &new.display_name,
                &new.scope,
                &new.publishable_key,
                &access.ciphertext,
                refresh.as_ref().map(|s| s.ciphertext.clone()),
                &access.key_id,
                ConnectionStatus::Success.as_str(),
                new.started_at,
                new.duration_ms,
                now,
                new.next_check_at,
                new.credential.kind.as_str(),
                new.credential.expires_at,
                &new.key_last4,
                new.organization
            ],
        )
        .await?
        .ok_or(StoreError::OtherOrganization)?;
    tx.commit().await?;
    Ok(id)
}

/// A connections row as stored.
#[derive(sqlx::FromRow)]
struct ConnectionRow {
    id: ConnectionId,
    kind: String,
    stripe_user_id: String,
    livemode: bool,
    display_name: String,
    status: String,
    last_started_at: Option<i64>,
    last_duration_ms: Option<i64>,
    created_at: i64,
    last_error: Option<String>,
    auth_kind: String,
    key_last4: Option<String>,
    fresh_as_of: Option<i64>,
    organization: Option<String>,
}

impl TryFrom<ConnectionRow> for Connection {
    type Error = StoreError;

    fn try_from(row: ConnectionRow) -> Result<Self, StoreError> {
        Ok(Connection {
            id: row.id.into(),
            name: row.display_name,
            kind: match row.kind.as_str() {
                "stripe" => IntegrationKind::Stripe,
                other => return Err(StoreError::Corrupt(format!("unknown kind {other}"))),
            },
            account_id: row.stripe_user_id,
            livemode: row.livemode,
            status: ConnectionStatus::parse(&row.status)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown status {}", row.status)))?,
            last_started_at: row.last_started_at,
            last_duration_ms: row.last_duration_ms,
            created_at: row.created_at,
            last_error: row.last_error.as_deref().map(Problem::parse),
            auth_kind: AuthKind::parse(&row.auth_kind).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown auth kind {}", row.auth_kind))
            })?,
            key_last4: row.key_last4,
            organization: row.organization,
            fresh_as_of: row.fresh_as_of,
        })
    }
}

/// The columns a `Connection` is read from. Last Connection Started / Duration: the last sync run,
/// else the last connection test.
const CONNECTION_SELECT: &str = "SELECT id, kind, stripe_user_id, livemode, display_name, status, \
     COALESCE(sync_started_at, last_started_at) AS last_started_at, \
     CASE WHEN sync_started_at IS NULL THEN last_duration_ms ELSE sync_duration_ms END \
         AS last_duration_ms, \
     created_at, last_error, auth_kind, key_last4, fresh_as_of, \
     (SELECT o.name FROM organizations o WHERE o.id = connections.organization_id \
         AND o.host_key_id IS NOT NULL) AS organization FROM connections";

/// Records a sync run of the connection: when it started and how long it took.
pub async fn record_sync_run(
    pool: &Db,
    id: ConnectionId,
    started_at: i64,
    duration_ms: i64,
) -> Result<(), StoreError> {
    pool.execute(
        "UPDATE connections SET sync_started_at = $2, sync_duration_ms = $3 WHERE id = $1",
        args![id, started_at, duration_ms],
    )
    .await?;
    Ok(())
}

/// Every connection, oldest first, as the Data Sources table shows them.
pub async fn list_connections(pool: &Db) -> Result<Vec<Connection>, StoreError> {
    let rows: Vec<ConnectionRow> = pool
        .fetch_all(
            &format!("{CONNECTION_SELECT} ORDER BY created_at, id"),
            args![],
        )
        .await?;
    rows.into_iter().map(Connection::try_from).collect()
}

/// The connections of one organization, oldest first.
pub async fn list_organization_connections(
    pool: &Db,
    organization_id: OrganizationId,
) -> Result<Vec<Connection>, StoreError> {
    let rows: Vec<ConnectionRow> = pool
        .fetch_all(
            &format!("{CONNECTION_SELECT} WHERE organization_id = $1 ORDER BY created_at, id"),
            args![organization_id],
        )
        .await?;
    rows.into_iter().map(Connection::try_from).collect()
}

/// One connection.
pub async fn find_connection(
    pool: &Db,
    id: ConnectionId,
) -> Result<Option<Connection>, StoreError> {
    let row: Option<ConnectionRow> = pool
        .fetch_optional(&format!("{CONNECTION_SELECT} WHERE id = $1"), args![id])
        .await?;
    row.map(Connection::try_from).transpose()
}

/// The connection of a Stripe account, if any.
pub async fn find_by_account(pool: &Db, account: &str) -> Result<Option<Connection>, StoreError> {
    let row: Option<ConnectionRow> = pool
        .fetch_optional(
            &format!("{CONNECTION_SELECT} WHERE stripe_user_id = $1"),
            args![account],
        )
        .await?;
    row.map(Connection::try_from).transpose()
}

/// Gives the Apps connection of `account` a newer grant without touching anything else (its status
/// is decided by its next test). A second install replaces the first one's tokens at Stripe, so a
/// grant the callback could not otherwise keep must not be thrown away. Returns the connection's
/// id, or `None` when the account has no Apps connection in that mode.
pub async fn adopt_grant(
    pool: &Db,
    cipher: &TokenCipher,
    account: &str,
    livemode: bool,
    credential: &Credential,
    now: i64,
) -> Result<Option<ConnectionId>, StoreError> {
    let access = cipher.seal(
        credential.secret.expose(),
        &token_context(account, "access_token"),
    )?;
    let refresh = credential
        .refresh_token
        .as_ref()
        .map(|t| cipher.seal(t.expose(), &token_context(account, "refresh_token")))
        .transpose()?;
    pool.scalar_optional(
        "UPDATE connections SET access_token_ct = $1, refresh_token_ct = $2, \
         token_key_id = $3, access_expires_at = $4, granted_at = $5, updated_at = $5, \
         refresh_lease_owner = NULL, refresh_lease_until = NULL, next_check_at = $5, \
         credential_version = credential_version + 1 \
         WHERE stripe_user_id = $6 AND livemode = $7 AND auth_kind = 'apps' RETURNING id",
        args![
            &access.ciphertext,
            refresh.map(|r| r.ciphertext),
            &access.key_id,
            credential.expires_at,
            now,
            account,
            livemode
        ],
    )
    .await
}

/// The outcome of a connection test, to store.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// New status.
    pub status: ConnectionStatus,
    /// When the test started.
    pub started_at: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// Why it failed.
    pub problem: Option<Problem>,
    /// Consecutive failures after this test.
    pub failure_count: i64,
    /// When to test again.
    pub next_check_at: i64,
}

/// Marks a connection as being tested.
pub async fn mark_testing(pool: &Db, id: ConnectionId) -> Result<(), StoreError> {
    pool.execute(
        "UPDATE connections SET status = $1 WHERE id = $2",
        args![ConnectionStatus::Testing.as_str(), id],
    )
    .await?;
    Ok(())
}

/// Puts a connection still marked as being tested back to `status` (a test that could not finish).
pub async fn restore_status(
    pool: &Db,
    id: ConnectionId,
    status: ConnectionStatus,
) -> Result<(), StoreError> {
    pool.execute(
        "UPDATE connections SET status = $1 WHERE id = $2 AND status = 'testing'",
        args![status.as_str(), id],
    )
    .await?;
    Ok(())
}

/// Records a test's outcome — only if the connection still holds the grant that was tested (or its
/// refreshed successor: `tested_versions`) and is still marked as being tested. A
/// re-authentication, a webhook or another test that landed meanwhile wins; returns whether the
/// outcome was recorded.
pub async fn record_test(
    pool: &Db,
    id: ConnectionId,
    tested_versions: &[i64],
    result: &TestResult,
) -> Result<bool, StoreError> {
    for version in tested_versions {
        let done = pool
            .execute(
                "UPDATE connections SET status = $1, last_started_at = $2, last_duration_ms = $3, \
                 last_error = $4, failure_count = $5, next_check_at = $6 \
                 WHERE id = $7 AND credential_version = $8 AND status = 'testing'",
                args![
                    result.status.as_str(),
                    result.started_at,
                    result.duration_ms,
                    result.problem.map(Problem::as_str),
                    result.failure_count,
                    result.next_check_at,
                    id,
                    *version
                ],
            )
            .await?;
        if done == 1 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Consecutive failures so far.
pub async fn failure_count(pool: &Db, id: ConnectionId) -> Result<i64, StoreError> {
    Ok(pool
        .scalar_optional(
            "SELECT failure_count FROM connections WHERE id = $1",
            args![id],
        )
        .await?
        .unwrap_or(0))
}

/// Claims the connections due for a background test: each is pushed to `lease_until` in the same
/// statement, so two instances never test the same one at once. Those needing re-authentication
/// wait for an admin.
pub async fn claim_due(
    pool: &Db,
    now: i64,
    lease_until: i64,
) -> Result<Vec<ConnectionId>, StoreError> {
    // PostgreSQL: rows another instance is claiming right now are skipped, and the conditions are
    // checked again on the row the update locks.
    let skip_locked = pool.dialect().skip_locked();
    pool.scalar_all(
        &format!(
            "UPDATE connections SET next_check_at = $2 \
             WHERE id IN (SELECT id FROM connections \
                     WHERE next_check_at <= $1 AND status <> 'needs_reauth'{skip_locked}) \
               AND next_check_at <= $1 AND status <> 'needs_reauth' RETURNING id",
        ),
        args![now, lease_until],
    )
    .await
}

/// Whether `account` is one of our connections.
pub async fn account_is_connected(pool: &Db, account: &str) -> Result<bool, StoreError> {
    let n: i64 = pool
        .scalar_one(
            "SELECT COUNT(*) FROM connections WHERE stripe_user_id = $1",
            args![account],
        )
        .await?;
    Ok(n > 0)
}

/// Deletes a connection and its credential.
pub async fn delete_connection(pool: &Db, id: ConnectionId) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    // The row first: a sync writing to it waits, and writes nothing after.
    let deleted: Option<Option<String>> = tx
        .scalar_optional(
            "DELETE FROM connections WHERE id = $1 RETURNING warehouse_schema",
            args![id],
        )
        .await?;
    let Some(schema) = deleted else {
        return Ok(false);
    };
    super::warehouse::drop_all(&mut tx, id, schema.as_deref()).await?;
    tx.commit().await?;
    Ok(true)
}

/// Makes the connection due for a background test now (a sync was refused: the test records
/// whether it needs re-authentication).
pub async fn check_soon(pool: &Db, id: ConnectionId) -> Result<(), StoreError> {
    pool.execute(
        "UPDATE connections SET next_check_at = 0 WHERE id = $1",
        args![id],
    )
    .await?;
    Ok(())
}
