//! Sync jobs: queued, leased by one worker at a time (the lease is taken in one UPDATE…RETURNING,
//! so several processes on one database never run a job twice), retried with backoff.

use crate::ids::{ConnectionId, JobId};

use super::{args, Db};

use super::StoreError;

/// A job a worker holds the lease of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The job.
    pub id: JobId,
    /// Its connection.
    pub connection_id: ConnectionId,
    /// Failed runs so far.
    pub attempts: i64,
    /// A full pass was asked for (**Force an update**): list everything, reconcile deletions.
    pub full_pass: bool,
}

/// The latest job of a connection, as the sync status shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    /// The job.
    pub id: JobId,
    /// `queued`, `running`, `done` or `error`.
    pub status: String,
    /// Why it failed, if it did.
    pub error_code: Option<String>,
}

/// Queues a sync of the connection unless one is already queued or running (the partial unique
/// index makes this a no-op then). `full_pass` asks for a full pass; a queued job is upgraded to
/// one (a running one is left alone). Returns whether a job was added.
pub async fn enqueue_sync(
    pool: &Db,
    connection_id: ConnectionId,
    now: i64,
    full_pass: bool,
) -> Result<bool, StoreError> {
    let added = pool
        .execute(
            "INSERT INTO sync_jobs (connection_id, status, run_after, created_at, full_pass) \
             SELECT id, 'queued', $2, $2, $3 FROM connections WHERE id = $1 \
             ON CONFLICT DO NOTHING",
            args![connection_id, now, full_pass],
        )
        .await?;
    if added == 0 && full_pass {
        pool.execute(
            "UPDATE sync_jobs SET full_pass = TRUE, \
                 run_after = CASE WHEN run_after > $2 THEN $2 ELSE run_after END \
             WHERE connection_id = $1 AND status = 'queued'",
            args![connection_id, now],
        )
        .await?;
    }
    Ok(added == 1)
}

/// How often each connection's sync comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSchedule {
    /// Seconds between events passes of a connection fed by webhooks (`SYNC_INTERVAL`): the
    /// safety net.
    pub sync_secs: i64,
    /// Seconds between events passes of one that is not (`EVENTS_POLL_INTERVAL`).
    pub poll_secs: i64,
    /// Seconds between full passes that reconcile every id (`RECONCILE_INTERVAL`).
    pub reconcile_secs: i64,
    /// The platform's endpoint gets its connected accounts' events (`STRIPE_WEBHOOK_SECRET` set):
    /// connections by OAuth are fed by webhooks. A restricted key's account is not connected to
    /// the platform; one is counted as fed once a webhook for it arrived within `sync_secs`.
    pub webhooks: bool,
}

/// Finished jobs are kept this long (the latest of each connection always).
const FINISHED_KEPT_SECS: i64 = 86_400;

/// Asks for an events pass of the connection even if a job is under way (which may have read its
/// events before the one that calls for it): noted first, then queued if none is; the job under
/// way queues it when it ends ([`take_wanted_pass`]).
pub async fn want_pass(
    pool: &Db,
    connection_id: ConnectionId,
    now: i64,
) -> Result<bool, StoreError> {
    pool.execute(
        "INSERT INTO sync_cursors (connection_id, pass_wanted) VALUES ($1, TRUE) \
         ON CONFLICT (connection_id) DO UPDATE SET pass_wanted = TRUE",
        args![connection_id],
    )
    .await?;
    let added = enqueue_sync(pool, connection_id, now, false).await?;
    // A job that has not started yet reads the events after this moment: the ask is met.
    let running: Option<i64> = pool
        .scalar_optional(
            "SELECT CAST(1 AS BIGINT) FROM sync_jobs \
             WHERE connection_id = $1 AND status = 'running'",
            args![connection_id],
        )
        .await?;
    if running.is_none() {
        take_wanted_pass(pool, connection_id).await?;
    }
    Ok(added)
}

/// Whether an events pass was asked for while a job ran (the ask is cleared).
pub async fn take_wanted_pass(pool: &Db, connection_id: ConnectionId) -> Result<bool, StoreError> {
    Ok(pool
        .execute(
            "UPDATE sync_cursors SET pass_wanted = FALSE \
             WHERE connection_id = $1 AND pass_wanted = TRUE",
            args![connection_id],
        )
        .await?
        == 1)
}

/// Queues a sync of every connection whose last job was created longer ago than its interval (or
/// that never had one): `sync_secs` when fed by webhooks, else `poll_secs`; a full pass when its
/// last one completed `reconcile_secs` ago or more. Those needing re-authentication wait for an
/// admin. Finished jobs older than a day go (a connection polled every minute makes 1,440 a day).
pub async fn enqueue_due_syncs(
    pool: &Db,
    now: i64,
    schedule: SyncSchedule,
) -> Result<u64, StoreError> {
    pool.execute(
        "DELETE FROM sync_jobs WHERE status IN ('done', 'error') AND created_at < $1 \
         AND id < (SELECT MAX(j.id) FROM sync_jobs j WHERE j.connection_id = sync_jobs.connection_id)",
        args![now - FINISHED_KEPT_SECS],
    )
    .await?;
    pool.execute(
        "INSERT INTO sync_jobs (connection_id, status, run_after, created_at, full_pass) \
         SELECT c.id, 'queued', $1, $1, \
             COALESCE((SELECT s.full_pass_at FROM sync_cursors s WHERE s.connection_id = c.id), 0) \
                 <= $1 - $4 \
         FROM connections c \
         WHERE c.status <> 'needs_reauth' AND NOT EXISTS (SELECT 1 FROM sync_jobs j \
             WHERE j.connection_id = c.id AND j.created_at > $1 - CASE \
                 WHEN ($5 AND c.auth_kind <> 'restricted_key') OR EXISTS (SELECT 1 \
                     FROM sync_cursors s WHERE s.connection_id = c.id AND s.webhook_at > $1 - $2) \
                 THEN $2 ELSE $3 END) \
         ON CONFLICT DO NOTHING",
        args![
            now,
            schedule.sync_secs,
            schedule.poll_secs,
            schedule.reconcile_secs,
            schedule.webhooks
        ],
    )
    .await
}

