//! A page's typed rows into a relation, each value bound as its column's type (read from the
//! object once, off the writer; never parsed again by the database): on SQLite a multi-row
//! `VALUES` list of anonymous `?`, on PostgreSQL one array per column (`UNNEST`), so its statement
//! is the same short text for every page and a pooled connection caches one plan per relation,
//! not one per page size.

use std::collections::HashMap;

use super::{physical, WarehouseColumn};
use crate::ids::ConnectionId;
use crate::store::{args, Arg, Args, Dialect, StoreError, Tx};
use crate::warehouse::columns::{Cell, ColumnType};
use crate::warehouse::staged::Row;

/// The most bound values in one statement (SQLite allows 32,766).
const MAX_BINDS: usize = 30_000;

/// Rows per SQLite statement: half a page of Stripe's (two statements a page; each costs the
/// writer a round trip to the driver's thread, and fewer rows a statement measurably slowed the
/// sync of many new connections). Each pooled connection caches the statements it prepared, one
/// of this many rows per relation; a page's remainder (fewer rows) is prepared, run and not kept,
/// so no connection caches one program per page size.
const SQLITE_ROWS: usize = 50;

/// A cell as bound for a column of type `kind` (each type binds as one driver type, so a NULL is
/// typed too): text, JSON and numeric as text, integer, timestamp (Unix seconds) and boolean (0
/// or 1) as integers. `None` when the value does not fit the column.
fn bound(kind: ColumnType, cell: &Cell) -> Option<Arg<'_>> {
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
fn null(kind: ColumnType) -> Arg<'static> {
    match kind {
        ColumnType::Integer | ColumnType::Timestamp | ColumnType::Boolean => Arg::from(None::<i64>),
        _ => Arg::from(None::<String>),
    }
}

/// The SQL that turns a bound value `p` (a parameter, an array's element) into the column's type.
fn placeholder(dialect: Dialect, kind: ColumnType, p: &str) -> String {
    match (dialect, kind) {
        (_, ColumnType::Numeric) => format!("CAST({p} AS NUMERIC)"),
        (Dialect::Postgres, ColumnType::Boolean) => format!("({p} <> 0)"),
        (Dialect::Postgres, ColumnType::Timestamp) => format!("to_timestamp({p})"),
        (Dialect::Postgres, ColumnType::Json) => format!("CAST({p} AS JSONB)"),
        (Dialect::Sqlite, ColumnType::Timestamp) => format!("datetime({p}, 'unixepoch')"),
        _ => p.to_owned(),
    }
}

/// Writes `rows` to the relation (inserted or replaced by id), counting the values that do not
/// fit their column.
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
    let tracked: Vec<&WarehouseColumn> = columns.iter().filter(|c| c.tracked).collect();
    let position: HashMap<&str, usize> = tracked
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    // Each row's cells in the tracked columns' order, bound as their types (`None`: NULL).
    let mut misfits = 0_i64;
    let cells: Vec<Vec<Option<Arg<'_>>>> = rows
        .iter()
        .map(|row| {
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
            cells
        })
        .collect();
    let mut names = String::from("id, deleted");
    let mut updates = String::from("deleted = excluded.deleted");
    for column in &tracked {
        let name = &column.name;
        names.push_str(&format!(", \"{name}\""));
        updates.push_str(&format!(", \"{name}\" = excluded.\"{name}\""));
    }
    let head = format!("INSERT INTO {} ({names}) ", physical(connection_id, table));
    let tail = format!(" ON CONFLICT (id) DO UPDATE SET {updates}");
    match tx {
        Tx::Sqlite(..) => values(tx, &head, &tail, &tracked, rows, cells).await?,
        Tx::Postgres(t) => {
            let sql = unnest_insert(&head, &tail, &tracked);
            let mut q = sqlx::query(&sql)
                .bind(rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>())
                .bind(rows.iter().map(|r| r.deleted).collect::<Vec<_>>());
            for (i, column) in tracked.iter().enumerate() {
                q = if binds_as_integer(column.kind) {
                    q.bind(
                        cells
                            .iter()
                            .map(|row| match &row[i] {
                                Some(Arg::Int(v)) => *v,
                                _ => None,
                            })
                            .collect::<Vec<_>>(),
                    )
                } else {
                    q.bind(
                        cells
                            .iter()
                            .map(|row| match &row[i] {
                                Some(Arg::Text(v)) => v.as_deref(),
                                _ => None,
                            })
                            .collect::<Vec<_>>(),
                    )
                };
            }
            q.execute(&mut **t).await?;
        }
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

/// Whether a column of type `kind` binds as an integer (else as text).
fn binds_as_integer(kind: ColumnType) -> bool {
    matches!(
        kind,
        ColumnType::Integer | ColumnType::Timestamp | ColumnType::Boolean
    )
}

/// PostgreSQL's upsert of a page: `id` and `deleted` in `$1` and `$2`, then one array per tracked
/// column, each turned into the column's type.
fn unnest_insert(head: &str, tail: &str, tracked: &[&WarehouseColumn]) -> String {
    let mut select = String::from("SELECT u.id, u.deleted");
    let mut arrays = String::from("$1::TEXT[], $2::BOOLEAN[]");
    let mut aliases = String::from("id, deleted");
    for (i, column) in tracked.iter().enumerate() {
        let array = if binds_as_integer(column.kind) {
            "BIGINT"
        } else {
            "TEXT"
        };
        arrays.push_str(&format!(", ${}::{array}[]", i + 3));
        aliases.push_str(&format!(", c{i}"));
        select.push_str(", ");
        select.push_str(&placeholder(
            Dialect::Postgres,
            column.kind,
            &format!("u.c{i}"),
        ));
    }
    format!("{head}{select} FROM UNNEST({arrays}) AS u({aliases}){tail}")
}

/// SQLite's upsert: multi-row `VALUES` lists of anonymous `?` (the driver looks each `$n` up by
/// name, and SQLite finds a name by scanning every one: a page's thousands of values would cost
/// their square).
async fn values(
    tx: &mut Tx,
    head: &str,
    tail: &str,
    tracked: &[&WarehouseColumn],
    rows: &[Row],
    cells: Vec<Vec<Option<Arg<'_>>>>,
) -> Result<(), StoreError> {
    let per_row = tracked.len() + 2;
    let mut row_sql = String::from("(?, ?");
    for column in tracked {
        row_sql.push_str(", ");
        row_sql.push_str(&placeholder(Dialect::Sqlite, column.kind, "?"));
    }
    row_sql.push(')');
    let rows_per_statement = (MAX_BINDS / per_row).clamp(1, SQLITE_ROWS);
    let mut cells = cells.into_iter();
    for chunk in rows.chunks(rows_per_statement) {
        let mut args = Args::new();
        for (row, row_cells) in chunk.iter().zip(cells.by_ref()) {
            args.push(row.id.as_str());
            args.push(row.deleted);
            for (cell, column) in row_cells.into_iter().zip(tracked) {
                args.push(cell.unwrap_or_else(|| null(column.kind)));
            }
        }
        let sql = format!(
            "{head}VALUES {}{tail}",
            vec![row_sql.as_str(); chunk.len()].join(", ")
        );
        if chunk.len() == rows_per_statement {
            tx.execute(&sql, args).await?;
        } else {
            tx.execute_once(&sql, args).await?;
        }
    }
    Ok(())
}
