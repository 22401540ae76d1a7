//! A connection you can trust: status transitions, faults, re-authentication in place, delete and
//! webhooks, through the router with the emulator on a socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use backend::ids::ConnectionId;
use std::time::Duration;

use axum::http::StatusCode;
use backend::args;
use backend::emulator::{Endpoint, Fault};
use serde_json::json;
use support::*;
use tower::ServiceExt;

async fn status_of(app: &TestApp, id: i64) -> String {
    app.connection(id).await["connection"]["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn test_now(app: &TestApp, id: i64) -> serde_json::Value {
    let (status, body) = app
        .json("POST", &format!("/api/connections/{id}/test"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_test_on_demand_succeeds_and_is_audited() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let row = test_now(&app, id).await;
    assert_eq!(row["status"], "success");
    assert!(row["last_duration_ms"].is_i64());
    let detail = app.connection(id).await;
    assert_eq!(actions(&detail), ["tested", "connected"]);
    assert_eq!(detail["audit"][0]["actor"], ADMIN_EMAIL);
}

#[tokio::test]
async fn a_revoked_token_needs_re_authentication() {
    let app = spawn_app().await;
    let id = app.connect().await;
    app.emulator.revoke("acct_1AcmeTest").await.unwrap();
    let row = test_now(&app, id).await;
    assert_eq!(row["status"], "needs_reauth");
    assert_eq!(row["last_error"], "refused", "a code, worded by the UI");
}

#[tokio::test]
async fn transient_faults_give_error_and_are_retried_with_backoff() {
    let app = spawn_app().await;
    let id = app.connect().await;
    for fault in [Fault::ServerError, Fault::Malformed] {
        app.emulator.inject(Endpoint::Account, Some(fault));
        let row = test_now(&app, id).await;
        assert_eq!(row["status"], "error", "{fault:?}");
        assert!(
            ["unreachable", "bad_answer"].contains(&row["last_error"].as_str().unwrap()),
            "{row}"
        );
    }
    let next: (i64, i64) = app
        .state
        .pool
        .fetch_one(
            "SELECT failure_count, next_check_at FROM connections",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(next.0, 2);
    let now = app.state.clock.now();
    assert!(
        (now + 115..=now + 121).contains(&next.1),
        "second retry after ~120 s: {next:?}"
    );

    // Nothing is due before the backoff; after it the background check recovers the connection.
    assert_eq!(
        backend::checker::run_due_checks(&app.state).await.unwrap(),
        0
    );
    app.emulator.inject(Endpoint::Account, None);
    app.state.clock.advance(121);
    assert_eq!(
        backend::checker::run_due_checks(&app.state).await.unwrap(),
        1
    );
    assert_eq!(status_of(&app, id).await, "success");
    let detail = app.connection(id).await;
    assert_eq!(detail["audit"][0]["actor"], "system");
}

/// The app's Stripe client with a short overall timeout.
fn slow_client(app: &TestApp, timeout_ms: u64) -> backend::stripe::StripeClient {
    backend::stripe::StripeClient::new(
        backend::stripe::http_client_with_timeout(Duration::from_millis(timeout_ms)).unwrap(),
        app.state.stripe.api_url().clone(),
    )
}

#[tokio::test]
async fn a_slow_stripe_times_out_into_error() {
    let mut app = spawn_app().await;
    let id = app.connect().await;
    app.state.stripe = slow_client(&app, 300);
    app.emulator
        .inject(Endpoint::Account, Some(Fault::Slow(Duration::from_secs(3))));
    let row = backend::services::connection_check::test_connection(
        &app.state,
        ConnectionId(id),
        &backend::domain::AuditActor::System,
    )
    .await
    .unwrap();
    assert_eq!(row, Some(shared::ConnectionStatus::Error));
}

#[tokio::test]
async fn token_endpoint_faults_give_a_clear_banner_and_store_nothing() {
    for fault in [
        Fault::ServerError,
        Fault::Malformed,
        Fault::Slow(Duration::from_secs(3)),
    ] {
        let mut app = spawn_app().await;
        app.state.stripe = slow_client(&app, 500);
        app.router = backend::app::app(app.state.clone(), app.dir.path(), None);
        app.emulator.inject(Endpoint::Token, Some(fault));
        let callback = app.approve(&app.start().await).await;
        assert_eq!(
            app.callback(&callback).await,
            "/admin/connections?error=stripe_unavailable",
            "{fault:?}"
        );
        assert_eq!(app.connection_count().await, 0, "{fault:?}");
        // The admin can retry at once.
        app.emulator.inject(Endpoint::Token, None);
        app.connect().await;
        assert_eq!(app.connection_count().await, 1);
    }
}

#[tokio::test]
async fn re_authentication_keeps_the_same_row_and_returns_it_to_success() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let created_at = app.connection(id).await["connection"]["created_at"].clone();
    app.emulator.revoke("acct_1AcmeTest").await.unwrap();
    test_now(&app, id).await;
    assert_eq!(status_of(&app, id).await, "needs_reauth");

    let (status, body) = app
        .json("POST", &format!("/api/connections/{id}/reauthorize"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let query = url::Url::parse(body["authorize_url"].as_str().unwrap())
        .unwrap()
        .query()
        .unwrap()
        .to_owned();
    let callback = app.approve(&query).await;
    assert_eq!(
        app.callback(&callback).await,
        format!("/admin/connections?connected={id}")
    );
    let detail = app.connection(id).await;
    assert_eq!(detail["connection"]["status"], "success");
    assert_eq!(detail["connection"]["created_at"], created_at);
    assert_eq!(detail["connection"]["last_error"], serde_json::Value::Null);
    assert_eq!(actions(&detail)[0], "reauthenticated");
    assert_eq!(app.connection_count().await, 1);
    assert_eq!(
        test_now(&app, id).await["status"],
        "success",
        "the new token works"
    );
}

#[tokio::test]
async fn re_authenticating_with_another_account_overwrites_nothing_and_names_both() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let before: String = app
        .state
        .pool
        .scalar_one("SELECT access_token_ct FROM connections", args![])
        .await
        .unwrap();
    let (_, body) = app
        .json("POST", &format!("/api/connections/{id}/reauthorize"))
        .await;
    let query = url::Url::parse(body["authorize_url"].as_str().unwrap())
        .unwrap()
        .query()
        .unwrap()
        .to_owned();
    let callback = app.approve_as(&query, OTHER_EMAIL).await;
    let location = app.callback(&callback).await;
    assert_eq!(
        location, "/admin/connections?error=account_mismatch",
        "no names in the URL"
    );
    let (status, notice) = app.json("GET", "/api/connections/callback-notice").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        notice,
        json!({"connection_id": id, "expected": "Acme Test Ltd", "other": "Globex Test"})
    );
    let (_, again) = app.json("GET", "/api/connections/callback-notice").await;
    assert_eq!(again, serde_json::Value::Null, "read once");
    let after: String = app
        .state
        .pool
        .scalar_one("SELECT access_token_ct FROM connections", args![])
        .await
        .unwrap();
    assert_eq!(before, after, "nothing overwritten");
    assert_eq!(app.connection_count().await, 1);
    assert!(
        !app.emulator.is_connected("acct_1GlobexTest"),
        "the unwanted grant was handed back"
    );
    assert!(app.emulator.is_connected("acct_1AcmeTest"));
}

#[tokio::test]
async fn delete_deauthorizes_at_stripe_and_removes_the_row() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let response = app
        .request("DELETE", &format!("/api/connections/{id}"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.connection_count().await, 0);
    assert!(!app.emulator.is_connected("acct_1AcmeTest"));
    let log: Vec<(String, String)> = app
        .state
        .pool
        .fetch_all("SELECT action, actor FROM audit_log ORDER BY id", args![])
        .await
        .unwrap();
    assert_eq!(
        log.last().unwrap(),
        &("deleted".to_owned(), ADMIN_EMAIL.to_owned())
    );
    assert_eq!(
        app.request("DELETE", &format!("/api/connections/{id}"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn delete_finishes_when_stripe_says_the_account_is_gone() {
    let app = spawn_app().await;
    let id = app.connect().await;
    app.emulator.revoke("acct_1AcmeTest").await.unwrap();
    let response = app
        .request("DELETE", &format!("/api/connections/{id}"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn delete_keeps_the_row_when_stripe_is_unreachable_unless_forced() {
    let app = spawn_app().await;
    let id = app.connect().await;
    app.emulator
        .inject(Endpoint::Deauthorize, Some(Fault::ServerError));
    let (status, body) = to_json(
        app.request("DELETE", &format!("/api/connections/{id}"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body["message"].as_str().unwrap().contains("kept"));
    assert_eq!(app.connection_count().await, 1);
    let response = app
        .request("DELETE", &format!("/api/connections/{id}?force=true"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.connection_count().await, 0);
}

fn deauthorized_event(id: &str, account: &str, livemode: bool) -> String {
    json!({
        "id": id, "object": "event", "type": "account.application.deauthorized",
        "account": account, "livemode": livemode, "data": {"object": {"id": CLIENT_ID}}
    })
    .to_string()
}

#[tokio::test]
async fn a_deauthorization_older_than_the_last_grant_changes_nothing() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let granted: i64 = app
        .state
        .pool
        .scalar_one(
            "SELECT granted_at FROM connections WHERE id = $1",
            args![id],
        )
        .await
        .unwrap();
    let late = json!({
        "id": "evt_late", "object": "event", "type": "account.application.deauthorized",
        "account": "acct_1AcmeTest", "livemode": false, "created": granted - 60,
        "data": {"object": {"id": CLIENT_ID}}
    })
    .to_string();
    assert_eq!(deliver(&app, &late, WEBHOOK_SECRET).await, StatusCode::OK);
    assert_eq!(
        status_of(&app, id).await,
        "success",
        "about an earlier grant"
    );
    let current = json!({
        "id": "evt_now", "object": "event", "type": "account.application.deauthorized",
        "account": "acct_1AcmeTest", "livemode": false, "created": granted + 1,
        "data": {"object": {"id": CLIENT_ID}}
    })
    .to_string();
    assert_eq!(
        deliver(&app, &current, WEBHOOK_SECRET).await,
        StatusCode::OK
    );
    assert_eq!(status_of(&app, id).await, "needs_reauth");
}

async fn events(app: &TestApp) -> i64 {
    app.state
        .pool
        .scalar_one("SELECT COUNT(*) FROM webhook_events", args![])
        .await
        .unwrap()
}

#[tokio::test]
async fn a_signed_deauthorization_marks_the_account_and_a_redelivery_changes_nothing() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let event = deauthorized_event("evt_1", "acct_1AcmeTest", false);
    assert_eq!(deliver(&app, &event, WEBHOOK_SECRET).await, StatusCode::OK);
    let detail = app.connection(id).await;
    assert_eq!(detail["connection"]["status"], "needs_reauth");
    assert_eq!(detail["audit"][0]["actor"], "Stripe");
    assert_eq!(detail["audit"][0]["action"], "access_revoked");
    assert_eq!(detail["audit"][0]["detail"]["problem"], "revoked");
    assert_eq!(detail["connection"]["last_error"], "revoked");

    // Re-connected, then Stripe redelivers the old event: nothing changes.
    app.connect().await;
    assert_eq!(status_of(&app, id).await, "success");
    assert_eq!(deliver(&app, &event, WEBHOOK_SECRET).await, StatusCode::OK);
    assert_eq!(status_of(&app, id).await, "success");
    assert_eq!(events(&app).await, 1);
}

#[tokio::test]
async fn webhooks_for_another_mode_or_unknown_types_change_nothing() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let live = deauthorized_event("evt_live", "acct_1AcmeTest", true);
    assert_eq!(deliver(&app, &live, WEBHOOK_SECRET).await, StatusCode::OK);
    let unknown = json!({"id": "evt_2", "type": "charge.succeeded", "account": "acct_1AcmeTest", "livemode": false}).to_string();
    assert_eq!(
        deliver(&app, &unknown, WEBHOOK_SECRET).await,
        StatusCode::OK
    );
    assert_eq!(status_of(&app, id).await, "success");
}

#[tokio::test]
async fn bad_or_missing_signatures_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let event = deauthorized_event("evt_bad", "acct_1AcmeTest", false);
    let now = app.state.clock.now();
    let cases = [
        None,
        Some("garbage".to_owned()),
        Some(backend::webhook::header(
            "whsec_wrong",
            now,
            event.as_bytes(),
        )),
        Some(backend::webhook::header(
            WEBHOOK_SECRET,
            now - 301,
            event.as_bytes(),
        )),
        Some(backend::webhook::header(
            WEBHOOK_SECRET,
            now,
            b"{\"tampered\":true}",
        )),
    ];
    for signature in cases {
        let response = app
            .router
            .clone()
            .oneshot(webhook_request(&event, signature.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{signature:?}");
    }
    assert_eq!(events(&app).await, 0);
    assert_eq!(status_of(&app, id).await, "success");
    // Oversized bodies are refused before anything is read.
    let huge = format!(
        "{{\"id\":\"evt_big\",\"pad\":\"{}\"}}",
        "x".repeat(300 * 1024)
    );
    let response = app
        .router
        .clone()
        .oneshot(webhook_request(
            &huge,
            Some(backend::webhook::header(
                WEBHOOK_SECRET,
                now,
                huge.as_bytes(),
            )),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_emulator_sends_a_signed_event_the_backend_accepts() {
    // The emulator's "revoke access" posts to a real socket serving the app.
    let (app, _) = spawn_app_receiving_webhooks().await;
    let id = app.connect().await;
    app.emulator.revoke("acct_1AcmeTest").await.unwrap();
    assert_eq!(status_of(&app, id).await, "needs_reauth");
}

#[tokio::test]
async fn non_admins_cannot_test_reauthorize_or_delete() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let standard = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    for (method, path) in [
        ("GET", format!("/api/connections/{id}")),
        ("POST", format!("/api/connections/{id}/test")),
        ("POST", format!("/api/connections/{id}/reauthorize")),
        ("DELETE", format!("/api/connections/{id}")),
    ] {
        assert_eq!(
            app.send(method, &path, Some(&standard), None)
                .await
                .status(),
            403,
            "{method} {path}"
        );
        assert_eq!(
            app.send(method, &path, None, None).await.status(),
            401,
            "{method} {path}"
        );
    }
    assert_eq!(app.connection_count().await, 1);
    assert!(app.emulator.is_connected("acct_1AcmeTest"));
}

#[tokio::test]
async fn malformed_ids_and_queries_get_the_api_error_body() {
    let app = spawn_app().await;
    let id = app.connect().await;
    for (method, path) in [
        ("GET", "/api/connections/abc".to_owned()),
        (
            "POST",
            "/api/connections/99999999999999999999/test".to_owned(),
        ),
        ("DELETE", format!("/api/connections/{id}?force=maybe")),
        ("PATCH", "/api/users/x".to_owned()),
    ] {
        let (status, body) = to_json(
            app.send(method, &path, Some(&app.admin), Some(json!({})))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}");
        assert_eq!(body["error"], "bad_request", "{method} {path}: {body}");
    }
    assert_eq!(app.connection_count().await, 1);
}

#[tokio::test]
async fn a_flood_of_signatures_is_refused_at_once_and_other_routes_stay_responsive() {
    let app = spawn_app().await;
    let body = "x".repeat(250 * 1024);
    let good = backend::webhook::sign(WEBHOOK_SECRET, app.state.clock.now(), body.as_bytes());
    let flood = format!(
        "t={},{}v1={good}",
        app.state.clock.now(),
        "v1=,".repeat(100_000)
    );
    let started = std::time::Instant::now();
    let floods = (0..8).map(|_| {
        app.router
            .clone()
            .oneshot(webhook_request(&body, Some(flood.clone())))
    });
    let health = app.request("GET", "/api/health");
    let (answers, health) = tokio::join!(futures::future::join_all(floods), health);
    for answer in answers {
        assert_eq!(answer.unwrap().status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(health.status(), StatusCode::OK);
    // Structural, not a timing target: no HMAC is computed, so this is milliseconds even in a
    // debug build (it took seconds of CPU per request before).
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // An extreme timestamp is refused, not a panic.
    let extreme = format!("t={},v1={good}", i64::MIN);
    let response = app
        .router
        .clone()
        .oneshot(webhook_request(&body, Some(extreme)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off_and_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let addr = serve_on_socket(
        &app,
        backend::server::Limits {
            header_read_timeout: Duration::from_millis(300),
            max_connections: 8,
            max_connections_per_client: 4,
            trusted_proxies: Default::default(),
            shutdown_grace: Duration::from_secs(1),
        },
    )
    .await;
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A well-behaved client meanwhile gets its answer.
    let mut quick = tokio::net::TcpStream::connect(addr).await.unwrap();
    quick
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    quick.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The slow one is closed by the server (with 408 or nothing), well before any client gives up.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(
        read.is_ok(),
        "the server kept a slow-header connection open"
    );
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

async fn journal_rows(app: &TestApp) -> i64 {
    app.state
        .pool
        .scalar_one("SELECT COUNT(*) FROM pending_grants", args![])
        .await
        .unwrap()
}

/// Journals an exchange of `code`, as the callback does before sending it; the journal id.
async fn journal(app: &TestApp, code: &str) -> i64 {
    backend::store::journal_grant(
        &app.state.pool,
        &app.state.cipher,
        shared::AuthKind::Connect,
        code,
        app.state.clock.now(),
    )
    .await
    .unwrap()
}

/// A code the admin approved at Stripe, as the callback would receive it.
async fn approved_code(app: &TestApp) -> String {
    let callback = app.approve(&app.start().await).await;
    query_map(callback.split_once('?').unwrap().1)["code"].clone()
}

#[tokio::test]
async fn exchanges_are_journalled_and_settled() {
    let app = spawn_app().await;
    app.connect().await;
    assert_eq!(
        journal_rows(&app).await,
        0,
        "a completed callback settles its journal row"
    );
    app.emulator
        .inject(Endpoint::Token, Some(Fault::ServerError));
    let callback = app.approve(&app.start().await).await;
    app.callback(&callback).await;
    assert_eq!(
        journal_rows(&app).await,
        1,
        "a lost answer is kept for reconciliation"
    );
}

#[tokio::test]
async fn a_crash_after_the_exchange_leaves_no_live_grant_at_stripe() {
    let app = spawn_app().await;
    // The process died right after Stripe answered: the account is in the journal, nothing stored.
    let code = approved_code(&app).await;
    let journal = journal(&app, &code).await;
    let grant = app
        .state
        .flows
        .exchange_code(app.state.http(), &code, app.state.clock.now())
        .await
        .unwrap();
    backend::store::journal_account(&app.state.pool, journal, grant.account.as_str(), false)
        .await
        .unwrap();
    assert!(app.emulator.is_connected("acct_1AcmeTest"));
    assert_eq!(
        backend::services::reconcile::reconcile(&app.state)
            .await
            .unwrap(),
        0,
        "too recent: its callback may still be running"
    );
    app.state
        .clock
        .advance(backend::services::reconcile::RECONCILE_KNOWN_AFTER_SECS + 1);
    assert_eq!(
        backend::services::reconcile::reconcile(&app.state)
            .await
            .unwrap(),
        1
    );
    assert!(!app.emulator.is_connected("acct_1AcmeTest"), "handed back");
    assert_eq!(journal_rows(&app).await, 0);
}

#[tokio::test]
async fn a_crash_during_the_exchange_is_reconciled_by_sending_the_code_again() {
    let app = spawn_app().await;
    let code = approved_code(&app).await;
    journal(&app, &code).await;
    // Stripe granted, but the process died before it read the answer.
    app.state
        .flows
        .exchange_code(app.state.http(), &code, app.state.clock.now())
        .await
        .unwrap();
    assert!(app.emulator.is_connected("acct_1AcmeTest"));
    app.state
        .clock
        .advance(backend::services::reconcile::RECONCILE_AFTER_SECS + 1);
    assert_eq!(
        backend::services::reconcile::reconcile(&app.state)
            .await
            .unwrap(),
        1
    );
    assert!(
        !app.emulator.is_connected("acct_1AcmeTest"),
        "a second use of the code revokes what it granted"
    );
}

#[tokio::test]
async fn reconciliation_never_breaks_an_existing_connection() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let code = approved_code(&app).await;
    let journal = journal(&app, &code).await;
    backend::store::journal_account(&app.state.pool, journal, "acct_1AcmeTest", false)
        .await
        .unwrap();
    app.state
        .clock
        .advance(backend::services::reconcile::RECONCILE_KNOWN_AFTER_SECS + 1);
    backend::services::reconcile::reconcile(&app.state)
        .await
        .unwrap();
    assert!(app.emulator.is_connected("acct_1AcmeTest"));
    assert_eq!(test_now(&app, id).await["status"], "success");
}

#[tokio::test]
async fn the_data_sources_answer_follows_every_change_even_another_instances_at_once() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let (_, rows) = app.json("GET", "/api/connections").await;
    assert_eq!(rows[0]["name"], "Acme Test Ltd");
    // Another instance, with its own pool on the same database, renames it.
    let other = backend::store::connect(&test_database_url(app.dir.path()).await)
        .await
        .unwrap();
    other
        .execute(
            "UPDATE connections SET display_name = 'Acme Renamed' WHERE id = $1",
            args![id],
        )
        .await
        .unwrap();
    // Nothing is kept between requests: the next one reads the rename.
    let (_, rows) = app.json("GET", "/api/connections").await;
    assert_eq!(rows[0]["name"], "Acme Renamed");
    assert_eq!(
        app.request("DELETE", &format!("/api/connections/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (_, rows) = app.json("GET", "/api/connections").await;
    assert_eq!(rows, serde_json::json!([]));
}

#[tokio::test]
async fn one_client_cannot_take_every_connection_slot() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let addr = serve_on_socket(
        &app,
        backend::server::Limits {
            header_read_timeout: Duration::from_secs(30),
            max_connections: 100,
            max_connections_per_client: 3,
            trusted_proxies: Default::default(),
            shutdown_grace: Duration::from_secs(1),
        },
    )
    .await;
    // Three idle connections are the client's share; a fourth is closed at once.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let mut fourth = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = fourth
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), fourth.read_to_end(&mut rest)).await;
    assert!(read.is_ok() && rest.is_empty(), "the fourth was served");
    // When one of them goes, the client gets a slot again.
    drop(held.pop());
    let answered = async {
        loop {
            let mut again = tokio::net::TcpStream::connect(addr).await.unwrap();
            let _ = again
                .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await;
            let mut answer = String::new();
            let _ = again.read_to_string(&mut answer).await;
            if answer.starts_with("HTTP/1.1 200") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), answered)
        .await
        .expect("served again once a slot was free");
}

/// The app served by the product's own accept loop on a free port, with `limits`.
async fn serve_on_socket(app: &TestApp, limits: backend::server::Limits) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(backend::server::serve(
        listener,
        app.router.clone(),
        limits,
        std::future::pending(),
    ));
    addr
}
