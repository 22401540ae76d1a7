//! `GET /metrics` (SPEC.md §6.1): absent without `METRICS_TOKEN`, refused without the right bearer
//! token, and with it every series in Prometheus' text format — the Stripe requests and rows a sync
//! makes counted as it runs, the jobs and each connection's lag read from the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use backend::emulator::{Endpoint, Fault};
use backend::stripe::lists::StripeList;
use backend::sync::SyncOptions;
use shared::AuthKind;
use support::sync::*;
use support::*;
use tower::ServiceExt;

const TOKEN: &str = "mt_test_0123456789abcdef0123456789";

/// Every series the contract names.
const SERIES: [&str; 5] = [
    "sync_rows_written_total",
    "stripe_requests_total",
    "stripe_requests_in_flight",
    "sync_jobs",
    "sync_lag_seconds",
];

async fn app_with_token() -> TestApp {
    spawn_app_env(AuthKind::Apps, &[("METRICS_TOKEN", TOKEN.to_owned())]).await
}

/// `GET /metrics` with this `Authorization` header (or none), as a scraper sends it: no cookie,
/// no `Origin`.
async fn get_metrics(app: &TestApp, authorization: Option<&str>) -> Response<Body> {
    let mut request = Request::builder().uri("/metrics");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    app.router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

/// The scrape's text with the right token.
async fn scrape(app: &TestApp) -> String {
    let response = get_metrics(app, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    body_string(response).await
}

/// The value of the sample `series` (name and labels exactly as exposed), if there is one.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

#[tokio::test]
async fn without_metrics_token_the_route_is_absent() {
    let app = spawn_app_env(AuthKind::Apps, &[]).await;

    for authorization in [None, Some("Bearer anything")] {
        let response = get_metrics(&app, authorization).await;

        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_refused_and_never_echoed() {
    let app = app_with_token().await;

    for authorization in [
        None,
        Some(String::from("Bearer ")),
        Some(String::from("Bearer wrong")),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Bearer {}", &TOKEN[..TOKEN.len() - 1])),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_owned()),
    ] {
        let response = get_metrics(&app, authorization.as_deref()).await;

        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        assert!(response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let body = body_string(response).await;
        assert!(!body.contains(TOKEN), "{body}");
        assert!(!body.contains("sync_jobs"), "{body}");
    }
    // A signed-in Admin's session is no metrics token either.
    let response = app.request("GET", "/metrics").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_right_token_gets_every_series_in_prometheus_text_format() {
    let app = app_with_token().await;

    let response = get_metrics(&app, Some(&format!("Bearer {TOKEN}"))).await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = body_string(response).await;
    for name in SERIES {
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}:\n{text}");
    }
    for outcome in ["ok", "rate_limited", "error"] {
        let series = format!("stripe_requests_total{{outcome=\"{outcome}\"}}");
        assert_eq!(value(&text, &series), 0.0, "{series}");
    }
    assert_eq!(value(&text, "sync_jobs{state=\"queued\"}"), 0.0);
    assert_eq!(value(&text, "sync_jobs{state=\"running\"}"), 0.0);
    assert_eq!(value(&text, "stripe_requests_in_flight"), 0.0);
    assert_eq!(value(&text, "sync_rows_written_total"), 0.0);
}

#[tokio::test]
async fn a_sync_is_counted_and_the_jobs_and_lag_are_read_from_the_database() {
    let app = app_with_token().await;
    let id = app.connect_app().await;
    let lag = format!("sync_lag_seconds{{connection=\"{id}\"}}");

    // Connecting queued the first sync; until it completes the lag runs from the connection's
    // creation.
    app.state.clock.advance(30);
    let before = scrape(&app).await;
    assert_eq!(value(&before, "sync_jobs{state=\"queued\"}"), 1.0);
    assert_eq!(value(&before, "sync_jobs{state=\"running\"}"), 0.0);
    assert!(value(&before, &lag) >= 30.0, "{before}");

    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let after = scrape(&app).await;

    let stored: i64 = {
        let mut total = 0;
        for list in StripeList::ALL {
            let sql = format!(
                "SELECT COUNT(*) FROM stripe_{} WHERE connection_id = $1",
                list.name()
            );
            total += count(&app, &sql, id).await;
        }
        total
    };
    assert!(stored > 0);
    assert!(
        value(&after, "sync_rows_written_total") >= stored as f64,
        "every stored row was written:\n{after}"
    );
    assert!(
        value(&after, "stripe_requests_total{outcome=\"ok\"}") >= StripeList::ALL.len() as f64,
        "{after}"
    );
    assert_eq!(
        value(&after, "stripe_requests_total{outcome=\"error\"}"),
        0.0
    );
    assert_eq!(value(&after, "stripe_requests_in_flight"), 0.0);
    assert_eq!(value(&after, "sync_jobs{state=\"queued\"}"), 0.0);
    assert!(value(&after, &lag) < 30.0, "fresh after the sync:\n{after}");

    // The lag is now − the oldest table's last completed pass.
    app.state.clock.advance(600);
    let later = scrape(&app).await;
    let lagged = value(&later, &lag);
    assert!((600.0..630.0).contains(&lagged), "{later}");
}

#[tokio::test]
async fn rate_limited_and_failed_requests_are_counted_by_outcome() {
    let app = app_with_token().await;
    let id = app.connect_app().await;
    let uri = format!("/api/connections/{id}/sync");

    // Two 429s, retried within the call; then, on a forced update, one 500, retried too.
    app.emulator.inject_times(
        Endpoint::Lists,
        Fault::RateLimited { should_retry: None },
        2,
    );
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    app.emulator
        .inject_times(Endpoint::Lists, Fault::ServerError, 1);
    assert_eq!(app.json("POST", &uri).await.0, StatusCode::ACCEPTED);
    assert_eq!(run(&app, SyncOptions::default()).await, 1);

    let text = scrape(&app).await;
    assert_eq!(
        value(&text, "stripe_requests_total{outcome=\"rate_limited\"}"),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(&text, "stripe_requests_total{outcome=\"error\"}"),
        1.0,
        "{text}"
    );
    assert!(value(&text, "stripe_requests_total{outcome=\"ok\"}") > 0.0);
    assert_eq!(value(&text, "stripe_requests_in_flight"), 0.0);
}
