//! A Stripe-like server for the Stripe-conditions bench: `GET /v1/{list}` (`limit` 1–100,
//! `starting_after`, `created[gt|gte|lt|lte]` and `created` on every list, `status=all` on
//! subscriptions, newest first, `has_more`) and `GET /v1/{list}/{id}`, for any number of accounts
//! named by their keys (`stripe_account.rs`), each answer after Stripe's latency (log-normal, median
//! 250 ms, a tail to 2 s; a sleep, no thread held), each account held to Stripe's rate limits
//! (`stripe_limits.rs`) with Stripe's 429. Objects are built as they are asked for; nothing is held
//! but the limits' windows. A page costs two binary searches and its own objects, not a scan.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use backend::stripe::lists::StripeList;
use serde_json::{json, Value};
use url::Url;

use crate::list_server::{spec_named, stripe_error, unauthorized};
use crate::objects::canceled;
use crate::stripe_account::Account;
use crate::stripe_limits::{AccountLimits, AccountStats, Endpoint, Refusal};

/// Median answer time of a Stripe list call.
const MEDIAN_LATENCY: Duration = Duration::from_millis(250);
/// σ of the latency's logarithm: p95 ≈ 445 ms, p99 ≈ 565 ms.
const LATENCY_SIGMA: f64 = 0.35;
/// No answer takes longer.
const MAX_LATENCY: Duration = Duration::from_secs(2);

/// The server's accounts, by key: their limits and what they saw.
pub struct StripeServer {
    /// When the server started (Unix seconds): the newest objects' creation time.
    pub end: i64,
    accounts: Mutex<HashMap<String, AccountLimits>>,
}

impl StripeServer {
    fn accounts(&self) -> MutexGuard<'_, HashMap<String, AccountLimits>> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the account of `key` saw so far (zeros if it was never called).
    pub fn stats(&self, key: &str) -> AccountStats {
        self.accounts()
            .get(key)
            .map(AccountLimits::stats)
            .unwrap_or_default()
    }

    /// The sum of what the accounts of `keys` saw (maxima: the largest of one account).
    pub fn total<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> AccountStats {
        let mut total = AccountStats::default();
        for key in keys {
            total += self.stats(key);
        }
        total
    }

    /// Admits a request of `key`'s account to `endpoint` (or refuses it); the request is in
    /// flight until the returned guard is dropped.
    fn admit(
        self: &Arc<Self>,
        key: &str,
        account: Account,
        endpoint: Endpoint,
    ) -> (InFlight, Result<(), Refusal>) {
        let admitted = self.accounts().entry(key.to_owned()).or_default().admit(
            account.live,
            endpoint,
            Instant::now(),
        );
        let flight = InFlight {
            server: self.clone(),
            key: key.to_owned(),
            objects: 0,
        };
        (flight, admitted)
    }
}

/// A request in flight; its answer's objects are counted when it ends (answered or dropped).
struct InFlight {
    server: Arc<StripeServer>,
    key: String,
    objects: u64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(limits) = self.server.accounts().get_mut(&self.key) {
            limits.answered(self.objects);
        }
    }
}

/// A random answer time: log-normal (Box–Muller), capped.
fn latency() -> Duration {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    MEDIAN_LATENCY
        .mul_f64((LATENCY_SIGMA * z).exp())
        .min(MAX_LATENCY)
}

/// The bearer key and its account, if the key names one.
fn authenticate(headers: &HeaderMap) -> Option<(String, Account)> {
    let key = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    Some((key.to_owned(), Account::from_key(key)?))
}

/// Stripe's 429.
fn rate_limited(refusal: Refusal) -> Response {
    let mut response = stripe_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit",
        "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
    );
    response.headers_mut().insert(
        "stripe-rate-limited-reason",
        HeaderValue::from_static(refusal.reason()),
    );
    response
}

/// Stripe's 400 for a parameter it refuses.
struct BadParameter {
    code: &'static str,
    message: String,
}

impl IntoResponse for BadParameter {
    fn into_response(self) -> Response {
        stripe_error(StatusCode::BAD_REQUEST, self.code, &self.message)
    }
}

fn bad_parameter(code: &'static str, message: String) -> BadParameter {
    BadParameter { code, message }
}

