//! `GET /api/connections/{id}/tables/{table}.csv`: a table as CSV, the way its warehouse relation
//! holds it — `id`, the tracked columns in order, `deleted` last (the Data Warehouse Manager's
//! choice), times in ISO 8601 UTC, booleans `true`/`false`, JSON as its text; the child tables
//! (`invoice_lines`, `subscription_items`) too. A text cell that a spreadsheet would run as a
//! formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed with `'`. Streamed page by page: memory
//! stays flat however big the table.

use axum::body::Bytes;
use futures_util::stream::{self, Stream};
use shared::ColumnType;

use super::sync::DataError;
use crate::ids::ConnectionId;
use crate::state::AppState;
use crate::store::{self, StoreError};
use crate::warehouse::TABLES;

/// Rows read from the database at a time.
const PAGE: i64 = 500;

/// The CSV of `table`, as a stream of chunks.
pub async fn csv(
    app: &AppState,
    id: ConnectionId,
    table: &str,
) -> Result<impl Stream<Item = Result<Bytes, StoreError>> + use<>, DataError> {
    let table = *TABLES
        .iter()
        .find(|t| **t == table)
        .ok_or(DataError::UnknownTable)?;
    let first = store::relation_rows(&app.pool, id, table, None, PAGE)
        .await?
        .ok_or(DataError::NotFound)?;
    let kinds: Vec<ColumnType> = first.columns.iter().map(|c| c.kind).collect();
    let header = encode_row(first.columns.iter().map(|c| Cell::Plain(c.name.as_str())))?;
    let chunk = page(&first.rows, &kinds)?;
    let next = first.has_more.then(|| last_id(&first.rows)).flatten();
    let app = app.clone();
    let rest = stream::unfold(next, move |after| {
        let (app, kinds) = (app.clone(), kinds.clone());
        async move {
            let after = after?;
            let read = store::relation_rows(&app.pool, id, table, Some(&after), PAGE).await;
            match read {
                Ok(Some(p)) if !p.rows.is_empty() => {
                    let next = p.has_more.then(|| last_id(&p.rows)).flatten();
                    Some((page(&p.rows, &kinds), next))
                }
                Ok(_) => None,
                Err(e) => Some((Err(e), None)),
            }
        }
    });
    let head = stream::iter([Ok(header), Ok(chunk)]);
    Ok(futures_util::StreamExt::chain(head, rest))
}

/// The id of a page's last row.
fn last_id(rows: &[Vec<Option<String>>]) -> Option<String> {
    rows.last().and_then(|r| r.first().cloned().flatten())
}

/// A page of rows as CSV.
fn page(rows: &[Vec<Option<String>>], kinds: &[ColumnType]) -> Result<Bytes, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        let cells = row
            .iter()
            .zip(kinds)
            .map(|(cell, kind)| Cell::of(cell, *kind));
        out.extend_from_slice(&encode_row(cells)?);
    }
    Ok(Bytes::from(out))
}

/// A cell's content.
enum Cell<'a> {
    Plain(&'a str),
    Defused(String),
}

impl<'a> Cell<'a> {
    fn of(value: &'a Option<String>, kind: ColumnType) -> Self {
        match value.as_deref() {
            None => Cell::Plain(""),
            Some(s)
                if kind == ColumnType::Text && s.starts_with(['=', '+', '-', '@', '\t', '\r']) =>
            {
                Cell::Defused(format!("'{s}"))
            }
            Some(s) => Cell::Plain(s),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Cell::Plain(s) => s,
            Cell::Defused(s) => s,
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

    #[test]
    fn cells_are_plain_text_json_or_defused_formulas() {
        let cell = |s: &str| Some(s.to_owned());
        let row = [
            (cell("cus_1"), ColumnType::Text),
            (None, ColumnType::Text),
            (cell("1200"), ColumnType::Integer),
            (cell("-5"), ColumnType::Integer),
            (cell("true"), ColumnType::Boolean),
            (cell(r#"{"a": [1, "x"]}"#), ColumnType::Json),
            (cell("=HYPERLINK(\"http://evil\")"), ColumnType::Text),
            (cell("-5"), ColumnType::Text),
            (cell("a,b \"q\""), ColumnType::Text),
        ];
        let bytes = encode_row(row.iter().map(|(v, k)| Cell::of(v, *k))).unwrap();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "cus_1,,1200,-5,true,\"{\"\"a\"\": [1, \"\"x\"\"]}\",\"'=HYPERLINK(\"\"http://evil\"\")\",'-5,\"a,b \"\"q\"\"\"\n"
        );
    }
}
