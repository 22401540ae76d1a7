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
/// URL of our `/widget/authorize` page, which the widget opens in its popup (or, with `return_to`,
/// in the host page itself), and for a popup flow the proof the popup will ask the widget for —
/// so a forwarded link, opened anywhere else, goes nowhere.
pub async fn start_widget(
    app: &AppState,
    mut flow: store::WidgetFlow,
) -> Result<(String, Option<String>), ConnectionError> {
    let id = new_state();
    let proof = flow.return_to.is_none().then(new_state);
    flow.proof_hash = proof.as_deref().map(sha256_hex);
    store::create_widget_flow(
        &app.pool,
        &sha256_hex(&id),
        &flow,
        app.clock.now(),
        WIDGET_FLOW_TTL_SECS,
    )
    .await?;
    let url = format!("{}/widget/authorize?flow={id}", app.settings.public_origin);
    Ok((url, proof))
}

/// What the popup's page says before going on: the organization, the host product, the host page's
/// origin, and whether the flow needs the widget's proof (a popup flow) rather than a click.
pub async fn describe_widget_flow(
    app: &AppState,
    flow_id: &str,
) -> Result<Option<(String, String, String, bool)>, ConnectionError> {
    if flow_id.is_empty() || flow_id.len() > MAX_STATE_LEN {
        return Ok(None);
    }
    Ok(store::peek_widget_flow(&app.pool, &sha256_hex(flow_id), app.clock.now()).await?)
}

/// Goes on with a widget's flow, once (a popup flow only with the widget's `proof`): the nonce to
/// keep in the browser's cookie and Stripe's authorize URL; `None` when the flow is unknown, used,
/// expired, or the proof is wrong.
pub async fn open_widget_flow(
    app: &AppState,
    flow_id: &str,
    proof: Option<&str>,
) -> Result<Option<(String, String)>, ConnectionError> {
    if flow_id.is_empty() || flow_id.len() > MAX_STATE_LEN {
        return Ok(None);
    }
    let now = app.clock.now();
    let proof_hash = proof.map(sha256_hex);
    let Some(flow) =
        store::consume_widget_flow(&app.pool, &sha256_hex(flow_id), proof_hash.as_deref(), now)
            .await?
    else {
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
