//! Synced Stripe data: one table per list keyed by (connection, Stripe id) with the columns a BI
//! user filters on plus the whole object, and each table's progress (`sync_tables`). A page's
//! upserts and its range's checkpoint commit together, so a crash resumes with no duplicates and
//! no gaps.

use crate::ids::{ConnectionId, JobId};

use super::prepared::Prepared;
use super::sync_rows::{table, upsert_objects};
use super::{args, Db, StoreError, Tx};
use crate::stripe::lists::StripeList;
use serde_json::Value;

/// Takes the lease check and heartbeat inside the transaction: a worker that lost its job to
/// another never writes. The lease is extended once half of it is spent, else only checked under a
/// shared lock (PostgreSQL): each extension locks the job's row alone, and the writers side by side
/// with pages of the job, and its readers, would each wait for the others' transactions to end.
pub(super) async fn hold_lease(
    tx: &mut Tx,
    job_id: JobId,
    owner: &str,
    now: i64,
    lease_until: i64,
) -> Result<bool, StoreError> {
    let half_spent = now + (lease_until - now) / 2;
    if tx.dialect() == super::Dialect::Sqlite {
        // One writer at a time: no lock to spare, one statement (each is a round trip to the
        // driver's thread while the whole database waits).
        let held = tx
            .execute(
                "UPDATE sync_jobs SET \
                     heartbeat_at = CASE WHEN COALESCE(lease_until, $5) <= $5 THEN $3 ELSE heartbeat_at END, \
                     lease_until = CASE WHEN COALESCE(lease_until, $5) <= $5 THEN $4 ELSE lease_until END \
                 WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
                args![job_id, owner, now, lease_until, half_spent],
            )
            .await?;
        return Ok(held == 1);
    }
    let extended = tx
        .execute(
            "UPDATE sync_jobs SET heartbeat_at = $3, lease_until = $4 \
             WHERE id = $1 AND lease_owner = $2 AND status = 'running' \
                 AND COALESCE(lease_until, $5) <= $5",
            args![job_id, owner, now, lease_until, half_spent],
        )
        .await?;
    if extended == 1 {
        return Ok(true);
    }
    let held: Option<i64> = tx
        .scalar_optional(
            "SELECT CAST(1 AS BIGINT) FROM sync_jobs \
             WHERE id = $1 AND lease_owner = $2 AND status = 'running' FOR SHARE",
            args![job_id, owner],
        )
        .await?;
    Ok(held.is_some())
}

/// The job holding a lease, for the writes made on its behalf.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    /// The job.
    pub job_id: JobId,
    /// The lease holder.
    pub owner: &'a str,
    /// Now.
    pub now: i64,
    /// The extended lease's end.
    pub until: i64,
}

/// One page of a range of `list`, read by a full pass, to store.
#[derive(Debug, Clone, Copy)]
pub struct RangePage<'a> {
    /// The job writing it.
    pub lease: Lease<'a>,
    /// The connection.
    pub connection_id: ConnectionId,
    /// The list.
    pub list: StripeList,
    /// The range it belongs to (its `hi`).
    pub range: i64,
    /// The objects, in Stripe's order, prepared.
    pub objects: &'a Prepared,
    /// The range is read to its end with this page.
    pub done: bool,
}

