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
use crate::error::{ApiPath, ApiQuery, AppError, Refused};
use crate::services::{export, sync};
use crate::state::AppState;

/// `GET /api/connections/{id}/sync`: each table's rows, freshness, progress and error.
#[utoipa::path(
    get, path = "/connections/{id}/sync", tag = "sync", security(("session" = ["admin"]), ("connect_session" = [])), params(("id" = i64, Path, description = "The connection's id")),
    responses((status = 200, description = "Each table's rows, freshness, progress and error", body = SyncStatus), Refused)
)]
pub async fn sync_status(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<Json<SyncStatus>, AppError> {
    actor.may_use(&state, id).await?;
    Ok(Json(sync::status(&state, id).await?))
}

/// `POST /api/connections/{id}/sync`: **Force an update** (202; no second job while one runs).
#[utoipa::path(
    post, path = "/connections/{id}/sync", tag = "sync", security(("session" = ["admin"]), ("connect_session" = [])), params(("id" = i64, Path, description = "The connection's id")),
    responses((status = 202, description = "Force an update: a sync is queued (never a second one while one runs)"), Refused)
)]
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RowsQuery {
    /// Rows per page (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The Stripe id the page starts after.
    after: Option<String>,
}

/// `GET /api/connections/{id}/tables/{table}`: a page of the table's Stripe objects in id order;
/// `…/{table}.csv`: the whole table as CSV.
#[utoipa::path(
    get, path = "/connections/{id}/tables/{table}", tag = "sync", security(("session" = ["admin"])), params(("id" = i64, Path, description = "The connection's id"), ("table" = String, Path, description = "A synced list: `customers`, `charges`, `coupons`, `invoices`, `plans`, `subscriptions`, `events` (its Stripe objects as JSON); or `<table>.csv`, also of `invoice_lines` and `subscription_items` (the table as its warehouse relation holds it, as CSV)"), RowsQuery),
    responses(
        (status = 200, description = "A page of the table's Stripe objects in id order; with `.csv`, the whole table as CSV",
            content(
                (TablePage<serde_json::Value> = "application/json"),
                (String = "text/csv")
            )),
        Refused)
)]
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
