//! `GET /api/connections/{id}/tables/{table}.csv`: a synced table as CSV, one column per top-level
//! field of its objects (`id` first, the others in name order, `deleted` last). Nested values are
//! their JSON; a text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR
//! first) is prefixed with `'`. Streamed page by page: memory stays flat however big the table.

use crate::ids::ConnectionId;
use std::collections::BTreeSet;

use axum::body::Bytes;
use futures_util::stream::{self, Stream};
use serde_json::Value;

use super::sync::{parse_table, require_connection, stored_object, DataError};
use crate::state::AppState;
use crate::store::{self, StoreError};
use crate::stripe::lists::StripeList;

/// Rows read from the database at a time.
const PAGE: i64 = 500;

/// The CSV of `table` (a list name), as a stream of chunks.
pub async fn csv(
    app: &AppState,
    id: ConnectionId,
    table: &str,
) -> Result<impl Stream<Item = Result<Bytes, StoreError>> + use<>, DataError> {
    let list = parse_table(table).ok_or(DataError::UnknownTable)?;
    require_connection(app, id).await?;
    let columns = columns(app, id, list).await?;
    let header = encode_row(columns.iter().map(|c| Cell::Text(c.as_str())))?;
    let state = Some((app.clone(), None::<String>, Some(header)));
    Ok(stream::unfold(state, move |state| {
        let columns = columns.clone();
        async move {
            let (app, after, header) = state?;
            if let Some(header) = header {
                return Some((Ok(header), Some((app, after, None))));
            }
            match page(&app, id, list, after.as_deref(), &columns).await {
                Ok(None) => None,
                Ok(Some((chunk, last, more))) => {
                    let next = more.then_some((app, Some(last), None));
                    Some((Ok(chunk), next))
                }
                Err(e) => Some((Err(e), None)),
            }
        }
    }))
}

/// Every top-level field name of the table's objects.
async fn columns(
    app: &AppState,
    id: ConnectionId,
    list: StripeList,
) -> Result<Vec<String>, StoreError> {
    let mut names = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let (rows, more) = store::table_rows(&app.pool, id, list, after.as_deref(), PAGE).await?;
        after = None;
        for (object, _) in &rows {
            if let Value::Object(map) = serde_json::from_str(object).unwrap_or(Value::Null) {
                after = map.get("id").and_then(Value::as_str).map(str::to_owned);
                names.extend(map.into_iter().map(|(k, _)| k));
            }
        }
        if !more || after.is_none() {
            break;
        }
    }
    names.remove("id");
    names.remove("deleted");
    Ok(std::iter::once("id".to_owned())
        .chain(names)
        .chain(std::iter::once("deleted".to_owned()))
        .collect())
}

/// One page of rows as CSV: the chunk, the last id, whether more follow. `None` when empty.
async fn page(
    app: &AppState,
    id: ConnectionId,
    list: StripeList,
    after: Option<&str>,
    columns: &[String],
) -> Result<Option<(Bytes, String, bool)>, StoreError> {
    let (rows, more) = store::table_rows(&app.pool, id, list, after, PAGE).await?;
    let mut out = Vec::new();
    let mut last = None;
    for (object, deleted) in &rows {
        let value = stored_object(list, object, *deleted)?;
        last = value["id"].as_str().map(str::to_owned);
        let cells = columns.iter().map(|c| Cell::of(&value[c.as_str()]));
        out.extend_from_slice(&encode_row(cells)?);
    }
    Ok(last.map(|last| (Bytes::from(out), last, more)))
}

/// A cell's content.
enum Cell<'a> {
    Text(&'a str),
    Owned(String),
}

impl<'a> Cell<'a> {
    fn of(value: &'a Value) -> Self {
        match value {
            Value::Null => Cell::Text(""),
            Value::String(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => {
                Cell::Owned(format!("'{s}"))
            }
            Value::String(s) => Cell::Text(s),
            other => Cell::Owned(other.to_string()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Cell::Text(s) => s,
            Cell::Owned(s) => s,
        }
    }
}

fn encode_row<'a>(cells: impl Iterator<Item = Cell<'a>>) -> Result<Bytes, StoreError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let cells: Vec<Cell<'a>> = cells.collect();
    writer
        .write_record(cells.iter().map(Cell::as_str))
        .map_err(|e| StoreError::Corrupt(format!("csv: {e}")))?;
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| StoreError::Corrupt(format!("csv: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_plain_text_json_or_defused_formulas() {
        let row = [
            json!("cus_1"),
            json!(null),
            json!(1200),
            json!(true),
            json!({"a": [1, "x"]}),
            json!("=HYPERLINK(\"http://evil\")"),
            json!("-5"),
            json!("a,b \"q\""),
        ];
        let bytes = encode_row(row.iter().map(Cell::of)).unwrap();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "cus_1,,1200,true,\"{\"\"a\"\":[1,\"\"x\"\"]}\",\"'=HYPERLINK(\"\"http://evil\"\")\",'-5,\"a,b \"\"q\"\"\"\n"
        );
    }
}