/// Stores pages of full passes — the objects, each range's checkpoint (its page's last id) and
/// done flag, each table's progress — in one transaction. Per page, whether it was written: not
/// when its job's lease was lost.
pub async fn commit_pages(pool: &Db, pages: &[RangePage<'_>]) -> Result<Vec<bool>, StoreError> {
    let mut tx = pool.begin().await?;
    tx.relax_durability().await?;
    // Every job's lease first, in the order of the jobs' ids: writers running side by side
    // (PostgreSQL) lock the jobs' rows in one order, so none waits in a circle.
    let mut leases: Vec<(JobId, &str, bool)> = pages
        .iter()
        .map(|p| (p.lease.job_id, p.lease.owner, false))
        .collect();
    leases.sort_unstable();
    leases.dedup();
    for (job, owner, held) in &mut leases {
        let lease = pages
            .iter()
            .map(|p| p.lease)
            .find(|l| l.job_id == *job && l.owner == *owner)
            .ok_or_else(|| StoreError::Corrupt("a page without its lease".into()))?;
        *held = hold_lease(&mut tx, lease.job_id, lease.owner, lease.now, lease.until).await?;
    }
    // Pages in the order of their connections and lists (a range's pages keep theirs): the rows
    // a page locks beyond its own (its connection's, naming its schema; its relation's, adding a
    // column) are then locked by every writer in one order, so none waits in a circle.
    let mut order: Vec<usize> = (0..pages.len()).collect();
    order.sort_by_key(|&i| (pages[i].connection_id, pages[i].list.name()));
    let mut written = vec![false; pages.len()];
    for i in order {
        let page = &pages[i];
        let lease = page.lease;
        let held = leases
            .iter()
            .any(|(job, owner, held)| *held && *job == lease.job_id && *owner == lease.owner);
        written[i] = held;
        if !held {
            continue;
        }
        let (connection_id, list) = (page.connection_id, page.list);
        upsert_objects(
            &mut tx,
            connection_id,
            list,
            page.objects,
            lease.now,
            Some(lease.job_id),
        )
        .await?;
        let last = page.objects.last_id();
        tx.execute(
            "UPDATE sync_ranges SET checkpoint = COALESCE($4, checkpoint), done = $5 \
             WHERE connection_id = $1 AND table_name = $2 AND hi = $3",
            args![connection_id, list.name(), page.range, last, page.done],
        )
        .await?;
        tx.execute(
            "INSERT INTO sync_tables (connection_id, table_name, progress_done, progress_pages) \
             VALUES ($1, $2, $3, 1) \
             ON CONFLICT (connection_id, table_name) DO UPDATE SET \
                 progress_done = sync_tables.progress_done + excluded.progress_done, \
                 progress_pages = sync_tables.progress_pages + 1, \
                 error_code = NULL, done_job_id = NULL",
            args![
                connection_id,
                list.name(),
                i64::try_from(page.objects.len()).unwrap_or(i64::MAX)
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(written)
}

/// Stores objects read one by one (the events pass), outside any full pass; an object whose stored
/// state is newer is left as it is.
pub async fn store_objects(
    pool: &Db,
    lease: Lease<'_>,
    connection_id: ConnectionId,
    list: StripeList,
    page: &Prepared,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    if !hold_lease(&mut tx, lease.job_id, lease.owner, lease.now, lease.until).await? {
        return Ok(false);
    }
    upsert_objects(&mut tx, connection_id, list, page, lease.now, None).await?;
    tx.commit().await?;
    Ok(true)
}

/// Marks objects deleted at Stripe, each at the moment it was (the event's `created`): a stored
/// one keeps its last state with `deleted` set, unless a newer state is stored; one never stored
/// is kept as last seen (from the event that told of it).
pub async fn mark_deleted(
    pool: &Db,
    lease: Lease<'_>,
    connection_id: ConnectionId,
    list: StripeList,
    last_seen: &[(Value, i64)],
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    if !hold_lease(&mut tx, lease.job_id, lease.owner, lease.now, lease.until).await? {
        return Ok(false);
    }
    mark_deleted_in(&mut tx, connection_id, list, last_seen, lease.now).await?;
    tx.commit().await?;
    Ok(true)
}

/// [`mark_deleted`] inside the caller's transaction.
pub(super) async fn mark_deleted_in(
    tx: &mut Tx,
    connection_id: ConnectionId,
    list: StripeList,
    last_seen: &[(Value, i64)],
    now: i64,
) -> Result<(), StoreError> {
    let table = table(list);
    let mut marked_ids: Vec<&str> = Vec::with_capacity(last_seen.len());
    for (object, version) in last_seen {
        let id = object["id"].as_str().unwrap_or_default();
        let marked = tx
            .execute(
                &format!(
                    "UPDATE {table} SET deleted = TRUE, synced_at = $3, version = $4 \
                     WHERE connection_id = $1 AND id = $2 AND deleted = FALSE AND version <= $4"
                ),
                args![connection_id, id, now, *version],
            )
            .await?;
        if marked == 1 {
            marked_ids.push(id);
            continue;
        }
        // Inserted only when absent (a deleted row, or a newer state, stays as it is).
        let exists: Option<i64> = tx
            .scalar_optional(
                &format!(
                    "SELECT CAST(1 AS BIGINT) FROM {table} WHERE connection_id = $1 AND id = $2"
                ),
                args![connection_id, id],
            )
            .await?;
        if exists.is_none() {
            let mut stub = object.clone();
            stub["deleted"] = Value::Bool(true);
            let stub = Prepared::new(list, &[stub], *version);
            upsert_objects(tx, connection_id, list, &stub, now, None).await?;
        }
    }
    if !marked_ids.is_empty() {
        super::warehouse::mark_deleted(tx, connection_id, list.name(), Some(&marked_ids)).await?;
    }
    Ok(())
}

/// Marks `list` synced by this job: row count and time set, its ranges gone. With `reconcile`
/// (a full pass, begun at that moment, that listed the whole table), what the pass did not list is
/// marked deleted — unless an event or a webhook wrote it after the pass began (an object made
/// since): every change before that moment is then in the table (`fresh_as_of`).
pub async fn finish_table(
    pool: &Db,
    lease: Lease<'_>,
    connection_id: ConnectionId,
    list: StripeList,
    began: i64,
    reconcile: bool,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    if !hold_lease(&mut tx, lease.job_id, lease.owner, lease.now, lease.until).await? {
        return Ok(false);
    }
    if reconcile {
        tx.execute(
            &format!(
                "UPDATE {} SET deleted = TRUE, synced_at = $3 WHERE connection_id = $1 \
                 AND deleted = FALSE AND seen_job IS DISTINCT FROM $2 \
                 AND (seen_job IS NOT NULL OR version < $4)",
                table(list)
            ),
            args![connection_id, lease.job_id, lease.now, began],
        )
        .await?;
        super::warehouse::mark_deleted(&mut tx, connection_id, list.name(), None).await?;
    }
    let rows: i64 = tx
        .scalar_one(
            &format!(
                "SELECT COUNT(*) FROM {} WHERE connection_id = $1",
                table(list)
            ),
            args![connection_id],
        )
        .await?;
    tx.execute(
        &format!(
            "INSERT INTO sync_tables (connection_id, table_name, rows, synced_at, done_job_id, \
                 fresh_as_of) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (connection_id, table_name) DO UPDATE SET rows = excluded.rows, \
                 synced_at = excluded.synced_at, progress_done = 0, progress_pages = 0, \
                 error_code = NULL, done_job_id = excluded.done_job_id, \
                 fresh_as_of = {}",
            FRESH_AS_OF_MAX
        ),
        args![
            connection_id,
            list.name(),
            rows,
            lease.now,
            lease.job_id,
            began
        ],
    )
    .await?;
    refresh_connection_freshness(&mut tx, connection_id).await?;
    tx.execute(
        "DELETE FROM sync_ranges WHERE connection_id = $1 AND table_name = $2",
        args![connection_id, list.name()],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Sets the connection's `fresh_as_of` to the oldest of its seven tables' (none while one has
/// none), only when it changed: the row's every update moves the Data Sources table's version.
pub(super) async fn refresh_connection_freshness(
    tx: &mut Tx,
    connection_id: ConnectionId,
) -> Result<(), StoreError> {
    // The seven names are ours (`StripeList::name`), never input: safe to write into the SQL.
    let tables = StripeList::ALL
        .map(|list| format!("'{}'", list.name()))
        .join(", ");
    let seven = i64::try_from(StripeList::ALL.len()).unwrap_or(i64::MAX);
    let oldest = format!(
        "(SELECT CASE WHEN COUNT(t.fresh_as_of) = $2 THEN MIN(t.fresh_as_of) END \
          FROM sync_tables t WHERE t.connection_id = $1 AND t.table_name IN ({tables}))"
    );
    tx.execute(
        &format!(
            "UPDATE connections SET fresh_as_of = {oldest} \
             WHERE id = $1 AND fresh_as_of IS DISTINCT FROM {oldest}"
        ),
        args![connection_id, seven],
    )
    .await?;
    Ok(())
}

/// `sync_tables.fresh_as_of` moved forward to `excluded.fresh_as_of`, never back.
const FRESH_AS_OF_MAX: &str = "CASE WHEN sync_tables.fresh_as_of IS NULL \
     OR sync_tables.fresh_as_of < excluded.fresh_as_of THEN excluded.fresh_as_of \
     ELSE sync_tables.fresh_as_of END";

/// Ends an events pass begun at `began` (Unix seconds), in one transaction: every table synced
/// and fresh as of then, the rows of those it `changed` counted again, and the events cursor moved
/// to `events_from`.
pub async fn finish_events_pass(
    pool: &Db,
    lease: Lease<'_>,
    connection_id: ConnectionId,
    changed: &[StripeList],
    began: i64,
    events_from: i64,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    if !hold_lease(&mut tx, lease.job_id, lease.owner, lease.now, lease.until).await? {
        return Ok(false);
    }
    // In the order of their names, as every writer locks a connection's status rows.
    let mut lists = StripeList::ALL;
    lists.sort_by_key(|l| l.name());
    for list in lists {
        let rows: Option<i64> = if changed.contains(&list) {
            Some(
                tx.scalar_one(
                    &format!(
                        "SELECT COUNT(*) FROM {} WHERE connection_id = $1",
                        table(list)
                    ),
                    args![connection_id],
                )
                .await?,
            )
        } else {
            None
        };
        tx.execute(
            &format!(
                "INSERT INTO sync_tables (connection_id, table_name, rows, synced_at, \
                     done_job_id, fresh_as_of) \
                 VALUES ($1, $2, COALESCE($3, 0), $4, $5, $6) \
                 ON CONFLICT (connection_id, table_name) DO UPDATE SET \
                     rows = COALESCE($3, sync_tables.rows), synced_at = excluded.synced_at, \
                     progress_done = 0, progress_pages = 0, error_code = NULL, \
                     done_job_id = excluded.done_job_id, fresh_as_of = {FRESH_AS_OF_MAX}"
            ),
            args![
                connection_id,
                list.name(),
                rows,
                lease.now,
                lease.job_id,
                began
            ],
        )
        .await?;
    }
    tx.execute(
        "UPDATE sync_cursors SET events_from = $2 WHERE connection_id = $1",
        args![connection_id, events_from],
    )
    .await?;
    refresh_connection_freshness(&mut tx, connection_id).await?;
    tx.commit().await?;
    Ok(true)
}

/// Records why `list` could not be synced.
pub async fn set_table_error(
    pool: &Db,
    connection_id: ConnectionId,
    list: StripeList,
    code: &str,
) -> Result<(), StoreError> {
    pool.execute(
        "INSERT INTO sync_tables (connection_id, table_name, error_code) VALUES ($1, $2, $3) \
         ON CONFLICT (connection_id, table_name) DO UPDATE SET error_code = excluded.error_code",
        args![connection_id, list.name(), code],
    )
    .await?;
    Ok(())
}

/// A table's sync state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableState {
    /// Rows after the last completed pass.
    pub rows: i64,
    /// When the last pass completed.
    pub synced_at: Option<i64>,
    /// A full pass is under way (it has ranges).
    pub in_pass: bool,
    /// Objects stored by the pass under way.
    pub progress_done: i64,
    /// Pages read by the pass under way.
    pub progress_pages: i64,
    /// Why the last attempt failed.
    pub error_code: Option<String>,
    /// The job whose pass completed the table.
    pub done_job_id: Option<JobId>,
    /// Every change Stripe made before this moment is in the table (`None` until a pass
    /// completed it).
    pub fresh_as_of: Option<i64>,
}

/// The sync state of `list` for a connection (defaults when never synced).
pub async fn table_state(
    pool: &Db,
    connection_id: ConnectionId,
    list: StripeList,
) -> Result<TableState, StoreError> {
    type Row = (
        i64,
        Option<i64>,
        bool,
        i64,
        i64,
        Option<String>,
        Option<JobId>,
        Option<i64>,
    );
    let row: Option<Row> = pool
        .fetch_optional(
            "SELECT t.rows, t.synced_at, EXISTS (SELECT 1 FROM sync_ranges r \
                 WHERE r.connection_id = t.connection_id AND r.table_name = t.table_name), \
                 t.progress_done, t.progress_pages, t.error_code, t.done_job_id, t.fresh_as_of \
             FROM sync_tables t WHERE t.connection_id = $1 AND t.table_name = $2",
            args![connection_id, list.name()],
        )
        .await?;
    Ok(row
        .map(
            |(
                rows,
                synced_at,
                in_pass,
                progress_done,
                progress_pages,
                error_code,
                done_job_id,
                fresh_as_of,
            )| TableState {
                rows,
                synced_at,
                in_pass,
                progress_done,
                progress_pages,
                error_code,
                done_job_id,
                fresh_as_of,
            },
        )
        .unwrap_or_default())
}

/// Each connection with the moment its synced data is fresh as of (Unix seconds), in id order: the
/// oldest `fresh_as_of` over its seven tables; while any of them has never completed a pass, the
/// connection's creation, so a first sync that never ends shows a lag that grows rather than none.
pub async fn connection_freshness(pool: &Db) -> Result<Vec<(ConnectionId, i64)>, StoreError> {
    pool.fetch_all(
        "SELECT id, COALESCE(fresh_as_of, created_at) FROM connections ORDER BY id",
        args![],
    )
    .await
}

/// Up to `limit` stored objects of `list` after the id `after`, in id order, each with its
/// deleted flag; and whether more follow.
pub async fn table_rows(
    pool: &Db,
    connection_id: ConnectionId,
    list: StripeList,
    after: Option<&str>,
    limit: i64,
) -> Result<(Vec<(String, bool)>, bool), StoreError> {
    let mut rows: Vec<(String, bool)> = pool
        .fetch_all(
            &format!(
                "SELECT object, deleted FROM {} WHERE connection_id = $1 AND id > $2 \
                 ORDER BY id LIMIT $3",
                table(list)
            ),
            args![connection_id, after.unwrap_or(""), limit + 1],
        )
        .await?;
    let has_more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok((rows, has_more))
}
