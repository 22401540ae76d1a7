//! `/api/connections/{id}/warehouse`: the Data Warehouse Manager (Admins only).

use axum::extract::State;
use axum::Json;
use shared::{Warehouse, WarehouseChange};

use crate::auth::AdminUser;
use crate::error::{ApiJson, ApiPath, AppError};
use crate::ids::ConnectionId;
use crate::services::warehouse;
use crate::state::AppState;

/// `GET`: the schema and each table's columns.
pub async fn get_warehouse(
    _admin: AdminUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<Json<Warehouse>, AppError> {
    Ok(Json(warehouse::describe(&state, id).await?))
}

/// `PUT`: a new schema name and tracked flags, applied at once.
pub async fn put_warehouse(
    _admin: AdminUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ConnectionId>,
    ApiJson(change): ApiJson<WarehouseChange>,
) -> Result<Json<Warehouse>, AppError> {
    Ok(Json(warehouse::change(&state, id, &change).await?))
}
