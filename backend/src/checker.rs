//! The background checker: tests every due connection (which also renews Apps tokens before they
//! lapse), with leases in the database so several instances never test the same one at once; and
//! forgets expired sessions and sign-in counters.

use std::time::Duration;

use crate::domain::AuditActor;
use crate::services::connection_check::test_connection;
use crate::state::AppState;
use crate::store::{self, StoreError};

/// Tests every due connection once; returns how many were tested.
pub async fn run_due_checks(state: &AppState) -> Result<usize, StoreError> {
    let now = state.clock.now();
    // Leased for a while so another instance does not pick them up mid-test.
    let due = store::claim_due(&state.pool, now, now + 300).await?;
    for id in &due {
        // One broken row must not stop the others from being tested.
        if let Err(e) = test_connection(state, *id, &AuditActor::System).await {
            tracing::error!(connection_id = %id, error = %e, "background connection test failed");
        }
    }
    Ok(due.len())
}

/// Says every minute which key this instance seals with, on its own task (never behind slow
/// checks), so `rotate-key` keeps that key while the instance lives.
pub fn spawn_key_announcer(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(60));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let announced = store::announce_key(
                &state.pool,
                &state.settings.instance_id,
                state.cipher.key_id(),
                state.clock.now(),
            )
            .await;
            if let Err(e) = announced {
                tracing::error!(error = %e, "announcing this instance's key failed");
            }
        }
    })
}

/// The background checker: looks for due connections every `tick`.
pub fn spawn_checker(state: AppState, tick: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(e) = run_due_checks(&state).await {
                tracing::error!(error = %e, "background connection checks failed");
            }
            if let Err(e) = crate::services::reconcile::reconcile(&state).await {
                tracing::error!(error = %e, "reconciling unsettled Stripe exchanges failed");
            }
            let now = state.clock.now();
            if let Err(e) = crate::auth::forget_expired(&state.pool, now).await {
                tracing::error!(error = %e, "purging expired sessions and counters failed");
            }
        }
    })
}
