//! `cargo bench -p backend --bench freshness`: how long a change at Stripe takes to be readable
//! through the API, for twenty connections at once. Numbers, not pass/fail.
//!
//! Stripe is the emulator (its demo data, its events, its signed webhooks) behind Stripe's answer
//! time (log-normal, median 250 ms, a tail to 2 s, on every `/v1` call). The product is built by
//! its own builder and runs as `serve` runs it: the sync scheduler (5 s tick) and the webhook
//! applier. Each change is a new customer; it is readable once the connection's `customers` row
//! count, as `GET /api/connections/{id}/sync` shows it (read every 100 ms), includes it.
//!
//! 1. With webhooks: changes at 50/s across the twenty connections, each event delivered as Stripe
//!    delivers it (signed, to `POST /webhooks/stripe`) the moment the change is made. Target p95
//!    ≤ 2 s.
//!    The connections are installs of the Stripe App (the platform's endpoint gets their events).
//! 2. Without webhooks (restricted keys, `EVENTS_POLL_INTERVAL` at its default 1 m): changes at 5/s
//!    for three minutes. Target p95 ≤ 70 s.
//!
//! `FRESHNESS_BENCH_ONLY=webhooks|polling` runs one; `BENCH_POSTGRES_URL` writes to PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backend::emulator::{ChangeKind, DemoAccount, Emulator, EmulatorConfig};
use backend::ids::ConnectionId;
use backend::stripe::lists::StripeList;
use common::{bench_state, connect_key, database_label, request, serve_product, sign_in};
use serde_json::json;
use url::Url;

/// Connections changed side by side.
const CONNECTIONS: usize = 20;
/// Median answer time of a Stripe call.
const MEDIAN_LATENCY_MS: f64 = 250.0;
/// σ of its logarithm.
const LATENCY_SIGMA: f64 = 0.35;

/// Twenty demo accounts.
fn accounts() -> Vec<DemoAccount> {
    (0..CONNECTIONS)
        .map(|i| DemoAccount {
            id: format!("acct_1Fresh{i:04}"),
            email: format!("owner{i}@fresh.test"),
            password: "bench password".into(),
            display_name: format!("Fresh {i}"),
        })
        .collect()
}

/// Stripe's answer time on `/v1` calls.
async fn stripe_latency(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if request.uri().path().starts_with("/v1/") {
        use rand::Rng;
        let normal: f64 = {
            let mut rng = rand::thread_rng();
            // Box–Muller.
            let (u, v): (f64, f64) = (rng.gen_range(1e-9..1.0), rng.gen_range(0.0..1.0));
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let ms = (MEDIAN_LATENCY_MS * (LATENCY_SIGMA * normal).exp()).min(2000.0);
        tokio::time::sleep(Duration::from_secs_f64(ms / 1000.0)).await;
    }
    next.run(request).await
}

/// The `customers` row count of each connection, as the API shows it.
async fn customer_rows(router: &axum::Router, cookie: &str, ids: &[i64]) -> Vec<i64> {
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let uri = format!("/api/connections/{id}/sync");
        let response = request(router, "GET", &uri, cookie, None).await;
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let status: shared::SyncStatus = serde_json::from_slice(&body).unwrap();
        let customers = status
            .tables
            .iter()
            .find(|t| t.name == StripeList::Customers.name())
            .map_or(0, |t| t.rows);
        rows.push(customers);
    }
    rows
}

/// Installs the Stripe App for `account` through the product's flow; the connection's id.
async fn connect_app(
    router: &axum::Router,
    cookie: &str,
    emulator: &Emulator,
    account: &DemoAccount,
) -> i64 {
    let response = request(
        router,
        "POST",
        "/api/connections/stripe/authorize",
        cookie,
        None,
    )
    .await;
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let authorize = Url::parse(answer["authorize_url"].as_str().unwrap()).unwrap();
    let back = emulator
        .approve_install(
            authorize.query().unwrap(),
            &account.email,
            &account.password,
        )
        .unwrap();
    let callback = format!("{}?{}", back.path(), back.query().unwrap());
    let response = request(router, "GET", &callback, cookie, None).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    location
        .strip_prefix("/admin/connections?connected=")
        .unwrap_or_else(|| panic!("not connected: {location}"))
        .parse()
        .unwrap()
}

