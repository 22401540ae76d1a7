//! Facts about the server: liveness and what the UI needs to know.

use axum::extract::State;
use axum::Json;
use shared::ServerInfo;

use crate::error::AppError;
use crate::state::AppState;
use crate::store;

/// `GET /api/health`: liveness and database reachability.
pub async fn health(State(state): State<AppState>) -> Result<&'static str, AppError> {
    store::ping(&state.pool).await?;
    Ok("ok")
}

/// `GET /api/meta`: facts about this server the UI shows.
pub async fn meta(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        demo_mode: state.settings.demo_mode,
        restricted_key_url: state.settings.restricted_key_url.clone(),
    })
}

/// Any other `/api/…` path: a JSON 404, never the SPA's HTML.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
