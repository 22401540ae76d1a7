//! The Stripe-like list server: `GET /v1/<list>` (cursor, `created` bounds, `status=all`) and
//! `GET /v1/<list>/<id>`, generating each object from its index as it is asked for (nothing held).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use backend::config::Secret;
use backend::state::AppState;
use backend::stripe::lists::StripeList;
use serde_json::{json, Value};
use url::Url;

use crate::objects::{canceled, customer, object};
use crate::spec::{spec_of, Spec, KEY, SPECS};

/// The list server's counters.
#[derive(Default)]
pub struct ListServer {
    /// Time spent building and serialising answers.
    pub nanos: AtomicU64,
    /// Answer bytes.
    pub bytes: AtomicU64,
    /// Requests answered.
    pub requests: AtomicU64,
}

pub fn stripe_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body =
        json!({"error": {"type": "invalid_request_error", "code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

pub fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(KEY)
}

pub fn unauthorized() -> Response {
    stripe_error(
        StatusCode::UNAUTHORIZED,
        "api_key_invalid",
        "Invalid API Key provided",
    )
}

pub fn spec_named(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.list.name() == name)
}

impl ListServer {
    fn answer(&self, started: Instant, body: Vec<u8>) -> Response {
        self.nanos.fetch_add(
            u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// `GET /v1/<list>?limit=&starting_after=[&status=all][&created[gt|gte|lt|lte]=]`, newest first.
pub async fn list_handler(
    State(server): State<Arc<ListServer>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let Some(spec) = spec_named(&name) else {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "resource_missing",
            "Unrecognized request URL",
        );
    };
    let started = Instant::now();
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(10)
        .clamp(1, 100);
    // Objects before index `below` (newest first) follow the cursor.
    let below = match query.get("starting_after") {
        None => spec.count,
        Some(after) => match spec.index(after) {
            Some(i) => i,
            None => {
                return stripe_error(
                    StatusCode::BAD_REQUEST,
                    "resource_missing",
                    &format!("No such {}: '{after}'", spec.noun),
                )
            }
        },
    };
    let bound = |key: &str| query.get(key).and_then(|v| v.parse::<i64>().ok());
    let (gt, gte, lt, lte) = (
        bound("created[gt]"),
        bound("created[gte]"),
        bound("created[lt]"),
        bound("created[lte]"),
    );
    let all = spec.list != StripeList::Subscriptions
        || query.get("status").map(String::as_str) == Some("all");
    let keep = |i: &u64| {
        let c = spec.created(*i);
        (all || !canceled(*i))
            && gt.is_none_or(|b| c > b)
            && gte.is_none_or(|b| c >= b)
            && lt.is_none_or(|b| c < b)
            && lte.is_none_or(|b| c <= b)
    };
    let mut picked: Vec<u64> = (0..below).rev().filter(keep).take(limit + 1).collect();
    let has_more = picked.len() > limit;
    picked.truncate(limit);
    let data: Vec<Value> = picked.into_iter().map(|i| object(spec.list, i)).collect();
    let body = serde_json::to_vec(&json!({
        "object": "list",
        "url": format!("/v1/{name}"),
        "has_more": has_more,
        "data": data,
    }))
    .expect("json");
    server.answer(started, body)
}

/// `GET /v1/<list>/<id>`.
pub async fn retrieve_handler(
    State(server): State<Arc<ListServer>>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let started = Instant::now();
    match spec_named(&name).and_then(|s| Some((s, s.index(&id)?))) {
        Some((spec, i)) => {
            let body = serde_json::to_vec(&object(spec.list, i)).expect("json");
            server.answer(started, body)
        }
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "resource_missing",
            &format!("No such object: '{id}'"),
        ),
    }
}

/// Starts the list server; its base URL and counters.
pub async fn list_server() -> (Url, Arc<ListServer>) {
    let server = Arc::new(ListServer::default());
    let router = axum::Router::new()
        .route("/v1/{list}", get(list_handler))
        .route("/v1/{list}/{id}", get(retrieve_handler))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url =
        Url::parse(&format!("http://{}/", listener.local_addr().expect("addr"))).expect("url");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    (url, server)
}

/// The list server answers what an incremental pass asks: events after a time, one object by id,
/// the canceled subscriptions only with `status=all`, and a deleted cursor as Stripe does.
pub async fn check_list_server(state: &AppState) {
    let key = Secret::new(KEY);
    let events = spec_of(StripeList::Events);
    let newest = events.count - 1;
    let since = events.created(newest - 2).to_string();
    let page: Value = state
        .stripe
        .get("/v1/events", &[("created[gte]", since.as_str())], &key)
        .await
        .expect("events since");
    let ids: Vec<&str> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            events.id(newest),
            events.id(newest - 1),
            events.id(newest - 2)
        ]
    );
    let since = events.created(newest).to_string();
    let page: Value = state
        .stripe
        .get("/v1/events", &[("created[gt]", since.as_str())], &key)
        .await
        .expect("events after");
    assert_eq!(page["data"], json!([]));
    assert_eq!(page["has_more"], false);
    let customers = spec_of(StripeList::Customers);
    let one: Value = state
        .stripe
        .get(&format!("/v1/customers/{}", customers.id(7)), &[], &key)
        .await
        .expect("retrieve");
    assert_eq!(one, customer(7));
    let missing = state
        .stripe
        .get::<Value>("/v1/customers/cus_nope", &[], &key)
        .await;
    assert!(missing.is_err());
    let subscriptions = spec_of(StripeList::Subscriptions);
    let active: Value = state
        .stripe
        .get("/v1/subscriptions", &[("limit", "100")], &key)
        .await
        .expect("subscriptions");
    assert!(active["data"]
        .as_array()
        .expect("data")
        .iter()
        .all(|s| s["status"] != "canceled"));
    let all = state
        .stripe
        .list_page(StripeList::Subscriptions, None, &key)
        .await
        .expect("all subscriptions");
    assert!(all.data.iter().any(|s| s["status"] == "canceled"));
    assert_eq!(all.data[0]["id"], subscriptions.id(subscriptions.count - 1));
    let gone = state
        .stripe
        .list_page(StripeList::Customers, Some("cus_1Bench99999999"), &key)
        .await;
    assert!(matches!(
        gone,
        Err(backend::stripe::StripeError::Missing(_))
    ));
}
