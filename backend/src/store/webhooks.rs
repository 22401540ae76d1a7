//! Stripe webhook events already processed, and their effects: a deauthorization at once; a data
//! event queued durably for the connections of its account, then applied to their tables.

use serde_json::Value;

use super::prepared::Prepared;
use super::sync_data::mark_deleted_in;
use super::sync_rows::{table, upsert_objects};
use super::{args, Db, Dialect};
use crate::domain::AuditActor;
use crate::ids::ConnectionId;
use crate::stripe::lists::StripeList;
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

/// A data event of a connected account, waiting to be applied to one connection's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEvent {
    /// Its place in the queue.
    pub id: i64,
    /// The connection it is applied to.
    pub connection_id: ConnectionId,
    /// The event as Stripe sent it (JSON).
    pub event: String,
}

/// Queues a data event of `account` once per event id for each connection of that account in that
/// mode that the platform's endpoint speaks for (an OAuth grant not waiting for re-authentication:
/// a restricted key reads only what its permissions allow, and is polled), in one transaction with
/// the event id (a failure lets Stripe's redelivery try again; once this returns the event is
/// never lost). Returns the connections it was queued for: none for a redelivery or an account
/// with no such connection here.
pub async fn queue_event(
    pool: &Db,
    event: &ReceivedEvent<'_>,
    now: i64,
) -> Result<Vec<ConnectionId>, StoreError> {
    let mut tx = pool.begin().await?;
    let first = tx
        .execute(
            "INSERT INTO webhook_events (event_id, event_type, account, received_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
            args![event.id, event.kind, event.account, now],
        )
        .await?
        == 1;
    if !first {
        return Ok(Vec::new());
    }
    let ids: Vec<ConnectionId> = tx
        .scalar_all(
            "SELECT id FROM connections WHERE stripe_user_id = $1 AND livemode = $2 \
             AND auth_kind <> 'restricted_key' AND status <> 'needs_reauth' ORDER BY id",
            args![event.account, event.livemode],
        )
        .await?;
    for id in &ids {
        tx.execute(
            "INSERT INTO webhook_queue (connection_id, event_id, created, event, received_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![*id, event.id, event.created, event.body, now],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(ids)
}

/// What [`queue_event`] needs of a verified event.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedEvent<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub account: &'a str,
    pub livemode: bool,
    pub created: i64,
    /// The whole event (JSON).
    pub body: &'a str,
}

/// The oldest `limit` queued events, in the order they were queued.
pub async fn queued_events(pool: &Db, limit: i64) -> Result<Vec<QueuedEvent>, StoreError> {
    let rows: Vec<(i64, ConnectionId, String)> = pool
        .fetch_all(
            "SELECT id, connection_id, event FROM webhook_queue ORDER BY id LIMIT $1",
            args![limit],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, connection_id, event)| QueuedEvent {
            id,
            connection_id,
            event,
        })
        .collect())
}

/// What queued events of one connection do to its tables, written at once by [`apply_webhooks`].
#[derive(Debug, Default)]
pub struct WebhookBatch {
    /// Objects to write (each with the moment it reflects), per list; the events themselves go to
    /// `events`.
    pub upserts: Vec<(StripeList, Prepared)>,
    /// Objects deleted at Stripe, each with the moment it was.
    pub deletions: Vec<(StripeList, Vec<(Value, i64)>)>,
    /// The newest event applied to each table: its `fresh_as_of` moves there.
    pub fresh: Vec<(StripeList, i64)>,
    /// The queue's rows done with (applied, or left to an events pass).
    pub done: Vec<i64>,
}

