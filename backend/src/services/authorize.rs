//! The OAuth round trip of the configured flow (Stripe Apps or classic Connect): a single-use
//! `state` bound to the admin's session, and the callback. The `state` is checked and consumed
//! before anything else, so a replayed callback never reaches Stripe's token endpoint (a second use
//! of a code would revoke the connection). A failure stores nothing and hands back a grant it
//! could not keep.

use crate::ids::{ConnectionId, OrganizationId};
use std::collections::HashMap;
use std::time::Instant;

use shared::{AuditAction, AuditDetail, CallbackError, CallbackNotice, ConnectionStatus, Role};

use super::connection_check::check_interval;
use super::connections::ConnectionError;
use super::reconcile::hand_back;
use crate::domain::{AuditActor, AuthorizationCode};
use crate::session::{self, SessionId};
use crate::state::AppState;
use crate::store::{self, AuditLine, NewConnection};
use crate::stripe::flows::Grant;
use crate::stripe::StripeError;

/// Longest `state` we look up; ours are 43 characters.
pub(super) const MAX_STATE_LEN: usize = 256;

/// 256 random bits, URL-safe.
pub fn new_state() -> String {
    oauth2::CsrfToken::new_random_len(32).secret().clone()
}

/// Issues a single-use `state` bound to `session` (and to the connection being re-authenticated)
/// and returns the URL of Stripe's authorize page.
pub async fn start(
    app: &AppState,
    session: &SessionId,
    connection_id: Option<ConnectionId>,
) -> Result<String, ConnectionError> {
    if let Some(id) = connection_id {
        store::find_connection(&app.pool, id)
            .await?
            .ok_or(ConnectionError::NotFound)?;
    }
    let binding = session::oauth_binding(&app.pool, session)
        .await
        .map_err(|e| ConnectionError::Internal(e.to_string()))?;
    let oauth_state = new_state();
    let owner = store::StateOwner {
        binding: &binding,
        connection_id,
        organization_id: store::DEFAULT_ORGANIZATION,
        widget: None,
    };
    store::save_state(&app.pool, &oauth_state, owner, app.clock.now()).await?;
    let url = app
        .flows
        .authorize_url(&oauth_state)
        .map_err(|e| ConnectionError::Internal(e.to_string()))?;
    Ok(url.into())
}

/// A failed callback: the banner code and, for a refused re-authentication, the names it shows.
#[derive(Debug)]
pub struct Failure {
    /// The banner code.
    pub error: CallbackError,
    /// Kept in the session for the banner.
    pub notice: Option<CallbackNotice>,
}

impl From<CallbackError> for Failure {
    fn from(error: CallbackError) -> Self {
        Self {
            error,
            notice: None,
        }
    }
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

/// Who a callback finishes for: the Admin's session (the flow's start bound it), or a widget's popup
/// (its cookie's nonce).
#[derive(Debug, Clone, Copy)]
pub struct CallbackBrowser<'a> {
    /// The session cookie's session, if it sent one.
    pub session: Option<&'a SessionId>,
    /// The widget popup's nonce cookie, if sent.
    pub widget_nonce: Option<&'a str>,
}

/// How a callback ended, and for a widget's flow the host page's origin to tell.
#[derive(Debug)]
pub struct Completion {
    /// The connection's id, or why not.
    pub outcome: Result<ConnectionId, Failure>,
    /// A widget's flow: where its outcome goes.
    pub widget: Option<store::WidgetTarget>,
}

/// Completes the callback whose query string is `raw_query`.
pub async fn complete(app: &AppState, browser: CallbackBrowser<'_>, raw_query: &str) -> Completion {
    let mut widget = None;
    let outcome = finish(app, browser, raw_query, &mut widget).await;
    Completion { outcome, widget }
}

/// The callback, step by step: its `state` consumed, the browser checked, Stripe's answer read, the
/// code exchanged (journalled first), the grant kept or handed back.
async fn finish(
    app: &AppState,
    browser: CallbackBrowser<'_>,
    raw_query: &str,
    widget: &mut Option<store::WidgetTarget>,
) -> Result<ConnectionId, Failure> {
    let Some(params) = parse_query(raw_query) else {
        tracing::warn!("stripe callback refused: malformed query string");
        return Err(CallbackError::InvalidRequest.into());
    };
    let consumed = take_state(app, &params).await?;
    *widget = consumed.widget.clone();
    let (actor, organization) = check_browser(app, browser, &consumed).await?;
    if let Some(error) = params.get("error") {
        tracing::info!(error = %error.chars().take(64).collect::<String>(), "stripe authorization not granted");
        return Err(if error == "access_denied" {
            CallbackError::AccessDenied
        } else {
            CallbackError::StripeError
        }
        .into());
    }
    let expected = reauthorized_connection(app, &consumed).await?;
    // Anything else Stripe adds to the redirect (account or user ids) is ignored: only the token
    // answer says which account was granted.
    let code = params
        .get("code")
        .and_then(|c| AuthorizationCode::parse(c).ok())
        .ok_or_else(|| {
            tracing::warn!("stripe callback refused: missing or malformed code");
            CallbackError::InvalidRequest
        })?;
    let (journal, grant) = exchange(app, &code).await?;
    let kept = Kept {
        expected: expected.as_ref(),
        organization,
        actor: &actor,
    };
    keep_grant(app, journal, &grant, kept).await
}

