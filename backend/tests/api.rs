//! Router tests (no socket for the app; the Stripe emulator runs on a real socket) for the
//! authorize endpoint, the callback's success path and every one of its failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use backend::args;
use support::*;

#[tokio::test]
async fn authorize_returns_stripes_url_and_remembers_the_state() {
    let app = spawn_app().await;
    let (status, body) = app.json("POST", "/api/connections/stripe/authorize").await;
    assert_eq!(status, StatusCode::OK);
    let url = url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
    assert_eq!(url.path(), "/oauth/authorize");
    let q = query_map(url.query().unwrap());
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["scope"], "read_only");
    assert_eq!(q["redirect_uri"], REDIRECT_URI);
    assert!(q["state"].len() >= 43, "at least 256 bits, base64url");
    assert_eq!(app.state_count().await, 1);
    assert!(!body.to_string().contains(SECRET_KEY));
}

#[tokio::test]
async fn authorize_only_accepts_post() {
    let app = spawn_app().await;
    let response = app
        .request("GET", "/api/connections/stripe/authorize")
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.state_count().await, 0);
}

#[tokio::test]
async fn a_successful_callback_stores_the_connection_and_says_so() {
    let app = spawn_app().await;
    let query = app.start().await;
    let callback = app.approve(&query).await;
    let location = app.callback(&callback).await;
    assert_eq!(location, "/admin/connections?connected=1");
    assert_eq!(app.emulator.token_requests(), 1);

    let (status, rows) = app.json("GET", "/api/connections").await;
    assert_eq!(status, StatusCode::OK);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "Acme Test Ltd");
    assert_eq!(rows[0]["account_id"], "acct_1AcmeTest");
    assert_eq!(rows[0]["kind"], "stripe");
    assert_eq!(rows[0]["status"], "success");
    assert!(rows[0]["last_started_at"].is_i64());
    let listed = rows[0].to_string();
    assert!(!listed.contains("sk_test"), "no token in the API: {listed}");
    assert!(
        !listed.contains("rt_"),
        "no refresh token in the API: {listed}"
    );

    // Tokens are ciphertext at rest.
    let (access, refresh): (String, String) = app
        .state
        .pool
        .fetch_one(
            "SELECT access_token_ct, refresh_token_ct FROM connections",
            args![],
        )
        .await
        .unwrap();
    assert!(!access.starts_with("sk_") && !refresh.starts_with("rt_"));
    assert_eq!(app.state_count().await, 0, "the state was consumed");
}

#[tokio::test]
async fn connecting_the_same_account_again_keeps_its_row() {
    let app = spawn_app().await;
    let first = app.approve(&app.start().await).await;
    assert_eq!(app.callback(&first).await, "/admin/connections?connected=1");
    let second = app.approve(&app.start().await).await;
    assert_eq!(
        app.callback(&second).await,
        "/admin/connections?connected=1"
    );
    assert_eq!(app.connection_count().await, 1);
}

#[tokio::test]
async fn a_refusal_stores_nothing_and_never_calls_stripe() {
    let app = spawn_app().await;
    let query = app.start().await;
    let url = app.emulator.deny(&query).unwrap();
    let location = app
        .callback(&format!("{}?{}", url.path(), url.query().unwrap()))
        .await;
    assert_eq!(location, "/admin/connections?error=access_denied");
    assert_eq!(app.connection_count().await, 0);
    assert_eq!(app.emulator.token_requests(), 0);
    assert_eq!(
        app.state_count().await,
        0,
        "a refusal still uses up the state"
    );
}

#[tokio::test]
async fn a_missing_state_is_refused_before_stripe_is_called() {
    let app = spawn_app().await;
    let callback = app.approve(&app.start().await).await;
    let (path, query) = callback.split_once('?').unwrap();
    let without_state: String = query
        .split('&')
        .filter(|p| !p.starts_with("state="))
        .collect::<Vec<_>>()
        .join("&");
    let location = app.callback(&format!("{path}?{without_state}")).await;
    assert_eq!(location, "/admin/connections?error=invalid_state");
    assert_eq!(app.emulator.token_requests(), 0);
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn a_forged_state_is_refused_before_stripe_is_called() {
    let app = spawn_app().await;
    let callback = app.approve(&app.start().await).await;
    let forged = regex_free_replace_state(&callback, "forged-state-value");
    assert_eq!(
        app.callback(&forged).await,
        "/admin/connections?error=invalid_state"
    );
    assert_eq!(app.emulator.token_requests(), 0);
    assert_eq!(app.connection_count().await, 0);
    assert_eq!(app.state_count().await, 1, "the real state is untouched");
}

fn regex_free_replace_state(callback: &str, state: &str) -> String {
    let (path, query) = callback.split_once('?').unwrap();
    let mut pairs: Vec<(String, String)> = query_map(query).into_iter().collect();
    for (k, v) in &mut pairs {
        if k == "state" {
            *v = state.to_owned();
        }
    }
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{encoded}")
}

#[tokio::test]
async fn an_expired_state_is_refused_before_stripe_is_called() {
    let app = spawn_app().await;
    let callback = app.approve(&app.start().await).await;
    app.state.clock.advance(10 * 60 + 1);
    assert_eq!(
        app.callback(&callback).await,
        "/admin/connections?error=invalid_state"
    );
    assert_eq!(app.emulator.token_requests(), 0);
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn a_replayed_callback_never_reaches_the_token_endpoint_again() {
    let app = spawn_app().await;
    let callback = app.approve(&app.start().await).await;
    assert_eq!(
        app.callback(&callback).await,
        "/admin/connections?connected=1"
    );
    assert_eq!(
        app.callback(&callback).await,
        "/admin/connections?error=invalid_state"
    );
    assert_eq!(
        app.emulator.token_requests(),
        1,
        "the code was sent to Stripe once"
    );
    assert!(
        app.emulator.is_connected("acct_1AcmeTest"),
        "the connection was not revoked"
    );
    assert_eq!(app.connection_count().await, 1);
}

#[tokio::test]
async fn concurrent_replays_exchange_the_code_once() {
    let app = spawn_app().await;
    let callback = app.approve(&app.start().await).await;
    let (a, b) = tokio::join!(app.callback(&callback), app.callback(&callback));
    let mut outcomes = [a, b];
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            "/admin/connections?connected=1".to_owned(),
            "/admin/connections?error=invalid_state".to_owned()
        ]
    );
    assert_eq!(app.emulator.token_requests(), 1);
}

