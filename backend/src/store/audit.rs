//! The audit log: who did what to which connection, as codes and facts (never sentences).

use crate::ids::ConnectionId;

use super::{args, Conn, Db, StoreError};
use shared::{AuditAction, AuditDetail, AuditEntry};

use crate::domain::AuditActor;

/// One line to append.
#[derive(Debug, Clone)]
pub struct AuditLine<'a> {
    /// The connection.
    pub connection_id: ConnectionId,
    /// Its Stripe account (kept after the connection is deleted).
    pub account: &'a str,
    /// Who.
    pub actor: &'a AuditActor,
    /// What happened.
    pub action: AuditAction,
    /// The facts.
    pub detail: AuditDetail,
}

/// Appends to the audit log (on the pool or inside a caller's transaction).
pub async fn audit<'a>(
    conn: impl Into<Conn<'a>>,
    line: &AuditLine<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let detail = serde_json::to_string(&line.detail)
        .map_err(|e| StoreError::Corrupt(format!("audit detail: {e}")))?;
    let conn: Conn = conn.into();
    conn.execute(
        "INSERT INTO audit_log (connection_id, stripe_user_id, actor, action, detail, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            line.connection_id,
            line.account,
            line.actor.wire(),
            line.action.as_str(),
            detail,
            now
        ],
    )
    .await?;
    Ok(())
}

/// A connection's audit log, newest first.
pub async fn audit_log(
    pool: &Db,
    connection_id: ConnectionId,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows: Vec<(String, String, String, i64)> = pool
        .fetch_all(
            "SELECT actor, action, detail, created_at FROM audit_log WHERE connection_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 200",
            args![connection_id],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(actor, action, detail, created_at)| AuditEntry {
            actor,
            // Unknown codes (a newer server wrote them) degrade to `Other`, never an error.
            action: serde_json::from_value(serde_json::Value::String(action))
                .unwrap_or(AuditAction::Other),
            detail: serde_json::from_str(&detail).unwrap_or_default(),
            created_at,
        })
        .collect())
}
