//! After the first full pass, scheduled syncs read Stripe's events since the cursor: updates,
//! creations, deletions (kept, marked deleted) and canceled subscriptions arrive without listing
//! everything; a deletion Stripe told no event of is caught by **Force an update** (a full pass that
//! reconciles ids); a cursor older than Stripe's 30 days of events brings a full pass; a run killed
//! half-way resumes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use backend::emulator::ChangeKind;
use backend::ids::ConnectionId;
use backend::stripe::lists::StripeList;
use backend::sync::SyncOptions;
use serde_json::{json, Value};
use support::sync::*;
use support::*;

const ACME: &str = "acct_1AcmeTest";

/// A connected, fully synced app.
async fn synced() -> (TestApp, i64) {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    assert_tables_match_stripe(&app, id).await;
    (app, id)
}

/// The stored row of `id` in `table`, as the API shows it.
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

/// A scheduled (not forced) sync, ten minutes later (the Admin's session stays alive).
async fn scheduled(app: &TestApp, id: i64, options: SyncOptions) -> usize {
    app.state.clock.advance(600);
    let now = app.state.clock.now();
    assert!(
        backend::store::enqueue_sync(&app.state.pool, ConnectionId(id), now, false)
            .await
            .unwrap()
    );
    run(app, options).await
}

fn change(app: &TestApp, list: &str, id: &str, kind: ChangeKind, fields: Value) {
    app.emulator
        .change_object(ACME, list, id, kind, fields)
        .unwrap();
}

/// Deletes at the emulator, without any event, the first object of `list` matching `pred`: a
/// deletion Stripe tells no event of. Its id.
async fn delete_quietly(
    app: &TestApp,
    id: i64,
    list: StripeList,
    pred: impl Fn(&Value) -> bool,
) -> String {
    let object = pick(app, id, list, pred).await;
    let object_id = object["id"].as_str().unwrap().to_owned();
    change(
        app,
        list.name(),
        &object_id,
        ChangeKind::DeleteSilently,
        json!({}),
    );
    object_id
}

