//! `/api/connections…`: the Data Sources rows, one connection with its history, tests, restricted
//! keys, deletion. An Admin sees every organization's; a widget's connect session its own only.

use crate::ids::ConnectionId;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use shared::{Connection, ConnectionDetail, DeleteOutcome, Removal, RestrictedKeyRequest};

use crate::actor::Actor;
use crate::domain::AuditActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, Refused};
use crate::services::connections;
use crate::state::AppState;
use crate::store;

/// `GET /api/connections`: the Data Sources rows.
#[utoipa::path(
    get, path = "/connections", tag = "connections", security(("session" = ["admin"]), ("connect_session" = [])),
    responses((status = 200, description = "The Data Sources rows (a connect session: its organization's only)", body = Vec<Connection>), Refused)
)]
pub async fn list_connections(
    actor: Actor,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    let json = match &actor {
        Actor::Admin(admin) => connections::list_json(&state, admin.connections_version).await?,
        Actor::Widget(session) => {
            let rows =
                store::list_organization_connections(&state.pool, session.organization_id).await?;
            serde_json::to_vec(&rows)
                .map_err(|e| AppError::Internal(e.to_string()))?
                .into()
        }
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response())
}

/// `GET /api/connections/{id}`: the row and its audit log.
#[utoipa::path(
    get, path = "/connections/{id}", tag = "connections", security(("session" = ["admin"]), ("connect_session" = [])), params(("id" = i64, Path, description = "The connection's id")),
    responses((status = 200, description = "The connection and its audit log, newest first", body = ConnectionDetail), Refused)
)]
pub async fn get_connection(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<Json<ConnectionDetail>, AppError> {
    actor.may_use(&state, id).await?;
    let connection = store::find_connection(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut audit = store::audit_log(&state.pool, id).await?;
    // A widget's user sees their own name and `system`/`Stripe`, never who else acted: the app's
    // Admins become `admin`, the host's other users `host user`.
    if let Actor::Widget(_) = &actor {
        let me = actor.audit_actor();
        for line in &mut audit {
            line.actor = match AuditActor::parse(&line.actor) {
                who if who == me => continue,
                AuditActor::System | AuditActor::Stripe => continue,
                AuditActor::WidgetUser(_) => "host user".into(),
                AuditActor::User(_) => "admin".into(),
            };
        }
    }
    Ok(Json(ConnectionDetail { connection, audit }))
}

/// `POST /api/connections/{id}/test`: tests now and answers the updated row.
#[utoipa::path(
    post, path = "/connections/{id}/test", tag = "connections", security(("session" = ["admin"]), ("connect_session" = [])), params(("id" = i64, Path, description = "The connection's id")),
    responses((status = 200, description = "Tested now: the updated row", body = Connection), Refused)
)]
pub async fn test_connection(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<Json<Connection>, AppError> {
    actor.may_use(&state, id).await?;
    Ok(Json(
        connections::test_now(&state, id, &actor.audit_actor()).await?,
    ))
}

/// `POST /api/connections/stripe/key`: connects the account of a restricted key (201).
#[utoipa::path(
    post, path = "/connections/stripe/key", tag = "connections", security(("session" = ["admin"]), ("connect_session" = [])), request_body = RestrictedKeyRequest,
    responses((status = 201, description = "Connected with the restricted key", body = Connection), Refused)
)]
pub async fn connect_with_key(
    actor: Actor,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RestrictedKeyRequest>,
) -> Result<(StatusCode, Json<Connection>), AppError> {
    let connection = connections::connect_with_key(
        &state,
        &actor.audit_actor(),
        &body,
        None,
        actor.organization(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(connection)))
}

/// `POST /api/connections/{id}/key`: re-authenticates a connection with a new key for its account.
#[utoipa::path(
    post, path = "/connections/{id}/key", tag = "connections", security(("session" = ["admin"]), ("connect_session" = [])), params(("id" = i64, Path, description = "The connection's id")), request_body = RestrictedKeyRequest,
    responses((status = 200, description = "Re-authenticated with a new key of the same account", body = Connection), Refused)
)]
pub async fn replace_key(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ConnectionId>,
    ApiJson(body): ApiJson<RestrictedKeyRequest>,
) -> Result<Json<Connection>, AppError> {
    actor.may_use(&state, id).await?;
    let connection = connections::connect_with_key(
        &state,
        &actor.audit_actor(),
        &body,
        Some(id),
        actor.organization(),
    )
    .await?;
    Ok(Json(connection))
}

/// Query of `DELETE /api/connections/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Remove locally even when Stripe cannot be told.
    #[serde(default)]
    force: bool,
}

/// `DELETE /api/connections/{id}`: 204 when Stripe revoked our access (or already had); 200 with a
/// [`DeleteOutcome`] when the admin has something left to do in Stripe; 502 and the row kept when
/// Stripe cannot be told, unless `force=true`.
#[utoipa::path(
    delete, path = "/connections/{id}", tag = "connections", security(("session" = ["admin"]), ("connect_session" = [])), params(("id" = i64, Path, description = "The connection's id"), DeleteQuery),
    responses(
        (status = 204, description = "Deleted, and Stripe revoked our access (or already had)"),
        (status = 200, description = "Deleted here; the admin finishes in Stripe (uninstall the app, delete the key)", body = DeleteOutcome),
        Refused)
)]
pub async fn delete_connection(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ConnectionId>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Result<Response, AppError> {
    actor.may_use(&state, id).await?;
    let (removal, auth_kind) =
        connections::delete(&state, id, &actor.audit_actor(), query.force).await?;
    Ok(match removal {
        Removal::CredentialDropped => Json(DeleteOutcome { removal, auth_kind }).into_response(),
        _ => StatusCode::NO_CONTENT.into_response(),
    })
}
