//! Sign-in, sessions, roles, CSRF and throttling, through the router.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend::args;
use serde_json::json;
use support::*;
use tower::ServiceExt;

/// `GET /api/auth/me` with a session cookie: 200 while the session lives, 401 after.
async fn me_status(app: &TestApp, cookie: &str) -> StatusCode {
    app.send("GET", "/api/auth/me", Some(cookie), None)
        .await
        .status()
}

/// Everything a refused call could have changed.
async fn snapshot(app: &TestApp) -> (i64, i64, i64, String) {
    let users: i64 = app
        .state
        .pool
        .scalar_one("SELECT COUNT(*) FROM users", args![])
        .await
        .unwrap();
    let roles: Vec<(String, bool)> = app
        .state
        .pool
        .fetch_all("SELECT role, disabled FROM users ORDER BY id", args![])
        .await
        .unwrap();
    let roles = roles
        .iter()
        .map(|(role, disabled)| format!("{role}{}", u8::from(*disabled)))
        .collect::<Vec<_>>()
        .join(",");
    (
        app.connection_count().await,
        app.state_count().await,
        users,
        roles,
    )
}

#[tokio::test]
async fn every_route_answers_each_role_as_documented() {
    let app = spawn_app().await;
    let standard = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    let reader = app.sign_in(READ_ONLY_EMAIL, USER_PASSWORD).await;
    let new_user = json!({"email": "new@bi.test", "display_name": "New", "role": "standard"});
    let patch = json!({"role": "admin"});
    // (method, path, body, expected for: signed out, read-only, standard, admin)
    let routes: Vec<(&str, &str, Option<serde_json::Value>, [u16; 4])> = vec![
        ("GET", "/api/health", None, [200, 200, 200, 200]),
        ("GET", "/api/meta", None, [200, 200, 200, 200]),
        ("GET", "/api/auth/me", None, [401, 200, 200, 200]),
        ("GET", "/api/connections", None, [401, 403, 403, 200]),
        (
            "GET",
            "/api/connections/callback-notice",
            None,
            [401, 403, 403, 200],
        ),
        (
            "POST",
            "/api/connections/stripe/authorize",
            None,
            [401, 403, 403, 200],
        ),
        (
            "POST",
            "/api/connections/stripe/key",
            Some(json!({"key": "sk_test_FullAccessRefused01"})),
            [401, 403, 403, 422],
        ),
        (
            "POST",
            "/api/connections/77/key",
            Some(json!({"key": "rk_test_NoSuchConnection01"})),
            [401, 403, 403, 404],
        ),
        ("GET", "/api/users", None, [401, 403, 403, 200]),
        ("POST", "/api/users", Some(new_user), [401, 403, 403, 201]),
        ("PATCH", "/api/users/2", Some(patch), [401, 403, 403, 200]),
    ];
    for (method, path, body, expected) in routes {
        for (who, cookie) in [
            (0, None),
            (1, Some(reader.as_str())),
            (2, Some(standard.as_str())),
            (3, Some(app.admin.as_str())),
        ] {
            let before = snapshot(&app).await;
            let response = app.send(method, path, cookie, body.clone()).await;
            let status = response.status().as_u16();
            assert_eq!(status, expected[who], "{method} {path} as role #{who}");
            if status >= 400 {
                let (_, err) = to_json(response).await;
                assert!(
                    err["error"].is_string() && err["message"].is_string(),
                    "{err}"
                );
                assert_eq!(
                    snapshot(&app).await,
                    before,
                    "{method} {path} changed something"
                );
            }
        }
    }
    // The OAuth callback: a browser navigation, so a redirect with a reason, never a token call.
    for cookie in [None, Some(reader.as_str()), Some(standard.as_str())] {
        // Each refused call uses up its state, so each gets a fresh flow.
        let callback = app.approve(&app.start().await).await;
        let response = app.send("GET", &callback, cookie, None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()["location"],
            "/admin/connections?error=session_mismatch"
        );
    }
    assert_eq!(app.emulator.token_requests(), 0);
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn a_callback_in_another_admin_session_is_refused_without_calling_stripe() {
    let app = spawn_app().await;
    let other_admin_session = app.sign_in(ADMIN_EMAIL, USER_PASSWORD).await;
    let callback = app.approve(&app.start().await).await;
    let response = app
        .send("GET", &callback, Some(&other_admin_session), None)
        .await;
    assert_eq!(
        response.headers()["location"],
        "/admin/connections?error=session_mismatch"
    );
    assert_eq!(app.emulator.token_requests(), 0);
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn sign_in_issues_a_new_session_id_each_time() {
    let app = spawn_app().await;
    let first = app.admin.clone();
    let response = app
        .sign_in_attempt(Some(&first), ADMIN_EMAIL, USER_PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = session_cookie(&response).unwrap();
    assert_ne!(first, second, "the session id changes at sign-in");
    assert_eq!(me_status(&app, &first).await, 401);
    assert_eq!(me_status(&app, &second).await, 200);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    let response = app.sign_in_attempt(None, ADMIN_EMAIL, USER_PASSWORD).await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http PUBLIC_URL: {cookie}"
    );
}

#[tokio::test]
async fn sign_out_really_ends_the_session() {
    let app = spawn_app().await;
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    assert_eq!(
        app.send("POST", "/api/auth/sign-out", Some(&cookie), None)
            .await
            .status(),
        204
    );
    assert_eq!(me_status(&app, &cookie).await, 401);
}

#[tokio::test]
async fn sessions_expire_when_idle_and_absolutely() {
    let app = spawn_app().await;
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    app.state
        .clock
        .advance(backend::session::IDLE_TIMEOUT_SECS - 120);
    assert_eq!(me_status(&app, &cookie).await, 200);
    app.state
        .clock
        .advance(backend::session::IDLE_TIMEOUT_SECS - 120);
    assert_eq!(
        me_status(&app, &cookie).await,
        200,
        "activity keeps an idle session alive"
    );
    app.state.clock.advance(backend::session::IDLE_TIMEOUT_SECS);
    assert_eq!(me_status(&app, &cookie).await, 401);

    let busy = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    let step = backend::session::IDLE_TIMEOUT_SECS / 2;
    let mut elapsed = 0;
    while elapsed + step < backend::session::ABSOLUTE_TIMEOUT_SECS {
        app.state.clock.advance(step);
        elapsed += step;
        assert_eq!(me_status(&app, &busy).await, 200);
    }
    app.state.clock.advance(step);
    assert_eq!(
        me_status(&app, &busy).await,
        401,
        "however active, a session ends after the absolute timeout"
    );
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let app = spawn_app().await;
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    let TestApp { emulator, dir, .. } = app;
    let url = url::Url::parse("http://127.0.0.1:9/").unwrap();
    let restarted = build_app(emulator, url.clone(), url, SECRET_KEY, dir, false).await;
    let (status, me) = to_json(
        restarted
            .send("GET", "/api/auth/me", Some(&cookie), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], STANDARD_EMAIL);
}

#[tokio::test]
async fn a_disabled_user_is_signed_out_and_cannot_sign_in() {
    let app = spawn_app().await;
    let cookie = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    let response = app
        .send(
            "PATCH",
            "/api/users/2",
            Some(&app.admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(me_status(&app, &cookie).await, 401);
    let response = app
        .sign_in_attempt(None, STANDARD_EMAIL, USER_PASSWORD)
        .await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_get_the_same_answer() {
    let app = spawn_app().await;
    let wrong = to_json(
        app.sign_in_attempt(None, ADMIN_EMAIL, "not the password")
            .await,
    )
    .await;
    let unknown = to_json(
        app.sign_in_attempt(None, "nobody@bi.test", "not the password")
            .await,
    )
    .await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_account_with_retry_after() {
    let app = spawn_app().await;
    for email in [STANDARD_EMAIL, "nobody@bi.test"] {
        for _ in 0..backend::auth::ACCOUNT_FAILURE_LIMIT {
            let response = app.sign_in_attempt(None, email, "wrong-password").await;
            assert_eq!(response.status(), 401);
        }
        // Even the right password is refused now, with the same answer for both emails.
        let response = app.sign_in_attempt(None, email, USER_PASSWORD).await;
        assert_eq!(response.status(), 429, "{email}");
        let retry: i64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry > 0 && retry <= backend::auth::FAILURE_WINDOW_SECS);
        let (_, body) = to_json(response).await;
        assert_eq!(body["error"], "rate_limited");
        assert_eq!(
            body["retry_after"], retry,
            "the wait, for the browser to word"
        );
        assert!(body["message"].as_str().unwrap().contains("Try again in"));
    }
    // After the window the account can sign in again.
    app.state.clock.advance(backend::auth::FAILURE_WINDOW_SECS);
    app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_client_address() {
    let app = spawn_app().await;
    let attempt = |email: String, password: &'static str| {
        let mut request = Request::post("/api/auth/sign-in")
            .header("origin", PUBLIC_URL)
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"email": email, "password": password}).to_string(),
            ))
            .unwrap();
        request.extensions_mut().insert(axum::extract::ConnectInfo(
            "203.0.113.9:5000".parse::<std::net::SocketAddr>().unwrap(),
        ));
        app.router.clone().oneshot(request)
    };
    for i in 0..backend::auth::CLIENT_FAILURE_LIMIT {
        let response = attempt(format!("guess{i}@bi.test"), "wrong-password")
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let response = attempt(ADMIN_EMAIL.into(), "a long enough password")
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    // Another address is not affected.
    app.sign_in(ADMIN_EMAIL, USER_PASSWORD).await;
}

#[tokio::test]
async fn an_attackers_failures_never_lock_the_rightful_user_out() {
    let app = spawn_app().await;
    let from = |address: &'static str, password: &'static str| {
        let mut request = Request::post("/api/auth/sign-in")
            .header("origin", PUBLIC_URL)
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"email": ADMIN_EMAIL, "password": password}).to_string(),
            ))
            .unwrap();
        request.extensions_mut().insert(axum::extract::ConnectInfo(
            address.parse::<std::net::SocketAddr>().unwrap(),
        ));
        app.router.clone().oneshot(request)
    };
    // The attacker guesses until refused, and keeps trying.
    for _ in 0..(backend::auth::ACCOUNT_FAILURE_LIMIT + 3) {
        let response = from("198.51.100.7:4000", "guess-guess-guess")
            .await
            .unwrap();
        assert!([401, 429].contains(&response.status().as_u16()));
    }
    assert_eq!(
        from("198.51.100.7:4000", "a long enough password")
            .await
            .unwrap()
            .status(),
        429,
        "the attacker's address is stopped, even with the right password"
    );
    // The Admin, from their own address, gets in at once.
    assert_eq!(
        from("192.0.2.10:5000", "a long enough password")
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn state_changing_requests_from_another_origin_are_refused() {
    let app = spawn_app().await;
    for (origin, fetch_site) in [
        (Some("https://evil.example"), None),
        (Some("null"), None),
        (None, Some("cross-site")),
        (None, None),
    ] {
        let before = snapshot(&app).await;
        let mut request =
            Request::post("/api/connections/stripe/authorize").header("cookie", &app.admin);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        let response = app
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{origin:?} {fetch_site:?}");
        assert_eq!(snapshot(&app).await, before);
    }
    // A same-origin fetch without Origin (Sec-Fetch-Site: same-origin) is fine.
    let request = Request::post("/api/connections/stripe/authorize")
        .header("cookie", &app.admin)
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.router.clone().oneshot(request).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn admins_manage_users_but_never_remove_the_last_admin() {
    let app = spawn_app().await;
    let (status, created) = to_json(
        app.send(
            "POST",
            "/api/users",
            Some(&app.admin),
            Some(json!({"email": "New.Person@BI.test", "display_name": "New Person", "role": "read_only"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["user"]["email"], "new.person@bi.test");
    let otp = created["one_time_password"].as_str().unwrap().to_owned();
    app.sign_in("new.person@bi.test", Box::leak(otp.into_boxed_str()))
        .await;
    // Emails are unique case-insensitively.
    let response = app
        .send(
            "POST",
            "/api/users",
            Some(&app.admin),
            Some(json!({"email": "NEW.person@bi.test", "display_name": "", "role": "admin"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    // The case is a code the browser words in the user's language.
    assert_eq!(to_json(response).await.1["reason"], "duplicate_email");
    // Bad input gets a clear error.
    let (status, err) = to_json(
        app.send(
            "POST",
            "/api/users",
            Some(&app.admin),
            Some(json!({"email": "x", "display_name": "", "role": "admin"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(err["message"].as_str().unwrap().contains("email"));
    assert_eq!(err["reason"], "invalid_email");
    let (status, _) = to_json(
        app.send(
            "POST",
            "/api/users",
            Some(&app.admin),
            Some(json!({"email": "a@b.co", "role": "superuser"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    // The only Admin (id 1) cannot demote or disable themselves.
    for change in [json!({"role": "standard"}), json!({"disabled": true})] {
        let response = app
            .send("PATCH", "/api/users/1", Some(&app.admin), Some(change))
            .await;
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(to_json(response).await.1["reason"], "last_admin");
    }
    // With a second Admin, the first can step down.
    let response = app
        .send(
            "PATCH",
            "/api/users/2",
            Some(&app.admin),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(response.status(), 200);
    let response = app
        .send(
            "PATCH",
            "/api/users/1",
            Some(&app.admin),
            Some(json!({"role": "standard"})),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.send("GET", "/api/users", Some(&app.admin), None)
            .await
            .status(),
        401,
        "a role change ends the user's sessions"
    );
    let again = app.sign_in(ADMIN_EMAIL, USER_PASSWORD).await;
    assert_eq!(
        app.send("GET", "/api/users", Some(&again), None)
            .await
            .status(),
        403,
        "signed in again, as a Standard user"
    );
}

#[tokio::test]
async fn responses_carry_a_content_security_policy_that_lets_the_wasm_app_run() {
    let app = spawn_app().await;
    let response = app.send("GET", "/admin/connections", None, None).await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
}

#[test]
fn the_csp_allows_exactly_trunks_inline_loader() {
    let html =
        "<script type=\"module\">import init from '/a.js';</script><script src=\"/x.js\"></script>";
    let csp = backend::app::content_security_policy(html);
    // sha256 of the inline script's text, base64.
    use base64::Engine;
    use sha2::Digest;
    let expected = base64::engine::general_purpose::STANDARD
        .encode(sha2::Sha256::digest(b"import init from '/a.js';"));
    assert!(csp.contains(&format!("'sha256-{expected}'")), "{csp}");
    assert_eq!(
        csp.matches("sha256-").count(),
        1,
        "only inline scripts are hashed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_parallel_guesses_cannot_slip_under_the_limit() {
    let app = spawn_app().await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let router = app.router.clone();
        set.spawn(async move {
            let request = Request::post("/api/auth/sign-in")
                .header("origin", PUBLIC_URL)
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"email": STANDARD_EMAIL, "password": "wrong-password"}).to_string(),
                ))
                .unwrap();
            router.oneshot(request).await.unwrap().status().as_u16()
        });
    }
    let statuses: Vec<u16> = set.join_all().await;
    let checked = statuses.iter().filter(|s| **s == 401).count() as i64;
    assert!(
        checked <= backend::auth::ACCOUNT_FAILURE_LIMIT,
        "at most {} guesses may be checked, {checked} were: {statuses:?}",
        backend::auth::ACCOUNT_FAILURE_LIMIT
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_role_change_a_re_enabling_and_a_password_reset_end_the_users_old_sessions() {
    let app = spawn_app().await;
    // Role change: the old session is over; a new sign-in works with the new role.
    let old = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    let other_device = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    let patch =
        |body: serde_json::Value| app.send("PATCH", "/api/users/2", Some(&app.admin), Some(body));
    assert_eq!(patch(json!({"role": "read_only"})).await.status(), 200);
    assert_eq!(me_status(&app, &old).await, 401);
    assert_eq!(
        me_status(&app, &other_device).await,
        401,
        "every session of the user"
    );
    assert_eq!(
        me_status(&app, &app.admin).await,
        200,
        "other users are untouched"
    );
    let fresh = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    assert_eq!(me_status(&app, &fresh).await, 200);
    // A no-op change ends nothing.
    assert_eq!(patch(json!({"role": "read_only"})).await.status(), 200);
    assert_eq!(me_status(&app, &fresh).await, 200);
    // A password reset (the operator's command does the same update).
    let hash = backend::users::hash_password("another long password").unwrap();
    assert!(
        backend::users::set_password(&app.state.pool, STANDARD_EMAIL, &hash)
            .await
            .unwrap()
    );
    assert_eq!(me_status(&app, &fresh).await, 401);
    assert_eq!(
        app.sign_in_attempt(None, STANDARD_EMAIL, USER_PASSWORD)
            .await
            .status(),
        401
    );
    let after = app.sign_in(STANDARD_EMAIL, "another long password").await;
    assert_eq!(me_status(&app, &after).await, 200);
}

#[tokio::test]
async fn a_sign_in_on_a_used_browser_keeps_nothing_of_the_previous_user() {
    let app = spawn_app().await;
    // The Admin starts an OAuth flow: its session holds the flow's binding.
    let query = app.start().await;
    let callback = app.approve(&query).await;
    // Someone else signs in on the same browser (same cookie) before the callback returns.
    let response = app
        .sign_in_attempt(Some(&app.admin), READ_ONLY_EMAIL, USER_PASSWORD)
        .await;
    assert_eq!(response.status(), 200);
    let cookie = session_cookie(&response).unwrap();
    let response = app.send("GET", &callback, Some(&cookie), None).await;
    assert_eq!(
        response.headers()["location"],
        "/admin/connections?error=session_mismatch",
        "the Admin's flow does not belong to the new session"
    );
    assert_eq!(app.emulator.token_requests(), 0);
}

#[tokio::test]
async fn each_user_keeps_the_language_they_pick_and_bad_choices_change_nothing() {
    let app = spawn_app().await;
    let reader = app.sign_in(READ_ONLY_EMAIL, USER_PASSWORD).await;
    let me = |cookie: String| {
        let app = &app;
        async move { to_json(app.send("GET", "/api/auth/me", Some(&cookie), None).await).await }
    };
    assert_eq!(
        me(reader.clone()).await.1["locale"],
        serde_json::Value::Null
    );
    // Any role picks its own language; the next request (reused snapshot or not) shows it.
    let (status, user) = to_json(
        app.send(
            "PUT",
            "/api/auth/me/locale",
            Some(&reader),
            Some(json!({"locale": "it"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["locale"], "it");
    assert_eq!(me(reader.clone()).await.1["locale"], "it");
    assert_eq!(
        me(app.admin.clone()).await.1["locale"],
        serde_json::Value::Null,
        "the Admin's own stays unset"
    );
    // A language the UI does not speak, or not a language: refused with a code, nothing changed.
    for body in [json!({"locale": "fr"}), json!({"locale": 3}), json!("it")] {
        let (status, answer) = to_json(
            app.send(
                "PUT",
                "/api/auth/me/locale",
                Some(&reader),
                Some(body.clone()),
            )
            .await,
        )
        .await;
        assert!(status.is_client_error(), "{body}: {status}");
        assert!(answer["error"].is_string(), "{body}: {answer}");
        assert_eq!(me(reader.clone()).await.1["locale"], "it", "{body}");
    }
    // `null` follows the browser again; without a session nothing is stored.
    let (status, user) = to_json(
        app.send(
            "PUT",
            "/api/auth/me/locale",
            Some(&reader),
            Some(json!({"locale": null})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, user["locale"].clone()),
        (StatusCode::OK, serde_json::Value::Null)
    );
    let anonymous = app
        .send(
            "PUT",
            "/api/auth/me/locale",
            None,
            Some(json!({"locale": "it"})),
        )
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
