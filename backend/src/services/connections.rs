//! Connections made and removed: connecting (and re-authenticating) with a restricted key, testing
//! on demand, deleting with revocation where the flow has one.

use crate::ids::ConnectionId;
use crate::ids::OrganizationId;
use std::time::Instant;

use shared::{
    AuditAction, AuditDetail, AuthKind, Connection, ConnectionStatus, Removal, RestrictedKeyRequest,
};

use super::connection_check::{self, check_interval};
use crate::domain::AuditActor;
use crate::domain::{Credential, StripeAccountId};
use crate::state::AppState;
use crate::store::{self, AuditLine, NewConnection, StoreError};
use crate::stripe::flows::restricted_key::{self, KeyRefusal};
use crate::stripe::flows::Revocation;
use crate::stripe::StripeError;

/// Longest connection name an admin may give.
const MAX_NAME_CHARS: usize = 200;

/// Why a connection operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// No such connection.
    #[error("no such connection")]
    NotFound,
    /// The restricted key was refused.
    #[error(transparent)]
    Key(#[from] KeyRefusal),
    /// The credential belongs to another account than the connection's.
    #[error("the credential belongs to {got}, not {expected}")]
    OtherAccount {
        /// The connection's account.
        expected: String,
        /// The credential's account.
        got: String,
    },
    /// The account is already connected another way (or in the other mode): the admin deletes or
    /// re-authenticates that connection instead of replacing it unseen.
    #[error("the account is already connected")]
    AlreadyConnected,
    /// Stripe could not be told about a deletion, so the connection was kept.
    #[error("Stripe could not be told ({0}); connection kept")]
    Kept(StripeError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something else on our side.
    #[error("internal: {0}")]
    Internal(String),
}

/// Connects the account of a restricted key, or (with `existing`) gives that connection a new key
/// for the same account. The key is checked before anything is stored.
pub async fn connect_with_key(
    app: &AppState,
    actor: &AuditActor,
    request: &RestrictedKeyRequest,
    existing: Option<ConnectionId>,
    organization: Option<OrganizationId>,
) -> Result<Connection, ConnectionError> {
    let expected = match existing {
        Some(id) => Some(
            store::find_connection(&app.pool, id)
                .await?
                .ok_or(ConnectionError::NotFound)?,
        ),
        None => None,
    };
    let (key, livemode) = restricted_key::parse_key(&request.key)?;
    let started_at = app.clock.now();
    let timer = Instant::now();
    let check = restricted_key::check(&app.stripe, &key, livemode).await?;
    let duration_ms = i64::try_from(timer.elapsed().as_millis()).unwrap_or(i64::MAX);
    if let Some(expected) = &expected {
        if expected.account_id != check.account.as_str() {
            return Err(ConnectionError::OtherAccount {
                expected: expected.account_id.clone(),
                got: check.account.to_string(),
            });
        }
    }
    // A key never silently replaces an OAuth grant (which would stay live at Stripe) or a
    // connection of the other mode; another key for the same account simply replaces the old one.
    let existing = store::find_by_account(&app.pool, check.account.as_str()).await?;
    if let Some(existing) = &existing {
        let other_kind = existing.auth_kind != AuthKind::RestrictedKey;
        if other_kind || existing.livemode != check.livemode {
            return Err(ConnectionError::AlreadyConnected);
        }
    }
    let expected = expected.or(existing);
    let given_name = request.name.as_deref().map(|n| {
        n.chars()
            .filter(|c| !c.is_control())
            .take(MAX_NAME_CHARS)
            .collect::<String>()
            .trim()
            .to_owned()
    });
    let display_name = check
        .display_name
        .clone()
        .or(given_name.filter(|n| !n.is_empty()))
        .or_else(|| expected.as_ref().map(|e| e.name.clone()))
        .unwrap_or_else(|| check.account.to_string());
    let now = app.clock.now();
    let new = NewConnection {
        stripe_user_id: check.account.to_string(),
        livemode: check.livemode,
        display_name,
        scope: "restricted_key".into(),
        publishable_key: None,
        key_last4: Some(restricted_key::last4(&key)),
        credential: Credential {
            kind: AuthKind::RestrictedKey,
            secret: key,
            refresh_token: None,
            expires_at: None,
        },
        started_at,
        duration_ms,
        next_check_at: now
            + check_interval(AuthKind::RestrictedKey, app.settings.health_interval_secs),
        organization,
    };
    let id = store::upsert_connection(&app.pool, &app.cipher, &new, now).await?;
    let action = if expected.is_some() {
        AuditAction::Reauthenticated
    } else {
        AuditAction::Connected
    };
    let line = AuditLine {
        connection_id: id,
        account: check.account.as_str(),
        actor,
        action,
        detail: AuditDetail {
            auth_kind: Some(AuthKind::RestrictedKey),
            status: Some(ConnectionStatus::Success),
            duration_ms: Some(duration_ms),
            ..AuditDetail::default()
        },
    };
    store::audit(&app.pool, &line, now).await?;
    tracing::info!(connection_id = %id, account = %check.account, ?action, "restricted key connected");
    crate::sync::jobs::enqueue(app, id).await;
    store::find_connection(&app.pool, id)
        .await?
        .ok_or(ConnectionError::NotFound)
}

/// The Data Sources rows as JSON, rebuilt only when the connections table changed since the last
/// build. `version` is the table's version read from the database during this request (with the
/// signed-in user), so every instance sees every change at once.
pub async fn list_json(app: &AppState, version: i64) -> Result<axum::body::Bytes, ConnectionError> {
    let cached = app
        .connections_answer
        .lock()
        .map(|c| c.clone())
        .unwrap_or_default();
    if let Some((at, bytes)) = cached {
        if at == version {
            return Ok(bytes);
        }
    }
    let rows = store::list_connections(&app.pool).await?;
    let bytes = axum::body::Bytes::from(
        serde_json::to_vec(&rows).map_err(|e| ConnectionError::Internal(e.to_string()))?,
    );
    if let Ok(mut cache) = app.connections_answer.lock() {
        // Built after `version` was read: at least that fresh.
        *cache = Some((version, bytes.clone()));
    }
    Ok(bytes)
}

/// Tests a connection now (to completion even if the caller goes away) and returns the row.
pub async fn test_now(
    app: &AppState,
    id: ConnectionId,
    actor: &AuditActor,
) -> Result<Connection, ConnectionError> {
    let (task_app, actor) = (app.clone(), actor.clone());
    let status =
        tokio::spawn(async move { connection_check::test_connection(&task_app, id, &actor).await })
            .await
            .map_err(|e| ConnectionError::Internal(e.to_string()))??
            .ok_or(ConnectionError::NotFound)?;
    let mut connection = store::find_connection(&app.pool, id)
        .await?
        .ok_or(ConnectionError::NotFound)?;
    // This test's outcome: another test started meanwhile may already show the row "Testing…".
    connection.status = status;
    Ok(connection)
}

/// Deletes a connection: revokes our access at Stripe where the flow allows it, then drops the
/// credential and the row. Stripe saying the account is no longer connected finishes anyway; an
/// unreachable Stripe keeps the row unless `force`. Returns how it ended and the connection's kind.
pub async fn delete(
    app: &AppState,
    id: ConnectionId,
    actor: &AuditActor,
    force: bool,
) -> Result<(Removal, AuthKind), ConnectionError> {
    let connection = store::find_connection(&app.pool, id)
        .await?
        .ok_or(ConnectionError::NotFound)?;
    let account = StripeAccountId::parse(&connection.account_id)
        .map_err(|e| ConnectionError::Internal(format!("stored account id: {e}")))?;
    let removal = match app
        .flows
        .revoke(app.http(), connection.auth_kind, &account)
        .await
    {
        Ok(Revocation::Revoked) => Removal::Deauthorized,
        Ok(Revocation::NotAvailable) => Removal::CredentialDropped,
        Err(StripeError::Refused { code, description })
            if code == "invalid_client" && description.contains("not connected") =>
        {
            Removal::AlreadyDisconnected
        }
        Err(e) if force => {
            tracing::warn!(connection_id = %id, error = %e, "force-removing a connection Stripe was not told about");
            Removal::LocalOnly
        }
        Err(e) => {
            tracing::warn!(connection_id = %id, error = %e, "revocation failed; connection kept");
            return Err(ConnectionError::Kept(e));
        }
    };
    store::delete_connection(&app.pool, id).await?;
    app.sync_limits.forget(id);
    let line = AuditLine {
        connection_id: id,
        account: account.as_str(),
        actor,
        action: AuditAction::Deleted,
        detail: AuditDetail {
            auth_kind: Some(connection.auth_kind),
            removal: Some(removal),
            ..AuditDetail::default()
        },
    };
    store::audit(&app.pool, &line, app.clock.now()).await?;
    tracing::info!(connection_id = %id, account = %account, ?removal, "connection deleted");
    Ok((removal, connection.auth_kind))
}
