//! Reading a relation back (the preview and the CSV): its tracked columns in order, each cell as
//! text the same on both databases.

use super::{connection_exists, physical, registered, WarehouseColumn};

use crate::ids::ConnectionId;
use crate::store::{args, Db, Dialect, StoreError};
use crate::warehouse::columns::ColumnType;

/// A page of a relation: its columns (`id`, the tracked ones, `deleted`) and rows of text cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationPage {
    pub columns: Vec<WarehouseColumn>,
    pub rows: Vec<Vec<Option<String>>>,
    pub has_more: bool,
}

/// A cell of column `name` as text, the same on both databases: times as ISO 8601 in UTC
/// (`2024-01-31T12:00:00Z`), booleans as `true`/`false`, JSON as its text.
pub(super) fn as_text(dialect: Dialect, name: &str, kind: ColumnType) -> String {
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
    if !connection_exists(&mut tx, connection_id).await? {
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
