//! Shared test fixtures: an emulator on a real socket, and the app wired to it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod key_connection;
pub mod localstripe;
pub mod postgres;
pub mod stripe_like;
pub mod sync;
pub mod warehouse;

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use backend::args;
use backend::config::{join_path, Config};
use backend::emulator::{DemoAccount, Emulator, EmulatorConfig};
use backend::startup::Application;
use backend::state::AppState;
use base64::Engine;
use http_body_util::BodyExt;
use shared::AuthKind;
use tower::ServiceExt;
use url::Url;

pub const CLIENT_ID: &str = "ca_TestPlatform01";
pub const SECRET_KEY: &str = "sk_test_PlatformSecret0123456789";
pub const PUBLIC_URL: &str = "http://bi.test";
pub const REDIRECT_URI: &str = "http://bi.test/oauth/stripe/callback";
pub const EMAIL: &str = "owner@acme.test";
pub const WEBHOOK_SECRET: &str = "whsec_test_router";
pub const OTHER_EMAIL: &str = "owner@globex.test";
pub const PASSWORD: &str = "correct horse";
/// The Stripe App's External-test install link in `emulator_config()`.
pub const INSTALL_LINK: &str = "chnlink_test";

pub fn emulator_config() -> EmulatorConfig {
    EmulatorConfig {
        client_id: CLIENT_ID.into(),
        secret_key: SECRET_KEY.into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        accounts: vec![
            DemoAccount {
                id: "acct_1AcmeTest".into(),
                email: EMAIL.into(),
                password: PASSWORD.into(),
                display_name: "Acme Test Ltd".into(),
            },
            DemoAccount {
                id: "acct_1GlobexTest".into(),
                email: OTHER_EMAIL.into(),
                password: PASSWORD.into(),
                display_name: "Globex Test".into(),
            },
        ],
        webhook: None,
        install_link: INSTALL_LINK.into(),
        access_token_ttl_secs: 3600,
    }
}

/// Serves the emulator on 127.0.0.1:<free port>; returns it and its base URL.
pub async fn spawn_emulator() -> (Emulator, Url) {
    let emulator = Emulator::new(emulator_config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = emulator.router();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (emulator, Url::parse(&format!("http://{addr}/")).unwrap())
}

/// The app on a real socket, and an emulator (on its own) that delivers its events there as signed
/// webhooks: the app and the emulator's base URL.
pub async fn spawn_app_receiving_webhooks() -> (TestApp, Url) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = emulator_config();
    config.webhook = Some((
        format!("http://{addr}/webhooks/stripe"),
        WEBHOOK_SECRET.into(),
    ));
    let emulator = Emulator::new(config);
    let stripe_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stripe_addr = stripe_listener.local_addr().unwrap();
    let stripe_router = emulator.router();
    tokio::spawn(async move { axum::serve(stripe_listener, stripe_router).await.unwrap() });
    let url = Url::parse(&format!("http://{stripe_addr}/")).unwrap();
    let app = spawn_app_with(emulator, url.clone(), url.clone(), SECRET_KEY).await;
    let served = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, served).await.unwrap() });
    (app, url)
}

pub const ADMIN_EMAIL: &str = "admin@bi.test";
pub const STANDARD_EMAIL: &str = "standard@bi.test";
pub const READ_ONLY_EMAIL: &str = "reader@bi.test";
pub const USER_PASSWORD: &str = "a long enough password";

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub emulator: Emulator,
    pub stripe_url: Url,
    /// Session cookie of the signed-in Admin (`name=value`).
    pub admin: String,
    pub dir: tempfile::TempDir,
    /// The configuration it was built from (another instance is built from it again).
    pub config: Config,
}

/// The database of a test app whose files live in `dir`: SQLite in `dir`, or — when
/// `BACKEND_TEST_DATABASE=postgres` and `TEST_POSTGRES_URL` names a server (`scripts/test.sh` runs
/// the suite once more that way) — a PostgreSQL database of its own, named after `dir` (so a
/// restart over the same `dir` finds the same database).
pub async fn test_database_url(dir: &std::path::Path) -> String {
    if std::env::var("BACKEND_TEST_DATABASE").as_deref() != Ok("postgres") {
        return format!("sqlite://{}/test.db", dir.display());
    }
    let server = std::env::var("TEST_POSTGRES_URL")
        .expect("BACKEND_TEST_DATABASE=postgres needs TEST_POSTGRES_URL (scripts/postgres.sh)");
    postgres::database_for(&server, "t", dir).await
}

/// The app with Stripe Apps OAuth (the default flow), against an emulator on a real socket.
pub async fn spawn_apps_app() -> TestApp {
    let (emulator, stripe_url) = spawn_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    build_app_for(
        AuthKind::Apps,
        emulator,
        stripe_url.clone(),
        stripe_url,
        SECRET_KEY,
        dir,
        true,
    )
    .await
}

/// The app with classic Connect OAuth, against an emulator on a real socket.
pub async fn spawn_app() -> TestApp {
    let (emulator, stripe_url) = spawn_emulator().await;
    spawn_app_with(emulator, stripe_url.clone(), stripe_url, SECRET_KEY).await
}

