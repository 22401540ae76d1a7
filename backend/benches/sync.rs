//! `cargo bench -p backend --bench sync`: a backfill of 100,000 Stripe objects from a fast local
//! list server (rate limit lifted) into SQLite: rows/s, peak memory, where the time goes, and what
//! a running sync does to `GET /api/connections` under load. Numbers, not pass/fail.
//!
//! The list server runs in this process (it generates each object from its index as it is asked
//! for; nothing is held), so the CPU and memory figures include it: its share is printed.
//! `SYNC_BENCH_QUICK=1` runs the backfill alone (for `perf record`).
//! Peak RSS is mostly glibc's: compare `MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576` (one
//! arena per thread, and the Argon2 buffer of the sign-in kept in the heap, otherwise).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// `json!` of a whole Stripe charge nests deeper than the default limit.
#![recursion_limit = "256"]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use backend::app::app;
use backend::config::Secret;
use backend::domain::Credential;
use backend::state::AppState;
use backend::store::{self, JobEnd, Lease, NewConnection};
use backend::stripe::client::STRIPE_VERSION;
use backend::stripe::lists::StripeList;
use backend::sync::engine::{CURSOR_OVERLAP_SECS, LEASE_SECS};
use backend::sync::{run_due_jobs, SyncOptions};
use common::{bench_state, load, serve_product, sign_in, Bench};
use serde_json::{json, Value};
use url::Url;

/// The one key the list server accepts.
const KEY: &str = "rk_test_51SyncBenchKey0000000000";
/// Oldest object's `created`.
const EPOCH: i64 = 1_600_000_000;

/// One list the server serves: how many objects, their id prefix and Stripe's noun for them.
struct Spec {
    list: StripeList,
    prefix: &'static str,
    noun: &'static str,
    count: u64,
}

/// 100,000 objects over the seven lists.
const SPECS: [Spec; 7] = [
    Spec {
        list: StripeList::Customers,
        prefix: "cus",
        noun: "customer",
        count: 20_000,
    },
    Spec {
        list: StripeList::Charges,
        prefix: "ch",
        noun: "charge",
        count: 30_000,
    },
    Spec {
        list: StripeList::Coupons,
        prefix: "co",
        noun: "coupon",
        count: 2_500,
    },
    Spec {
        list: StripeList::Invoices,
        prefix: "in",
        noun: "invoice",
        count: 20_000,
    },
    Spec {
        list: StripeList::Plans,
        prefix: "plan",
        noun: "plan",
        count: 2_500,
    },
    Spec {
        list: StripeList::Subscriptions,
        prefix: "sub",
        noun: "subscription",
        count: 10_000,
    },
    Spec {
        list: StripeList::Events,
        prefix: "evt",
        noun: "event",
        count: 15_000,
    },
];

fn total_objects() -> u64 {
    SPECS.iter().map(|s| s.count).sum()
}

fn spec_of(list: StripeList) -> &'static Spec {
    SPECS.iter().find(|s| s.list == list).expect("spec")
}

impl Spec {
    /// The id of object `i` (ids of one list sort like their indexes).
    fn id(&self, i: u64) -> String {
        id(self.prefix, i)
    }

    /// The index of a well-formed id of this list below `count`.
    fn index(&self, id: &str) -> Option<u64> {
        let digits = id.strip_prefix(self.prefix)?.strip_prefix("_1Bench")?;
        let i: u64 = digits.parse().ok()?;
        (digits.len() == 8 && i < self.count).then_some(i)
    }

    /// Object `i`'s creation time: older objects have smaller indexes.
    fn created(&self, i: u64) -> i64 {
        created(i)
    }
}

fn id(prefix: &str, i: u64) -> String {
    format!("{prefix}_1Bench{i:08}")
}

fn created(i: u64) -> i64 {
    EPOCH + i64::try_from(i).expect("index") * 600 + (mix(i, 99) % 300) as i64
}

/// A deterministic pseudo-random number for (index, salt) (splitmix64).
fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a>(items: &[&'a str], i: u64, salt: u64) -> &'a str {
    items[(mix(i, salt) % items.len() as u64) as usize]
}

const FIRST: [&str; 12] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
    "Radia", "Niklaus",
];
const LAST: [&str; 12] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton",
    "Ritchie", "Perlman", "Wirth",
];
const PLACES: [(&str, &str, &str, &str); 6] = [
    ("San Francisco", "CA", "94103", "US"),
    ("New York", "NY", "10001", "US"),
    ("Austin", "TX", "73301", "US"),
    ("Dublin", "", "D02 X285", "IE"),
    ("Berlin", "", "10115", "DE"),
    ("Toronto", "ON", "M5V 2T6", "CA"),
];
const CURRENCIES: [&str; 4] = ["usd", "eur", "gbp", "cad"];

