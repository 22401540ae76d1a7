//! Stripe data as a warehouse (SPEC §6.3): each synced table is also a typed relation in the
//! connection's schema — `id`, every top-level field flattened and typed, `deleted` last — that
//! follows Stripe (a new field becomes a column), the Data Warehouse Manager's changes (untracked
//! columns leave it, a renamed schema moves it) and the connection (deleted, nothing stays).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use backend::emulator::ChangeKind;
use backend::ids::ConnectionId;
use backend::store::Dialect;
use backend::stripe::lists::StripeList;
use backend::sync::SyncOptions;
use backend::warehouse::columns::ColumnType;
use serde_json::{json, Value};
use support::sync::*;
use support::warehouse::*;
use support::*;

const ACME: &str = "acct_1AcmeTest";

/// The connection's schema name.
async fn schema(app: &TestApp, id: i64) -> String {
    warehouse(app, id).await["schema"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A scheduled (not forced) sync, ten minutes later, run to its end.
async fn scheduled(app: &TestApp, id: i64) {
    app.state.clock.advance(600);
    let now = app.state.clock.now();
    backend::store::enqueue_sync(&app.state.pool, ConnectionId(id), now, false)
        .await
        .unwrap();
    assert_eq!(run(app, SyncOptions::default()).await, 1);
}

async fn synced() -> (TestApp, i64) {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    (app, id)
}

#[tokio::test]
async fn every_top_level_field_has_its_typed_column_holding_stripes_value() {
    let (app, id) = synced().await;
    let body = warehouse(&app, id).await;
    assert_eq!(body["schema"], "stripe_acme_test_ltd", "{body}");
    let names: Vec<&str> = body["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, backend::warehouse::TABLES);
    for list in StripeList::ALL {
        let objects = stripe_objects(&app, id, list).await;
        assert!(!objects.is_empty(), "{}", list.name());
        assert_relation_matches(&app, &body, list.name(), &objects).await;
    }
    // Types as the SPEC names them.
    let customers = api_columns(&body, "customers");
    let kind = |name: &str| {
        customers
            .iter()
            .find(|c| c.0 == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .1
            .clone()
    };
    assert_eq!(kind("email"), "text");
    assert_eq!(kind("created"), "timestamp");
    assert_eq!(kind("metadata"), "json");
    let charges = api_columns(&body, "charges");
    assert!(charges.contains(&("amount".into(), "integer".into(), true)));
}

#[tokio::test]
async fn a_field_stripe_adds_between_two_syncs_becomes_a_tracked_column() {
    let (app, id) = synced().await;
    let schema = schema(&app, id).await;
    let customer = stripe_objects(&app, id, StripeList::Customers)
        .await
        .into_keys()
        .next()
        .unwrap();
    app.emulator
        .change_object(
            ACME,
            "customers",
            &customer,
            ChangeKind::Update,
            json!({"loyalty_points": 120, "tier": {"name": "gold", "granted_at": 1_700_000_000}}),
        )
        .unwrap();
    scheduled(&app, id).await;
    let columns = api_columns(&warehouse(&app, id).await, "customers");
    for expected in [
        ("loyalty_points", "integer"),
        ("tier_name", "text"),
        ("tier_granted_at", "timestamp"),
    ] {
        assert!(
            columns.contains(&(expected.0.into(), expected.1.into(), true)),
            "{expected:?} in {columns:?}"
        );
    }
    assert_eq!(columns.last().unwrap().0, "deleted");
    let points = column_values(
        &app,
        &schema,
        "customers",
        "loyalty_points",
        ColumnType::Integer,
    )
    .await;
    assert_eq!(points[&customer].as_deref(), Some("120"));
    let since = column_values(
        &app,
        &schema,
        "customers",
        "tier_granted_at",
        ColumnType::Timestamp,
    )
    .await;
    assert_eq!(since[&customer].as_deref(), Some("1700000000"));
    // A value that does not fit its column stays in the JSON; the sync goes on.
    app.emulator
        .change_object(
            ACME,
            "customers",
            &customer,
            ChangeKind::Update,
            json!({"loyalty_points": "lots"}),
        )
        .unwrap();
    // (Force an update: a full pass lists it.)
    app.json("POST", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let points = column_values(
        &app,
        &schema,
        "customers",
        "loyalty_points",
        ColumnType::Integer,
    )
    .await;
    let stored = table_objects(&app, id, "customers", 1000).await;
    let stored = stored
        .iter()
        .find(|o| o["id"] == customer.as_str())
        .unwrap();
    assert_eq!(stored["loyalty_points"], "lots", "{stored}");
    assert_eq!(points[&customer], None);
    let object = stripe_objects(&app, id, StripeList::Customers).await[&customer].clone();
    assert_eq!(object["loyalty_points"], "lots");
    let (_, status) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(status["status"], "idle", "{status}");
    // … and is counted where an operator looks.
    let (_, warehouse) = app
        .json("GET", &format!("/api/connections/{id}/warehouse"))
        .await;
    let misfits = |name: &str| {
        warehouse["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["misfits"].clone())
    };
    assert_eq!(misfits("customers"), Some(json!(1)), "{warehouse}");
    assert_eq!(misfits("charges"), Some(json!(0)), "{warehouse}");
}

#[tokio::test]
async fn an_untracked_column_leaves_the_relation_and_tracked_again_comes_back_filled() {
    let (app, id) = synced().await;
    let body = warehouse(&app, id).await;
    let schema = body["schema"].as_str().unwrap().to_owned();
    let change = |tracked: bool| {
        json!({"schema": schema, "tables": [{"name": "customers", "columns": [
            {"name": "email", "type": "text", "tracked": tracked}]}]})
    };
    let (status, after) = put(&app, id, change(false)).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert!(api_columns(&after, "customers").contains(&("email".into(), "text".into(), false)));
    let shown = relation_columns(&app, &schema, "customers").await;
    assert!(!shown.contains(&"email".to_owned()), "{shown:?}");
    assert_eq!(shown.last().unwrap(), "deleted");
    // The preview's rows follow the relation, page by page.
    let (status, page) = app
        .json(
            "GET",
            &format!("/api/connections/{id}/warehouse/customers?limit=2"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let names: Vec<&str> = page["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"id"));
    assert_eq!(names.last(), Some(&"deleted"));
    assert!(
        !names.contains(&"email") && names.contains(&"name"),
        "{names:?}"
    );
    assert_eq!(page["rows"].as_array().unwrap().len(), 2);
    assert_eq!(page["has_more"], true);
    let created = names.iter().position(|n| *n == "created").unwrap();
    let first = page["rows"][0][created].as_str().unwrap();
    assert!(first.ends_with('Z') && first.contains('T'), "{first}");
    let last = page["rows"][1][0].as_str().unwrap();
    let (_, next) = app
        .json(
            "GET",
            &format!("/api/connections/{id}/warehouse/customers?limit=1000&after={last}"),
        )
        .await;
    let customers = stripe_objects(&app, id, StripeList::Customers).await;
    assert_eq!(next["rows"].as_array().unwrap().len(), customers.len() - 2);
    for (uri, expected) in [
        ("warehouse/payouts", StatusCode::NOT_FOUND),
        ("warehouse/customers?limit=0", StatusCode::BAD_REQUEST),
        ("warehouse/invoice_lines", StatusCode::OK),
    ] {
        let (status, body) = app
            .json("GET", &format!("/api/connections/{id}/{uri}"))
            .await;
        assert_eq!(status, expected, "{uri}: {body}");
    }
    // A sync keeps it out.
    app.json("POST", &format!("/api/connections/{id}/sync"))
        .await;
    run(&app, SyncOptions::default()).await;
    assert!(!relation_columns(&app, &schema, "customers")
        .await
        .contains(&"email".to_owned()));
    // Tracked again: back, with every customer's email.
    let (status, _) = put(&app, id, change(true)).await;
    assert_eq!(status, StatusCode::OK);
    let emails = column_values(&app, &schema, "customers", "email", ColumnType::Text).await;
    for (object_id, object) in stripe_objects(&app, id, StripeList::Customers).await {
        assert_eq!(emails[&object_id].as_deref(), object["email"].as_str());
    }
    // `id` and `deleted` stay; an unknown column is refused and nothing changes.
    let (status, err) = put(
        &app,
        id,
        json!({"schema": schema, "tables": [{"name": "customers", "columns": [
            {"name": "deleted", "tracked": false}]}]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["reason"], "column_required");
    let (status, err) = put(
        &app,
        id,
        json!({"schema": "renamed_meanwhile", "tables": [{"name": "customers", "columns": [
            {"name": "nonexistent", "tracked": false}]}]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["reason"], "unknown_column");
    assert_eq!(warehouse(&app, id).await["schema"], schema.as_str());
}

#[tokio::test]
async fn renaming_the_schema_moves_every_relation_and_a_taken_or_bad_name_is_refused() {
    let (app, id) = synced().await;
    let old = schema(&app, id).await;
    let (status, body) = put(&app, id, json!({"schema": "analytics_acme"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["schema"], "analytics_acme");
    assert!(warehouse_relations(&app, &old)
        .await
        .iter()
        .all(|r| r.starts_with("warehouse_c") || r.starts_with("public.")));
    let customers = stripe_objects(&app, id, StripeList::Customers).await;
    let ids = column_values(
        &app,
        "analytics_acme",
        "customers",
        "email",
        ColumnType::Text,
    )
    .await;
    assert_eq!(ids.len(), customers.len());
    // Another connection's name, a malformed one, one PostgreSQL keeps: refused.
    let other = store_key_connection(
        &app,
        "acct_1OtherCo",
        "Other Co",
        "rk_test_other1234",
        false,
    )
    .await;
    let other_schema = warehouse(&app, other.0).await["schema"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(other_schema, "stripe_other_co");
    let (status, err) = put(&app, id, json!({"schema": other_schema})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["reason"], "schema_taken");
    for bad in [
        "Analytics",
        "1abc",
        "a-b",
        "pg_temp",
        "public",
        "x\"; DROP TABLE users; --",
    ] {
        let (status, err) = put(&app, id, json!({"schema": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
        assert_eq!(err["reason"], "invalid_schema");
    }
    assert_eq!(warehouse(&app, id).await["schema"], "analytics_acme");
    // Read-only users and strangers do not see it.
    let response = app
        .send(
            "GET",
            &format!("/api/connections/{id}/warehouse"),
            None,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_deleted_object_is_marked_and_a_deleted_connection_leaves_nothing_behind() {
    let (app, id) = synced().await;
    let schema = schema(&app, id).await;
    let plan = stripe_objects(&app, id, StripeList::Plans)
        .await
        .into_keys()
        .next()
        .unwrap();
    app.emulator
        .change_object(ACME, "plans", &plan, ChangeKind::Delete, json!({}))
        .unwrap();
    scheduled(&app, id).await;
    let deleted = column_values(&app, &schema, "plans", "deleted", ColumnType::Boolean).await;
    assert_eq!(deleted[&plan].as_deref(), Some("true"));
    assert!(deleted
        .iter()
        .filter(|(k, _)| **k != plan)
        .all(|(_, v)| v.as_deref() == Some("false")));

    assert!(!warehouse_relations(&app, &schema).await.is_empty());
    let (status, body) = app
        .json("DELETE", &format!("/api/connections/{id}?force=true"))
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(
        warehouse_relations(&app, &schema).await,
        Vec::<String>::new()
    );
    if app.state.pool.dialect() == Dialect::Postgres {
        let left: Option<String> = app
            .state
            .pool
            .scalar_optional(
                "SELECT CAST(nspname AS TEXT) FROM pg_namespace WHERE nspname = $1",
                backend::args![schema.as_str()],
            )
            .await
            .unwrap();
        assert_eq!(left, None);
    }
    for table in ["warehouse_tables", "warehouse_columns"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE connection_id = $1");
        let n: i64 = app
            .state
            .pool
            .scalar_one(&sql, backend::args![id])
            .await
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
}

#[tokio::test]
async fn an_invoice_with_25_lines_has_25_rows_and_each_subscription_its_items() {
    let (app, id) = synced().await;
    let schema = schema(&app, id).await;
    // Every invoice's lines and every subscription's items, from the fixtures.
    for invoice in stripe_objects(&app, id, StripeList::Invoices)
        .await
        .values()
    {
        let invoice_id = invoice["id"].as_str().unwrap();
        let expected: Vec<String> = invoice["lines"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect();
        assert!(!expected.is_empty());
        let got = child_ids(&app, &schema, "invoice_lines", "invoice_id", invoice_id).await;
        assert_eq!(got, expected, "{invoice_id}");
    }
    for sub in stripe_objects(&app, id, StripeList::Subscriptions)
        .await
        .values()
    {
        let sub_id = sub["id"].as_str().unwrap();
        let got = child_ids(
            &app,
            &schema,
            "subscription_items",
            "subscription_id",
            sub_id,
        )
        .await;
        assert_eq!(
            got.len(),
            sub["items"]["data"].as_array().unwrap().len(),
            "{sub_id}"
        );
    }
    // An invoice of 25 lines: Stripe embeds ten.
    let lines = |n: i64| -> Vec<Value> {
        (0..n)
            .map(|k| {
                json!({"id": format!("il_big{k:02}"), "object": "line_item",
                    "amount": 100 + k, "currency": "usd", "quantity": 1, "type": "invoiceitem"})
            })
            .collect()
    };
    let customer = stripe_objects(&app, id, StripeList::Customers)
        .await
        .into_keys()
        .next()
        .unwrap();
    app.emulator
        .change_object(
            ACME,
            "invoices",
            "in_big",
            ChangeKind::Create,
            json!({"customer": customer, "currency": "usd", "status": "paid", "total": 3_000,
                "lines": {"object": "list", "data": lines(25), "has_more": false,
                    "url": "/v1/invoices/in_big/lines"}}),
        )
        .unwrap();
    let listed = stripe_objects(&app, id, StripeList::Invoices).await["in_big"].clone();
    assert_eq!(listed["lines"]["data"].as_array().unwrap().len(), 10);
    assert_eq!(listed["lines"]["has_more"], true);
    // The events pass reads the rest.
    scheduled(&app, id).await;
    let got = child_ids(&app, &schema, "invoice_lines", "invoice_id", "in_big").await;
    assert_eq!(got.len(), 25, "{got:?}");
    let total: i64 = app
        .state
        .pool
        .scalar_one(
            &format!(
                "SELECT CAST(SUM(amount) AS BIGINT) FROM {} WHERE invoice_id = 'in_big'",
                relation(&app, &schema, "invoice_lines")
            ),
            backend::args![],
        )
        .await
        .unwrap();
    assert_eq!(total, (0..25).map(|k| 100 + k).sum::<i64>());
    // A full pass reads them whole too; lines the invoice no longer has leave the table.
    app.emulator
        .change_object(
            ACME,
            "invoices",
            "in_big",
            ChangeKind::Update,
            json!({"lines": {"object": "list", "data": lines(12), "has_more": false,
                "url": "/v1/invoices/in_big/lines"}}),
        )
        .unwrap();
    app.json("POST", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let got = child_ids(&app, &schema, "invoice_lines", "invoice_id", "in_big").await;
    assert_eq!(got.len(), 12, "{got:?}");
    // The parent id stays tracked.
    let (status, err) = put(
        &app,
        id,
        json!({"schema": schema, "tables": [{"name": "invoice_lines", "columns": [
            {"name": "invoice_id", "tracked": false}]}]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["reason"], "column_required");
}
