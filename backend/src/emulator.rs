//! The built-in *local Stripe emulator*: a stand-in for `connect.stripe.com` and `api.stripe.com`
//! that speaks Stripe's wire format (STRIPE.md) as strictly as Stripe does — single-use codes that
//! expire after 5 minutes, a second use of a code revokes the connection, Stripe's error JSON and
//! status codes, all three forms of secret-key authentication. Demo mode mounts it in the backend;
//! tests run it on its own socket. Its state lives in memory, as a remote service's would.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::json;
use tower_http::set_header::SetResponseHeaderLayer;
use url::Url;

/// How long an authorization code lives, as at Stripe.
pub const CODE_TTL_SECS: i64 = 5 * 60;

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
    /// The one registered Connect application.
    pub client_id: String,
    /// That platform's secret key.
    pub secret_key: String,
    /// Redirect URIs registered for the application (exact match, as at Stripe).
    pub redirect_uris: Vec<String>,
    /// Accounts that can sign in.
    pub accounts: Vec<DemoAccount>,
    /// Where to send webhook events, and the `whsec_…` to sign them with.
    pub webhook: Option<(String, String)>,
}

/// An endpoint faults can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /oauth/token`.
    Token,
    /// `GET /v1/account`.
    Account,
    /// `POST /oauth/deauthorize`.
    Deauthorize,
}

impl Endpoint {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "token" => Some(Self::Token),
            "account" => Some(Self::Account),
            "deauthorize" => Some(Self::Deauthorize),
            _ => None,
        }
    }
}

/// A fault to answer with instead of the real thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500 with Stripe's `api_error` body.
    ServerError,
    /// 200 with a body that is not valid JSON.
    Malformed,
    /// Answer normally, but only after this long.
    Slow(std::time::Duration),
}

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "demo-password";

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

#[derive(Debug)]
struct CodeGrant {
    account: String,
    scope: String,
    issued_at: i64,
    used: bool,
    access_tokens: Vec<String>,
}

#[derive(Debug)]
struct TokenGrant {
    account: String,
    revoked: bool,
}

#[derive(Debug, Default)]
struct EmulatorState {
    clock_offset: i64,
    codes: HashMap<String, CodeGrant>,
    access_tokens: HashMap<String, TokenGrant>,
    refresh_tokens: HashMap<String, String>,
    connected: HashSet<String>,
    token_requests: u64,
    faults: HashMap<Endpoint, Fault>,
}

/// A running emulator. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct Emulator {
    config: Arc<EmulatorConfig>,
    state: Arc<Mutex<EmulatorState>>,
}

type Reply = Response;

/// Why the emulator refuses a request, rendered exactly as Stripe renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An OAuth error: `{"error": code, "error_description": …}`.
    OAuth {
        /// HTTP status (400, or 401 for `invalid_client`).
        status: StatusCode,
        /// The OAuth error code.
        error: &'static str,
        /// The description.
        description: String,
    },
    /// The sign-in form got a wrong email or password.
    BadCredentials,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::OAuth {
                status,
                error,
                description,
            } => oauth_error(status, error, description),
            Self::BadCredentials => {
                (StatusCode::UNAUTHORIZED, "Invalid email or password.").into_response()
            }
        }
    }
}

fn refuse(status: StatusCode, error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal::OAuth {
        status,
        error,
        description: description.into(),
    }
}

fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Reply {
    (
        status,
        Json(json!({ "error": error, "error_description": description.into() })),
    )
        .into_response()
}

fn api_error(status: StatusCode, message: impl Into<String>) -> Reply {
    (
        status,
        Json(json!({ "error": { "type": "invalid_request_error", "message": message.into() } })),
    )
        .into_response()
}

/// Stripe masks keys in messages: prefix, stars, last four.
fn mask(key: &str) -> String {
    let prefix: String = key.chars().take(8).collect();
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{prefix}****{tail}")
}

fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

/// Parses a form or query string, refusing duplicate names (Stripe answers them with an error).
fn unique_pairs(raw: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(format!("Duplicate parameter: {k}"));
        }
    }
    Ok(out)
}

/// A form-encoded body, UTF-8 and without duplicate names.
fn form_body(body: &[u8]) -> Result<HashMap<String, String>, String> {
    std::str::from_utf8(body)
        .map_err(|e| e.to_string())
        .and_then(unique_pairs)
}

