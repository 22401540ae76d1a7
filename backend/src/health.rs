//! Connection tests: `GET /v1/account` with the connection's own token. Right after connecting, on
//! demand, and in the background. A 401/403 from Stripe means the admin must re-authenticate; a
//! timeout, 5xx or malformed answer is a transient error, retried with exponential backoff.

use std::time::{Duration, Instant};

use shared::ConnectionStatus;

use crate::startup::AppState;
use crate::store::{self, StoreError, TestResult};
use crate::stripe::account::fetch_account;
use crate::stripe::StripeError;

/// First retry after a transient error; doubles each time, capped by the check interval.
pub const FIRST_RETRY_SECS: i64 = 60;

/// When to retry after `failures` consecutive transient errors.
pub fn backoff_secs(failures: i64, interval_secs: i64) -> i64 {
    let exp = failures.clamp(1, 20) - 1;
    FIRST_RETRY_SECS
        .saturating_mul(1_i64 << exp)
        .min(interval_secs.max(FIRST_RETRY_SECS))
}

/// Maps a failed account read to a status and a sentence for the admin.
pub fn classify(error: &StripeError) -> (ConnectionStatus, String) {
    match error {
        StripeError::Unauthorized { .. } => (
            ConnectionStatus::NeedsReauth,
            "Stripe refused the stored authorization (revoked or expired). Click the name to connect again.".into(),
        ),
        StripeError::Unreachable(_) => (
            ConnectionStatus::Error,
            "Stripe could not be reached or did not answer in time. It will be retried.".into(),
        ),
        StripeError::Malformed(_) | StripeError::Refused { .. } => (
            ConnectionStatus::Error,
            "Stripe answered with an error or something unreadable. It will be retried.".into(),
        ),
    }
}

/// Tests one connection and stores the outcome (status, timing, reason, next check). `actor` goes
/// into the audit log.
pub async fn test_connection(
    state: &AppState,
    id: i64,
    actor: &str,
) -> Result<Option<ConnectionStatus>, StoreError> {
    let Some(connection) = store::find_connection(&state.pool, id).await? else {
        return Ok(None);
    };
    let token = store::access_token_versioned(&state.pool, &state.cipher, id).await?;
    let Some((token, version)) = token else {
        return Ok(None);
    };
    store::mark_testing(&state.pool, id).await?;
    let started_at = state.clock.now();
    let timer = Instant::now();
    let answer = fetch_account(&state.http, state.oauth.endpoints(), &token).await;
    let duration_ms = i64::try_from(timer.elapsed().as_millis()).unwrap_or(i64::MAX);
    let now = state.clock.now();
    let result = match answer {
        Ok(account) if account.id == connection.account_id => TestResult {
            status: ConnectionStatus::Success,
            started_at,
            duration_ms,
            error: None,
            failure_count: 0,
            next_check_at: now + state.health_interval_secs,
        },
        Ok(_) => TestResult {
            status: ConnectionStatus::NeedsReauth,
            started_at,
            duration_ms,
            error: Some(
                "The stored authorization reads a different Stripe account. Connect again.".into(),
            ),
            failure_count: 0,
            next_check_at: now + state.health_interval_secs,
        },
        Err(e) => {
            tracing::warn!(connection_id = id, error = %e, "connection test failed");
            let (status, reason) = classify(&e);
            let failures = store::failure_count(&state.pool, id).await? + 1;
            TestResult {
                status,
                started_at,
                duration_ms,
                error: Some(reason),
                failure_count: if status == ConnectionStatus::Error {
                    failures
                } else {
                    0
                },
                next_check_at: now + backoff_secs(failures, state.health_interval_secs),
            }
        }
    };
    if !store::record_test(&state.pool, id, &version, &result).await? {
        tracing::info!(
            connection_id = id,
            "connection changed during its test; result dropped"
        );
        return Ok(store::find_connection(&state.pool, id)
            .await?
            .map(|c| c.status));
    }
    let detail = match &result.error {
        None => format!("{} in {} ms", strings_status(result.status), duration_ms),
        Some(reason) => format!("{}: {reason}", strings_status(result.status)),
    };
    store::audit(
        &state.pool,
        id,
        &connection.account_id,
        actor,
        "tested",
        &detail,
        now,
    )
    .await?;
    Ok(Some(result.status))
}

fn strings_status(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Success => "Success",
        ConnectionStatus::NeedsReauth => "Needs re-authentication",
        ConnectionStatus::Error => "Error",
        ConnectionStatus::Testing => "Testing",
    }
}

/// Tests every due connection once; returns how many were tested.
pub async fn run_due_checks(state: &AppState) -> Result<usize, StoreError> {
    let now = state.clock.now();
    // Leased for a while so another instance does not pick them up mid-test.
    let due = store::claim_due(&state.pool, now, now + 300).await?;
    for id in &due {
        // One broken row must not stop the others from being tested.
        if let Err(e) = test_connection(state, *id, "system").await {
            tracing::error!(connection_id = id, error = %e, "background connection test failed");
        }
    }
    Ok(due.len())
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
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_by_the_interval() {
        assert_eq!(backoff_secs(1, 3600), 60);
        assert_eq!(backoff_secs(2, 3600), 120);
        assert_eq!(backoff_secs(3, 3600), 240);
        assert_eq!(backoff_secs(10, 3600), 3600);
        assert_eq!(backoff_secs(1_000, 3600), 3600);
    }

    #[test]
    fn a_refused_token_needs_reauthentication_and_faults_are_transient() {
        let unauthorized = StripeError::Unauthorized {
            status: 401,
            message: String::new(),
        };
        assert_eq!(classify(&unauthorized).0, ConnectionStatus::NeedsReauth);
        assert_eq!(
            classify(&StripeError::Unreachable("timeout".into())).0,
            ConnectionStatus::Error
        );
        assert_eq!(
            classify(&StripeError::Malformed("500".into())).0,
            ConnectionStatus::Error
        );
    }
}
