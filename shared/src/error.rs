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
pub struct MissingPermission {
    /// The table/list (`customers`, `coupons`, …).
    pub list: String,
    /// The restricted-key permission that would allow it (`rak_coupon_read`, …).
    pub permission: String,
}

/// The body of every non-2xx JSON API answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What kind of error this is.
    pub error: ErrorCode,
    /// One sentence a person can read (English; the front end words it from `error`).
    pub message: String,
    /// With `missing_permissions`: each list the key cannot read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingPermission>,
}
