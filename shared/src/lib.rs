//! Types both sides of the Connections product speak: API bodies, statuses, the error body and the
//! outcome codes the OAuth callback hands to the front end. Plain serde only, so it compiles to wasm.

use serde::{Deserialize, Serialize};

/// Path of the SPA page the OAuth callback sends the browser back to.
pub const CONNECTIONS_PAGE: &str = "/admin/connections";

/// The kind of integration behind a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    /// A Stripe account connected through Stripe Connect OAuth.
    Stripe,
}

/// Health of a connection as the Data Sources table shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// The last connection test succeeded.
    Success,
    /// Stripe refused the stored token; an admin must connect again.
    NeedsReauth,
    /// The last test failed for a reason that may pass (timeout, 5xx, malformed answer).
    Error,
    /// A connection test is running.
    Testing,
}

impl ConnectionStatus {
    /// Stable wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::NeedsReauth => "needs_reauth",
            Self::Error => "error",
            Self::Testing => "testing",
        }
    }

    /// Inverse of [`ConnectionStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Success, Self::NeedsReauth, Self::Error, Self::Testing]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// One row of the Data Sources table. Never carries a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Our id; stays the same across re-authentication.
    pub id: i64,
    /// What the admin sees in the Name column: the Stripe account's display name.
    pub name: String,
    /// The integration type (the Connection column).
    pub kind: IntegrationKind,
    /// The connected Stripe account (`acct_…`).
    pub account_id: String,
    /// Whether the connection reads live data (false: test mode).
    pub livemode: bool,
    /// The Status column.
    pub status: ConnectionStatus,
    /// When the last connection to the account started (Unix seconds).
    pub last_started_at: Option<i64>,
    /// How long that connection took, in milliseconds.
    pub last_duration_ms: Option<i64>,
    /// When the data source was first connected (Unix seconds).
    pub created_at: i64,
    /// Why the last connection test failed, in words an admin reads.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// One line of a connection's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Who: a user's email, `system` (background checks) or `Stripe` (webhooks).
    pub actor: String,
    /// What: `connected`, `re-authenticated`, `tested`, `deleted`, `access revoked`, …
    pub action: String,
    /// Details (outcome of a test, reason of a failure).
    pub detail: String,
    /// When (Unix seconds).
    pub created_at: i64,
}

/// Answer of `GET /api/connections/{id}`: the row and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionDetail {
    /// The connection.
    pub connection: Connection,
    /// Newest first.
    pub audit: Vec<AuditEntry>,
}

/// Answer of `POST /api/connections/stripe/authorize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeResponse {
    /// Where to send the browser: Stripe's (or the emulator's) authorize page.
    pub authorize_url: String,
}

/// Answer of `GET /api/meta`: facts about this server the UI shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// True when the built-in Stripe emulator stands in for Stripe.
    pub demo_mode: bool,
}

/// What a user may do. Integrations and user management are Admin-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including Connections and Users.
    Admin,
    /// Reports, no administration.
    Standard,
    /// Read reports only.
    ReadOnly,
}

impl Role {
    /// All roles, most powerful first.
    pub const ALL: [Self; 3] = [Self::Admin, Self::Standard, Self::ReadOnly];

    /// Stable wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Standard => "standard",
            Self::ReadOnly => "read_only",
        }
    }

    /// Parses the wire name, or the command-line spelling (`read-only`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Sign-in email (unique, case-insensitive).
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// A disabled user cannot sign in.
    pub disabled: bool,
    /// When the user was created (Unix seconds).
    pub created_at: i64,
    /// Last successful sign-in (Unix seconds).
    pub last_sign_in_at: Option<i64>,
}

/// Body of `POST /api/auth/sign-in`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRequest {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Body of `POST /api/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUserRequest {
    /// Email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// A password the admin sets; `None` generates a one-time password.
    #[serde(default)]
    pub password: Option<String>,
}

/// Answer of `POST /api/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUserResponse {
    /// The new user.
    pub user: User,
    /// The generated password, shown once, when none was given.
    pub one_time_password: Option<String>,
}

/// Body of `PATCH /api/users/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateUserRequest {
    /// New role.
    #[serde(default)]
    pub role: Option<Role>,
    /// Disable or re-enable.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// Machine-readable error kinds of the JSON API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request was malformed.
    BadRequest,
    /// Not signed in.
    Unauthorized,
    /// Signed in without the needed role.
    Forbidden,
    /// No such resource.
    NotFound,
    /// Too many attempts.
    RateLimited,
    /// Stripe could not be reached or answered badly.
    UpstreamFailed,
    /// The request conflicts with the current state (duplicate email, last admin).
    Conflict,
    /// Anything else; details are in the server's log only.
    Internal,
}

/// The body of every non-2xx JSON API answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What kind of error this is.
    pub error: ErrorCode,
    /// One sentence a person can read.
    pub message: String,
}

/// Details of a refused re-authentication, kept in the admin's session (never in a URL, so a crafted
/// link cannot put words in a banner) and read once by the Connections page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl CallbackError {
    const ALL: [Self; 9] = [
        Self::AccessDenied,
        Self::InvalidState,
        Self::InvalidRequest,
        Self::ExchangeRefused,
        Self::StripeUnavailable,
        Self::StripeError,
        Self::StorageFailed,
        Self::SessionMismatch,
        Self::AccountMismatch,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_its_wire_name() {
        for s in [
            ConnectionStatus::Success,
            ConnectionStatus::NeedsReauth,
            ConnectionStatus::Error,
            ConnectionStatus::Testing,
        ] {
            assert_eq!(ConnectionStatus::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(ConnectionStatus::parse("SUCCESS"), None);
    }

    #[test]
    fn callback_errors_round_trip_and_unknown_codes_are_rejected() {
        for e in CallbackError::ALL {
            assert_eq!(CallbackError::parse(e.as_str()), Some(e));
        }
        assert_eq!(CallbackError::parse("<script>"), None);
        assert_eq!(CallbackError::parse(""), None);
    }

    #[test]
    fn roles_parse_from_wire_and_command_line_spellings() {
        assert_eq!(Role::parse("read-only"), Some(Role::ReadOnly));
        assert_eq!(Role::parse("READ_ONLY"), Some(Role::ReadOnly));
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
        assert_eq!(
            serde_json::to_string(&Role::ReadOnly).unwrap(),
            "\"read_only\""
        );
    }

    #[test]
    fn callback_redirect_points_at_the_connections_page() {
        assert_eq!(callback_redirect(Ok(7)), "/admin/connections?connected=7");
        assert_eq!(
            callback_redirect(Err(CallbackError::AccessDenied)),
            "/admin/connections?error=access_denied"
        );
    }

    #[test]
    fn connection_json_has_the_documented_shape() {
        let c = Connection {
            id: 1,
            name: "Acme".into(),
            kind: IntegrationKind::Stripe,
            account_id: "acct_1".into(),
            livemode: false,
            status: ConnectionStatus::NeedsReauth,
            last_started_at: Some(10),
            last_duration_ms: None,
            created_at: 5,
            last_error: None,
        };
        let v: serde_json::Value = serde_json::to_value(&c).unwrap();
        assert_eq!(v["kind"], "stripe");
        assert_eq!(v["status"], "needs_reauth");
        assert_eq!(v["last_duration_ms"], serde_json::Value::Null);
        let back: Connection = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn api_error_body_is_snake_case() {
        let e = ApiError {
            error: ErrorCode::UpstreamFailed,
            message: "Stripe is unreachable.".into(),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"error":"upstream_failed","message":"Stripe is unreachable."}"#
        );
    }
}
