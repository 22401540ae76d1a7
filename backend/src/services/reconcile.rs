//! Grants we hold but could not keep: handed back to Stripe at once, or — when a crash or a
//! failure left an exchange unsettled in the journal — reconciled later by the background checker.

use shared::{AuditAction, AuditDetail};

use crate::domain::AuditActor;
use crate::state::AppState;
use crate::store::{self, AuditLine};
use crate::stripe::flows::{Grant, Revocation};
use crate::stripe::StripeError;

/// We hold a live grant we could not keep as asked: an Apps install replaced the account's previous
/// tokens at Stripe, so an Apps connection of that account takes it (or it would be left with dead
/// tokens); otherwise hand it back so nothing dangles at Stripe — unless that account is already one
/// of our connections, which revoking would break. Whether the grant is settled (false: the
/// decision could not be made, and the journal keeps it for reconciliation).
pub(super) async fn hand_back(app: &AppState, grant: &Grant, actor: &AuditActor) -> bool {
    if grant.credential.kind == shared::AuthKind::Apps {
        let adopted = store::adopt_grant(
            &app.pool,
            &app.cipher,
            grant.account.as_str(),
            grant.livemode,
            &grant.credential,
            app.clock.now(),
        )
        .await;
        match adopted {
            Ok(Some(id)) => {
                tracing::info!(connection_id = %id, account = %grant.account, "the new install's tokens went to the account's existing connection");
                let line = AuditLine {
                    connection_id: id,
                    account: grant.account.as_str(),
                    actor,
                    action: AuditAction::Reauthenticated,
                    detail: AuditDetail {
                        auth_kind: Some(grant.credential.kind),
                        ..AuditDetail::default()
                    },
                };
                if let Err(e) = store::audit(&app.pool, &line, app.clock.now()).await {
                    tracing::warn!(error = %e, "could not write the audit line");
                }
                return true;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, account = %grant.account, "could not keep a new install's tokens");
                return false;
            }
        }
    }
    let in_use = match store::account_is_connected(&app.pool, grant.account.as_str()).await {
        Ok(in_use) => in_use,
        Err(e) => {
            tracing::error!(error = %e, account = %grant.account, "could not decide what to do with an unused grant; left for reconciliation");
            return false;
        }
    };
    if in_use {
        return true;
    }
    revoke_unused(app, grant.credential.kind, &grant.account).await
}

/// Hands an unused grant back; whether that is settled.
async fn revoke_unused(
    app: &AppState,
    kind: shared::AuthKind,
    account: &crate::domain::StripeAccountId,
) -> bool {
    match app.flows.revoke(app.http(), kind, account).await {
        Ok(Revocation::Revoked) => true,
        Ok(Revocation::NotAvailable) => {
            tracing::info!(account = %account, "unused grant dropped (this flow has no revocation)");
            true
        }
        // Stripe already forgot it.
        Err(StripeError::Refused { code, .. }) if code == "invalid_client" => true,
        Err(e) => {
            tracing::warn!(error = %e, account = %account, "could not deauthorize an unused grant");
            false
        }
    }
}

/// How old an unsettled exchange must be before it is reconciled. One whose answer never arrived
/// is reconciled early, while its code is still within Stripe's 5 minutes (sending it again makes
/// Stripe revoke what it granted); one whose account is known waits until its callback is surely
/// over (a revocation works at any time).
pub const RECONCILE_AFTER_SECS: i64 = 120;
/// See [`RECONCILE_AFTER_SECS`].
pub const RECONCILE_KNOWN_AFTER_SECS: i64 = 600;

/// Settles exchanges a crash (or a failure) left in the journal: a grant whose account is not one of
/// our connections is handed back; one whose account is unknown (the process died while Stripe was
/// answering) has its code sent again, which Stripe refuses and answers by revoking what that code
/// granted — or, if the first exchange never arrived, grants now and is handed back. Returns how
/// many were settled.
pub async fn reconcile(app: &AppState) -> Result<usize, crate::store::StoreError> {
    let now = app.clock.now();
    let pending =
        store::unsettled_grants(&app.pool, &app.cipher, now - RECONCILE_AFTER_SECS).await?;
    let mut settled = 0;
    for grant in pending {
        // Past a day, Stripe has long expired the code; nothing more can be done about it.
        let stale = now - grant.created_at > 24 * 60 * 60;
        let done = match grant
            .account
            .as_deref()
            .map(crate::domain::StripeAccountId::parse)
        {
            Some(Ok(_)) if now - grant.created_at < RECONCILE_KNOWN_AFTER_SECS => false,
            Some(Ok(account)) => {
                stale
                    || store::account_is_connected(&app.pool, account.as_str()).await?
                    || revoke_unused(app, grant.kind, &account).await
            }
            Some(Err(_)) => true,
            None => match &grant.code {
                None => stale,
                Some(code) => {
                    let flows = app.flows.with_configured(grant.kind);
                    match flows.exchange_code(app.http(), code.expose(), now).await {
                        Ok(late) => {
                            store::account_is_connected(&app.pool, late.account.as_str()).await?
                                || revoke_unused(app, late.credential.kind, &late.account).await
                        }
                        // Used (and so revoked by Stripe) or expired: nothing left at Stripe.
                        Err(e) if e.is_invalid_grant() => true,
                        Err(_) => stale,
                    }
                }
            },
        };
        if done {
            store::settle_grant(&app.pool, grant.id).await?;
            settled += 1;
            tracing::info!(
                journal_id = grant.id,
                "an unsettled Stripe exchange was reconciled"
            );
        }
    }
    Ok(settled)
}
