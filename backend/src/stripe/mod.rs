//! Talking to Stripe: classic Connect OAuth (authorize URL, code exchange, deauthorize) and the REST
//! API on a connected account's behalf. One HTTP client, built once, with timeouts and no redirects.

pub mod account;
pub mod oauth;

use std::time::Duration;

use oauth2::reqwest;
use url::Url;

use crate::config::Secret;

/// Client timeouts: Stripe answers in well under a second; a stuck call must not hold a request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Where Stripe lives and the platform's credentials.
#[derive(Debug, Clone)]
pub struct StripeEndpoints {
    /// Connect client id (`ca_…`).
    pub client_id: String,
    /// Platform secret key.
    pub secret_key: Secret,
    /// Base of the authorize page as the browser reaches it.
    pub browser_connect_url: Url,
    /// Base of `/oauth/token` and `/oauth/deauthorize` as this server reaches them.
    pub connect_url: Url,
    /// Base of the REST API as this server reaches it.
    pub api_url: Url,
}

/// Builds the HTTP client every call to Stripe goes through: redirects off (SSRF), timeouts set.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    http_client_with_timeout(REQUEST_TIMEOUT)
}

/// The same client with another overall timeout (tests of slow answers).
pub fn http_client_with_timeout(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(concat!("connections-backend/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Why a call to Stripe failed, without any secret in it.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe refused with an OAuth error (`invalid_grant`, `invalid_client`, …).
    #[error("Stripe refused: {code}: {description}")]
    Refused {
        /// The OAuth error code.
        code: String,
        /// Stripe's description.
        description: String,
    },
    /// The API rejected the access token (401/403): the connection needs re-authentication.
    #[error("Stripe rejected the access token ({status}): {message}")]
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// Stripe's message.
        message: String,
    },
    /// Stripe could not be reached or timed out.
    #[error("Stripe unreachable: {0}")]
    Unreachable(String),
    /// Stripe answered something we cannot use.
    #[error("unexpected answer from Stripe: {0}")]
    Malformed(String),
}

impl From<reqwest::Error> for StripeError {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's Display includes the URL, which never carries a secret here (secrets go in
        // headers or bodies), but strip it anyway so log lines stay short and safe.
        Self::Unreachable(e.without_url().to_string())
    }
}

/// Stripe's messages quote keys (masked) and codes (not masked); mask anything that still looks like
/// a secret before it reaches a log line.
pub fn redact_secrets(message: &str) -> String {
    message
        .split(' ')
        .map(|word| {
            let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            if ["sk_", "rk_", "rt_", "ac_"]
                .iter()
                .any(|p| w.starts_with(p))
                && !w.contains('*')
            {
                "[redacted]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
