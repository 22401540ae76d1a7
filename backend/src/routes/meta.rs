//! Facts about the server: liveness, what the UI needs to know, and the API's description.

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use shared::ServerInfo;
use utoipa::openapi::OpenApi as Document;

use crate::error::{AppError, Refused};
use crate::state::AppState;
use crate::store;

/// `GET /api/health`: liveness and database reachability.
#[utoipa::path(
    get, path = "/health", tag = "meta", security(()),
    responses((status = 200, description = "The server is up and its database answers", body = String, content_type = "text/plain", example = "ok"), Refused)
)]
pub async fn health(State(state): State<AppState>) -> Result<&'static str, AppError> {
    store::ping(&state.pool).await?;
    Ok("ok")
}

/// `GET /api/meta`: facts about this server the UI shows.
#[utoipa::path(
    get, path = "/meta", tag = "meta", security(()),
    responses((status = 200, description = "Facts about this server the UI shows", body = ServerInfo))
)]
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

/// `GET /api/openapi.json`: the API described (made once, with the router).
#[utoipa::path(
    get, path = "/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json"))
)]
pub async fn openapi_json(Extension(document): Extension<Arc<Document>>) -> Json<Arc<Document>> {
    Json(document)
}

/// An `/api/…` path asked with a method it does not take: a JSON 405.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
