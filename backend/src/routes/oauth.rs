//! `GET /oauth/stripe/callback`: where Stripe sends the admin back. The `state` is checked and
//! consumed before anything else, so a replayed callback never reaches Stripe's token endpoint (a
//! second use of a code would revoke the connection). Every outcome redirects to the Connections
//! page with a code for the banner; a failure stores nothing.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use shared::{callback_redirect, CallbackError};

use shared::Role;
use tower_sessions::Session;

use crate::auth;
use crate::domain::AuthorizationCode;
use crate::startup::AppState;
use crate::store::{self, NewConnection};
use crate::stripe::account::fetch_account;
use crate::stripe::oauth::GrantedAccess;
use crate::stripe::StripeError;

/// Longest `state` we look up; ours are 43 characters.
const MAX_STATE_LEN: usize = 256;

/// The callback handler.
pub async fn stripe_callback(
    State(state): State<AppState>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    // Finished in its own task: if the browser goes away mid-way, the exchange still completes
    // (or hands its grant back) instead of being dropped half-done.
    let notice_session = session.clone();
    let outcome = tokio::spawn(async move {
        complete_authorization(&state, &session, query.as_deref().unwrap_or_default()).await
    })
    .await
    .unwrap_or_else(|_| Err(CallbackError::StorageFailed.into()));
    let location = match outcome {
        Ok(id) => callback_redirect(Ok(id)),
        Err(Failure { error, notice }) => {
            if let Some(notice) = notice {
                if let Err(e) = notice_session.insert(auth::CALLBACK_NOTICE, notice).await {
                    tracing::warn!(error = %e, "could not keep the callback notice");
                }
            }
            callback_redirect(Err(error))
        }
    };
    (
        [(header::CACHE_CONTROL, "no-store")],
        Redirect::to(&location),
    )
        .into_response()
}

fn parse_query(raw: &str) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return None;
        }
    }
    Some(out)
}

/// A failed callback: the banner code and, for a refused re-authentication, the names it shows.
struct Failure {
    error: CallbackError,
    notice: Option<shared::CallbackNotice>,
}

impl From<CallbackError> for Failure {
    fn from(error: CallbackError) -> Self {
        Self {
            error,
            notice: None,
        }
    }
}

