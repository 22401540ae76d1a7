//! Fresh within seconds: data events of connected accounts delivered to `POST /webhooks/stripe`
//! reach the tables without any sync; out of order and twice they leave the newest state; events
//! of unknown accounts or badly signed change nothing; what is acknowledged survives a restart; a
//! burst of a thousand is acknowledged and applied; with webhooks lost, the safety-net events pass
//! makes every table equal Stripe again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use backend::args;
use backend::emulator::ChangeKind;
use backend::ids::ConnectionId;
use backend::stripe::lists::StripeList;
use backend::sync::{apply_queued, SyncOptions};
use serde_json::{json, Value};
use support::sync::*;
use support::*;

const ACME: &str = "acct_1AcmeTest";
const GLOBEX: &str = "acct_1GlobexTest";

/// A connected, fully synced app.
async fn synced() -> (TestApp, i64) {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    assert_tables_match_stripe(&app, id).await;
    (app, id)
}

/// Changes the demo account at the emulator; the event Stripe sends of it.
fn change(app: &TestApp, list: &str, id: &str, kind: ChangeKind, fields: Value) -> Value {
    app.emulator
        .change_with_event(ACME, list, id, kind, fields)
        .unwrap()
        .1
        .expect("an event")
}

/// Moves the product's and Stripe's clocks `secs` forward.
fn later(app: &TestApp, secs: i64) {
    app.state.clock.advance(secs);
    app.emulator.advance_clock(secs);
}

/// Delivers `event` signed with the app's secret; the answer must be 200.
async fn hook(app: &TestApp, event: &Value) {
    let status = deliver(app, &event.to_string(), WEBHOOK_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{event}");
}

/// The stored object `id` of `table`, if any.
async fn row(app: &TestApp, connection: i64, table: &str, id: &str) -> Option<Value> {
    table_objects(app, connection, table, 1000)
        .await
        .into_iter()
        .find(|o| o["id"] == id)
}

/// The first object of a list at the emulator matching `pred`.
async fn pick(app: &TestApp, id: i64, list: StripeList, pred: impl Fn(&Value) -> bool) -> Value {
    stripe_objects(app, id, list)
        .await
        .into_values()
        .find(|o| pred(o))
        .unwrap()
}

async fn queued(app: &TestApp) -> i64 {
    app.state
        .pool
        .scalar_one("SELECT COUNT(*) FROM webhook_queue", args![])
        .await
        .unwrap()
}

async fn jobs(app: &TestApp, id: i64) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM sync_jobs WHERE connection_id = $1",
        id,
    )
    .await
}

/// The connection's `fresh_as_of` in the Data Sources list.
async fn listed_fresh(app: &TestApp, id: i64) -> Option<i64> {
    let (status, body) = app.json("GET", "/api/connections").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()["fresh_as_of"]
        .as_i64()
}

