//! The sync against localstripe, a fake Stripe API with state (installed by `scripts/setup.sh`): a
//! backfill stores exactly what localstripe lists in each of the seven tables, and a forced update
//! brings in what changed there since: new objects, changed fields, a newly canceled subscription,
//! and deletions (the row stays, marked `"deleted": true`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use backend::ids::ConnectionId;
use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use backend::emulator::Emulator;
use backend::sync::{run_due_jobs, SyncOptions};
use backend::warehouse::examples;
use backend::{args, store};
use serde_json::Value;
use support::localstripe::{self, create_data_set, lists, DataSet, LocalStripe};
use support::sync::store_key_connection;
use support::warehouse::{assert_relation_matches, child_ids, warehouse};
use support::*;

/// The app with its Stripe API at localstripe and a connection whose key localstripe accepts,
/// inserted directly (the product's restricted-key flow refuses `sk_` keys), with its first sync
/// queued as connecting queues it.
async fn app_on(ls: &LocalStripe) -> (TestApp, i64) {
    let dir = tempfile::tempdir().unwrap();
    let app = build_app(
        Emulator::new(emulator_config()),
        ls.url.clone(),
        ls.url.clone(),
        SECRET_KEY,
        dir,
        true,
    )
    .await;
    let id = store_key_connection(
        &app,
        "acct_1LocalStripe",
        "localstripe",
        localstripe::KEY,
        false,
    )
    .await;
    backend::sync::jobs::enqueue(&app.state, id).await;
    (app, id.into())
}

/// Runs every due sync job; checks the connection ends idle with no table in error.
async fn sync(app: &TestApp, id: i64, options: SyncOptions) {
    assert_eq!(run_due_jobs(&app.state, options).await.unwrap(), 1);
    let (status, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "idle", "{body}");
    for table in body["tables"].as_array().unwrap() {
        assert_eq!(table["error"], Value::Null, "{table}");
        assert!(table["synced_at"].is_i64(), "{table}");
    }
}

/// Every stored row of a table, by id, through the API.
async fn stored(app: &TestApp, id: i64, table: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut uri = format!("/api/connections/{id}/tables/{table}?limit=1000");
    loop {
        let (status, body) = app.json("GET", &uri).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let rows = body["rows"].as_array().unwrap();
        for row in rows {
            out.insert(row["id"].as_str().unwrap().to_owned(), row.clone());
        }
        if !body["has_more"].as_bool().unwrap() {
            return out;
        }
        let last = rows.last().unwrap()["id"].as_str().unwrap();
        uri = format!("/api/connections/{id}/tables/{table}?limit=1000&after={last}");
    }
}

/// localstripe with the data set, and the app with it backfilled.
async fn backfilled(options: SyncOptions) -> (LocalStripe, DataSet, TestApp, i64) {
    let ls = LocalStripe::start().await;
    let data = create_data_set(&ls).await;
    let (app, id) = app_on(&ls).await;
    sync(&app, id, options).await;
    (ls, data, app, id)
}

fn ids(rows: &BTreeMap<String, Value>) -> BTreeSet<String> {
    rows.keys().cloned().collect()
}

#[tokio::test]
async fn a_backfill_stores_exactly_what_localstripe_lists_in_each_of_the_seven_tables() {
    // Pages of 3 make every list page through `starting_after` at localstripe.
    let (ls, data, app, id) = backfilled(SyncOptions {
        page_size: 3,
        max_pages: None,
    })
    .await;
    for table in lists() {
        let expected = ls.list_all(table).await;
        let rows = stored(&app, id, table).await;
        assert_eq!(ids(&rows), ids(&expected), "{table}: ids");
        assert_eq!(rows, expected, "{table}: objects as localstripe sent them");
    }
    // The data set is all there: canceled subscriptions too, each invoice with its charge.
    let customers = stored(&app, id, "customers").await;
    assert_eq!(customers.len(), 6);
    for c in &data.customers {
        assert!(customers[c]["default_source"].is_string(), "{c} has a card");
    }
    let subscriptions = stored(&app, id, "subscriptions").await;
    assert_eq!(subscriptions.len(), 4);
    assert_eq!(subscriptions[&data.canceled]["status"], "canceled");
    for s in &data.active {
        assert_eq!(subscriptions[s]["status"], "active");
    }
    assert_eq!(stored(&app, id, "invoices").await.len(), 4);
    let charges = stored(&app, id, "charges").await;
    assert_eq!(charges.len(), 5);
    assert!(charges.contains_key(&data.one_off_charge));
    assert_eq!(
        ids(&stored(&app, id, "plans").await),
        data.plans.iter().cloned().collect()
    );
    assert_eq!(
        ids(&stored(&app, id, "coupons").await),
        data.coupons.iter().cloned().collect()
    );
    let events = stored(&app, id, "events").await;
    assert!(events.len() > 25, "{}", events.len());
    assert!(customers[&data.lead]["default_source"].is_null());
}