/// Applies a batch of one connection's queued events in one transaction: objects written (an
/// older state never over a newer one), deletions marked, row counts and `fresh_as_of` of the
/// tables touched moved (a table never completed keeps none), the connection's last webhook
/// noted, the queue's rows gone. Nothing is applied twice in effect: a batch that fails stays
/// queued and its rows are applied again, which changes nothing. `false` when some object was
/// not written: older than what is stored (nothing to do), or of the same second as it (which
/// came last only a read by id tells: an events pass is due).
pub async fn apply_webhooks(
    pool: &Db,
    connection_id: ConnectionId,
    batch: &WebhookBatch,
    now: i64,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    // Still there? (A connection deleted meanwhile took its queue rows along.)
    let exists: Option<i64> = tx
        .scalar_optional(
            "SELECT CAST(1 AS BIGINT) FROM connections WHERE id = $1",
            args![connection_id],
        )
        .await?;
    if exists.is_none() {
        return Ok(true);
    }
    // List by list in the order of their names, each list's rows then its status row: the order
    // a full pass's writer locks them in, so the two never wait in a circle.
    let mut lists: Vec<StripeList> = batch
        .upserts
        .iter()
        .map(|(list, _)| *list)
        .chain(batch.deletions.iter().map(|(list, _)| *list))
        .chain(batch.fresh.iter().map(|(list, _)| *list))
        .collect();
    lists.sort_by_key(|l| l.name());
    lists.dedup();
    let mut all_written = true;
    for list in lists {
        let mut changed = false;
        for (_, page) in batch.upserts.iter().filter(|(l, _)| *l == list) {
            let written = upsert_objects(&mut tx, connection_id, list, page, now, None).await?;
            all_written &= written == page.len();
            changed |= written > 0;
        }
        for (_, last_seen) in batch.deletions.iter().filter(|(l, _)| *l == list) {
            mark_deleted_in(&mut tx, connection_id, list, last_seen, now).await?;
            changed = true;
        }
        let fresh = batch
            .fresh
            .iter()
            .find(|(l, _)| *l == list)
            .map(|(_, created)| *created);
        if changed || fresh.is_some() {
            // Rows counted again only when some changed; freshness only forward, and a table
            // never completed keeps none.
            tx.execute(
                &format!(
                    "UPDATE sync_tables SET \
                         rows = CASE WHEN $3 THEN (SELECT COUNT(*) FROM {} \
                             WHERE connection_id = $1) ELSE rows END, \
                         fresh_as_of = CASE WHEN fresh_as_of < $4 THEN $4 ELSE fresh_as_of END \
                     WHERE connection_id = $1 AND table_name = $2",
                    table(list)
                ),
                args![
                    connection_id,
                    list.name(),
                    changed,
                    fresh.unwrap_or(i64::MIN)
                ],
            )
            .await?;
        }
    }
    super::sync_data::refresh_connection_freshness(&mut tx, connection_id).await?;
    tx.execute(
        "INSERT INTO sync_cursors (connection_id, webhook_at) VALUES ($1, $2) \
         ON CONFLICT (connection_id) DO UPDATE SET webhook_at = excluded.webhook_at",
        args![connection_id, now],
    )
    .await?;
    let done = serde_json::to_string(&batch.done).unwrap_or_default();
    tx.execute(&delete_queued(tx.dialect()), args![done])
        .await?;
    tx.commit().await?;
    Ok(all_written)
}

/// Drops queued rows without applying them (their connection will run an events pass instead).
pub async fn drop_queued(pool: &Db, ids: &[i64]) -> Result<(), StoreError> {
    let done = serde_json::to_string(ids).unwrap_or_default();
    pool.execute(&delete_queued(pool.dialect()), args![done])
        .await?;
    Ok(())
}

/// Deletes the queue's rows whose ids are the JSON array `$1`.
fn delete_queued(dialect: Dialect) -> String {
    let ids = match dialect {
        Dialect::Postgres => {
            "SELECT CAST(jsonb_array_elements_text(CAST($1 AS TEXT)::JSONB) AS BIGINT)"
        }
        Dialect::Sqlite => "SELECT value FROM json_each($1)",
    };
    format!("DELETE FROM webhook_queue WHERE id IN ({ids})")
}