/// The connection's sync status.
async fn sync_status(app: &TestApp, id: i64) -> Value {
    let (status, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn table_of<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()
}

#[tokio::test]
async fn webhooks_of_a_new_a_changed_and_a_deleted_object_reach_the_tables_without_a_sync() {
    let (app, id) = synced().await;
    let before = sync_status(&app, id).await;
    let jobs_before = jobs(&app, id).await;
    let customer = pick(&app, id, StripeList::Customers, |_| true).await;
    let customer_id = customer["id"].as_str().unwrap();
    let plan = pick(&app, id, StripeList::Plans, |_| true).await;
    let plan_id = plan["id"].as_str().unwrap();
    let active = pick(&app, id, StripeList::Subscriptions, |s| {
        s["status"] == "active"
    })
    .await;
    let sub_id = active["id"].as_str().unwrap();
    later(&app, 30);
    let events = [
        change(
            &app,
            "customers",
            customer_id,
            ChangeKind::Update,
            json!({"email": "hooked@example.com"}),
        ),
        change(
            &app,
            "coupons",
            "HOOKED",
            ChangeKind::Create,
            json!({"percent_off": 20, "duration": "once"}),
        ),
        change(&app, "plans", plan_id, ChangeKind::Delete, json!({})),
        change(&app, "subscriptions", sub_id, ChangeKind::Delete, json!({})),
    ];
    let listed_before = listed_fresh(&app, id).await;
    assert_eq!(
        listed_before,
        before["fresh_as_of"].as_i64(),
        "the oldest table's"
    );
    for event in &events {
        hook(&app, event).await;
    }
    assert_eq!(queued(&app).await, 4, "acknowledged once queued");
    assert_eq!(apply_queued(&app.state).await.unwrap(), 4);
    assert_eq!(queued(&app).await, 0);

    let stored = row(&app, id, "customers", customer_id).await.unwrap();
    assert_eq!(stored["email"], "hooked@example.com");
    assert_eq!(
        row(&app, id, "coupons", "HOOKED").await.unwrap()["percent_off"],
        20
    );
    let stored_plan = row(&app, id, "plans", plan_id).await.unwrap();
    assert_eq!(stored_plan["deleted"], true, "kept, marked deleted");
    let sub = row(&app, id, "subscriptions", sub_id).await.unwrap();
    assert_eq!(sub["status"], "canceled");
    assert!(sub.get("deleted").is_none(), "canceled, not deleted: {sub}");
    for event in &events {
        let id_ = event["id"].as_str().unwrap();
        assert!(row(&app, id, "events", id_).await.is_some(), "{id_} stored");
    }
    assert_eq!(
        jobs(&app, id).await,
        jobs_before,
        "no sync ran or was queued"
    );

    // Freshness moved to the events' time on the tables they touched, not on the others.
    let created = |i: usize| events[i]["created"].as_i64().unwrap();
    let after = sync_status(&app, id).await;
    for (i, name) in ["customers", "coupons", "plans", "subscriptions"]
        .into_iter()
        .enumerate()
    {
        assert_eq!(table_of(&after, name)["fresh_as_of"], created(i), "{name}");
    }
    let newest = (0..4).map(created).max().unwrap();
    assert_eq!(table_of(&after, "events")["fresh_as_of"], newest);
    for name in ["charges", "invoices"] {
        assert_eq!(
            table_of(&after, name)["fresh_as_of"],
            table_of(&before, name)["fresh_as_of"],
            "{name}"
        );
    }
    // The Data Sources table shows the oldest table's, at once.
    assert_eq!(listed_fresh(&app, id).await, after["fresh_as_of"].as_i64());
    assert_eq!(
        table_of(&after, "coupons")["rows"],
        table_of(&before, "coupons")["rows"].as_i64().unwrap() + 1
    );
    // The connection is fed by webhooks now.
    let hooked: Option<i64> = app
        .state
        .pool
        .scalar_one(
            "SELECT webhook_at FROM sync_cursors WHERE connection_id = $1",
            args![id],
        )
        .await
        .unwrap();
    assert!(hooked.is_some());
}

#[tokio::test]
async fn events_out_of_order_and_twice_leave_the_newest_state() {
    let (app, id) = synced().await;
    let customer = pick(&app, id, StripeList::Customers, |_| true).await;
    let customer_id = customer["id"].as_str().unwrap();
    later(&app, 10);
    let older = change(
        &app,
        "customers",
        customer_id,
        ChangeKind::Update,
        json!({"name": "Older"}),
    );
    later(&app, 10);
    let newer = change(
        &app,
        "customers",
        customer_id,
        ChangeKind::Update,
        json!({"name": "Newer"}),
    );
    // The newer first, alone.
    hook(&app, &newer).await;
    apply_queued(&app.state).await.unwrap();
    // Then the older one, late, and the newer again (Stripe retries): one batch, and one more.
    hook(&app, &older).await;
    apply_queued(&app.state).await.unwrap();
    hook(&app, &newer).await;
    hook(&app, &older).await;
    assert_eq!(queued(&app).await, 0, "a redelivery is not queued again");
    apply_queued(&app.state).await.unwrap();
    let stored = row(&app, id, "customers", customer_id).await.unwrap();
    assert_eq!(stored["name"], "Newer", "{stored}");

    // Both in one batch, the older queued last.
    later(&app, 10);
    let third = change(
        &app,
        "customers",
        customer_id,
        ChangeKind::Update,
        json!({"name": "Third"}),
    );
    later(&app, 10);
    let fourth = change(
        &app,
        "customers",
        customer_id,
        ChangeKind::Update,
        json!({"name": "Fourth"}),
    );
    hook(&app, &fourth).await;
    hook(&app, &third).await;
    apply_queued(&app.state).await.unwrap();
    assert_eq!(
        row(&app, id, "customers", customer_id).await.unwrap()["name"],
        "Fourth"
    );
    // The typed relation agrees with the JSON.
    let typed: String = app
        .state
        .pool
        .scalar_one(
            &format!("SELECT name FROM warehouse_c{id}_customers WHERE id = $1"),
            args![customer_id],
        )
        .await
        .unwrap();
    assert_eq!(typed, "Fourth");

    // The safety-net events pass reads all four events again: nothing goes back.
    later(&app, 600);
    let now = app.state.clock.now();
    backend::store::enqueue_sync(&app.state.pool, ConnectionId(id), now, false)
        .await
        .unwrap();
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    assert_eq!(
        row(&app, id, "customers", customer_id).await.unwrap()["name"],
        "Fourth"
    );
    assert_tables_match_stripe(&app, id).await;
}

#[tokio::test]
async fn an_event_of_an_unknown_account_or_badly_signed_changes_nothing() {
    let (app, id) = synced().await;
    let customer = pick(&app, id, StripeList::Customers, |_| true).await;
    let customer_id = customer["id"].as_str().unwrap();
    let snapshot_before = snapshot(&app, id).await;
    let mut event = change(
        &app,
        "customers",
        customer_id,
        ChangeKind::Update,
        json!({"name": "Forged"}),
    );
    let signed_elsewhere = deliver(&app, &event.to_string(), "whsec_someone_else").await;
    assert_eq!(signed_elsewhere, StatusCode::BAD_REQUEST);
    event["id"] = json!("evt_unknown_account");
    event["account"] = json!("acct_1NobodyHere");
    hook(&app, &event).await;
    // Test mode's event of a live connection's account is another account's too.
    let mut live = event.clone();
    live["id"] = json!("evt_live_mode");
    live["account"] = json!(ACME);
    live["livemode"] = json!(true);
    hook(&app, &live).await;
    assert_eq!(queued(&app).await, 0);
    assert_eq!(apply_queued(&app.state).await.unwrap(), 0);
    assert_eq!(snapshot(&app, id).await, snapshot_before);
}

#[tokio::test]
async fn events_acknowledged_before_a_restart_are_applied_after_it() {
    let (app, id) = synced().await;
    let event = change(
        &app,
        "coupons",
        "AFTER_RESTART",
        ChangeKind::Create,
        json!({"percent_off": 5, "duration": "once"}),
    );
    hook(&app, &event).await;
    assert_eq!(queued(&app).await, 1);
    // The process dies before applying; another starts on the same database.
    let restarted = backend::startup::Application::build(app.config.clone())
        .await
        .unwrap();
    assert_eq!(apply_queued(restarted.state()).await.unwrap(), 1);
    assert!(row(&app, id, "coupons", "AFTER_RESTART").await.is_some());
}

#[tokio::test]
async fn an_event_in_another_api_version_brings_an_events_pass_that_reads_the_object_again() {
    let (app, id) = synced().await;
    let customer = pick(&app, id, StripeList::Customers, |_| true).await;
    let customer_id = customer["id"].as_str().unwrap();
    later(&app, 30);
    let mut event = change(
        &app,
        "customers",
        customer_id,
        ChangeKind::Update,
        json!({"name": "Read again"}),
    );
    event["api_version"] = json!("2020-08-27");
    event["data"]["object"]["name"] = json!("Rendered in an old version");
    hook(&app, &event).await;
    let jobs_before = jobs(&app, id).await;
    apply_queued(&app.state).await.unwrap();
    assert_eq!(
        jobs(&app, id).await,
        jobs_before + 1,
        "an events pass queued"
    );
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let stored = row(&app, id, "customers", customer_id).await.unwrap();
    assert_eq!(stored["name"], "Read again", "read again by id: {stored}");
}

#[tokio::test]
async fn with_thirty_percent_of_webhooks_lost_the_safety_net_pass_makes_every_table_equal_stripe() {
    let (app, id) = synced().await;
    let customers: Vec<String> = stripe_objects(&app, id, StripeList::Customers)
        .await
        .into_keys()
        .collect();
    let mut events = Vec::new();
    for i in 0..30 {
        later(&app, 1);
        let event = match i % 3 {
            0 => change(
                &app,
                "customers",
                &format!("cus_hooked{i:03}"),
                ChangeKind::Create,
                json!({"email": format!("n{i}@example.com")}),
            ),
            1 => change(
                &app,
                "customers",
                &customers[i % customers.len()],
                ChangeKind::Update,
                json!({"name": format!("Name {i}")}),
            ),
            _ => change(
                &app,
                "coupons",
                &format!("HOOK{i:03}"),
                ChangeKind::Create,
                json!({"amount_off": i, "currency": "usd", "duration": "once"}),
            ),
        };
        events.push(event);
    }
    // Three of every ten never arrive.
    for (i, event) in events.iter().enumerate() {
        if i % 10 >= 3 {
            hook(&app, event).await;
        }
    }
    apply_queued(&app.state).await.unwrap();
    let missing = row(&app, id, "customers", "cus_hooked000").await;
    assert!(missing.is_none(), "its webhook was lost");
    assert!(row(&app, id, "customers", "cus_hooked003").await.is_some());

    // The safety net: an events pass from the cursor.
    later(&app, 600);
    let now = app.state.clock.now();
    backend::store::enqueue_sync(&app.state.pool, ConnectionId(id), now, false)
        .await
        .unwrap();
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    assert_tables_match_stripe(&app, id).await;
}

#[tokio::test]
async fn a_burst_of_a_thousand_webhooks_is_acknowledged_at_once_and_all_applied() {
    let (app, id) = synced().await;
    let mut events = Vec::new();
    for i in 0..1000 {
        events.push(change(
            &app,
            "customers",
            &format!("cus_burst{i:04}"),
            ChangeKind::Create,
            json!({"email": format!("b{i}@example.com")}),
        ));
    }
    let started = Instant::now();
    let answers = futures_util::future::join_all(events.iter().map(|event| {
        let app = &app;
        async move {
            let t = Instant::now();
            let status = deliver(app, &event.to_string(), WEBHOOK_SECRET).await;
            (status, t.elapsed())
        }
    }))
    .await;
    let all = started.elapsed();
    for (status, took) in &answers {
        assert_eq!(*status, StatusCode::OK);
        // Stripe gives an endpoint a few seconds; a queued event is acknowledged long before.
        assert!(*took < Duration::from_secs(10), "acknowledged in {took:?}");
    }
    eprintln!("1,000 webhooks acknowledged in {all:?}");
    assert_eq!(apply_queued(&app.state).await.unwrap(), 1000);
    let stored = table_objects(&app, id, "customers", 1000)
        .await
        .into_iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("cus_burst"))
        .count();
    assert_eq!(stored, 1000);
    let status = sync_status(&app, id).await;
    assert_eq!(
        table_of(&status, "customers")["rows"].as_i64().unwrap(),
        stripe_objects(&app, id, StripeList::Customers).await.len() as i64
    );
}

