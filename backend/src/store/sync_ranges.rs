//! The `created` ranges a full pass reads a list in, each with its checkpoint (`sync_ranges`). A
//! range is `[lo, hi)` in Unix seconds, `hi` names it; splitting lowers its `lo` and adds the part
//! below, in one transaction, so the ranges always cover the whole list and never overlap.

use crate::ids::ConnectionId;

use super::sync_data::{hold_lease, Lease};
use super::{args, Db, StoreError};
use crate::stripe::lists::StripeList;

/// No lower bound.
pub const UNBOUNDED_LO: i64 = i64::MIN;
/// No upper bound.
pub const UNBOUNDED_HI: i64 = i64::MAX;

/// One range of a list's pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRange {
    /// Objects created before this second (exclusive; [`UNBOUNDED_HI`]: no bound). Names the range.
    pub hi: i64,
    /// Objects created at or after this second ([`UNBOUNDED_LO`]: no bound).
    pub lo: i64,
    /// The last id stored from it.
    pub checkpoint: Option<String>,
    /// Read to its end.
    pub done: bool,
}

/// The list's ranges in the pass under way, newest first; a list not begun gets one range, the
/// whole list. `None` when the lease was lost.
pub async fn begin_ranges(
    pool: &Db,
    lease: Lease<'_>,
    connection_id: ConnectionId,
    list: StripeList,
) -> Result<Option<Vec<SyncRange>>, StoreError> {
    let mut tx = pool.begin().await?;
    if !hold_lease(&mut tx, lease.job_id, lease.owner, lease.now, lease.until).await? {
        return Ok(None);
    }
    tx.execute(
        "INSERT INTO sync_ranges (connection_id, table_name, hi, lo) \
         SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM sync_ranges \
             WHERE connection_id = $1 AND table_name = $2)",
        args![connection_id, list.name(), UNBOUNDED_HI, UNBOUNDED_LO],
    )
    .await?;
    let rows: Vec<(i64, i64, Option<String>, bool)> = tx
        .fetch_all(
            "SELECT hi, lo, checkpoint, done FROM sync_ranges \
             WHERE connection_id = $1 AND table_name = $2 ORDER BY hi DESC",
            args![connection_id, list.name()],
        )
        .await?;
    tx.commit().await?;
    Ok(Some(
        rows.into_iter()
            .map(|(hi, lo, checkpoint, done)| SyncRange {
                hi,
                lo,
                checkpoint,
                done,
            })
            .collect(),
    ))
}

/// Splits the range named `hi` at `mid`: it keeps `[mid, hi)` and its checkpoint, a new range
/// `[lo, mid)` follows. `false` when the lease was lost.
pub async fn split_range(
    pool: &Db,
    lease: Lease<'_>,
    connection_id: ConnectionId,
    list: StripeList,
    (lo, mid, hi): (i64, i64, i64),
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    if !hold_lease(&mut tx, lease.job_id, lease.owner, lease.now, lease.until).await? {
        return Ok(false);
    }
    tx.execute(
        "UPDATE sync_ranges SET lo = $4 WHERE connection_id = $1 AND table_name = $2 AND hi = $3",
        args![connection_id, list.name(), hi, mid],
    )
    .await?;
    tx.execute(
        "INSERT INTO sync_ranges (connection_id, table_name, hi, lo) VALUES ($1, $2, $3, $4)",
        args![connection_id, list.name(), mid, lo],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Starts the range named `hi` over from its beginning (its checkpoint's object is gone at
/// Stripe). `false` when the lease was lost.
pub async fn restart_range(
    pool: &Db,
    lease: Lease<'_>,
    connection_id: ConnectionId,
    list: StripeList,
    hi: i64,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    if !hold_lease(&mut tx, lease.job_id, lease.owner, lease.now, lease.until).await? {
        return Ok(false);
    }
    tx.execute(
        "UPDATE sync_ranges SET checkpoint = NULL, done = FALSE \
         WHERE connection_id = $1 AND table_name = $2 AND hi = $3",
        args![connection_id, list.name(), hi],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Starts the list's pass over as one range, the whole list (Stripe refused `created` bounds on
/// it). `false` when the lease was lost.
pub async fn restart_list(
    pool: &Db,
    lease: Lease<'_>,
    connection_id: ConnectionId,
    list: StripeList,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    if !hold_lease(&mut tx, lease.job_id, lease.owner, lease.now, lease.until).await? {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM sync_ranges WHERE connection_id = $1 AND table_name = $2",
        args![connection_id, list.name()],
    )
    .await?;
    tx.execute(
        "INSERT INTO sync_ranges (connection_id, table_name, hi, lo) VALUES ($1, $2, $3, $4)",
        args![connection_id, list.name(), UNBOUNDED_HI, UNBOUNDED_LO],
    )
    .await?;
    tx.execute(
        "UPDATE sync_tables SET progress_done = 0, progress_pages = 0 \
         WHERE connection_id = $1 AND table_name = $2",
        args![connection_id, list.name()],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
