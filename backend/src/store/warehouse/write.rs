//! Writing the relations: in the transaction that stores a page's JSON, each object's typed row
//! (bound as its columns' types), new fields added as columns, child rows derived from their
//! parents, and a relation filled from the JSON stored before it existed.

use std::collections::HashSet;

use serde_json::Value;

use super::upsert::upsert;
use super::views::show;
use super::{id_set, physical, registered, sql_type, WarehouseColumn};
use crate::ids::ConnectionId;
use crate::store::{args, Args, StoreError, Tx};
use crate::warehouse::children;
use crate::warehouse::columns::{self, ColumnType};
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
    let ids: Vec<&str> = staged.rows.iter().map(|r| r.id.as_str()).collect();
    write_relation(tx, connection_id, table, &staged.rows, &ids).await?;
    if let Some(children) = &staged.children {
        write_children(tx, connection_id, children).await?;
    }
    Ok(())
}

/// Writes `rows` (staged from the objects `sources` of the JSON table, or from those parents) to
/// the relation. On its first use the relation is made with their columns, then filled from
/// whatever JSON was stored before it existed (the sources left out: never parsed again; made by
/// another writer meanwhile, that one fills it). The relation's columns.
pub(super) async fn write_relation(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    rows: &[Row],
    sources: &[&str],
) -> Result<Vec<WarehouseColumn>, StoreError> {
    let (columns, created) = relation(tx, connection_id, table, rows).await?;
    let columns = with_fields_of(tx, connection_id, table, columns, rows).await?;
    upsert(tx, connection_id, table, &columns, rows).await?;
    if created {
        refill_except(tx, connection_id, table, sources).await?;
    }
    Ok(columns)
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
    let parents: Vec<&str> = children.parents.iter().map(String::as_str).collect();
    let columns =
        write_relation(tx, connection_id, child.table(), &children.rows, &parents).await?;
    let key = child.parent_key();
    if !columns.iter().any(|c| c.name == key) {
        return Ok(());
    }
    let ids: Vec<&str> = children.rows.iter().map(|r| r.id.as_str()).collect();
    let dialect = tx.dialect();
    let sql = format!(
        "DELETE FROM {} WHERE \"{key}\" IN ({}) AND id NOT IN ({})",
        physical(connection_id, child.table()),
        id_set(dialect, 1),
        id_set(dialect, 2)
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
    show(tx, connection_id, table, &columns).await?;
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
        show(tx, connection_id, table, &columns).await?;
    }
    Ok(columns)
}

/// Fills the relation from the JSON stored for `table` (its first use, a column tracked again).
pub(super) async fn refill(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
) -> Result<(), StoreError> {
    refill_except(tx, connection_id, table, &[]).await
}

/// [`refill`] but for the stored objects `except` (a child table: but for those parents). The
/// relation exists.
async fn refill_except(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    except: &[&str],
) -> Result<(), StoreError> {
    // A child table follows from its parents' JSON.
    let child = children::as_child(table);
    let source = format!("stripe_{}", child.map_or(table, |c| c.parent().name()));
    let except = serde_json::to_string(except).unwrap_or_default();
    let elements = id_set(tx.dialect(), 4);
    let mut after = String::new();
    loop {
        let page: Vec<(String, String, bool)> = tx
            .fetch_all(
                &format!(
                    "SELECT id, object, deleted FROM {source} \
                     WHERE connection_id = $1 AND id > $2 AND id NOT IN ({elements}) \
                     ORDER BY id LIMIT $3"
                ),
                args![connection_id, after.as_str(), REFILL_BATCH, except.as_str()],
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
        let rows: Vec<Row> = match child {
            Some(child) => staged::child_rows(child, &objects).map_or_else(Vec::new, |c| c.rows),
            None => objects.iter().map(Row::of).collect(),
        };
        let (columns, _) = relation(tx, connection_id, table, &rows).await?;
        let columns = with_fields_of(tx, connection_id, table, columns, &rows).await?;
        upsert(tx, connection_id, table, &columns, &rows).await?;
    }
}

/// The relation's columns, and whether this call created it (with the fields of `rows`: it did
/// not exist).
async fn relation(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    rows: &[Row],
) -> Result<(Vec<WarehouseColumn>, bool), StoreError> {
    if let Some(columns) = registered(tx, connection_id, table).await? {
        return Ok((columns, false));
    }
    if let Some(columns) = create(tx, connection_id, table, &new_fields(&[], rows)).await? {
        return Ok((columns, true));
    }
    let columns = registered(tx, connection_id, table).await?;
    Ok((columns.unwrap_or_default(), false))
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