#[tokio::test]
async fn a_forced_update_brings_in_new_and_changed_objects_and_a_newly_canceled_subscription() {
    let (ls, data, app, id) = backfilled(SyncOptions::default()).await;

    // Changes at "Stripe" after the backfill.
    let renamed = &data.customers[0];
    ls.post(
        &format!("customers/{renamed}"),
        &[("email", "ada.renamed@example.test")],
    )
    .await;
    let coupon = ls
        .post(
            "coupons",
            &[
                ("id", "SPRING25"),
                ("percent_off", "25"),
                ("duration", "forever"),
            ],
        )
        .await;
    let newcomer = ls
        .customer_with_card("Katherine Johnson", "katherine@example.test")
        .await;
    let new_subscription = ls.subscribe(&newcomer, &data.plans[1]).await;
    let newly_canceled = &data.active[1];
    ls.cancel(newly_canceled).await;

    let uri = format!("/api/connections/{id}/sync");
    assert_eq!(app.json("POST", &uri).await.0, StatusCode::ACCEPTED);
    sync(&app, id, SyncOptions::default()).await;

    for table in lists() {
        let expected = ls.list_ids(table).await;
        assert_eq!(ids(&stored(&app, id, table).await), expected, "{table}");
    }
    let customers = stored(&app, id, "customers").await;
    assert_eq!(customers[renamed]["email"], "ada.renamed@example.test");
    assert_eq!(customers[&newcomer]["email"], "katherine@example.test");
    let coupons = stored(&app, id, "coupons").await;
    assert_eq!(coupons["SPRING25"], coupon);
    let subscriptions = stored(&app, id, "subscriptions").await;
    assert_eq!(subscriptions[newly_canceled]["status"], "canceled");
    assert_eq!(
        subscriptions[new_subscription["id"].as_str().unwrap()]["status"],
        "active"
    );
    let invoice = new_subscription["latest_invoice"].as_str().unwrap();
    assert!(stored(&app, id, "invoices").await.contains_key(invoice));
}

// A forced update is a full pass: what Stripe no longer lists is marked deleted and kept.
#[tokio::test]
async fn a_forced_update_marks_deleted_customers_plans_and_coupons_deleted_and_keeps_them() {
    let (ls, data, app, id) = backfilled(SyncOptions::default()).await;

    // The lead (no subscription), the legacy plan (no subscriber) and a coupon go at "Stripe":
    // localstripe forgets them (a retrieve answers 404); the rows must stay, marked deleted.
    let gone_customer = &data.lead;
    let gone_plan = &data.plans[2];
    let gone_coupon = &data.coupons[1];
    for path in [
        format!("customers/{gone_customer}"),
        format!("plans/{gone_plan}"),
        format!("coupons/{gone_coupon}"),
    ] {
        assert_eq!(ls.delete(&path).await["deleted"], true);
        assert_eq!(ls.get(&path, &[]).await.0, 404);
    }

    let uri = format!("/api/connections/{id}/sync");
    assert_eq!(app.json("POST", &uri).await.0, StatusCode::ACCEPTED);
    sync(&app, id, SyncOptions::default()).await;

    for (table, gone) in [
        ("customers", gone_customer),
        ("plans", gone_plan),
        ("coupons", gone_coupon),
    ] {
        let rows = stored(&app, id, table).await;
        let mut expected = ls.list_ids(table).await;
        assert!(!expected.contains(gone));
        expected.insert(gone.clone());
        assert_eq!(ids(&rows), expected, "{table}: the deleted row stays");
        for (row_id, row) in &rows {
            let deleted = row.get("deleted").and_then(Value::as_bool).unwrap_or(false);
            assert_eq!(deleted, row_id == gone, "{table} {row_id}: {row}");
        }
    }
}

// A scheduled sync reads localstripe's events (oldest first, in another API version: each object
// is read again by id) and applies what they tell: changed and new customers, a deleted one (kept,
// marked deleted), a canceled subscription (not deleted).
#[tokio::test]
async fn a_scheduled_sync_applies_localstripes_events() {
    let (ls, data, app, id) = backfilled(SyncOptions::default()).await;
    let renamed = &data.customers[0];
    ls.post(
        &format!("customers/{renamed}"),
        &[("email", "ada.events@example.test")],
    )
    .await;
    let newcomer = ls
        .customer_with_card("Dorothy Vaughan", "dorothy@example.test")
        .await;
    let gone = &data.lead;
    assert_eq!(
        ls.delete(&format!("customers/{gone}")).await["deleted"],
        true
    );
    let newly_canceled = &data.active[0];
    ls.cancel(newly_canceled).await;

    app.state.clock.advance(600);
    let now = app.state.clock.now();
    assert!(
        store::enqueue_sync(&app.state.pool, ConnectionId(id), now, false)
            .await
            .unwrap()
    );
    sync(&app, id, SyncOptions::default()).await;

    let customers = stored(&app, id, "customers").await;
    assert_eq!(customers[renamed]["email"], "ada.events@example.test");
    assert_eq!(customers[&newcomer]["email"], "dorothy@example.test");
    assert_eq!(customers[gone]["deleted"], true, "{}", customers[gone]);
    assert_eq!(customers[renamed], ls.list_all("customers").await[renamed]);
    let subscriptions = stored(&app, id, "subscriptions").await;
    assert_eq!(subscriptions[newly_canceled]["status"], "canceled");
    assert!(subscriptions[newly_canceled].get("deleted").is_none());
    assert_eq!(
        ids(&stored(&app, id, "events").await),
        ls.list_ids("events").await,
        "every event is stored"
    );
}

