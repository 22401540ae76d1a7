//! Host products: their keys (hashed), their organizations, and the connect sessions their
//! backends open (tokens hashed, 30 minutes).

use crate::ids::{ConnectionId, HostKeyId, OrganizationId};

use super::{args, Db, Dialect};
use shared::HostKey;

use super::StoreError;

/// The default organization: the app's own connections.
pub const DEFAULT_ORGANIZATION: OrganizationId = OrganizationId(1);

type HostKeyRow = (i64, String, String, String, i64, Option<i64>);

fn host_key(row: HostKeyRow) -> Result<HostKey, StoreError> {
    let (id, name, origins, key_last4, created_at, revoked_at) = row;
    Ok(HostKey {
        id,
        name,
        origins: serde_json::from_str(&origins)
            .map_err(|e| StoreError::Corrupt(format!("host key {id} origins: {e}")))?,
        key_last4,
        created_at,
        revoked_at,
    })
}

const HOST_KEY_COLUMNS: &str = "id, name, origins, key_last4, created_at, revoked_at";

/// Stores a new host key (its hash) and returns it.
pub async fn create_host_key(
    pool: &Db,
    name: &str,
    origins: &[String],
    key_hash: &str,
    key_last4: &str,
    now: i64,
) -> Result<HostKey, StoreError> {
    let origins = serde_json::to_string(origins).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let row: HostKeyRow = pool
        .fetch_one(
            &format!(
                "INSERT INTO host_keys (name, origins, key_hash, key_last4, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING {HOST_KEY_COLUMNS}"
            ),
            args![name, origins, key_hash, key_last4, now],
        )
        .await?;
    host_key(row)
}

/// Every host key, newest first.
pub async fn list_host_keys(pool: &Db) -> Result<Vec<HostKey>, StoreError> {
    let rows: Vec<HostKeyRow> = pool
        .fetch_all(
            &format!("SELECT {HOST_KEY_COLUMNS} FROM host_keys ORDER BY id DESC"),
            args![],
        )
        .await?;
    rows.into_iter().map(host_key).collect()
}

/// Revokes a key and ends its connect sessions; `false` when there is no such key.
pub async fn revoke_host_key(pool: &Db, id: HostKeyId, now: i64) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let found = tx
        .execute(
            "UPDATE host_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            args![id, now],
        )
        .await?;
    tx.execute(
        "DELETE FROM connect_sessions WHERE host_key_id = $1",
        args![id],
    )
    .await?;
    // Flows under way for its organizations end too (their popup or callback finds nothing).
    for table in ["widget_flows", "oauth_states"] {
        tx.execute(
            &format!(
                "DELETE FROM {table} WHERE organization_id IN \
                 (SELECT id FROM organizations WHERE host_key_id = $1)"
            ),
            args![id],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(found == 1)
}

/// The live (not revoked) key with this hash.
pub async fn active_host_key(pool: &Db, key_hash: &str) -> Result<Option<HostKey>, StoreError> {
    let row: Option<HostKeyRow> = pool
        .fetch_optional(
            &format!(
                "SELECT {HOST_KEY_COLUMNS} FROM host_keys \
                 WHERE key_hash = $1 AND revoked_at IS NULL"
            ),
            args![key_hash],
        )
        .await?;
    row.map(host_key).transpose()
}

/// Whether a live host key allows `origin`.
pub async fn origin_allowed(pool: &Db, origin: &str) -> Result<bool, StoreError> {
    // `origins` is a JSON array of strings (TEXT in both databases).
    let sql = match pool.dialect() {
        Dialect::Sqlite => {
            "SELECT CAST(1 AS BIGINT) FROM host_keys, json_each(host_keys.origins) \
             WHERE host_keys.revoked_at IS NULL AND json_each.value = $1 LIMIT 1"
        }
        Dialect::Postgres => {
            "SELECT CAST(1 AS BIGINT) FROM host_keys WHERE host_keys.revoked_at IS NULL \
             AND jsonb_exists(CAST(host_keys.origins AS JSONB), $1) LIMIT 1"
        }
    };
    let found: Option<i64> = pool.scalar_optional(sql, args![origin]).await?;
    Ok(found.is_some())
}

/// The host's organization `external_id`, created or renamed to `name`; its id.
pub async fn upsert_organization(
    pool: &Db,
    host_key_id: HostKeyId,
    external_id: &str,
    name: &str,
    now: i64,
) -> Result<OrganizationId, StoreError> {
    // Renamed only when the name changed: an unchanged one writes nothing (no counter moves, so
    // opening a session never ends other requests' reuse of what they read).
    let written: Option<OrganizationId> = pool
        .scalar_optional(
            "INSERT INTO organizations (host_key_id, external_id, name, created_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (host_key_id, external_id) DO UPDATE SET name = excluded.name \
             WHERE organizations.name <> excluded.name \
             RETURNING id",
            args![host_key_id, external_id, name, now],
        )
        .await?;
    match written {
        Some(id) => Ok(id),
        None => Ok(pool
            .scalar_one(
                "SELECT id FROM organizations WHERE host_key_id = $1 AND external_id = $2",
                args![host_key_id, external_id],
            )
            .await?),
    }
}

/// A connect session as its token opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSession {
    /// The organization it is scoped to.
    pub organization_id: OrganizationId,
    /// The key that opened it.
    pub host_key_id: HostKeyId,
    /// Origins that key allows.
    pub origins: Vec<String>,
    /// The host's end user.
    pub end_user_email: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A new connect session (its token's hash), forgetting expired ones.
pub async fn create_connect_session(
    pool: &Db,
    token_hash: &str,
    host_key_id: HostKeyId,
    organization_id: OrganizationId,
    end_user: &shared::EndUser,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    pool.execute(
        "DELETE FROM connect_sessions WHERE expires_at <= $1",
        args![now],
    )
    .await?;
    pool.execute(
        "INSERT INTO connect_sessions (token_hash, host_key_id, organization_id, end_user_id, \
         end_user_email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            token_hash,
            host_key_id,
            organization_id,
            &end_user.id,
            &end_user.email,
            now,
            expires_at
        ],
    )
    .await?;
    Ok(())
}

/// The session of a token hash, if one exists (expired or not: the caller tells them apart) and
/// its key is live.
pub async fn connect_session(
    pool: &Db,
    token_hash: &str,
) -> Result<Option<ConnectSession>, StoreError> {
    let row: Option<(OrganizationId, HostKeyId, String, String, i64)> = pool
        .fetch_optional(
            "SELECT s.organization_id, s.host_key_id, k.origins, s.end_user_email, s.expires_at \
             FROM connect_sessions s JOIN host_keys k ON k.id = s.host_key_id \
             WHERE s.token_hash = $1 AND k.revoked_at IS NULL",
            args![token_hash],
        )
        .await?;
    row.map(
        |(organization_id, host_key_id, origins, end_user_email, expires_at)| {
            Ok(ConnectSession {
                organization_id,
                host_key_id,
                origins: serde_json::from_str(&origins)
                    .map_err(|e| StoreError::Corrupt(format!("host key origins: {e}")))?,
                end_user_email,
                expires_at,
            })
        },
    )
    .transpose()
}

/// The organization a connection belongs to (`None`: no such connection).
pub async fn connection_organization(
    pool: &Db,
    connection_id: ConnectionId,
) -> Result<Option<OrganizationId>, StoreError> {
    pool.scalar_optional(
        "SELECT organization_id FROM connections WHERE id = $1",
        args![connection_id],
    )
    .await
}

/// A widget's OAuth flow waiting for its popup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetFlow {
    /// The organization a new connection goes to.
    pub organization_id: OrganizationId,
    /// The host page's origin.
    pub origin: String,
    /// The connection being re-authenticated, if any.
    pub connection_id: Option<ConnectionId>,
    /// Who started it (`widget:<email>`).
    pub actor: String,
    /// A full-page flow: the host page the callback sends the browser back to.
    pub return_to: Option<String>,
    /// A popup flow: the hash of the proof its popup must get from the widget.
    pub proof_hash: Option<String>,
}

