//! Child lists as Stripe serves them: an invoice's `lines` and a subscription's `items` are
//! embedded cut at ten (`has_more: true` beyond, with the `url` to read the rest), and read whole,
//! page by page, from `GET /v1/invoices/{id}/lines` and `GET /v1/subscription_items?subscription=`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::fixtures::ListKind;
use super::wire::{unique_pairs, ApiError};
use super::{Emulator, Endpoint, Reply};

/// Items Stripe embeds of a child list.
const EMBEDDED: usize = 10;

/// The object as Stripe shows it: child lists cut at ten (an event's object too).
pub(super) fn cut(mut object: Value) -> Value {
    let field = match object["object"].as_str() {
        Some("invoice") => "lines",
        Some("subscription") => "items",
        Some("event") => {
            let inner = object["data"]["object"].take();
            object["data"]["object"] = cut(inner);
            return object;
        }
        _ => return object,
    };
    if let Some(data) = object[field]["data"].as_array_mut() {
        if data.len() > EMBEDDED {
            data.truncate(EMBEDDED);
            object[field]["has_more"] = Value::Bool(true);
        }
    }
    object
}

fn bad(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message).param(param)
}

impl Emulator {
    /// A page of `parent`'s children (`field` of an object of `kind`).
    fn children_page(
        &self,
        kind: ListKind,
        field: &str,
        parent: &str,
        headers: &HeaderMap,
        query: &str,
        url: String,
    ) -> Result<Reply, ApiError> {
        let account = self.reader(kind, headers)?;
        let params = unique_pairs(query).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e))?;
        let mut limit = 10;
        let mut after = None;
        for (name, value) in &params {
            match name.as_str() {
                "limit" => {
                    limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(|| bad(name, "limit must be between 1 and 100."))?;
                }
                "starting_after" => after = Some(value.clone()),
                "subscription" if kind == ListKind::Subscriptions => {}
                other => {
                    return Err(bad(other, format!("Received unknown parameter: {other}")));
                }
            }
        }
        let object = self.current_object(account, kind, parent).map_err(|()| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("No such {}: '{parent}'", kind.object()),
            )
            .code("resource_missing")
            .param("id")
        })?;
        let all = object[field]["data"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let start = match after {
            Some(id) => {
                all.iter()
                    .position(|v| v["id"] == id.as_str())
                    .ok_or_else(|| {
                        bad("starting_after", format!("No such object: '{id}'"))
                            .code("resource_missing")
                    })?
                    + 1
            }
            None => 0,
        };
        let rest = &all[start.min(all.len())..];
        Ok(Json(json!({
            "object": "list",
            "url": url,
            "has_more": rest.len() > limit,
            "data": rest.iter().take(limit).collect::<Vec<_>>(),
        }))
        .into_response())
    }
}

/// `GET /v1/invoices/{id}/lines`.
pub(super) async fn invoice_lines_handler(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Reply {
    if let Some(reply) = emu.fault(Endpoint::Lists).await {
        return reply;
    }
    let url = format!("/v1/invoices/{id}/lines");
    emu.children_page(
        ListKind::Invoices,
        "lines",
        &id,
        &headers,
        &query.unwrap_or_default(),
        url,
    )
    .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /v1/subscription_items?subscription=…` (the parameter is required).
pub(super) async fn subscription_items_handler(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Reply {
    if let Some(reply) = emu.fault(Endpoint::Lists).await {
        return reply;
    }
    let query = query.unwrap_or_default();
    let subscription = unique_pairs(&query)
        .ok()
        .and_then(|p| p.get("subscription").cloned());
    let Some(subscription) = subscription else {
        return bad("subscription", "Missing required param: subscription.").into_response();
    };
    emu.children_page(
        ListKind::Subscriptions,
        "items",
        &subscription,
        &headers,
        &query,
        "/v1/subscription_items".to_owned(),
    )
    .unwrap_or_else(IntoResponse::into_response)
}
