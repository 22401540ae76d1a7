//! Credentials fit for use: an Apps access token is renewed ahead of its expiry and once on a 401
//! for an expired key, then the call is retried. One refresh per connection at a time across every
//! process on the database (a lease in the row); the new pair is stored in one transaction before
//! anyone uses it; `invalid_grant` marks the connection **Needs re-authentication**, never a loop.

use crate::ids::ConnectionId;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::config::Secret;
use crate::state::AppState;
use crate::store::{self, StoreError, StoredCredential};
use crate::stripe::StripeError;

/// Renew an access token that has less than this left.
pub const REFRESH_MARGIN_SECS: i64 = 5 * 60;
/// How long a refresh lease lasts if its holder dies mid-way.
const LEASE_SECS: i64 = 30;
/// How long a caller waits for another holder's refresh.
const WAIT_FOR_OTHER: Duration = Duration::from_secs(20);
/// A waiter looks again after 5 ms, then ever less often, up to every 100 ms.
const FIRST_POLL: Duration = Duration::from_millis(5);
const MAX_POLL: Duration = Duration::from_millis(100);

/// Why no usable credential could be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The connection is gone.
    #[error("no such connection")]
    Gone,
    /// Stripe refused to renew: the admin must re-authenticate (already recorded).
    #[error("the authorization could not be renewed")]
    NeedsReauth,
    /// Stripe failed otherwise (the call or the refresh).
    #[error(transparent)]
    Stripe(#[from] StripeError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The connection's credential, renewed first if it expires within the margin.
pub async fn usable(app: &AppState, id: ConnectionId) -> Result<StoredCredential, CredentialError> {
    let stored = store::credential(&app.pool, &app.cipher, id)
        .await?
        .ok_or(CredentialError::Gone)?;
    if stored
        .credential
        .expires_within(app.clock.now(), REFRESH_MARGIN_SECS)
    {
        return refresh(app, id, &stored).await;
    }
    Ok(stored)
}

/// Renews the grant `seen`, or waits for whoever is renewing it and returns their result.
pub async fn refresh(
    app: &AppState,
    id: ConnectionId,
    seen: &StoredCredential,
) -> Result<StoredCredential, CredentialError> {
    // One owner per attempt (not per process): a stale holder in this very process can never
    // write over, or release, a later attempt's lease.
    let owner = format!(
        "{}:{}",
        app.settings.instance_id,
        crate::state::new_instance_id()
    );
    let started = Instant::now();
    let mut poll = FIRST_POLL;
    loop {
        let now = app.clock.now();
        if store::claim_refresh_lease(&app.pool, id, &owner, seen.version, now, now + LEASE_SECS)
            .await?
        {
            return renew_holding_lease(app, id, seen, &owner).await;
        }
        // Someone else holds the lease, or the grant already changed.
        let current = store::credential(&app.pool, &app.cipher, id)
            .await?
            .ok_or(CredentialError::Gone)?;
        if current.version != seen.version {
            return Ok(current);
        }
        if current.credential.refresh_token.is_none() {
            // Stripe refused the renewal to whoever held the lease.
            return Err(CredentialError::NeedsReauth);
        }
        if started.elapsed() > WAIT_FOR_OTHER {
            return Err(StripeError::Unreachable(
                "another refresh of this connection did not finish".into(),
            )
            .into());
        }
        tokio::time::sleep(poll).await;
        poll = (poll * 2).min(MAX_POLL);
    }
}

/// Stores a renewed pair, retrying a failing database a few times: Stripe has already retired the
/// old refresh token, so giving up here would lose the grant.
async fn store_renewed(
    app: &AppState,
    id: ConnectionId,
    seen: &StoredCredential,
    owner: &str,
    renewed: &crate::domain::Credential,
) -> Result<Option<i64>, StoreError> {
    let mut attempt = 0;
    loop {
        let held = store::HeldRefresh {
            id,
            owner,
            version: seen.version,
            account: &seen.account,
        };
        let stored =
            store::store_refreshed(&app.pool, &app.cipher, held, renewed, app.clock.now()).await;
        match stored {
            Err(e) if attempt < 3 => {
                tracing::warn!(connection_id = %id, error = %e, "storing the renewed authorization failed; retrying");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            other => return other,
        }
    }
}

async fn renew_holding_lease(
    app: &AppState,
    id: ConnectionId,
    seen: &StoredCredential,
    owner: &str,
) -> Result<StoredCredential, CredentialError> {
    let now = app.clock.now();
    match app.flows.refresh(app.http(), &seen.credential, now).await {
        Ok(renewed) => {
            let version = match store_renewed(app, id, seen, owner, &renewed).await {
                Ok(version) => version,
                Err(e) => {
                    let _ = store::release_refresh_lease(&app.pool, id, owner).await;
                    return Err(e.into());
                }
            };
            match version {
                Some(version) => {
                    tracing::info!(connection_id = %id, "access token renewed");
                    Ok(StoredCredential {
                        account: seen.account.clone(),
                        credential: renewed,
                        version,
                        leased_until: None,
                    })
                }
                // Our lease was lost (a re-authentication replaced the grant): use theirs.
                None => store::credential(&app.pool, &app.cipher, id)
                    .await?
                    .ok_or(CredentialError::Gone),
            }
        }
        Err(e) if e.is_invalid_grant() => {
            tracing::warn!(connection_id = %id, error = %e, "Stripe refused to renew the authorization");
            let held = store::HeldRefresh {
                id,
                owner,
                version: seen.version,
                account: &seen.account,
            };
            store::mark_refresh_refused(&app.pool, held, app.clock.now()).await?;
            Err(CredentialError::NeedsReauth)
        }
        Err(e) => {
            tracing::warn!(connection_id = %id, error = %e, "renewing the authorization failed");
            store::release_refresh_lease(&app.pool, id, owner).await?;
            Err(e.into())
        }
    }
}

/// A call's answer and every grant version it used (the first, and the renewed one if any).
#[derive(Debug)]
pub struct Used<T> {
    /// The answer.
    pub value: Result<T, StripeError>,
    /// Ciphertexts of the grants used, oldest first.
    pub versions: Vec<i64>,
}

/// Runs `call` with the connection's credential as the API key. A 401 for an expired key renews the
/// credential once and retries; any other answer is returned as it is.
pub async fn call<T, F, Fut>(
    app: &AppState,
    id: ConnectionId,
    call: F,
) -> Result<Used<T>, CredentialError>
where
    F: Fn(Secret) -> Fut,
    Fut: Future<Output = Result<T, StripeError>>,
{
    let stored = usable(app, id).await?;
    let mut versions = vec![stored.version];
    let first = call(stored.credential.secret.clone()).await;
    let value = match first {
        Err(e) if e.is_expired_key() && stored.credential.refresh_token.is_some() => {
            let renewed = refresh(app, id, &stored).await?;
            versions.push(renewed.version);
            call(renewed.credential.secret.clone()).await
        }
        other => other,
    };
    Ok(Used { value, versions })
}
