//! The synced data behind the routes: a connection's sync status, **Force an update**, and pages
//! of a synced table.

use crate::ids::ConnectionId;
use serde_json::Value;
use shared::{SyncError, SyncProgress, SyncState, SyncStatus, TablePage, TableSync};

use crate::state::AppState;
use crate::store::{self, StoreError};
use crate::stripe::lists::StripeList;

/// Rows a table page holds unless asked otherwise.
pub const DEFAULT_LIMIT: i64 = 100;
/// The largest page of rows.
pub const MAX_LIMIT: i64 = 1000;

/// Why a data request cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// No such connection.
    #[error("no such connection")]
    NotFound,
    /// No such table.
    #[error("no such table")]
    UnknownTable,
    /// The page size is out of range.
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    BadLimit,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) async fn require_connection(app: &AppState, id: ConnectionId) -> Result<(), DataError> {
    store::find_connection(&app.pool, id)
        .await?
        .map(|_| ())
        .ok_or(DataError::NotFound)
}

/// A table error code in plain words.
pub fn error_message(code: &str) -> &'static str {
    match code {
        "unauthorized" => "Stripe rejected the connection's credential: re-authenticate it.",
        "needs_reauth" => "The authorization could not be renewed: re-authenticate the connection.",
        "forbidden" => "The credential may not read this table: grant its read permission.",
        "stripe_unavailable" => "Stripe could not be read; the sync will try again.",
        "rate_limited" => "Stripe asked the sync to slow down; it will try again later.",
        "storage_failed" => "The data could not be stored; the sync will try again.",
        _ => "The sync failed.",
    }
}

/// `GET /api/connections/{id}/sync`: the seven tables and where the sync stands.
pub async fn status(app: &AppState, id: ConnectionId) -> Result<SyncStatus, DataError> {
    require_connection(app, id).await?;
    let job = store::latest_sync_job(&app.pool, id).await?;
    let status = match job.as_ref().map(|j| j.status.as_str()) {
        Some("queued") => SyncState::Queued,
        Some("running") => SyncState::Running,
        Some("error") => SyncState::Error,
        _ => SyncState::Idle,
    };
    let active = matches!(status, SyncState::Queued | SyncState::Running);
    let mut tables = Vec::with_capacity(StripeList::ALL.len());
    for list in StripeList::ALL {
        let t = store::table_state(&app.pool, id, list).await?;
        // A pass is under way for this table while its job is active and has not completed it.
        let in_pass = active
            && job.as_ref().map(|j| j.id) != t.done_job_id
            && (t.in_pass || status == SyncState::Running);
        let progress = in_pass.then_some(SyncProgress {
            done: t.progress_done,
            total: t.rows.max(t.progress_done),
            pages: t.progress_pages,
            expected: t.synced_at.is_some(),
        });
        let error = t.error_code.map(|code| SyncError {
            message: error_message(&code).to_owned(),
            code,
        });
        tables.push(TableSync {
            name: list.name().to_owned(),
            rows: t.rows,
            synced_at: t.synced_at,
            fresh_as_of: t.fresh_as_of,
            progress,
            error,
        });
    }
    // The oldest table's, and none while any table has none.
    let fresh_as_of = tables
        .iter()
        .map(|t| t.fresh_as_of)
        .collect::<Option<Vec<i64>>>()
        .and_then(|all| all.into_iter().min());
    Ok(SyncStatus {
        status,
        fresh_as_of,
        tables,
    })
}

/// `POST /api/connections/{id}/sync`: queues a sync unless one is queued or running.
pub async fn force(app: &AppState, id: ConnectionId) -> Result<(), DataError> {
    require_connection(app, id).await?;
    store::enqueue_sync(&app.pool, id, app.clock.now(), true).await?;
    app.sync_wake.notify_one();
    Ok(())
}

/// The list named `table`.
pub fn parse_table(table: &str) -> Option<StripeList> {
    StripeList::ALL.into_iter().find(|l| l.name() == table)
}

/// `GET /api/connections/{id}/tables/{table}`: up to `limit` rows after the Stripe id `after`.
pub async fn rows(
    app: &AppState,
    id: ConnectionId,
    table: &str,
    limit: Option<i64>,
    after: Option<&str>,
) -> Result<TablePage<Value>, DataError> {
    let list = parse_table(table).ok_or(DataError::UnknownTable)?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(DataError::BadLimit);
    }
    require_connection(app, id).await?;
    let (stored, has_more) = store::table_rows(&app.pool, id, list, after, limit).await?;
    let rows = stored
        .into_iter()
        .map(|(object, deleted)| stored_object(list, &object, deleted))
        .collect::<Result<_, _>>()?;
    Ok(TablePage { rows, has_more })
}

/// A stored row as the API shows it: the Stripe object, with `"deleted": true` where deleted.
pub(crate) fn stored_object(
    list: StripeList,
    object: &str,
    deleted: bool,
) -> Result<Value, StoreError> {
    let mut value: Value = serde_json::from_str(object)
        .map_err(|e| StoreError::Corrupt(format!("{} row: {e}", list.name())))?;
    if deleted {
        if let Some(map) = value.as_object_mut() {
            map.insert("deleted".into(), Value::Bool(true));
        }
    }
    Ok(value)
}
