//! Classic Connect OAuth: the authorize checks, approval and denial, `POST /oauth/token` (code
//! exchange and refresh) and `POST /oauth/deauthorize`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;
use url::Url;

use super::wire::{
    bad_request, form_body, mask, presented_key, redirect_with, refuse, registered_redirect,
    token_response, unique_pairs, Refusal,
};
use super::{
    random_token, CodeGrant, Emulator, Endpoint, Flow, RefreshGrant, Reply, TokenGrant,
    CODE_TTL_SECS,
};

/// Authorize-request parameters after Stripe's checks.
#[derive(Debug, Clone)]
pub(super) struct AuthorizeRequest {
    pub(super) scope: String,
    pub(super) redirect_uri: Url,
    pub(super) state: Option<String>,
}

/// The description of a code presented at the other flow's token endpoint.
pub(super) const FOREIGN_CODE: &str = "Authorization code provided does not belong to you";

impl Emulator {
    /// Signs `email` in and approves the request, as the person on the authorize page would;
    /// returns the URL Stripe redirects the browser to. Used by the HTML form and by tests.
    pub fn approve(&self, query: &str, email: &str, password: &str) -> Result<Url, Refusal> {
        let request = self.check_authorize(query)?;
        let account = self.sign_in_account(email, password)?.id.clone();
        let code = self.issue_code(&account, &request.scope, Flow::Connect);
        Ok(redirect_with(
            &request.redirect_uri,
            request.state.as_deref(),
            &[("code", &code), ("scope", &request.scope)],
        ))
    }

    /// The redirect for a person who clicks "Deny".
    pub fn deny(&self, query: &str) -> Result<Url, Refusal> {
        let request = self.check_authorize(query)?;
        Ok(denied(&request.redirect_uri, request.state.as_deref()))
    }

    /// A fresh single-use code for `account`.
    pub(super) fn issue_code(&self, account: &str, scope: &str, flow: Flow) -> String {
        let code = format!("ac_{}", random_token(32));
        let now = self.now();
        let mut state = self.lock();
        let grant = state.new_grant();
        state.codes.insert(
            code.clone(),
            CodeGrant {
                account: account.to_owned(),
                scope: scope.to_owned(),
                flow,
                issued_at: now,
                used: false,
                grant,
            },
        );
        code
    }

    /// Stripe's checks on an authorize request. Failures are shown as JSON, never redirected.
    pub(super) fn check_authorize(&self, query: &str) -> Result<AuthorizeRequest, Refusal> {
        let params = unique_pairs(query).map_err(|e| bad_request("invalid_request", e))?;
        match params.get("response_type").map(String::as_str) {
            Some("code") => {}
            Some(_) => {
                return Err(bad_request(
                    "unsupported_response_type",
                    "Only 'code' is supported.",
                ))
            }
            None => return Err(bad_request("invalid_request", "No response_type provided.")),
        }
        self.check_client_id(&params)?;
        let scope = params
            .get("scope")
            .cloned()
            .unwrap_or_else(|| "read_only".into());
        if !matches!(scope.as_str(), "read_only" | "read_write") {
            return Err(bad_request(
                "invalid_scope",
                format!("Invalid scope: {scope}"),
            ));
        }
        let redirect_uri =
            registered_redirect(&self.config.redirect_uris, params.get("redirect_uri"))?;
        Ok(AuthorizeRequest {
            scope,
            redirect_uri,
            state: params.get("state").cloned(),
        })
    }

    /// The `client_id` of an authorize request: required, and ours.
    pub(super) fn check_client_id(&self, params: &HashMap<String, String>) -> Result<(), Refusal> {
        match params.get("client_id") {
            None => Err(bad_request("invalid_request", "No client_id provided.")),
            Some(id) if *id != self.config.client_id => Err(bad_request(
                "invalid_request",
                format!("No such application: '{id}'"),
            )),
            Some(_) => Ok(()),
        }
    }

