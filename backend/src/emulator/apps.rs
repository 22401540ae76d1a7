//! Stripe Apps OAuth 2.0: the install link (`/oauth/v2/authorize`, or the External-test
//! `/oauth/v2/chnlink_…/authorize`), approval and denial, and `POST /v1/oauth/token` — codes only
//! from the install flow, one-hour access tokens, refresh tokens that rotate on every use.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use url::Url;

use super::connect::denied;
use super::wire::{
    bad_request, form_body, header_key, mask, redirect_with, refuse, registered_redirect,
    token_response, unique_pairs, Refusal,
};
use super::{random_token, Emulator, Endpoint, Flow, Reply};

/// The scope every Stripe Apps token carries.
const APPS_SCOPE: &str = "stripe_apps";

/// The permissions the app's manifest requests, as the install page shows them.
pub(super) const APP_PERMISSIONS: [(&str, &str); 7] = [
    ("customer_read", "Read customers"),
    ("charge_read", "Read charges"),
    ("coupon_read", "Read coupons"),
    ("invoice_read", "Read invoices"),
    ("plan_read", "Read products, prices and plans"),
    ("subscription_read", "Read subscriptions"),
    ("event_read", "Read events"),
];

/// Install-link parameters after Stripe's checks.
#[derive(Debug, Clone)]
pub(super) struct InstallRequest {
    redirect_uri: Url,
    state: Option<String>,
}

impl Emulator {
    /// Stripe's checks on an install-link request: unique parameters, our `client_id`, a
    /// registered `redirect_uri` (none: the first registered). No `response_type` or `scope` is
    /// needed (a `scope` is ignored). Failures are shown as JSON, never redirected.
    pub(super) fn check_install(&self, query: &str) -> Result<InstallRequest, Refusal> {
        let params = unique_pairs(query).map_err(|e| bad_request("invalid_request", e))?;
        self.check_client_id(&params)?;
        let redirect_uri =
            registered_redirect(&self.config.redirect_uris, params.get("redirect_uri"))?;
        Ok(InstallRequest {
            redirect_uri,
            state: params.get("state").cloned(),
        })
    }

    /// The External-test install link must be the configured one.
    pub(super) fn check_install_link(&self, link: &str) -> Result<(), Refusal> {
        if link == self.config.install_link {
            Ok(())
        } else {
            Err(refuse(
                StatusCode::NOT_FOUND,
                "invalid_request",
                "No such install link",
            ))
        }
    }

    /// Signs `email` in and installs the app, as the person on the install page would; returns
    /// the URL Stripe redirects the browser to (`code`, `state`, and the extra `user_id` and
    /// `account_id` Stripe may add).
    pub fn approve_install(
        &self,
        query: &str,
        email: &str,
        password: &str,
    ) -> Result<Url, Refusal> {
        let request = self.check_install(query)?;
        let account = self.sign_in_account(email, password)?.id.clone();
        let code = self.issue_code(&account, APPS_SCOPE, Flow::Apps);
        let user = format!("usr_{}", random_token(14));
        let mut pairs = vec![("code", code.as_str())];
        if let Some(state) = &request.state {
            pairs.push(("state", state));
        }
        pairs.push(("user_id", &user));
        pairs.push(("account_id", &account));
        Ok(redirect_with(&request.redirect_uri, None, &pairs))
    }

    /// The redirect for a person who clicks "Deny" on the install page.
    pub fn deny_install(&self, query: &str) -> Result<Url, Refusal> {
        let request = self.check_install(query)?;
        Ok(denied(&request.redirect_uri, request.state.as_deref()))
    }

    fn apps_token(&self, headers: &HeaderMap, body: &[u8]) -> Result<Reply, Refusal> {
        let form = form_body(body).map_err(|e| bad_request("invalid_request", e))?;
        // Only the header: HTTP Basic `sk_…:` or Bearer. A `client_secret` body is not auth here.
        match header_key(headers) {
            None => {
                return Err(refuse(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "No authentication was provided. Send your secret API key using HTTP Basic auth (the key as the user name) or a Bearer Authorization header.",
                ))
            }
            key => self.authenticate_platform(key)?,
        }
        self.check_body_client_id(&form)?;
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.exchange_install_code(&form),
            Some("refresh_token") => self.apps_refresh(&form),
            Some(other) => Err(bad_request(
                "unsupported_grant_type",
                format!("Unsupported grant type: {other}"),
            )),
            None => Err(bad_request("invalid_request", "No grant type specified")),
        }
    }

    fn access_expiry(&self) -> i64 {
        let ttl = i64::try_from(self.config.access_token_ttl_secs).unwrap_or(i64::MAX);
        self.now().saturating_add(ttl)
    }

    fn exchange_install_code(&self, form: &HashMap<String, String>) -> Result<Reply, Refusal> {
        let (account, scope, grant) = self.redeem_code(form, Flow::Apps)?;
        {
            // One install per account and app: a new install replaces the previous one's tokens.
            let mut state = self.lock();
            state.revoke_where(|a, f, g| f == Flow::Apps && a == account && g != grant);
            state.installs.insert(account.clone(), grant);
        }
        let access = self.issue_access(&account, Flow::Apps, grant, Some(self.access_expiry()));
        let refresh = self.issue_refresh(&account, Flow::Apps, grant);
        Ok(token_response(&access, &refresh, &account, &scope))
    }

    fn apps_refresh(&self, form: &HashMap<String, String>) -> Result<Reply, Refusal> {
        let presented = form
            .get("refresh_token")
            .ok_or_else(|| bad_request("invalid_request", "No refresh token provided"))?;
        // Rotation: the presented refresh token dies at once, whatever happens next.
        let found = {
            let mut state = self.lock();
            match state.refresh_tokens.get(presented) {
                Some(r) if r.flow == Flow::Apps => state.refresh_tokens.remove(presented),
                _ => None,
            }
        };
        let found = found.ok_or_else(|| {
            bad_request(
                "invalid_grant",
                format!("Invalid refresh token: {}", mask(presented)),
            )
        })?;
        let access = self.issue_access(
            &found.account,
            Flow::Apps,
            found.grant,
            Some(self.access_expiry()),
        );
        let refresh = self.issue_refresh(&found.account, Flow::Apps, found.grant);
        Ok(token_response(
            &access,
            &refresh,
            &found.account,
            APPS_SCOPE,
        ))
    }
}

/// `POST /v1/oauth/token`.
pub(super) async fn token_handler(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    emu.count_token_request(&body);
    if let Some(reply) = emu.fault(Endpoint::Token).await {
        return reply;
    }
    emu.apps_token(&headers, &body)
        .unwrap_or_else(IntoResponse::into_response)
}
