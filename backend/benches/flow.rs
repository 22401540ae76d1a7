//! `cargo bench -p backend`: prints how fast the hot paths are. Numbers, not pass/fail: targets live
//! here (and in the closing notes), never in timed unit tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use backend::ids::ConnectionId;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend::args;
use backend::config::Secret;
use backend::emulator::{DemoAccount, Emulator, EmulatorConfig};
use backend::stripe::http_client;
use common::{
    bench_state, load, request, serve_product, session_cookie, Bench, PUBLIC, SIGN_IN_BODY,
};
use url::Url;

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let n = samples.len();
    let total: Duration = samples.iter().sum();
    let pct = |p: f64| samples[((n as f64 * p) as usize).min(n - 1)];
    println!(
        "{name:<44} n={n:<7} mean={:>10.1?} p50={:>10.1?} p95={:>10.1?} ({:.0}/s)",
        total / n as u32,
        pct(0.50),
        pct(0.95),
        n as f64 / total.as_secs_f64()
    );
}

/// One OAuth round trip per account (authorize, Stripe's approval by `approve`, callback); timings.
async fn round_trips(
    router: &axum::Router,
    cookie: &str,
    accounts: &[DemoAccount],
    approve: impl Fn(&str, &str) -> Url,
) -> Vec<Duration> {
    let mut samples = Vec::new();
    for account in accounts {
        let t = Instant::now();
        let response = request(
            router,
            "POST",
            "/api/connections/stripe/authorize",
            cookie,
            None,
        )
        .await;
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let url = Url::parse(v["authorize_url"].as_str().expect("url")).expect("url");
        let back = approve(url.query().expect("q"), &account.email);
        let response = request(
            router,
            "GET",
            &format!("{}?{}", back.path(), back.query().expect("q")),
            cookie,
            None,
        )
        .await;
        assert_eq!(response.status(), 303);
        samples.push(t.elapsed());
    }
    samples
}

