//! Signed-in requests reuse what this instance read (no query per request), and never serve
//! anything stale: each change that ends or alters a session or the Data Sources shows at once when
//! made here, and within a tick when made by another process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::str::FromStr;

use axum::http::StatusCode;
use backend::freshness::TICK;
use serde_json::json;
use support::*;
use tower_sessions::session::Id;

async fn me(app: &TestApp, cookie: &str) -> (StatusCode, serde_json::Value) {
    to_json(app.send("GET", "/api/auth/me", Some(cookie), None).await).await
}

fn session_id(cookie: &str) -> Id {
    let value = cookie.split_once('=').unwrap().1;
    Id::from_str(value.split(';').next().unwrap()).unwrap()
}

/// Waits for the watcher, then makes `cookie`'s snapshot a reused one. On PostgreSQL (several
/// instances, no watcher) nothing is ever reused: every request reads the shared database.
async fn warm(app: &TestApp, cookie: &str) {
    if app.state.pool.dialect() == backend::store::Dialect::Postgres {
        assert_eq!(me(app, cookie).await.0, StatusCode::OK);
        let now = app.state.clock.now();
        assert!(
            app.state
                .sessions
                .get(session_id(cookie), now, 60)
                .is_none(),
            "nothing is kept in memory on PostgreSQL"
        );
        return;
    }
    for _ in 0..50 {
        if app.state.sessions.generation().is_some() {
            break;
        }
        tokio::time::sleep(TICK / 4).await;
    }
    assert_eq!(me(app, cookie).await.0, StatusCode::OK);
    let now = app.state.clock.now();
    assert!(
        app.state
            .sessions
            .get(session_id(cookie), now, 60)
            .is_some(),
        "the next request is answered from memory"
    );
}

/// Another process on the same database file (not hooked here).
async fn other_process(app: &TestApp) -> backend::store::Db {
    backend::store::connect(&test_database_url(app.dir.path()).await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reused_session_follows_role_changes_sign_out_and_disabling_made_here() {
    let app = spawn_app().await;
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    warm(&app, &cookie).await;
    let admin = app.admin.clone();
    warm(&app, &admin).await;
    // The Admin renames the user: its session ends (a role change) at once.
    let response = app
        .send(
            "PATCH",
            "/api/users/2",
            Some(&admin),
            Some(json!({"role": "read_only"})),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(me(&app, &cookie).await.0, StatusCode::UNAUTHORIZED);
    // A new session, reused, then signed out: the cookie is dead at once.
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    warm(&app, &cookie).await;
    assert_eq!(me(&app, &cookie).await.1["role"], "read_only");
    let response = app
        .send("POST", "/api/auth/sign-out", Some(&cookie), None)
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(me(&app, &cookie).await.0, StatusCode::UNAUTHORIZED);
    // Disabled by the Admin: out at once.
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    warm(&app, &cookie).await;
    let response = app
        .send(
            "PATCH",
            "/api/users/2",
            Some(&admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(me(&app, &cookie).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &admin).await.0, StatusCode::OK, "others untouched");
}

#[tokio::test]
async fn another_process_ending_a_session_or_renaming_a_connection_is_seen_within_a_tick() {
    let app = spawn_app().await;
    let id = app.connect().await;
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    warm(&app, &cookie).await;
    warm(&app, &app.admin).await;
    let other = other_process(&app).await;
    // The operator's reset-password command, in another process.
    let hash = backend::users::hash_password("another long password").unwrap();
    assert!(backend::users::set_password(&other, STANDARD_EMAIL, &hash)
        .await
        .unwrap());
    backend::on!(other, |c| sqlx::query(
        "UPDATE connections SET display_name = 'Renamed Elsewhere' WHERE id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    tokio::time::sleep(TICK * 2).await;
    assert_eq!(me(&app, &cookie).await.0, StatusCode::UNAUTHORIZED);
    let (status, rows) = app.json("GET", "/api/connections").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows[0]["name"], "Renamed Elsewhere");
}

#[tokio::test]
async fn nothing_is_reused_while_the_watcher_is_not_running() {
    let app = spawn_app().await;
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    // A cache with no watcher behind it (as an instance whose watcher died).
    let mut state = app.state.clone();
    state.sessions = backend::session_cache::SessionCache::default();
    let router = backend::app::app(state.clone(), app.dir.path(), None);
    let request = || {
        axum::http::Request::get("/api/auth/me")
            .header("cookie", &cookie)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    use tower::ServiceExt;
    for _ in 0..3 {
        assert_eq!(
            router.clone().oneshot(request()).await.unwrap().status(),
            200
        );
    }
    let now = state.clock.now();
    assert!(state.sessions.get(session_id(&cookie), now, 60).is_none());
}
