//! `/api/connections/{id}/sync` and `/api/connections/{id}/tables/{table}`: the synced Stripe
//! data. The sync's status and **Force an update** also for a widget's connect session (its
//! organization's connections); the rows themselves for Admins only.

use crate::ids::ConnectionId;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use shared::{SyncStatus, TablePage};

use crate::actor::Actor;
use crate::auth::AdminUser;
use crate::error::{ApiPath, ApiQuery, AppError};
use crate::services::{export, sync};
use crate::state::AppState;

/// `GET /api/connections/{id}/sync`: each table's rows, freshness, progress and error.
pub async fn sync_status(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<Json<SyncStatus>, AppError> {
    actor.may_use(&state, id).await?;
    Ok(Json(sync::status(&state, id).await?))
}

/// `POST /api/connections/{id}/sync`: **Force an update** (202; no second job while one runs).
pub async fn force_sync(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<StatusCode, AppError> {
    actor.may_use(&state, id).await?;
    sync::force(&state, id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Query of `GET /api/connections/{id}/tables/{table}`.
#[derive(Debug, Deserialize)]
pub struct RowsQuery {
    /// Rows per page (1–1000, default 100).
    limit: Option<i64>,
    /// The Stripe id the page starts after.
    after: Option<String>,
}

/// `GET /api/connections/{id}/tables/{table}`: a page of the table's Stripe objects in id order;
/// `…/{table}.csv`: the whole table as CSV.
pub async fn table_rows(
    _admin: AdminUser,
    State(state): State<AppState>,
    ApiPath((id, table)): ApiPath<(ConnectionId, String)>,
    ApiQuery(query): ApiQuery<RowsQuery>,
) -> Result<Response, AppError> {
    if let Some(name) = table.strip_suffix(".csv") {
        let body = Body::from_stream(export::csv(&state, id, name).await?);
        let disposition = format!("attachment; filename=\"stripe-{name}-{id}.csv\"");
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response());
    }
    let page: TablePage<serde_json::Value> =
        sync::rows(&state, id, &table, query.limit, query.after.as_deref()).await?;
    Ok(Json(page).into_response())
}