/// Unix seconds as `YYYY-MM`, UTC (days to a civil date, after Howard Hinnant's algorithm).
fn month(t: i64) -> String {
    let z = t.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}")
}

#[test]
fn months_are_utc_calendar_months() {
    assert_eq!(month(0), "1970-01");
    assert_eq!(month(1_700_000_000), "2023-11");
    assert_eq!(month(951_782_400), "2000-02"); // 2000-02-29
    assert_eq!(month(1_709_251_199), "2024-02"); // 2024-02-29 23:59:59
}

#[tokio::test]
async fn the_warehouse_holds_what_localstripe_sends_typed_with_an_invoice_of_25_lines_whole() {
    let ls = LocalStripe::start().await;
    let data = create_data_set(&ls).await;
    // An invoice of 25 lines (its subscription's and 24 pending items): embedded, cut at ten.
    let customer = &data.customers[0];
    for k in 0..24 {
        let amount = (100 + k).to_string();
        ls.post(
            "invoiceitems",
            &[
                ("customer", customer.as_str()),
                ("amount", &amount),
                ("currency", "usd"),
            ],
        )
        .await;
    }
    let invoice = ls
        .post("invoices", &[("customer", customer.as_str())])
        .await;
    let invoice_id = invoice["id"].as_str().unwrap().to_owned();
    assert_eq!(invoice["lines"]["has_more"], true, "{invoice}");
    let (status, lines) = ls
        .get(&format!("invoices/{invoice_id}/lines"), &[("limit", "100")])
        .await;
    assert_eq!(status, 200, "{lines}");
    let lines = lines["data"].as_array().unwrap().clone();
    assert_eq!(lines.len(), 25);

    let (app, id) = app_on(&ls).await;
    sync(&app, id, SyncOptions::default()).await;
    let body = warehouse(&app, id).await;
    let schema = body["schema"].as_str().unwrap().to_owned();
    assert_eq!(schema, "stripe_localstripe");
    for table in lists() {
        let mut expected = ls.list_all(table).await;
        if table == "invoices" {
            let whole = expected.get_mut(&invoice_id).unwrap();
            whole["lines"]["data"] = Value::Array(lines.clone());
            whole["lines"]["has_more"] = Value::Bool(false);
        }
        assert_relation_matches(&app, &body, table, &expected).await;
    }
    let got = child_ids(&app, &schema, "invoice_lines", "invoice_id", &invoice_id).await;
    let mut want: Vec<String> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    want.sort();
    assert_eq!(got, want);

    // The README's example queries answer what the JSON says.
    let dialect = app.state.pool.dialect();
    let revenue: Vec<(String, i64)> = app
        .state
        .pool
        .fetch_all(&examples::revenue_by_month(dialect, &schema), args![])
        .await
        .unwrap();
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for charge in ls.list_all("charges").await.values() {
        if charge["status"] == "succeeded" {
            *expected
                .entry(month(charge["created"].as_i64().unwrap()))
                .or_default() +=
                charge["amount"].as_i64().unwrap() - charge["amount_refunded"].as_i64().unwrap();
        }
    }
    assert!(!expected.is_empty());
    assert_eq!(revenue, expected.into_iter().collect::<Vec<_>>());
    let mrr: i64 = app
        .state
        .pool
        .scalar_one(&examples::mrr(dialect, &schema), args![])
        .await
        .unwrap();
    let plans = ls.list_all("plans").await;
    let mut expected = 0.0;
    for sub in ls.list_all("subscriptions").await.values() {
        if !matches!(sub["status"].as_str(), Some("active" | "past_due")) {
            continue;
        }
        for item in sub["items"]["data"].as_array().unwrap() {
            let plan = &plans[item["plan"]["id"].as_str().unwrap()];
            let per_month = match plan["interval"].as_str().unwrap() {
                "year" => 1.0 / 12.0,
                "week" => 52.0 / 12.0,
                "day" => 365.0 / 12.0,
                _ => 1.0,
            };
            expected += plan["amount"].as_f64().unwrap()
                * item["quantity"].as_f64().unwrap_or(1.0)
                * per_month
                / plan["interval_count"].as_f64().unwrap();
        }
    }
    assert!(mrr > 0);
    assert_eq!(mrr, expected.round() as i64);
}