/// The app pointed at `connect_url`/`api_url` with the given platform secret.
pub async fn spawn_app_with(
    emulator: Emulator,
    connect_url: Url,
    api_url: Url,
    secret: &str,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    build_app(emulator, connect_url, api_url, secret, dir, true).await
}

/// The app over the database in `dir`; a second call over the same `dir` is a restart.
pub async fn build_app(
    emulator: Emulator,
    connect_url: Url,
    api_url: Url,
    secret: &str,
    dir: tempfile::TempDir,
    seed_users: bool,
) -> TestApp {
    build_app_for(
        AuthKind::Connect,
        emulator,
        connect_url,
        api_url,
        secret,
        dir,
        seed_users,
    )
    .await
}

/// The product's configuration for a test app over `dir`, its Stripe at `connect_url`/`api_url`
/// (what an operator would set in the environment), with `extra` variables on top.
pub async fn test_config(
    oauth: AuthKind,
    connect_url: &Url,
    api_url: &Url,
    secret: &str,
    dir: &std::path::Path,
    extra: &[(&str, String)],
) -> Config {
    let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let oauth = match oauth {
        AuthKind::Apps => "apps",
        _ => "connect",
    };
    let mut env: HashMap<String, String> = [
        ("BIND", "127.0.0.1:0".to_owned()),
        ("PUBLIC_URL", PUBLIC_URL.to_owned()),
        ("DATA_DIR", dir.display().to_string()),
        ("DATABASE_URL", test_database_url(dir).await),
        ("STATIC_DIR", dir.display().to_string()),
        ("STRIPE_CLIENT_ID", CLIENT_ID.to_owned()),
        ("STRIPE_SECRET_KEY", secret.to_owned()),
        ("STRIPE_CONNECT_URL", connect_url.to_string()),
        ("STRIPE_API_URL", api_url.to_string()),
        (
            "STRIPE_AUTHORIZE_URL",
            join_path(connect_url, "/oauth/v2/authorize").to_string(),
        ),
        ("STRIPE_OAUTH", oauth.to_owned()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ("ENCRYPTION_KEY", key),
        ("HEALTH_CHECK_INTERVAL", "1h".to_owned()),
        ("SYNC_INTERVAL", "1h".to_owned()),
        // The rate limit is lifted here; tests that want it set their own.
        ("SYNC_RATE_LIMIT", "10000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let mut config = Config::from_lookup(|name| env.get(name).cloned()).unwrap();
    // Retries wait milliseconds here, not seconds.
    config.stripe_retry = (
        std::time::Duration::from_millis(2),
        std::time::Duration::from_millis(20),
    );
    config
}

/// The app with the given OAuth flow over the database in `dir`.
pub async fn build_app_for(
    oauth: AuthKind,
    emulator: Emulator,
    connect_url: Url,
    api_url: Url,
    secret: &str,
    dir: tempfile::TempDir,
    seed_users: bool,
) -> TestApp {
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>spa</title>",
    )
    .unwrap();
    let config = test_config(oauth, &connect_url, &api_url, secret, dir.path(), &[]).await;
    build_app_from(config, emulator, dir, seed_users).await
}

/// A new app with its own emulator and database, the given OAuth flow, and `extra` environment
/// variables on top of [`test_config`]'s.
pub async fn spawn_app_env(oauth: AuthKind, extra: &[(&str, String)]) -> TestApp {
    let (emulator, stripe_url) = spawn_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>spa</title>",
    )
    .unwrap();
    let config = test_config(
        oauth,
        &stripe_url,
        &stripe_url,
        SECRET_KEY,
        dir.path(),
        extra,
    )
    .await;
    build_app_from(config, emulator, dir, true).await
}

/// The app `config` makes, built by the product's own builder (as `serve` calls it).
pub async fn build_app_from(
    config: Config,
    emulator: Emulator,
    dir: tempfile::TempDir,
    seed_users: bool,
) -> TestApp {
    let application = Application::build(config.clone()).await.unwrap();
    let (state, router) = (application.state().clone(), application.router());
    if seed_users {
        let hash = backend::users::hash_password(USER_PASSWORD).unwrap();
        for (email, role) in [
            (ADMIN_EMAIL, shared::Role::Admin),
            (STANDARD_EMAIL, shared::Role::Standard),
            (READ_ONLY_EMAIL, shared::Role::ReadOnly),
        ] {
            backend::users::create(&state.pool, email, "", role, &hash, 1)
                .await
                .unwrap();
        }
    }
    let mut test_app = TestApp {
        router,
        state,
        emulator,
        stripe_url: Url::parse(PUBLIC_URL).unwrap(),
        admin: String::new(),
        dir,
        config,
    };
    test_app.admin = test_app.sign_in(ADMIN_EMAIL, USER_PASSWORD).await;
    test_app
}

/// The `name=value` part of a response's session cookie, if it sets one.
pub fn session_cookie(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("connections_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

pub async fn body_string(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

impl TestApp {
    /// A request as the signed-in Admin, from our own origin.
    pub async fn request(&self, method: &str, uri: &str) -> Response<Body> {
        self.send(method, uri, Some(&self.admin), None).await
    }

    /// A request with a given session cookie (or none) and JSON body, from our own origin.
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        cookie: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Response<Body> {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("origin", PUBLIC_URL);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let request = match body {
            Some(json) => request
                .header("content-type", "application/json")
                .body(Body::from(json.to_string())),
            None => request.body(Body::empty()),
        };
        self.router.clone().oneshot(request.unwrap()).await.unwrap()
    }

    pub async fn json(&self, method: &str, uri: &str) -> (StatusCode, serde_json::Value) {
        to_json(self.request(method, uri).await).await
    }

    /// One sign-in attempt, with an optional existing session cookie.
    pub async fn sign_in_attempt(
        &self,
        cookie: Option<&str>,
        email: &str,
        password: &str,
    ) -> Response<Body> {
        self.send(
            "POST",
            "/api/auth/sign-in",
            cookie,
            Some(serde_json::json!({ "email": email, "password": password })),
        )
        .await
    }

    /// Signs in; returns the session cookie.
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let response = self.sign_in_attempt(None, email, password).await;
        if response.status() != StatusCode::OK {
            panic!("sign-in of {email} failed: {:?}", to_json(response).await);
        }
        session_cookie(&response).expect("a session cookie")
    }

    /// Starts the flow: the authorize URL's query string.
    pub async fn start(&self) -> String {
        let (status, body) = self.json("POST", "/api/connections/stripe/authorize").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let url = Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
        url.query().unwrap().to_owned()
    }

    /// Completes the emulator's sign-in; returns the callback path and query to call.
    pub async fn approve(&self, authorize_query: &str) -> String {
        path_and_query(self.emulator.approve(authorize_query, EMAIL, PASSWORD))
    }

    /// Completes the emulator's sign-in as another account.
    pub async fn approve_as(&self, authorize_query: &str, email: &str) -> String {
        path_and_query(self.emulator.approve(authorize_query, email, PASSWORD))
    }

    /// Completes the emulator's Apps install as the Acme owner; the callback path and query.
    pub async fn install(&self, authorize_query: &str) -> String {
        path_and_query(
            self.emulator
                .approve_install(authorize_query, EMAIL, PASSWORD),
        )
    }

    /// Installs the app for the Acme account through the whole flow; the connection id.
    pub async fn connect_app(&self) -> i64 {
        let callback = self.install(&self.start().await).await;
        self.connected_by(&callback).await
    }

    /// Connects the Acme account through the whole flow; returns the connection id.
    pub async fn connect(&self) -> i64 {
        let callback = self.approve(&self.start().await).await;
        self.connected_by(&callback).await
    }

    /// Calls the callback, which must end on a connection; its id.
    async fn connected_by(&self, callback: &str) -> i64 {
        let location = self.callback(callback).await;
        location
            .strip_prefix("/admin/connections?connected=")
            .unwrap_or_else(|| panic!("not connected: {location}"))
            .parse()
            .unwrap()
    }

    /// A connection as the API shows it.
    pub async fn connection(&self, id: i64) -> serde_json::Value {
        let (status, body) = self.json("GET", &format!("/api/connections/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Calls the callback; returns the `Location` it redirects to.
    pub async fn callback(&self, path_and_query: &str) -> String {
        let response = self.request("GET", path_and_query).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    pub async fn connection_count(&self) -> i64 {
        self.state
            .pool
            .scalar_one("SELECT COUNT(*) FROM connections", args![])
            .await
            .unwrap()
    }

    pub async fn state_count(&self) -> i64 {
        self.state
            .pool
            .scalar_one("SELECT COUNT(*) FROM oauth_states", args![])
            .await
            .unwrap()
    }
}

pub async fn to_json(response: Response<Body>) -> (StatusCode, serde_json::Value) {
    let status = response.status();
    let body = body_string(response).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    )
}

pub fn query_map(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The audit actions of a connection detail, newest first.
pub fn actions(detail: &serde_json::Value) -> Vec<String> {
    detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

/// The path and query of the emulator's redirect back to us.
fn path_and_query(redirect: Result<Url, backend::emulator::Refusal>) -> String {
    let url = redirect.unwrap_or_else(|r| panic!("emulator refused: {r:?}"));
    format!("{}?{}", url.path(), url.query().unwrap())
}

/// `POST /webhooks/stripe` with `body` and, when given, a `Stripe-Signature`.
pub fn webhook_request(body: &str, signature: Option<String>) -> Request<Body> {
    let mut request = Request::post("/webhooks/stripe").header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

/// Delivers `body` to the app's webhook endpoint as Stripe does, signed with `secret` now; the
/// answer's status.
pub async fn deliver(app: &TestApp, body: &str, secret: &str) -> StatusCode {
    let signature = backend::webhook::header(secret, app.state.clock.now(), body.as_bytes());
    app.router
        .clone()
        .oneshot(webhook_request(body, Some(signature)))
        .await
        .unwrap()
        .status()
}
