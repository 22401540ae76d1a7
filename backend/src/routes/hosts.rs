//! Host products: their keys (Admin only) and the connect sessions their backends open with them.

use crate::ids::HostKeyId;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use shared::{ConnectSessionRequest, ConnectSessionToken, CreatedHostKey, HostKey, NewHostKey};

use crate::actor::HostKeyBearer;
use crate::auth::AdminUser;
use crate::error::{ApiJson, ApiPath, AppError, Refused};
use crate::services::hosts;
use crate::state::AppState;

/// `GET /api/host-keys`: every host key (never the key itself).
#[utoipa::path(
    get, path = "/host-keys", tag = "host keys", security(("session" = ["admin"])),
    responses((status = 200, description = "Every host key (never the key itself)", body = Vec<HostKey>), Refused)
)]
pub async fn list_host_keys(
    _admin: AdminUser,
    State(state): State<AppState>,
) -> Result<Json<Vec<HostKey>>, AppError> {
    Ok(Json(hosts::list_keys(&state).await?))
}

/// `POST /api/host-keys`: a new key for a host product, shown this once (201).
#[utoipa::path(
    post, path = "/host-keys", tag = "host keys", security(("session" = ["admin"])), request_body = NewHostKey,
    responses((status = 201, description = "Created: the key, shown this once", body = CreatedHostKey), Refused)
)]
pub async fn create_host_key(
    _admin: AdminUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewHostKey>,
) -> Result<(StatusCode, Json<CreatedHostKey>), AppError> {
    let created = hosts::create_key(&state.pool, state.clock.now(), &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /api/host-keys/{id}`: revokes the key; its sessions end at once (204).
#[utoipa::path(
    delete, path = "/host-keys/{id}", tag = "host keys", security(("session" = ["admin"])),
    params(("id" = i64, Path, description = "The host key's id")),
    responses((status = 204, description = "Revoked; its connect sessions end at once"), Refused)
)]
pub async fn revoke_host_key(
    _admin: AdminUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<HostKeyId>,
) -> Result<StatusCode, AppError> {
    hosts::revoke_key(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/connect-sessions` with `Authorization: Bearer hk_…`: a token for the widget, valid
/// 30 minutes, scoped to the organization and end user named (201).
#[utoipa::path(
    post, path = "/connect-sessions", tag = "host keys", security(("host_key" = [])),
    request_body = ConnectSessionRequest,
    responses((status = 201, description = "A token for the widget, valid 30 minutes", body = ConnectSessionToken), Refused)
)]
pub async fn open_connect_session(
    HostKeyBearer(key): HostKeyBearer,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ConnectSessionRequest>,
) -> Result<(StatusCode, Json<ConnectSessionToken>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(hosts::open_session(&state, &key, &body).await?),
    ))
}
