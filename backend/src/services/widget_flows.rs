//! A host widget's OAuth flows: started with its session token, opened once in its popup (which
//! gets the cookie the callback checks), and the words its `error` event carries.

use shared::CallbackError;

use super::authorize::{new_state, MAX_STATE_LEN};
use super::connections::ConnectionError;
use crate::crypto::sha256_hex;
use crate::state::AppState;
use crate::store;

/// The sentence a widget's `error` event carries for a callback code (the host shows it or its own).
pub fn widget_message(error: CallbackError) -> &'static str {
    match error {
        CallbackError::AccessDenied => "Access to Stripe was not granted.",
        CallbackError::InvalidState => "This Stripe sign-in expired or was already used.",
        CallbackError::SessionMismatch => "This Stripe sign-in was started in another browser.",
        CallbackError::AccountMismatch => "A different Stripe account than the connection's.",
        CallbackError::AccountElsewhere => "This Stripe account is connected elsewhere.",
        CallbackError::ExchangeRefused | CallbackError::StripeError => {
            "Stripe refused the authorization."
        }
        CallbackError::StripeUnavailable => "Stripe could not be reached.",
        CallbackError::InvalidRequest | CallbackError::StorageFailed => {
            "The connection could not be made."
        }
    }
}

/// How long a widget's flow waits for its popup.
pub const WIDGET_FLOW_TTL_SECS: i64 = 10 * 60;
/// The cookie that binds a widget's flow to the popup's browser (sent back only to the callback).
pub const WIDGET_COOKIE: &str = "connections_widget_oauth";

/// Starts a widget's flow for its organization (and the connection being re-authenticated): the
/// URL of our `/widget/authorize` page, which the widget opens in its popup. `origin` is the host
/// page's, where the outcome is posted.
pub async fn start_widget(
    app: &AppState,
    flow: store::WidgetFlow,
) -> Result<String, ConnectionError> {
    let id = new_state();
    store::create_widget_flow(
        &app.pool,
        &sha256_hex(&id),
        &flow,
        app.clock.now(),
        WIDGET_FLOW_TTL_SECS,
    )
    .await?;
    Ok(format!(
        "{}/widget/authorize?flow={id}",
        app.settings.public_origin
    ))
}

/// Opens a widget's flow in its popup, once: the nonce to keep in the popup's cookie and Stripe's
/// authorize URL; `None` when the flow is unknown, used or expired.
pub async fn open_widget_flow(
    app: &AppState,
    flow_id: &str,
) -> Result<Option<(String, String)>, ConnectionError> {
    if flow_id.is_empty() || flow_id.len() > MAX_STATE_LEN {
        return Ok(None);
    }
    let now = app.clock.now();
    let Some(flow) = store::consume_widget_flow(&app.pool, &sha256_hex(flow_id), now).await? else {
        return Ok(None);
    };
    let nonce = new_state();
    let binding = sha256_hex(&nonce);
    let oauth_state = new_state();
    let target = store::WidgetTarget {
        origin: flow.origin,
        actor: flow.actor,
        return_to: flow.return_to,
    };
    let owner = store::StateOwner {
        binding: &binding,
        connection_id: flow.connection_id,
        organization_id: flow.organization_id,
        widget: Some(&target),
    };
    store::save_state(&app.pool, &oauth_state, owner, now).await?;
    let url = app
        .flows
        .authorize_url(&oauth_state)
        .map_err(|e| ConnectionError::Internal(e.to_string()))?;
    Ok(Some((nonce, url.into())))
}
