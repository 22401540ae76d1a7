//! The Stripe emulator must be as strict as Stripe: these tests pin its wire format (STRIPE.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend::emulator::{Emulator, RESTRICTED_KEY_PERMISSIONS};
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

// ---- Stripe Apps OAuth 2.0 -------------------------------------------------------------------

fn install_query() -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("state", "s<1>&")
        .finish()
}

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

async fn get(emu: &Emulator, path: &str, auth: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::get(path);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    send(emu, request.body(Body::empty()).unwrap()).await
}

async fn get_html(emu: &Emulator, path: &str) -> (StatusCode, String) {
    let response = emu
        .router()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    (response.status(), body_string(response).await)
}

async fn apps_token(emu: &Emulator, auth: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut request = form_post("/v1/oauth/token", body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    send(emu, request.body(Body::from(body.to_owned())).unwrap()).await
}

fn install_code(emu: &Emulator) -> String {
    let url = emu
        .approve_install(&install_query(), EMAIL, PASSWORD)
        .unwrap();
    query_map(url.query().unwrap())["code"].clone()
}

/// Installs the app on Acme and exchanges the code: the token answer.
async fn install(emu: &Emulator) -> Value {
    let code = install_code(emu);
    let (status, body) = apps_token(
        emu,
        Some(&basic(SECRET_KEY)),
        &format!("grant_type=authorization_code&code={code}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn refresh(emu: &Emulator, refresh_token: &str) -> (StatusCode, Value) {
    apps_token(
        emu,
        Some(&basic(SECRET_KEY)),
        &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
    )
    .await
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

#[tokio::test]
async fn the_install_page_lists_the_permissions_with_the_connect_labels() {
    let emu = emulator();
    // A `scope` is ignored; no `response_type` is needed.
    let (status, html) = get_html(
        &emu,
        &format!("/oauth/v2/authorize?{}&scope=read_write", install_query()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Local Stripe emulator"));
    assert!(html.contains("demo mode"));
    assert!(html.contains("<ul>"));
    for permission in [
        "customer_read",
        "charge_read",
        "coupon_read",
        "invoice_read",
        "plan_read",
        "subscription_read",
        "event_read",
    ] {
        assert!(html.contains(permission), "{permission}");
    }
    assert!(html.contains("Read customers"));
    assert!(html.contains("Sign in with Stripe to Continue"));
    assert!(html.contains("Deny access"));
    assert!(!html.contains("s<1>"), "state must be escaped in the page");

    let (status, html) = get_html(&emu, &format!("/oauth/v2/sign-in?{}", install_query())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"email\""));
    assert!(html.contains("id=\"password\""));
    assert!(html.contains("Sign in to your account"));
    assert!(html.contains("Deny access"));
}

#[tokio::test]
async fn install_refusals_are_json_never_redirected() {
    let emu = emulator();
    let base = install_query();
    let cases = [
        (
            format!(
                "/oauth/v2/authorize?{}",
                base.replace(CLIENT_ID, "ca_unknown")
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!(
                "/oauth/v2/authorize?{}",
                base.replace("bi.test", "evil.test")
            ),
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
        ),
        (
            format!("/oauth/v2/authorize?{base}&state=again"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!("/oauth/v2/authorize?redirect_uri={REDIRECT_URI}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!("/oauth/v2/chnlink_other/authorize?{base}"),
            StatusCode::NOT_FOUND,
            "invalid_request",
        ),
        (
            format!(
                "/oauth/v2/{INSTALL_LINK}/authorize?{}",
                base.replace(CLIENT_ID, "ca_unknown")
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!("/oauth/v2/sign-in?{}", base.replace("bi.test", "evil.test")),
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
        ),
    ];
    for (path, status, error) in cases {
        let (got, body) = get(&emu, &path, None).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["error"], error, "{path}");
        assert!(body["error_description"].is_string(), "{path}");
    }
    let (_, body) = get(
        &emu,
        &format!("/oauth/v2/chnlink_other/authorize?{base}"),
        None,
    )
    .await;
    assert_eq!(body["error_description"], "No such install link");
    assert!(matches!(
        emu.approve_install(&base.replace(CLIENT_ID, "ca_unknown"), EMAIL, PASSWORD),
        Err(backend::emulator::Refusal::OAuth { .. })
    ));
    assert_eq!(
        emu.approve_install(&base, EMAIL, "wrong"),
        Err(backend::emulator::Refusal::BadCredentials)
    );
    // Without a redirect_uri, the first registered one is used.
    let url = emu
        .approve_install(&format!("client_id={CLIENT_ID}"), EMAIL, PASSWORD)
        .unwrap();
    assert!(url.as_str().starts_with(REDIRECT_URI), "{url}");
}

#[tokio::test]
async fn the_external_test_link_installs_through_the_forms() {
    let emu = emulator();
    let query = install_query();
    let (status, html) =
        get_html(&emu, &format!("/oauth/v2/{INSTALL_LINK}/authorize?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    // The forms lead to the Apps flow's own sign-in and deny, one level up.
    assert!(html.contains("action=\"../sign-in\""), "{html}");
    assert!(html.contains("action=\"../deny?"), "{html}");

    let response = emu
        .router()
        .oneshot(
            form_post(&format!("/oauth/v2/sign-in?{query}"), "")
                .body(Body::from(format!(
                    "email={}&password={}",
                    EMAIL,
                    PASSWORD.replace(' ', "+")
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT_URI));
    let q = query_map(location.query().unwrap());
    assert_eq!(q["state"], "s<1>&");
    assert!(q["code"].starts_with("ac_"));
    // Extra parameters Stripe may add; the backend must ignore them.
    assert!(q["user_id"].starts_with("usr_"));
    assert_eq!(q["account_id"], "acct_1AcmeTest");
    assert!(!q.contains_key("scope"));

    let (status, body) = apps_token(
        &emu,
        Some(&basic(SECRET_KEY)),
        &format!("grant_type=authorization_code&code={}", q["code"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(emu.is_connected("acct_1AcmeTest"));

    // Deny from the install flow.
    let response = emu
        .router()
        .oneshot(
            form_post(&format!("/oauth/v2/deny?{query}"), "")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(location, emu.deny_install(&query).unwrap().as_str());
    assert!(location.contains(
        "error=access_denied&error_description=The+user+denied+your+request&state=s%3C1%3E%26"
    ));
}

#[tokio::test]
async fn the_apps_exchange_answers_stripe_apps_tokens_without_expires_in() {
    let emu = emulator();
    for auth in [basic(SECRET_KEY), bearer(SECRET_KEY)] {
        let code = install_code(&emu);
        let (status, body) = apps_token(
            &emu,
            Some(&auth),
            &format!("grant_type=authorization_code&code={code}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["scope"], "stripe_apps");
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["livemode"], false);
        assert_eq!(body["stripe_user_id"], "acct_1AcmeTest");
        assert!(body.get("expires_in").is_none(), "{body}");
        assert!(str_of(&body, "access_token").starts_with("sk_test_"));
        assert!(str_of(&body, "refresh_token").starts_with("rt_"));
        assert!(str_of(&body, "stripe_publishable_key").starts_with("pk_test_"));
        let (status, acct) = account(&emu, str_of(&body, "access_token")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(acct["id"], "acct_1AcmeTest");
    }
    // No `client_secret` form here: that is no authentication at all.
    let code = install_code(&emu);
    for (auth, body) in [
        (
            None,
            format!("grant_type=authorization_code&code={code}&client_secret={SECRET_KEY}"),
        ),
        (
            Some(basic("sk_test_wrong_key_1234")),
            format!("grant_type=authorization_code&code={code}"),
        ),
    ] {
        let (status, json) = apps_token(&emu, auth.as_deref(), &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{json}");
        assert_eq!(json["error"], "invalid_client");
        assert!(!json.to_string().contains("sk_test_wrong_key_1234"));
    }
    let (status, json) =
        apps_token(&emu, Some(&basic(SECRET_KEY)), "grant_type=password&code=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"], "unsupported_grant_type");
    // The failures did not use the code up.
    let (status, _) = apps_token(
        &emu,
        Some(&basic(SECRET_KEY)),
        &format!("grant_type=authorization_code&code={code}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn codes_only_work_at_their_own_flows_token_endpoint() {
    let emu = emulator();
    let connect_code = code_for(&emu);
    let (status, body) = apps_token(
        &emu,
        Some(&basic(SECRET_KEY)),
        &format!("grant_type=authorization_code&code={connect_code}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"],
        "Authorization code provided does not belong to you"
    );

    let apps_code = install_code(&emu);
    let (status, body) = token(
        &emu,
        Some(&bearer(SECRET_KEY)),
        &format!("grant_type=authorization_code&code={apps_code}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(str_of(&body, "error_description").contains("does not belong to you"));

    // Neither attempt used the code up.
    let (status, _) = token(
        &emu,
        Some(&bearer(SECRET_KEY)),
        &format!("grant_type=authorization_code&code={connect_code}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = apps_token(
        &emu,
        Some(&basic(SECRET_KEY)),
        &format!("grant_type=authorization_code&code={apps_code}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emu.token_requests(), 4);
}

#[tokio::test]
async fn apps_codes_are_single_use_and_expire() {
    let emu = emulator();
    let code = install_code(&emu);
    let body = format!("grant_type=authorization_code&code={code}");
    let (status, first) = apps_token(&emu, Some(&basic(SECRET_KEY)), &body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, second) = apps_token(&emu, Some(&basic(SECRET_KEY)), &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(second["error"], "invalid_grant");
    assert!(str_of(&second, "error_description").contains("already used"));
    // What the code granted is revoked.
    assert_eq!(
        account(&emu, str_of(&first, "access_token")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&emu, str_of(&first, "refresh_token")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert!(!emu.is_connected("acct_1AcmeTest"));

    let code = install_code(&emu);
    emu.advance_clock(5 * 60);
    let (status, body) = apps_token(
        &emu,
        Some(&basic(SECRET_KEY)),
        &format!("grant_type=authorization_code&code={code}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(str_of(&body, "error_description").contains("expired"));
}

#[tokio::test]
async fn apps_access_tokens_expire_after_the_ttl_but_connect_tokens_never() {
    let mut config = emulator_config();
    config.access_token_ttl_secs = 60;
    let clock = backend::clock::Clock::default();
    let emu = Emulator::with_clock(config, clock.clone());
    let grant = install(&emu).await;
    let access = str_of(&grant, "access_token").to_owned();
    let code = code_for(&emu);
    let (_, connect) = token(
        &emu,
        Some(&bearer(SECRET_KEY)),
        &format!("grant_type=authorization_code&code={code}"),
    )
    .await;

    // Half the lifetime (with room for a slow machine's own seconds): still valid.
    emu.advance_clock(30);
    assert_eq!(account(&emu, &access).await.0, StatusCode::OK);
    // The shared clock moves the emulator too: the whole lifetime has passed.
    clock.advance(30);
    let (status, body) = account(&emu, &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["code"], "api_key_expired");
    let tail = &access[access.len() - 4..];
    assert_eq!(
        body["error"]["message"],
        format!("Expired API Key provided: sk_test_****{tail}")
    );
    let (status, body) = get(&emu, "/v1/customers", Some(&basic(&access))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "api_key_expired");

    emu.advance_clock(10 * 365 * 24 * 3600);
    assert_eq!(
        account(&emu, str_of(&connect, "access_token")).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_die_on_use() {
    let emu = emulator();
    let grant = install(&emu).await;
    assert_eq!(emu.refresh_requests(), 0);
    let first_refresh = str_of(&grant, "refresh_token").to_owned();
    let (status, renewed) = refresh(&emu, &first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_eq!(renewed["scope"], "stripe_apps");
    assert_eq!(renewed["stripe_user_id"], "acct_1AcmeTest");
    assert!(renewed.get("expires_in").is_none());
    assert_ne!(renewed["access_token"], grant["access_token"]);
    assert_ne!(renewed["refresh_token"], grant["refresh_token"]);
    assert_eq!(emu.refresh_requests(), 1);
    // The older access token stays valid until it expires; the new one works.
    assert_eq!(
        account(&emu, str_of(&grant, "access_token")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        account(&emu, str_of(&renewed, "access_token")).await.0,
        StatusCode::OK
    );
    // The presented refresh token died at once.
    let (status, body) = refresh(&emu, &first_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let tail = &first_refresh[first_refresh.len() - 4..];
    assert_eq!(
        body["error_description"],
        format!("Invalid refresh token: rt_****{tail}")
    );
    assert_eq!(emu.refresh_requests(), 2);
    let (status, _) = refresh(&emu, str_of(&renewed, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emu.refresh_requests(), 3);
    // One exchange and three refreshes.
    assert_eq!(emu.token_requests(), 4);
    // An Apps refresh token is not a Connect one.
    let (status, body) = token(
        &emu,
        Some(&bearer(SECRET_KEY)),
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            str_of(&renewed, "refresh_token")
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(emu.refresh_requests(), 4);
}

#[tokio::test]
async fn a_second_install_replaces_the_first_and_revoke_uninstalls() {
    let emu = emulator();
    let first = install(&emu).await;
    let second = install(&emu).await;
    assert_eq!(
        account(&emu, str_of(&first, "access_token")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&emu, str_of(&first, "refresh_token")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        account(&emu, str_of(&second, "access_token")).await.0,
        StatusCode::OK
    );
    assert!(emu.is_connected("acct_1AcmeTest"));

    // Uninstall in the dashboard; there is no deauthorize endpoint for Apps.
    emu.revoke("acct_1AcmeTest").await.unwrap();
    assert!(!emu.is_connected("acct_1AcmeTest"));
    assert_eq!(
        account(&emu, str_of(&second, "access_token")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = refresh(&emu, str_of(&second, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(emu.revoke("acct_1AcmeTest").await.is_err());
}

#[tokio::test]
async fn token_faults_apply_to_both_token_endpoints() {
    use backend::emulator::{Endpoint, Fault};
    let emu = emulator();
    emu.inject(Endpoint::Token, Some(Fault::ServerError));
    let (status, body) = apps_token(
        &emu,
        Some(&basic(SECRET_KEY)),
        "grant_type=refresh_token&refresh_token=rt_x",
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"]["type"], "api_error");
    let (status, _) = token(
        &emu,
        Some(&bearer(SECRET_KEY)),
        "grant_type=refresh_token&refresh_token=rt_x",
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(emu.token_requests(), 2);
    assert_eq!(emu.refresh_requests(), 2);
    emu.inject(Endpoint::Token, None);
    let grant = install(&emu).await;
    emu.inject(Endpoint::Lists, Some(Fault::ServerError));
    let auth = bearer(str_of(&grant, "access_token"));
    assert_eq!(
        get(&emu, "/v1/customers", Some(&auth)).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        get(&emu, "/v1/account", Some(&auth)).await.0,
        StatusCode::OK
    );
    emu.inject(Endpoint::Lists, None);
    assert_eq!(
        get(&emu, "/v1/customers", Some(&auth)).await.0,
        StatusCode::OK
    );
    // The fault switch knows the lists.
    let request = form_post("/faults", "")
        .body(Body::from("endpoint=lists&fault=malformed"))
        .unwrap();
    assert_eq!(send(&emu, request).await.0, StatusCode::OK);
    let (status, body) = get(&emu, "/v1/events", Some(&auth)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_string(), "not JSON: {body}");
}

#[test]
fn the_demo_config_has_an_install_link_and_a_one_hour_ttl() {
    let config = backend::emulator::EmulatorConfig::demo(REDIRECT_URI);
    assert!(config.install_link.starts_with("chnlink_emulator"));
    assert!(config.install_link.len() > "chnlink_emulator".len());
    assert_eq!(config.access_token_ttl_secs, 3600);
}

// ---- Restricted keys and the lists ----------------------------------------------------------

const LISTS: [(&str, &str); 7] = [
    ("customers", "cus_"),
    ("charges", "ch_"),
    ("coupons", ""),
    ("invoices", "in_"),
    ("plans", "plan_"),
    ("subscriptions", "sub_"),
    ("events", "evt_"),
];

fn full_key(emu: &Emulator) -> String {
    emu.create_restricted_key("acct_1AcmeTest", &RESTRICTED_KEY_PERMISSIONS)
        .unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| str_of(o, "id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_restricted_key_is_refused_outside_its_permissions_with_stripes_words() {
    let emu = emulator();
    let all_but_coupons: Vec<&str> = RESTRICTED_KEY_PERMISSIONS
        .iter()
        .copied()
        .filter(|p| *p != "rak_coupon_read" && *p != "rak_account_read")
        .collect();
    let key = emu
        .create_restricted_key("acct_1AcmeTest", &all_but_coupons)
        .unwrap();
    assert!(key.starts_with("rk_test_"));
    let tail = &key[key.len() - 4..];

    let (status, body) = get(&emu, "/v1/coupons", Some(&bearer(&key))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(
        body["error"]["message"],
        format!(
            "The provided key 'rk_test_****{tail}' does not have the required permissions for this endpoint on account 'acct_1AcmeTest'. Having the 'rak_coupon_read' permission would allow this request to continue."
        )
    );
    let (status, body) = get(&emu, "/v1/customers?limit=1", Some(&basic(&key))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["has_more"], true);
    let (status, body) = get(&emu, "/v1/account", Some(&bearer(&key))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(str_of(&body["error"], "message").contains("'rak_account_read'"));

    let (status, body) = get(&emu, "/v1/account", Some(&bearer(&full_key(&emu)))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], "acct_1AcmeTest");

    let (status, body) = get(
        &emu,
        "/v1/customers",
        Some(&bearer("rk_test_unknownkey9876")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error"]["message"],
        "Invalid API Key provided: rk_test_****9876"
    );

    assert!(emu
        .create_restricted_key("acct_1AcmeTest", &["rak_everything"])
        .is_err());
    assert!(emu
        .create_restricted_key("acct_unknown", &["rak_customer_read"])
        .is_err());
    // A key with no permissions is allowed, and can read nothing.
    let none = emu.create_restricted_key("acct_1GlobexTest", &[]).unwrap();
    let (status, body) = get(&emu, "/v1/events", Some(&bearer(&none))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(str_of(&body["error"], "message").contains("on account 'acct_1GlobexTest'"));
}

#[tokio::test]
async fn the_seven_lists_have_stripes_shape_newest_first() {
    let emu = emulator();
    let key = full_key(&emu);
    let other = emu
        .create_restricted_key("acct_1GlobexTest", &RESTRICTED_KEY_PERMISSIONS)
        .unwrap();
    for (list, prefix) in LISTS {
        let (status, body) = get(&emu, &format!("/v1/{list}"), Some(&bearer(&key))).await;
        assert_eq!(status, StatusCode::OK, "{list}: {body}");
        assert_eq!(body["object"], "list");
        assert_eq!(body["url"], format!("/v1/{list}"));
        assert!(body["has_more"].is_boolean());
        let data = body["data"].as_array().unwrap();
        assert!((3..=10).contains(&data.len()), "{list}: {}", data.len());
        let object = list.trim_end_matches('s');
        let mut previous = i64::MAX;
        for item in data {
            assert!(str_of(item, "id").starts_with(prefix), "{item}");
            assert_eq!(item["object"], object, "{item}");
            assert_eq!(item["livemode"], false);
            let created = item["created"].as_i64().unwrap();
            assert!(created <= previous, "{list} not newest first");
            previous = created;
        }
        // Each account has its own objects.
        let (_, theirs) = get(&emu, &format!("/v1/{list}"), Some(&bearer(&other))).await;
        let mine = ids(&body);
        assert!(ids(&theirs).iter().all(|id| !mine.contains(id)), "{list}");
        // The same data every time.
        let (_, again) = get(&emu, &format!("/v1/{list}"), Some(&bearer(&key))).await;
        assert_eq!(again, body);
    }
    let (_, customers) = get(&emu, "/v1/customers", Some(&bearer(&key))).await;
    assert!(customers["data"][0]["email"]
        .as_str()
        .unwrap()
        .contains('@'));
    let (_, charges) = get(&emu, "/v1/charges", Some(&bearer(&key))).await;
    let charge = &charges["data"][0];
    assert!(charge["amount"].is_i64());
    assert_eq!(charge["currency"], "usd");
    assert!(str_of(charge, "customer").starts_with("cus_"));
    let (_, events) = get(&emu, "/v1/events", Some(&bearer(&key))).await;
    assert_eq!(events["data"][0]["account"], "acct_1AcmeTest");
}

#[tokio::test]
async fn every_kind_of_key_reads_the_lists() {
    let emu = emulator();
    // Without a connection, the platform key cannot act for the account.
    let mut request = Request::get("/v1/customers")
        .header("authorization", bearer(SECRET_KEY))
        .header("stripe-account", "acct_1AcmeTest");
    let (status, _) = send(&emu, request.body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let grant = install(&emu).await;
    let code = code_for(&emu);
    let (_, connect) = token(
        &emu,
        Some(&bearer(SECRET_KEY)),
        &format!("grant_type=authorization_code&code={code}"),
    )
    .await;
    for auth in [
        bearer(str_of(&grant, "access_token")),
        basic(str_of(&connect, "access_token")),
        bearer(&full_key(&emu)),
    ] {
        let (status, body) = get(&emu, "/v1/subscriptions", Some(&auth)).await;
        assert_eq!(status, StatusCode::OK, "{auth}: {body}");
    }
    request = Request::get("/v1/customers")
        .header("authorization", basic(SECRET_KEY))
        .header("stripe-account", "acct_1AcmeTest");
    let (status, body) = send(&emu, request.body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get(&emu, "/v1/customers", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let (status, body) = get(&emu, "/v1/nothing", Some(&bearer(&full_key(&emu)))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn list_parameters_are_checked_like_stripe() {
    let emu = emulator();
    let auth = bearer(&full_key(&emu));
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("foo=1", "foo"),
        ("status=active", "status"),
        ("created[gt]=soon", "created[gt]"),
        ("starting_after=cus_nope", "starting_after"),
    ] {
        let (status, body) = get(&emu, &format!("/v1/customers?{query}"), Some(&auth)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{query}");
        assert_eq!(body["error"]["param"], param, "{query}");
        assert!(body["error"]["message"].is_string(), "{query}");
    }
    let (_, body) = get(&emu, "/v1/customers?foo=1", Some(&auth)).await;
    assert_eq!(body["error"]["message"], "Received unknown parameter: foo");
    for query in ["limit=1&limit=2", "starting_after=a&ending_before=b"] {
        let (status, _) = get(&emu, &format!("/v1/charges?{query}"), Some(&auth)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
    }
    let (status, body) = get(&emu, "/v1/coupons?limit=100", Some(&auth)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["has_more"], false);
    let (status, body) = get(&emu, "/v1/events?limit=100", Some(&auth)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["has_more"], true,
        "a few hundred events: several pages"
    );
    let (status, body) = get(&emu, "/v1/events?limit=1", Some(&auth)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["has_more"], true);
}

#[tokio::test]
async fn starting_after_pages_through_a_list() {
    let emu = emulator();
    let auth = bearer(&full_key(&emu));
    let (_, all) = get(&emu, "/v1/customers?limit=100", Some(&auth)).await;
    assert_eq!(all["has_more"], false);
    let all = ids(&all);
    assert!(all.len() > 10, "customers: {}", all.len());
    let (_, first_page) = get(&emu, "/v1/customers", Some(&auth)).await;
    assert_eq!(ids(&first_page), all[..10].to_vec(), "default limit is 10");

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(id) => format!("/v1/customers?limit=7&starting_after={id}"),
            None => "/v1/customers?limit=7".to_owned(),
        };
        let (status, page) = get(&emu, &path, Some(&auth)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page_ids = ids(&page);
        seen.extend(page_ids.clone());
        if page["has_more"] == false {
            break;
        }
        cursor = page_ids.last().cloned();
    }
    assert_eq!(seen, all);
    // ending_before goes back towards the newest.
    let (_, page) = get(
        &emu,
        &format!("/v1/customers?limit=2&ending_before={}", all[4]),
        Some(&auth),
    )
    .await;
    assert_eq!(ids(&page), all[2..4].to_vec());
    assert_eq!(page["has_more"], true);
}

#[tokio::test]
async fn subscriptions_hide_canceled_unless_status_all_and_created_filters() {
    let emu = emulator();
    let auth = bearer(&full_key(&emu));
    let statuses = |list: &Value| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| str_of(s, "status").to_owned())
            .collect()
    };
    let (_, default) = get(&emu, "/v1/subscriptions?limit=100", Some(&auth)).await;
    assert!(!statuses(&default).contains(&"canceled".to_owned()));
    let (_, all) = get(&emu, "/v1/subscriptions?status=all&limit=100", Some(&auth)).await;
    let canceled_count = statuses(&all).iter().filter(|s| *s == "canceled").count();
    assert!(canceled_count >= 1);
    assert_eq!(
        all["data"].as_array().unwrap().len(),
        default["data"].as_array().unwrap().len() + canceled_count
    );
    let (_, canceled) = get(
        &emu,
        "/v1/subscriptions?status=canceled&limit=100",
        Some(&auth),
    )
    .await;
    assert_eq!(
        statuses(&canceled),
        vec!["canceled".to_owned(); canceled_count]
    );
    let (status, _) = get(&emu, "/v1/subscriptions?status=sleeping", Some(&auth)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // created[gt|gte|lt|lte], with brackets encoded or not.
    let (_, customers) = get(&emu, "/v1/customers?limit=100", Some(&auth)).await;
    let created: Vec<i64> = customers["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["created"].as_i64().unwrap())
        .collect();
    let pivot = created[2];
    for (query, expected) in [
        (format!("created[gt]={pivot}"), 2),
        (format!("created%5Bgte%5D={pivot}"), 3),
        (format!("created[lt]={pivot}"), created.len() - 3),
        (
            format!("created[lte]={pivot}&created[gt]={}", created[3]),
            1,
        ),
        (format!("created={pivot}"), 1),
    ] {
        let (status, body) = get(
            &emu,
            &format!("/v1/customers?limit=100&{query}"),
            Some(&auth),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(body["data"].as_array().unwrap().len(), expected, "{query}");
    }
}

#[tokio::test]
async fn the_home_page_creates_a_restricted_key_shown_once() {
    let emu = emulator();
    let (status, html) = get_html(&emu, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Create a restricted key for Acme Test Ltd"));
    assert!(html.contains("action=\"restricted-keys\""));
    assert!(html.contains("Revoke access for Acme Test Ltd"));
    for permission in RESTRICTED_KEY_PERMISSIONS {
        let id = format!("rk-0-{permission}");
        assert!(
            html.contains(&format!(
                "id=\"{id}\" name=\"permission\" value=\"{permission}\" checked"
            )),
            "{permission}"
        );
        assert!(
            html.contains(&format!("<label for=\"{id}\">")),
            "{permission}"
        );
    }

    let post = |origin: &str, body: &str| {
        form_post("/restricted-keys", body)
            .header("host", "stripe.test")
            .header("origin", origin)
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let form = "account=acct_1AcmeTest&permission=rak_customer_read&permission=rak_event_read";
    let response = emu
        .router()
        .oneshot(post("http://stripe.test", form))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = body_string(response).await;
    assert!(html.contains("shown once"));
    let start =
        html.find("<code id=\"restricted-key\">").unwrap() + "<code id=\"restricted-key\">".len();
    let key = &html[start..start + html[start..].find("</code>").unwrap()];
    assert!(key.starts_with("rk_test_"), "{key}");
    assert_eq!(
        get(&emu, "/v1/customers", Some(&bearer(key))).await.0,
        StatusCode::OK
    );
    assert_eq!(
        get(&emu, "/v1/events", Some(&bearer(key))).await.0,
        StatusCode::OK
    );
    let (status, body) = get(&emu, "/v1/charges", Some(&bearer(key))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(str_of(&body["error"], "message").contains("'rak_charge_read'"));

    // Another site cannot make keys; bad forms are refused.
    let response = emu
        .router()
        .oneshot(post("https://evil.example", form))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    for bad in [
        "account=acct_unknown&permission=rak_customer_read",
        "account=acct_1AcmeTest&permission=rak_everything",
        "account=acct_1AcmeTest&account=acct_1GlobexTest",
    ] {
        let response = emu
            .router()
            .oneshot(post("http://stripe.test", bad))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(!body_string(response).await.contains("rk_test_"), "{bad}");
    }
}