/// The key a request authenticates with: `Authorization: Bearer`, HTTP Basic (key as user name),
/// or `client_secret` in the form body, in Stripe's order of precedence.
fn presented_key(headers: &HeaderMap, form: &HashMap<String, String>) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(token) = value.strip_prefix("Bearer ") {
            return Some(token.trim().to_owned());
        }
        if let Some(encoded) = value.strip_prefix("Basic ") {
            let decoded = B64.decode(encoded.trim()).ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            return Some(decoded.split(':').next().unwrap_or_default().to_owned());
        }
        return None;
    }
    form.get("client_secret").cloned()
}

/// Authorize-request parameters after Stripe's checks.
#[derive(Debug, Clone)]
struct AuthorizeRequest {
    scope: String,
    redirect_uri: String,
    state: Option<String>,
}

impl Emulator {
    /// A fresh emulator.
    pub fn new(config: EmulatorConfig) -> Self {
        Self {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(EmulatorState::default())),
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
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        secs + self.lock().clock_offset
    }

    /// Moves the emulator's clock forward (tests of expiry).
    pub fn advance_clock(&self, secs: i64) {
        self.lock().clock_offset += secs;
    }

    /// Makes `endpoint` answer with `fault` (or normally again with `None`).
    pub fn inject(&self, endpoint: Endpoint, fault: Option<Fault>) {
        let mut state = self.lock();
        match fault {
            Some(f) => state.faults.insert(endpoint, f),
            None => state.faults.remove(&endpoint),
        };
    }

