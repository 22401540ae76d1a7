//! The API's one error type and its one mapping to HTTP. Users get a clear sentence in the shared
//! error body; the log keeps the cause of every 5xx.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use shared::{ApiError, ErrorCode};

use crate::store::StoreError;
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
    /// The request conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// No such route or resource.
    #[error("not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stripe failed.
    #[error(transparent)]
    Stripe(#[from] StripeError),
    /// Stripe could not be told about a deletion, so the connection was kept.
    #[error("stripe unreachable, connection kept")]
    UpstreamKept,
    /// Webhooks are not configured.
    #[error("webhooks not configured")]
    WebhooksDisabled,
    /// Anything else on our side.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<UserError> for AppError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::Invalid(msg) => Self::BadRequest(msg),
            UserError::DuplicateEmail => {
                Self::Conflict("A user with this email already exists.".into())
            }
            UserError::LastAdmin => {
                Self::Conflict("This is the last Admin: make another user Admin first.".into())
            }
            UserError::NotFound => Self::NotFound,
            UserError::Store(e) => Self::Store(e),
        }
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
            Self::Conflict(msg) => (StatusCode::CONFLICT, ErrorCode::Conflict, msg.clone()),
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
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, error, message) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = (status, Json(ApiError { error, message })).into_response();
        if let Self::RateLimited(secs) = self {
            if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// `Json<T>` whose rejections use the API's error body.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(AppError::BadRequest(match rejection {
                JsonRejection::MissingJsonContentType(_) => {
                    "Send a JSON body with Content-Type: application/json.".into()
                }
                other => format!("The request body is not valid: {}", other.body_text()),
            })),
        }
    }
}

/// `Path<T>` whose rejections use the API's error body.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|r| {
                AppError::BadRequest(format!("The address is not valid: {}", r.body_text()))
            })
    }
}

/// `Query<T>` whose rejections use the API's error body.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|r| {
                AppError::BadRequest(format!("The query string is not valid: {}", r.body_text()))
            })
    }
}
