//! The Data Warehouse Manager's API (`/api/connections/{id}/warehouse`, SPEC §6.3): a connection's
//! schema and, per table, its columns with their types and whether they are tracked.

use serde::{Deserialize, Serialize};

/// A column's type in the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    Text,
    Integer,
    Numeric,
    Boolean,
    Timestamp,
    Json,
}

wire_names!(ColumnType {
    Text => "text",
    Integer => "integer",
    Numeric => "numeric",
    Boolean => "boolean",
    Timestamp => "timestamp",
    Json => "json",
});

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarehouseColumn {
    /// `id`, a field's name (`email`, `address_city`), `deleted`.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// In the relation (`id` and `deleted` always are).
    pub tracked: bool,
}

/// One table of the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarehouseTable {
    /// `customers`, …, `invoice_lines`, `subscription_items`.
    pub name: String,
    /// `id` first, the fields in the order Stripe first sent them, `deleted` last.
    pub columns: Vec<WarehouseColumn>,
    /// Values written that did not fit their column's type (counted each time one is written):
    /// NULL in the relation, kept in the object's JSON (never a failed sync).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(default)]
    pub misfits: u64,
}

/// `GET /api/connections/{id}/warehouse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Warehouse {
    /// The schema's name: `[a-z_][a-z0-9_]{0,62}`.
    pub schema: String,
    /// Every table, in the help page's order.
    pub tables: Vec<WarehouseTable>,
}

/// One column of a [`WarehouseChange`] (its `type`, if sent back, is ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ColumnChange {
    pub name: String,
    pub tracked: bool,
}

/// One table of a [`WarehouseChange`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TableChange {
    pub name: String,
    #[serde(default)]
    pub columns: Vec<ColumnChange>,
}

/// `PUT /api/connections/{id}/warehouse`: the schema's name and the columns' `tracked` flags (the
/// shape `GET` answers; tables and columns left out keep theirs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarehouseChange {
    pub schema: String,
    #[serde(default)]
    pub tables: Vec<TableChange>,
}

/// `GET /api/connections/{id}/warehouse/{table}`: rows of a table as its relation holds them
/// (the Data Warehouse Manager's columns), each cell as text — times in ISO 8601 UTC, booleans
/// `true`/`false`, JSON as its text — or null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarehouseRows {
    /// `id`, the tracked columns in order, `deleted`.
    pub columns: Vec<WarehouseColumn>,
    /// One cell per column, in id order.
    pub rows: Vec<Vec<Option<String>>>,
    /// More rows follow the last one (ask again with `after` its id).
    pub has_more: bool,
}
