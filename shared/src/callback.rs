//! How an OAuth round trip ended, as the callback tells the front end.

use serde::{Deserialize, Serialize};

use crate::CONNECTIONS_PAGE;

/// Details of a refused re-authentication, kept in the admin's session (never in a URL, so a crafted
/// link cannot put words in a banner) and read once by the Connections page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallbackNotice {
    /// The connection that was being re-authenticated.
    pub connection_id: i64,
    /// Its name.
    pub expected: String,
    /// The Stripe account the admin signed in to instead.
    pub other: String,
}

/// How an OAuth round trip ended, handed by the callback to the Connections page in its query
/// string (`?connected=<id>` on success, `?error=<code>` otherwise). Never carries a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackError {
    /// The admin refused access on Stripe's page.
    AccessDenied,
    /// `state` was missing, unknown, expired or already used.
    InvalidState,
    /// The callback's query string was malformed (no code, a bad code, duplicate fields…).
    InvalidRequest,
    /// Stripe refused to exchange the code (expired, used, foreign code, wrong key).
    ExchangeRefused,
    /// Stripe could not be reached, timed out, or answered with something we cannot read.
    StripeUnavailable,
    /// Stripe reported another error on its authorize page.
    StripeError,
    /// We could not save the connection.
    StorageFailed,
    /// The callback arrived in another session (or none) than the one that started the flow.
    SessionMismatch,
    /// A re-authentication signed in to a different Stripe account than the connection's.
    AccountMismatch,
    /// The Stripe account is already connected in another organization: nothing was changed.
    AccountElsewhere,
}

impl CallbackError {
    /// Every code.
    pub const ALL: [Self; 10] = [
        Self::AccessDenied,
        Self::InvalidState,
        Self::InvalidRequest,
        Self::ExchangeRefused,
        Self::StripeUnavailable,
        Self::StripeError,
        Self::StorageFailed,
        Self::SessionMismatch,
        Self::AccountMismatch,
        Self::AccountElsewhere,
    ];

    /// The code used in the query string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "access_denied",
            Self::InvalidState => "invalid_state",
            Self::InvalidRequest => "invalid_request",
            Self::ExchangeRefused => "exchange_refused",
            Self::StripeUnavailable => "stripe_unavailable",
            Self::StripeError => "stripe_error",
            Self::StorageFailed => "storage_failed",
            Self::SessionMismatch => "session_mismatch",
            Self::AccountMismatch => "account_mismatch",
            Self::AccountElsewhere => "account_elsewhere",
        }
    }

    /// Inverse of [`CallbackError::as_str`]; unknown codes give `None`.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == code)
    }
}

/// Where the callback sends the browser: the Connections page with the outcome in the query.
pub fn callback_redirect(outcome: Result<i64, CallbackError>) -> String {
    match outcome {
        Ok(id) => format!("{CONNECTIONS_PAGE}?connected={id}"),
        Err(e) => format!("{CONNECTIONS_PAGE}?error={}", e.as_str()),
    }
}
