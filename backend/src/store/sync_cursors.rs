//! Where a connection's events pass starts, and the cursor a full pass under way will leave.

use crate::ids::{ConnectionId, JobId};

use super::{args, Db};

use super::sync_data::{hold_lease, Lease};
use super::StoreError;

/// A connection's cursors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncCursor {
    /// The events pass reads events created at or after this time; `None` until a full pass
    /// completed.
    pub events_from: Option<i64>,
    /// The full pass under way and the cursor it leaves when it completes.
    pub pass: Option<(JobId, i64)>,
}

/// The connection's cursors (defaults when it never synced).
pub async fn sync_cursor(pool: &Db, connection_id: ConnectionId) -> Result<SyncCursor, StoreError> {
    let row: Option<(Option<i64>, Option<JobId>, Option<i64>)> = pool
        .fetch_optional(
            "SELECT events_from, pass_job_id, pass_cursor FROM sync_cursors \
             WHERE connection_id = $1",
            args![connection_id],
        )
        .await?;
    Ok(row
        .map(|(events_from, job, cursor)| SyncCursor {
            events_from,
            pass: job.zip(cursor),
        })
        .unwrap_or_default())
}

/// Starts the full pass of the lease's job (a resumed one keeps its cursor and checkpoints): the
/// events pass will start from `cursor` once it completes. A pass of an earlier job left unfinished
/// is abandoned: its checkpoints go, so every table is listed whole by this job. Returns the
/// cursor in force, or `None` when the lease was lost.
pub async fn begin_full_pass(
    pool: &Db,
    lease: Lease<'_>,
    connection_id: ConnectionId,
    cursor: i64,
) -> Result<Option<i64>, StoreError> {
    let mut tx = pool.begin().await?;
    if !hold_lease(&mut tx, lease.job_id, lease.owner, lease.now, lease.until).await? {
        return Ok(None);
    }
    super::warehouse::prepare(&mut tx, connection_id).await?;
    let current: Option<(Option<JobId>, Option<i64>)> = tx
        .fetch_optional(
            "SELECT pass_job_id, pass_cursor FROM sync_cursors WHERE connection_id = $1",
            args![connection_id],
        )
        .await?;
    if let Some((Some(job), Some(kept))) = current {
        if job == lease.job_id {
            tx.commit().await?;
            return Ok(Some(kept));
        }
    }
    tx.execute(
        "UPDATE sync_tables SET progress_done = 0, progress_pages = 0 WHERE connection_id = $1 \
         AND (done_job_id IS NULL OR done_job_id <> $2)",
        args![connection_id, lease.job_id],
    )
    .await?;
    tx.execute(
        "DELETE FROM sync_ranges WHERE connection_id = $1 AND table_name NOT IN \
             (SELECT table_name FROM sync_tables WHERE connection_id = $1 AND done_job_id = $2)",
        args![connection_id, lease.job_id],
    )
    .await?;
    tx.execute(
        "INSERT INTO sync_cursors (connection_id, pass_job_id, pass_cursor) VALUES ($1, $2, $3) \
         ON CONFLICT (connection_id) DO UPDATE SET pass_job_id = excluded.pass_job_id, \
             pass_cursor = excluded.pass_cursor",
        args![connection_id, lease.job_id, cursor],
    )
    .await?;
    tx.commit().await?;
    Ok(Some(cursor))
}

/// Moves the events cursor: to `events_from`, or (a full pass completing, which is then recorded as
/// the last one) to the pass's cursor.
pub async fn advance_events(
    pool: &Db,
    lease: Lease<'_>,
    connection_id: ConnectionId,
    events_from: Option<i64>,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    if !hold_lease(&mut tx, lease.job_id, lease.owner, lease.now, lease.until).await? {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO sync_cursors (connection_id, events_from) VALUES ($1, $2) \
         ON CONFLICT (connection_id) DO UPDATE SET \
             events_from = COALESCE(excluded.events_from, \
                 CASE WHEN sync_cursors.pass_job_id = $3 THEN sync_cursors.pass_cursor \
                      ELSE sync_cursors.events_from END), \
             pass_job_id = CASE WHEN sync_cursors.pass_job_id = $3 THEN NULL \
                 ELSE sync_cursors.pass_job_id END, \
             pass_cursor = CASE WHEN sync_cursors.pass_job_id = $3 THEN NULL \
                 ELSE sync_cursors.pass_cursor END, \
             full_pass_at = CASE WHEN sync_cursors.pass_job_id = $3 THEN $4 \
                 ELSE sync_cursors.full_pass_at END",
        args![connection_id, events_from, lease.job_id, lease.now],
    )
    .await?;
    // Once every table's pass committed: the tables finish side by side, and on PostgreSQL none
    // of them sees the others' uncommitted freshness.
    super::sync_data::refresh_connection_freshness(&mut tx, connection_id).await?;
    tx.commit().await?;
    Ok(true)
}
