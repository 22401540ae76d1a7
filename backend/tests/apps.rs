//! Stripe Apps OAuth end to end through the router against the emulator: the install link, the
//! exchange at `/v1/oauth/token`, one-hour tokens renewed ahead of expiry and on a 401, one refresh
//! at a time across instances, and `invalid_grant` on refresh → Needs re-authentication.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use backend::ids::ConnectionId;
use std::sync::Arc;

use axum::http::StatusCode;
use backend::args;
use backend::state::{AppState, Settings};
use support::*;

async fn test_now(app: &TestApp, id: i64) -> serde_json::Value {
    let (status, body) = app
        .json("POST", &format!("/api/connections/{id}/test"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// An hour passes for the token (our record of its expiry and Stripe's clock) but not for the
/// admin's session: `left` seconds of the token's life remain on our side.
async fn age_token(app: &TestApp, id: i64, stripe_secs: i64, left: i64) {
    app.state
        .pool
        .execute(
            "UPDATE connections SET access_expires_at = $1 WHERE id = $2",
            args![app.state.clock.now() + left, id],
        )
        .await
        .unwrap();
    app.emulator.advance_clock(stripe_secs);
}

#[tokio::test]
async fn connect_with_stripe_starts_the_apps_install_link_without_a_scope() {
    let app = spawn_apps_app().await;
    let (status, body) = app.json("POST", "/api/connections/stripe/authorize").await;
    assert_eq!(status, StatusCode::OK);
    let url = url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
    assert_eq!(url.path(), "/oauth/v2/authorize");
    let q = query_map(url.query().unwrap());
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], REDIRECT_URI);
    assert!(q["state"].len() >= 43);
    assert!(!q.contains_key("scope"), "the app's manifest decides");
    assert!(!q.contains_key("response_type"));
}

#[tokio::test]
async fn an_install_connects_the_account_with_a_one_hour_token() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    let detail = app.connection(id).await;
    let c = &detail["connection"];
    assert_eq!(c["status"], "success");
    assert_eq!(c["auth_kind"], "apps");
    assert_eq!(c["account_id"], "acct_1AcmeTest");
    assert_eq!(c["name"], "Acme Test Ltd");
    assert_eq!(detail["audit"][0]["action"], "connected");
    assert_eq!(detail["audit"][0]["detail"]["auth_kind"], "apps");
    let stored = backend::store::credential(&app.state.pool, &app.state.cipher, ConnectionId(id))
        .await
        .unwrap()
        .unwrap();
    let expires = stored.credential.expires_at.unwrap() - app.state.clock.now();
    assert!((3590..=3600).contains(&expires), "{expires}");
    assert!(stored.credential.refresh_token.is_some());
    // The secrets are nowhere in what the API shows.
    let shown = detail.to_string();
    assert!(!shown.contains(stored.credential.secret.expose()));
    assert!(!shown.contains(stored.credential.refresh_token.unwrap().expose()));
}

#[tokio::test]
async fn a_refusal_on_the_install_page_stores_nothing() {
    let app = spawn_apps_app().await;
    let url = app.emulator.deny_install(&app.start().await).unwrap();
    let location = app
        .callback(&format!("{}?{}", url.path(), url.query().unwrap()))
        .await;
    assert_eq!(location, "/admin/connections?error=access_denied");
    assert_eq!(app.connection_count().await, 0);
    assert_eq!(app.emulator.token_requests(), 0);
}

#[tokio::test]
async fn a_token_near_its_expiry_is_renewed_before_use_and_rotated() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    let before = backend::store::credential(&app.state.pool, &app.state.cipher, ConnectionId(id))
        .await
        .unwrap()
        .unwrap();
    // 58 minutes later: less than the margin is left, Stripe still accepts the token.
    age_token(&app, id, 58 * 60, 120).await;
    let row = test_now(&app, id).await;
    assert_eq!(row["status"], "success");
    assert_eq!(app.emulator.refresh_requests(), 1);
    let after = backend::store::credential(&app.state.pool, &app.state.cipher, ConnectionId(id))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(after.credential.secret, before.credential.secret);
    assert_ne!(
        after.credential.refresh_token, before.credential.refresh_token,
        "refresh tokens rotate"
    );
    assert_eq!(
        actions(&app.connection(id).await)[..2],
        ["tested", "token_refreshed"]
    );
}

#[tokio::test]
async fn an_expired_key_answer_is_renewed_once_and_the_call_retried() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    // Only Stripe's clock moves: our record still thinks the token is fresh, Stripe says expired.
    app.emulator.advance_clock(3601);
    let row = test_now(&app, id).await;
    assert_eq!(row["status"], "success", "{row}");
    assert_eq!(app.emulator.refresh_requests(), 1);
    // And the renewed token is the one used from now on.
    test_now(&app, id).await;
    assert_eq!(app.emulator.refresh_requests(), 1);
}

#[tokio::test]
async fn two_tests_racing_on_an_expired_token_cause_exactly_one_refresh() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    age_token(&app, id, 3601, -1).await;
    let (a, b) = tokio::join!(test_now(&app, id), test_now(&app, id));
    assert_eq!(app.emulator.refresh_requests(), 1);
    assert_eq!(a["status"], "success", "{a}");
    assert_eq!(b["status"], "success", "{b}");
}

