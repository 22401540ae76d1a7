//! What the benches share: the product's state and router over a temporary SQLite database, one
//! signed-in admin, the product served on a socket, and the load generator.
// Each bench compiles this module on its own and uses only part of it.
#![allow(dead_code)]

#[path = "../../tests/support/postgres.rs"]
mod postgres;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use backend::clock::Clock;
use backend::config::{Secret, StripeSettings};
use backend::crypto::TokenCipher;
use backend::state::{AppState, Settings};
use backend::stripe::{http_client, StripeClient};
use tower::ServiceExt;
use url::Url;

/// The product's public origin in the benches.
pub const PUBLIC: &str = "http://bench.test";
/// The admin every bench signs in as.
pub const ADMIN_EMAIL: &str = "admin@bench.test";
pub const ADMIN_PASSWORD: &str = "bench password 123";
/// The sign-in request's body.
pub const SIGN_IN_BODY: &str = r#"{"email":"admin@bench.test","password":"bench password 123"}"#;

/// The product's state over a fresh database in `dir`, reading Stripe at `stripe`.
pub struct Bench {
    pub state: AppState,
    /// The settings `state.flows` was built from (a bench builds the other flow from them).
    pub stripe_settings: StripeSettings,
    pub redirect: Url,
}

/// Builds the state (an admin signed up, the freshness watcher running) with the sync's rate limit
/// `sync_rate_limit` (`None`: the product's default).
pub async fn bench_state(dir: &Path, stripe: &Url, sync_rate_limit: Option<f64>) -> Bench {
    let bench = product_state(dir, stripe, sync_rate_limit).await;
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

/// The state as `bench_state` builds it, without the admin: no password hashed (Argon2's buffer
/// never allocated), as a process that only syncs would hold it.
pub async fn product_state(dir: &Path, stripe: &Url, sync_rate_limit: Option<f64>) -> Bench {
    let freshness = Arc::new(backend::freshness::Freshness::default());
    let pool = backend::store::connect_watched(&database_url(dir).await, Some(freshness.clone()))
        .await
        .expect("db");
    // As the product does: snapshots are reused on SQLite only.
    if pool.dialect() == backend::store::Dialect::Sqlite {
        tokio::spawn(
            freshness
                .clone()
                .watch(backend::store::change_counter_reader(pool.clone())),
        );
    }
    let cipher =
        TokenCipher::from_base64(&Secret::new("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
            .expect("key");
    let stripe_settings = StripeSettings {
        client_id: "ca_bench".into(),
        secret_key: Secret::new("sk_test_bench"),
        connect_url: stripe.clone(),
        api_url: stripe.clone(),
        authorize_url: stripe.join("oauth/v2/authorize").expect("url"),
    };
    let redirect = Url::parse(&format!("{PUBLIC}/oauth/stripe/callback")).expect("url");
    let flows = backend::startup::flows(
        &stripe_settings,
        stripe,
        shared::AuthKind::Connect,
        &redirect,
    )
    .expect("flows");
    let state = AppState {
        pool,
        cipher: Arc::new(cipher),
        stripe: StripeClient::new(http_client().expect("http"), stripe.clone()),
        flows: Arc::new(flows),
        clock: Clock::default(),
        settings: Arc::new(Settings {
            demo_mode: false,
            public_origin: PUBLIC.into(),
            health_interval_secs: 3600,
            sync_interval_secs: 3600,
            sync_lease_secs: backend::sync::engine::LEASE_SECS,
            sync_rate_limit,
            restricted_key_url: String::new(),
            instance_id: "bench".into(),
            trusted_proxies: Default::default(),
        }),
        webhook_secrets: Arc::new(vec![Secret::new("whsec_bench")]),
        connections_answer: Arc::default(),
        sessions: backend::session_cache::SessionCache::new(freshness),
        sync_limiter: Default::default(),
    };
    Bench {
        state,
        stripe_settings,
        redirect,
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
