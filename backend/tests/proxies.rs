//! Behind a reverse proxy (SPEC §6.5, `TRUSTED_PROXIES`): two clients reaching the product through
//! one proxy address are two clients to the sign-in throttle and to the per-address connection
//! cap, while a peer outside the trusted ranges cannot pick its own address with a header.
//!
//! The product is started as `backend serve` starts it (configuration from variables, its own accept
//! loop on a socket), so every request comes from the peer 127.0.0.1 — the "proxy".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend::config::Config;
use backend::startup::Application;
use serde_json::json;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const ADMIN: &str = "admin@proxy.test";
const PASSWORD: &str = "the admin's long password";

/// Client A: guesses the Admin's password. Client B: the Admin. Both behind the proxy.
const CLIENT_A: &str = "203.0.113.10";
const CLIENT_B: &str = "198.51.100.20";

/// Starts the product in demo mode with `vars` on 127.0.0.1:<free port>, runs `test` against its
/// address, then stops it.
async fn with_product<F: Future<Output = ()>>(
    vars: &[(&str, &str)],
    test: impl FnOnce(SocketAddr) -> F,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut map: HashMap<String, String> = [
        ("DEMO", "1"),
        ("BIND", "127.0.0.1:0"),
        ("ADMIN_EMAIL", ADMIN),
        ("ADMIN_PASSWORD", PASSWORD),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    map.insert("DATA_DIR".into(), dir.path().display().to_string());
    map.insert("STATIC_DIR".into(), dir.path().display().to_string());
    map.insert("DATABASE_URL".into(), test_database_url(dir.path()).await);
    for (k, v) in vars {
        map.insert((*k).to_owned(), (*v).to_owned());
    }
    let config = Config::from_lookup(|k| map.get(k).cloned()).unwrap();
    let app = Application::build(config).await.unwrap();
    let addr = app.local_addr;
    tokio::select! {
        result = app.run() => panic!("the server stopped: {result:?}"),
        () = test(addr) => {}
    }
}

/// One HTTP/1.1 request on its own connection; the status code.
async fn status_of(addr: SocketAddr, head_and_body: String) -> u16 {
    let answer = answer_of(addr, head_and_body).await;
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no answer: {answer:?}"))
}

/// A sign-in attempt from our own origin, with the forwarding headers a proxy would add.
async fn sign_in(addr: SocketAddr, headers: &[(&str, &str)], email: &str, password: &str) -> u16 {
    let body = json!({ "email": email, "password": password }).to_string();
    let mut request = format!(
        "POST /api/auth/sign-in HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    status_of(addr, request).await
}

/// 25 failed sign-ins as the Admin from client A, through the proxy; their statuses.
async fn guesses_from_a(addr: SocketAddr) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..25 {
        let header = [("X-Forwarded-For", CLIENT_A)];
        statuses.push(sign_in(addr, &header, ADMIN, &format!("guess number {i}")).await);
    }
    statuses
}

#[tokio::test]
async fn behind_a_trusted_proxy_a_guessers_failures_never_lock_out_the_admin_at_another_client() {
    with_product(&[("TRUSTED_PROXIES", "127.0.0.1/32")], |addr| async move {
        let statuses = guesses_from_a(addr).await;
        assert!(statuses[..5].iter().all(|s| *s == 401), "{statuses:?}");
        assert!(
            statuses[5..].iter().all(|s| *s == 429),
            "client A is stopped: {statuses:?}"
        );
        // Client A stays stopped even with the right password.
        assert_eq!(
            sign_in(addr, &[("X-Forwarded-For", CLIENT_A)], ADMIN, PASSWORD).await,
            429
        );
        // The Admin, at client B through the same proxy, signs in at once; with RFC 7239 too.
        assert_eq!(
            sign_in(addr, &[("X-Forwarded-For", CLIENT_B)], ADMIN, PASSWORD).await,
            200,
            "the rightful Admin behind the same proxy was refused"
        );
        let forwarded = format!("for={CLIENT_B};proto=https");
        assert_eq!(
            sign_in(addr, &[("Forwarded", &forwarded)], ADMIN, PASSWORD).await,
            200
        );
        // A spoofed leftmost entry does not move client A elsewhere: the proxy appended its
        // real address.
        let spoofed = format!("{CLIENT_B}, {CLIENT_A}");
        assert_eq!(
            sign_in(addr, &[("X-Forwarded-For", &spoofed)], ADMIN, PASSWORD).await,
            429
        );
    })
    .await;
}

#[tokio::test]
async fn without_trusted_proxies_everyone_behind_the_proxy_is_one_client() {
    with_product(&[], |addr| async move {
        guesses_from_a(addr).await;
        assert_eq!(
            sign_in(addr, &[("X-Forwarded-For", CLIENT_B)], ADMIN, PASSWORD).await,
            429,
            "unset: the peer address, always"
        );
    })
    .await;
}

#[tokio::test]
async fn a_peer_outside_the_trusted_ranges_cannot_escape_the_throttle_with_a_header() {
    // 127.0.0.1 is not a trusted proxy here: its headers are the client's own words.
    with_product(&[("TRUSTED_PROXIES", "10.0.0.0/8")], |addr| async move {
        for i in 0..backend::auth::CLIENT_FAILURE_LIMIT {
            let fresh = format!("192.0.2.{i}");
            let forwarded = format!("for={fresh}");
            let status = sign_in(
                addr,
                &[("X-Forwarded-For", &fresh), ("Forwarded", &forwarded)],
                &format!("someone{i}@proxy.test"),
                "wrong password here",
            )
            .await;
            assert_eq!(status, 401);
        }
        assert_eq!(
            sign_in(addr, &[("X-Forwarded-For", "192.0.2.200")], ADMIN, PASSWORD).await,
            429,
            "a new X-Forwarded-For per attempt escaped the per-address limit"
        );
    })
    .await;
}

/// Opens `n` idle connections (no request yet) and then asks for `/api/health` on one more; whether
/// it was answered.
async fn served_beside_idle_connections(addr: SocketAddr, n: usize) -> bool {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // Accepted in the order they connected: the loop has counted them before it takes this one.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    let mut answer = String::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;
    assert!(read.is_ok(), "neither served nor closed");
    answer.starts_with("HTTP/1.1 200")
}

#[tokio::test]
async fn a_trusted_proxys_connections_are_not_capped_as_one_clients() {
    with_product(
        &[
            ("MAX_CONNECTIONS_PER_CLIENT", "2"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
        |addr| async move {
            assert!(
                served_beside_idle_connections(addr, 6).await,
                "the proxy's seventh connection was refused"
            );
        },
    )
    .await;
    // Not trusted: the same address is one client, capped at two.
    with_product(&[("MAX_CONNECTIONS_PER_CLIENT", "2")], |addr| async move {
        assert!(!served_beside_idle_connections(addr, 2).await);
    })
    .await;
}

/// Through the router, as the other suites drive it: a proxy at 10.0.0.7 (trusted as 10.0.0.0/8)
/// in front of IPv6 clients, each counted as its /64.
#[tokio::test]
async fn ipv6_clients_behind_a_proxy_count_as_their_64_blocks() {
    let test_app = spawn_app().await;
    let mut state = test_app.state.clone();
    let mut settings = (*state.settings).clone();
    settings.trusted_proxies = backend::config::parse_trusted_proxies("10.0.0.0/8").unwrap();
    state.settings = std::sync::Arc::new(settings);
    let router = backend::app::app(state, test_app.dir.path(), None);
    let attempt = |client: String, password: &str| {
        let mut request = Request::post("/api/auth/sign-in")
            .header("origin", PUBLIC_URL)
            .header("content-type", "application/json")
            .header("forwarded", format!("for=\"[{client}]:443\""))
            .body(Body::from(
                json!({"email": ADMIN_EMAIL, "password": password}).to_string(),
            ))
            .unwrap();
        request.extensions_mut().insert(axum::extract::ConnectInfo(
            "10.0.0.7:40000".parse::<SocketAddr>().unwrap(),
        ));
        router.clone().oneshot(request)
    };
    // Guesses from one /64, each from another address in it.
    for i in 0..backend::auth::ACCOUNT_FAILURE_LIMIT {
        let client = format!("2001:db8:1:2::{:x}", i + 1);
        assert_eq!(
            attempt(client, "guess-guess-guess").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt("2001:db8:1:2::ffff".into(), USER_PASSWORD)
            .await
            .unwrap()
            .status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a fresh address in the same /64 is the same client"
    );
    assert_eq!(
        attempt("2001:db8:1:3::1".into(), USER_PASSWORD)
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "another /64 is another client"
    );
}

/// One raw HTTP/1.1 request on its own connection; the whole answer (head and body).
async fn answer_of(addr: SocketAddr, request: String) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// A form posted to the emulator's deny endpoint with these `Host` and `Origin` (and language).
fn emulator_form(host: &str, origin: &str, language: &str) -> String {
    let body = "x=1";
    format!(
        "POST /stripe-emulator/oauth/v2/deny?state=s HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n\
         Accept-Language: {language}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn behind_a_proxy_the_emulators_forms_are_judged_by_the_public_origin() {
    // As under `trunk serve`: the browser is at PUBLIC_URL (:8081), the proxy forwards to the
    // backend with `Host` rewritten to the backend's host without its port.
    with_product(
        &[("PUBLIC_URL", "http://127.0.0.1:8081")],
        |addr| async move {
            let through_proxy = answer_of(
                addr,
                emulator_form("127.0.0.1", "http://127.0.0.1:8081", "en"),
            )
            .await;
            assert!(
                !through_proxy.starts_with("HTTP/1.1 403")
                    && !through_proxy.starts_with("HTTP/1.1 404"),
                "a form from the public origin is the emulator's own: {through_proxy}"
            );

            // The backend's own address is not the origin the browser is at: another site.
            let own = format!("http://{addr}");
            let refused = answer_of(addr, emulator_form(&addr.to_string(), &own, "en-US,en")).await;
            assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
            let lower = refused.to_ascii_lowercase();
            assert!(lower.contains("content-type: text/html"), "{refused}");
            assert!(refused.contains("<h1>Form refused</h1>"), "{refused}");
            assert!(refused.contains("role=\"alert\""), "{refused}");
            assert!(
                refused.contains("Local Stripe emulator"),
                "the emulator's page: {refused}"
            );

            let italian = answer_of(
                addr,
                emulator_form("127.0.0.1", "http://evil.example", "it-IT,it"),
            )
            .await;
            assert!(italian.starts_with("HTTP/1.1 403"), "{italian}");
            assert!(italian.contains("<h1>Modulo rifiutato</h1>"), "{italian}");
        },
    )
    .await;
}
