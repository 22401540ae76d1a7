//! The JSON API the SPA calls.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use shared::{AuthorizeResponse, Connection, ConnectionDetail, ServerInfo};

use crate::auth::{self, AdminUser};
use crate::domain::StripeAccountId;
use crate::error::{ApiPath, ApiQuery, AppError};
use crate::health;
use crate::startup::AppState;
use crate::store;
use crate::stripe::StripeError;

/// `GET /api/health`: liveness and database reachability.
pub async fn health(State(state): State<AppState>) -> Result<&'static str, AppError> {
    sqlx::query("SELECT 1")
        .execute(&state.pool)
        .await
        .map_err(store::StoreError::from)?;
    Ok("ok")
}

/// `GET /api/meta`: facts about this server the UI shows.
pub async fn meta(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        demo_mode: state.demo_mode,
    })
}

/// `GET /api/connections`: the Data Sources rows.
pub async fn list_connections(
    _admin: AdminUser,
    State(state): State<AppState>,
) -> Result<Json<Vec<Connection>>, AppError> {
    Ok(Json(store::list_connections(&state.pool).await?))
}

/// `POST /api/connections/stripe/authorize`: issues a single-use `state`, bound to this session, and
/// the URL of Stripe's authorize page.
pub async fn start_stripe_authorize(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
) -> Result<Json<AuthorizeResponse>, AppError> {
    authorize(&state, &admin.session, None).await
}

async fn authorize(
    state: &AppState,
    session: &tower_sessions::Session,
    connection_id: Option<i64>,
) -> Result<Json<AuthorizeResponse>, AppError> {
    let binding = auth::oauth_binding(session).await?;
    let oauth_state = new_state();
    store::save_state(
        &state.pool,
        &oauth_state,
        &binding,
        connection_id,
        state.clock.now(),
    )
    .await?;
    let url = state.oauth.authorize_url(&oauth_state);
    Ok(Json(AuthorizeResponse {
        authorize_url: url.into(),
    }))
}

/// `POST /api/connections/{id}/reauthorize`: the Stripe flow for *that* connection; on success the
/// same row gets the new tokens.
pub async fn start_reauthorize(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AuthorizeResponse>, AppError> {
    store::find_connection(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    authorize(&state, &admin.session, Some(id)).await
}

/// `GET /api/connections/callback-notice`: the details of the last refused re-authentication in this
/// session, once (`null` when there are none).
pub async fn take_callback_notice(
    AdminUser(admin): AdminUser,
) -> Result<Json<Option<shared::CallbackNotice>>, AppError> {
    admin
        .session
        .remove::<shared::CallbackNotice>(auth::CALLBACK_NOTICE)
        .await
        .map(Json)
        .map_err(|e| AppError::Internal(format!("session: {e}")))
}

/// `GET /api/connections/{id}`: the row and its audit log.
pub async fn get_connection(
    _admin: AdminUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ConnectionDetail>, AppError> {
    let connection = store::find_connection(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let audit = store::audit_log(&state.pool, id).await?;
    Ok(Json(ConnectionDetail { connection, audit }))
}

/// `POST /api/connections/{id}/test`: tests now and answers the updated row.
pub async fn test_connection(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Connection>, AppError> {
    // Run to completion even if the client goes away, so the row never stays "Testing…".
    let (task_state, actor) = (state.clone(), admin.user.email.clone());
    tokio::spawn(async move { health::test_connection(&task_state, id, &actor).await })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??
        .ok_or(AppError::NotFound)?;
    let connection = store::find_connection(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(connection))
}

/// Query of `DELETE /api/connections/{id}`.
#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    /// Remove locally even when Stripe cannot be told.
    #[serde(default)]
    force: bool,
}

/// `DELETE /api/connections/{id}`: deauthorizes at Stripe, then drops the tokens and the row. If
/// Stripe says the account is no longer connected, the local removal finishes anyway; if Stripe is
/// unreachable the row is kept unless `force=true`.
pub async fn delete_connection(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Result<StatusCode, AppError> {
    let connection = store::find_connection(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let account = StripeAccountId::parse(&connection.account_id)
        .map_err(|e| AppError::Internal(format!("stored account id: {e}")))?;
    let detail = match state.oauth.deauthorize(&state.http, &account).await {
        Ok(()) => "deauthorized at Stripe".to_owned(),
        Err(StripeError::Refused { code, description })
            if code == "invalid_client" && description.contains("not connected") =>
        {
            "Stripe reported the account was no longer connected".to_owned()
        }
        Err(e) if query.force => {
            tracing::warn!(connection_id = id, error = %e, "force-removing a connection Stripe was not told about");
            format!("removed here only; Stripe could not be told ({e})")
        }
        Err(e) => {
            tracing::warn!(connection_id = id, error = %e, "deauthorize failed; connection kept");
            return Err(AppError::UpstreamKept);
        }
    };
    store::delete_connection(&state.pool, id).await?;
    store::audit(
        &state.pool,
        id,
        account.as_str(),
        &admin.user.email,
        "deleted",
        &detail,
        state.clock.now(),
    )
    .await?;
    tracing::info!(connection_id = id, account = %account, "connection deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// 256 random bits, URL-safe.
fn new_state() -> String {
    oauth2::CsrfToken::new_random_len(32).secret().clone()
}

/// Any other `/api/…` path: a JSON 404, never the SPA's HTML.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

#[cfg(test)]
mod tests {
    #[test]
    fn states_are_long_and_distinct() {
        let a = super::new_state();
        let b = super::new_state();
        assert_ne!(a, b);
        assert!(a.len() >= 43, "32 bytes in base64url");
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
