//! A Stripe-like list server for the sync's concurrency tests: many accounts (one per key, each
//! list with its own number of objects), Stripe's answer time, and Stripe's rate limits per
//! account — live 100 requests/s in total and 25 per endpoint, test 25 in total — counted over a
//! sliding second, answering 429 with `Stripe-Rate-Limited-Reason` over a limit. It records what
//! it saw: the busiest second of each account and endpoint, the refusals, and the reads of each
//! list's first page (no cursor, no `created` bound), which a job run twice would repeat.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};
use tokio::time::Instant;
use url::Url;

/// The first object's `created`; three objects share each second after it.
pub const BASE: i64 = 1_700_000_000;

/// One account: its key and objects per list.
#[derive(Debug, Clone)]
pub struct Account {
    pub key: String,
    pub livemode: bool,
    pub per_list: u64,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Requests answered 2xx, by key.
    pub requests: HashMap<String, u64>,
    /// Requests refused with 429, by key.
    pub refused: HashMap<String, u64>,
    /// The most requests of one key in any second (arrivals, refused ones excepted).
    pub busiest: HashMap<String, usize>,
    /// The most requests of one key to one endpoint in any second.
    pub busiest_endpoint: HashMap<(String, String), usize>,
    /// Reads of a list's first page (no cursor, no bound), by key and list.
    pub first_pages: HashMap<(String, String), u64>,
    /// Reads with a `created` bound, by key.
    pub bounded: HashMap<String, u64>,
    /// Arrivals in the last second, by key and by key and endpoint.
    window: HashMap<String, VecDeque<Instant>>,
    endpoint_window: HashMap<(String, String), VecDeque<Instant>>,
}

/// The server's state.
pub struct StripeLike {
    pub url: Url,
    accounts: HashMap<String, Account>,
    latency: Duration,
    /// Limits as a share of Stripe's (1.0: Stripe's own).
    limits: f64,
    pub seen: Mutex<Seen>,
}

const LISTS: [(&str, &str); 7] = [
    ("customers", "cus"),
    ("charges", "ch"),
    ("coupons", "co"),
    ("invoices", "in"),
    ("plans", "plan"),
    ("subscriptions", "sub"),
    ("events", "evt"),
];

fn prefix(list: &str) -> Option<&'static str> {
    LISTS.iter().find(|(l, _)| *l == list).map(|(_, p)| *p)
}

/// The id of object `i` of a list (ids sort like their indexes).
pub fn id(list: &str, i: u64) -> String {
    format!("{}_{i:08}", prefix(list).unwrap_or("obj"))
}

/// When object `i` was created: three to a second.
pub fn created(i: u64) -> i64 {
    BASE + i64::try_from(i / 3).unwrap_or(0)
}

