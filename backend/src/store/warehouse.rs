//! The warehouse's relations (SPEC §6.3). Per connection and table a typed table,
//! `warehouse_c<id>_<table>`, holds `id`, the tracked columns and `deleted`; it is written in the
//! same transaction as the objects' JSON (the source of truth), so it is never behind it. A view
//! named after the connection's schema shows it with its columns in order (`id`, the fields in the
//! order Stripe first sent them, `deleted` last): `"<schema>"."<table>"` on PostgreSQL (a real
//! schema), `"<schema>__<table>"` on SQLite. The columns follow what Stripe sends: a new field
//! becomes a new column (registered in `warehouse_columns`); a value that does not fit its column's
//! type is left NULL there (the JSON keeps it) and counted.

use serde_json::Value;

use super::{args, Arg, Args, Db, Dialect, StoreError, Tx};
use crate::ids::ConnectionId;
use crate::stripe::lists::ChildList;
use crate::warehouse::children;
use crate::warehouse::columns::{self, ColumnType};
use crate::warehouse::schema;

/// One column of a relation, as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseColumn {
    pub name: String,
    pub kind: ColumnType,
    pub tracked: bool,
}

/// A connection's warehouse: its schema and, per table with a relation, its columns (fields only:
/// `id` and `deleted` are always there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warehouse {
    pub schema: String,
    pub tables: Vec<(String, Vec<WarehouseColumn>)>,
}

/// Objects per statement when a relation is filled from the stored JSON.
const REFILL_BATCH: i64 = 500;

