//! The backfill: each of the seven lists page by page, resuming from its checkpoint. A page's
//! rows and the checkpoint commit together (the store does it in one transaction), so a crash
//! anywhere resumes with no duplicates and no gaps.

use super::ratelimit;
use crate::services::credentials::{self, CredentialError};
use crate::state::AppState;
use crate::store::{self, ClaimedJob, Lease};
use crate::stripe::lists::StripeList;
use crate::stripe::{StripeError, LIST_PAGE_LIMIT};

/// How long a worker's lease lasts without a heartbeat (one per page).
pub const LEASE_SECS: i64 = 120;

/// Knobs of a run (tests shrink pages and stop early to play a crash).
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Objects per page (Stripe's maximum, 100, outside tests).
    pub page_size: usize,
    /// Stop, as if the process died, after this many pages of a run.
    pub max_pages: Option<usize>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            page_size: LIST_PAGE_LIMIT,
            max_pages: None,
        }
    }
}

/// How a run of a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every table is synced.
    Done,
    /// The page budget ran out (tests): the job is left as a dead worker leaves it.
    Stopped,
    /// Another worker took the job over; nothing more was written.
    LeaseLost,
    /// The connection is gone.
    Gone,
    /// Failed for good (401/403, re-authentication needed): no retry.
    Failed(StripeList, &'static str),
    /// Failed for now: retry later.
    Transient(StripeList, &'static str),
}

/// The error code a failed call leaves on its table, and whether retrying can help.
fn classify(e: &CredentialError) -> (&'static str, bool) {
    match e {
        CredentialError::NeedsReauth => ("needs_reauth", false),
        CredentialError::Stripe(StripeError::Unauthorized { .. }) => ("unauthorized", false),
        CredentialError::Stripe(StripeError::Forbidden { .. }) => ("forbidden", false),
        CredentialError::Stripe(StripeError::RateLimited { .. }) => ("rate_limited", true),
        CredentialError::Stripe(_) => ("stripe_unavailable", true),
        CredentialError::Store(_) | CredentialError::Gone => ("storage_failed", true),
    }
}

/// Runs the backfill of `job` holding the lease as `owner`.
pub async fn backfill(
    app: &AppState,
    job: &ClaimedJob,
    owner: &str,
    options: SyncOptions,
) -> Outcome {
    let connection = job.connection_id;
    let livemode = match store::find_connection(&app.pool, connection).await {
        Ok(Some(c)) => c.livemode,
        Ok(None) => return Outcome::Gone,
        Err(_) => return Outcome::Transient(StripeList::ALL[0], "storage_failed"),
    };
    let rate = ratelimit::rate_for(livemode, app.settings.sync_rate_limit);
    let mut pages = 0usize;
    for list in StripeList::ALL {
        let state = match store::table_state(&app.pool, connection, list).await {
            Ok(state) => state,
            Err(_) => return Outcome::Transient(list, "storage_failed"),
        };
        // A retried job keeps the tables its earlier runs completed.
        if state.done_job_id == Some(job.id) {
            continue;
        }
        let mut after = state.checkpoint;
        let mut first = after.is_none();
        let mut restarted = false;
        loop {
            if options.max_pages.is_some_and(|max| pages >= max) {
                return Outcome::Stopped;
            }
            // Manners: at most `rate` reads per second for this connection.
            app.sync_limiter.acquire(connection, rate).await;
            let client = app.stripe.clone();
            let cursor = after.clone();
            let size = options.page_size;
            let used = credentials::call(app, connection, move |key| {
                let client = client.clone();
                let cursor = cursor.clone();
                async move {
                    client
                        .list_page_sized(list, cursor.as_deref(), size, &key)
                        .await
                }
            })
            .await;
            let page = match used.and_then(|u| u.value.map_err(CredentialError::from)) {
                Ok(page) => page,
                Err(CredentialError::Gone) => return Outcome::Gone,
                // The checkpoint's object was deleted at Stripe: the pass starts the table over
                // (upserts make the repeated rows a no-op), once per run so it cannot loop.
                Err(CredentialError::Stripe(StripeError::Missing(_)))
                    if after.is_some() && !restarted =>
                {
                    tracing::info!(
                        connection_id = connection,
                        table = list.name(),
                        "sync checkpoint gone at Stripe; restarting the table"
                    );
                    restarted = true;
                    after = None;
                    first = true;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(connection_id = connection, table = list.name(), error = %e, "sync page failed");
                    let (code, retry) = classify(&e);
                    return if retry {
                        Outcome::Transient(list, code)
                    } else {
                        Outcome::Failed(list, code)
                    };
                }
            };
            pages += 1;
            let now = app.clock.now();
            let lease = Lease {
                job_id: job.id,
                owner,
                now,
                until: now + LEASE_SECS,
            };
            match store::commit_page(&app.pool, lease, connection, list, &page.data, first).await {
                Ok(true) => {}
                Ok(false) => return Outcome::LeaseLost,
                Err(e) => {
                    tracing::warn!(connection_id = connection, table = list.name(), error = %e, "storing a sync page failed");
                    return Outcome::Transient(list, "storage_failed");
                }
            }
            first = false;
            if let Some(last) = page.data.last().and_then(|o| o["id"].as_str()) {
                after = Some(last.to_owned());
            }
            if !page.has_more || page.data.is_empty() {
                match store::finish_table(&app.pool, lease, connection, list).await {
                    Ok(true) => break,
                    Ok(false) => return Outcome::LeaseLost,
                    Err(_) => return Outcome::Transient(list, "storage_failed"),
                }
            }
        }
    }
    Outcome::Done
}
