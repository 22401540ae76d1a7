//! What the benches share: the product (built by its own builder) over a temporary database, one
//! signed-in admin, the product served on a socket, and the load generator.
// Each bench compiles this module on its own and uses only part of it.
#![allow(dead_code)]

#[path = "../../tests/support/key_connection.rs"]
mod key_connection;
#[path = "../../tests/support/postgres.rs"]
mod postgres;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use backend::config::Config;
use backend::startup::Application;
use backend::state::AppState;
use backend::stripe::http_client;
use tower::ServiceExt;
use url::Url;

/// The product's public origin in the benches.
pub const PUBLIC: &str = "http://bench.test";
/// The admin every bench signs in as.
pub const ADMIN_EMAIL: &str = "admin@bench.test";
pub const ADMIN_PASSWORD: &str = "bench password 123";
/// The sign-in request's body.
pub const SIGN_IN_BODY: &str = r#"{"email":"admin@bench.test","password":"bench password 123"}"#;

/// The product over a fresh database in `dir`, reading Stripe at `stripe`, built by its own
/// builder (as `serve` calls it).
pub struct Bench {
    pub state: AppState,
    pub router: axum::Router,
}

/// Builds the product (an admin signed up) with the sync's rate limit `sync_rate_limit` (`None`:
/// the product's default) and the given OAuth flow.
pub async fn bench_state(
    dir: &Path,
    stripe: &Url,
    sync_rate_limit: Option<f64>,
    oauth: &str,
) -> Bench {
    let bench = product_state(dir, stripe, sync_rate_limit, oauth).await;
    if backend::users::count(&bench.state.pool)
        .await
        .expect("users")
        == 0
    {
        let hash = backend::users::hash_password(ADMIN_PASSWORD).expect("hash");
        backend::users::create(
            &bench.state.pool,
            ADMIN_EMAIL,
            "",
            shared::Role::Admin,
            &hash,
            1,
        )
        .await
        .expect("admin");
    }
    bench
}

/// Where a benchmark's data goes: SQLite in `dir`, or with `BENCH_POSTGRES_URL` (a server URL whose
/// user may create databases) a fresh PostgreSQL database named after `dir`.
pub async fn database_url(dir: &Path) -> String {
    let Ok(server) = std::env::var("BENCH_POSTGRES_URL") else {
        return format!("sqlite://{}/bench.db", dir.display());
    };
    postgres::database_for(&server, "bench", dir).await
}

/// Which database the benchmarks write to, as their lines say it.
pub fn database_label() -> &'static str {
    if std::env::var_os("BENCH_POSTGRES_URL").is_some() {
        "PostgreSQL (BENCH_POSTGRES_URL)"
    } else {
        "SQLite (WAL)"
    }
}

/// The product as `bench_state` builds it, without the admin: no password hashed (Argon2's buffer
/// never allocated), as a process that only syncs would hold it.
pub async fn product_state(
    dir: &Path,
    stripe: &Url,
    sync_rate_limit: Option<f64>,
    oauth: &str,
) -> Bench {
    if !dir.join("index.html").exists() {
        std::fs::write(dir.join("index.html"), "<!doctype html><title>spa</title>").expect("spa");
    }
    let mut env: HashMap<&str, String> = HashMap::from([
        ("BIND", "127.0.0.1:0".to_owned()),
        ("PUBLIC_URL", PUBLIC.to_owned()),
        ("DATA_DIR", dir.display().to_string()),
        ("DATABASE_URL", database_url(dir).await),
        ("STATIC_DIR", dir.display().to_string()),
        ("STRIPE_CLIENT_ID", "ca_bench".to_owned()),
        ("STRIPE_SECRET_KEY", "sk_test_bench".to_owned()),
        ("STRIPE_CONNECT_URL", stripe.to_string()),
        ("STRIPE_API_URL", stripe.to_string()),
        (
            "STRIPE_AUTHORIZE_URL",
            stripe.join("oauth/v2/authorize").expect("url").to_string(),
        ),
        ("STRIPE_OAUTH", oauth.to_owned()),
        ("STRIPE_WEBHOOK_SECRET", "whsec_bench".to_owned()),
        (
            "ENCRYPTION_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
        ),
        ("HEALTH_CHECK_INTERVAL", "1h".to_owned()),
        ("SYNC_INTERVAL", "1h".to_owned()),
    ]);
    if let Some(rate) = sync_rate_limit {
        env.insert("SYNC_RATE_LIMIT", rate.to_string());
    }
    let config = Config::from_lookup(|name| env.get(name).cloned()).expect("config");
    let application = Application::build(config).await.expect("build");
    Bench {
        state: application.state().clone(),
        router: application.router(),
    }
}

/// One request through the router (no socket), from our origin with `cookie`.
pub async fn request(
    router: &axum::Router,
    method: &str,
    uri: &str,
    cookie: &str,
    body: Option<String>,
) -> axum::http::Response<Body> {
    let mut r = Request::builder()
        .method(method)
        .uri(uri)
        .header("origin", PUBLIC)
        .header("cookie", cookie);
    if body.is_some() {
        r = r.header("content-type", "application/json");
    }
    router
        .clone()
        .oneshot(
            r.body(body.map(Body::from).unwrap_or_default())
                .expect("request"),
        )
        .await
        .expect("response")
}

/// The session cookie (`name=value`) a sign-in answer sets.
pub fn session_cookie(response: &axum::http::Response<Body>) -> String {
    response.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("c")
        .to_owned()
}

/// Signs the admin in; the session cookie.
pub async fn sign_in(router: &axum::Router) -> String {
    let response = request(
        router,
        "POST",
        "/api/auth/sign-in",
        "",
        Some(SIGN_IN_BODY.into()),
    )
    .await;
    session_cookie(&response)
}

/// Serves `router` as the product does, on a loopback socket; its base URL.
pub async fn serve_product(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(backend::server::serve(
        listener,
        router,
        // One load generator on one address: its share is the whole server here.
        backend::server::Limits {
            max_connections_per_client: 1024,
            ..backend::server::Limits::default()
        },
        std::future::pending(),
    ));
    base
}

/// 64 clients in a loop for 5 s; requests per second and p99 latency.
pub async fn load(url: &str, cookie: Option<&str>) -> (f64, Duration) {
    const CLIENTS: usize = 64;
    const RUN: Duration = Duration::from_secs(5);
    let client = http_client().expect("client");
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_owned());
            let cookie = cookie.map(str::to_owned);
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while started.elapsed() < RUN {
                    let t = Instant::now();
                    let mut request = client.get(&url);
                    if let Some(cookie) = &cookie {
                        request = request.header("cookie", cookie);
                    }
                    let response = request.send().await.expect("answer");
                    assert!(response.status().is_success(), "{}", response.status());
                    let _ = response.bytes().await.expect("body");
                    samples.push(t.elapsed());
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.expect("client task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    samples.sort();
    let p99 = samples[(samples.len() * 99 / 100).min(samples.len() - 1)];
    (samples.len() as f64 / elapsed, p99)
}

/// Connects `account` by the restricted key `key` in the given mode, stored as the product stores
/// it; the connection's id.
pub async fn connect_key(state: &AppState, account: &str, key: &str, livemode: bool) -> i64 {
    let name = format!("Bench {account}");
    key_connection::store_key_connection(state, account, &name, key, livemode)
        .await
        .into()
}
