//! The API's one error type and its one mapping to HTTP. Users get a clear sentence in the shared
//! error body; the log keeps the cause of every 5xx.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::{ApiError, ErrorCode};

use crate::store::StoreError;
use crate::stripe::StripeError;

/// Everything an API handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request itself is wrong.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No such route or resource.
    #[error("not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stripe failed.
    #[error(transparent)]
    Stripe(#[from] StripeError),
}

impl AppError {
    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        match self {
            Self::BadRequest(msg) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest, msg.clone()),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "There is nothing at this address.".into(),
            ),
            Self::Store(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "Something went wrong on our side. Please try again.".into(),
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
        (status, Json(ApiError { error, message })).into_response()
    }
}