#[tokio::test]
async fn a_change_made_on_the_emulators_page_reaches_the_table_by_a_signed_webhook() {
    // The app on a real socket; the emulator delivers its webhooks there.
    let (app, url) = spawn_app_receiving_webhooks().await;
    let id = app.connect().await;
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let customers_before = stripe_objects(&app, id, StripeList::Customers).await.len();

    // The home page offers the changes; "Add a customer" makes one and delivers its event.
    let client = oauth2::reqwest::Client::new();
    let home = client
        .get(url.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Make a change in Acme"), "{home}");
    for change in ["customer", "charge", "refund", "cancel", "delete_coupon"] {
        let made = client
            .post(url.join("demo-changes").unwrap())
            .form(&[("account", ACME), ("change", change)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            made.status(),
            200,
            "{change}: {}",
            made.text().await.unwrap()
        );
    }
    assert_eq!(queued(&app).await, 5, "five events acknowledged");
    apply_queued(&app.state).await.unwrap();
    // Every table holds what Stripe lists; the deleted coupon stays, marked deleted.
    for list in StripeList::ALL {
        let listed = stripe_objects(&app, id, list).await;
        let mut deleted = 0;
        for stored in table_objects(&app, id, list.name(), 1000).await {
            match listed.get(stored["id"].as_str().unwrap()) {
                Some(object) => assert_eq!(&stored, object, "{}", list.name()),
                None => {
                    assert_eq!(stored["deleted"], true, "{stored}");
                    deleted += 1;
                }
            }
        }
        assert_eq!(
            deleted,
            usize::from(list == StripeList::Coupons),
            "{}",
            list.name()
        );
    }
    assert_eq!(
        table_objects(&app, id, "customers", 1000).await.len(),
        customers_before + 1
    );
    let refunded = table_objects(&app, id, "charges", 1000)
        .await
        .into_iter()
        .filter(|c| c["refunded"] == true)
        .count();
    assert_eq!(refunded, 1);

    let unknown = client
        .post(url.join("demo-changes").unwrap())
        .form(&[("account", ACME), ("change", "explode")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
}

#[tokio::test]
async fn two_changes_of_one_second_delivered_out_of_order_end_in_a_read_by_id() {
    let (app, id) = synced().await;
    let customer = pick(&app, id, StripeList::Customers, |_| true).await;
    let customer_id = customer["id"].as_str().unwrap();
    later(&app, 30);
    // Two changes within one second (the earlier one's event made as Stripe would: same
    // `created`, its own id and state).
    let second = change(
        &app,
        "customers",
        customer_id,
        ChangeKind::Update,
        json!({"name": "Second"}),
    );
    let mut first = second.clone();
    first["id"] = json!("evt_same_second_first");
    first["data"]["object"]["name"] = json!("First");
    let jobs_before = jobs(&app, id).await;
    hook(&app, &second).await;
    apply_queued(&app.state).await.unwrap();
    hook(&app, &first).await;
    apply_queued(&app.state).await.unwrap();
    // The late one did not overwrite: which came last only a read by id tells.
    assert_eq!(
        row(&app, id, "customers", customer_id).await.unwrap()["name"],
        "Second"
    );
    assert_eq!(
        jobs(&app, id).await,
        jobs_before + 1,
        "an events pass queued"
    );
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    assert_eq!(
        row(&app, id, "customers", customer_id).await.unwrap()["name"],
        "Second"
    );
}

#[tokio::test]
async fn a_restricted_key_connection_is_left_to_its_polls() {
    let (app, _) = synced().await;
    // Globex is connected by a restricted key: its account is not connected to the platform,
    // and the key may not read all that events carry.
    store_key_connection(&app, GLOBEX, "Globex", "rk_test_globex0000", false).await;
    let event = json!({
        "id": "evt_globex_1", "object": "event", "type": "coupon.created",
        "created": app.state.clock.now(), "livemode": false, "account": GLOBEX,
        "api_version": backend::stripe::client::STRIPE_VERSION,
        "data": {"object": {"id": "KEYED", "object": "coupon", "percent_off": 5}},
    });
    hook(&app, &event).await;
    assert_eq!(queued(&app).await, 0);
}

#[tokio::test]
async fn an_events_pass_asked_for_while_one_runs_comes_after_it() {
    let (app, id) = synced().await;
    let customer = pick(&app, id, StripeList::Customers, |_| true).await;
    let customer_id = customer["id"].as_str().unwrap();
    // A job is under way (its worker then dies: its lease lapses).
    let now = app.state.clock.now();
    let pool = &app.state.pool;
    assert!(
        backend::store::enqueue_sync(pool, ConnectionId(id), now, false)
            .await
            .unwrap()
    );
    backend::store::claim_sync_job(pool, "elsewhere", now, now + 60)
        .await
        .unwrap()
        .unwrap();
    later(&app, 30);
    let mut event = change(
        &app,
        "customers",
        customer_id,
        ChangeKind::Update,
        json!({"name": "Asked for"}),
    );
    event["api_version"] = json!("2020-08-27");
    hook(&app, &event).await;
    apply_queued(&app.state).await.unwrap();
    // The run taken over, then the pass the webhook asked for.
    later(&app, 120);
    assert_eq!(run(&app, SyncOptions::default()).await, 2);
    assert_eq!(
        row(&app, id, "customers", customer_id).await.unwrap()["name"],
        "Asked for"
    );
}