/// The callback's `state`, checked and consumed before anything else (a replay stops here).
async fn take_state(
    app: &AppState,
    params: &HashMap<String, String>,
) -> Result<store::ConsumedState, Failure> {
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
    consumed.ok_or_else(|| {
        tracing::warn!("stripe callback refused: unknown, expired or already used state");
        CallbackError::InvalidState.into()
    })
}

/// The flow must finish in the browser that started it: an Admin's (still an Admin) in the same
/// session, or the widget's popup holding the flow's cookie. Who acts, and for a widget the
/// organization the connection goes to.
async fn check_browser(
    app: &AppState,
    browser: CallbackBrowser<'_>,
    consumed: &store::ConsumedState,
) -> Result<(AuditActor, Option<OrganizationId>), Failure> {
    let Some(target) = &consumed.widget else {
        let Some(browser_session) = browser.session else {
            tracing::warn!("stripe callback refused: no session");
            return Err(CallbackError::SessionMismatch.into());
        };
        let ours = session::existing_oauth_binding(&app.pool, browser_session)
            .await
            .ok()
            .flatten();
        if ours.as_deref() != Some(consumed.session_binding.as_str()) {
            tracing::warn!("stripe callback refused: started in another session");
            return Err(CallbackError::SessionMismatch.into());
        }
        return match session::signed_in_user(&app.pool, browser_session, app.clock.now()).await {
            Ok(user) if user.role == Role::Admin => Ok((AuditActor::User(user.email), None)),
            _ => {
                tracing::warn!("stripe callback refused: not signed in as an Admin");
                Err(CallbackError::SessionMismatch.into())
            }
        };
    };
    let nonce = browser.widget_nonce.map(crate::crypto::sha256_hex);
    if nonce.as_deref() != Some(consumed.session_binding.as_str()) {
        tracing::warn!("stripe callback refused: a widget flow finished in another browser");
        return Err(CallbackError::SessionMismatch.into());
    }
    Ok((
        AuditActor::parse(&target.actor),
        Some(consumed.organization_id),
    ))
}

/// The connection being re-authenticated, if the flow was started for one (it may have been
/// deleted meanwhile: then the flow is void).
async fn reauthorized_connection(
    app: &AppState,
    consumed: &store::ConsumedState,
) -> Result<Option<shared::Connection>, Failure> {
    let Some(id) = consumed.connection_id else {
        return Ok(None);
    };
    let connection = store::find_connection(&app.pool, id)
        .await
        .map_err(|_| CallbackError::StorageFailed)?
        .ok_or(CallbackError::InvalidState)?;
    Ok(Some(connection))
}

/// Exchanges `code` at Stripe, journalled before it leaves (a crash from here on is reconciled
/// later); the journal row and the grant.
async fn exchange(app: &AppState, code: &AuthorizationCode) -> Result<(i64, Grant), Failure> {
    let journal = store::journal_grant(
        &app.pool,
        &app.cipher,
        app.flows.configured,
        code.expose(),
        app.clock.now(),
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "could not journal the exchange");
        CallbackError::StorageFailed
    })?;
    let grant = match app
        .flows
        .exchange_code(app.http(), code.expose(), app.clock.now())
        .await
    {
        Ok(grant) => grant,
        Err(e) => {
            tracing::warn!(error = %e, "stripe code exchange failed");
            return Err(match e {
                StripeError::Refused { .. } => {
                    // Stripe granted nothing: the exchange is settled.
                    let _ = store::settle_grant(&app.pool, journal).await;
                    CallbackError::ExchangeRefused
                }
                // Stripe may have granted before the answer was lost: left for reconciliation.
                _ => CallbackError::StripeUnavailable,
            }
            .into());
        }
    };
    if let Err(e) =
        store::journal_account(&app.pool, journal, grant.account.as_str(), grant.livemode).await
    {
        tracing::warn!(error = %e, "could not journal the granted account");
    }
    Ok((journal, grant))
}

/// Where a grant is to be kept, and by whom.
struct Kept<'a> {
    /// The connection being re-authenticated.
    expected: Option<&'a shared::Connection>,
    /// A widget's organization.
    organization: Option<OrganizationId>,
    /// Who acts (for the audit log).
    actor: &'a AuditActor,
}

