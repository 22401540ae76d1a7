//! What a run of a sync job works with: its knobs, how it ends, the lease it holds, and one read of
//! Stripe at the connection's rate with its credential. Shared by the full and the events passes.

use crate::config::Secret;
use crate::ids::ConnectionId;
use crate::services::credentials::{self, CredentialError};
use crate::state::AppState;
use crate::store::{self, ClaimedJob, Lease};
use crate::stripe::lists::StripeList;
use crate::stripe::{StripeError, LIST_PAGE_LIMIT};

/// How long a worker's lease lasts without a heartbeat (one per page), unless `SYNC_LEASE` says.
pub const LEASE_SECS: i64 = crate::config::DEFAULT_SYNC_LEASE_SECS;
/// Stripe keeps events this long.
pub const EVENTS_KEPT_SECS: i64 = 30 * 86_400;
/// An events cursor older than this (a day short of Stripe's window) calls for a full pass.
pub const EVENTS_USABLE_SECS: i64 = EVENTS_KEPT_SECS - 86_400;
/// Events are read again from this long before the cursor: an event may show in the list a little
/// after its `created` time, and a clock may be a little off. Applying one twice changes nothing.
pub const CURSOR_OVERLAP_SECS: i64 = 300;

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

/// The outcome of a failed read of `list`.
pub(super) fn failed(connection: ConnectionId, list: StripeList, e: &CredentialError) -> Outcome {
    if matches!(e, CredentialError::Gone) {
        return Outcome::Gone;
    }
    tracing::warn!(connection_id = %connection, table = list.name(), error = %e, "sync read failed");
    let (code, retry) = classify(e);
    if retry {
        Outcome::Transient(list, code)
    } else {
        Outcome::Failed(list, code)
    }
}

/// The outcome of a failed write for `list`.
pub(super) fn not_stored(
    connection: ConnectionId,
    list: StripeList,
    e: &store::StoreError,
) -> Outcome {
    tracing::warn!(connection_id = %connection, table = list.name(), error = %e, "storing sync data failed");
    Outcome::Transient(list, "storage_failed")
}

/// What one run works with.
pub(super) struct Run<'a> {
    pub app: &'a AppState,
    pub job: &'a ClaimedJob,
    pub owner: &'a str,
    pub options: SyncOptions,
    /// Requests per second toward Stripe for this connection.
    pub rate: f64,
    /// Pages read so far (for [`SyncOptions::max_pages`]).
    pub pages: usize,
}

impl Run<'_> {
    pub fn connection(&self) -> ConnectionId {
        self.job.connection_id
    }

    /// The lease, extended from now.
    pub fn lease(&self) -> Lease<'_> {
        let now = self.app.clock.now();
        Lease {
            job_id: self.job.id,
            owner: self.owner,
            now,
            until: now + self.app.settings.sync_lease_secs,
        }
    }

    /// Whether the page budget is spent (a crash is played).
    pub fn out_of_pages(&self) -> bool {
        self.options.max_pages.is_some_and(|max| self.pages >= max)
    }

    /// One read of Stripe with the connection's credential (renewed when it expired), at the
    /// connection's rate.
    pub async fn read<T, F, Fut>(&mut self, call: F) -> Result<T, CredentialError>
    where
        F: Fn(crate::stripe::StripeClient, Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, StripeError>>,
    {
        self.app
            .sync_limiter
            .acquire(self.connection(), self.rate)
            .await;
        self.pages += 1;
        let client = &self.app.stripe;
        credentials::call(self.app, self.connection(), |key| call(client.clone(), key))
            .await
            .and_then(|used| used.value.map_err(CredentialError::from))
    }
}
