//! Talking to Stripe: one HTTP client built once (timeouts, no redirects), one REST client for the
//! API on a connected account's behalf, and the three ways to connect an account behind one
//! interface (`flows`).

pub mod account;
pub mod client;
pub mod flows;
pub mod lists;

use std::time::Duration;

use oauth2::reqwest;

pub use client::{ListPage, RetryPolicy, StripeClient, LIST_PAGE_LIMIT};

/// Client timeouts: Stripe answers in well under a second; a stuck call must not hold a request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

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
    /// The API rejected the key (401): revoked, unknown, or expired (`api_key_expired`).
    #[error("Stripe rejected the key ({}): {message}", code.as_deref().unwrap_or("401"))]
    Unauthorized {
        /// Stripe's error code, when it sent one.
        code: Option<String>,
        /// Stripe's message.
        message: String,
    },
    /// The key may not do this (403): a restricted key without the permission.
    #[error("Stripe refused the permission ({}): {message}", permission.as_deref().unwrap_or("?"))]
    Forbidden {
        /// The permission Stripe says would allow it (`rak_coupon_read`).
        permission: Option<String>,
        /// The account Stripe names in its message.
        account: Option<String>,
        /// Stripe's message.
        message: String,
    },
    /// A 400 `resource_missing`: an id the request names no longer exists (a list's
    /// `starting_after` object was deleted meanwhile).
    #[error("Stripe has no such object: {0}")]
    Missing(String),
    /// Too many requests: a 429 (`rate_limit`, `lock_timeout`, …) or a 400 `rate_limit`. Back off
    /// and retry, unless Stripe said `Stripe-Should-Retry: false`.
    #[error("Stripe is rate limiting this account")]
    RateLimited {
        /// Stripe's `Stripe-Should-Retry` header, when it sent one.
        should_retry: Option<bool>,
        /// The limit it names (`Stripe-Rate-Limited-Reason`), when it names a known one.
        reason: Option<LimitReason>,
    },
    /// A 400 other than a missing object or a rate limit: Stripe refused the request's parameters
    /// (`param` names the one, when it says).
    #[error("Stripe refused the request: {message}")]
    InvalidRequest {
        param: Option<String>,
        message: String,
    },
    /// Stripe failed on its side (5xx): transient.
    #[error("Stripe answered {status}")]
    ServerError {
        /// The HTTP status.
        status: u16,
        /// Stripe's `Stripe-Should-Retry` header, when it sent one.
        should_retry: Option<bool>,
    },
    /// Stripe could not be reached or timed out.
    #[error("Stripe unreachable: {0}")]
    Unreachable(String),
    /// Stripe answered something we cannot use.
    #[error("unexpected answer from Stripe: {0}")]
    Malformed(String),
}

impl StripeError {
    /// A 401 for an access token past its lifetime: refresh once and retry.
    pub fn is_expired_key(&self) -> bool {
        matches!(self, Self::Unauthorized { code: Some(code), .. } if code == "api_key_expired")
    }

    /// Whether retrying the same request soon may help: rate limits, 5xx and timeouts, unless
    /// Stripe said `Stripe-Should-Retry: false`; anything Stripe says `true` to.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { should_retry, .. } | Self::ServerError { should_retry, .. } => {
                should_retry.unwrap_or(true)
            }
            Self::Unreachable(_) => true,
            _ => false,
        }
    }

    /// Stripe refused a grant for good (`invalid_grant`): used, expired, revoked, or rotated away.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Self::Refused { code, .. } if code == "invalid_grant")
    }
}

/// Which of Stripe's limiters refused a request (`Stripe-Rate-Limited-Reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReason {
    /// `global-rate`: the account's requests per second in total.
    GlobalRate,
    /// `global-concurrency`: the account's requests in flight.
    GlobalConcurrency,
    /// `endpoint-rate`: one endpoint's requests per second.
    EndpointRate,
    /// `endpoint-concurrency`: one endpoint's requests in flight.
    EndpointConcurrency,
    /// `resource-specific`: one object is contended.
    ResourceSpecific,
}

impl LimitReason {
    /// The header's value, parsed; `None` for one Stripe has not documented.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value.trim() {
            "global-rate" => Self::GlobalRate,
            "global-concurrency" => Self::GlobalConcurrency,
            "endpoint-rate" => Self::EndpointRate,
            "endpoint-concurrency" => Self::EndpointConcurrency,
            "resource-specific" => Self::ResourceSpecific,
            _ => return None,
        })
    }

    /// The limit is one endpoint's (or one object's), not the whole account's.
    pub fn is_endpoint(self) -> bool {
        matches!(
            self,
            Self::EndpointRate | Self::EndpointConcurrency | Self::ResourceSpecific
        )
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_codes_in_error_messages_are_redacted() {
        assert_eq!(
            redact_secrets("Invalid API Key provided: sk_test_abc."),
            "Invalid API Key provided: [redacted]"
        );
        assert_eq!(
            redact_secrets("Invalid API Key provided: sk_test_****abcd"),
            "Invalid API Key provided: sk_test_****abcd"
        );
        assert_eq!(
            redact_secrets("Authorization code does not exist: ac_123"),
            "Authorization code does not exist: [redacted]"
        );
        assert_eq!(
            redact_secrets("Invalid refresh token: rt_abc"),
            "Invalid refresh token: [redacted]"
        );
    }
}