/// p-th percentile of sorted `v`.
fn pct(v: &[Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// One scenario: changes at `rate` per second for `secs`, delivered as webhooks or not; the
/// latencies from each change to its row readable through the API.
async fn scenario(webhooks: bool, rate: f64, secs: u64) -> Vec<Duration> {
    let dir = tempfile::tempdir().unwrap();
    // The product first (its address is where Stripe sends webhooks).
    let emulator_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stripe = Url::parse(&format!(
        "http://{}/",
        emulator_listener.local_addr().unwrap()
    ))
    .unwrap();
    let bench = bench_state(dir.path(), &stripe, None, "apps").await;
    let product = serve_product(bench.router.clone()).await;
    let emulator = Emulator::new(EmulatorConfig {
        client_id: "ca_bench".into(),
        secret_key: "sk_test_bench".into(),
        redirect_uris: vec![format!("{}/oauth/stripe/callback", common::PUBLIC)],
        accounts: accounts(),
        webhook: webhooks.then(|| (format!("{product}/webhooks/stripe"), "whsec_bench".into())),
        install_link: "chnlink_bench".into(),
        access_token_ttl_secs: 3600,
    });
    let stripe_router = emulator
        .router()
        .layer(axum::middleware::from_fn(stripe_latency));
    tokio::spawn(async move {
        axum::serve(emulator_listener, stripe_router).await.unwrap();
    });
    let state = bench.state.clone();
    let _worker = backend::sync::spawn_worker(state.clone(), Duration::from_secs(5));
    let _applier = backend::sync::spawn_applier(state.clone(), Duration::from_secs(5));
    let cookie = sign_in(&bench.router).await;

    // Twenty connections, each backfilled: installs of the Stripe App (the platform's endpoint
    // gets their events), or restricted keys (polled).
    let mut ids = Vec::new();
    for account in accounts() {
        let id = if webhooks {
            connect_app(&bench.router, &cookie, &emulator, &account).await
        } else {
            let key = emulator
                .create_restricted_key(&account.id, &backend::emulator::RESTRICTED_KEY_PERMISSIONS)
                .unwrap();
            let id = connect_key(&state, &account.id, &key, false).await;
            backend::sync::jobs::enqueue(&state, ConnectionId(id)).await;
            id
        };
        ids.push(id);
    }
    let started = Instant::now();
    loop {
        let fresh = state
            .pool
            .scalar_one::<i64>(
                "SELECT COUNT(*) FROM connections WHERE fresh_as_of IS NOT NULL",
                backend::args![],
            )
            .await
            .unwrap();
        if fresh == CONNECTIONS as i64 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "backfills");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "  twenty connections backfilled in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let base = customer_rows(&bench.router, &cookie, &ids).await;

    // Changes at `rate`, round the connections; each readable once its connection's row count
    // includes it (one connection's changes arrive in order).
    let made: Arc<Mutex<HashMap<usize, Vec<Instant>>>> = Arc::default();
    let total = (rate * secs as f64) as usize;
    let producer = {
        let (emulator, made) = (emulator.clone(), made.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            for n in 0..total {
                tick.tick().await;
                let c = n % CONNECTIONS;
                let account = format!("acct_1Fresh{c:04}");
                let id = format!("cus_fresh{n:06}");
                let fields = json!({"email": format!("n{n}@fresh.test"), "name": "Fresh"});
                let at = Instant::now();
                if webhooks {
                    emulator
                        .change_and_deliver(&account, "customers", &id, ChangeKind::Create, fields)
                        .await
                        .unwrap();
                } else {
                    emulator
                        .change_object(&account, "customers", &id, ChangeKind::Create, fields)
                        .unwrap();
                }
                made.lock().unwrap().entry(c).or_default().push(at);
            }
        })
    };
    let mut seen = [0usize; CONNECTIONS];
    let mut latencies = Vec::with_capacity(total);
    let deadline = Instant::now() + Duration::from_secs(secs + 180);
    while latencies.len() < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rows = customer_rows(&bench.router, &cookie, &ids).await;
        let now = Instant::now();
        let made = made.lock().unwrap();
        for c in 0..CONNECTIONS {
            let readable = usize::try_from(rows[c] - base[c]).unwrap_or(0);
            let times = made.get(&c).map_or(&[][..], Vec::as_slice);
            while seen[c] < readable.min(times.len()) {
                latencies.push(now - times[seen[c]]);
                seen[c] += 1;
            }
        }
    }
    producer.await.unwrap();
    assert_eq!(latencies.len(), total, "every change readable");
    latencies.sort();
    latencies
}

fn report(label: &str, latencies: &[Duration], target: &str) {
    println!(
        "{label}: {} changes; p50 {:.2} s, p95 {:.2} s, max {:.2} s ({target})",
        latencies.len(),
        pct(latencies, 0.5).as_secs_f64(),
        pct(latencies, 0.95).as_secs_f64(),
        latencies.last().copied().unwrap_or_default().as_secs_f64(),
    );
}

#[tokio::main]
async fn main() {
    let only = std::env::var("FRESHNESS_BENCH_ONLY").unwrap_or_default();
    println!(
        "freshness: {CONNECTIONS} connections, Stripe answering in {MEDIAN_LATENCY_MS} ms (median), {}",
        database_label()
    );
    if only.is_empty() || only == "webhooks" {
        let latencies = scenario(true, 50.0, 30).await;
        report(
            "with webhooks, 50 changes/s for 30 s",
            &latencies,
            "target p95 ≤ 2 s",
        );
    }
    if only.is_empty() || only == "polling" {
        let latencies = scenario(false, 5.0, 180).await;
        report(
            "without webhooks (EVENTS_POLL_INTERVAL 1 m), 5 changes/s for 3 min",
            &latencies,
            "target p95 ≤ 70 s",
        );
    }
}
