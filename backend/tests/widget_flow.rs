//! Connecting Stripe from a host's widget: the flow starts with the session token from the host
//! page, our `/widget/authorize` page binds it to the popup's browser (once) and goes on to Stripe,
//! and the callback answers with a page that posts the outcome to the host page's origin only. The
//! connection lands in the session's organization; an account connected in another organization is
//! never taken over.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use support::*;
use tower::ServiceExt;

const HOST: &str = "https://host.example";

async fn call(
    app: &TestApp,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> axum::http::Response<Body> {
    let mut request = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = match body {
        Some(json) => request
            .header("content-type", "application/json")
            .body(Body::from(json.to_string())),
        None => request.body(Body::empty()),
    };
    app.router.clone().oneshot(request.unwrap()).await.unwrap()
}

/// A host key and a connect session for `org`: the token.
async fn widget_token(app: &TestApp, org: &str) -> String {
    let response = app
        .send(
            "POST",
            "/api/host-keys",
            Some(&app.admin),
            Some(json!({"name": "Acme BI", "origins": [HOST]})),
        )
        .await;
    let (_, created) = to_json(response).await;
    let key = created["key"].as_str().unwrap();
    let auth = format!("Bearer {key}");
    let response = call(
        app,
        "POST",
        "/api/connect-sessions",
        &[("authorization", &auth)],
        Some(json!({
            "organization": {"id": org, "name": "Initech"},
            "end_user": {"id": "u1", "email": "peter@initech.example"},
        })),
    )
    .await;
    let (status, body) = to_json(response).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// The widget starts a flow: the URL its popup opens, and the proof the popup will ask for.
async fn start(app: &TestApp, token: &str) -> (String, Option<String>) {
    let auth = format!("Bearer {token}");
    let response = call(
        app,
        "POST",
        "/api/connections/stripe/authorize",
        &[("authorization", &auth), ("origin", HOST)],
        None,
    )
    .await;
    let (status, body) = to_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["authorize_url"].as_str().unwrap().to_owned(),
        body["flow_proof"].as_str().map(str::to_owned),
    )
}

/// The flow's link opened (again) by some browser.
async fn reopen(app: &TestApp, url: &str) -> axum::http::Response<Body> {
    call(app, "GET", url.strip_prefix(PUBLIC_URL).unwrap(), &[], None).await
}

/// `POST /widget/authorize` as our own page's form does it (from `origin`).
async fn go(app: &TestApp, form: &str, origin: &str) -> axum::http::Response<Body> {
    let request = Request::post("/widget/authorize")
        .header("origin", origin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    app.router.clone().oneshot(request).await.unwrap()
}

/// The popup (or, without a proof, the host page) opens our page and goes on — with the widget's
/// proof, or by clicking the confirmation: the cookie it sets and Stripe's authorize query.
async fn open_popup(app: &TestApp, url: &str, proof: Option<&str>) -> (String, String) {
    let path = url.strip_prefix(PUBLIC_URL).expect("our own page");
    let flow = path
        .strip_prefix("/widget/authorize?flow=")
        .expect("a flow");
    let page = call(app, "GET", path, &[], None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers().get("set-cookie").is_none(),
        "opening the link binds nothing"
    );
    let html = body_string(page).await;
    match proof {
        Some(_) => assert!(html.contains("/widget/authorize.js"), "{html}"),
        None => assert!(
            html.contains("Initech") && html.contains("Acme BI"),
            "{html}"
        ),
    }
    let form = format!("flow={flow}&proof={}", proof.unwrap_or_default());
    let response = go(app, &form, PUBLIC_URL).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for part in ["HttpOnly", "SameSite=Lax", "Path=/oauth/stripe/callback"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();
    (pair, location.query().unwrap().to_owned())
}

/// The result page's posted origin and outcome.
async fn result_of(response: axum::http::Response<Body>) -> (String, Value) {
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    let html = body_string(response).await;
    let attr = |name: &str| -> String {
        let start = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + html[start..].find('"').unwrap();
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    assert!(html.contains("<script src=\"/widget/callback.js\""));
    (
        attr("data-origin"),
        serde_json::from_str(&attr("data-result")).unwrap(),
    )
}

#[tokio::test]
async fn a_widget_connects_stripe_into_its_organization_through_a_popup() {
    let app = spawn_app().await;
    let token = widget_token(&app, "org_9").await;
    let (url, proof) = start(&app, &token).await;
    let (cookie, authorize_query) = open_popup(&app, &url, proof.as_deref()).await;
    // The page works once: a second opening (a forwarded link) gets nothing.
    let again = reopen(&app, &url).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.headers().get("set-cookie").is_none());

    let callback = app.approve(&authorize_query).await;
    let response = call(&app, "GET", &callback, &[("cookie", &cookie)], None).await;
    let cleared = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let (origin, result) = result_of(response).await;
    assert_eq!(origin, HOST, "posted to the host page only");
    assert_eq!(result["type"], "connect", "{result}");
    assert_eq!(result["account_name"], "Acme Test Ltd");
    let id = result["connection_id"].as_i64().unwrap();

    // The organization's connection: the widget sees it, the Admin sees whose it is.
    let auth = format!("Bearer {token}");
    let (_, rows) = to_json(
        call(
            &app,
            "GET",
            "/api/connections",
            &[("authorization", &auth), ("origin", HOST)],
            None,
        )
        .await,
    )
    .await;
    assert_eq!(rows[0]["id"], id);
    let (_, rows) = app.json("GET", "/api/connections").await;
    assert_eq!(rows[0]["organization"], "Initech");
    let (_, detail) = app.json("GET", &format!("/api/connections/{id}")).await;
    assert_eq!(detail["audit"][0]["actor"], "widget:peter@initech.example");

    let script = call(&app, "GET", "/widget/callback.js", &[], None).await;
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(body_string(script).await.contains("postMessage"));
}

#[tokio::test]
async fn a_callback_in_another_browser_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let token = widget_token(&app, "org_9").await;
    let (url, proof) = start(&app, &token).await;
    let (_cookie, authorize_query) = open_popup(&app, &url, proof.as_deref()).await;
    let callback = app.approve(&authorize_query).await;
    // No cookie (the flow's link was opened elsewhere), or a forged one.
    let response = call(
        &app,
        "GET",
        &callback,
        &[("cookie", "connections_widget_oauth=forged")],
        None,
    )
    .await;
    let (origin, result) = result_of(response).await;
    assert_eq!(origin, HOST);
    assert_eq!(result["type"], "error");
    assert_eq!(result["code"], "session_mismatch");
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn an_account_connected_in_another_organization_is_never_taken_over() {
    let app = spawn_app().await;
    let admins = app.connect().await;
    let token = widget_token(&app, "org_9").await;
    let (url, proof) = start(&app, &token).await;
    let (cookie, authorize_query) = open_popup(&app, &url, proof.as_deref()).await;
    let callback = app.approve(&authorize_query).await;
    let response = call(&app, "GET", &callback, &[("cookie", &cookie)], None).await;
    let (_, result) = result_of(response).await;
    assert_eq!(result["code"], "account_elsewhere", "{result}");
    let (_, rows) = app.json("GET", "/api/connections").await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["id"], admins);
    assert_eq!(rows[0]["organization"], Value::Null, "still the app's own");
    assert!(
        app.emulator.is_connected("acct_1AcmeTest"),
        "the app's connection keeps working"
    );
    assert_eq!(
        app.connection(admins).await["connection"]["status"],
        "success"
    );
}

#[tokio::test]
async fn a_widget_flow_needs_its_host_page_and_a_restricted_key_lands_in_the_organization() {
    let app = spawn_app().await;
    let token = widget_token(&app, "org_9").await;
    let auth = format!("Bearer {token}");
    // No Origin (not from the host page): refused.
    let response = call(
        &app,
        "POST",
        "/api/connections/stripe/authorize",
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // An unknown flow's page: an error page, no cookie.
    let response = call(&app, "GET", "/widget/authorize?flow=nope", &[], None).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("set-cookie").is_none());

    let key = app
        .emulator
        .create_restricted_key(
            "acct_1GlobexTest",
            &backend::emulator::RESTRICTED_KEY_PERMISSIONS,
        )
        .unwrap();
    let response = call(
        &app,
        "POST",
        "/api/connections/stripe/key",
        &[("authorization", &auth), ("origin", HOST)],
        Some(json!({"key": key})),
    )
    .await;
    let (status, connection) = to_json(response).await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    assert_eq!(connection["organization"], "Initech");
}

#[tokio::test]
async fn a_blocked_popup_falls_back_to_a_full_page_flow_that_returns_to_the_host_page() {
    let app = spawn_app().await;
    let token = widget_token(&app, "org_9").await;
    let auth = format!("Bearer {token}");
    for foreign in [
        "https://evil.example/steal",
        "javascript:alert(1)",
        "https://user@host.example/",
        "/relative",
    ] {
        let (status, _) = to_json(
            call(
                &app,
                "POST",
                "/api/connections/stripe/authorize",
                &[("authorization", &auth), ("origin", HOST)],
                Some(json!({ "return_to": foreign })),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{foreign}");
    }
    let (status, body) = to_json(
        call(
            &app,
            "POST",
            "/api/connections/stripe/authorize",
            &[("authorization", &auth), ("origin", HOST)],
            Some(json!({ "return_to": "https://host.example/admin?tab=data" })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["authorize_url"].as_str().unwrap();
    assert!(
        body.get("flow_proof").is_none(),
        "a full-page flow is confirmed, not proven"
    );
    let (cookie, authorize_query) = open_popup(&app, url, None).await;
    let callback = app.approve(&authorize_query).await;
    let response = call(&app, "GET", &callback, &[("cookie", &cookie)], None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(back.origin().ascii_serialization(), HOST);
    assert_eq!(back.path(), "/admin");
    let query: std::collections::HashMap<String, String> =
        back.query_pairs().into_owned().collect();
    assert_eq!(query["tab"], "data", "the host page's own query is kept");
    assert_eq!(query["stripe_connections"], "connect");
    assert_eq!(query["account_name"], "Acme Test Ltd");
    assert_eq!(app.connection_count().await, 1);
    assert!(query["connection_id"].parse::<i64>().unwrap() > 0);
}

#[tokio::test]
async fn a_widget_replaces_the_key_of_its_own_connections_only() {
    let app = spawn_app().await;
    let token = widget_token(&app, "org_9").await;
    let auth = format!("Bearer {token}");
    let permissions = &backend::emulator::RESTRICTED_KEY_PERMISSIONS;
    let key = || {
        app.emulator
            .create_restricted_key("acct_1GlobexTest", permissions)
            .unwrap()
    };
    let (status, connection) = to_json(
        call(
            &app,
            "POST",
            "/api/connections/stripe/key",
            &[("authorization", &auth), ("origin", HOST)],
            Some(json!({ "key": key() })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    let id = connection["id"].as_i64().unwrap();
    let (status, replaced) = to_json(
        call(
            &app,
            "POST",
            &format!("/api/connections/{id}/key"),
            &[("authorization", &auth), ("origin", HOST)],
            Some(json!({ "key": key() })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["id"], id);
    // The app's own connection is not the widget's to touch.
    let admins = app.connect().await;
    let response = call(
        &app,
        "POST",
        &format!("/api/connections/{admins}/key"),
        &[("authorization", &auth), ("origin", HOST)],
        Some(json!({ "key": key() })),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn revoking_the_key_ends_its_flows_under_way_and_widgets_never_learn_who_else_acted() {
    let app = spawn_app().await;
    let token = widget_token(&app, "org_9").await;
    let (url, _) = start(&app, &token).await;
    let (status, keys) = app.json("GET", "/api/host-keys").await;
    assert_eq!(status, StatusCode::OK);
    let key_id = keys[0]["id"].as_i64().unwrap();
    let response = app
        .send(
            "DELETE",
            &format!("/api/host-keys/{key_id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = reopen(&app, &url).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "the flow ended with its key"
    );

    // Another organization's widget connects; the Admin tests it; the widget sees its own name
    // and `admin`, never the Admin's email.
    let token = widget_token(&app, "org_10").await;
    let (url, proof) = start(&app, &token).await;
    let (cookie, authorize_query) = open_popup(&app, &url, proof.as_deref()).await;
    let callback = app.approve(&authorize_query).await;
    let (_, result) =
        result_of(call(&app, "GET", &callback, &[("cookie", &cookie)], None).await).await;
    let id = result["connection_id"].as_i64().unwrap();
    let (status, _) = app
        .json("POST", &format!("/api/connections/{id}/test"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let auth = format!("Bearer {token}");
    let (_, detail) = to_json(
        call(
            &app,
            "GET",
            &format!("/api/connections/{id}"),
            &[("authorization", &auth), ("origin", HOST)],
            None,
        )
        .await,
    )
    .await;
    let actors: Vec<&str> = detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["actor"].as_str().unwrap())
        .collect();
    assert!(
        actors.contains(&"widget:peter@initech.example"),
        "{actors:?}"
    );
    assert!(actors.contains(&"admin"), "{actors:?}");
    assert!(!detail.to_string().contains(ADMIN_EMAIL), "{detail}");
}

#[tokio::test]
async fn a_forwarded_flow_link_connects_nothing_without_the_widgets_proof() {
    let app = spawn_app().await;
    let token = widget_token(&app, "org_9").await;
    let (url, proof) = start(&app, &token).await;
    let proof = proof.expect("a popup flow has a proof");
    assert!(!url.contains(&proof), "the proof is never in the URL");
    let flow = url.split("flow=").nth(1).unwrap();
    // Someone the link was forwarded to: no proof, a wrong one, or a form from another site.
    for form in [format!("flow={flow}"), format!("flow={flow}&proof=guess")] {
        let response = go(&app, &form, PUBLIC_URL).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{form}");
        assert!(response.headers().get("set-cookie").is_none());
    }
    let response = go(
        &app,
        &format!("flow={flow}&proof={proof}"),
        "https://evil.example",
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // The widget's own popup still goes on (the refused attempts did not use the flow up).
    let (cookie, authorize_query) = open_popup(&app, &url, Some(&proof)).await;
    let callback = app.approve(&authorize_query).await;
    let (_, result) =
        result_of(call(&app, "GET", &callback, &[("cookie", &cookie)], None).await).await;
    assert_eq!(result["type"], "connect", "{result}");
    let script = call(&app, "GET", "/widget/authorize.js", &[], None).await;
    let script = body_string(script).await;
    assert!(script.contains("window.opener") && script.contains("ev.origin !== origin"));
}

#[tokio::test]
async fn a_browser_posting_with_origin_null_is_judged_by_sec_fetch_site() {
    let app = spawn_app().await;
    let token = widget_token(&app, "org_9").await;
    let (url, proof) = start(&app, &token).await;
    let flow = url.split("flow=").nth(1).unwrap();
    let form = format!("flow={flow}&proof={}", proof.unwrap());
    let post = |site: &'static str| {
        Request::post("/widget/authorize")
            .header("origin", "null")
            .header("sec-fetch-site", site)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.clone()))
            .unwrap()
    };
    let response = app
        .router
        .clone()
        .oneshot(post("cross-site"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .router
        .clone()
        .oneshot(post("same-origin"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_apps_install_from_another_organization_keeps_the_connection_alive_and_unnamed() {
    let app = spawn_apps_app().await;
    let admins = app.connect_app().await;
    let token = widget_token(&app, "org_9").await;
    let (url, proof) = start(&app, &token).await;
    let (cookie, authorize_query) = open_popup(&app, &url, proof.as_deref()).await;
    // The same account installs the app again, from the other organization's widget.
    let callback = app.install(&authorize_query).await;
    let (_, result) =
        result_of(call(&app, "GET", &callback, &[("cookie", &cookie)], None).await).await;
    assert_eq!(result["code"], "account_elsewhere", "{result}");
    // Stripe replaced the old install's tokens: the app's connection took the new ones and works,
    // and its log does not name the other organization's user.
    let (status, tested) = app
        .json("POST", &format!("/api/connections/{admins}/test"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tested["status"], "success", "{tested}");
    let (_, detail) = app.json("GET", &format!("/api/connections/{admins}")).await;
    assert!(
        !detail.to_string().contains("peter@initech.example"),
        "{detail}"
    );
}

/// The sources of `directive` in a Content-Security-Policy.
fn sources<'a>(policy: &'a str, directive: &str) -> Vec<&'a str> {
    policy
        .split(';')
        .map(str::split_whitespace)
        .find_map(|mut words| (words.next() == Some(directive)).then(|| words.collect::<Vec<_>>()))
        .unwrap_or_else(|| panic!("no {directive} in {policy}"))
}

/// The popup page's form may go to our origin and on to the configured Stripe's authorize page —
/// here a Stripe on `http://127.0.0.1:PORT`, as a developer's local one is — exactly: the origin
/// the form's answer redirects to, and nothing broader (no `https:`, no other Stripe).
#[tokio::test]
async fn the_popup_pages_form_may_go_to_the_configured_stripe_and_nowhere_else() {
    for app in [spawn_app().await, spawn_apps_app().await] {
        let token = widget_token(&app, "org_9").await;
        let (url, proof) = start(&app, &token).await;
        let page = reopen(&app, &url).await;
        assert_eq!(page.status(), StatusCode::OK);
        let policy = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let flow = url.split("flow=").nth(1).unwrap();
        let response = go(
            &app,
            &format!("flow={flow}&proof={}", proof.unwrap()),
            PUBLIC_URL,
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let stripe = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(stripe.scheme(), "http", "the emulator on a socket");
        assert_eq!(
            sources(&policy, "form-action"),
            ["'self'", stripe.origin().ascii_serialization().as_str()],
            "{policy}"
        );
    }
}

/// The origin is the configured flow's — the Apps install link's or Connect's authorize page's,
/// each on its own host here — worked out when the router is built.
#[tokio::test]
async fn the_popup_pages_policy_names_the_configured_flows_authorize_origin() {
    let app = spawn_app().await;
    let settings = backend::config::StripeSettings {
        client_id: CLIENT_ID.into(),
        secret_key: backend::config::Secret::new(SECRET_KEY),
        connect_url: url::Url::parse("http://127.0.0.1:12111/").unwrap(),
        api_url: url::Url::parse("http://127.0.0.1:12111/").unwrap(),
        authorize_url: url::Url::parse(
            "https://marketplace.stripe.com/oauth/v2/chnlink_61abc/authorize",
        )
        .unwrap(),
    };
    for (kind, origin) in [
        (shared::AuthKind::Apps, "https://marketplace.stripe.com"),
        (shared::AuthKind::Connect, "http://127.0.0.1:12111"),
    ] {
        let mut state = app.state.clone();
        state.flows = std::sync::Arc::new(
            backend::startup::flows(
                &settings,
                &settings.connect_url,
                kind,
                &url::Url::parse(REDIRECT_URI).unwrap(),
            )
            .unwrap(),
        );
        let router = backend::app::app(state, app.dir.path(), None);
        let token = widget_token(&app, "org_9").await;
        let (url, _) = start(&app, &token).await;
        let request = Request::get(url.strip_prefix(PUBLIC_URL).unwrap())
            .body(Body::empty())
            .unwrap();
        let page = router.oneshot(request).await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let policy = page.headers()["content-security-policy"].to_str().unwrap();
        assert_eq!(
            sources(policy, "form-action"),
            ["'self'", origin],
            "{kind:?}"
        );
    }
}
