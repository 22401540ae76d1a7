//! Stripe webhook events already processed, and their effects.

use super::{args, Db};
use crate::domain::AuditActor;
use crate::ids::ConnectionId;
use shared::{AuditAction, AuditDetail, ConnectionStatus, Problem};

use super::{audit, AuditLine, StoreError};

/// Applies Stripe's `account.application.deauthorized` once per event id, in one transaction: the
/// event id, the status change and the audit lines land together or not at all (a failure lets
/// Stripe's redelivery try again). An event created before the connection's last grant (a late
/// delivery about an earlier authorization) changes nothing. Returns the affected connection ids,
/// or `None` for a redelivery.
pub async fn apply_deauthorization(
    pool: &Db,
    event_id: &str,
    account: &str,
    livemode: bool,
    created: Option<i64>,
    now: i64,
) -> Result<Option<Vec<ConnectionId>>, StoreError> {
    let mut tx = pool.begin().await?;
    let first = tx
        .execute(
            "INSERT INTO webhook_events (event_id, event_type, account, received_at) \
             VALUES ($1, 'account.application.deauthorized', $2, $3) \
             ON CONFLICT (event_id) DO NOTHING",
            args![event_id, account, now],
        )
        .await?
        == 1;
    if !first {
        return Ok(None);
    }
    // A restricted key is not an application grant: uninstalling an app leaves it working.
    let ids: Vec<ConnectionId> = tx
        .scalar_all(
            "UPDATE connections SET status = $1, last_error = $2 \
             WHERE stripe_user_id = $3 AND livemode = $4 AND auth_kind <> 'restricted_key' \
             AND granted_at <= $5 RETURNING id",
            args![
                ConnectionStatus::NeedsReauth.as_str(),
                Problem::Revoked.as_str(),
                account,
                livemode,
                created.unwrap_or(i64::MAX)
            ],
        )
        .await?;
    for id in &ids {
        let line = AuditLine {
            connection_id: *id,
            account,
            actor: &AuditActor::Stripe,
            action: AuditAction::AccessRevoked,
            detail: AuditDetail {
                status: Some(ConnectionStatus::NeedsReauth),
                problem: Some(Problem::Revoked),
                ..AuditDetail::default()
            },
        };
        audit(&mut tx, &line, now).await?;
    }
    tx.commit().await?;
    Ok(Some(ids))
}

/// Remembers a webhook event id; false if it was already seen.
pub async fn first_delivery(
    pool: &Db,
    event_id: &str,
    event_type: &str,
    account: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(pool
        .execute(
            "INSERT INTO webhook_events (event_id, event_type, account, received_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
            args![event_id, event_type, account, now],
        )
        .await?
        == 1)
}