/// A second backend instance on the same database file: its own pool and lease owner.
async fn second_instance(app: &TestApp) -> AppState {
    let pool = backend::store::connect(&test_database_url(app.dir.path()).await)
        .await
        .unwrap();
    let mut other = app.state.clone();
    other.pool = pool;
    other.settings = Arc::new(Settings {
        instance_id: "the-other-instance".into(),
        ..(*app.state.settings).clone()
    });
    other
}

#[tokio::test]
async fn two_instances_on_one_database_refresh_a_connection_once() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    let other = second_instance(&app).await;
    age_token(&app, id, 3601, -1).await;
    let (a, b) = tokio::join!(
        backend::services::credentials::usable(&app.state, ConnectionId(id)),
        backend::services::credentials::usable(&other, ConnectionId(id))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(app.emulator.refresh_requests(), 1);
    assert_eq!(a.credential, b.credential, "both use the one renewed pair");
    assert_eq!(a.version, b.version);
}

#[tokio::test]
async fn a_reused_refresh_token_needs_re_authentication_and_is_not_retried() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    // Someone else (a copy of the database, a crash after Stripe rotated) used our refresh token.
    let stored = backend::store::credential(&app.state.pool, &app.state.cipher, ConnectionId(id))
        .await
        .unwrap()
        .unwrap();
    let stolen = backend::stripe::flows::AuthFlow::refresh(
        &app.state.flows.apps,
        app.state.http(),
        &stored.credential,
        0,
    )
    .await;
    assert!(stolen.is_ok());
    age_token(&app, id, 3601, -1).await;
    let row = test_now(&app, id).await;
    assert_eq!(row["status"], "needs_reauth", "{row}");
    assert_eq!(row["last_error"], "refresh_refused");
    let refreshes = app.emulator.refresh_requests();
    // Another test, and the background checker, do not try the dead token again.
    let row = test_now(&app, id).await;
    assert_eq!(row["status"], "needs_reauth");
    backend::checker::run_due_checks(&app.state).await.unwrap();
    assert_eq!(app.emulator.refresh_requests(), refreshes);
    assert!(actions(&app.connection(id).await).contains(&"refresh_refused".to_owned()));
    // Re-authenticating in place brings it back (same row).
    let (status, body) = app
        .json("POST", &format!("/api/connections/{id}/reauthorize"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let url = url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
    let location = app.callback(&app.install(url.query().unwrap()).await).await;
    assert_eq!(location, format!("/admin/connections?connected={id}"));
    assert_eq!(test_now(&app, id).await["status"], "success");
}

#[tokio::test]
async fn deleting_an_apps_connection_drops_it_and_says_where_to_uninstall() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    let (status, body) = app.json("DELETE", &format!("/api/connections/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["removal"], "credential_dropped");
    assert_eq!(body["auth_kind"], "apps");
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn an_uninstall_in_stripe_marks_the_apps_connection() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    app.emulator.revoke("acct_1AcmeTest").await.unwrap();
    let row = test_now(&app, id).await;
    assert_eq!(row["status"], "needs_reauth");
    assert_eq!(row["last_error"], "refused");
}

#[tokio::test]
async fn an_install_that_cannot_be_kept_as_asked_still_reaches_the_accounts_connection() {
    use backend::emulator::{Endpoint, Fault};
    let app = spawn_apps_app().await;
    let acme = app.connect_app().await;
    // Globex is connected too.
    let callback = {
        let url = app
            .emulator
            .approve_install(&app.start().await, OTHER_EMAIL, PASSWORD)
            .unwrap();
        format!("{}?{}", url.path(), url.query().unwrap())
    };
    let globex = app
        .callback(&callback)
        .await
        .strip_prefix("/admin/connections?connected=")
        .unwrap()
        .parse::<i64>()
        .unwrap();
    // Re-authenticating Acme, the admin installs as Globex: refused for Acme, but that install
    // replaced Globex's tokens at Stripe, so Globex's connection must hold the new ones.
    let (_, body) = app
        .json("POST", &format!("/api/connections/{acme}/reauthorize"))
        .await;
    let url = url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
    let back = app
        .emulator
        .approve_install(url.query().unwrap(), OTHER_EMAIL, PASSWORD)
        .unwrap();
    let location = app
        .callback(&format!("{}?{}", back.path(), back.query().unwrap()))
        .await;
    assert_eq!(location, "/admin/connections?error=account_mismatch");
    assert_eq!(test_now(&app, globex).await["status"], "success");
    assert_eq!(test_now(&app, acme).await["status"], "success");
    // A re-install whose account read fails once: the new tokens still land in the row.
    app.emulator
        .inject(Endpoint::Account, Some(Fault::ServerError));
    let location = app.callback(&app.install(&app.start().await).await).await;
    assert_eq!(location, "/admin/connections?error=stripe_unavailable");
    app.emulator.inject(Endpoint::Account, None);
    assert_eq!(test_now(&app, acme).await["status"], "success");
}
