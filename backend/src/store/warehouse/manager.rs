//! The Data Warehouse Manager's reads and changes: a connection's schema and columns; a rename and
//! tracked flags applied at once, all or nothing.

use super::views::{rebuild_view, schema_of, schema_taken};
use super::write::refill;
use super::{
    connection_exists, misfits_of, physical, registered, sql_type, tables_of, view, Relation,
    Warehouse,
};

use crate::ids::ConnectionId;
use crate::store::{args, Db, Dialect, StoreError};

/// The connection's warehouse (its schema given now if it had none); `None`: no such connection.
pub async fn warehouse(
    pool: &Db,
    connection_id: ConnectionId,
) -> Result<Option<Warehouse>, StoreError> {
    let named: Option<Option<String>> = pool
        .scalar_optional(
            "SELECT warehouse_schema FROM connections WHERE id = $1",
            args![connection_id],
        )
        .await?;
    let Some(named) = named else {
        return Ok(None);
    };
    // Naming the schema writes: then the transaction is a writer's from its start.
    let mut tx = match named {
        Some(_) => pool.begin().await?,
        None => pool.begin_write().await?,
    };
    let schema = schema_of(&mut tx, connection_id, false).await?;
    let mut tables = Vec::new();
    for (name, misfits) in misfits_of(&mut tx, connection_id).await? {
        let columns = registered(&mut tx, connection_id, &name)
            .await?
            .unwrap_or_default();
        tables.push(Relation {
            name,
            columns,
            misfits,
        });
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
    let mut tx = pool.begin_write().await?;
    if !connection_exists(&mut tx, connection_id).await? {
        return Ok(Err(WarehouseRefusal::NotFound));
    }
    let dialect = tx.dialect();
    let old_schema = schema_of(&mut tx, connection_id, true).await?;
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
