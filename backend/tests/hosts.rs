//! Host products: an Admin's host keys, connect sessions opened with them, and what a widget's
//! session token may do — its organization's connections only, from its key's origins only, for 30
//! minutes, never anything of users or keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend::args;
use serde_json::{json, Value};
use support::*;
use tower::ServiceExt;

const HOST: &str = "https://host.example";

/// A request with a bearer credential from `origin` (none: a server).
async fn bearer(
    app: &TestApp,
    method: &str,
    uri: &str,
    token: &str,
    origin: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let request = match body {
        Some(json) => request
            .header("content-type", "application/json")
            .body(Body::from(json.to_string())),
        None => request.body(Body::empty()),
    };
    to_json(app.router.clone().oneshot(request.unwrap()).await.unwrap()).await
}

/// A host key made by the Admin: (key, id).
async fn host_key(app: &TestApp) -> (String, i64) {
    let response = app
        .send(
            "POST",
            "/api/host-keys",
            Some(&app.admin),
            Some(json!({"name": "Acme BI", "origins": [HOST, "http://127.0.0.1:8090/"]})),
        )
        .await;
    let (status, body) = to_json(response).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["key"].as_str().unwrap().to_owned(),
        body["host_key"]["id"].as_i64().unwrap(),
    )
}

/// A connect session for organization `org`: the token.
async fn session(app: &TestApp, key: &str, org: &str) -> String {
    let before = app.state.clock.now();
    let (status, body) = bearer(
        app,
        "POST",
        "/api/connect-sessions",
        key,
        None,
        Some(json!({
            "organization": {"id": org, "name": format!("Org {org}")},
            "end_user": {"id": "u1", "email": "user@host.example"},
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // 30 minutes from when it was opened (the clock may tick during the call).
    let expires_at = body["expires_at"].as_i64().unwrap();
    assert!(
        (before + 30 * 60..=app.state.clock.now() + 30 * 60).contains(&expires_at),
        "{expires_at}"
    );
    body["token"].as_str().unwrap().to_owned()
}

/// Moves a connection into the organization `org` of the host key `key_id` (until the widget can
/// connect by itself).
async fn move_to(app: &TestApp, connection: i64, key_id: i64, org: &str) {
    app.state
        .pool
        .execute(
            "UPDATE connections SET organization_id = (SELECT id FROM organizations \
         WHERE host_key_id = $2 AND external_id = $3) WHERE id = $1",
            args![connection, key_id, org],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_admin_makes_host_keys_shown_once_and_checked() {
    let app = spawn_app().await;
    let (key, id) = host_key(&app).await;
    assert!(key.starts_with("hk_") && key.len() > 40, "{key}");
    let (status, keys) = app.json("GET", "/api/host-keys").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys[0]["id"], id);
    assert_eq!(keys[0]["origins"], json!([HOST, "http://127.0.0.1:8090"]));
    assert_eq!(keys[0]["key_last4"], key[key.len() - 4..]);
    assert!(
        !keys.to_string().contains(&key),
        "the key is never shown again"
    );
    let stored: String = app
        .state
        .pool
        .scalar_one("SELECT key_hash FROM host_keys", args![])
        .await
        .unwrap();
    assert_ne!(stored, key, "stored hashed");
    for body in [
        json!({"name": "", "origins": [HOST]}),
        json!({"name": "x", "origins": []}),
        json!({"name": "x", "origins": ["https://host.example/path"]}),
        json!({"name": "x", "origins": ["*"]}),
    ] {
        let response = app
            .send(
                "POST",
                "/api/host-keys",
                Some(&app.admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let standard = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    for (method, uri) in [("GET", "/api/host-keys"), ("DELETE", "/api/host-keys/1")] {
        let response = app.send(method, uri, Some(&standard), None).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {uri}");
    }
}

#[tokio::test]
async fn a_connect_session_needs_a_live_key_and_a_sound_body() {
    let app = spawn_app().await;
    let (key, id) = host_key(&app).await;
    let body = json!({
        "organization": {"id": "org_1", "name": "Globex"},
        "end_user": {"id": "u1", "email": "user@host.example"},
    });
    for bad in ["hk_nope", "cs_nope", ""] {
        let (status, answer) = bearer(
            &app,
            "POST",
            "/api/connect-sessions",
            bad,
            None,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}: {answer}");
        assert_eq!(answer["error"], "invalid_host_key");
    }
    for broken in [
        json!({"organization": {"id": "", "name": "x"}, "end_user": {"id": "u", "email": "a@b"}}),
        json!({"organization": {"id": "o", "name": "x"}, "end_user": {"id": "u", "email": "nobody"}}),
        json!({"organization": {"id": "o"}}),
    ] {
        let (status, _) = bearer(
            &app,
            "POST",
            "/api/connect-sessions",
            &key,
            None,
            Some(broken.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{broken}");
    }
    let token = session(&app, &key, "org_1").await;
    assert!(token.starts_with("cs_"));
    let response = app
        .send(
            "POST",
            "/api/host-keys",
            Some(&app.admin),
            Some(json!({"name": "x", "origins": ["http://host.example"]})),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "plain http only for localhost"
    );
    // Revoked: no new sessions, and the open ones end.
    let response = app
        .send(
            "DELETE",
            &format!("/api/host-keys/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, answer) = bearer(
        &app,
        "POST",
        "/api/connect-sessions",
        &key,
        None,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "invalid_host_key");
    let (status, answer) = bearer(&app, "GET", "/api/connections", &token, Some(HOST), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "invalid_session");
}

#[tokio::test]
async fn a_session_token_sees_its_organizations_connections_only() {
    let app = spawn_app().await;
    let admins = app.connect().await;
    let (key, key_id) = host_key(&app).await;
    let token = session(&app, &key, "org_1").await;
    let other = session(&app, &key, "org_2").await;

    let (status, rows) = bearer(&app, "GET", "/api/connections", &token, Some(HOST), None).await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    assert_eq!(
        rows,
        json!([]),
        "the app's own connection is not the organization's"
    );
    for (method, uri) in [
        ("GET", format!("/api/connections/{admins}")),
        ("GET", format!("/api/connections/{admins}/sync")),
        ("POST", format!("/api/connections/{admins}/sync")),
        ("POST", format!("/api/connections/{admins}/test")),
        ("DELETE", format!("/api/connections/{admins}")),
    ] {
        let (status, _) = bearer(&app, method, &uri, &token, Some(HOST), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}");
    }
    assert_eq!(app.connection_count().await, 1, "nothing deleted");

    // Once the connection is the organization's, its session sees and tests it; another
    // organization's session still does not.
    move_to(&app, admins, key_id, "org_1").await;
    let (_, rows) = bearer(&app, "GET", "/api/connections", &token, Some(HOST), None).await;
    assert_eq!(rows[0]["id"], admins);
    let (status, tested) = bearer(
        &app,
        "POST",
        &format!("/api/connections/{admins}/test"),
        &token,
        Some(HOST),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    let (status, detail) = bearer(
        &app,
        "GET",
        &format!("/api/connections/{admins}"),
        &token,
        Some(HOST),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .any(|line| line["actor"] == "widget:user@host.example"));
    let (status, _) = bearer(
        &app,
        "GET",
        &format!("/api/connections/{admins}/sync"),
        &token,
        Some(HOST),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, rows) = bearer(&app, "GET", "/api/connections", &other, Some(HOST), None).await;
    assert_eq!(rows, json!([]));
    // The Admin still sees every organization's, with its organization's name.
    let (_, rows) = app.json("GET", "/api/connections").await;
    assert_eq!(rows[0]["id"], admins);
    assert_eq!(rows[0]["organization"], "Org org_1");
    // The synced rows themselves stay the Admin's.
    let (status, _) = bearer(
        &app,
        "GET",
        &format!("/api/connections/{admins}/tables/customers"),
        &token,
        Some(HOST),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_session_token_is_refused_from_other_origins_after_30_minutes_and_outside_connections() {
    let app = spawn_app().await;
    let (key, _) = host_key(&app).await;
    let token = session(&app, &key, "org_1").await;
    let (status, answer) = bearer(
        &app,
        "GET",
        "/api/connections",
        &token,
        Some("https://evil.example"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "invalid_session");
    let (status, answer) = bearer(
        &app,
        "GET",
        "/api/connections",
        "cs_forged",
        Some(HOST),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "invalid_session");
    // Nothing of users or keys, even with an Admin's cookie beside it (the cookie is ignored).
    for uri in ["/api/users", "/api/host-keys", "/api/auth/me"] {
        let request = Request::get(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("origin", HOST)
            .header("cookie", &app.admin)
            .body(Body::empty())
            .unwrap();
        let response = app.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{uri}");
    }
    app.state.clock.advance(30 * 60);
    let (status, answer) = bearer(&app, "GET", "/api/connections", &token, Some(HOST), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "session_expired");
}

#[tokio::test]
async fn cors_answers_a_keys_origins_only_and_never_with_credentials() {
    let app = spawn_app().await;
    host_key(&app).await;
    let preflight = |origin: &'static str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/connections")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(Body::empty())
            .unwrap()
    };
    let response = app.router.clone().oneshot(preflight(HOST)).await.unwrap();
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], HOST);
    assert!(headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("authorization"));
    assert!(headers.get("access-control-allow-credentials").is_none());
    let response = app
        .router
        .clone()
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}
