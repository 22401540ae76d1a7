//! The built-in *local Stripe emulator*: a stand-in for `connect.stripe.com`,
//! `marketplace.stripe.com` and `api.stripe.com` that speaks Stripe's wire format (STRIPE.md) as
//! strictly as Stripe does — single-use codes that expire after 5 minutes, a second use of a code
//! revokes what it granted, Stripe's error JSON and status codes, secret-key, access-token and
//! restricted-key authentication. Demo mode mounts it in the backend; tests run it on its own
//! socket. Its state lives in memory, as a remote service's would.
//!
//! One file per concern: [`connect`] (classic Connect OAuth), [`apps`] (Stripe Apps OAuth 2.0),
//! [`api`] (the `/v1/*` reads), [`pages`] (HTML), [`faults`], [`webhooks`], [`wire`] (parsing and
//! Stripe's shapes) and [`fixtures`] (the sample data).

mod api;
mod apps;
mod children;
mod connect;
mod data;
mod demo_changes;
mod faults;
mod fixtures;
mod frame;
mod pages;
mod webhooks;
mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rand::distributions::Alphanumeric;
use rand::Rng;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::clock::Clock;

pub use api::RESTRICTED_KEY_PERMISSIONS;
pub use data::ChangeKind;
pub use faults::{Endpoint, Fault};
pub use wire::Refusal;

/// How long an authorization code lives, as at Stripe.
pub const CODE_TTL_SECS: i64 = 5 * 60;

/// How long a Stripe Apps access token lives by default, as at Stripe.
pub const DEFAULT_ACCESS_TOKEN_TTL_SECS: u64 = 3600;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "demo-password";

/// A Stripe account a person can sign in to on the emulator's page.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    /// `acct_…`.
    pub id: String,
    /// Sign-in email.
    pub email: String,
    /// Sign-in password.
    pub password: String,
    /// The dashboard display name.
    pub display_name: String,
}

/// The emulator's fixed settings.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The one registered application (Connect client id, also the Stripe App's client id).
    pub client_id: String,
    /// That platform's secret key.
    pub secret_key: String,
    /// Redirect URIs registered for the application (exact match, as at Stripe).
    pub redirect_uris: Vec<String>,
    /// Accounts that can sign in.
    pub accounts: Vec<DemoAccount>,
    /// Where to send webhook events, and the `whsec_…` to sign them with.
    pub webhook: Option<(String, String)>,
    /// The Stripe App's External-test install link id (`chnlink_…`), served at
    /// `/oauth/v2/{install_link}/authorize`.
    pub install_link: String,
    /// How long a Stripe Apps access token lives, on the emulator's clock.
    pub access_token_ttl_secs: u64,
}

impl EmulatorConfig {
    /// A configuration with a fresh random platform secret and the two demo accounts.
    pub fn demo(redirect_uri: &str) -> Self {
        Self {
            client_id: format!("ca_emulator{}", random_token(16)),
            secret_key: format!("sk_test_emulator{}", random_token(24)),
            redirect_uris: vec![redirect_uri.to_owned()],
            accounts: vec![
                DemoAccount {
                    id: "acct_1DemoAcmeCorp0001".into(),
                    email: "demo@example.com".into(),
                    password: DEMO_PASSWORD.into(),
                    display_name: "Acme Corp".into(),
                },
                DemoAccount {
                    id: "acct_1DemoGlobexLtd002".into(),
                    email: "globex@example.com".into(),
                    password: DEMO_PASSWORD.into(),
                    display_name: "Globex Ltd".into(),
                },
            ],
            webhook: None,
            install_link: format!("chnlink_emulator{}", random_token(16)),
            access_token_ttl_secs: DEFAULT_ACCESS_TOKEN_TTL_SECS,
        }
    }
}

fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Which OAuth flow issued a code or a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Classic Connect OAuth (`/oauth/authorize`, `/oauth/token`).
    Connect,
    /// Stripe Apps OAuth 2.0 (`/oauth/v2/authorize`, `/v1/oauth/token`).
    Apps,
}

#[derive(Debug)]
struct CodeGrant {
    account: String,
    scope: String,
    flow: Flow,
    issued_at: i64,
    used: bool,
    /// Tokens issued from this code (and from refresh tokens descending from it) carry this id.
    grant: u64,
}

