//! The Stripe emulator must be as strict as Stripe: these tests pin its wire format (STRIPE.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend::emulator::Emulator;
use base64::Engine;
use serde_json::Value;
use support::*;
use tower::ServiceExt;

fn emulator() -> Emulator {
    Emulator::new(emulator_config())
}

fn authorize_query() -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("scope", "read_only")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("state", "s<1>&")
        .finish()
}

fn code_for(emu: &Emulator) -> String {
    let url = emu.approve(&authorize_query(), EMAIL, PASSWORD).unwrap();
    let q = query_map(url.query().unwrap());
    assert_eq!(q["state"], "s<1>&", "state is echoed exactly");
    assert_eq!(q["scope"], "read_only");
    q["code"].clone()
}

async fn send(emu: &Emulator, request: Request<Body>) -> (StatusCode, Value) {
    let response = emu.router().oneshot(request).await.unwrap();
    let status = response.status();
    let body = body_string(response).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn form_post(path: &str, body: &str) -> axum::http::request::Builder {
    let _ = body;
    Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
}

async fn token(emu: &Emulator, auth: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut request = form_post("/oauth/token", body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    send(emu, request.body(Body::from(body.to_owned())).unwrap()).await
}

async fn account(emu: &Emulator, access_token: &str) -> (StatusCode, Value) {
    send(
        emu,
        Request::get("/v1/account")
            .header("authorization", format!("Bearer {access_token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn all_three_secret_key_forms_are_accepted() {
    let emu = emulator();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SECRET_KEY}:"))
    );
    let bearer = format!("Bearer {SECRET_KEY}");
    for (auth, extra) in [
        (Some(basic.as_str()), String::new()),
        (Some(bearer.as_str()), String::new()),
        (None, format!("&client_secret={SECRET_KEY}")),
    ] {
        let code = code_for(&emu);
        let (status, body) = token(
            &emu,
            auth,
            &format!("grant_type=authorization_code&code={code}{extra}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["stripe_user_id"], "acct_1AcmeTest");
        assert_eq!(body["livemode"], false);
        assert_eq!(body["scope"], "read_only");
        assert!(body["access_token"]
            .as_str()
            .unwrap()
            .starts_with("sk_test_"));
        assert!(body["refresh_token"].as_str().unwrap().starts_with("rt_"));
        assert!(body["stripe_publishable_key"]
            .as_str()
            .unwrap()
            .starts_with("pk_test_"));
        let (status, acct) = account(&emu, body["access_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(acct["id"], "acct_1AcmeTest");
        assert_eq!(acct["object"], "account");
    }
}

#[tokio::test]
async fn a_second_use_of_a_code_is_refused_and_revokes_the_connection() {
    let emu = emulator();
    let code = code_for(&emu);
    let body = format!("grant_type=authorization_code&code={code}&client_secret={SECRET_KEY}");
    let (status, first) = token(&emu, None, &body).await;
    assert_eq!(status, StatusCode::OK);
    let access = first["access_token"].as_str().unwrap().to_owned();
    assert_eq!(account(&emu, &access).await.0, StatusCode::OK);

    let (status, second) = token(&emu, None, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(second["error"], "invalid_grant");
    assert!(second["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));
    let (status, err) = account(&emu, &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"]["type"], "invalid_request_error");
    assert!(!emu.is_connected("acct_1AcmeTest"));
}

#[tokio::test]
async fn codes_expire_after_five_minutes() {
    let emu = emulator();
    let code = code_for(&emu);
    emu.advance_clock(5 * 60);
    let (status, body) = token(
        &emu,
        None,
        &format!("grant_type=authorization_code&code={code}&client_secret={SECRET_KEY}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

#[tokio::test]
async fn token_errors_have_stripes_shapes_and_statuses() {
    let emu = emulator();
    let code = code_for(&emu);
    let cases = [
        (
            None,
            format!("grant_type=authorization_code&code={code}"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            None,
            format!("grant_type=authorization_code&code={code}&client_secret=sk_test_wrong"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            None,
            format!("grant_type=authorization_code&code=ac_unknown&client_secret={SECRET_KEY}"),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            None,
            format!("grant_type=authorization_code&client_secret={SECRET_KEY}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            None,
            format!("grant_type=password&client_secret={SECRET_KEY}"),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            None,
            format!("code={code}&client_secret={SECRET_KEY}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            None,
            format!(
                "grant_type=authorization_code&code={code}&code={code}&client_secret={SECRET_KEY}"
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (auth, body, status, error) in cases {
        let (got, json) = token(&emu, auth, &body).await;
        assert_eq!(got, status, "{body}: {json}");
        assert_eq!(json["error"], error, "{body}");
        assert!(json["error_description"].is_string(), "{body}");
    }
    // The wrong key is masked in the message.
    let (_, json) = token(
        &emu,
        Some("Bearer sk_test_wrong_key_1234"),
        "grant_type=authorization_code&code=x",
    )
    .await;
    assert!(!json.to_string().contains("sk_test_wrong_key_1234"));
    // None of the failures used the code up.
    let (status, _) = token(
        &emu,
        None,
        &format!("grant_type=authorization_code&code={code}&client_secret={SECRET_KEY}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn authorize_errors_are_shown_as_json_never_redirected() {
    let emu = emulator();
    let base = authorize_query();
    let cases = [
        (
            base.replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            base.replace("scope=read_only", "scope=admin"),
            "invalid_scope",
        ),
        (base.replace("bi.test", "evil.test"), "invalid_redirect_uri"),
        (base.replace(CLIENT_ID, "ca_unknown"), "invalid_request"),
        (format!("{base}&state=again"), "invalid_request"),
    ];
    for (query, error) in cases {
        let (status, body) = send(
            &emu,
            Request::get(format!("/oauth/authorize?{query}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"], error, "{query}");
    }
}

#[tokio::test]
async fn the_authorize_page_is_labelled_and_escapes_what_it_echoes() {
    let emu = emulator();
    let response = emu
        .router()
        .oneshot(
            Request::get(format!("/oauth/authorize?{}", authorize_query()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_string(response).await;
    assert!(html.contains("Local Stripe emulator"));
    assert!(html.contains("Sign in with Stripe to Continue"));
    assert!(!html.contains("s<1>"), "state must be escaped in the page");
}

#[tokio::test]
async fn wrong_credentials_are_refused_on_the_sign_in_form() {
    let emu = emulator();
    let response = emu
        .router()
        .oneshot(
            form_post(&format!("/oauth/sign-in?{}", authorize_query()), "")
                .body(Body::from(format!("email={EMAIL}&password=wrong")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(body_string(response)
        .await
        .contains("Invalid email or password."));
}

#[tokio::test]
async fn deauthorize_revokes_tokens_and_then_reports_not_connected() {
    let emu = emulator();
    let code = code_for(&emu);
    let (_, grant) = token(
        &emu,
        None,
        &format!("grant_type=authorization_code&code={code}&client_secret={SECRET_KEY}"),
    )
    .await;
    let body = format!("client_id={CLIENT_ID}&stripe_user_id=acct_1AcmeTest");
    let request = || {
        form_post("/oauth/deauthorize", &body)
            .header("authorization", format!("Bearer {SECRET_KEY}"))
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let (status, json) = send(&emu, request()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["stripe_user_id"], "acct_1AcmeTest");
    let (status, _) = account(&emu, grant["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, json) = send(&emu, request()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["error"], "invalid_client");
}

#[tokio::test]
async fn the_account_endpoint_requires_a_key() {
    let emu = emulator();
    let (status, json) = send(
        &emu,
        Request::get("/v1/account").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["error"]["type"], "invalid_request_error");
    let (status, _) = account(&emu, "sk_test_unknown").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forms_posted_from_another_site_are_refused() {
    let emu = emulator();
    for (origin, site) in [
        (Some("https://evil.example"), None),
        (Some("null"), Some("cross-site")),
    ] {
        let mut request = form_post("/revoke", "").header("host", "stripe.test");
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        if let Some(s) = site {
            request = request.header("sec-fetch-site", s);
        }
        let (status, _) = send(
            &emu,
            request.body(Body::from("account=acct_1AcmeTest")).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin:?} {site:?}");
    }
    // Its own pages may post.
    let request = form_post("/faults", "")
        .header("host", "stripe.test")
        .header("origin", "http://stripe.test")
        .body(Body::from("endpoint=token&fault=none"))
        .unwrap();
    assert_eq!(send(&emu, request).await.0, StatusCode::OK);
}
