//! Sessions are read where the truth is, on every request: a password reset by the operator's
//! command (another process), and a role change, a disable or a sign-out made on another instance,
//! each show on the very next request here — nothing is kept in memory to lag behind them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use axum::http::StatusCode;
use backend::args;
use backend::startup::Application;
use serde_json::json;
use support::*;

async fn me(app: &TestApp, cookie: &str) -> StatusCode {
    app.send("GET", "/api/auth/me", Some(cookie), None)
        .await
        .status()
}

/// A second instance of the product on `app`'s database: built by the product's own builder from
/// the same configuration, with its own pool (as another process would have).
async fn second_instance(app: &TestApp) -> TestApp {
    let other = Application::build(app.config.clone()).await.unwrap();
    TestApp {
        router: other.router(),
        state: other.state().clone(),
        emulator: app.emulator.clone(),
        stripe_url: app.stripe_url.clone(),
        admin: app.admin.clone(),
        dir: tempfile::tempdir().unwrap(),
        config: app.config.clone(),
    }
}

#[tokio::test]
async fn a_password_reset_by_the_operator_command_ends_old_sessions_on_the_very_next_request() {
    let app = spawn_app().await;
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(me(&app, &cookie).await, StatusCode::OK);
    }
    // `backend reset-password`, the real binary, on the same database.
    let mut child = Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(["reset-password", "--email", STANDARD_EMAIL])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATA_DIR", app.dir.path())
        .env("DATABASE_URL", test_database_url(app.dir.path()).await)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a brand new long password\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The very next request, with no pause.
    assert_eq!(me(&app, &cookie).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&app, &app.admin).await,
        StatusCode::OK,
        "others untouched"
    );
    // The new password works, here.
    app.sign_in(STANDARD_EMAIL, "a brand new long password")
        .await;
}

#[tokio::test]
async fn a_role_change_a_disable_and_a_sign_out_on_another_instance_show_here_at_once() {
    let app = spawn_app().await;
    let other = second_instance(&app).await;
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    assert_eq!(me(&app, &cookie).await, StatusCode::OK);
    // A session made here is known there (the database holds it).
    assert_eq!(me(&other, &cookie).await, StatusCode::OK);

    // The Admin, on the other instance, changes the user's role: the session ends here at once.
    let response = other
        .send(
            "PATCH",
            "/api/users/2",
            Some(&app.admin),
            Some(json!({"role": "read_only"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(me(&app, &cookie).await, StatusCode::UNAUTHORIZED);

    // Signed in again here, signed out there: the cookie is dead here at once.
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    let (status, body) = to_json(app.send("GET", "/api/auth/me", Some(&cookie), None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["role"], "read_only");
    let response = other
        .send("POST", "/api/auth/sign-out", Some(&cookie), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &cookie).await, StatusCode::UNAUTHORIZED);

    // Disabled there: out here at once; the Admin's own session is untouched.
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    assert_eq!(me(&app, &cookie).await, StatusCode::OK);
    let response = other
        .send(
            "PATCH",
            "/api/users/2",
            Some(&app.admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(me(&app, &cookie).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &app.admin).await, StatusCode::OK);
}

#[tokio::test]
async fn a_new_admin_role_takes_effect_on_the_next_request_too() {
    let app = spawn_app().await;
    let other = second_instance(&app).await;
    let cookie = app.sign_in(READ_ONLY_EMAIL, USER_PASSWORD).await;
    let forbidden = app.send("GET", "/api/users", Some(&cookie), None).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let response = other
        .send(
            "PATCH",
            "/api/users/3",
            Some(&app.admin),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // A role change ends the user's sessions (they sign in again as what they now are).
    assert_eq!(me(&app, &cookie).await, StatusCode::UNAUTHORIZED);
    let cookie = app.sign_in(READ_ONLY_EMAIL, USER_PASSWORD).await;
    let allowed = app.send("GET", "/api/users", Some(&cookie), None).await;
    assert_eq!(allowed.status(), StatusCode::OK);
}

#[tokio::test]
async fn sessions_live_in_their_own_table_keyed_by_a_hash_of_the_cookie() {
    let app = spawn_app().await;
    let token = app.admin.split_once('=').unwrap().1.to_owned();
    let hashes: Vec<String> = app
        .state
        .pool
        .scalar_all("SELECT id_hash FROM sessions", args![])
        .await
        .unwrap();
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], token, "the token itself is never stored");
    assert_eq!(hashes[0], backend::crypto::sha256_hex(&token));
    // Signed out: the row is gone and the cookie cleared.
    let response = app.request("POST", "/api/auth/sign-out").await;
    let cleared = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cleared.starts_with("connections_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let left: i64 = app
        .state
        .pool
        .scalar_one("SELECT COUNT(*) FROM sessions", args![])
        .await
        .unwrap();
    assert_eq!(left, 0);
}