/// Claims one due job: a queued one whose time has come, or a running one whose lease expired
/// (its worker died; it resumes from the checkpoints). The conditions are repeated outside the
/// sub-select so a concurrent claim on PostgreSQL re-checks them.
pub async fn claim_sync_job(
    pool: &Db,
    owner: &str,
    now: i64,
    lease_until: i64,
) -> Result<Option<ClaimedJob>, StoreError> {
    claim(pool, owner, now, lease_until, None).await
}

/// [`claim_sync_job`] of a job that will be an events pass: not a forced full pass, of a
/// connection whose events cursor is at or after `usable_from` and with no full pass under way.
pub async fn claim_events_job(
    pool: &Db,
    owner: &str,
    now: i64,
    lease_until: i64,
    usable_from: i64,
) -> Result<Option<ClaimedJob>, StoreError> {
    claim(pool, owner, now, lease_until, Some(usable_from)).await
}

async fn claim(
    pool: &Db,
    owner: &str,
    now: i64,
    lease_until: i64,
    events_from: Option<i64>,
) -> Result<Option<ClaimedJob>, StoreError> {
    // PostgreSQL: a job another instance is claiming right now is skipped, not waited for.
    let skip_locked = pool.dialect().skip_locked();
    let due = "((status = 'queued' AND run_after <= $2) \
                OR (status = 'running' AND lease_until < $2))";
    let events_only = if events_from.is_some() {
        " AND full_pass = FALSE AND EXISTS (SELECT 1 FROM sync_cursors c \
              WHERE c.connection_id = sync_jobs.connection_id AND c.events_from >= $4 \
                AND c.pass_job_id IS NULL)"
    } else {
        ""
    };
    let args = match events_from {
        Some(from) => args![owner, now, lease_until, from],
        None => args![owner, now, lease_until],
    };
    let row: Option<(JobId, ConnectionId, i64, bool)> = pool
        .fetch_optional(
            &format!(
                "UPDATE sync_jobs SET status = 'running', lease_owner = $1, lease_until = $3, \
                     heartbeat_at = $2, started_at = COALESCE(started_at, $2) \
                 WHERE id = (SELECT id FROM sync_jobs WHERE {due}{events_only} \
                     ORDER BY run_after, id LIMIT 1{skip_locked}) \
                   AND {due} \
                 RETURNING id, connection_id, attempts, full_pass",
            ),
            args,
        )
        .await?;
    Ok(
        row.map(|(id, connection_id, attempts, full_pass)| ClaimedJob {
            id,
            connection_id,
            attempts,
            full_pass,
        }),
    )
}

/// How a leased job ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd<'a> {
    /// Every table is synced.
    Done,
    /// Failed for good with this code.
    Failed(&'a str),
    /// Failed for now: queued again to run at this time.
    Retry(&'a str, i64),
}

/// Ends a job the worker holds; `false` when the lease was lost meanwhile.
pub async fn finish_sync_job(
    pool: &Db,
    id: JobId,
    owner: &str,
    end: JobEnd<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let (status, code, run_after, attempts) = match end {
        JobEnd::Done => ("done", None, None, 0),
        JobEnd::Failed(code) => ("error", Some(code), None, 1),
        JobEnd::Retry(code, at) => ("queued", Some(code), Some(at), 1),
    };
    let n = pool
        .execute(
            "UPDATE sync_jobs SET status = $3, error_code = $4, \
                 run_after = COALESCE($5, run_after), attempts = attempts + $6, \
                 lease_owner = NULL, lease_until = NULL, \
                 finished_at = CASE WHEN $3 = 'queued' THEN NULL ELSE $7 END \
             WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
            args![id, owner, status, code, run_after, attempts, now],
        )
        .await?;
    Ok(n == 1)
}

/// The connection's latest job, if it ever had one.
pub async fn latest_sync_job(
    pool: &Db,
    connection_id: ConnectionId,
) -> Result<Option<JobState>, StoreError> {
    let row: Option<(JobId, String, Option<String>)> = pool
        .fetch_optional(
            "SELECT id, status, error_code FROM sync_jobs WHERE connection_id = $1 \
             ORDER BY id DESC LIMIT 1",
            args![connection_id],
        )
        .await?;
    Ok(row.map(|(id, status, error_code)| JobState {
        id,
        status,
        error_code,
    }))
}

/// Sync jobs waiting and running, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// `queued` jobs (due or not yet due).
    pub queued: i64,
    /// `running` jobs (leased; a lapsed lease still counts until another worker claims the job).
    pub running: i64,
}

/// How many sync jobs are queued and running in the database: every instance's, as the metrics
/// show them.
pub async fn count_sync_jobs(pool: &Db) -> Result<JobCounts, StoreError> {
    let rows: Vec<(String, i64)> = pool
        .fetch_all(
            "SELECT status, COUNT(*) FROM sync_jobs WHERE status IN ('queued', 'running') \
             GROUP BY status",
            args![],
        )
        .await?;
    let mut counts = JobCounts::default();
    for (status, n) in rows {
        match status.as_str() {
            "queued" => counts.queued = n,
            _ => counts.running = n,
        }
    }
    Ok(counts)
}
