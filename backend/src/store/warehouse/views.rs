//! The views a connection's schema shows its relations under, and the schema's name: given on
//! first use, checked free, re-made when columns change, dropped with the connection.

use super::{physical, registered, view, WarehouseColumn};

use crate::ids::ConnectionId;
use crate::store::{args, Dialect, StoreError, Tx};
use crate::warehouse::schema;

/// The connection's schema name, given now if it has none (`stripe_` and its account's name, the
/// first free one). On PostgreSQL the connection's row stays locked until the transaction ends:
/// shared (`FOR SHARE`) for a writer, which only needs the name not to change under it (the
/// sync's writers side by side never wait for each other), exclusive for a rename
/// (`for_rename`) or when the name is given.
pub(super) async fn schema_of(
    tx: &mut Tx,
    connection_id: ConnectionId,
    for_rename: bool,
) -> Result<String, StoreError> {
    if !for_rename && tx.dialect() == Dialect::Postgres {
        let named: Option<String> = tx
            .scalar_one(
                "SELECT warehouse_schema FROM connections WHERE id = $1",
                args![connection_id],
            )
            .await?;
        if named.is_some() {
            let pinned: Option<String> = tx
                .scalar_one(
                    "SELECT warehouse_schema FROM connections WHERE id = $1 FOR SHARE",
                    args![connection_id],
                )
                .await?;
            if let Some(name) = pinned {
                return Ok(name);
            }
        }
    }
    // Naming it (or renaming): the row locked alone, so two writers naming it at once take turns
    // rather than each holding a share the other's change waits for.
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
pub(super) async fn schema_taken(tx: &mut Tx, name: &str) -> Result<bool, StoreError> {
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
pub(super) async fn rebuild_view(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
) -> Result<(), StoreError> {
    let columns = registered(tx, connection_id, table)
        .await?
        .unwrap_or_default();
    show(tx, connection_id, table, &columns).await
}

/// Creates (again) the view of `table` with its registered `columns`.
pub(super) async fn show(
    tx: &mut Tx,
    connection_id: ConnectionId,
    table: &str,
    columns: &[WarehouseColumn],
) -> Result<(), StoreError> {
    let schema = schema_of(tx, connection_id, false).await?;
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
        super::readers::grant_view(tx, connection_id, &schema, &view).await?;
    }
    Ok(())
}

/// Drops the connection's relations and views, once its row is deleted.
pub(in crate::store) async fn drop_all(
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