#[tokio::main]
async fn main() {
    let accounts: Vec<DemoAccount> = (0..100)
        .map(|i| DemoAccount {
            id: format!("acct_1Bench{i:04}"),
            email: format!("owner{i}@bench.test"),
            password: "pw".into(),
            display_name: format!("Bench {i}"),
        })
        .collect();
    let emulator = Emulator::new(EmulatorConfig {
        client_id: "ca_bench".into(),
        secret_key: "sk_test_bench".into(),
        redirect_uris: vec![format!("{PUBLIC}/oauth/stripe/callback")],
        accounts: accounts.clone(),
        webhook: None,
        install_link: "chnlink_bench".into(),
        access_token_ttl_secs: 3600,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let stripe =
        Url::parse(&format!("http://{}/", listener.local_addr().expect("addr"))).expect("url");
    let router = emulator.router();
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });

    let dir = tempfile::tempdir().expect("tempdir");
    let Bench { state, router } = bench_state(dir.path(), &stripe, None, "connect").await;
    let cipher = state.cipher.clone();

    println!("backend benchmarks (debug assertions off, one machine, loopback)\n");

    // Sign-in: dominated by Argon2id by design.
    let mut samples = Vec::new();
    let mut cookie = String::new();
    for _ in 0..10 {
        let t = Instant::now();
        let response = request(
            &router,
            "POST",
            "/api/auth/sign-in",
            "",
            Some(SIGN_IN_BODY.into()),
        )
        .await;
        samples.push(t.elapsed());
        cookie = session_cookie(&response);
    }
    report("sign-in (Argon2id verify + new session)", samples);

    // The whole OAuth round trip: authorize, Stripe sign-in, callback (exchange + account read + store).
    let samples = round_trips(&router, &cookie, &accounts, |query, email| {
        emulator.approve(query, email, "pw").expect("approve")
    })
    .await;
    report("OAuth round trip (authorize→callback→stored)", samples);

    // The Data Sources table with 100 connections.
    let mut samples = Vec::new();
    for _ in 0..1_000 {
        let t = Instant::now();
        let response = request(&router, "GET", "/api/connections", &cookie, None).await;
        let _ = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        samples.push(t.elapsed());
    }
    report("GET /api/connections (100 rows)", samples);

    // One connection test (GET /v1/account on the emulator, over loopback).
    let mut samples = Vec::new();
    for id in 1..=100 {
        let t = Instant::now();
        backend::services::connection_check::test_connection(
            &state,
            ConnectionId(id),
            &backend::domain::AuditActor::System,
        )
        .await
        .expect("test");
        samples.push(t.elapsed());
    }
    report("connection test (decrypt + /v1/account + store)", samples);

    // The Stripe App install round trip (the same accounts move to Apps credentials, same rows).
    // The same database, the product configured for Stripe Apps (`STRIPE_OAUTH=apps`).
    let Bench {
        state: apps_state,
        router: apps_router,
    } = bench_state(dir.path(), &stripe, None, "apps").await;
    let samples = round_trips(&apps_router, &cookie, &accounts, |query, email| {
        emulator
            .approve_install(query, email, "pw")
            .expect("install")
    })
    .await;
    report("Apps install round trip (→/v1/oauth/token)", samples);

    // Renewing an expiring Apps token: lease, /v1/oauth/token, new pair stored with its audit line.
    let expire_all = || async {
        apps_state
            .pool
            .execute("UPDATE connections SET access_expires_at = 0", args![])
            .await
            .expect("expire");
    };
    expire_all().await;
    let before = emulator.refresh_requests();
    let mut samples = Vec::new();
    for id in 1..=100 {
        let t = Instant::now();
        backend::services::credentials::usable(&apps_state, ConnectionId(id))
            .await
            .expect("renewed");
        samples.push(t.elapsed());
    }
    report("token refresh (lease + /v1/oauth/token + store)", samples);
    assert_eq!(emulator.refresh_requests() - before, 100);

    // 16 callers at once on one expired connection: one refresh, everyone gets the new pair.
    let mut samples = Vec::new();
    for id in 1..=20 {
        expire_all().await;
        let before = emulator.refresh_requests();
        let t = Instant::now();
        let calls =
            (0..16).map(|_| backend::services::credentials::usable(&apps_state, ConnectionId(id)));
        for result in futures::future::join_all(calls).await {
            result.expect("renewed");
        }
        samples.push(t.elapsed());
        assert_eq!(
            emulator.refresh_requests() - before,
            1,
            "one refresh per connection"
        );
    }
    report("16 racing callers on one expired token", samples);

    // Checking a restricted key: the account and a limit=1 read of each of the seven lists.
    let key = emulator
        .create_restricted_key(
            &accounts[0].id,
            &backend::emulator::RESTRICTED_KEY_PERMISSIONS,
        )
        .expect("key");
    let key = Secret::new(key);
    let mut samples = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        backend::stripe::flows::restricted_key::check(&state.stripe, &key, false)
            .await
            .expect("accepted");
        samples.push(t.elapsed());
    }
    report("restricted key check (account + 7 lists)", samples);

    // Webhook signature verification (1 KB body).
    let body = vec![b'x'; 1024];
    let header = backend::webhook::header("whsec_bench", 1_000, &body);
    let secrets = vec!["whsec_bench".to_owned()];
    let mut samples = Vec::new();
    for _ in 0..20_000 {
        let t = Instant::now();
        backend::webhook::verify(&header, &body, &secrets, 1_000).expect("valid");
        samples.push(t.elapsed());
    }
    report("webhook signature verify (1 KB)", samples);

    // Token encryption at rest.
    let mut samples = Vec::new();
    for _ in 0..20_000 {
        let t = Instant::now();
        let sealed = cipher
            .seal("sk_test_0123456789abcdefghijklmnopqrstuv", "ctx")
            .unwrap();
        let _ = cipher.open(&sealed, "ctx").expect("open");
        samples.push(t.elapsed());
    }
    report("token seal + open (AES-256-GCM)", samples);

    // Under load, over real sockets: 64 connections for 5 s against `GET /api/connections`
    // (signed in, 100 rows) on the product's server, and against a bare axum route in the same run.
    let product = serve_product(router.clone()).await;
    let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let bare = format!("http://{}", bare_listener.local_addr().expect("addr"));
    let bare_router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(bare_listener, bare_router).await });
    println!();
    let (bare_rps, bare_p99) = load(&format!("{bare}/"), None).await;
    for path in ["/api/meta", "/api/auth/me"] {
        let (rps, p99) = load(&format!("{product}{path}"), Some(&cookie)).await;
        println!("under load: GET {path} {rps:.0} req/s p99 {p99:.1?}");
    }
    let (rps, p99) = load(&format!("{product}/api/connections"), Some(&cookie)).await;
    println!(
        "under load: GET /api/connections {rps:.0} req/s p99 {p99:.1?} = {:.0} % of the bare route's {bare_rps:.0} req/s (p99 {bare_p99:.1?})",
        100.0 * rps / bare_rps
    );
    // The same while 8 clients sign in over and over (Argon2id, new sessions).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let burst: Vec<_> = (0..8)
        .map(|_| {
            let (url, stop) = (format!("{product}/api/auth/sign-in"), stop.clone());
            let client = http_client().expect("client");
            tokio::spawn(async move {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = client
                        .post(&url)
                        .header("origin", PUBLIC)
                        .header("content-type", "application/json")
                        .body(SIGN_IN_BODY)
                        .send()
                        .await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    let (rps, p99) = load(&format!("{product}/api/connections"), Some(&cookie)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut sign_ins = 0;
    for task in burst {
        sign_ins += task.await.expect("sign-ins");
    }
    println!(
        "under load with a burst of {sign_ins} sign-ins: GET /api/connections {rps:.0} req/s p99 {p99:.1?}"
    );
}