#[derive(Debug)]
struct TokenGrant {
    account: String,
    flow: Flow,
    grant: u64,
    /// `None`: never expires (classic Connect).
    expires_at: Option<i64>,
    revoked: bool,
}

#[derive(Debug)]
struct RefreshGrant {
    account: String,
    flow: Flow,
    grant: u64,
}

#[derive(Debug)]
struct RestrictedKey {
    account: String,
    permissions: Vec<&'static str>,
}

#[derive(Debug, Default)]
struct EmulatorState {
    next_grant: u64,
    codes: HashMap<String, CodeGrant>,
    access_tokens: HashMap<String, TokenGrant>,
    refresh_tokens: HashMap<String, RefreshGrant>,
    /// Accounts connected through classic Connect.
    connected: HashSet<String>,
    /// The current Stripe Apps install of each account (its grant id).
    installs: HashMap<String, u64>,
    restricted_keys: HashMap<String, RestrictedKey>,
    token_requests: u64,
    refresh_requests: u64,
    faults: HashMap<Endpoint, Fault>,
    /// Answers left before an injected fault clears itself (absent: until removed).
    fault_budget: HashMap<Endpoint, u32>,
    /// Accounts whose data changed, as they are now.
    data: HashMap<String, data::AccountData>,
}

impl EmulatorState {
    fn new_grant(&mut self) -> u64 {
        self.next_grant += 1;
        self.next_grant
    }

    /// Kills every access and refresh token matching `pred` (access tokens stay known, so a
    /// later call says "revoked" rather than "invalid").
    fn revoke_where(&mut self, pred: impl Fn(&str, Flow, u64) -> bool) {
        for t in self.access_tokens.values_mut() {
            if pred(&t.account, t.flow, t.grant) {
                t.revoked = true;
            }
        }
        self.refresh_tokens
            .retain(|_, r| !pred(&r.account, r.flow, r.grant));
    }

    fn is_connected(&self, account: &str) -> bool {
        self.connected.contains(account) || self.installs.contains_key(account)
    }
}

/// A running emulator. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct Emulator {
    config: Arc<EmulatorConfig>,
    state: Arc<Mutex<EmulatorState>>,
    clock: Clock,
}

type Reply = Response;

impl Emulator {
    /// A fresh emulator with its own clock.
    pub fn new(config: EmulatorConfig) -> Self {
        Self::with_clock(config, Clock::default())
    }