/// Keeps `grant` as the flow asked (a new connection, or the re-authenticated one) or hands it
/// back; settles the journal row once decided; audits and queues the first sync.
async fn keep_grant(
    app: &AppState,
    journal: i64,
    grant: &Grant,
    kept: Kept<'_>,
) -> Result<ConnectionId, Failure> {
    let outcome = store_grant(app, grant, kept.expected, kept.organization).await;
    let settled = match &outcome {
        Ok(_) => true,
        // A widget's install that lands on another organization's connection is not named there.
        Err(_) => {
            let actor = if kept.organization.is_some() {
                &AuditActor::System
            } else {
                kept.actor
            };
            hand_back(app, grant, actor).await
        }
    };
    if settled {
        if let Err(e) = store::settle_grant(&app.pool, journal).await {
            tracing::warn!(error = %e, "could not settle the journalled exchange");
        }
    }
    let id = outcome?;
    let action = if kept.expected.is_some() {
        AuditAction::Reauthenticated
    } else {
        AuditAction::Connected
    };
    tracing::info!(account = %grant.account, connection_id = %id, ?action, "stripe account connected");
    let line = AuditLine {
        connection_id: id,
        account: grant.account.as_str(),
        actor: kept.actor,
        action,
        detail: AuditDetail {
            auth_kind: Some(grant.credential.kind),
            status: Some(ConnectionStatus::Success),
            ..AuditDetail::default()
        },
    };
    if let Err(e) = store::audit(&app.pool, &line, app.clock.now()).await {
        tracing::warn!(error = %e, "could not write the audit line");
    }
    crate::sync::jobs::enqueue(app, id).await;
    Ok(id)
}

/// Reads the account with the new credential (the first connection test), then stores the
/// connection. When re-authenticating, a different account than the connection's is refused,
/// naming both.
async fn store_grant(
    app: &AppState,
    grant: &Grant,
    expected: Option<&shared::Connection>,
    organization: Option<OrganizationId>,
) -> Result<ConnectionId, Failure> {
    let started_at = app.clock.now();
    let timer = Instant::now();
    let account = app
        .stripe
        .account(&grant.credential.secret)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, account = %grant.account, "reading the new account failed");
            Failure::from(CallbackError::StripeUnavailable)
        })?;
    let duration_ms = i64::try_from(timer.elapsed().as_millis()).unwrap_or(i64::MAX);
    if account.id != grant.account.as_str() {
        tracing::warn!(account = %grant.account, "the token reads a different account than it was granted for");
        return Err(CallbackError::StripeUnavailable.into());
    }
    if let Some(expected) = expected {
        if expected.account_id != grant.account.as_str() {
            tracing::warn!(connection_id = expected.id, expected = %expected.account_id, got = %grant.account, "re-authentication with another account refused");
            return Err(Failure {
                error: CallbackError::AccountMismatch,
                notice: Some(CallbackNotice {
                    connection_id: expected.id,
                    expected: expected.name.clone(),
                    other: account.display_name(),
                }),
            });
        }
    }
    let replaced = store::find_by_account(&app.pool, grant.account.as_str())
        .await
        .map_err(|_| Failure::from(CallbackError::StorageFailed))?;
    let now = app.clock.now();
    let new = NewConnection {
        stripe_user_id: grant.account.to_string(),
        livemode: grant.livemode,
        display_name: account.display_name(),
        scope: grant.scope.clone(),
        publishable_key: grant.publishable_key.clone(),
        credential: grant.credential.clone(),
        key_last4: None,
        started_at,
        duration_ms,
        next_check_at: now
            + check_interval(grant.credential.kind, app.settings.health_interval_secs),
        organization,
    };
    let id = store::upsert_connection(&app.pool, &app.cipher, &new, now)
        .await
        .map_err(|e| match e {
            store::StoreError::OtherOrganization => {
                tracing::warn!(account = %grant.account, "the account is connected in another organization");
                Failure::from(CallbackError::AccountElsewhere)
            }
            e => {
                tracing::error!(error = %e, "storing the connection failed");
                Failure::from(CallbackError::StorageFailed)
            }
        })?;
    // A Connect grant replaced by another kind would stay live at Stripe with nobody holding it.
    if let Some(old) = replaced.filter(|c| {
        c.auth_kind == shared::AuthKind::Connect
            && grant.credential.kind != shared::AuthKind::Connect
    }) {
        if let Err(e) = app
            .flows
            .revoke(app.http(), old.auth_kind, &grant.account)
            .await
        {
            tracing::warn!(error = %e, account = %grant.account, "could not deauthorize the replaced Connect grant");
        }
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn states_are_long_and_distinct() {
        let a = super::new_state();
        let b = super::new_state();
        assert_ne!(a, b);
        assert!(a.len() >= 43, "32 bytes in base64url");
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
