//! The JSON API the SPA calls.

use axum::extract::State;
use axum::Json;
use shared::{AuthorizeResponse, Connection, ServerInfo};

use crate::auth::{self, AdminUser};
use crate::error::AppError;
use crate::startup::AppState;
use crate::store;

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
    let binding = auth::oauth_binding(&admin.session).await?;
    let oauth_state = new_state();
    store::save_state(&state.pool, &oauth_state, &binding, state.clock.now()).await?;
    let url = state.oauth.authorize_url(&oauth_state);
    Ok(Json(AuthorizeResponse {
        authorize_url: url.into(),
    }))
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