#[tokio::test]
async fn an_expired_code_is_refused_by_stripe_and_nothing_is_stored() {
    let app = spawn_app().await;
    let callback = app.approve(&app.start().await).await;
    app.emulator.advance_clock(5 * 60);
    assert_eq!(
        app.callback(&callback).await,
        "/admin/connections?error=exchange_refused"
    );
    assert_eq!(app.emulator.token_requests(), 1);
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn a_wrong_platform_key_is_refused_and_nothing_is_stored() {
    let (emulator, url) = spawn_emulator().await;
    let app = spawn_app_with(emulator, url.clone(), url, "sk_test_not_the_platform_key").await;
    let callback = app.approve(&app.start().await).await;
    assert_eq!(
        app.callback(&callback).await,
        "/admin/connections?error=exchange_refused"
    );
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn unreachable_stripe_gives_a_clear_error_and_stores_nothing() {
    let (emulator, _) = spawn_emulator().await;
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        url::Url::parse(&format!("http://{}/", l.local_addr().unwrap())).unwrap()
    };
    let app = spawn_app_with(emulator, closed.clone(), closed, SECRET_KEY).await;
    let query = app.start().await;
    let callback = app.approve(&query).await;
    assert_eq!(
        app.callback(&callback).await,
        "/admin/connections?error=stripe_unavailable"
    );
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn a_failed_account_read_hands_the_grant_back_and_stores_nothing() {
    let (emulator, stripe) = spawn_emulator().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        url::Url::parse(&format!("http://{}/", l.local_addr().unwrap())).unwrap()
    };
    // Token endpoint works, the REST API is down.
    let app = spawn_app_with(emulator, stripe, closed, SECRET_KEY).await;
    let callback = app.approve(&app.start().await).await;
    assert_eq!(
        app.callback(&callback).await,
        "/admin/connections?error=stripe_unavailable"
    );
    assert_eq!(app.connection_count().await, 0);
    assert!(
        !app.emulator.is_connected("acct_1AcmeTest"),
        "deauthorized at Stripe"
    );
}

#[tokio::test]
async fn malformed_callbacks_are_refused_without_calling_stripe() {
    let app = spawn_app().await;
    let callback = app.approve(&app.start().await).await;
    let (path, query) = callback.split_once('?').unwrap();
    let q = query_map(query);
    let state = &q["state"];
    // A duplicated parameter.
    let dup = format!("{path}?{query}&code=ac_other");
    assert_eq!(
        app.callback(&dup).await,
        "/admin/connections?error=invalid_request"
    );
    // A code that is not a Stripe code (state still valid: not consumed by the malformed call).
    let bad_code = format!("{path}?code=%3Cscript%3E&state={state}");
    assert_eq!(
        app.callback(&bad_code).await,
        "/admin/connections?error=invalid_request"
    );
    // No query at all.
    assert_eq!(
        app.callback(path).await,
        "/admin/connections?error=invalid_state"
    );
    // An absurdly long state.
    let long = format!("{path}?code=ac_x&state={}", "a".repeat(10_000));
    assert_eq!(
        app.callback(&long).await,
        "/admin/connections?error=invalid_state"
    );
    assert_eq!(app.emulator.token_requests(), 0);
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn stripe_error_other_than_denial_is_reported_as_such() {
    let app = spawn_app().await;
    let query = app.start().await;
    let state = query_map(&query)["state"].clone();
    let location = app
        .callback(&format!(
            "/oauth/stripe/callback?error=invalid_scope&error_description=x&state={state}"
        ))
        .await;
    assert_eq!(location, "/admin/connections?error=stripe_error");
    assert_eq!(app.emulator.token_requests(), 0);
}

#[tokio::test]
async fn unknown_api_paths_get_a_json_404_and_spa_paths_get_the_app() {
    let app = spawn_app().await;
    let (status, body) = app.json("GET", "/api/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    let response = app.request("GET", "/admin/connections/new/stripe").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_string(response).await.contains("<title>spa</title>"));
    let response = app.request("GET", "/oauth/other").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = spawn_app().await;
    let response = app.request("GET", "/api/connections").await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert_eq!(response.headers()["cache-control"], "no-store");
}
