//! `POST /webhooks/stripe`: Stripe's events, verified over the raw body before anything is read. A
//! deauthorization marks the account's connections; a data event of a connected account is queued
//! durably for its connections (applied by `sync::queued_events` right after the answer); an event of
//! an account with no connection here is acknowledged and dropped.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::webhook;

/// Largest event body accepted (Stripe's are a few KB).
pub const MAX_BODY: usize = 256 * 1024;

/// The event fields we use.
#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    livemode: bool,
    /// When Stripe created the event (Unix seconds).
    #[serde(default)]
    created: Option<i64>,
}

/// Verifies, stores the event id once, reacts to `account.application.deauthorized` and queues data
/// events of connected accounts.
pub async fn stripe_webhook(
    State(state): State<AppState>,
    request: Request,
) -> Result<StatusCode, AppError> {
    if state.webhook_secrets.is_empty() {
        return Err(AppError::WebhooksDisabled);
    }
    let refused = |e: webhook::SignatureError| {
        tracing::warn!(error = %e, "webhook refused");
        AppError::BadRequest(format!("Webhook signature refused: {e}."))
    };
    // The header is checked before the body is even read: a forged request costs no HMAC.
    let signature = request
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let signature =
        webhook::SignatureHeader::parse(signature, state.clock.now()).map_err(refused)?;
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|_| AppError::TooLarge)?;
    let secrets: Vec<String> = state
        .webhook_secrets
        .iter()
        .map(|s| s.expose().to_owned())
        .collect();
    signature.verify(&body, &secrets).map_err(refused)?;
    let event: Event = serde_json::from_slice(&body)
        .map_err(|_| AppError::BadRequest("The webhook body is not a Stripe event.".into()))?;
    let now = state.clock.now();
    match (event.kind.as_str(), event.account.as_deref()) {
        ("account.application.deauthorized", Some(account)) => {
            match store::apply_deauthorization(
                &state.pool,
                &event.id,
                account,
                event.livemode,
                event.created,
                now,
            )
            .await?
            {
                None => tracing::info!(event = %event.id, "webhook redelivery ignored"),
                Some(ids) => {
                    for id in ids {
                        tracing::info!(connection_id = %id, account = %account, "access revoked at Stripe");
                    }
                }
            }
        }
        (kind, Some(account)) => {
            let received = store::ReceivedEvent {
                id: &event.id,
                kind,
                account,
                livemode: event.livemode,
                created: event.created.unwrap_or(now),
                body: std::str::from_utf8(&body).map_err(|_| {
                    AppError::BadRequest("The webhook body is not a Stripe event.".into())
                })?,
            };
            let queued = store::queue_event(&state.pool, &received, now).await?;
            if !queued.is_empty() {
                state.webhook_wake.notify_one();
            }
        }
        _ => {
            // The platform's own events are acknowledged and remembered, not acted on.
            store::first_delivery(
                &state.pool,
                &event.id,
                &event.kind,
                event.account.as_deref(),
                now,
            )
            .await?;
        }
    }
    Ok(StatusCode::OK)
}
