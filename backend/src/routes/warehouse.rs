//! `/api/connections/{id}/warehouse`: the Data Warehouse Manager, and `…/warehouse/{table}`: a
//! table's rows as its relation holds them (Admins only).

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use shared::{Warehouse, WarehouseChange, WarehouseRows};

use crate::auth::AdminUser;
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, Refused};
use crate::ids::ConnectionId;
use crate::services::warehouse;
use crate::state::AppState;

/// `GET`: the schema and each table's columns.
#[utoipa::path(
    get, path = "/connections/{id}/warehouse", tag = "warehouse", security(("session" = ["admin"])), params(("id" = i64, Path, description = "The connection's id")),
    responses((status = 200, description = "The schema and each table's columns", body = Warehouse), Refused)
)]
pub async fn get_warehouse(
    _admin: AdminUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<Json<Warehouse>, AppError> {
    Ok(Json(warehouse::describe(&state, id).await?))
}

/// `PUT`: a new schema name and tracked flags, applied at once.
#[utoipa::path(
    put, path = "/connections/{id}/warehouse", tag = "warehouse", security(("session" = ["admin"])), params(("id" = i64, Path, description = "The connection's id")), request_body = WarehouseChange,
    responses((status = 200, description = "Applied at once: the warehouse as it is now", body = Warehouse), Refused)
)]
pub async fn put_warehouse(
    _admin: AdminUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ConnectionId>,
    ApiJson(change): ApiJson<WarehouseChange>,
) -> Result<Json<Warehouse>, AppError> {
    Ok(Json(warehouse::change(&state, id, &change).await?))
}

/// Query of `GET /api/connections/{id}/warehouse/{table}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RowsQuery {
    /// Rows per page (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The id the page starts after.
    after: Option<String>,
}

/// `GET /{table}`: rows as the relation holds them (the preview).
#[utoipa::path(
    get, path = "/connections/{id}/warehouse/{table}", tag = "warehouse", security(("session" = ["admin"])), params(("id" = i64, Path, description = "The connection's id"), ("table" = String, Path, description = "A relation: `customers`, `charges`, `coupons`, `invoices`, `plans`, `subscriptions`, `events`, `invoice_lines`, `subscription_items`"), RowsQuery),
    responses((status = 200, description = "Rows as the relation holds them, each cell as text", body = WarehouseRows), Refused)
)]
pub async fn warehouse_rows(
    _admin: AdminUser,
    State(state): State<AppState>,
    ApiPath((id, table)): ApiPath<(ConnectionId, String)>,
    ApiQuery(query): ApiQuery<RowsQuery>,
) -> Result<Json<WarehouseRows>, AppError> {
    Ok(Json(
        warehouse::rows(&state, id, &table, query.limit, query.after.as_deref()).await?,
    ))
}