fn object(list: &str, i: u64) -> Value {
    let kind = match list {
        "customers" => "customer",
        "charges" => "charge",
        "coupons" => "coupon",
        "invoices" => "invoice",
        "plans" => "plan",
        "subscriptions" => "subscription",
        _ => "event",
    };
    let mut object =
        json!({"id": id(list, i), "object": kind, "created": created(i), "livemode": false});
    match kind {
        "subscription" => object["status"] = json!("active"),
        "event" => {
            object["type"] = json!("customer.updated");
            object["data"] = json!({"object": {"id": id("customers", i), "object": "customer"}});
        }
        "charge" | "invoice" => object["amount"] = json!(100 + i),
        _ => {}
    }
    object
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body =
        json!({"error": {"type": "invalid_request_error", "code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

impl StripeLike {
    /// Starts the server for `accounts`, answering after `latency`, with `limits` times Stripe's
    /// rate limits.
    pub async fn start(accounts: &[Account], latency: Duration, limits: f64) -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let server = Arc::new(Self {
            url,
            accounts: accounts
                .iter()
                .map(|a| (a.key.clone(), a.clone()))
                .collect(),
            latency,
            limits,
            seen: Mutex::default(),
        });
        let router = axum::Router::new()
            .route("/v1/{list}", get(list))
            .with_state(server.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        server
    }

    /// Every id of a list of the account with `key`.
    pub fn ids(&self, key: &str, list: &str) -> Vec<String> {
        (0..self.accounts[key].per_list)
            .map(|i| id(list, i))
            .collect()
    }

    /// Counts an arrival; `Some(reason)` when it is over a limit.
    fn admit(&self, key: &str, endpoint: &str, livemode: bool) -> Option<&'static str> {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap();
        let total_limit = ((if livemode { 100.0 } else { 25.0 }) * self.limits) as usize;
        // Test mode's 25 in total bounds every endpoint too.
        let endpoint_limit = (25.0 * self.limits) as usize;
        let prune = |q: &mut VecDeque<Instant>| {
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                q.pop_front();
            }
        };
        let window = seen.window.entry(key.to_owned()).or_default();
        prune(window);
        let total = window.len();
        let endpoint_key = (key.to_owned(), endpoint.to_owned());
        let endpoint_window = seen
            .endpoint_window
            .entry(endpoint_key.clone())
            .or_default();
        prune(endpoint_window);
        let at_endpoint = endpoint_window.len();
        let reason = if total >= total_limit {
            Some("global-rate")
        } else if at_endpoint >= endpoint_limit {
            Some("endpoint-rate")
        } else {
            None
        };
        if reason.is_some() {
            *seen.refused.entry(key.to_owned()).or_default() += 1;
            return reason;
        }
        seen.window.get_mut(key).unwrap().push_back(now);
        seen.endpoint_window
            .get_mut(&endpoint_key)
            .unwrap()
            .push_back(now);
        let busiest = seen.busiest.entry(key.to_owned()).or_default();
        *busiest = (*busiest).max(total + 1);
        let busiest = seen.busiest_endpoint.entry(endpoint_key).or_default();
        *busiest = (*busiest).max(at_endpoint + 1);
        *seen.requests.entry(key.to_owned()).or_default() += 1;
        None
    }
}

/// `GET /v1/{list}?limit=&starting_after=&created[gte|lt]=`, newest first.
async fn list(
    State(server): State<Arc<StripeLike>>,
    Path(list): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let Some(account) = server.accounts.get(&key).cloned() else {
        return error(
            StatusCode::UNAUTHORIZED,
            "api_key_invalid",
            "Invalid API Key provided",
        );
    };
    if prefix(&list).is_none() {
        return error(
            StatusCode::NOT_FOUND,
            "resource_missing",
            "Unrecognized request URL",
        );
    }
    if let Some(reason) = server.admit(&key, &list, account.livemode) {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit",
            "Request rate limit exceeded.",
        );
        response
            .headers_mut()
            .insert("stripe-rate-limited-reason", reason.parse().unwrap());
        return response;
    }
    tokio::time::sleep(server.latency).await;
    let limit: u64 = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10)
        .clamp(1, 100);
    let bound = |name: &str| query.get(name).and_then(|v| v.parse::<i64>().ok());
    let (gte, lt) = (bound("created[gte]"), bound("created[lt]"));
    {
        let mut seen = server.seen.lock().unwrap();
        if gte.is_some() || lt.is_some() {
            *seen.bounded.entry(key.clone()).or_default() += 1;
        } else if !query.contains_key("starting_after") {
            *seen
                .first_pages
                .entry((key.clone(), list.clone()))
                .or_default() += 1;
        }
    }
    // Indexes newest first: below the cursor, inside the bounds.
    let below = match query.get("starting_after") {
        None => account.per_list,
        Some(after) => match (0..account.per_list).find(|i| id(&list, *i) == *after) {
            Some(i) => i,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "resource_missing",
                    "No such object",
                )
            }
        },
    };
    let data: Vec<Value> = (0..below)
        .rev()
        .filter(|i| gte.is_none_or(|b| created(*i) >= b) && lt.is_none_or(|b| created(*i) < b))
        .take(usize::try_from(limit + 1).unwrap_or(101))
        .map(|i| object(&list, i))
        .collect();
    let has_more = data.len() as u64 > limit;
    let data: Vec<Value> = data.into_iter().take(limit as usize).collect();
    axum::Json(
        json!({"object": "list", "url": format!("/v1/{list}"), "has_more": has_more, "data": data}),
    )
    .into_response()
}
