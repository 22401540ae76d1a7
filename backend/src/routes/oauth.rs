//! The OAuth round trip: starting it (`POST /api/connections/stripe/authorize`, `…/{id}/reauthorize`)
//! and Stripe's redirect back (`GET /oauth/stripe/callback`), which always ends on the Connections
//! page with a code for the banner.

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use shared::{callback_redirect, AuthorizeResponse, CallbackError, CallbackNotice};
use tower_sessions::Session;

use crate::auth::{self, AdminUser};
use crate::error::{ApiPath, AppError};
use crate::services::authorize::{self, Failure};
use crate::state::AppState;

/// `POST /api/connections/stripe/authorize`: a single-use `state`, bound to this session, and the
/// URL of Stripe's authorize page.
pub async fn start_stripe_authorize(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
) -> Result<Json<AuthorizeResponse>, AppError> {
    let authorize_url = authorize::start(&state, &admin.session, None).await?;
    Ok(Json(AuthorizeResponse { authorize_url }))
}

/// `POST /api/connections/{id}/reauthorize`: the Stripe flow for *that* connection; on success the
/// same row gets the new credential.
pub async fn start_reauthorize(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AuthorizeResponse>, AppError> {
    let authorize_url = authorize::start(&state, &admin.session, Some(id)).await?;
    Ok(Json(AuthorizeResponse { authorize_url }))
}

/// `GET /api/connections/callback-notice`: the details of the last refused re-authentication in this
/// session, once (`null` when there are none).
pub async fn take_callback_notice(
    AdminUser(admin): AdminUser,
) -> Result<Json<Option<CallbackNotice>>, AppError> {
    admin
        .session
        .remove::<CallbackNotice>(auth::CALLBACK_NOTICE)
        .await
        .map(Json)
        .map_err(|e| AppError::Internal(format!("session: {e}")))
}

/// `GET /oauth/stripe/callback`.
pub async fn stripe_callback(
    State(state): State<AppState>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    // Finished in its own task: if the browser goes away mid-way, the exchange still completes
    // (or hands its grant back) instead of being dropped half-done.
    let notice_session = session.clone();
    let outcome = tokio::spawn(async move {
        authorize::complete(&state, &session, query.as_deref().unwrap_or_default()).await
    })
    .await
    .unwrap_or_else(|_| Err(CallbackError::StorageFailed.into()));
    let location = match outcome {
        Ok(id) => callback_redirect(Ok(id)),
        Err(Failure { error, notice }) => {
            if let Some(notice) = notice {
                if let Err(e) = notice_session.insert(auth::CALLBACK_NOTICE, notice).await {
                    tracing::warn!(error = %e, "could not keep the callback notice");
                }
            }
            callback_redirect(Err(error))
        }
    };
    (
        [(header::CACHE_CONTROL, "no-store")],
        Redirect::to(&location),
    )
        .into_response()
}
