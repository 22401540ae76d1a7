//! Sync jobs in the database: queued after connecting, on **Force an update** and every
//! `SYNC_INTERVAL`; claimed with a lease by one worker of any process and run side by side (up to
//! `SYNC_MAX_JOBS` in a process); retried with exponential backoff on transient failures; failed
//! for good on 401/403.

use std::time::Duration;

use tokio::task::JoinSet;

use super::engine::{run, Outcome, SyncOptions};
use crate::ids::ConnectionId;
use crate::state::AppState;
use crate::store::{self, ClaimedJob, JobEnd, StoreError};

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

/// Queues a sync of the connection unless one is queued or running, and wakes this process's
/// scheduler; logs a failure (a sync not queued now is queued by the next interval).
pub async fn enqueue(app: &AppState, connection_id: ConnectionId) {
    match store::enqueue_sync(&app.pool, connection_id, app.clock.now(), false).await {
        Ok(_) => app.sync_wake.notify_one(),
        Err(e) => {
            tracing::error!(connection_id = %connection_id, error = %e, "queueing a sync failed")
        }
    }
}

/// Queues an events pass of the connection even if a job is under way: that one may have read its
/// events before the one that calls for this (it queues the pass when it ends).
pub async fn want_pass(app: &AppState, connection_id: ConnectionId) {
    match store::want_pass(&app.pool, connection_id, app.clock.now()).await {
        Ok(_) => app.sync_wake.notify_one(),
        Err(e) => {
            tracing::error!(connection_id = %connection_id, error = %e, "asking for an events pass failed")
        }
    }
}

/// How one run of a job ended, for the scheduler.
enum RunEnd {
    /// The job was finished, rescheduled or lost to another worker.
    Ended,
    /// The run stopped as a dead worker does (tests): the scheduler stops claiming too.
    Stopped,
}

/// Runs one claimed job and records how it ended.
async fn run_job(
    app: AppState,
    job: ClaimedJob,
    owner: String,
    options: SyncOptions,
) -> Result<RunEnd, StoreError> {
    let app = &app;
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
        Outcome::Stopped => return Ok(RunEnd::Stopped),
        Outcome::LeaseLost | Outcome::Gone => return Ok(RunEnd::Ended),
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
    // A webhook asked for a pass while this one ran (it may have read the events before it).
    if store::take_wanted_pass(&app.pool, job.connection_id).await? {
        enqueue(app, job.connection_id).await;
    }
    Ok(RunEnd::Ended)
}

/// Which slots a run takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// Any job (`SYNC_MAX_JOBS` of them).
    Any,
    /// An events pass started while every slot of the other lane was taken (as many again): a
    /// tenant's changes never wait behind other tenants' backfills.
    Events,
}

/// The runs under way in this process, each a task of its own (so that claiming more never waits
/// on a run's turn to be polled), in two lanes.
#[derive(Default)]
struct Running {
    tasks: JoinSet<(Lane, Result<RunEnd, StoreError>)>,
    any: usize,
    events: usize,
}

impl Running {
    fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The next run to end (`None` when none runs).
    async fn next(&mut self) -> Option<Result<RunEnd, StoreError>> {
        let joined = self.tasks.join_next().await?;
        Some(match joined {
            Ok((lane, end)) => {
                match lane {
                    Lane::Any => self.any -= 1,
                    Lane::Events => self.events -= 1,
                }
                end
            }
            // A run that panicked is a dead worker: its lease expires, another run resumes it. Its
            // slot is found again by counting.
            Err(e) => {
                tracing::error!(error = %e, "a sync run panicked");
                self.recount();
                Ok(RunEnd::Ended)
            }
        })
    }

    /// After a panic: the lane of the lost run is not known, so both counts are bounded by what
    /// still runs.
    fn recount(&mut self) {
        let left = self.tasks.len();
        self.events = self.events.min(left);
        self.any = left - self.events;
    }
}

/// Claims due jobs while a lane has room, and starts each; returns how many were claimed.
async fn claim(
    app: &AppState,
    options: SyncOptions,
    running: &mut Running,
) -> Result<usize, StoreError> {
    let max = app.settings.sync_max_jobs;
    let mut claimed = 0;
    loop {
        // One owner per run: a stale run in this very process never writes over a later one.
        let owner = format!(
            "{}:{}",
            app.settings.instance_id,
            crate::state::new_instance_id()
        );
        let now = app.clock.now();
        let until = now + app.settings.sync_lease_secs;
        let (lane, job) = if running.any < max {
            let job = store::claim_sync_job(&app.pool, &owner, now, until).await?;
            (Lane::Any, job)
        } else if running.events < max {
            let usable_from = now - super::engine::EVENTS_USABLE_SECS;
            let job = store::claim_events_job(&app.pool, &owner, now, until, usable_from).await?;
            (Lane::Events, job)
        } else {
            break;
        };
        let Some(job) = job else {
            break;
        };
        match lane {
            Lane::Any => running.any += 1,
            Lane::Events => running.events += 1,
        }
        claimed += 1;
        let app = app.clone();
        running
            .tasks
            .spawn(async move { (lane, run_job(app, job, owner, options).await) });
    }
    Ok(claimed)
}

/// Runs every due job, many side by side, until none is left (a job queued meanwhile in this
/// process is started at once); returns how many runs were made. A run stopped as a dead worker
/// stops (tests) ends the claiming: what is running finishes, nothing more starts.
pub async fn run_due_jobs(app: &AppState, options: SyncOptions) -> Result<usize, StoreError> {
    let mut running = Running::default();
    let mut runs = claim(app, options, &mut running).await?;
    let mut stopped = false;
    while !running.is_empty() {
        tokio::select! {
            Some(end) = running.next() => {
                if matches!(end?, RunEnd::Stopped) {
                    stopped = true;
                }
            }
            () = app.sync_wake.notified() => {}
        }
        if !stopped {
            runs += claim(app, options, &mut running).await?;
        }
    }
    Ok(runs)
}

/// The sync scheduler of this process: every `tick` it queues the syncs its schedule makes due;
/// it starts due jobs whenever a slot is free — at once when a job is queued in this process,
/// when a run ends, else at the next tick (jobs queued by other instances, retries coming due).
pub fn spawn_worker(state: AppState, tick: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let app = &state;
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut running = Running::default();
        loop {
            tokio::select! {
                _ = interval.tick() => {
                    let now = app.clock.now();
                    let schedule = app.settings.sync_schedule;
                    if let Err(e) = store::enqueue_due_syncs(&app.pool, now, schedule).await {
                        tracing::error!(error = %e, "queueing due syncs failed");
                    }
                }
                () = app.sync_wake.notified() => {}
                Some(end) = running.next(), if !running.is_empty() => {
                    if let Err(e) = end {
                        tracing::error!(error = %e, "a sync run could not record its end");
                    }
                }
            }
            if let Err(e) = claim(app, SyncOptions::default(), &mut running).await {
                tracing::error!(error = %e, "claiming sync jobs failed");
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
