//! The warehouse tests' helpers: the Data Warehouse Manager's API, and the relations as a SQL
//! client reads them (on either database).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use backend::store::Dialect;
use backend::warehouse::columns::{self, Cell, ColumnType};
use serde_json::Value;

use super::{to_json, TestApp};

/// `GET /api/connections/{id}/warehouse`, answered 200.
pub async fn warehouse(app: &TestApp, id: i64) -> Value {
    let (status, body) = app
        .json("GET", &format!("/api/connections/{id}/warehouse"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub async fn put(app: &TestApp, id: i64, body: Value) -> (StatusCode, Value) {
    to_json(
        app.send(
            "PUT",
            &format!("/api/connections/{id}/warehouse"),
            Some(&app.admin),
            Some(body),
        )
        .await,
    )
    .await
}

/// A table's columns as the API lists them: (name, type, tracked).
pub fn api_columns(warehouse: &Value, table: &str) -> Vec<(String, String, bool)> {
    warehouse["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == table)
        .unwrap_or_else(|| panic!("no table {table}"))["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["type"].as_str().unwrap().to_owned(),
                c["tracked"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The relation's name as a query writes it.
pub fn relation(app: &TestApp, schema: &str, table: &str) -> String {
    match app.state.pool.dialect() {
        Dialect::Postgres => format!("\"{schema}\".\"{table}\""),
        Dialect::Sqlite => format!("\"{schema}__{table}\""),
    }
}

/// The relation's columns in order, as a SQL client sees them.
pub async fn relation_columns(app: &TestApp, schema: &str, table: &str) -> Vec<String> {
    let pool = &app.state.pool;
    match pool.dialect() {
        Dialect::Postgres => pool
            .scalar_all(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                backend::args![schema, table],
            )
            .await
            .unwrap(),
        Dialect::Sqlite => pool
            .scalar_all(
                "SELECT name FROM pragma_table_info($1) ORDER BY cid",
                backend::args![format!("{schema}__{table}")],
            )
            .await
            .unwrap(),
    }
}

/// Every relation and view in the database whose name says it is a warehouse's: in `schema`, or a
/// connection's typed table (`warehouse_c<id>_<table>`).
pub async fn warehouse_relations(app: &TestApp, schema: &str) -> Vec<String> {
    let pool = &app.state.pool;
    let typed = |name: &String| {
        let table = name.rsplit('.').next().unwrap_or(name);
        table
            .strip_prefix("warehouse_c")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    };
    let names: Vec<String> = match pool.dialect() {
        Dialect::Postgres => pool
            .scalar_all(
                "SELECT CAST(table_schema || '.' || table_name AS TEXT) \
                 FROM information_schema.tables \
                 WHERE table_schema = $1 OR table_name LIKE 'warehouse\\_c%'",
                backend::args![schema],
            )
            .await
            .unwrap(),
        Dialect::Sqlite => pool
            .scalar_all(
                "SELECT name FROM sqlite_master WHERE name LIKE $1 ESCAPE '\\' \
                 OR name LIKE 'warehouse\\_c%' ESCAPE '\\'",
                backend::args![format!("{schema}\\_\\_%")],
            )
            .await
            .unwrap(),
    };
    names
        .into_iter()
        .filter(|n| typed(n) || !n.starts_with("warehouse_") && !n.starts_with("public."))
        .collect()
}

/// One column's values by id, as text a comparison can read: times as Unix seconds, booleans as
/// `true`/`false`, JSON as its text.
pub async fn column_values(
    app: &TestApp,
    schema: &str,
    table: &str,
    column: &str,
    kind: ColumnType,
) -> BTreeMap<String, Option<String>> {
    let postgres = app.state.pool.dialect() == Dialect::Postgres;
    let c = format!("\"{column}\"");
    let expr = match kind {
        ColumnType::Boolean => format!("CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END"),
        ColumnType::Timestamp if postgres => {
            format!("CAST(CAST(EXTRACT(EPOCH FROM {c}) AS BIGINT) AS TEXT)")
        }
        ColumnType::Timestamp => format!("strftime('%s', {c})"),
        _ => format!("CAST({c} AS TEXT)"),
    };
    let rows: Vec<(String, Option<String>)> = app
        .state
        .pool
        .fetch_all(
            &format!("SELECT id, {expr} FROM {}", relation(app, schema, table)),
            backend::args![],
        )
        .await
        .unwrap();
    rows.into_iter().collect()
}

/// Whether a stored value (as `column_values` reads it) is the field's value.
pub fn same(kind: ColumnType, stored: Option<&str>, value: &Value) -> bool {
    match (stored, value) {
        (None, Value::Null) => true,
        (None, _) | (_, Value::Null) => false,
        (Some(s), value) => match kind {
            ColumnType::Text => value.as_str() == Some(s),
            ColumnType::Integer | ColumnType::Timestamp => {
                value.as_i64().map(|n| n.to_string()).as_deref() == Some(s)
            }
            ColumnType::Numeric => s.parse::<f64>().ok() == value.as_f64(),
            ColumnType::Boolean => value.as_bool().map(|b| b.to_string()).as_deref() == Some(s),
            ColumnType::Json => serde_json::from_str::<Value>(s).ok().as_ref() == Some(value),
        },
    }
}

/// A cell as the JSON value it was read from.
fn cell_value(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Bool(b) => Value::Bool(*b),
        Cell::Int(i) => Value::from(*i),
        Cell::Text(s) => Value::String(s.clone()),
        Cell::Number(s) | Cell::Json(s) => serde_json::from_str(s).unwrap(),
    }
}

/// The ids in a child table of one parent.
pub async fn child_ids(
    app: &TestApp,
    schema: &str,
    table: &str,
    key: &str,
    parent: &str,
) -> Vec<String> {
    app.state
        .pool
        .scalar_all(
            &format!(
                "SELECT id FROM {} WHERE \"{key}\" = $1 ORDER BY id",
                relation(app, schema, table)
            ),
            backend::args![parent],
        )
        .await
        .unwrap()
}

/// Checks that `table`'s relation holds, for each of `objects` (as Stripe sends them), every
/// top-level field in its column, typed, with its value; and a column for every field.
pub async fn assert_relation_matches(
    app: &TestApp,
    warehouse: &Value,
    table: &str,
    objects: &BTreeMap<String, Value>,
) {
    let schema = warehouse["schema"].as_str().unwrap();
    let columns = api_columns(warehouse, table);
    assert_eq!(columns[0], ("id".into(), "text".into(), true));
    assert_eq!(
        columns.last().unwrap(),
        &("deleted".into(), "boolean".into(), true)
    );
    let shown: Vec<String> = columns.iter().map(|c| c.0.clone()).collect();
    assert_eq!(relation_columns(app, schema, table).await, shown, "{table}");
    for (name, kind, _) in &columns[1..columns.len() - 1] {
        let kind = ColumnType::from_wire(kind).unwrap();
        let stored = column_values(app, schema, table, name, kind).await;
        assert_eq!(stored.len(), objects.len(), "{table}");
        for (object_id, object) in objects {
            let cell = columns::fields(object)
                .into_iter()
                .find(|f| *f.name == **name)
                .map_or(Cell::Null, |f| f.cell);
            let value = if cell.fits(kind) {
                cell_value(&cell)
            } else {
                Value::Null
            };
            let got = stored[object_id].as_deref();
            assert!(
                same(kind, got, &value),
                "{table}.{name} of {object_id}: {got:?} for {value}"
            );
        }
    }
    for object in objects.values() {
        for field in columns::fields(object) {
            if columns::is_column_name(&field.name) {
                assert!(
                    columns.iter().any(|c| *c.0 == *field.name),
                    "{table} has no column {}",
                    field.name
                );
            }
        }
    }
}
