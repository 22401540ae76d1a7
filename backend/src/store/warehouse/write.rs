//! Writing the relations: in the transaction that stores a page's JSON, each object's typed row
//! (bound as its columns' types), new fields added as columns, child rows derived from their
//! parents, and a relation filled from the JSON stored before it existed.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::views::rebuild_view;
use super::{physical, registered, sql_type, WarehouseColumn};
use crate::ids::ConnectionId;
use crate::store::{args, Arg, Args, Dialect, StoreError, Tx};
use crate::warehouse::children;
use crate::warehouse::columns::{self, Cell, ColumnType};
use crate::warehouse::staged::{self, ChildRows, Row, Staged};

/// Objects per statement when a relation is filled from the stored JSON.
const REFILL_BATCH: i64 = 500;

/// Writes a page's staged rows (its objects already stored as JSON) to `table`'s relation, and
/// their children to the child table's: created on first use (and filled from the JSON stored
/// before it existed), new fields added as columns; children their parent no longer lists are
/// removed.
pub(in crate::store) async fn write(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    staged: &Staged,
) -> Result<(), StoreError> {
    write_relation(tx, connection_id, table, &staged.rows).await?;
    if let Some(children) = &staged.children {
        write_children(tx, connection_id, children).await?;
    }
    Ok(())
}

pub(super) async fn write_relation(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    rows: &[Row],
) -> Result<(), StoreError> {
    let Some(columns) = registered(tx, connection_id, table).await? else {
        // Its first use: made from everything stored so far (these objects among them).
        return refill(tx, connection_id, table).await;
    };
    let columns = with_fields_of(tx, connection_id, table, columns, rows).await?;
    upsert(tx, connection_id, table, &columns, rows).await
}

/// The relation's columns once the fields of `rows` it lacks are added.
async fn with_fields_of(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    columns: Vec<WarehouseColumn>,
    rows: &[Row],
) -> Result<Vec<WarehouseColumn>, StoreError> {
    let new = new_fields(&columns, rows);
    if new.is_empty() {
        Ok(columns)
    } else {
        add_columns(tx, connection_id, table, &new).await
    }
}

/// Writes a page's child rows and removes the children their parents no longer list.
pub(super) async fn write_children(
    tx: &mut Tx,
    connection_id: ConnectionId,
    children: &ChildRows,
) -> Result<(), StoreError> {
    let child = children.child;
    write_relation(tx, connection_id, child.table(), &children.rows).await?;
    let key = child.parent_key();
    let has_key = registered(tx, connection_id, child.table())
        .await?
        .is_some_and(|cols| cols.iter().any(|c| c.name == key));
    if !has_key {
        return Ok(());
    }
    let ids: Vec<&str> = children.rows.iter().map(|r| r.id.as_str()).collect();
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
            serde_json::to_string(&children.parents).unwrap_or_default(),
            serde_json::to_string(&ids).unwrap_or_default()
        ],
    )
    .await?;
    Ok(())
}

/// Fields of the (flattened) objects with no column yet, with the type their first non-null
/// value calls for (text when every value is null and the name says nothing).
pub(super) fn new_fields(known: &[WarehouseColumn], rows: &[Row]) -> Vec<(String, ColumnType)> {
    let known: HashSet<&str> = known.iter().map(|c| c.name.as_str()).collect();
    let mut new: Vec<(String, Option<ColumnType>)> = Vec::new();
    for field in rows.iter().flat_map(|r| &r.fields) {
        if known.contains(&*field.name) || !columns::is_column_name(&field.name) {
            continue;
        }
        match new.iter_mut().find(|(name, _)| **name == *field.name) {
            Some((_, kind)) => *kind = kind.or(field.kind),
            None => new.push((field.name.to_string(), field.kind)),
        }
    }
    new.into_iter()
        .map(|(name, kind)| (name, kind.unwrap_or(ColumnType::Text)))
        .collect()
}