#[tokio::test]
async fn a_scheduled_sync_applies_the_events_since_the_last_one() {
    let (app, id) = synced().await;
    let customer = pick(&app, id, StripeList::Customers, |_| true).await;
    let customer_id = customer["id"].as_str().unwrap();
    let plan = pick(&app, id, StripeList::Plans, |_| true).await;
    let plan_id = plan["id"].as_str().unwrap();
    let active = pick(&app, id, StripeList::Subscriptions, |s| {
        s["status"] == "active"
    })
    .await;
    let sub_id = active["id"].as_str().unwrap();
    change(
        &app,
        "customers",
        customer_id,
        ChangeKind::Update,
        json!({"email": "new@example.com"}),
    );
    change(
        &app,
        "coupons",
        "SPRING",
        ChangeKind::Create,
        json!({"percent_off": 15, "duration": "once"}),
    );
    change(&app, "plans", plan_id, ChangeKind::Delete, json!({}));
    change(&app, "subscriptions", sub_id, ChangeKind::Delete, json!({}));
    // A deletion Stripe sends no event of: an events pass cannot know it.
    let quiet = pick(&app, id, StripeList::Customers, |c| c["id"] != customer_id).await;
    let quiet_id =
        &delete_quietly(&app, id, StripeList::Customers, |c| c["id"] == quiet["id"]).await;

    assert_eq!(scheduled(&app, id, SyncOptions::default()).await, 1);
    let stored = row(&app, id, "customers", customer_id).await.unwrap();
    assert_eq!(stored["email"], "new@example.com");
    let coupon = row(&app, id, "coupons", "SPRING").await.unwrap();
    assert_eq!(coupon["percent_off"], 15);
    let stored_plan = row(&app, id, "plans", plan_id).await.unwrap();
    assert_eq!(
        stored_plan["deleted"], true,
        "kept, marked deleted: {stored_plan}"
    );
    assert_eq!(
        stored_plan["nickname"], plan["nickname"],
        "with its last state"
    );
    let sub = row(&app, id, "subscriptions", sub_id).await.unwrap();
    assert_eq!(sub["status"], "canceled");
    assert!(
        sub.get("deleted").is_none(),
        "a canceled subscription is not deleted: {sub}"
    );
    let new_events = table_objects(&app, id, "events", 1000)
        .await
        .into_iter()
        .filter(|e| e["id"].as_str().unwrap().starts_with("evt_change"))
        .count();
    assert_eq!(new_events, 4, "the events themselves are stored");
    assert!(
        row(&app, id, "customers", quiet_id)
            .await
            .unwrap()
            .get("deleted")
            .is_none(),
        "no event, no full pass: not known yet"
    );

    // Force an update: a full pass that reconciles ids catches it.
    let (status, _) = app
        .json("POST", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let stored_quiet = row(&app, id, "customers", quiet_id).await.unwrap();
    assert_eq!(stored_quiet["deleted"], true, "{stored_quiet}");
    assert_eq!(
        stored_quiet["email"], quiet["email"],
        "its last state is kept"
    );
    // Everything Stripe lists is there, the rest is marked deleted.
    for list in StripeList::ALL {
        let listed = stripe_objects(&app, id, list).await;
        for stored in table_objects(&app, id, list.name(), 1000).await {
            let key = stored["id"].as_str().unwrap();
            match listed.get(key) {
                Some(object) => assert_eq!(&stored, object, "{}", list.name()),
                None => assert_eq!(stored["deleted"], true, "{}: {stored}", list.name()),
            }
        }
    }
}

#[tokio::test]
async fn a_cursor_older_than_stripes_thirty_days_of_events_brings_a_full_pass() {
    let (mut app, id) = synced().await;
    let quiet_id = &delete_quietly(&app, id, StripeList::Customers, |_| true).await;
    // Within the window: an events pass, which cannot see it.
    assert_eq!(scheduled(&app, id, SyncOptions::default()).await, 1);
    assert!(row(&app, id, "customers", quiet_id)
        .await
        .unwrap()
        .get("deleted")
        .is_none());
    // A month without syncing: the events since then may be gone, so everything is listed.
    app.state
        .clock
        .advance(backend::sync::engine::EVENTS_KEPT_SECS);
    assert_eq!(scheduled(&app, id, SyncOptions::default()).await, 1);
    app.admin = app.sign_in(ADMIN_EMAIL, USER_PASSWORD).await;
    assert_eq!(
        row(&app, id, "customers", quiet_id).await.unwrap()["deleted"],
        true
    );
}

#[tokio::test]
async fn an_events_pass_killed_half_way_resumes_and_loses_nothing() {
    let (app, id) = synced().await;
    let customers: Vec<String> = stripe_objects(&app, id, StripeList::Customers)
        .await
        .into_keys()
        .take(12)
        .collect();
    for (n, c) in customers.iter().enumerate() {
        change(
            &app,
            "customers",
            c,
            ChangeKind::Update,
            json!({"name": format!("Renamed {n}")}),
        );
    }
    // Pages of 5 events: the run dies after two pages.
    let small = SyncOptions {
        page_size: 5,
        max_pages: Some(2),
    };
    assert_eq!(scheduled(&app, id, small).await, 1);
    // The dead worker's lease runs out; another run resumes the job from the cursor.
    app.state
        .clock
        .advance(backend::sync::engine::LEASE_SECS + 1);
    let rest = SyncOptions {
        page_size: 5,
        max_pages: None,
    };
    assert_eq!(run(&app, rest).await, 1);
    for (n, c) in customers.iter().enumerate() {
        assert_eq!(
            row(&app, id, "customers", c).await.unwrap()["name"],
            format!("Renamed {n}")
        );
    }
    assert_tables_match_stripe(&app, id).await;
}

#[tokio::test]
async fn forcing_while_a_scheduled_sync_waits_makes_it_a_full_pass() {
    let (app, id) = synced().await;
    let quiet_id = &delete_quietly(&app, id, StripeList::Coupons, |_| true).await;
    app.state.clock.advance(600);
    let now = app.state.clock.now();
    assert!(
        backend::store::enqueue_sync(&app.state.pool, ConnectionId(id), now, false)
            .await
            .unwrap()
    );
    let (status, _) = app
        .json("POST", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(run(&app, SyncOptions::default()).await, 1, "still one job");
    assert_eq!(
        row(&app, id, "coupons", quiet_id).await.unwrap()["deleted"],
        true
    );
}