    /// The platform secret key, from the header or (Connect only) `client_secret`.
    pub(super) fn authenticate_platform(&self, key: Option<String>) -> Result<(), Refusal> {
        match key {
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

    /// An optional `client_id` in a token request must be ours.
    pub(super) fn check_body_client_id(
        &self,
        form: &HashMap<String, String>,
    ) -> Result<(), Refusal> {
        match form.get("client_id") {
            Some(id) if *id != self.config.client_id => Err(refuse(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                format!("No such application: '{id}'"),
            )),
            _ => Ok(()),
        }
    }

    /// Counts a token request (and a refresh) before anything else can fail.
    pub(super) fn count_token_request(&self, body: &[u8]) {
        let refresh = form_body(body)
            .map(|f| f.get("grant_type").map(String::as_str) == Some("refresh_token"))
            .unwrap_or(false);
        let mut state = self.lock();
        state.token_requests += 1;
        if refresh {
            state.refresh_requests += 1;
        }
    }

    fn connect_token(&self, headers: &HeaderMap, body: &[u8]) -> Result<Reply, Refusal> {
        let form = form_body(body).map_err(|e| bad_request("invalid_request", e))?;
        self.authenticate_platform(presented_key(headers, &form))?;
        self.check_body_client_id(&form)?;
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.exchange_connect_code(&form),
            Some("refresh_token") => self.connect_refresh(&form),
            Some(other) => Err(bad_request(
                "unsupported_grant_type",
                format!("Unsupported grant type: {other}"),
            )),
            None => Err(bad_request("invalid_request", "No grant type specified")),
        }
    }

    /// Looks a code up for `flow`'s token endpoint and marks it used. A second use revokes what
    /// the code granted (through `on_reuse`), as at Stripe.
    pub(super) fn redeem_code(
        &self,
        form: &HashMap<String, String>,
        flow: Flow,
    ) -> Result<(String, String, u64), Refusal> {
        let code = form
            .get("code")
            .ok_or_else(|| bad_request("invalid_request", "No authorization code provided"))?;
        let now = self.now();
        let mut state = self.lock();
        let state = &mut *state;
        let grant = state.codes.get_mut(code).ok_or_else(|| {
            bad_request(
                "invalid_grant",
                format!("Authorization code does not exist: {code}"),
            )
        })?;
        if grant.flow != flow {
            return Err(bad_request("invalid_grant", FOREIGN_CODE));
        }
        if grant.used {
            let (account, id) = (grant.account.clone(), grant.grant);
            match flow {
                Flow::Connect => {
                    // A second use of a code revokes the connection made with it: the code's
                    // tokens and every Connect refresh token of the account.
                    for t in state.access_tokens.values_mut() {
                        if t.grant == id {
                            t.revoked = true;
                        }
                    }
                    state
                        .refresh_tokens
                        .retain(|_, r| !(r.flow == Flow::Connect && r.account == account));
                    state.connected.remove(&account);
                }
                Flow::Apps => {
                    state.revoke_where(|_, _, g| g == id);
                    if state.installs.get(&account) == Some(&id) {
                        state.installs.remove(&account);
                    }
                }
            }
            return Err(bad_request(
                "invalid_grant",
                format!("Authorization code already used: {code}"),
            ));
        }
        if now - grant.issued_at >= CODE_TTL_SECS {
            return Err(bad_request(
                "invalid_grant",
                format!("Authorization code expired: {code}"),
            ));
        }
        grant.used = true;
        Ok((grant.account.clone(), grant.scope.clone(), grant.grant))
    }

    /// Issues an access token for a grant.
    pub(super) fn issue_access(
        &self,
        account: &str,
        flow: Flow,
        grant: u64,
        expires_at: Option<i64>,
    ) -> String {
        let access = format!("sk_test_emu{}", random_token(32));
        self.lock().access_tokens.insert(
            access.clone(),
            TokenGrant {
                account: account.to_owned(),
                flow,
                grant,
                expires_at,
                revoked: false,
            },
        );
        access
    }

    /// Issues a refresh token for a grant.
    pub(super) fn issue_refresh(&self, account: &str, flow: Flow, grant: u64) -> String {
        let refresh = format!("rt_{}", random_token(32));
        self.lock().refresh_tokens.insert(
            refresh.clone(),
            RefreshGrant {
                account: account.to_owned(),
                flow,
                grant,
            },
        );
        refresh
    }

    fn exchange_connect_code(&self, form: &HashMap<String, String>) -> Result<Reply, Refusal> {
        let (account, scope, grant) = self.redeem_code(form, Flow::Connect)?;
        let access = self.issue_access(&account, Flow::Connect, grant, None);
        let refresh = self.issue_refresh(&account, Flow::Connect, grant);
        self.lock().connected.insert(account.clone());
        Ok(token_response(&access, &refresh, &account, &scope))
    }

    fn connect_refresh(&self, form: &HashMap<String, String>) -> Result<Reply, Refusal> {
        let refresh = form
            .get("refresh_token")
            .ok_or_else(|| bad_request("invalid_request", "No refresh token provided"))?;
        let found = self
            .lock()
            .refresh_tokens
            .get(refresh)
            .filter(|r| r.flow == Flow::Connect)
            .map(|r| (r.account.clone(), r.grant));
        let (account, grant) = found.ok_or_else(|| {
            bad_request(
                "invalid_grant",
                format!("Invalid refresh token: {}", mask(refresh)),
            )
        })?;
        // Classic refresh tokens do not rotate: the same one comes back.
        let access = self.issue_access(&account, Flow::Connect, grant, None);
        let scope = form
            .get("scope")
            .cloned()
            .unwrap_or_else(|| "read_only".into());
        Ok(token_response(&access, refresh, &account, &scope))
    }

    fn deauthorize(&self, headers: &HeaderMap, body: &[u8]) -> Result<Reply, Refusal> {
        let form = form_body(body).map_err(|e| bad_request("invalid_request", e))?;
        self.authenticate_platform(presented_key(headers, &form))?;
        let (Some(client_id), Some(account)) = (form.get("client_id"), form.get("stripe_user_id"))
        else {
            return Err(bad_request(
                "invalid_request",
                "client_id and stripe_user_id are required",
            ));
        };
        if *client_id != self.config.client_id {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                format!("No such application: '{client_id}'"),
            ));
        }
        let mut state = self.lock();
        if !state.connected.remove(account) {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                format!("This application is not connected to stripe account {account}, or that account does not exist."),
            ));
        }
        state.revoke_where(|a, f, _| f == Flow::Connect && a == account);
        Ok(Json(json!({ "stripe_user_id": account })).into_response())
    }
}

/// The redirect for a denied request.
pub(super) fn denied(redirect_uri: &Url, state: Option<&str>) -> Url {
    redirect_with(
        redirect_uri,
        state,
        &[
            ("error", "access_denied"),
            ("error_description", "The user denied your request"),
        ],
    )
}

/// `POST /oauth/token`.
pub(super) async fn token_handler(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    emu.count_token_request(&body);
    if let Some(reply) = emu.fault(Endpoint::Token).await {
        return reply;
    }
    emu.connect_token(&headers, &body)
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /oauth/deauthorize`.
pub(super) async fn deauthorize_handler(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    if let Some(reply) = emu.fault(Endpoint::Deauthorize).await {
        return reply;
    }
    emu.deauthorize(&headers, &body)
        .unwrap_or_else(IntoResponse::into_response)
}
