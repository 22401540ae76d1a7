//! The error body of the JSON API.

use serde::{Deserialize, Serialize};

/// Machine-readable error kinds of the JSON API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// A full secret key (`sk_…`) was offered where a restricted key belongs.
    FullAccessKey,
    /// The key is malformed, unknown to Stripe, or revoked.
    InvalidKey,
    /// The restricted key cannot read every list the product needs (see `missing`).
    MissingPermissions,
    /// The credential belongs to another Stripe account than the connection's.
    OtherAccount,
    /// A host key (`hk_…`) that is unknown or revoked.
    InvalidHostKey,
    /// A connect session token that is unknown, revoked or from a foreign origin.
    InvalidSession,
    /// A connect session token past its 30 minutes.
    SessionExpired,
    /// Anything else; details are in the server's log only.
    Internal,
}

wire_names!(ErrorCode {
    BadRequest => "bad_request",
    Unauthorized => "unauthorized",
    Forbidden => "forbidden",
    NotFound => "not_found",
    RateLimited => "rate_limited",
    UpstreamFailed => "upstream_failed",
    Conflict => "conflict",
    FullAccessKey => "full_access_key",
    InvalidKey => "invalid_key",
    MissingPermissions => "missing_permissions",
    OtherAccount => "other_account",
    InvalidHostKey => "invalid_host_key",
    InvalidSession => "invalid_session",
    SessionExpired => "session_expired",
    Internal => "internal",
});

/// A list a restricted key cannot read, and the permission that would allow it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MissingPermission {
    /// The table/list (`customers`, `coupons`, …).
    pub list: String,
    /// The restricted-key permission that would allow it (`rak_coupon_read`, …).
    pub permission: String,
}

/// Which case of an [`ErrorCode`] this is, when one code covers several a person should tell apart
/// (the browser words each; `message` stays English for API clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorReason {
    /// Wrong email or password.
    BadCredentials,
    /// A state-changing request from another site.
    CrossSite,
    /// The email is not an address.
    InvalidEmail,
    /// The password is shorter than 12 characters.
    PasswordTooShort,
    /// The password is longer than we hash.
    PasswordTooLong,
    /// Another user has this email.
    DuplicateEmail,
    /// The change would leave no enabled Admin.
    LastAdmin,
    /// The Stripe account is already connected another way or in the other mode.
    AlreadyConnected,
    /// The Stripe account is connected for another organization.
    AccountElsewhere,
    /// Not a restricted key at all (no `rk_` prefix).
    NotRestrictedKey,
    /// Stripe could not be told of a deletion: the connection was kept.
    ConnectionKept,
    /// The body is not what the endpoint takes.
    InvalidBody,
    /// The body is over its limit.
    BodyTooLarge,
    /// A warehouse schema name that is not `[a-z_][a-z0-9_]{0,62}` (or is one PostgreSQL keeps).
    InvalidSchema,
    /// The warehouse schema name is another connection's.
    SchemaTaken,
    /// A warehouse table or column that does not exist.
    UnknownColumn,
    /// `id` and `deleted` are always tracked.
    ColumnRequired,
    /// A reason this version does not know (a newer server).
    Other,
}

wire_names!(ErrorReason {
    BadCredentials => "bad_credentials",
    CrossSite => "cross_site",
    InvalidEmail => "invalid_email",
    PasswordTooShort => "password_too_short",
    PasswordTooLong => "password_too_long",
    DuplicateEmail => "duplicate_email",
    LastAdmin => "last_admin",
    AlreadyConnected => "already_connected",
    AccountElsewhere => "account_elsewhere",
    NotRestrictedKey => "not_restricted_key",
    ConnectionKept => "connection_kept",
    InvalidBody => "invalid_body",
    BodyTooLarge => "body_too_large",
    InvalidSchema => "invalid_schema",
    SchemaTaken => "schema_taken",
    UnknownColumn => "unknown_column",
    ColumnRequired => "column_required",
    Other => "other",
} other Other);

/// The body of every non-2xx JSON API answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// What kind of error this is.
    pub error: ErrorCode,
    /// One sentence a person can read (English; the front end words it from `error`).
    pub message: String,
    /// With `missing_permissions`: each list the key cannot read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingPermission>,
    /// Which case of `error` this is, when it has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ErrorReason>,
    /// With `rate_limited`: seconds until another attempt is counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<i64>,
}