fn person(i: u64) -> (String, String) {
    let first = pick(&FIRST, i, 1);
    let last = pick(&LAST, i, 2);
    (
        format!("{first} {last}"),
        format!(
            "{}.{}{}@example.com",
            first.to_lowercase(),
            last.to_lowercase(),
            i
        ),
    )
}

fn address(i: u64) -> Value {
    let (city, state, postal, country) = PLACES[(mix(i, 3) % PLACES.len() as u64) as usize];
    json!({
        "city": city,
        "country": country,
        "line1": format!("{} Market Street", 1 + mix(i, 4) % 2000),
        "line2": if i.is_multiple_of(3) { Value::from(format!("Suite {}", 100 + i % 900)) } else { Value::Null },
        "postal_code": postal,
        "state": state,
    })
}

fn metadata(i: u64) -> Value {
    json!({
        "crm_id": format!("CRM-{:06}", mix(i, 5) % 1_000_000),
        "plan_tier": pick(&["starter", "growth", "enterprise"], i, 6),
        "region": pick(&["amer", "emea", "apac"], i, 7),
        "signup_source": pick(&["web", "sales", "partner", "import"], i, 8),
    })
}

fn customer(i: u64) -> Value {
    let (name, email) = person(i);
    let spec = spec_of(StripeList::Customers);
    json!({
        "id": spec.id(i),
        "object": "customer",
        "address": address(i),
        "balance": -((mix(i, 9) % 5) as i64) * 500,
        "created": spec.created(i),
        "currency": pick(&CURRENCIES, i, 10),
        "default_source": null,
        "delinquent": i.is_multiple_of(17),
        "description": format!("Customer since batch {}", i / 1000),
        "discount": null,
        "email": email,
        "invoice_prefix": format!("{:08X}", mix(i, 11) as u32),
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": format!("pm_1Bench{i:08}"),
            "footer": null,
            "rendering_options": null
        },
        "livemode": false,
        "metadata": metadata(i),
        "name": name,
        "next_invoice_sequence": 1 + mix(i, 12) % 40,
        "phone": format!("+1555{:07}", mix(i, 13) % 10_000_000),
        "preferred_locales": ["en-US"],
        "shipping": {
            "address": address(i + 1),
            "name": name,
            "phone": null
        },
        "tax_exempt": "none",
        "test_clock": null
    })
}

fn card(i: u64) -> Value {
    json!({
        "brand": pick(&["visa", "mastercard", "amex"], i, 20),
        "checks": {
            "address_line1_check": "pass",
            "address_postal_code_check": "pass",
            "cvc_check": "pass"
        },
        "country": "US",
        "exp_month": 1 + mix(i, 21) % 12,
        "exp_year": 2027 + mix(i, 22) % 5,
        "fingerprint": format!("Fp{:014x}", mix(i, 23) >> 8),
        "funding": pick(&["credit", "debit"], i, 24),
        "installments": null,
        "last4": format!("{:04}", mix(i, 25) % 10_000),
        "mandate": null,
        "network": "visa",
        "network_token": { "used": false },
        "three_d_secure": null,
        "wallet": null
    })
}

