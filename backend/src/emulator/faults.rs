//! Fault injection: make an endpoint fail the ways Stripe sometimes does (tests and the demo's
//! fault switch, `POST /faults`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::wire::form_body;
use super::{Emulator, Reply};

/// An endpoint faults can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Both token endpoints: `POST /oauth/token` and `POST /v1/oauth/token`.
    Token,
    /// `GET /v1/account`.
    Account,
    /// `POST /oauth/deauthorize`.
    Deauthorize,
    /// The list endpoints (`GET /v1/customers`, `/v1/charges`, … `/v1/events`).
    Lists,
}

impl Endpoint {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "token" => Some(Self::Token),
            "account" => Some(Self::Account),
            "deauthorize" => Some(Self::Deauthorize),
            "lists" => Some(Self::Lists),
            _ => None,
        }
    }
}

/// A fault to answer with instead of the real thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500 with Stripe's `api_error` body.
    ServerError,
    /// 200 with a body that is not valid JSON.
    Malformed,
    /// Answer normally, but only after this long.
    Slow(std::time::Duration),
    /// 429 with Stripe's `rate_limit` body, and `Stripe-Should-Retry` when given.
    RateLimited {
        /// The `Stripe-Should-Retry` header to send, if any.
        should_retry: Option<bool>,
    },
}

impl Emulator {
    /// Makes `endpoint` answer with `fault` (or normally again with `None`).
    pub fn inject(&self, endpoint: Endpoint, fault: Option<Fault>) {
        let mut state = self.lock();
        state.fault_budget.remove(&endpoint);
        match fault {
            Some(f) => state.faults.insert(endpoint, f),
            None => state.faults.remove(&endpoint),
        };
    }

    /// Makes `endpoint` answer with `fault` for its next `times` requests, then normally again.
    pub fn inject_times(&self, endpoint: Endpoint, fault: Fault, times: u32) {
        let mut state = self.lock();
        if times == 0 {
            state.faults.remove(&endpoint);
            state.fault_budget.remove(&endpoint);
        } else {
            state.faults.insert(endpoint, fault);
            state.fault_budget.insert(endpoint, times);
        }
    }

    /// Applies an injected fault: `Some(reply)` to send instead of the real answer.
    pub(super) async fn fault(&self, endpoint: Endpoint) -> Option<Reply> {
        let fault = {
            let mut state = self.lock();
            let fault = state.faults.get(&endpoint).copied();
            if let Some(left) = state.fault_budget.get_mut(&endpoint) {
                *left = left.saturating_sub(1);
                if *left == 0 {
                    state.fault_budget.remove(&endpoint);
                    state.faults.remove(&endpoint);
                }
            }
            fault
        };
        match fault? {
            Fault::RateLimited { should_retry } => {
                let body = Json(json!({ "error": {
                    "type": "invalid_request_error",
                    "code": "rate_limit",
                    "message": "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
                } }));
                let mut reply = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
                if let Some(retry) = should_retry {
                    reply.headers_mut().insert(
                        "stripe-should-retry",
                        header::HeaderValue::from_static(if retry { "true" } else { "false" }),
                    );
                }
                Some(reply)
            }
            Fault::ServerError => Some(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "error": { "type": "api_error", "message": "An unknown error occurred" } })),
                )
                    .into_response(),
            ),
            Fault::Malformed => Some(
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"access_token\": \"sk_test_trunc",
                )
                    .into_response(),
            ),
            Fault::Slow(delay) => {
                tokio::time::sleep(delay).await;
                None
            }
        }
    }
}

/// `POST /faults` (`endpoint=token|account|deauthorize|lists`,
/// `fault=server_error|malformed|slow|rate_limited|none`).
pub(super) async fn set_fault(State(emu): State<Emulator>, body: Bytes) -> Reply {
    let form = form_body(&body).unwrap_or_default();
    let endpoint = form.get("endpoint").and_then(|e| Endpoint::parse(e));
    let fault = match form.get("fault").map(String::as_str) {
        Some("server_error") => Some(Some(Fault::ServerError)),
        Some("malformed") => Some(Some(Fault::Malformed)),
        Some("slow") => Some(Some(Fault::Slow(std::time::Duration::from_secs(30)))),
        Some("rate_limited") => Some(Some(Fault::RateLimited { should_retry: None })),
        Some("none") => Some(None),
        _ => None,
    };
    match (endpoint, fault) {
        (Some(endpoint), Some(fault)) => {
            emu.inject(endpoint, fault);
            (StatusCode::OK, "fault set").into_response()
        }
        _ => (
            StatusCode::BAD_REQUEST,
            "endpoint=token|account|deauthorize|lists and fault=server_error|malformed|slow|rate_limited|none",
        )
            .into_response(),
    }
}
