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
}

impl Emulator {
    /// Makes `endpoint` answer with `fault` (or normally again with `None`).
    pub fn inject(&self, endpoint: Endpoint, fault: Option<Fault>) {
        let mut state = self.lock();
        match fault {
            Some(f) => state.faults.insert(endpoint, f),
            None => state.faults.remove(&endpoint),
        };
    }

    /// Applies an injected fault: `Some(reply)` to send instead of the real answer.
    pub(super) async fn fault(&self, endpoint: Endpoint) -> Option<Reply> {
        let fault = self.lock().faults.get(&endpoint).copied();
        match fault? {
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
/// `fault=server_error|malformed|slow|none`).
pub(super) async fn set_fault(State(emu): State<Emulator>, body: Bytes) -> Reply {
    let form = form_body(&body).unwrap_or_default();
    let endpoint = form.get("endpoint").and_then(|e| Endpoint::parse(e));
    let fault = match form.get("fault").map(String::as_str) {
        Some("server_error") => Some(Some(Fault::ServerError)),
        Some("malformed") => Some(Some(Fault::Malformed)),
        Some("slow") => Some(Some(Fault::Slow(std::time::Duration::from_secs(30)))),
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
            "endpoint=token|account|deauthorize|lists and fault=server_error|malformed|slow|none",
        )
            .into_response(),
    }
}