/// The typed table of `table` (names are the product's own, never Stripe's).
fn physical(connection_id: ConnectionId, table: &str) -> String {
    format!("warehouse_c{connection_id}_{table}")
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
    let exists: Option<i64> = tx
        .scalar_optional(
            "SELECT CAST(1 AS BIGINT) FROM warehouse_tables \
             WHERE connection_id = $1 AND table_name = $2",
            args![connection_id, table],
        )
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let rows: Vec<(String, String, bool)> = tx
        .fetch_all(
            "SELECT column_name, column_type, tracked FROM warehouse_columns \
             WHERE connection_id = $1 AND table_name = $2 ORDER BY position",
            args![connection_id, table],
        )
        .await?;
    rows.into_iter()
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

/// Writes `objects` (already stored as JSON, one copy of each) to `table`'s relation, and their
/// children to the child table's: created on first use (and filled from the JSON stored before it
/// existed), new fields added as columns; children their parent no longer lists are removed.
pub(super) async fn write(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    objects: &[Value],
) -> Result<(), StoreError> {
    write_relation(tx, connection_id, table, objects).await?;
    if let Some(child) = children::child_of(table) {
        write_children(tx, connection_id, child, objects).await?;
    }
    Ok(())
}

async fn write_relation(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    objects: &[Value],
) -> Result<(), StoreError> {
    let columns = match registered(tx, connection_id, table).await? {
        Some(columns) => columns,
        None => {
            create(tx, connection_id, table).await?;
            // Everything stored so far, these objects among them.
            return refill(tx, connection_id, table).await;
        }
    };
    let new = new_fields(&columns, objects);
    let columns = if new.is_empty() {
        columns
    } else {
        add_columns(tx, connection_id, table, &new).await?
    };
    upsert(tx, connection_id, table, &columns, objects).await
}

/// Writes the children of `parents` and removes those they no longer list.
async fn write_children(
    tx: &mut Tx,
    connection_id: ConnectionId,
    child: ChildList,
    parents: &[Value],
) -> Result<(), StoreError> {
    let mut listed_parents = Vec::new();
    let mut rows = Vec::new();
    for parent in parents {
        if let Some(items) = children::children(child, parent) {
            listed_parents.push(parent["id"].clone());
            rows.extend(items);
        }
    }
    if listed_parents.is_empty() {
        return Ok(());
    }
    // One row per id (PostgreSQL refuses to upsert a row twice in a statement): the last wins.
    let mut seen = std::collections::HashSet::new();
    let mut rows: Vec<Value> = rows
        .into_iter()
        .rev()
        .filter(|r| seen.insert(r["id"].as_str().unwrap_or_default().to_owned()))
        .collect();
    rows.reverse();
    write_relation(tx, connection_id, child.table(), &rows).await?;
    let key = child.parent_key();
    let has_key = registered(tx, connection_id, child.table())
        .await?
        .is_some_and(|cols| cols.iter().any(|c| c.name == key));
    if !has_key {
        return Ok(());
    }
    let ids: Vec<Value> = rows.iter().map(|r| r["id"].clone()).collect();
    let elements = |n: u8| match tx.dialect() {
        Dialect::Postgres => format!("SELECT jsonb_array_elements_text(CAST(${n} AS TEXT)::JSONB)"),
        Dialect::Sqlite => format!("SELECT value FROM json_each(${n})"),
    };
    let sql = format!(
        "DELETE FROM {} WHERE \"{key}\" IN ({}) AND id NOT IN ({})",
        physical(connection_id, child.table()),
        elements(1),
        elements(2)
    );
    tx.execute(
        &sql,
        args![
            Value::Array(listed_parents).to_string(),
            Value::Array(ids).to_string()
        ],
    )
    .await?;
    Ok(())
}

/// Fields of `objects` with no column yet, with the type their first non-null value calls for
/// (text when every value is null and the name says nothing).
fn new_fields(known: &[WarehouseColumn], objects: &[Value]) -> Vec<(String, ColumnType)> {
    let mut new: Vec<(String, Option<ColumnType>)> = Vec::new();
    for object in objects {
        for field in columns::fields(object) {
            if !columns::is_column_name(&field.name) || known.iter().any(|c| c.name == field.name) {
                continue;
            }
            match new.iter_mut().find(|(name, _)| *name == field.name) {
                Some((_, kind)) => *kind = kind.or(field.kind),
                None => new.push((field.name, field.kind)),
            }
        }
    }
    new.into_iter()
        .map(|(name, kind)| (name, kind.unwrap_or(ColumnType::Text)))
        .collect()
}

/// Registers and creates the relation (empty: `id` and `deleted`).
async fn create(tx: &mut Tx, connection_id: ConnectionId, table: &str) -> Result<(), StoreError> {
    let inserted = tx
        .execute(
            "INSERT INTO warehouse_tables (connection_id, table_name) VALUES ($1, $2) \
             ON CONFLICT (connection_id, table_name) DO NOTHING",
            args![connection_id, table],
        )
        .await?;
    if inserted == 1 {
        tx.execute(
            &format!(
                "CREATE TABLE IF NOT EXISTS {} (id TEXT PRIMARY KEY, \
                 deleted BOOLEAN NOT NULL DEFAULT FALSE)",
                physical(connection_id, table)
            ),
            args![],
        )
        .await?;
        rebuild_view(tx, connection_id, table).await?;
    }
    Ok(())
}

/// Adds `new` columns (those another writer has not added meanwhile); the relation's columns after.
async fn add_columns(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    new: &[(String, ColumnType)],
) -> Result<Vec<WarehouseColumn>, StoreError> {
    // One writer at a time changes a relation's columns (PostgreSQL: the row lock waits for
    // another writer's transaction, and what it added is read after).
    tx.execute(
        "UPDATE warehouse_tables SET misfits = misfits WHERE connection_id = $1 AND table_name = $2",
        args![connection_id, table],
    )
    .await?;
    let mut columns = registered(tx, connection_id, table)
        .await?
        .unwrap_or_default();
    let dialect = tx.dialect();
    let mut added = false;
    for (name, kind) in new {
        if columns.iter().any(|c| c.name == *name) {
            continue;
        }
        tx.execute(
            "INSERT INTO warehouse_columns \
                 (connection_id, table_name, column_name, column_type, position, tracked) \
             VALUES ($1, $2, $3, $4, $5, TRUE)",
            args![
                connection_id,
                table,
                name.as_str(),
                kind.as_str(),
                i64::try_from(columns.len()).unwrap_or(i64::MAX)
            ],
        )
        .await?;
        tx.execute(
            &format!(
                "ALTER TABLE {} ADD COLUMN \"{name}\" {}",
                physical(connection_id, table),
                sql_type(dialect, *kind)
            ),
            args![],
        )
        .await?;
        columns.push(WarehouseColumn {
            name: name.clone(),
            kind: *kind,
            tracked: true,
        });
        added = true;
    }
    if added {
        rebuild_view(tx, connection_id, table).await?;
    }
    Ok(columns)
}

/// The most bound values in one statement (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_BINDS: usize = 30_000;

/// A value as bound for a column of type `kind` (each type binds as one driver type, so a NULL is
/// typed too): text, JSON and numeric as text, integer, timestamp (Unix seconds) and boolean (0
/// or 1) as integers. `None` when the value does not fit the column.
fn bound(kind: ColumnType, value: &Value) -> Option<Arg<'static>> {
    if !columns::fits(kind, value) {
        return None;
    }
    Some(match kind {
        ColumnType::Text => Arg::from(value.as_str().map(str::to_owned)),
        ColumnType::Integer | ColumnType::Timestamp => Arg::from(value.as_i64()),
        ColumnType::Boolean => Arg::from(value.as_bool().map(i64::from)),
        ColumnType::Numeric => Arg::from((!value.is_null()).then(|| value.to_string())),
        ColumnType::Json => Arg::from((!value.is_null()).then(|| value.to_string())),
    })
}

