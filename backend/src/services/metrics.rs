//! `GET /metrics`' work: what the shared database says at scrape time (sync jobs, each
//! connection's freshness), rendered with this process's counters.

use crate::metrics::Observed;
use crate::state::AppState;
use crate::store::{self, StoreError};

/// Why the metrics could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The database could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The text could not be written.
    #[error("metrics could not be encoded")]
    Encode(#[from] std::fmt::Error),
}

/// Every series, in Prometheus' text format ([`crate::metrics::CONTENT_TYPE`]).
pub async fn scrape(app: &AppState) -> Result<String, ScrapeError> {
    let jobs = store::count_sync_jobs(&app.pool).await?;
    let fresh_as_of = store::connection_freshness(&app.pool).await?;
    Ok(app.metrics.render(&Observed {
        queued_jobs: jobs.queued,
        running_jobs: jobs.running,
        fresh_as_of,
        now: app.clock.now(),
    })?)
}
