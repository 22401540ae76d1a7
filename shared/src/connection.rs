//! Connections as the API shows them: status, how they authenticate, problems, audit, requests.

use serde::{Deserialize, Serialize};

/// The kind of integration behind a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationKind {
    /// A Stripe account (connected by any [`AuthKind`]).
    Stripe,
}

wire_names!(IntegrationKind {
    Stripe => "stripe",
});

/// How a connection authenticates to Stripe: the three ways Stripe allows (STRIPE.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AuthKind {
    /// Classic Connect OAuth (`scope=read_only`); tokens do not expire; revoked by deauthorize.
    #[default]
    Connect,
    /// A Stripe App installed through its OAuth 2.0 install link; one-hour access tokens with
    /// rotating refresh tokens; the admin uninstalls the app in Stripe.
    Apps,
    /// A restricted API key (`rk_…`) the account owner made and pasted here.
    RestrictedKey,
}

wire_names!(AuthKind {
    Connect => "connect",
    Apps => "apps",
    RestrictedKey => "restricted_key",
});

impl AuthKind {
    /// Inverse of [`AuthKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Connect, Self::Apps, Self::RestrictedKey]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Why a connection is not healthy: a code the front end says in the user's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Stripe refused the stored credential (revoked, expired, deleted key).
    Refused,
    /// The account owner revoked our access in Stripe (webhook).
    Revoked,
    /// The credential reads a different Stripe account than the connection's.
    OtherAccount,
    /// Stripe refused to renew an expired authorization (`invalid_grant` on refresh).
    RefreshRefused,
    /// A restricted key lost a read permission the product needs.
    MissingPermission,
    /// Stripe could not be reached or did not answer in time (retried).
    Unreachable,
    /// Stripe answered with an error or something unreadable (retried).
    BadAnswer,
    /// A code this build does not know (a newer server): shown generically.
    Unknown,
}

wire_names!(Problem {
    Refused => "refused",
    Revoked => "revoked",
    OtherAccount => "other_account",
    RefreshRefused => "refresh_refused",
    MissingPermission => "missing_permission",
    Unreachable => "unreachable",
    BadAnswer => "bad_answer",
    Unknown => "unknown",
} other Unknown);

impl Problem {
    /// Every known code.
    pub const ALL: [Self; 7] = [
        Self::Refused,
        Self::Revoked,
        Self::OtherAccount,
        Self::RefreshRefused,
        Self::MissingPermission,
        Self::Unreachable,
        Self::BadAnswer,
    ];

    /// Inverse of [`Problem::as_str`]; unknown codes give [`Problem::Unknown`].
    pub fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .unwrap_or(Self::Unknown)
    }
}

/// Health of a connection as the Data Sources table shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

wire_names!(ConnectionStatus {
    Success => "success",
    NeedsReauth => "needs_reauth",
    Error => "error",
    Testing => "testing",
});

impl ConnectionStatus {
    /// Inverse of [`ConnectionStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Success, Self::NeedsReauth, Self::Error, Self::Testing]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// One row of the Data Sources table. Never carries a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_started_at: Option<i64>,
    /// How long that connection took, in milliseconds.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_duration_ms: Option<i64>,
    /// When the data source was first connected (Unix seconds).
    pub created_at: i64,
    /// Why the connection is unhealthy, as a code the front end puts in words.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(default)]
    pub last_error: Option<Problem>,
    /// How it authenticates to Stripe.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(default)]
    pub auth_kind: AuthKind,
    /// For a restricted key: its last four characters, the only part ever shown again.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(default)]
    pub key_last4: Option<String>,
    /// The host product's organization it belongs to; `None`: the app's own.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(default)]
    pub organization: Option<String>,
    /// Every change Stripe made before this moment (Unix seconds) is in its seven tables: the
    /// oldest of theirs; `None` until each completed a pass.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub fresh_as_of: Option<i64>,
}

/// What happened to a connection, as an audit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// First connected.
    Connected,
    /// Authorized again in place (same row).
    Reauthenticated,
    /// A connection test ran.
    Tested,
    /// Removed.
    Deleted,
    /// The account owner revoked access in Stripe.
    AccessRevoked,
    /// An expired or expiring access token was renewed.
    TokenRefreshed,
    /// Stripe refused to renew the authorization.
    RefreshRefused,
    /// A code this build does not know.
    Other,
}

wire_names!(AuditAction {
    Connected => "connected",
    Reauthenticated => "reauthenticated",
    Tested => "tested",
    Deleted => "deleted",
    AccessRevoked => "access_revoked",
    TokenRefreshed => "token_refreshed",
    RefreshRefused => "refresh_refused",
    Other => "other",
} other Other);

/// How a deletion ended at Stripe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Stripe revoked our access (Connect deauthorize).
    Deauthorized,
    /// Stripe said the account was no longer connected.
    AlreadyDisconnected,
    /// Stripe could not be told; removed here only, at the admin's request.
    LocalOnly,
    /// The flow has no revocation: the credential was dropped here, and the admin finishes in
    /// Stripe (uninstall the app, or delete the restricted key).
    CredentialDropped,
}

wire_names!(Removal {
    Deauthorized => "deauthorized",
    AlreadyDisconnected => "already_disconnected",
    LocalOnly => "local_only",
    CredentialDropped => "credential_dropped",
});

/// The facts of an audit line, each optional: codes and numbers, never sentences.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditDetail {
    /// How the connection was (re-)authorized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_kind: Option<AuthKind>,
    /// The status a test ended in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConnectionStatus>,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
    /// How long it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// How a deletion ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal: Option<Removal>,
    /// Text kept from before audit lines were codes (older rows only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<String>,
}

/// One line of a connection's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Who: a user's email, `system` (background work) or `Stripe` (webhooks).
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// The facts.
    pub detail: AuditDetail,
    /// When (Unix seconds).
    pub created_at: i64,
}

/// Answer of `DELETE /api/connections/{id}` when the admin has something left to do in Stripe
/// (200); a plain 204 means Stripe revoked our access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteOutcome {
    /// How it ended.
    pub removal: Removal,
    /// The deleted connection's kind (which says where in Stripe to finish).
    pub auth_kind: AuthKind,
}

/// Body of `POST /api/connections/stripe/key` and `POST /api/connections/{id}/key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestrictedKeyRequest {
    /// The restricted key (`rk_live_…` or `rk_test_…`).
    pub key: String,
    /// A name for the connection when the key may not read the account's own name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Answer of `GET /api/connections/{id}`: the row and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionDetail {
    /// The connection.
    pub connection: Connection,
    /// Newest first.
    pub audit: Vec<AuditEntry>,
}

/// Answer of `POST /api/connections/stripe/authorize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizeResponse {
    /// Where to send the browser: Stripe's (or the emulator's) authorize page.
    pub authorize_url: String,
    /// A widget's popup flow: the proof its popup asks the widget for before going on to Stripe
    /// (kept in the widget's memory, never put in a URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_proof: Option<String>,
}

/// Body a widget may send with `POST /api/connections/stripe/authorize` (or
/// `…/{id}/reauthorize`): the host page a full-page flow (popup blocked) comes back to. The body
/// may also be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// A page of the host (its origin must be one the host key allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
}

/// Answer of `GET /api/meta`: facts about this server the UI shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerInfo {
    /// True when the built-in Stripe emulator stands in for Stripe.
    pub demo_mode: bool,
    /// Where the account owner makes a restricted key (Stripe's page, or the emulator's).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(default)]
    pub restricted_key_url: String,
}
