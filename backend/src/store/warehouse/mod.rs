//! The warehouse's relations (SPEC §6.3). Per connection and table a typed table,
//! `warehouse_c<id>_<table>`, holds `id`, the tracked columns and `deleted`; it is written in the
//! same transaction as the objects' JSON (the source of truth), so it is never behind it. A view
//! named after the connection's schema shows it with its columns in order (`id`, the fields in the
//! order Stripe first sent them, `deleted` last): `"<schema>"."<table>"` on PostgreSQL (a real
//! schema), `"<schema>__<table>"` on SQLite. The columns follow what Stripe sends: a new field
//! becomes a new column (registered in `warehouse_columns`); a value that does not fit its column's
//! type is left NULL there (the JSON keeps it) and counted.

mod manager;
mod readers;
mod rows;
mod upsert;
mod views;
mod write;

pub use manager::{change_warehouse, warehouse, WarehouseRefusal};
pub use readers::{create_reader, organizations_named, ReaderRefusal};
pub use rows::{relation_rows, RelationPage};
pub(super) use views::drop_all;
pub(super) use write::{mark_deleted, write};

use crate::ids::ConnectionId;
use crate::store::{args, Dialect, StoreError, Tx};
use crate::warehouse::columns::ColumnType;

/// One column of a relation, as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseColumn {
    pub name: String,
    pub kind: ColumnType,
    pub tracked: bool,
}

/// A connection's warehouse: its schema and its relations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warehouse {
    pub schema: String,
    pub tables: Vec<Relation>,
}

/// One table's relation: its columns (fields only: `id` and `deleted` are always there) and how
/// many values did not fit their column's type (stored NULL there, kept in the JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub name: String,
    pub columns: Vec<WarehouseColumn>,
    pub misfits: i64,
}

/// Names the connection's schema (on PostgreSQL, creates it) before a pass writes its pages. The
/// writers then only read the name: one naming it would hold the connection's row alone, and its
/// uncommitted schema, until its whole batch committed, and every writer with a page of that
/// connection would wait for it (sixty new connections at once were written nearly one at a time).
pub(in crate::store) async fn prepare(
    tx: &mut Tx,
    connection_id: ConnectionId,
) -> Result<(), StoreError> {
    let schema = views::schema_of(tx, connection_id, false).await?;
    if tx.dialect() == Dialect::Postgres {
        tx.execute(
            &format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""),
            args![],
        )
        .await?;
    }
    Ok(())
}

/// The typed table of `table` (names are the product's own, never Stripe's).
fn physical(connection_id: ConnectionId, table: &str) -> String {
    format!("warehouse_c{connection_id}_{table}")
}

/// The ids of a JSON array bound as parameter `$n`, as rows for `IN (…)`.
fn id_set(dialect: Dialect, n: u8) -> String {
    match dialect {
        Dialect::Postgres => format!("SELECT jsonb_array_elements_text(CAST(${n} AS TEXT)::JSONB)"),
        Dialect::Sqlite => format!("SELECT value FROM json_each(${n})"),
    }
}

/// The view under which `table` is shown in `schema`.
fn view(dialect: Dialect, schema: &str, table: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("\"{schema}\".\"{table}\""),
        Dialect::Sqlite => format!("\"{schema}__{table}\""),
    }
}

/// The name a relation has in `schema` (what the README and the reader see).
pub fn relation_name(dialect: Dialect, schema: &str, table: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("{schema}.{table}"),
        Dialect::Sqlite => format!("{schema}__{table}"),
    }
}

/// The column type of `kind` on `dialect`.
fn sql_type(dialect: Dialect, kind: ColumnType) -> &'static str {
    match (dialect, kind) {
        (_, ColumnType::Text) => "TEXT",
        (Dialect::Postgres, ColumnType::Integer) => "BIGINT",
        (Dialect::Sqlite, ColumnType::Integer) => "INTEGER",
        (_, ColumnType::Numeric) => "NUMERIC",
        (_, ColumnType::Boolean) => "BOOLEAN",
        (Dialect::Postgres, ColumnType::Timestamp) => "TIMESTAMPTZ",
        (Dialect::Sqlite, ColumnType::Timestamp) => "TIMESTAMP",
        (Dialect::Postgres, ColumnType::Json) => "JSONB",
        (Dialect::Sqlite, ColumnType::Json) => "JSON",
    }
}

/// The relation's registered columns in order; `None` when it has no relation yet.
async fn registered(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
) -> Result<Option<Vec<WarehouseColumn>>, StoreError> {
    // One read: the relation's row, joined to its columns (none yet: one row of NULLs).
    let rows: Vec<(Option<String>, Option<String>, Option<bool>)> = tx
        .fetch_all(
            "SELECT c.column_name, c.column_type, c.tracked FROM warehouse_tables t \
             LEFT JOIN warehouse_columns c \
                 ON c.connection_id = t.connection_id AND c.table_name = t.table_name \
             WHERE t.connection_id = $1 AND t.table_name = $2 ORDER BY c.position",
            args![connection_id, table],
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    rows.into_iter()
        .filter_map(|(name, kind, tracked)| Some((name?, kind?, tracked?)))
        .map(|(name, kind, tracked)| {
            let kind = ColumnType::from_wire(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("column type {kind}")))?;
            Ok(WarehouseColumn {
                name,
                kind,
                tracked,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The tables that have a relation, by name.
async fn tables_of(tx: &mut Tx, connection_id: ConnectionId) -> Result<Vec<String>, StoreError> {
    tx.scalar_all(
        "SELECT table_name FROM warehouse_tables WHERE connection_id = $1 ORDER BY table_name",
        args![connection_id],
    )
    .await
}

/// The tables that have a relation, by name, with their misfits.
async fn misfits_of(
    tx: &mut Tx,
    connection_id: ConnectionId,
) -> Result<Vec<(String, i64)>, StoreError> {
    tx.fetch_all(
        "SELECT table_name, misfits FROM warehouse_tables WHERE connection_id = $1 \
         ORDER BY table_name",
        args![connection_id],
    )
    .await
}

/// Whether the connection exists (read in the caller's transaction).
async fn connection_exists(tx: &mut Tx, connection_id: ConnectionId) -> Result<bool, StoreError> {
    let found: Option<i64> = tx
        .scalar_optional(
            "SELECT id FROM connections WHERE id = $1",
            args![connection_id],
        )
        .await?;
    Ok(found.is_some())
}