/// A NULL of the type `kind` binds as.
fn null(kind: ColumnType) -> Arg<'static> {
    match kind {
        ColumnType::Integer | ColumnType::Timestamp | ColumnType::Boolean => Arg::from(None::<i64>),
        _ => Arg::from(None::<String>),
    }
}

/// The SQL that turns bound value `$n` into the column's type.
fn placeholder(dialect: Dialect, kind: ColumnType, n: usize) -> String {
    match (dialect, kind) {
        (_, ColumnType::Numeric) => format!("CAST(${n} AS NUMERIC)"),
        (Dialect::Postgres, ColumnType::Boolean) => format!("(${n} <> 0)"),
        (Dialect::Postgres, ColumnType::Timestamp) => format!("to_timestamp(${n})"),
        (Dialect::Postgres, ColumnType::Json) => format!("CAST(${n} AS JSONB)"),
        (Dialect::Sqlite, ColumnType::Timestamp) => format!("datetime(${n}, 'unixepoch')"),
        _ => format!("${n}"),
    }
}

/// Writes `objects` to the relation in multi-row upserts, each value bound as its column's type
/// (read from the object once, never parsed again by the database).
async fn upsert(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    columns: &[WarehouseColumn],
    objects: &[Value],
) -> Result<(), StoreError> {
    if objects.is_empty() {
        return Ok(());
    }
    let dialect = tx.dialect();
    let tracked: Vec<&WarehouseColumn> = columns.iter().filter(|c| c.tracked).collect();
    let mut names = String::from("id, deleted");
    let mut updates = String::from("deleted = excluded.deleted");
    for column in &tracked {
        let name = &column.name;
        names.push_str(&format!(", \"{name}\""));
        updates.push_str(&format!(", \"{name}\" = excluded.\"{name}\""));
    }
    let per_row = tracked.len() + 2;
    let mut misfits = 0_i64;
    for chunk in objects.chunks((MAX_BINDS / per_row).max(1)) {
        let mut args = Args::new();
        let mut rows = Vec::with_capacity(chunk.len());
        for object in chunk {
            let mut cells: Vec<Option<Arg<'static>>> = vec![None; tracked.len()];
            for field in columns::fields(object) {
                if field.value.is_null() {
                    continue;
                }
                if let Some(i) = tracked.iter().position(|c| c.name == field.name) {
                    cells[i] = bound(tracked[i].kind, &field.value);
                    misfits += i64::from(cells[i].is_none());
                }
            }
            let first = args.len() + 1;
            args.push(object["id"].as_str().unwrap_or_default().to_owned());
            args.push(object["deleted"].as_bool().unwrap_or(false));
            let mut row = format!("(${first}, ${}", first + 1);
            for (i, (cell, column)) in cells.into_iter().zip(&tracked).enumerate() {
                args.push(cell.unwrap_or_else(|| null(column.kind)));
                row.push_str(", ");
                row.push_str(&placeholder(dialect, column.kind, first + 2 + i));
            }
            row.push(')');
            rows.push(row);
        }
        let sql = format!(
            "INSERT INTO {} ({names}) VALUES {} ON CONFLICT (id) DO UPDATE SET {updates}",
            physical(connection_id, table),
            rows.join(", ")
        );
        tx.execute(&sql, args).await?;
    }
    if misfits > 0 {
        tx.execute(
            "UPDATE warehouse_tables SET misfits = misfits + $3 \
             WHERE connection_id = $1 AND table_name = $2",
            args![connection_id, table, misfits],
        )
        .await?;
    }
    Ok(())
}