    /// Applies an injected fault: `Some(reply)` to send instead of the real answer.
    async fn fault(&self, endpoint: Endpoint) -> Option<Reply> {
        let fault = self.lock().faults.get(&endpoint).copied();
        match fault? {
            Fault::ServerError => Some(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "error": { "type": "api_error", "message": "An unknown error occurred" } })),
                )
                    .into_response(),
            ),
            Fault::Malformed => Some(
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"access_token\": \"sk_test_trunc",
                )
                    .into_response(),
            ),
            Fault::Slow(delay) => {
                tokio::time::sleep(delay).await;
                None
            }
        }
    }

    /// The user revokes our access in their Stripe dashboard: tokens die, and Stripe sends a signed
    /// `account.application.deauthorized` event to the platform's webhook endpoint.
    pub async fn revoke(&self, account: &str) -> Result<(), String> {
        {
            let mut state = self.lock();
            if !state.connected.remove(account) {
                return Err(format!("{account} is not connected to the application."));
            }
            for token in state.access_tokens.values_mut() {
                if token.account == account {
                    token.revoked = true;
                }
            }
            state.refresh_tokens.retain(|_, a| a != account);
        }
        let Some((url, secret)) = self.config.webhook.clone() else {
            return Ok(());
        };
        let now = self.now();
        let event = json!({
            "id": format!("evt_{}", random_token(24)),
            "object": "event",
            "type": "account.application.deauthorized",
            "account": account,
            "livemode": false,
            "created": now,
            "data": { "object": { "id": self.config.client_id, "object": "application" } },
        })
        .to_string();
        let signature = crate::webhook::header(&secret, now, event.as_bytes());
        let client = oauth2::reqwest::Client::new();
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .header("stripe-signature", signature)
            .body(event)
            .send()
            .await
            .map_err(|e| format!("webhook delivery failed: {}", e.without_url()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "the webhook endpoint answered {}",
                response.status()
            ))
        }
    }

    /// How many requests reached `POST /oauth/token`.
    pub fn token_requests(&self) -> u64 {
        self.lock().token_requests
    }

    /// Whether `account` is currently connected to the application.
    pub fn is_connected(&self, account: &str) -> bool {
        self.lock().connected.contains(account)
    }

    /// Signs `email` in and approves the request, as the person on the authorize page would;
    /// returns the URL Stripe redirects the browser to. Used by the HTML form and by tests.
    pub fn approve(&self, query: &str, email: &str, password: &str) -> Result<Url, Refusal> {
        let request = self.check_authorize(query)?;
        let account = self
            .config
            .accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email.trim()) && a.password == password)
            .ok_or(Refusal::BadCredentials)?;
        let code = format!("ac_{}", random_token(32));
        let now = self.now();
        self.lock().codes.insert(
            code.clone(),
            CodeGrant {
                account: account.id.clone(),
                scope: request.scope.clone(),
                issued_at: now,
                used: false,
                access_tokens: Vec::new(),
            },
        );
        Ok(redirect_with(
            &request,
            &[("code", &code), ("scope", &request.scope)],
        ))
    }

    /// The redirect for a person who clicks "Deny".
    pub fn deny(&self, query: &str) -> Result<Url, Refusal> {
        let request = self.check_authorize(query)?;
        Ok(redirect_with(
            &request,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied your request"),
            ],
        ))
    }

    /// Stripe's checks on an authorize request. Failures are shown as JSON, never redirected.
    fn check_authorize(&self, query: &str) -> Result<AuthorizeRequest, Refusal> {
        let bad = |error: &'static str, description: &str| {
            Err(refuse(StatusCode::BAD_REQUEST, error, description))
        };
        let params = match unique_pairs(query) {
            Ok(p) => p,
            Err(e) => return bad("invalid_request", &e),
        };
        match params.get("response_type").map(String::as_str) {
            Some("code") => {}
            Some(_) => return bad("unsupported_response_type", "Only 'code' is supported."),
            None => return bad("invalid_request", "No response_type provided."),
        }
        match params.get("client_id") {
            None => return bad("invalid_request", "No client_id provided."),
            Some(id) if *id != self.config.client_id => {
                return bad("invalid_request", &format!("No such application: '{id}'"))
            }
            Some(_) => {}
        }
        let scope = params
            .get("scope")
            .cloned()
            .unwrap_or_else(|| "read_only".into());
        if !matches!(scope.as_str(), "read_only" | "read_write") {
            return bad("invalid_scope", &format!("Invalid scope: {scope}"));
        }
        let redirect_uri = match params.get("redirect_uri") {
            Some(uri) if self.config.redirect_uris.contains(uri) => uri.clone(),
            Some(_) => {
                return bad(
                    "invalid_redirect_uri",
                    "Invalid redirect URI: it does not match one of the URIs registered for this application.",
                )
            }
            None => match self.config.redirect_uris.first() {
                Some(uri) => uri.clone(),
                None => return bad("invalid_redirect_uri", "No redirect URI registered."),
            },
        };
        Ok(AuthorizeRequest {
            scope,
            redirect_uri,
            state: params.get("state").cloned(),
        })
    }

    fn authenticate_platform(
        &self,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
    ) -> Result<(), Refusal> {
        match presented_key(headers, form) {
            None => Err(refuse(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "No authentication was provided. Send your secret API key using the Authorization header, or as a client_secret POST parameter.",
            )),
            Some(key) if key == self.config.secret_key => Ok(()),
            Some(key) => Err(refuse(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                format!("Invalid API Key provided: {}", mask(&key)),
            )),
        }
    }

    fn token(&self, headers: &HeaderMap, body: &[u8]) -> Reply {
        self.lock().token_requests += 1;
        let form = match form_body(body) {
            Ok(f) => f,
            Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", e),
        };
        if let Err(refusal) = self.authenticate_platform(headers, &form) {
            return refusal.into_response();
        }
        if let Some(id) = form.get("client_id") {
            if *id != self.config.client_id {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    format!("No such application: '{id}'"),
                );
            }
        }
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.exchange_code(&form),
            Some("refresh_token") => self.refresh(&form),
            Some(other) => oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("Unsupported grant type: {other}"),
            ),
            None => oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "No grant type specified",
            ),
        }
    }

    fn exchange_code(&self, form: &HashMap<String, String>) -> Reply {
        let Some(code) = form.get("code") else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "No authorization code provided",
            );
        };
        let now = self.now();
        let mut state = self.lock();
        let state = &mut *state;
        let Some(grant) = state.codes.get_mut(code) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                format!("Authorization code does not exist: {code}"),
            );
        };
        if grant.used {
            // As at Stripe: a second use of a code revokes the connection made with it.
            for token in &grant.access_tokens {
                if let Some(t) = state.access_tokens.get_mut(token) {
                    t.revoked = true;
                }
            }
            state
                .refresh_tokens
                .retain(|_, account| *account != grant.account);
            state.connected.remove(&grant.account);
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                format!("Authorization code already used: {code}"),
            );
        }
        if now - grant.issued_at >= CODE_TTL_SECS {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                format!("Authorization code expired: {code}"),
            );
        }
        grant.used = true;
        let access = format!("sk_test_emu{}", random_token(32));
        let refresh = format!("rt_{}", random_token(32));
        grant.access_tokens.push(access.clone());
        let account = grant.account.clone();
        let scope = grant.scope.clone();
        state.access_tokens.insert(
            access.clone(),
            TokenGrant {
                account: account.clone(),
                revoked: false,
            },
        );
        state
            .refresh_tokens
            .insert(refresh.clone(), account.clone());
        state.connected.insert(account.clone());
        token_response(&access, Some(&refresh), &account, &scope)
    }

    fn refresh(&self, form: &HashMap<String, String>) -> Reply {
        let Some(refresh) = form.get("refresh_token") else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "No refresh token provided",
            );
        };
        let mut state = self.lock();
        let Some(account) = state.refresh_tokens.get(refresh).cloned() else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                format!("Invalid refresh token: {}", mask(refresh)),
            );
        };
        let access = format!("sk_test_emu{}", random_token(32));
        state.access_tokens.insert(
            access.clone(),
            TokenGrant {
                account: account.clone(),
                revoked: false,
            },
        );
        let scope = form
            .get("scope")
            .cloned()
            .unwrap_or_else(|| "read_only".into());
        token_response(&access, Some(refresh), &account, &scope)
    }

    fn deauthorize(&self, headers: &HeaderMap, body: &[u8]) -> Reply {
        let form = match form_body(body) {
            Ok(f) => f,
            Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", e),
        };
        if let Err(refusal) = self.authenticate_platform(headers, &form) {
            return refusal.into_response();
        }
        let (Some(client_id), Some(account)) = (form.get("client_id"), form.get("stripe_user_id"))
        else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_id and stripe_user_id are required",
            );
        };
        if *client_id != self.config.client_id {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                format!("No such application: '{client_id}'"),
            );
        }
        let mut state = self.lock();
        if !state.connected.remove(account) {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                format!("This application is not connected to stripe account {account}, or that account does not exist."),
            );
        }
        for token in state.access_tokens.values_mut() {
            if token.account == *account {
                token.revoked = true;
            }
        }
        state.refresh_tokens.retain(|_, a| a != account);
        Json(json!({ "stripe_user_id": account })).into_response()
    }

    fn account(&self, headers: &HeaderMap) -> Reply {
        let Some(key) = presented_key(headers, &HashMap::new()) else {
            return api_error(
                StatusCode::UNAUTHORIZED,
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            );
        };
        let state = self.lock();
        let account_id = if key == self.config.secret_key {
            // The platform key may act for a connected account through `Stripe-Account`.
            match headers.get("stripe-account").and_then(|v| v.to_str().ok()) {
                Some(a) if state.connected.contains(a) => a.to_owned(),
                Some(a) => {
                    return api_error(
                        StatusCode::FORBIDDEN,
                        format!("The provided key '{}' does not have access to account '{a}' (or that account does not exist). Application access may have been revoked.", mask(&key)),
                    )
                }
                None => return api_error(StatusCode::BAD_REQUEST, "The emulator has no platform account object; pass Stripe-Account."),
            }
        } else {
            match state.access_tokens.get(&key) {
                Some(t) if !t.revoked => t.account.clone(),
                Some(t) => {
                    return api_error(
                        StatusCode::UNAUTHORIZED,
                        format!("The provided key '{}' does not have access to account '{}' (or that account does not exist). Application access may have been revoked.", mask(&key), t.account),
                    )
                }
                None => {
                    return api_error(
                        StatusCode::UNAUTHORIZED,
                        format!("Invalid API Key provided: {}", mask(&key)),
                    )
                }
            }
        };
        let Some(account) = self.config.accounts.iter().find(|a| a.id == account_id) else {
            return api_error(StatusCode::NOT_FOUND, "No such account");
        };
        Json(json!({
            "id": account.id,
            "object": "account",
            "business_profile": { "name": account.display_name, "url": null },
            "settings": { "dashboard": { "display_name": account.display_name, "timezone": "Etc/UTC" } },
            "email": account.email,
            "country": "US",
            "default_currency": "usd",
            "type": "standard",
            "charges_enabled": true,
            "payouts_enabled": true,
            "details_submitted": true,
        }))
        .into_response()
    }

    /// The emulator's routes, to be served at the base of `STRIPE_CONNECT_URL` and
    /// `STRIPE_API_URL`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(index_page))
            .route("/oauth/authorize", get(authorize_page))
            .route("/oauth/sign-in", get(sign_in_page).post(sign_in))
            .route("/oauth/deny", post(deny))
            .route("/oauth/token", post(token))
            .route("/oauth/deauthorize", post(deauthorize))
            .route("/v1/account", get(account))
            .route("/revoke", post(revoke))
            .route("/faults", post(set_fault))
            .with_state(self.clone())
            .layer(axum::middleware::from_fn(same_origin_forms))
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