/// Registers and creates the relation with `fields` as its first columns, in one statement (each
/// change to the schema costs SQLite a re-read of all of it, and every prepared statement). `None`
/// when another writer registered it first (its columns are then read under its lock).
pub(super) async fn create(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    fields: &[(String, ColumnType)],
) -> Result<Option<Vec<WarehouseColumn>>, StoreError> {
    let inserted = tx
        .execute(
            "INSERT INTO warehouse_tables (connection_id, table_name) VALUES ($1, $2) \
             ON CONFLICT (connection_id, table_name) DO NOTHING",
            args![connection_id, table],
        )
        .await?;
    if inserted != 1 {
        return Ok(None);
    }
    let dialect = tx.dialect();
    let mut definition = String::from("id TEXT PRIMARY KEY");
    let mut columns = Vec::with_capacity(fields.len());
    for (name, kind) in fields {
        definition.push_str(&format!(", \"{name}\" {}", sql_type(dialect, *kind)));
        columns.push(WarehouseColumn {
            name: name.clone(),
            kind: *kind,
            tracked: true,
        });
    }
    register_columns(tx, connection_id, table, fields, 0).await?;
    tx.execute(
        &format!(
            "CREATE TABLE IF NOT EXISTS {} ({definition}, \
             deleted BOOLEAN NOT NULL DEFAULT FALSE)",
            physical(connection_id, table)
        ),
        args![],
    )
    .await?;
    rebuild_view(tx, connection_id, table).await?;
    Ok(Some(columns))
}

/// Registers (tracked) columns from `first` on, in one statement.
async fn register_columns(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    fields: &[(String, ColumnType)],
    first: usize,
) -> Result<(), StoreError> {
    if fields.is_empty() {
        return Ok(());
    }
    let mut args = Args::new();
    let mut rows = Vec::with_capacity(fields.len());
    for (i, (name, kind)) in fields.iter().enumerate() {
        let n = args.len();
        rows.push(format!(
            "(${}, ${}, ${}, ${}, ${}, TRUE)",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5
        ));
        args.push(connection_id);
        args.push(table);
        args.push(name.as_str());
        args.push(kind.as_str());
        args.push(i64::try_from(first + i).unwrap_or(i64::MAX));
    }
    tx.execute(
        &format!(
            "INSERT INTO warehouse_columns \
                 (connection_id, table_name, column_name, column_type, position, tracked) \
             VALUES {}",
            rows.join(", ")
        ),
        args,
    )
    .await?;
    Ok(())
}

/// Adds `new` columns (those another writer has not added meanwhile); the relation's columns after.
pub(super) async fn add_columns(
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
        register_columns(
            tx,
            connection_id,
            table,
            std::slice::from_ref(&(name.clone(), *kind)),
            columns.len(),
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

/// A cell as bound for a column of type `kind` (each type binds as one driver type, so a NULL is
/// typed too): text, JSON and numeric as text, integer, timestamp (Unix seconds) and boolean (0
/// or 1) as integers. `None` when the value does not fit the column.
pub(super) fn bound(kind: ColumnType, cell: &Cell) -> Option<Arg<'_>> {
    if !cell.fits(kind) {
        return None;
    }
    Some(match (kind, cell) {
        (_, Cell::Null) => null(kind),
        (ColumnType::Json, cell) => Arg::Text(cell.json()),
        (ColumnType::Text, Cell::Text(s)) | (ColumnType::Numeric, Cell::Number(s)) => {
            Arg::from(s.as_str())
        }
        (ColumnType::Numeric, Cell::Int(i)) => Arg::from(i.to_string()),
        (ColumnType::Integer | ColumnType::Timestamp, Cell::Int(i)) => Arg::from(*i),
        (ColumnType::Boolean, Cell::Bool(b)) => Arg::from(i64::from(*b)),
        _ => return None,
    })
}

/// A NULL of the type `kind` binds as.
pub(super) fn null(kind: ColumnType) -> Arg<'static> {
    match kind {
        ColumnType::Integer | ColumnType::Timestamp | ColumnType::Boolean => Arg::from(None::<i64>),
        _ => Arg::from(None::<String>),
    }
}

/// Bound value number `n` as the statement names it: `$n` on PostgreSQL; on SQLite an anonymous
/// `?` (values bound in order), since the driver looks each `$n` up by name and SQLite finds a
/// name by scanning every one: a page's thousands of values would cost their square.
fn param(dialect: Dialect, n: usize) -> String {
    match dialect {
        Dialect::Postgres => format!("${n}"),
        Dialect::Sqlite => "?".to_owned(),
    }
}

