//! What a run of a sync job works with: its knobs, how it ends, the lease it holds, and one read of
//! Stripe at the connection's rate with its credential. Shared by the full and the events passes.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::limits::{Endpoint, Rates};
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

/// What one run works with (shared by the run's concurrent reads, which run as tasks of their own
/// so that none waits on another's turn to be polled).
pub(super) struct Run {
    pub app: AppState,
    pub job: ClaimedJob,
    pub owner: Arc<str>,
    pub options: SyncOptions,
    /// The connection's share of its account's allowance.
    pub rates: Rates,
    /// Pages read so far (for [`SyncOptions::max_pages`]).
    pages: AtomicUsize,
    /// Stripe's answer time, a moving average in microseconds (0: none yet).
    latency_micros: AtomicU64,
    /// Lists of a full pass not yet read to their end.
    pub lists_left: AtomicUsize,
}

/// The most ranges of one list read side by side.
const MAX_RANGES_PER_LIST: usize = 8;
/// Requests in flight per list, as a multiple of what covers the latency at the list's rate.
const IN_FLIGHT_HEADROOM: f64 = 1.6;
/// No account is allowed more than this many requests per second: what `SYNC_RATE_LIMIT` above it
/// (a lab setting) is worth when covering latency.
const STRIPE_MAX_RATE: f64 = 100.0;

impl Run {
    pub fn new(
        app: &AppState,
        job: &ClaimedJob,
        owner: &str,
        options: SyncOptions,
        rates: Rates,
    ) -> Self {
        Self {
            app: app.clone(),
            job: job.clone(),
            owner: Arc::from(owner),
            options,
            rates,
            pages: AtomicUsize::new(0),
            latency_micros: AtomicU64::new(0),
            lists_left: AtomicUsize::new(StripeList::ALL.len()),
        }
    }

    pub fn connection(&self) -> ConnectionId {
        self.job.connection_id
    }

    /// The lease, extended from now.
    pub fn lease(&self) -> Lease<'_> {
        let now = self.app.clock.now();
        Lease {
            job_id: self.job.id,
            owner: &self.owner,
            now,
            until: now + self.app.settings.sync_lease_secs,
        }
    }

    /// Takes one page of the budget; `false` when it is spent (a crash is played).
    pub fn take_page(&self) -> bool {
        match self.options.max_pages {
            None => true,
            Some(max) => self
                .pages
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    (n < max).then_some(n + 1)
                })
                .is_ok(),
        }
    }

    /// How many ranges of one list to read side by side: the connection's requests in flight that
    /// cover Stripe's answer time at its rate (Little's law, with headroom), shared by the lists
    /// still being read, each within its endpoint's rate. Every extra range costs a partial last
    /// page, so a list gets no more than its share (rounded).
    pub fn ranges_wanted(&self) -> usize {
        let latency = self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let lists = self.lists_left.load(Ordering::Relaxed).max(1) as f64;
        let total = self.rates.total.min(STRIPE_MAX_RATE);
        let endpoint = self.rates.endpoint.min(total);
        let share = (total / lists).min(endpoint);
        let wanted = (share * latency * IN_FLIGHT_HEADROOM).round();
        (wanted as usize).clamp(1, MAX_RANGES_PER_LIST)
    }

    fn observe(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let _ = self
            .latency_micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 {
                    micros
                } else {
                    (old * 4 + micros) / 5
                })
            });
    }

    /// One read of Stripe with the connection's credential (renewed when it expired): paced by
    /// the connection's rates, holding one of the process's requests in flight, retried on a rate
    /// limit, a 5xx or a timeout (unless `Stripe-Should-Retry: false`); a rate limit slows the
    /// dimension it names.
    pub async fn read<T, F, Fut>(&self, endpoint: Endpoint, call: F) -> Result<T, CredentialError>
    where
        F: Fn(crate::stripe::StripeClient, Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, StripeError>>,
    {
        let (app, connection) = (&self.app, self.connection());
        let policy = app.stripe.retry_policy();
        let mut retry = 0;
        loop {
            app.sync_limits
                .acquire(connection, endpoint, self.rates)
                .await;
            let answer = {
                let _slot = app.sync_requests.acquire().await;
                let started = std::time::Instant::now();
                let client = &app.stripe;
                let answer = credentials::call(app, connection, |key| call(client.clone(), key))
                    .await
                    .and_then(|used| used.value.map_err(CredentialError::from));
                self.observe(started.elapsed());
                answer
            };
            match answer {
                Err(CredentialError::Stripe(e)) if e.is_retryable() => {
                    if let StripeError::RateLimited { reason, .. } = &e {
                        app.sync_limits.refused(connection, endpoint, *reason);
                    }
                    if retry >= policy.max_retries {
                        return Err(CredentialError::Stripe(e));
                    }
                    let wait = policy.delay(retry);
                    tracing::info!(connection_id = %connection, ?endpoint, error = %e, retry = retry + 1, wait_ms = wait.as_millis() as u64, "Stripe read retried");
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                Err(CredentialError::Stripe(StripeError::RateLimited {
                    reason,
                    should_retry,
                })) => {
                    app.sync_limits.refused(connection, endpoint, reason);
                    return Err(CredentialError::Stripe(StripeError::RateLimited {
                        reason,
                        should_retry,
                    }));
                }
                other => return other,
            }
        }
    }
}