fn json_answer(value: &Value) -> Response {
    let body = serde_json::to_vec(value).expect("json");
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// An integer parameter, or Stripe's 400.
fn integer(name: &str, value: &str) -> Result<i64, BadParameter> {
    value.parse().map_err(|_| {
        bad_parameter(
            "parameter_invalid_integer",
            format!("Invalid integer: {value} (parameter {name})"),
        )
    })
}

/// Which objects of a list a request asks for: the index range, newest first from `below`.
struct Page {
    /// Objects from this index…
    from: u64,
    /// …to before this one.
    below: u64,
    limit: usize,
    /// Canceled subscriptions too (`status=all`).
    all: bool,
}

/// Reads a list request's parameters (Stripe refuses any it does not know).
fn page(
    account: Account,
    end: i64,
    list: StripeList,
    query: &[(String, String)],
) -> Result<Page, BadParameter> {
    let mut page = Page {
        from: 0,
        below: account.per_list,
        limit: 10,
        all: list != StripeList::Subscriptions,
    };
    // The first index whose creation time makes `past` false.
    let first = |past: &dyn Fn(i64) -> bool| account.first_index(end, past);
    for (name, value) in query {
        match name.as_str() {
            "limit" => match integer(name, value)? {
                n @ 1..=100 => page.limit = usize::try_from(n).expect("limit"),
                n => {
                    return Err(bad_parameter(
                        "parameter_invalid_integer",
                        format!("This value must be between 1 and 100 (it currently is '{n}')."),
                    ))
                }
            },
            "starting_after" => match account.index(list, value) {
                Some(i) => page.below = page.below.min(i),
                None => {
                    let noun = spec_named(list.name()).expect("spec").noun;
                    return Err(bad_parameter(
                        "resource_missing",
                        format!("No such {noun}: '{value}'"),
                    ));
                }
            },
            "created" | "created[gt]" | "created[gte]" | "created[lt]" | "created[lte]" => {
                let bound = integer(name, value)?;
                let (from, below) = match name.as_str() {
                    "created" => (first(&|c| c < bound), first(&|c| c <= bound)),
                    "created[gt]" => (first(&|c| c <= bound), account.per_list),
                    "created[gte]" => (first(&|c| c < bound), account.per_list),
                    "created[lt]" => (0, first(&|c| c < bound)),
                    _ => (0, first(&|c| c <= bound)),
                };
                page.from = page.from.max(from);
                page.below = page.below.min(below);
            }
            "status" if list == StripeList::Subscriptions => {
                if value != "all" {
                    return Err(bad_parameter(
                        "parameter_invalid_string",
                        format!("This bench server serves status=all only, not '{value}'"),
                    ));
                }
                page.all = true;
            }
            _ => {
                return Err(bad_parameter(
                    "parameter_unknown",
                    format!("Received unknown parameter: {name}"),
                ))
            }
        }
    }
    Ok(page)
}

/// `GET /v1/{list}`.
async fn list_handler(
    State(server): State<Arc<StripeServer>>,
    Path(name): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let Some((key, account)) = authenticate(&headers) else {
        return unauthorized();
    };
    let Some(list) = spec_named(&name).map(|s| s.list) else {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "resource_missing",
            "Unrecognized request URL",
        );
    };
    let endpoint = Endpoint {
        list,
        retrieve: false,
    };
    let (mut flight, admitted) = server.admit(&key, account, endpoint);
    tokio::time::sleep(latency()).await;
    if let Err(refusal) = admitted {
        return rate_limited(refusal);
    }
    let page = match page(account, server.end, list, &query) {
        Ok(page) => page,
        Err(refused) => return refused.into_response(),
    };
    let mut picked: Vec<u64> = (page.from..page.below)
        .rev()
        .filter(|i| page.all || !canceled(*i))
        .take(page.limit + 1)
        .collect();
    let has_more = picked.len() > page.limit;
    picked.truncate(page.limit);
    flight.objects = picked.len() as u64;
    let data: Vec<Value> = picked
        .into_iter()
        .map(|i| account.object(server.end, list, i))
        .collect();
    json_answer(&json!({
        "object": "list",
        "url": format!("/v1/{name}"),
        "has_more": has_more,
        "data": data,
    }))
}

/// `GET /v1/{list}/{id}`.
async fn retrieve_handler(
    State(server): State<Arc<StripeServer>>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some((key, account)) = authenticate(&headers) else {
        return unauthorized();
    };
    let Some(spec) = spec_named(&name) else {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "resource_missing",
            "Unrecognized request URL",
        );
    };
    let endpoint = Endpoint {
        list: spec.list,
        retrieve: true,
    };
    let (mut flight, admitted) = server.admit(&key, account, endpoint);
    tokio::time::sleep(latency()).await;
    if let Err(refusal) = admitted {
        return rate_limited(refusal);
    }
    match account.index(spec.list, &id) {
        Some(i) => {
            flight.objects = 1;
            json_answer(&account.object(server.end, spec.list, i))
        }
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "resource_missing",
            &format!("No such {}: '{id}'", spec.noun),
        ),
    }
}

/// Starts the server on a loopback port; its base URL and its accounts.
pub async fn stripe_server() -> (Url, Arc<StripeServer>) {
    let end = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("now");
    let server = Arc::new(StripeServer {
        end,
        accounts: Mutex::default(),
    });
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
