//! The API's one error type and its one mapping to HTTP. Users get a clear sentence in the shared
//! error body; the log keeps the cause of every 5xx.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::{ApiError, ErrorCode, ErrorReason, MissingPermission};

use crate::services::connections::ConnectionError;
use crate::session::SessionError;
use crate::store::StoreError;
use crate::stripe::flows::KeyRefusal;
use crate::stripe::StripeError;
use crate::users::UserError;

/// Everything an API handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request itself is wrong.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Not signed in (or the session ended).
    #[error("not signed in")]
    Unauthorized,
    /// `GET /metrics` without the right `METRICS_TOKEN`.
    #[error("metrics token refused")]
    MetricsToken,
    /// Wrong email or password (same answer whether the email exists or not).
    #[error("sign-in refused")]
    BadCredentials,
    /// Signed in, but not allowed.
    #[error("forbidden")]
    Forbidden,
    /// A state-changing request from another origin.
    #[error("cross-site request")]
    CrossSite,
    /// Too many failed attempts; retry after this many seconds.
    #[error("throttled for {0} s")]
    RateLimited(i64),
    /// The request conflicts with the current state, for this reason.
    #[error("conflict: {0:?}")]
    Conflict(ErrorReason),
    /// The request's content is refused, for this reason (an email, a password).
    #[error("refused: {0:?}")]
    Refused(ErrorReason),
    /// The request body is not what the endpoint takes.
    #[error("bad body: {0}")]
    BadBody(String),
    /// No such route or resource.
    #[error("not found")]
    NotFound,
    /// The path exists but does not take this method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stripe failed.
    #[error(transparent)]
    Stripe(#[from] StripeError),
    /// Stripe could not be told about a deletion, so the connection was kept.
    #[error("stripe unreachable, connection kept")]
    UpstreamKept,
    /// The body is over its limit.
    #[error("body too large")]
    TooLarge,
    /// Webhooks are not configured.
    #[error("webhooks not configured")]
    WebhooksDisabled,
    /// A restricted key was not accepted.
    #[error(transparent)]
    Key(#[from] KeyRefusal),
    /// The credential belongs to another Stripe account than the connection's.
    #[error("another account's credential")]
    OtherAccount,
    /// A host key or a widget's session token was refused.
    #[error(transparent)]
    Host(#[from] crate::services::hosts::HostError),
    /// Anything else on our side.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<ConnectionError> for AppError {
    fn from(e: ConnectionError) -> Self {
        match e {
            ConnectionError::NotFound => Self::NotFound,
            ConnectionError::Key(e) => Self::Key(e),
            ConnectionError::OtherAccount { .. } => Self::OtherAccount,
            ConnectionError::AlreadyConnected => Self::Conflict(ErrorReason::AlreadyConnected),
            ConnectionError::Kept(_) => Self::UpstreamKept,
            ConnectionError::Store(StoreError::OtherOrganization) => {
                Self::Conflict(ErrorReason::AccountElsewhere)
            }
            ConnectionError::Store(e) => Self::Store(e),
            ConnectionError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<crate::services::warehouse::WarehouseError> for AppError {
    fn from(e: crate::services::warehouse::WarehouseError) -> Self {
        use crate::services::warehouse::WarehouseError;
        match e {
            WarehouseError::NotFound => Self::NotFound,
            WarehouseError::InvalidSchema => Self::Refused(ErrorReason::InvalidSchema),
            WarehouseError::SchemaTaken => Self::Conflict(ErrorReason::SchemaTaken),
            WarehouseError::UnknownColumn(_) => Self::Refused(ErrorReason::UnknownColumn),
            WarehouseError::ColumnRequired => Self::Refused(ErrorReason::ColumnRequired),
            WarehouseError::BadLimit => Self::BadRequest(e.to_string()),
            WarehouseError::Store(e) => Self::Store(e),
        }
    }
}

impl From<crate::services::sync::DataError> for AppError {
    fn from(e: crate::services::sync::DataError) -> Self {
        use crate::services::sync::DataError;
        match e {
            DataError::NotFound | DataError::UnknownTable => Self::NotFound,
            DataError::BadLimit => Self::BadRequest(e.to_string()),
            DataError::Store(e) => Self::Store(e),
        }
    }
}

impl From<crate::services::metrics::ScrapeError> for AppError {
    fn from(e: crate::services::metrics::ScrapeError) -> Self {
        use crate::services::metrics::ScrapeError;
        match e {
            ScrapeError::Store(e) => Self::Store(e),
            ScrapeError::Encode(e) => Self::Internal(e.to_string()),
        }
    }
}

impl From<SessionError> for AppError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::SignedOut => Self::Unauthorized,
            SessionError::Store(e) => Self::Store(e),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::TooLarge;
        }
        Self::BadBody(match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "Send a JSON body with Content-Type: application/json.".into()
            }
            other => format!("The request body is not valid: {}", other.body_text()),
        })
    }
}

impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::TooLarge;
        }
        Self::BadBody(format!(
            "The request body could not be read: {}",
            rejection.body_text()
        ))
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(format!(
            "The address is not valid: {}",
            rejection.body_text()
        ))
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(format!(
            "The query string is not valid: {}",
            rejection.body_text()
        ))
    }
}

/// The sentence for a refused restricted key (the front end words it from the code).
fn key_refusal(e: &KeyRefusal) -> (StatusCode, ErrorCode, String) {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match e {
        KeyRefusal::FullAccess => (
            unprocessable,
            ErrorCode::FullAccessKey,
            "This is a secret key (sk_…): it has full write access to the Stripe account, which a \
             reporting tool must never hold. Create a restricted key with read permissions instead."
                .into(),
        ),
        KeyRefusal::Malformed => (
            unprocessable,
            ErrorCode::InvalidKey,
            "This is not a restricted key: restricted keys start with rk_live_ or rk_test_.".into(),
        ),
        KeyRefusal::Invalid => (
            unprocessable,
            ErrorCode::InvalidKey,
            "Stripe does not accept this key: it may be mistyped, deleted or rolled.".into(),
        ),
        KeyRefusal::MissingPermissions(missing) => (
            unprocessable,
            ErrorCode::MissingPermissions,
            format!(
                "This key cannot read {}. Add the missing read permissions to the key in Stripe, or create a new one.",
                missing
                    .iter()
                    .map(|m| format!("{} ({})", m.list, m.permission))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        KeyRefusal::Stripe(_) => (
            StatusCode::BAD_GATEWAY,
            ErrorCode::UpstreamFailed,
            "Stripe could not be reached to check the key. Please try again in a moment.".into(),
        ),
    }
}

/// The English sentence of a reason (API clients read it; the browser words the reason itself).
fn reason_sentence(reason: ErrorReason) -> &'static str {
    match reason {
        ErrorReason::InvalidEmail => "Enter a valid email address.",
        ErrorReason::PasswordTooShort => "Passwords must be at least 12 characters long.",
        ErrorReason::PasswordTooLong => "That password is too long.",
        ErrorReason::DuplicateEmail => "A user with this email already exists.",
        ErrorReason::LastAdmin => "This is the last Admin: make another user Admin first.",
        ErrorReason::AlreadyConnected => {
            "This Stripe account is already connected another way or in the other mode. Delete or \
             re-authenticate that connection instead."
        }
        ErrorReason::AccountElsewhere => {
            "This Stripe account is already connected for another organization. Nothing was changed."
        }
        _ => "The request was refused.",
    }
}

impl From<UserError> for AppError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::InvalidEmail => Self::Refused(ErrorReason::InvalidEmail),
            UserError::PasswordTooShort => Self::Refused(ErrorReason::PasswordTooShort),
            UserError::PasswordTooLong => Self::Refused(ErrorReason::PasswordTooLong),
            UserError::Invalid(msg) => Self::Internal(msg),
            UserError::DuplicateEmail => Self::Conflict(ErrorReason::DuplicateEmail),
            UserError::LastAdmin => Self::Conflict(ErrorReason::LastAdmin),
            UserError::NotFound => Self::NotFound,
            UserError::Store(e) => Self::Store(e),
        }
    }
}

fn host_refusal(e: &crate::services::hosts::HostError) -> (StatusCode, ErrorCode, String) {
    use crate::services::hosts::HostError;
    match e {
        HostError::Invalid(msg) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest, msg.clone()),
        HostError::BadKey => (
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidHostKey,
            "The host key is unknown or revoked.".into(),
        ),
        HostError::BadSession => (
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidSession,
            "The session token is unknown or not valid here.".into(),
        ),
        HostError::Expired => (
            StatusCode::UNAUTHORIZED,
            ErrorCode::SessionExpired,
            "The session token has expired: ask the host for a new one.".into(),
        ),
        HostError::NotFound => (
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "There is no such host key.".into(),
        ),
        HostError::Store(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "Something went wrong on our side. Please try again.".into(),
        ),
    }
}