/// Fills the relation from the JSON stored for `table` (its first use, a column tracked again).
async fn refill(tx: &mut Tx, connection_id: ConnectionId, table: &str) -> Result<(), StoreError> {
    // A child table follows from its parents' JSON.
    let child = children::as_child(table);
    let source = format!("stripe_{}", child.map_or(table, |c| c.parent().name()));
    let mut after = String::new();
    loop {
        let page: Vec<(String, String, bool)> = tx
            .fetch_all(
                &format!(
                    "SELECT id, object, deleted FROM {source} \
                     WHERE connection_id = $1 AND id > $2 ORDER BY id LIMIT $3"
                ),
                args![connection_id, after.as_str(), REFILL_BATCH],
            )
            .await?;
        let Some((last, ..)) = page.last() else {
            return Ok(());
        };
        after = last.clone();
        let objects: Vec<Value> = page
            .into_iter()
            .map(|(_, object, deleted)| {
                let mut object: Value = serde_json::from_str(&object)
                    .map_err(|e| StoreError::Corrupt(format!("stored object: {e}")))?;
                object["deleted"] = Value::Bool(deleted);
                Ok(object)
            })
            .collect::<Result<_, StoreError>>()?;
        let objects: Vec<Value> = match child {
            Some(child) => objects
                .iter()
                .filter_map(|parent| children::children(child, parent))
                .flatten()
                .collect(),
            None => objects,
        };
        let columns = registered(tx, connection_id, table)
            .await?
            .unwrap_or_default();
        let new = new_fields(&columns, &objects);
        let columns = if new.is_empty() {
            columns
        } else {
            add_columns(tx, connection_id, table, &new).await?
        };
        upsert(tx, connection_id, table, &columns, &objects).await?;
    }
}

/// Marks deleted in the relation what the JSON says is deleted: the objects `ids` (an event told
/// of them), or every one (a full pass marked what it did not list).
pub(super) async fn mark_deleted(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    ids: Option<&[&str]>,
) -> Result<(), StoreError> {
    if registered(tx, connection_id, table).await?.is_none() {
        return Ok(());
    }
    let relation = physical(connection_id, table);
    match ids {
        Some(ids) => {
            for id in ids {
                tx.execute(
                    &format!("UPDATE {relation} SET deleted = TRUE WHERE id = $1"),
                    args![*id],
                )
                .await?;
            }
        }
        None => {
            tx.execute(
                &format!(
                    "UPDATE {relation} SET deleted = TRUE WHERE deleted = FALSE AND id IN \
                     (SELECT id FROM stripe_{table} WHERE connection_id = $1 AND deleted = TRUE)"
                ),
                args![connection_id],
            )
            .await?;
        }
    }
    Ok(())
}

