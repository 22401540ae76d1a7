//! One run of a sync job: a **full pass** (every list page by page, then what was not listed is
//! marked deleted) when the job asks for one (**Force an update**), when the connection never
//! completed one, or when its events cursor is older than Stripe keeps events; otherwise an
//! **events pass** from the cursor. Every write holds the job's lease, so a worker that lost the
//! job writes nothing, and a crash anywhere resumes with no duplicates and no gaps.

use super::limits;
use super::run::{not_stored, Run};
pub use super::run::{
    Outcome, SyncOptions, CURSOR_OVERLAP_SECS, EVENTS_KEPT_SECS, EVENTS_USABLE_SECS, LEASE_SECS,
};
use crate::state::AppState;
use crate::store::{self, ClaimedJob};
use crate::stripe::lists::StripeList;

/// Runs `job` holding the lease as `owner`.
pub async fn run(app: &AppState, job: &ClaimedJob, owner: &str, options: SyncOptions) -> Outcome {
    let connection = job.connection_id;
    let livemode = match store::find_connection(&app.pool, connection).await {
        Ok(Some(c)) => c.livemode,
        Ok(None) => return Outcome::Gone,
        Err(e) => return not_stored(connection, StripeList::ALL[0], &e),
    };
    let cursor = match store::sync_cursor(&app.pool, connection).await {
        Ok(cursor) => cursor,
        Err(e) => return not_stored(connection, StripeList::ALL[0], &e),
    };
    let rates = limits::rates_for(livemode, app.settings.sync_rate_limit);
    let run = std::sync::Arc::new(Run::new(app, job, owner, options, rates));
    let now = app.clock.now();
    let usable_events_from = cursor
        .events_from
        .filter(|from| *from >= now - EVENTS_USABLE_SECS);
    // A full pass under way (a resumed job) is finished first.
    let resuming = cursor.pass.is_some_and(|(pass_job, _)| pass_job == job.id);
    match usable_events_from {
        Some(from) if !job.full_pass && !resuming => super::events::pass(&run, from).await,
        _ => super::full::pass(&run).await,
    }
}