    /// A fresh emulator on a given clock (shared with the app under test, say).
    pub fn with_clock(config: EmulatorConfig, clock: Clock) -> Self {
        Self {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(EmulatorState::default())),
            clock,
        }
    }

    /// Its settings (tests and demo mode read the platform credentials from here).
    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, EmulatorState> {
        // A panic while holding the lock leaves consistent data (every change is one insert).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Moves the emulator's clock forward (tests of expiry). Clones of a shared clock move too.
    pub fn advance_clock(&self, secs: i64) {
        self.clock.advance(secs);
    }

    /// How many requests reached either token endpoint (`POST /oauth/token`,
    /// `POST /v1/oauth/token`).
    pub fn token_requests(&self) -> u64 {
        self.lock().token_requests
    }

    /// How many of those asked for `grant_type=refresh_token`.
    pub fn refresh_requests(&self) -> u64 {
        self.lock().refresh_requests
    }

    /// Whether `account` is currently connected to the application (Connect or an Apps install).
    pub fn is_connected(&self, account: &str) -> bool {
        self.lock().is_connected(account)
    }

    fn demo_account(&self, id: &str) -> Option<&DemoAccount> {
        self.config.accounts.iter().find(|a| a.id == id)
    }

    fn sign_in_account(&self, email: &str, password: &str) -> Result<&DemoAccount, Refusal> {
        self.config
            .accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email.trim()) && a.password == password)
            .ok_or(Refusal::BadCredentials)
    }

    /// The emulator's routes on a socket of its own, to be served at the base of
    /// `STRIPE_CONNECT_URL` and `STRIPE_API_URL`: its pages' forms must come from the address
    /// they were asked at (`Host`).
    pub fn router(&self) -> Router {
        self.router_at(None)
    }

    /// The emulator's routes, mounted in the product at `public_origin` (`PUBLIC_URL`'s origin):
    /// its pages' forms must come from that origin, the one the browser sees, whatever a proxy
    /// (`trunk serve`, a reverse proxy) made of `Host` on the way. `None`: [`Emulator::router`].
    pub fn router_at(&self, public_origin: Option<&str>) -> Router {
        let ours: Option<Arc<str>> = public_origin.map(Arc::from);
        use pages::Page;
        Router::new()
            .route("/", get(pages::index_page))
            .route("/oauth/authorize", get(pages::connect_authorize_page))
            .route(
                "/oauth/sign-in",
                get(|s, h, q| pages::sign_in_page(Page::Connect, s, h, q))
                    .post(|s, h, q, b| pages::sign_in(Page::Connect, s, h, q, b)),
            )
            .route("/oauth/deny", post(|s, q| pages::deny(Page::Connect, s, q)))
            .route("/oauth/token", post(connect::token_handler))
            .route("/oauth/deauthorize", post(connect::deauthorize_handler))
            .route("/oauth/v2/authorize", get(pages::apps_authorize_page))
            .route(
                "/oauth/v2/{link}/authorize",
                get(pages::apps_link_authorize_page),
            )
            .route(
                "/oauth/v2/sign-in",
                get(|s, h, q| pages::sign_in_page(Page::Apps, s, h, q))
                    .post(|s, h, q, b| pages::sign_in(Page::Apps, s, h, q, b)),
            )
            .route("/oauth/v2/deny", post(|s, q| pages::deny(Page::Apps, s, q)))
            .route("/v1/oauth/token", post(apps::token_handler))
            .route("/v1/account", get(api::account_handler))
            .route(
                "/v1/invoices/{id}/lines",
                get(children::invoice_lines_handler),
            )
            .route(
                "/v1/subscription_items",
                get(children::subscription_items_handler),
            )
            .route("/v1/{list}", get(api::list_handler))
            .route("/v1/{list}/{id}", get(api::retrieve_handler))
            .route("/revoke", post(pages::revoke))
            .route("/demo-changes", post(demo_changes::make))
            .route("/restricted-keys", post(pages::create_restricted_key))
            .route("/faults", post(faults::set_fault))
            .fallback(not_found)
            .with_state(self.clone())
            .layer(axum::middleware::from_fn_with_state(ours, same_origin_forms))
            // Its pages use an inline stylesheet and post forms whose answer redirects to the
            // product, so it has its own policy (no form-action limit).
            .layer(SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
                ),
            ))
    }
}

/// Unknown paths: Stripe's JSON under `/v1/`, a plain 404 elsewhere.
async fn not_found(uri: axum::http::Uri, method: axum::http::Method) -> Reply {
    if uri.path().starts_with("/v1/") {
        wire::api_error(
            StatusCode::NOT_FOUND,
            format!("Unrecognized request URL ({method}: {}).", uri.path()),
        )
    } else {
        (StatusCode::NOT_FOUND, "Not found").into_response()
    }
}

/// A browser form post to the emulator (sign-in, deny, revoke, keys, faults) must come from the
/// emulator's own pages: an `Origin` other than `ours` (the product's public origin when mounted
/// in it; else the address asked, `Host`) is refused with the emulator's own page. Under
/// `Referrer-Policy: no-referrer` browsers send `Origin: null`, so then `Sec-Fetch-Site` decides.
/// Server-to-server calls send neither.
async fn same_origin_forms(
    State(ours): State<Option<Arc<str>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Reply {
    if request.method() == axum::http::Method::POST {
        let headers = request.headers();
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let allowed = match origin {
            Some(o) if o != "null" => match ours.as_deref() {
                Some(ours) => o == ours,
                None => {
                    let host = headers
                        .get(header::HOST)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    o.strip_prefix("http://")
                        .or_else(|| o.strip_prefix("https://"))
                        == Some(host)
                }
            },
            _ => matches!(fetch_site, None | Some("same-origin" | "none")),
        };
        if !allowed {
            tracing::warn!(origin = origin.unwrap_or_default(), path = %request.uri().path(), "emulator form from another site refused");
            return frame::form_refused(headers);
        }
    }
    next.run(request).await
}