fn charge(i: u64) -> Value {
    let spec = spec_of(StripeList::Charges);
    let (name, email) = person(i % 20_000);
    let amount = 500 + (mix(i, 30) % 200) * 100;
    let failed = i.is_multiple_of(23);
    let customer = id("cus", i % 20_000);
    json!({
        "id": spec.id(i),
        "object": "charge",
        "amount": amount,
        "amount_captured": if failed { 0 } else { amount },
        "amount_refunded": 0,
        "application": null,
        "application_fee": null,
        "application_fee_amount": null,
        "balance_transaction": format!("txn_1Bench{i:08}"),
        "billing_details": {
            "address": address(i % 20_000),
            "email": email,
            "name": name,
            "phone": null
        },
        "calculated_statement_descriptor": "BENCH.TEST",
        "captured": !failed,
        "created": spec.created(i),
        "currency": pick(&CURRENCIES, i % 20_000, 10),
        "customer": customer,
        "description": format!("Subscription update #{i}"),
        "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": if failed { Value::from("card_declined") } else { Value::Null },
        "failure_message": if failed { Value::from("Your card was declined.") } else { Value::Null },
        "fraud_details": {},
        "invoice": id("in", i % 20_000),
        "livemode": false,
        "metadata": metadata(i),
        "on_behalf_of": null,
        "outcome": {
            "network_status": if failed { "declined_by_network" } else { "approved_by_network" },
            "reason": null,
            "risk_level": "normal",
            "risk_score": mix(i, 31) % 100,
            "seller_message": if failed { "The bank did not return any further details with this decline." } else { "Payment complete." },
            "type": if failed { "issuer_declined" } else { "authorized" }
        },
        "paid": !failed,
        "payment_intent": format!("pi_1Bench{i:08}"),
        "payment_method": format!("pm_1Bench{:08}", i % 20_000),
        "payment_method_details": { "card": card(i % 20_000), "type": "card" },
        "receipt_email": email,
        "receipt_number": null,
        "receipt_url": format!("https://pay.stripe.com/receipts/invoices/CAcQARoXChVhY2N0XzFCZW5jaA{i:08}?s=ap"),
        "refunded": false,
        "review": null,
        "shipping": null,
        "source_transfer": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": if failed { "failed" } else { "succeeded" },
        "transfer_data": null,
        "transfer_group": null
    })
}

fn coupon(i: u64) -> Value {
    let spec = spec_of(StripeList::Coupons);
    let percent = i.is_multiple_of(2);
    json!({
        "id": spec.id(i),
        "object": "coupon",
        "amount_off": if percent { Value::Null } else { Value::from(100 * (1 + i % 50)) },
        "created": spec.created(i),
        "currency": if percent { Value::Null } else { Value::from("usd") },
        "duration": pick(&["once", "repeating", "forever"], i, 40),
        "duration_in_months": if i % 3 == 1 { Value::from(3) } else { Value::Null },
        "livemode": false,
        "max_redemptions": null,
        "metadata": metadata(i),
        "name": format!("Promo {i}"),
        "percent_off": if percent { Value::from(5.0 + (i % 10) as f64 * 2.5) } else { Value::Null },
        "redeem_by": null,
        "times_redeemed": mix(i, 41) % 500,
        "valid": true
    })
}

fn plan_json(i: u64) -> Value {
    let spec = spec_of(StripeList::Plans);
    json!({
        "id": spec.id(i),
        "object": "plan",
        "active": !i.is_multiple_of(11),
        "aggregate_usage": null,
        "amount": 900 + (i % 40) * 100,
        "amount_decimal": format!("{}", 900 + (i % 40) * 100),
        "billing_scheme": "per_unit",
        "created": spec.created(i),
        "currency": "usd",
        "interval": pick(&["month", "year"], i, 50),
        "interval_count": 1,
        "livemode": false,
        "metadata": metadata(i),
        "meter": null,
        "nickname": format!("Plan {i}"),
        "product": format!("prod_1Bench{:08}", i / 4),
        "tiers_mode": null,
        "transform_usage": null,
        "trial_period_days": null,
        "usage_type": "licensed"
    })
}