/// Remembers a widget's flow (its id's hash) for `ttl` seconds, forgetting expired ones.
pub async fn create_widget_flow(
    pool: &Db,
    flow_hash: &str,
    flow: &WidgetFlow,
    now: i64,
    ttl: i64,
) -> Result<(), StoreError> {
    pool.execute(
        "DELETE FROM widget_flows WHERE expires_at <= $1",
        args![now],
    )
    .await?;
    pool.execute(
        "INSERT INTO widget_flows (flow_hash, organization_id, origin, connection_id, actor, \
         created_at, expires_at, return_to, proof_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            flow_hash,
            flow.organization_id,
            &flow.origin,
            flow.connection_id,
            &flow.actor,
            now,
            now + ttl,
            &flow.return_to,
            &flow.proof_hash
        ],
    )
    .await?;
    Ok(())
}

/// What the popup's page shows of a flow before it goes on: its organization's and host's names,
/// the host page's origin, and whether it is a popup flow (one with a proof).
pub async fn peek_widget_flow(
    pool: &Db,
    flow_hash: &str,
    now: i64,
) -> Result<Option<(String, String, String, bool)>, StoreError> {
    pool.fetch_optional(
        "SELECT o.name, k.name, f.origin, f.proof_hash IS NOT NULL FROM widget_flows f \
         JOIN organizations o ON o.id = f.organization_id \
         JOIN host_keys k ON k.id = o.host_key_id \
         WHERE f.flow_hash = $1 AND f.expires_at > $2 AND k.revoked_at IS NULL",
        args![flow_hash, now],
    )
    .await
}

/// Takes a widget's flow, once, if it has not expired — a popup flow only with its proof's hash.
pub async fn consume_widget_flow(
    pool: &Db,
    flow_hash: &str,
    proof_hash: Option<&str>,
    now: i64,
) -> Result<Option<WidgetFlow>, StoreError> {
    type Row = (
        OrganizationId,
        String,
        Option<ConnectionId>,
        String,
        i64,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = pool
        .fetch_optional(
            "DELETE FROM widget_flows WHERE flow_hash = $1 \
                 AND (proof_hash IS NULL OR proof_hash = $2) \
             RETURNING organization_id, origin, connection_id, actor, expires_at, return_to, \
                 proof_hash",
            args![flow_hash, proof_hash],
        )
        .await?;
    Ok(row.and_then(
        |(organization_id, origin, connection_id, actor, expires_at, return_to, proof_hash)| {
            (expires_at > now).then_some(WidgetFlow {
                organization_id,
                origin,
                connection_id,
                actor,
                return_to,
                proof_hash,
            })
        },
    ))
}