/// A browser form post to the emulator (sign-in, deny, revoke, faults) must come from the emulator's
/// own pages: a foreign `Origin` is refused. Under `Referrer-Policy: no-referrer` browsers send
/// `Origin: null`, so then `Sec-Fetch-Site` decides. Server-to-server calls send neither.
async fn same_origin_forms(request: axum::extract::Request, next: axum::middleware::Next) -> Reply {
    if request.method() == axum::http::Method::POST {
        let headers = request.headers();
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let allowed = match origin {
            Some(o) if o != "null" => {
                o.strip_prefix("http://")
                    .or_else(|| o.strip_prefix("https://"))
                    == Some(host)
            }
            _ => matches!(fetch_site, None | Some("same-origin" | "none")),
        };
        if !allowed {
            return (StatusCode::FORBIDDEN, "Cross-site form refused.").into_response();
        }
    }
    next.run(request).await
}

fn redirect_with(request: &AuthorizeRequest, pairs: &[(&str, &str)]) -> Url {
    // The registered URI was checked by `check_authorize`; registered URIs are valid URLs.
    let mut url = Url::parse(&request.redirect_uri).unwrap_or_else(|_| {
        Url::parse("http://invalid.invalid/").unwrap_or_else(|_| unreachable!())
    });
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(state) = &request.state {
            q.append_pair("state", state);
        }
    }
    url
}