impl AppError {
    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        match self {
            Self::BadRequest(msg) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest, msg.clone()),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "Please sign in.".into(),
            ),
            Self::MetricsToken => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.".into(),
            ),
            Self::BadCredentials => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "The email or password is incorrect.".into(),
            ),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "Requires Admin permissions.".into(),
            ),
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "This request did not come from this site and was refused.".into(),
            ),
            Self::RateLimited(secs) => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!(
                    "Too many failed sign-in attempts. Try again in {} minute{}.",
                    (secs + 59) / 60,
                    if (secs + 59) / 60 == 1 { "" } else { "s" }
                ),
            ),
            Self::Conflict(reason) => (
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                reason_sentence(*reason).into(),
            ),
            Self::Refused(reason) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                reason_sentence(*reason).into(),
            ),
            Self::BadBody(msg) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest, msg.clone()),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::BadRequest,
                "This address does not take this method.".into(),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "There is nothing at this address.".into(),
            ),
            Self::Store(_) | Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "Something went wrong on our side. Please try again.".into(),
            ),
            Self::UpstreamKept => (
                StatusCode::BAD_GATEWAY,
                ErrorCode::UpstreamFailed,
                "Stripe could not be reached, so the connection was kept. Try again, or remove it here only.".into(),
            ),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BadRequest,
                "The request body is too large.".into(),
            ),
            Self::WebhooksDisabled => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
                "Webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET).".into(),
            ),
            Self::Stripe(_) => (
                StatusCode::BAD_GATEWAY,
                ErrorCode::UpstreamFailed,
                "Stripe could not be reached. Please try again in a moment.".into(),
            ),
            Self::Key(e) => key_refusal(e),
            Self::Host(e) => host_refusal(e),
            Self::OtherAccount => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::OtherAccount,
                "This key belongs to another Stripe account than this connection's. Nothing was changed.".into(),
            ),
        }
    }

    /// Which case of its code this is, when the code has several.
    fn reason(&self) -> Option<ErrorReason> {
        Some(match self {
            Self::BadCredentials => ErrorReason::BadCredentials,
            Self::CrossSite => ErrorReason::CrossSite,
            Self::Conflict(reason) | Self::Refused(reason) => *reason,
            Self::BadBody(_) => ErrorReason::InvalidBody,
            Self::TooLarge => ErrorReason::BodyTooLarge,
            Self::UpstreamKept => ErrorReason::ConnectionKept,
            Self::Key(KeyRefusal::Malformed) => ErrorReason::NotRestrictedKey,
            _ => return None,
        })
    }

    fn missing(&self) -> Vec<MissingPermission> {
        match self {
            Self::Key(KeyRefusal::MissingPermissions(missing)) => missing.clone(),
            _ => Vec::new(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, error, message) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = ApiError {
            error,
            message,
            missing: self.missing(),
            reason: self.reason(),
            retry_after: match self {
                Self::RateLimited(secs) => Some(secs.max(1)),
                _ => None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::MetricsToken = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
        }
        if let Self::RateLimited(secs) = self {
            if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// A raw body (`Bytes`) whose rejections (over the limit: 413) use the API's error body.
#[derive(Debug, Clone)]
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = AppError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        Ok(Self(axum::body::Bytes::from_request(request, state).await?))
    }
}

/// `Json<T>` whose rejections use the API's error body.
#[derive(Debug, Clone, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// `Path<T>` whose rejections use the API's error body.
#[derive(Debug, Clone, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// `Query<T>` whose rejections use the API's error body.
#[derive(Debug, Clone, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// What every operation may answer besides its success: the [`ApiError`] body.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only described: handlers answer `AppError`, which writes this body.
pub enum Refused {
    /// Refused. `error` says why: `bad_request` (400, with a `reason` where one applies, e.g.
    /// `invalid_body`; 405 for a method the path does not take), `unauthorized` (401: not signed
    /// in, or `bad_credentials`), `invalid_host_key`, `invalid_session`, `session_expired` (401),
    /// `forbidden` (403: not an Admin, or `cross_site`), `not_found` (404), `conflict` (409),
    /// `full_access_key`, `invalid_key`, `missing_permissions`, `other_account` (422),
    /// `rate_limited` (429, with `retry_after`); a body over 64 KiB is `bad_request` with reason
    /// `body_too_large` (413). Only the HTTP layer's 408, when a request takes over 30 s, carries
    /// no body.
    #[response(status = "4XX")]
    Client(ApiError),
    /// Failed: `upstream_failed` (502: Stripe could not be reached or answered badly) or
    /// `internal` (500; details in the server's log only).
    #[response(status = "5XX")]
    Server(ApiError),
}