/// The SQL that turns bound value number `n` into the column's type.
pub(super) fn placeholder(dialect: Dialect, kind: ColumnType, n: usize) -> String {
    let p = param(dialect, n);
    match (dialect, kind) {
        (_, ColumnType::Numeric) => format!("CAST({p} AS NUMERIC)"),
        (Dialect::Postgres, ColumnType::Boolean) => format!("({p} <> 0)"),
        (Dialect::Postgres, ColumnType::Timestamp) => format!("to_timestamp({p})"),
        (Dialect::Postgres, ColumnType::Json) => format!("CAST({p} AS JSONB)"),
        (Dialect::Sqlite, ColumnType::Timestamp) => format!("datetime({p}, 'unixepoch')"),
        _ => p,
    }
}

/// One row's `VALUES` tuple, its values numbered from `first`: `id`, `deleted`, the columns.
fn row_values(dialect: Dialect, tracked: &[&WarehouseColumn], first: usize) -> String {
    let mut row = format!("({}, {}", param(dialect, first), param(dialect, first + 1));
    for (i, column) in tracked.iter().enumerate() {
        row.push_str(", ");
        row.push_str(&placeholder(dialect, column.kind, first + 2 + i));
    }
    row.push(')');
    row
}

/// Writes `objects` to the relation in multi-row upserts, each value bound as its column's type
/// (read from the object once, never parsed again by the database).
pub(super) async fn upsert(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    columns: &[WarehouseColumn],
    rows: &[Row],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let dialect = tx.dialect();
    let tracked: Vec<&WarehouseColumn> = columns.iter().filter(|c| c.tracked).collect();
    let position: HashMap<&str, usize> = tracked
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let mut names = String::from("id, deleted");
    let mut updates = String::from("deleted = excluded.deleted");
    for column in &tracked {
        let name = &column.name;
        names.push_str(&format!(", \"{name}\""));
        updates.push_str(&format!(", \"{name}\" = excluded.\"{name}\""));
    }
    let per_row = tracked.len() + 2;
    let sqlite_row = row_values(dialect, &tracked, 1);
    let mut misfits = 0_i64;
    let rows_per_statement = (MAX_BINDS / per_row).max(1);
    for chunk in rows.chunks(rows_per_statement) {
        let mut args = Args::new();
        let mut values = Vec::with_capacity(chunk.len());
        for row in chunk {
            let mut cells: Vec<Option<Arg<'_>>> = vec![None; tracked.len()];
            for field in &row.fields {
                if field.cell == Cell::Null {
                    continue;
                }
                if let Some(&i) = position.get(&*field.name) {
                    cells[i] = bound(tracked[i].kind, &field.cell);
                    misfits += i64::from(cells[i].is_none());
                }
            }
            let first = args.len() + 1;
            args.push(row.id.as_str());
            args.push(row.deleted);
            for (cell, column) in cells.into_iter().zip(&tracked) {
                args.push(cell.unwrap_or_else(|| null(column.kind)));
            }
            // SQLite's values are anonymous: every row reads the same.
            values.push(match dialect {
                Dialect::Sqlite => sqlite_row.clone(),
                Dialect::Postgres => row_values(dialect, &tracked, first),
            });
        }
        let sql = format!(
            "INSERT INTO {} ({names}) VALUES {} ON CONFLICT (id) DO UPDATE SET {updates}",
            physical(connection_id, table),
            values.join(", ")
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
pub(super) async fn refill(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
) -> Result<(), StoreError> {
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
            // Nothing stored (yet): the relation exists all the same.
            relation(tx, connection_id, table, &[]).await?;
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
        let rows: Vec<Row> = match child {
            Some(child) => staged::child_rows(child, &objects).map_or_else(Vec::new, |c| c.rows),
            None => objects.iter().map(Row::of).collect(),
        };
        let columns = relation(tx, connection_id, table, &rows).await?;
        let columns = with_fields_of(tx, connection_id, table, columns, &rows).await?;
        upsert(tx, connection_id, table, &columns, &rows).await?;
    }
}

/// The relation's columns; created first (with the fields of `rows`) when it does not exist.
async fn relation(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    rows: &[Row],
) -> Result<Vec<WarehouseColumn>, StoreError> {
    if let Some(columns) = registered(tx, connection_id, table).await? {
        return Ok(columns);
    }
    if let Some(columns) = create(tx, connection_id, table, &new_fields(&[], rows)).await? {
        return Ok(columns);
    }
    Ok(registered(tx, connection_id, table)
        .await?
        .unwrap_or_default())
}

/// Marks deleted in the relation what the JSON says is deleted: the objects `ids` (an event told
/// of them), or every one (a full pass marked what it did not list).
pub(in crate::store) async fn mark_deleted(
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
