//! What every handler shares, in parts that extractors can take alone (`FromRef`). Kept apart from
//! the router and start-up so nothing imports back into them.

use std::sync::Arc;

use crate::store::Db;
use axum::extract::FromRef;

use crate::client_ip::TrustedProxies;
use crate::clock::Clock;
use crate::config::Secret;
use crate::crypto::TokenCipher;
use crate::metrics::Metrics;
use crate::stripe::flows::Flows;
use crate::stripe::StripeClient;
use crate::sync::limits::Limits;
use crate::sync::writer::Writer;

/// Facts about this server fixed at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The emulator stands in for Stripe.
    pub demo_mode: bool,
    /// Our origin (`scheme://host[:port]` of `PUBLIC_URL`): the only one allowed to change state.
    pub public_origin: String,
    /// Seconds between background connection tests.
    pub health_interval_secs: i64,
    /// When each connection's sync comes due.
    pub sync_schedule: crate::store::SyncSchedule,
    /// Seconds a sync job's lease lasts without a heartbeat (`SYNC_LEASE`).
    pub sync_lease_secs: i64,
    /// Requests per second a sync makes per connection (`SYNC_RATE_LIMIT`); `None` → 20 in test
    /// mode, 80 in live mode.
    pub sync_rate_limit: Option<f64>,
    /// Sync jobs this instance runs side by side (`SYNC_MAX_JOBS`).
    pub sync_max_jobs: usize,
    /// Where an account owner makes a restricted key.
    pub restricted_key_url: String,
    /// This process, as the holder of leases in the shared database.
    pub instance_id: String,
    /// The reverse proxies whose forwarding headers name the client (`TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
    /// The bearer token `GET /metrics` asks for (`METRICS_TOKEN`); `None` → no such route (404).
    pub metrics_token: Option<Secret>,
}

impl Settings {
    /// Our cookies are `Secure` when the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_origin.starts_with("https://")
    }
}

/// What every handler shares.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    /// The database.
    pub pool: Db,
    /// Seals and opens credentials at rest.
    pub cipher: Arc<TokenCipher>,
    /// The one Stripe REST client (and its HTTP client).
    pub stripe: StripeClient,
    /// The ways to connect.
    pub flows: Arc<Flows>,
    /// The time.
    pub clock: Clock,
    /// Start-up facts.
    pub settings: Arc<Settings>,
    /// Accepted webhook signing secrets; empty → webhooks refused.
    pub webhook_secrets: Arc<Vec<Secret>>,
    /// The Data Sources answer last built, with the connections table's version it was built at
    /// (read from the database on every request: never served past a change).
    pub connections_answer: Arc<std::sync::Mutex<Option<(i64, axum::body::Bytes)>>>,
    /// The sync's per-connection pace toward Stripe (this process only).
    pub sync_limits: Limits,
    /// The process's requests in flight to Stripe for syncs (`SYNC_MAX_IN_FLIGHT` permits).
    pub sync_requests: Arc<tokio::sync::Semaphore>,
    /// Where full passes' pages are written.
    pub sync_writer: Writer,
    /// Wakes the sync scheduler: a job was queued in this process.
    pub sync_wake: Arc<tokio::sync::Notify>,
    /// Wakes the webhook applier: a data event was queued in this process.
    #[from_ref(skip)]
    pub webhook_wake: Arc<tokio::sync::Notify>,
    /// This process's Prometheus counters (`GET /metrics`); the Stripe client holds a clone.
    pub metrics: Metrics,
}

impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.settings.trusted_proxies.clone()
    }
}

impl AppState {
    /// The HTTP client every call to Stripe goes through.
    pub fn http(&self) -> &oauth2::reqwest::Client {
        self.stripe.http()
    }
}

/// Where an account owner makes a restricted key in Stripe's Dashboard.
pub fn stripe_key_page(livemode: bool) -> &'static str {
    if livemode {
        "https://dashboard.stripe.com/apikeys/create"
    } else {
        "https://dashboard.stripe.com/test/apikeys/create"
    }
}

/// A random id for this process (lease owner).
pub fn new_instance_id() -> String {
    use rand::Rng;
    hex::encode(rand::thread_rng().gen::<[u8; 8]>())
}