fn token_response(access: &str, refresh: Option<&str>, account: &str, scope: &str) -> Reply {
    Json(json!({
        "access_token": access,
        "scope": scope,
        "livemode": false,
        "token_type": "bearer",
        "refresh_token": refresh,
        "stripe_user_id": account,
        "stripe_publishable_key": format!("pk_test_emu{}", random_token(24)),
    }))
    .into_response()
}

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1a1f36}\
.emu{background:#fff4d6;border:1px solid #c98a00;padding:.5rem .75rem;border-radius:6px}\
button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #635bff;background:#635bff;color:#fff;cursor:pointer}\
button.secondary{background:#fff;color:#635bff}label{display:block;margin:.75rem 0 .25rem}\
input{font:inherit;width:100%;padding:.4rem;box-sizing:border-box}.error{color:#b00020}\
form.inline{display:inline;margin-left:.5rem}li{margin:.5rem 0}";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} — Local Stripe emulator</title><style>{PAGE_STYLE}</style></head><body>\
         <p class=\"emu\" role=\"note\"><strong>Local Stripe emulator</strong> — demo mode. \
         This page is not Stripe; nothing here touches a real Stripe account.</p>\
         <main>{body}</main></body></html>",
        title = html_escape(title),
    ))
}

async fn index_page(State(emu): State<Emulator>) -> Html<String> {
    let accounts: String = emu
        .config
        .accounts
        .iter()
        .map(|a| {
            format!(
                "<li>{name} — <code>{}</code> / <code>{}</code> \
                 <form method=\"post\" action=\"revoke\" class=\"inline\">\
                 <input type=\"hidden\" name=\"account\" value=\"{}\">\
                 <button type=\"submit\" class=\"secondary\">Revoke access for {name}</button></form></li>",
                html_escape(&a.email),
                html_escape(&a.password),
                html_escape(&a.id),
                name = html_escape(&a.display_name),
            )
        })
        .collect();
    page(
        "Local Stripe emulator",
        &format!(
            "<h1>Local Stripe emulator</h1><p>Demo accounts you can sign in with. \
                  <strong>Revoke access</strong> does what a user does in Stripe's dashboard: the \
                  application's tokens stop working and Stripe sends it a signed \
                  <code>account.application.deauthorized</code> webhook.</p><ul>{accounts}</ul>"
        ),
    )
}

async fn authorize_page(State(emu): State<Emulator>, RawQuery(query): RawQuery) -> Reply {
    let query = query.unwrap_or_default();
    if let Err(refusal) = emu.check_authorize(&query) {
        return refusal.into_response();
    }
    let q = html_escape(&query);
    page(
        "Connect your Stripe account",
        &format!(
            "<h1>Connect your Stripe account</h1>\
             <p>An application is requesting <strong>read-only</strong> access to your Stripe data.</p>\
             <form method=\"get\" action=\"sign-in\">{hidden}\
             <button type=\"submit\">Sign in with Stripe to Continue</button></form>\
             <form method=\"post\" action=\"deny?{q}\"><p><button class=\"secondary\" type=\"submit\">Deny access</button></p></form>",
            hidden = hidden_fields(&query),
        ),
    )
    .into_response()
}