/// The connection's schema name, given now if it has none (`stripe_` and its account's name, the
/// first free one).
async fn schema_of(tx: &mut Tx, connection_id: ConnectionId) -> Result<String, StoreError> {
    let lock = tx.dialect().for_update();
    let (current, account): (Option<String>, String) = tx
        .fetch_one(
            &format!("SELECT warehouse_schema, display_name FROM connections WHERE id = $1{lock}"),
            args![connection_id],
        )
        .await?;
    if let Some(current) = current {
        return Ok(current);
    }
    let base = schema::default_name(&account);
    // Every name the base or a suffixed one could collide with (`_` matches any character here,
    // so this is a superset).
    let like = format!("{}%", &base[..base.len().min(schema::MAX_LEN - 4)]);
    let mut taken: Vec<String> = tx
        .scalar_all(
            "SELECT warehouse_schema FROM connections WHERE warehouse_schema LIKE $1",
            args![like.as_str()],
        )
        .await?;
    if tx.dialect() == Dialect::Postgres {
        taken.extend(
            tx.scalar_all::<String>(
                "SELECT CAST(nspname AS TEXT) FROM pg_namespace WHERE nspname LIKE $1",
                args![like.as_str()],
            )
            .await?,
        );
    }
    let name = schema::first_free(&base, |name| taken.iter().any(|t| t == name));
    tx.execute(
        "UPDATE connections SET warehouse_schema = $2 WHERE id = $1",
        args![connection_id, name.as_str()],
    )
    .await?;
    Ok(name)
}

/// Whether `name` is another connection's schema, or (PostgreSQL) a schema that is not ours.
async fn schema_taken(tx: &mut Tx, name: &str) -> Result<bool, StoreError> {
    let ours: Option<i64> = tx
        .scalar_optional(
            "SELECT id FROM connections WHERE warehouse_schema = $1",
            args![name],
        )
        .await?;
    if ours.is_some() {
        return Ok(true);
    }
    Ok(match tx.dialect() {
        Dialect::Postgres => tx
            .scalar_optional::<i64>(
                "SELECT CAST(1 AS BIGINT) FROM pg_namespace WHERE nspname = $1",
                args![name],
            )
            .await?
            .is_some(),
        Dialect::Sqlite => false,
    })
}

/// Creates (again) the view of `table`: `id`, the tracked columns in order, `deleted`.
async fn rebuild_view(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
) -> Result<(), StoreError> {
    let schema = schema_of(tx, connection_id).await?;
    let columns = registered(tx, connection_id, table)
        .await?
        .unwrap_or_default();
    let dialect = tx.dialect();
    if dialect == Dialect::Postgres {
        tx.execute(
            &format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""),
            args![],
        )
        .await?;
    }
    let view = view(dialect, &schema, table);
    tx.execute(&format!("DROP VIEW IF EXISTS {view}"), args![])
        .await?;
    let fields: String = columns
        .iter()
        .filter(|c| c.tracked)
        .map(|c| format!(", \"{}\"", c.name))
        .collect();
    tx.execute(
        &format!(
            "CREATE VIEW {view} AS SELECT id{fields}, deleted FROM {}",
            physical(connection_id, table)
        ),
        args![],
    )
    .await?;
    if dialect == Dialect::Postgres {
        super::warehouse_readers::grant_view(tx, connection_id, &schema, &view).await?;
    }
    Ok(())
}

/// The tables that have a relation, in the order they were created.
async fn tables_of(tx: &mut Tx, connection_id: ConnectionId) -> Result<Vec<String>, StoreError> {
    tx.scalar_all(
        "SELECT table_name FROM warehouse_tables WHERE connection_id = $1 ORDER BY table_name",
        args![connection_id],
    )
    .await
}

