//! Restricted API keys through the router against the emulator: checked before they are stored,
//! refused with every missing permission named, never shown again but for their last four.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use backend::args;
use backend::emulator::RESTRICTED_KEY_PERMISSIONS;
use serde_json::json;
use support::*;

const ACME: &str = "acct_1AcmeTest";

fn key_without(app: &TestApp, account: &str, without: &[&str]) -> String {
    let permissions: Vec<&str> = RESTRICTED_KEY_PERMISSIONS
        .iter()
        .copied()
        .filter(|p| !without.contains(p))
        .collect();
    app.emulator
        .create_restricted_key(account, &permissions)
        .unwrap()
}

async fn post_key(app: &TestApp, path: &str, key: &str) -> (StatusCode, serde_json::Value) {
    to_json(
        app.send("POST", path, Some(&app.admin), Some(json!({ "key": key })))
            .await,
    )
    .await
}

async fn stored_text(app: &TestApp) -> String {
    let rows: Vec<(String, String, Option<String>)> = app
        .state
        .pool
        .fetch_all(
            "SELECT display_name, access_token_ct, refresh_token_ct FROM connections",
            args![],
        )
        .await
        .unwrap();
    format!("{rows:?}")
}

#[tokio::test]
async fn a_key_with_the_read_permissions_connects_and_is_never_shown_again() {
    let app = spawn_apps_app().await;
    let key = key_without(&app, ACME, &[]);
    let (status, body) = post_key(&app, "/api/connections/stripe/key", &key).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["auth_kind"], "restricted_key");
    assert_eq!(body["account_id"], ACME);
    assert_eq!(body["name"], "Acme Test Ltd");
    assert_eq!(body["status"], "success");
    assert_eq!(body["key_last4"], key[key.len() - 4..]);
    assert!(!body.to_string().contains(&key));
    let id = body["id"].as_i64().unwrap();
    let detail = app.connection(id).await;
    assert!(!detail.to_string().contains(&key));
    assert_eq!(detail["audit"][0]["action"], "connected");
    assert_eq!(detail["audit"][0]["detail"]["auth_kind"], "restricted_key");
    assert!(!stored_text(&app).await.contains(&key), "encrypted at rest");
    // Tests and the background checker work with it.
    let (status, row) = app
        .json("POST", &format!("/api/connections/{id}/test"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(row["status"], "success", "{row}");
}

#[tokio::test]
async fn a_key_missing_permissions_is_refused_naming_every_list_and_nothing_is_stored() {
    let app = spawn_apps_app().await;
    let key = key_without(&app, ACME, &["rak_coupon_read", "rak_event_read"]);
    let (status, body) = post_key(&app, "/api/connections/stripe/key", &key).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "missing_permissions");
    assert_eq!(
        body["missing"],
        json!([
            {"list": "coupons", "permission": "rak_coupon_read"},
            {"list": "events", "permission": "rak_event_read"}
        ])
    );
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("coupons") && message.contains("rak_coupon_read"));
    assert!(!body.to_string().contains(&key));
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn a_key_that_cannot_read_the_account_still_connects_under_its_account_id() {
    let app = spawn_apps_app().await;
    let key = key_without(&app, ACME, &["rak_account_read"]);
    let (status, body) = to_json(
        app.send(
            "POST",
            "/api/connections/stripe/key",
            Some(&app.admin),
            Some(json!({ "key": key, "name": " Acme reporting " })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["account_id"], ACME, "named by Stripe's refusal");
    assert_eq!(body["name"], "Acme reporting");
}

#[tokio::test]
async fn secret_keys_malformed_and_unknown_keys_are_refused_with_their_reason() {
    let app = spawn_apps_app().await;
    let (status, body) = post_key(
        &app,
        "/api/connections/stripe/key",
        "sk_test_51FullAccessKey00",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "full_access_key");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("full write access"));
    assert!(!body.to_string().contains("sk_test_51FullAccessKey00"));
    for bad in ["pk_test_123456789", "rk_test_x", "not a key"] {
        let (status, body) = post_key(&app, "/api/connections/stripe/key", bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(body["error"], "invalid_key", "{bad}");
    }
    let (status, body) = post_key(
        &app,
        "/api/connections/stripe/key",
        "rk_test_NoSuchKeyAtStripe123",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "invalid_key");
    let (status, _) = to_json(
        app.send(
            "POST",
            "/api/connections/stripe/key",
            Some(&app.admin),
            Some(json!({ "secret": "rk_test_x" })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn re_authenticating_a_key_connection_takes_a_new_key_for_the_same_account_only() {
    let app = spawn_apps_app().await;
    let first = key_without(&app, ACME, &[]);
    let (_, body) = post_key(&app, "/api/connections/stripe/key", &first).await;
    let id = body["id"].as_i64().unwrap();
    let other = key_without(&app, "acct_1GlobexTest", &[]);
    let (status, body) = post_key(&app, &format!("/api/connections/{id}/key"), &other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "other_account");
    let second = key_without(&app, ACME, &[]);
    let (status, body) = post_key(&app, &format!("/api/connections/{id}/key"), &second).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id, "same row");
    assert_eq!(body["key_last4"], second[second.len() - 4..]);
    assert_eq!(
        app.connection(id).await["audit"][0]["action"],
        "reauthenticated"
    );
    let (status, _) = post_key(&app, "/api/connections/999/key", &second).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_a_key_connection_drops_the_key_and_an_app_uninstall_leaves_it_alone() {
    let app = spawn_apps_app().await;
    let key = key_without(&app, ACME, &[]);
    let (_, body) = post_key(&app, "/api/connections/stripe/key", &key).await;
    let id = body["id"].as_i64().unwrap();
    // A deauthorization webhook concerns app grants, not keys.
    let event = json!({
        "id": "evt_uninstall", "object": "event", "type": "account.application.deauthorized",
        "account": ACME, "livemode": false, "created": app.state.clock.now(),
        "data": {"object": {"id": CLIENT_ID, "object": "application"}}
    })
    .to_string();
    let now = app.state.clock.now();
    let response = app
        .router
        .clone()
        .oneshot(
            axum::http::Request::post("/webhooks/stripe")
                .header(
                    "stripe-signature",
                    backend::webhook::header(WEBHOOK_SECRET, now, event.as_bytes()),
                )
                .body(axum::body::Body::from(event))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.connection(id).await["connection"]["status"], "success");
    let (status, body) = app.json("DELETE", &format!("/api/connections/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"removal": "credential_dropped", "auth_kind": "restricted_key"})
    );
    assert_eq!(app.connection_count().await, 0);
}

use tower::ServiceExt;

#[tokio::test]
async fn a_key_never_silently_replaces_an_app_connection_of_its_account() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    let key = key_without(&app, ACME, &[]);
    let (status, body) = post_key(&app, "/api/connections/stripe/key", &key).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let row = app.connection(id).await;
    assert_eq!(row["connection"]["auth_kind"], "apps", "unchanged");
    assert_eq!(app.connection_count().await, 1);
}
