//! Sync jobs in the database: queued after connecting, on **Force an update** and every
//! `SYNC_INTERVAL`; claimed with a lease by one worker of any process; retried with exponential
//! backoff on transient failures; failed for good on 401/403.

use crate::ids::ConnectionId;
use std::time::Duration;

use super::engine::{run, Outcome, SyncOptions};
use crate::state::AppState;
use crate::store::{self, JobEnd, StoreError};

/// Failed runs after which a job gives up (the next interval queues a new one).
pub const MAX_ATTEMPTS: i64 = 6;
/// The first retry waits this long, each next one twice as long, up to an hour.
const FIRST_BACKOFF_SECS: i64 = 30;
const MAX_BACKOFF_SECS: i64 = 3600;

/// Seconds before retry number `attempts + 1`.
pub fn backoff_secs(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    FIRST_BACKOFF_SECS
        .saturating_mul(1i64 << shift)
        .min(MAX_BACKOFF_SECS)
}

/// Queues a sync of the connection unless one is queued or running; logs a failure (a sync not
/// queued now is queued by the next interval).
pub async fn enqueue(app: &AppState, connection_id: ConnectionId) {
    if let Err(e) = store::enqueue_sync(&app.pool, connection_id, app.clock.now(), false).await {
        tracing::error!(connection_id = %connection_id, error = %e, "queueing a sync failed");
    }
}

/// Runs every due job until none is left; returns how many runs were made.
pub async fn run_due_jobs(app: &AppState, options: SyncOptions) -> Result<usize, StoreError> {
    // One owner per run: a stale run in this very process never writes over a later one.
    let owner = format!(
        "{}:{}",
        app.settings.instance_id,
        crate::state::new_instance_id()
    );
    let mut runs = 0;
    loop {
        let now = app.clock.now();
        let Some(job) =
            store::claim_sync_job(&app.pool, &owner, now, now + app.settings.sync_lease_secs)
                .await?
        else {
            return Ok(runs);
        };
        runs += 1;
        tracing::info!(
            connection_id = %job.connection_id,
            job = %job.id,
            instance = %app.settings.instance_id,
            full_pass = job.full_pass,
            "sync run started"
        );
        let (started_at, timer) = (app.clock.now(), std::time::Instant::now());
        let outcome = run(app, &job, &owner, options).await;
        let now = app.clock.now();
        if matches!(
            outcome,
            Outcome::Done | Outcome::Failed(..) | Outcome::Transient(..)
        ) {
            let ms = i64::try_from(timer.elapsed().as_millis()).unwrap_or(i64::MAX);
            store::record_sync_run(&app.pool, job.connection_id, started_at, ms).await?;
        }
        let end = match &outcome {
            Outcome::Done => JobEnd::Done,
            // A dead worker leaves its lease to expire; another run resumes the job.
            Outcome::Stopped => return Ok(runs),
            Outcome::LeaseLost | Outcome::Gone => continue,
            Outcome::Failed(list, code) => {
                store::set_table_error(&app.pool, job.connection_id, *list, code).await?;
                // The connection's status must say so too: its test runs at the next tick.
                store::check_soon(&app.pool, job.connection_id).await?;
                JobEnd::Failed(code)
            }
            Outcome::Transient(list, code) => {
                store::set_table_error(&app.pool, job.connection_id, *list, code).await?;
                if job.attempts + 1 >= MAX_ATTEMPTS {
                    JobEnd::Failed(code)
                } else {
                    JobEnd::Retry(code, now + backoff_secs(job.attempts))
                }
            }
        };
        tracing::info!(
            connection_id = %job.connection_id,
            job = %job.id,
            ?outcome,
            "sync run ended"
        );
        store::finish_sync_job(&app.pool, job.id, &owner, end, now).await?;
    }
}

/// The sync worker: every `tick`, queues the syncs `SYNC_INTERVAL` makes due and runs due jobs.
pub fn spawn_worker(state: AppState, tick: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let now = state.clock.now();
            let interval_secs = state.settings.sync_interval_secs;
            if let Err(e) = store::enqueue_due_syncs(&state.pool, now, interval_secs).await {
                tracing::error!(error = %e, "queueing due syncs failed");
            }
            if let Err(e) = run_due_jobs(&state, SyncOptions::default()).await {
                tracing::error!(error = %e, "running sync jobs failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_secs(0), 30);
        assert_eq!(backoff_secs(1), 60);
        assert_eq!(backoff_secs(3), 240);
        assert_eq!(backoff_secs(10), 3600);
        assert_eq!(backoff_secs(99), 3600);
    }
}