fn invoice(i: u64) -> Value {
    let spec = spec_of(StripeList::Invoices);
    let (name, email) = person(i);
    let amount = 900 + (i % 40) * 100;
    let paid = !i.is_multiple_of(13);
    let start = spec.created(i) - 30 * 86_400;
    json!({
        "id": spec.id(i),
        "object": "invoice",
        "account_country": "US",
        "account_name": "Bench Inc.",
        "amount_due": amount,
        "amount_paid": if paid { amount } else { 0 },
        "amount_remaining": if paid { 0 } else { amount },
        "attempt_count": 1,
        "attempted": true,
        "auto_advance": !paid,
        "billing_reason": "subscription_cycle",
        "charge": id("ch", i),
        "collection_method": "charge_automatically",
        "created": spec.created(i),
        "currency": "usd",
        "customer": id("cus", i % 20_000),
        "customer_address": address(i),
        "customer_email": email,
        "customer_name": name,
        "description": null,
        "hosted_invoice_url": format!("https://invoice.stripe.com/i/acct_1Bench/test_{i:08}?s=ap"),
        "invoice_pdf": format!("https://pay.stripe.com/invoice/acct_1Bench/test_{i:08}/pdf?s=ap"),
        "lines": {
            "object": "list",
            "data": [{
                "id": format!("il_1Bench{i:08}"),
                "object": "line_item",
                "amount": amount,
                "currency": "usd",
                "description": format!("1 × Plan {} (at ${}.00 / month)", i % 2500, amount / 100),
                "livemode": false,
                "metadata": {},
                "period": { "end": spec.created(i), "start": start },
                "plan": { "id": id("plan", i % 2500), "object": "plan", "amount": amount, "interval": "month" },
                "proration": false,
                "quantity": 1,
                "subscription": id("sub", i % 10_000),
                "type": "subscription"
            }],
            "has_more": false,
            "total_count": 1,
            "url": format!("/v1/invoices/{}/lines", spec.id(i))
        },
        "livemode": false,
        "metadata": metadata(i),
        "number": format!("{:08X}-{:04}", mix(i, 11) as u32, 1 + i % 40),
        "paid": paid,
        "period_end": spec.created(i),
        "period_start": start,
        "status": if paid { "paid" } else { "open" },
        "status_transitions": {
            "finalized_at": spec.created(i),
            "marked_uncollectible_at": null,
            "paid_at": if paid { Value::from(spec.created(i) + 60) } else { Value::Null },
            "voided_at": null
        },
        "subscription": id("sub", i % 10_000),
        "subtotal": amount,
        "tax": null,
        "total": amount,
        "webhooks_delivered_at": spec.created(i) + 5
    })
}

/// Every 7th subscription is canceled (listed only with `status=all`).
fn canceled(i: u64) -> bool {
    i.is_multiple_of(7)
}

fn subscription(i: u64) -> Value {
    let spec = spec_of(StripeList::Subscriptions);
    let start = spec.created(i);
    let end = start + 30 * 86_400;
    let status = if canceled(i) {
        "canceled"
    } else {
        pick(
            &["active", "active", "active", "past_due", "trialing"],
            i,
            60,
        )
    };
    json!({
        "id": spec.id(i),
        "object": "subscription",
        "application": null,
        "billing_cycle_anchor": start,
        "cancel_at": null,
        "cancel_at_period_end": false,
        "canceled_at": if canceled(i) { Value::from(end) } else { Value::Null },
        "collection_method": "charge_automatically",
        "created": start,
        "currency": "usd",
        "current_period_end": end,
        "current_period_start": start,
        "customer": id("cus", i % 20_000),
        "days_until_due": null,
        "default_payment_method": format!("pm_1Bench{:08}", i % 20_000),
        "discount": null,
        "ended_at": if canceled(i) { Value::from(end) } else { Value::Null },
        "items": {
            "object": "list",
            "data": [{
                "id": format!("si_1Bench{i:08}"),
                "object": "subscription_item",
                "created": start,
                "metadata": {},
                "price": {
                    "id": format!("price_1Bench{:08}", i % 2500),
                    "object": "price",
                    "active": true,
                    "currency": "usd",
                    "product": format!("prod_1Bench{:08}", (i % 2500) / 4),
                    "recurring": { "interval": "month", "interval_count": 1, "usage_type": "licensed" },
                    "type": "recurring",
                    "unit_amount": 900 + (i % 40) * 100
                },
                "quantity": 1,
                "subscription": spec.id(i)
            }],
            "has_more": false,
            "total_count": 1,
            "url": format!("/v1/subscription_items?subscription={}", spec.id(i))
        },
        "latest_invoice": id("in", i % 20_000),
        "livemode": false,
        "metadata": metadata(i),
        "pause_collection": null,
        "start_date": start,
        "status": status,
        "trial_end": null,
        "trial_start": null
    })
}

fn event(i: u64) -> Value {
    let spec = spec_of(StripeList::Events);
    let (kind, object) = match i % 3 {
        0 => ("customer.updated", customer(i % 20_000)),
        1 => ("charge.succeeded", charge(i % 30_000)),
        _ => ("invoice.paid", invoice(i % 20_000)),
    };
    json!({
        "id": spec.id(i),
        "object": "event",
        "account": "acct_1SyncBench",
        "api_version": STRIPE_VERSION,
        "created": spec.created(i),
        "data": { "object": object },
        "livemode": false,
        "pending_webhooks": 0,
        "request": { "id": format!("req_{:014x}", mix(i, 70) >> 8), "idempotency_key": null },
        "type": kind
    })
}