/// The connection's warehouse (its schema given now if it had none); `None`: no such connection.
pub async fn warehouse(
    pool: &Db,
    connection_id: ConnectionId,
) -> Result<Option<Warehouse>, StoreError> {
    let mut tx = pool.begin().await?;
    let exists: Option<i64> = tx
        .scalar_optional(
            "SELECT id FROM connections WHERE id = $1",
            args![connection_id],
        )
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let schema = schema_of(&mut tx, connection_id).await?;
    let mut tables = Vec::new();
    for table in tables_of(&mut tx, connection_id).await? {
        let columns = registered(&mut tx, connection_id, &table)
            .await?
            .unwrap_or_default();
        tables.push((table, columns));
    }
    tx.commit().await?;
    Ok(Some(Warehouse { schema, tables }))
}

/// Why a change to a warehouse was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarehouseRefusal {
    /// No such connection.
    NotFound,
    /// The schema name is another connection's (or, on PostgreSQL, a schema not ours).
    SchemaTaken,
    /// A table or column named that has no relation or column.
    UnknownColumn(String),
}

/// Renames the schema and sets which columns are tracked, at once: the views follow, an untracked
/// column leaves its relation (its values stay in the JSON), one tracked again is filled from it.
pub async fn change_warehouse(
    pool: &Db,
    connection_id: ConnectionId,
    new_schema: &str,
    tracked: &[(String, String, bool)],
) -> Result<Result<(), WarehouseRefusal>, StoreError> {
    let mut tx = pool.begin().await?;
    let exists: Option<i64> = tx
        .scalar_optional(
            "SELECT id FROM connections WHERE id = $1",
            args![connection_id],
        )
        .await?;
    if exists.is_none() {
        return Ok(Err(WarehouseRefusal::NotFound));
    }
    let dialect = tx.dialect();
    let old_schema = schema_of(&mut tx, connection_id).await?;
    let tables = tables_of(&mut tx, connection_id).await?;
    if new_schema != old_schema {
        if schema_taken(&mut tx, new_schema).await? {
            return Ok(Err(WarehouseRefusal::SchemaTaken));
        }
        match dialect {
            // The schema exists once a relation does.
            Dialect::Postgres if tables.is_empty() => {}
            Dialect::Postgres => {
                tx.execute(
                    &format!("ALTER SCHEMA \"{old_schema}\" RENAME TO \"{new_schema}\""),
                    args![],
                )
                .await?;
            }
            Dialect::Sqlite => {
                for table in &tables {
                    tx.execute(
                        &format!("DROP VIEW IF EXISTS {}", view(dialect, &old_schema, table)),
                        args![],
                    )
                    .await?;
                }
            }
        }
        tx.execute(
            "UPDATE connections SET warehouse_schema = $2 WHERE id = $1",
            args![connection_id, new_schema],
        )
        .await?;
    }
    let mut changed: Vec<&str> = Vec::new();
    let mut refill_tables: Vec<&str> = Vec::new();
    for (table, column, want) in tracked {
        let Some(current) = registered(&mut tx, connection_id, table)
            .await?
            .and_then(|cols| cols.into_iter().find(|c| c.name == *column))
        else {
            return Ok(Err(WarehouseRefusal::UnknownColumn(format!(
                "{table}.{column}"
            ))));
        };
        if current.tracked == *want {
            continue;
        }
        tx.execute(
            "UPDATE warehouse_columns SET tracked = $4 \
             WHERE connection_id = $1 AND table_name = $2 AND column_name = $3",
            args![connection_id, table.as_str(), column.as_str(), *want],
        )
        .await?;
        let relation = physical(connection_id, table);
        // The view goes first: a column a view shows cannot be dropped. (Renamed, it is under
        // the new name on PostgreSQL and gone on SQLite.)
        tx.execute(
            &format!("DROP VIEW IF EXISTS {}", view(dialect, new_schema, table)),
            args![],
        )
        .await?;
        if *want {
            tx.execute(
                &format!(
                    "ALTER TABLE {relation} ADD COLUMN \"{column}\" {}",
                    sql_type(dialect, current.kind)
                ),
                args![],
            )
            .await?;
            refill_tables.push(table);
        } else {
            tx.execute(
                &format!("ALTER TABLE {relation} DROP COLUMN \"{column}\""),
                args![],
            )
            .await?;
        }
        changed.push(table);
    }
    for table in &refill_tables {
        refill(&mut tx, connection_id, table).await?;
    }
    for table in &tables {
        if new_schema != old_schema && dialect == Dialect::Sqlite
            || changed.contains(&table.as_str())
        {
            rebuild_view(&mut tx, connection_id, table).await?;
        }
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Drops the connection's relations and views, once its row is deleted.
pub(super) async fn drop_all(
    tx: &mut Tx,
    connection_id: ConnectionId,
    schema: Option<&str>,
) -> Result<(), StoreError> {
    let dialect = tx.dialect();
    // Every relation a connection may have (its registry rows are gone with it already).
    let tables = crate::warehouse::TABLES;
    if let Some(schema) = schema {
        match dialect {
            Dialect::Postgres => {
                tx.execute(
                    &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
                    args![],
                )
                .await?;
            }
            Dialect::Sqlite => {
                for table in &tables {
                    tx.execute(
                        &format!("DROP VIEW IF EXISTS {}", view(dialect, schema, table)),
                        args![],
                    )
                    .await?;
                }
            }
        }
    }
    for table in &tables {
        tx.execute(
            &format!("DROP TABLE IF EXISTS {}", physical(connection_id, table)),
            args![],
        )
        .await?;
    }
    Ok(())
}

/// A page of a relation: its columns (`id`, the tracked ones, `deleted`) and rows of text cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationPage {
    pub columns: Vec<WarehouseColumn>,
    pub rows: Vec<Vec<Option<String>>>,
    pub has_more: bool,
}

/// A cell of column `name` as text, the same on both databases: times as ISO 8601 in UTC
/// (`2024-01-31T12:00:00Z`), booleans as `true`/`false`, JSON as its text.
fn as_text(dialect: Dialect, name: &str, kind: ColumnType) -> String {
    let c = format!("\"{name}\"");
    match (dialect, kind) {
        (_, ColumnType::Boolean) => {
            format!("CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END")
        }
        (Dialect::Postgres, ColumnType::Timestamp) => {
            format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
        }
        (Dialect::Sqlite, ColumnType::Timestamp) => format!("strftime('%Y-%m-%dT%H:%M:%SZ', {c})"),
        _ => format!("CAST({c} AS TEXT)"),
    }
}

/// Rows of `table`'s relation in id order after `after`, at most `limit`; `None`: no such
/// connection. A table without a relation yet has `id` and `deleted` and no rows.
pub async fn relation_rows(
    pool: &Db,
    connection_id: ConnectionId,
    table: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Option<RelationPage>, StoreError> {
    let mut tx = pool.begin().await?;
    let exists: Option<i64> = tx
        .scalar_optional(
            "SELECT id FROM connections WHERE id = $1",
            args![connection_id],
        )
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let registered = registered(&mut tx, connection_id, table).await?;
    tx.commit().await?;
    let fixed = |name: &str, kind| WarehouseColumn {
        name: name.to_owned(),
        kind,
        tracked: true,
    };
    let mut columns = vec![fixed("id", ColumnType::Text)];
    columns.extend(registered.iter().flatten().filter(|c| c.tracked).cloned());
    columns.push(fixed("deleted", ColumnType::Boolean));
    if registered.is_none() {
        return Ok(Some(RelationPage {
            columns,
            rows: Vec::new(),
            has_more: false,
        }));
    }
    let dialect = pool.dialect();
    let cells: Vec<String> = columns
        .iter()
        .map(|c| as_text(dialect, &c.name, c.kind))
        .collect();
    let mut rows = pool
        .fetch_text_rows(
            &format!(
                "SELECT {} FROM {} WHERE id > $1 ORDER BY id LIMIT $2",
                cells.join(", "),
                physical(connection_id, table)
            ),
            args![after.unwrap_or(""), limit + 1],
        )
        .await?;
    let has_more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(Some(RelationPage {
        columns,
        rows,
        has_more,
    }))
}