fn hidden_fields(query: &str) -> String {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                html_escape(&k),
                html_escape(&v)
            )
        })
        .collect()
}

fn sign_in_form(query: &str, error: Option<&str>) -> Html<String> {
    let q = html_escape(query);
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", html_escape(e)))
        .unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "<h1>Sign in to your account</h1>{error}\
             <form method=\"post\" action=\"sign-in?{q}\">\
             <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <p><button type=\"submit\">Sign in to your account</button></p></form>\
             <form method=\"post\" action=\"deny?{q}\"><button class=\"secondary\" type=\"submit\">Deny access</button></form>"
        ),
    )
}

async fn sign_in_page(State(emu): State<Emulator>, RawQuery(query): RawQuery) -> Reply {
    let query = query.unwrap_or_default();
    match emu.check_authorize(&query) {
        Ok(_) => sign_in_form(&query, None).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn sign_in(State(emu): State<Emulator>, RawQuery(query): RawQuery, body: Bytes) -> Reply {
    let query = query.unwrap_or_default();
    let form = form_body(&body).unwrap_or_default();
    let email = form.get("email").map(String::as_str).unwrap_or_default();
    let password = form.get("password").map(String::as_str).unwrap_or_default();
    match emu.approve(&query, email, password) {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(Refusal::BadCredentials) => (
            StatusCode::UNAUTHORIZED,
            sign_in_form(&query, Some("Invalid email or password.")),
        )
            .into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn deny(State(emu): State<Emulator>, RawQuery(query): RawQuery) -> Reply {
    match emu.deny(&query.unwrap_or_default()) {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn token(State(emu): State<Emulator>, headers: HeaderMap, body: Bytes) -> Reply {
    if let Some(reply) = emu.fault(Endpoint::Token).await {
        emu.lock().token_requests += 1;
        return reply;
    }
    emu.token(&headers, &body)
}

async fn deauthorize(State(emu): State<Emulator>, headers: HeaderMap, body: Bytes) -> Reply {
    if let Some(reply) = emu.fault(Endpoint::Deauthorize).await {
        return reply;
    }
    emu.deauthorize(&headers, &body)
}

async fn account(State(emu): State<Emulator>, headers: HeaderMap) -> Reply {
    if let Some(reply) = emu.fault(Endpoint::Account).await {
        return reply;
    }
    emu.account(&headers)
}

async fn revoke(State(emu): State<Emulator>, body: Bytes) -> Reply {
    let form = form_body(&body).unwrap_or_default();
    let account = form.get("account").cloned().unwrap_or_default();
    let name = emu
        .config
        .accounts
        .iter()
        .find(|a| a.id == account)
        .map(|a| a.display_name.clone())
        .unwrap_or_else(|| account.clone());
    match emu.revoke(&account).await {
        Ok(()) => page(
            "Access revoked",
            &format!(
                "<h1>Access revoked</h1><p role=\"status\">The application can no longer read {}. \
                 Stripe notified it with an <code>account.application.deauthorized</code> event.</p>\
                 <p><a href=\"./\">Back to the emulator</a></p>",
                html_escape(&name)
            ),
        )
        .into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            page("Revoke failed", &format!("<h1>Revoke failed</h1><p role=\"alert\">{}</p>", html_escape(&e))),
        )
            .into_response(),
    }
}

/// `POST /faults` (`endpoint=token|account|deauthorize`, `fault=server_error|malformed|slow|none`).
async fn set_fault(State(emu): State<Emulator>, body: Bytes) -> Reply {
    let form = form_body(&body).unwrap_or_default();
    let endpoint = form.get("endpoint").and_then(|e| Endpoint::parse(e));
    let fault = match form.get("fault").map(String::as_str) {
        Some("server_error") => Some(Some(Fault::ServerError)),
        Some("malformed") => Some(Some(Fault::Malformed)),
        Some("slow") => Some(Some(Fault::Slow(std::time::Duration::from_secs(30)))),
        Some("none") => Some(None),
        _ => None,
    };
    match (endpoint, fault) {
        (Some(endpoint), Some(fault)) => {
            emu.inject(endpoint, fault);
            (StatusCode::OK, "fault set").into_response()
        }
        _ => (
            StatusCode::BAD_REQUEST,
            "endpoint=token|account|deauthorize and fault=server_error|malformed|slow|none",
        )
            .into_response(),
    }
}