fn object(list: StripeList, i: u64) -> Value {
    match list {
        StripeList::Customers => customer(i),
        StripeList::Charges => charge(i),
        StripeList::Coupons => coupon(i),
        StripeList::Invoices => invoice(i),
        StripeList::Plans => plan_json(i),
        StripeList::Subscriptions => subscription(i),
        StripeList::Events => event(i),
    }
}

/// The list server's counters.
#[derive(Default)]
struct ListServer {
    /// Time spent building and serialising answers.
    nanos: AtomicU64,
    /// Answer bytes.
    bytes: AtomicU64,
    /// Requests answered.
    requests: AtomicU64,
}

fn stripe_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body =
        json!({"error": {"type": "invalid_request_error", "code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(KEY)
}

fn unauthorized() -> Response {
    stripe_error(
        StatusCode::UNAUTHORIZED,
        "api_key_invalid",
        "Invalid API Key provided",
    )
}

fn spec_named(name: &str) -> Option<&'static Spec> {
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
async fn list_handler(
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
async fn retrieve_handler(
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
async fn list_server() -> (Url, Arc<ListServer>) {
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

/// A `/proc/self/status` figure in MiB (`VmRSS`, `VmHWM`).
fn mem_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU seconds used so far by this process's threads, summed by thread kind: `main` (the bench's
/// own task, which runs `run_due_jobs`), `tokio` (the runtime's workers: the list server, the HTTP
/// connections), `sqlite` (sqlx's one thread per pooled SQLite connection) and `other`.
fn cpu_by_thread() -> HashMap<&'static str, f64> {
    // USER_HZ is 100 on every Linux this runs on.
    const TICK: f64 = 0.01;
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        // After the name: state (field 3) … utime (14), stime (15).
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks: f64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
            .unwrap_or(0.0);
        let kind = if comm.starts_with("tokio-") {
            "tokio"
        } else if comm.starts_with("sqlx-sqlite") {
            "sqlite"
        } else if task.file_name().to_str() == Some(&std::process::id().to_string()) {
            "main"
        } else {
            "other"
        };
        *out.entry(kind).or_insert(0.0) += ticks * TICK;
    }
    out
}

/// `after - before`, by thread kind, as one line.
fn cpu_line(before: &HashMap<&'static str, f64>, wall: Duration) -> String {
    let after = cpu_by_thread();
    let used =
        |k: &str| after.get(k).copied().unwrap_or(0.0) - before.get(k).copied().unwrap_or(0.0);
    let total: f64 = ["main", "tokio", "sqlite", "other"]
        .iter()
        .map(|k| used(k))
        .sum();
    format!(
        "CPU {total:.2} s in {:.2} s wall ({:.2} cores; {:.1} µs/object): sync task (main thread) {:.2} s, runtime workers (list server, HTTP) {:.2} s, SQLite threads {:.2} s, other {:.2} s",
        wall.as_secs_f64(),
        total / wall.as_secs_f64(),
        total * 1e6 / total_objects() as f64,
        used("main"),
        used("tokio"),
        used("sqlite"),
        used("other"),
    )
}

/// Resets the peak (`VmHWM`) to the current RSS (Linux ≥ 4.0); whether it could.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Connects a test-mode account by a restricted key, stored as the product stores it.
async fn connect(state: &AppState, account: &str) -> i64 {
    let now = state.clock.now();
    let new = NewConnection {
        stripe_user_id: account.to_owned(),
        livemode: false,
        display_name: format!("Sync bench {account}"),
        scope: "restricted_key".into(),
        publishable_key: None,
        credential: Credential {
            kind: shared::AuthKind::RestrictedKey,
            secret: Secret::new(KEY),
            refresh_token: None,
            expires_at: None,
        },
        key_last4: Some(KEY[KEY.len() - 4..].to_owned()),
        started_at: now,
        duration_ms: 0,
        next_check_at: now + 3600,
    };
    store::upsert_connection(&state.pool, &state.cipher, &new, now)
        .await
        .expect("connection")
}

/// Rows stored for a connection over the seven tables.
async fn stored_rows(state: &AppState, connection: i64) -> i64 {
    let mut n = 0;
    for list in StripeList::ALL {
        let rows: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM stripe_{} WHERE connection_id = $1",
            list.name()
        ))
        .bind(connection)
        .fetch_one(&state.pool)
        .await
        .expect("count");
        n += rows;
    }
    n
}

/// The list server answers what an incremental pass asks: events after a time, one object by id,
/// the canceled subscriptions only with `status=all`, and a deleted cursor as Stripe does.
async fn check_list_server(state: &AppState) {
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

/// Queues a sync of `connection` and runs due jobs to the end; the time it took.
async fn sync(state: &AppState, connection: i64) -> Duration {
    store::enqueue_sync(&state.pool, connection, state.clock.now(), true)
        .await
        .expect("enqueue");
    let t = Instant::now();
    let runs = run_due_jobs(state, SyncOptions::default())
        .await
        .expect("sync");
    let took = t.elapsed();
    assert_eq!(runs, 1, "one run");
    assert_eq!(
        stored_rows(state, connection).await,
        total_objects() as i64,
        "every object stored"
    );
    took
}

/// The answer to a list read, as the client parses it.
#[derive(serde::Deserialize)]
struct PageAnswer {
    data: Vec<Value>,
    has_more: bool,
}

/// Where a backfill's time goes.
#[derive(Default)]
struct Split {
    /// Sending the request and reading the answer's bytes (includes the server's work).
    fetch: Duration,
    /// Parsing the answer into `serde_json::Value`s.
    parse: Duration,
    /// `store::commit_page` (SQL text, one upsert per object with the object re-serialised, the
    /// checkpoint, the commit).
    commit: Duration,
    /// `store::finish_table`.
    finish: Duration,
    pages: u64,
    objects: u64,
}

/// One page of `list` after `after`, as the client reads it (the answer's bytes).
async fn fetch_page(
    http: oauth2::reqwest::Client,
    api: Url,
    list: StripeList,
    after: Option<String>,
) -> axum::body::Bytes {
    let url = api.join(&list.path()[1..]).expect("url");
    let mut query = vec![("limit", "100")];
    query.extend_from_slice(list.base_query());
    if let Some(after) = &after {
        query.push(("starting_after", after));
    }
    http.get(url)
        .query(&query)
        .bearer_auth(KEY)
        .header("Stripe-Version", STRIPE_VERSION)
        .send()
        .await
        .expect("answer")
        .error_for_status()
        .expect("status")
        .bytes()
        .await
        .expect("body")
}

/// The engine's page loop, copied with a stopwatch around each step (same client, same store
/// calls, same lease): a backfill of `connection`. `prefetch`: the next page is read while this one
/// commits (not what the engine does; what it could do), and `fetch` is then the wait for it.
async fn timed_backfill(state: &AppState, connection: i64, prefetch: bool) -> (Duration, Split) {
    store::enqueue_sync(&state.pool, connection, state.clock.now(), true)
        .await
        .expect("enqueue");
    let owner = "bench:timed";
    let now = state.clock.now();
    let job = store::claim_sync_job(&state.pool, owner, now, now + LEASE_SECS)
        .await
        .expect("claim")
        .expect("a job");
    let lease = |now: i64| Lease {
        job_id: job.id,
        owner,
        now,
        until: now + LEASE_SECS,
    };
    let mut split = Split::default();
    let started = Instant::now();
    store::begin_full_pass(
        &state.pool,
        lease(now),
        connection,
        now - CURSOR_OVERLAP_SECS,
    )
    .await
    .expect("begin")
    .expect("lease held");
    for list in StripeList::ALL {
        let mut after: Option<String> = None;
        let mut first = true;
        let mut next: Option<tokio::task::JoinHandle<axum::body::Bytes>> = None;
        loop {
            let t = Instant::now();
            let bytes = match next.take() {
                Some(prefetched) => prefetched.await.expect("prefetch"),
                None => {
                    fetch_page(
                        state.http().clone(),
                        state.stripe.api_url().clone(),
                        list,
                        after.clone(),
                    )
                    .await
                }
            };
            split.fetch += t.elapsed();
            let t = Instant::now();
            let page: PageAnswer = serde_json::from_slice(&bytes).expect("page");
            drop(bytes);
            split.parse += t.elapsed();
            after = page
                .data
                .last()
                .and_then(|o| o["id"].as_str())
                .map(str::to_owned);
            if prefetch && page.has_more && after.is_some() {
                next = Some(tokio::spawn(fetch_page(
                    state.http().clone(),
                    state.stripe.api_url().clone(),
                    list,
                    after.clone(),
                )));
            }
            let t = Instant::now();
            let lease = lease(state.clock.now());
            assert!(
                store::commit_page(&state.pool, lease, connection, list, &page.data, first)
                    .await
                    .expect("commit"),
                "lease held"
            );
            split.commit += t.elapsed();
            split.pages += 1;
            split.objects += page.data.len() as u64;
            first = false;
            if !page.has_more || page.data.is_empty() {
                let t = Instant::now();
                let reconcile = list != StripeList::Events;
                assert!(
                    store::finish_table(&state.pool, lease, connection, list, reconcile)
                        .await
                        .expect("finish")
                );
                split.finish += t.elapsed();
                break;
            }
        }
    }
    assert!(
        store::advance_events(&state.pool, lease(state.clock.now()), connection, None)
            .await
            .expect("advance")
    );
    let took = started.elapsed();
    let now = state.clock.now();
    store::finish_sync_job(&state.pool, job.id, owner, JobEnd::Done, now)
        .await
        .expect("finish job");
    (took, split)
}

fn pct(part: Duration, whole: Duration) -> f64 {
    100.0 * part.as_secs_f64() / whole.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let quick = std::env::var_os("SYNC_BENCH_QUICK").is_some();
    let rss_start = mem_mib("VmRSS");
    let (stripe, server) = list_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let Bench { state, .. } = bench_state(dir.path(), &stripe, Some(1e9)).await;
    let router = app(state.clone(), dir.path(), None);
    let cookie = sign_in(&router).await;
    // The five synced connections, and idle ones up to the 100 rows of the flow bench's table.
    let a = connect(&state, "acct_1SyncBenchA").await;
    let b = connect(&state, "acct_1SyncBenchB").await;
    let c = connect(&state, "acct_1SyncBenchC").await;
    let d = connect(&state, "acct_1SyncBenchD").await;
    let e = connect(&state, "acct_1SyncBenchE").await;
    for i in 0..95 {
        connect(&state, &format!("acct_1SyncIdle{i:03}")).await;
    }

    check_list_server(&state).await;
    let total = total_objects();
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "sync benchmark: {total} objects over the seven lists from a local list server, rate limit lifted, into SQLite (WAL) on {}; {} cores, load average {}\n",
        dir.path().display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    );

    // 1. The backfill as the product runs it.
    let rss_before = mem_mib("VmRSS");
    let peak_reset = reset_peak();
    let (nanos, bytes, requests) = (
        server.nanos.load(Ordering::Relaxed),
        server.bytes.load(Ordering::Relaxed),
        server.requests.load(Ordering::Relaxed),
    );
    let cpu = cpu_by_thread();
    let took = sync(&state, a).await;
    let peak = mem_mib("VmHWM");
    let cpu = cpu_line(&cpu, took);
    let served = server.bytes.load(Ordering::Relaxed) - bytes;
    let server_time = Duration::from_nanos(server.nanos.load(Ordering::Relaxed) - nanos);
    let pages = server.requests.load(Ordering::Relaxed) - requests;
    println!(
        "backfill (run_due_jobs): {total} objects in {:.2} s = {:.0} rows/s ({pages} pages, {:.1} MiB of JSON, {:.0} B/object)",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        served as f64 / (1024.0 * 1024.0),
        served as f64 / total as f64,
    );
    println!(
        "memory: RSS at start {rss_start:.1} MiB, before the sync {rss_before:.1} MiB, peak during the sync {peak:.1} MiB (VmHWM{}; the process also holds the list server, the router and the database pool)",
        if peak_reset {
            ", reset before the sync"
        } else {
            " since start: clear_refs refused"
        }
    );
    println!(
        "  of which the in-process list server building and serialising its answers: {:.2} s ({:.0} % of the wall time)",
        server_time.as_secs_f64(),
        pct(server_time, took)
    );
    println!("  {cpu}");

    // 2. The same backfill, timed step by step.
    let nanos = server.nanos.load(Ordering::Relaxed);
    let cpu = cpu_by_thread();
    let (took, split) = timed_backfill(&state, b, false).await;
    let cpu = cpu_line(&cpu, took);
    let server_time = Duration::from_nanos(server.nanos.load(Ordering::Relaxed) - nanos);
    assert_eq!(split.objects, total);
    let rest = took
        .saturating_sub(split.fetch)
        .saturating_sub(split.parse)
        .saturating_sub(split.commit)
        .saturating_sub(split.finish);
    println!(
        "timed copy of the page loop: {total} objects in {:.2} s = {:.0} rows/s, {} pages:",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        split.pages
    );
    for (name, part) in [
        ("HTTP fetch (request → body bytes)", split.fetch),
        ("  of which the list server building the JSON", server_time),
        ("JSON parse (bytes → serde_json::Value)", split.parse),
        ("store::commit_page (SQLite, one tx/page)", split.commit),
        ("store::finish_table", split.finish),
        ("the rest", rest),
    ] {
        println!(
            "  {name:<46} {:>7.2} s {:>5.1} %  {:>7.1} µs/object",
            part.as_secs_f64(),
            pct(part, took),
            part.as_secs_f64() * 1e6 / total as f64
        );
    }
    println!("  {cpu}");

    // 3. The same with the next page read while this one commits.
    let cpu = cpu_by_thread();
    let (took, split) = timed_backfill(&state, d, true).await;
    let cpu = cpu_line(&cpu, took);
    assert_eq!(split.objects, total);
    println!(
        "the copy reading the next page while this one commits: {total} objects in {:.2} s = {:.0} rows/s (waiting for pages {:.2} s, parse {:.2} s, commit_page {:.2} s)",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        split.fetch.as_secs_f64(),
        split.parse.as_secs_f64(),
        split.commit.as_secs_f64(),
    );
    println!("  {cpu}");
    if quick {
        return;
    }

    // 4. `GET /api/connections` (100 rows) under load, without and then during a sync.
    let product = serve_product(router).await;
    let url = format!("{product}/api/connections");
    println!();
    let (rps, p99) = load(&url, Some(&cookie)).await;
    println!("under load: GET /api/connections {rps:.0} req/s p99 {p99:.1?} (no sync running)");
    store::enqueue_sync(&state.pool, c, state.clock.now(), true)
        .await
        .expect("enqueue");
    let sync_task = {
        let state = state.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            run_due_jobs(&state, SyncOptions::default())
                .await
                .expect("sync");
            t.elapsed()
        })
    };
    // The sync is under way (its first pages in) before the load starts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (rps_sync, p99_sync) = load(&url, Some(&cookie)).await;
    let rows_at_load_end = stored_rows(&state, c).await;
    let sync_took = sync_task.await.expect("sync task");
    assert_eq!(stored_rows(&state, c).await, total as i64);
    println!(
        "under load: GET /api/connections {rps_sync:.0} req/s p99 {p99_sync:.1?} while a sync runs = {:.0} % of the throughput without ({rows_at_load_end} rows synced by the load's end; the whole sync took {:.2} s = {:.0} rows/s)",
        100.0 * rps_sync / rps,
        sync_took.as_secs_f64(),
        total as f64 / sync_took.as_secs_f64()
    );

    // The same with the sync at the product's default rate (test mode), stopped after the load.
    let paced = AppState {
        settings: Arc::new(backend::state::Settings {
            sync_rate_limit: None,
            ..(*state.settings).clone()
        }),
        ..state.clone()
    };
    store::enqueue_sync(&state.pool, e, state.clock.now(), true)
        .await
        .expect("enqueue");
    let paced_start = Instant::now();
    let sync_task = tokio::spawn(async move {
        run_due_jobs(&paced, SyncOptions::default())
            .await
            .expect("sync")
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (rps_paced, p99_paced) = load(&url, Some(&cookie)).await;
    let rows = stored_rows(&state, e).await;
    let paced_took = paced_start.elapsed();
    sync_task.abort();
    println!(
        "under load: GET /api/connections {rps_paced:.0} req/s p99 {p99_paced:.1?} while a sync at the default test-mode rate runs = {:.0} % of the throughput without ({rows} rows synced in {:.1} s)",
        100.0 * rps_paced / rps,
        paced_took.as_secs_f64()
    );
    // Once more without a sync: how much the figures move between runs on this machine.
    let (rps_again, p99_again) = load(&url, Some(&cookie)).await;
    println!(
        "under load: GET /api/connections {rps_again:.0} req/s p99 {p99_again:.1?} (no sync running, again: the spread between runs)"
    );
}