async fn complete_authorization(
    app: &AppState,
    session: &Session,
    raw_query: &str,
) -> Result<i64, Failure> {
    let Some(params) = parse_query(raw_query) else {
        tracing::warn!("stripe callback refused: malformed query string");
        return Err(CallbackError::InvalidRequest.into());
    };
    let oauth_state = params
        .get("state")
        .filter(|s| !s.is_empty() && s.len() <= MAX_STATE_LEN)
        .ok_or_else(|| {
            tracing::warn!("stripe callback refused: no usable state");
            CallbackError::InvalidState
        })?;
    let consumed = store::consume_state(&app.pool, oauth_state, app.clock.now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "stripe callback: could not check state");
            CallbackError::StorageFailed
        })?;
    let Some(consumed) = consumed else {
        tracing::warn!("stripe callback refused: unknown, expired or already used state");
        return Err(CallbackError::InvalidState.into());
    };
    // The flow must finish in the session that started it, by a user who is still an Admin.
    let ours = auth::existing_oauth_binding(session).await.ok().flatten();
    if ours.as_deref() != Some(consumed.session_binding.as_str()) {
        tracing::warn!("stripe callback refused: started in another session");
        return Err(CallbackError::SessionMismatch.into());
    }
    let user = match auth::signed_in_user(session, app).await {
        Ok(user) if user.role == Role::Admin => user,
        _ => {
            tracing::warn!("stripe callback refused: not signed in as an Admin");
            return Err(CallbackError::SessionMismatch.into());
        }
    };
    if let Some(error) = params.get("error") {
        tracing::info!(error = %error.chars().take(64).collect::<String>(), "stripe authorization not granted");
        return Err(if error == "access_denied" {
            CallbackError::AccessDenied
        } else {
            CallbackError::StripeError
        }
        .into());
    }
    // Re-authentication of an existing connection (which may have been deleted meanwhile).
    let expected = match consumed.connection_id {
        Some(id) => Some(
            store::find_connection(&app.pool, id)
                .await
                .map_err(|_| CallbackError::StorageFailed)?
                .ok_or(CallbackError::InvalidState)?,
        ),
        None => None,
    };
    let code = params
        .get("code")
        .and_then(|c| AuthorizationCode::parse(c).ok())
        .ok_or_else(|| {
            tracing::warn!("stripe callback refused: missing or malformed code");
            CallbackError::InvalidRequest
        })?;

    let granted = app
        .oauth
        .exchange_code(&app.http, code.expose())
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "stripe code exchange failed");
            match e {
                StripeError::Refused { .. } => CallbackError::ExchangeRefused,
                _ => CallbackError::StripeUnavailable,
            }
        })?;

    match store_granted(app, &granted, expected.as_ref()).await {
        Ok(id) => {
            let action = if expected.is_some() {
                "re-authenticated"
            } else {
                "connected"
            };
            tracing::info!(account = %granted.account, connection_id = id, action, "stripe account connected");
            let _ = store::audit(
                &app.pool,
                id,
                granted.account.as_str(),
                &user.email,
                action,
                "authorized through Stripe; connection test passed",
                app.clock.now(),
            )
            .await;
            Ok(id)
        }
        Err(e) => {
            // We hold a live grant we could not keep: hand it back so nothing dangles at Stripe —
            // unless that account is already one of our connections, which it would break.
            let in_use = store::account_is_connected(&app.pool, granted.account.as_str())
                .await
                .unwrap_or(true);
            if !in_use {
                if let Err(revoke) = app.oauth.deauthorize(&app.http, &granted.account).await {
                    tracing::warn!(error = %revoke, account = %granted.account, "could not deauthorize an unused grant");
                }
            }
            Err(e)
        }
    }
}

/// Reads the account with the new token (the first connection test), then stores the connection.
/// When re-authenticating, a different account than the connection's is refused, naming both.
async fn store_granted(
    app: &AppState,
    granted: &GrantedAccess,
    expected: Option<&shared::Connection>,
) -> Result<i64, Failure> {
    let started_at = app.clock.now();
    let timer = Instant::now();
    let account = fetch_account(&app.http, app.oauth.endpoints(), &granted.access_token)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, account = %granted.account, "reading the new account failed");
            Failure::from(CallbackError::StripeUnavailable)
        })?;
    let duration_ms = i64::try_from(timer.elapsed().as_millis()).unwrap_or(i64::MAX);
    if account.id != granted.account.as_str() {
        tracing::warn!(account = %granted.account, "the token reads a different account than it was granted for");
        return Err(CallbackError::StripeUnavailable.into());
    }
    if let Some(expected) = expected {
        if expected.account_id != granted.account.as_str() {
            tracing::warn!(connection_id = expected.id, expected = %expected.account_id, got = %granted.account, "re-authentication with another account refused");
            return Err(Failure {
                error: CallbackError::AccountMismatch,
                notice: Some(shared::CallbackNotice {
                    connection_id: expected.id,
                    expected: expected.name.clone(),
                    other: account.display_name(),
                }),
            });
        }
    }
    let new = NewConnection {
        stripe_user_id: granted.account.to_string(),
        livemode: granted.livemode,
        display_name: account.display_name(),
        scope: granted.scope.clone(),
        publishable_key: granted.publishable_key.clone(),
        access_token: granted.access_token.clone(),
        refresh_token: granted.refresh_token.clone(),
        started_at,
        duration_ms,
        next_check_at: app.clock.now() + app.health_interval_secs,
    };
    store::upsert_connection(&app.pool, &app.cipher, &new, app.clock.now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storing the connection failed");
            CallbackError::StorageFailed.into()
        })
}
