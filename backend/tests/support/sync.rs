//! The sync tests' helpers: what Stripe (the emulator) lists, what the tables hold, running jobs.

use backend::ids::ConnectionId;
use std::collections::BTreeMap;

use axum::http::StatusCode;
use backend::args;
use backend::services::credentials;
use backend::stripe::lists::StripeList;
use backend::sync::{run_due_jobs, SyncOptions};
use serde_json::Value;

use super::TestApp;

/// Stores a connection of `account` read with the restricted key `key`, as the restricted-key flow
/// stores one.
pub async fn store_key_connection(
    app: &TestApp,
    account: &str,
    name: &str,
    key: &str,
    livemode: bool,
) -> ConnectionId {
    super::key_connection::store_key_connection(&app.state, account, name, key, livemode).await
}

/// Every object Stripe (the emulator) lists for the connection, by id.
pub async fn stripe_objects(app: &TestApp, id: i64, list: StripeList) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let client = app.state.stripe.clone();
        let cursor = after.clone();
        let page = credentials::call(&app.state, ConnectionId(id), move |key| {
            let client = client.clone();
            let cursor = cursor.clone();
            async move { client.list_page(list, cursor.as_deref(), &key).await }
        })
        .await
        .unwrap()
        .value
        .unwrap();
        for o in &page.data {
            out.insert(o["id"].as_str().unwrap().to_owned(), o.clone());
        }
        after = page
            .data
            .last()
            .map(|o| o["id"].as_str().unwrap().to_owned());
        if !page.has_more {
            return out;
        }
    }
}

/// Every row of a synced table through the API, `limit` at a time, checking the id order.
pub async fn table_objects(app: &TestApp, id: i64, table: &str, limit: usize) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut uri = format!("/api/connections/{id}/tables/{table}?limit={limit}");
    loop {
        let (status, body) = app.json("GET", &uri).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let rows = body["rows"].as_array().unwrap();
        assert!(rows.len() <= limit);
        out.extend(rows.iter().cloned());
        if !body["has_more"].as_bool().unwrap() {
            break;
        }
        let last = rows.last().unwrap()["id"].as_str().unwrap();
        uri = format!("/api/connections/{id}/tables/{table}?limit={limit}&after={last}");
    }
    let ids: Vec<&str> = out.iter().map(|o| o["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(ids, sorted, "{table} rows are in id order, without repeats");
    out
}

/// Asserts every table holds exactly what Stripe lists, object for object.
pub async fn assert_tables_match_stripe(app: &TestApp, id: i64) {
    for list in StripeList::ALL {
        let expected = stripe_objects(app, id, list).await;
        assert!(!expected.is_empty(), "the emulator lists {}", list.name());
        let stored: BTreeMap<String, Value> = table_objects(app, id, list.name(), 2)
            .await
            .into_iter()
            .map(|o| (o["id"].as_str().unwrap().to_owned(), o))
            .collect();
        assert_eq!(stored, expected, "{}", list.name());
    }
}

/// Every synced row of the connection: (table, id, object, synced_at).
pub async fn snapshot(app: &TestApp, id: i64) -> Vec<(String, String, String, i64)> {
    let mut all = Vec::new();
    for list in StripeList::ALL {
        let rows: Vec<(String, String, i64)> = app
            .state
            .pool
            .fetch_all(
                &format!(
                    "SELECT id, object, synced_at FROM stripe_{} WHERE connection_id = $1 \
                     ORDER BY id",
                    list.name()
                ),
                args![id],
            )
            .await
            .unwrap();
        all.extend(
            rows.into_iter()
                .map(|(i, o, s)| (list.name().to_owned(), i, o, s)),
        );
    }
    all
}

pub async fn count(app: &TestApp, sql: &str, id: i64) -> i64 {
    app.state.pool.scalar_one(sql, args![id]).await.unwrap()
}

pub async fn run(app: &TestApp, options: SyncOptions) -> usize {
    run_due_jobs(&app.state, options).await.unwrap()
}

/// The connection's sync job: attempts, when it runs next, status.
pub async fn job_row(app: &TestApp, id: i64) -> (i64, i64, String) {
    app.state
        .pool
        .fetch_one(
            "SELECT attempts, run_after, status FROM sync_jobs WHERE connection_id = $1",
            args![id],
        )
        .await
        .unwrap()
}
