//! Connection tests: right after connecting, on demand, and in the background. An OAuth connection
//! reads `GET /v1/account` with its own token (renewed first when it expires); a restricted key is
//! checked as when it was pasted (the account and every list). A refusal means the admin must
//! re-authenticate; a timeout, 5xx or malformed answer is transient, retried with backoff.

use crate::ids::ConnectionId;
use std::time::Instant;

use shared::{AuditAction, AuditDetail, AuthKind, Connection, ConnectionStatus, Problem};

use super::credentials::{self, CredentialError};
use crate::domain::AuditActor;
use crate::state::AppState;
use crate::store::{self, AuditLine, StoreError, TestResult};
use crate::stripe::flows::restricted_key::{self, KeyRefusal};
use crate::stripe::StripeError;

/// First retry after a transient error; doubles each time, capped by the check interval.
pub const FIRST_RETRY_SECS: i64 = 60;
/// Refreshable connections are tested (and so renewed) at least this often, however long the
/// configured interval: idle Apps connections stay alive.
pub const KEEP_ALIVE_SECS: i64 = 24 * 60 * 60;

/// When to retry after `failures` consecutive transient errors.
pub fn backoff_secs(failures: i64, interval_secs: i64) -> i64 {
    let exp = failures.clamp(1, 20) - 1;
    FIRST_RETRY_SECS
        .saturating_mul(1_i64 << exp)
        .min(interval_secs.max(FIRST_RETRY_SECS))
}

/// Seconds until the next routine test of a connection of `kind`.
pub fn check_interval(kind: AuthKind, interval_secs: i64) -> i64 {
    match kind {
        AuthKind::Apps => interval_secs.min(KEEP_ALIVE_SECS),
        _ => interval_secs,
    }
}

/// Maps a failed read to a status and a problem code.
pub fn classify(error: &StripeError) -> (ConnectionStatus, Problem) {
    match error {
        StripeError::Unauthorized { .. } => (ConnectionStatus::NeedsReauth, Problem::Refused),
        StripeError::Forbidden { .. } => {
            (ConnectionStatus::NeedsReauth, Problem::MissingPermission)
        }
        StripeError::Unreachable(_) | StripeError::RateLimited { .. } => {
            (ConnectionStatus::Error, Problem::Unreachable)
        }
        StripeError::ServerError { .. }
        | StripeError::Malformed(_)
        | StripeError::InvalidRequest { .. }
        | StripeError::Missing(_)
        | StripeError::Refused { .. } => (ConnectionStatus::Error, Problem::BadAnswer),
    }
}

/// What a probe found: the account the credential reads, or why it failed.
type Probe = Result<String, (ConnectionStatus, Problem)>;

async fn probe(
    app: &AppState,
    connection: &Connection,
) -> Result<(Probe, Vec<i64>), CredentialError> {
    let id = ConnectionId(connection.id);
    if connection.auth_kind == AuthKind::RestrictedKey {
        let stored = credentials::usable(app, id).await?;
        let found =
            restricted_key::check(&app.stripe, &stored.credential.secret, connection.livemode)
                .await
                .map(|c| c.account.to_string())
                .map_err(|e| match e {
                    KeyRefusal::MissingPermissions(_) => {
                        (ConnectionStatus::NeedsReauth, Problem::MissingPermission)
                    }
                    KeyRefusal::Stripe(e) => classify(&e),
                    _ => (ConnectionStatus::NeedsReauth, Problem::Refused),
                });
        return Ok((found, vec![stored.version]));
    }
    let used =
        credentials::call(app, id, |key| async move { app.stripe.account(&key).await }).await?;
    let found = used.value.map(|a| a.id).map_err(|e| {
        tracing::warn!(connection_id = %connection.id, error = %e, "connection test failed");
        if e.is_expired_key() {
            // Expired, and it could not be renewed (Stripe refused the refresh token earlier).
            (ConnectionStatus::NeedsReauth, Problem::RefreshRefused)
        } else {
            classify(&e)
        }
    });
    Ok((found, used.versions))
}

/// Tests one connection and stores the outcome (status, timing, problem, next check). `actor` goes
/// into the audit log. `None` when the connection does not exist.
pub async fn test_connection(
    app: &AppState,
    id: ConnectionId,
    actor: &AuditActor,
) -> Result<Option<ConnectionStatus>, StoreError> {
    let Some(connection) = store::find_connection(&app.pool, id).await? else {
        return Ok(None);
    };
    store::mark_testing(&app.pool, id).await?;
    let started_at = app.clock.now();
    let timer = Instant::now();
    let (found, versions) = match probe(app, &connection).await {
        Ok(outcome) => outcome,
        Err(CredentialError::Gone) => return Ok(None),
        Err(CredentialError::Store(e)) => {
            // Never leave the row "Testing…": back to what it was, if the database lets us.
            let _ = store::restore_status(&app.pool, id, connection.status).await;
            return Err(e);
        }
        // Already recorded with its audit line by the refresh.
        Err(CredentialError::NeedsReauth) => {
            return Ok(store::find_connection(&app.pool, id)
                .await?
                .map(|c| c.status))
        }
        Err(CredentialError::Stripe(e)) => {
            let current = store::credential(&app.pool, &app.cipher, id).await?;
            (
                Err(classify(&e)),
                current.map(|c| vec![c.version]).unwrap_or_default(),
            )
        }
    };
    let duration_ms = i64::try_from(timer.elapsed().as_millis()).unwrap_or(i64::MAX);
    let now = app.clock.now();
    let interval = check_interval(connection.auth_kind, app.settings.health_interval_secs);
    let (status, problem, failure_count, next_check_at) = match found {
        Ok(account) if account == connection.account_id => {
            (ConnectionStatus::Success, None, 0, now + interval)
        }
        Ok(_) => (
            ConnectionStatus::NeedsReauth,
            Some(Problem::OtherAccount),
            0,
            now + interval,
        ),
        Err((status, problem)) => {
            let failures = store::failure_count(&app.pool, id).await? + 1;
            let transient = status == ConnectionStatus::Error;
            (
                status,
                Some(problem),
                if transient { failures } else { 0 },
                now + if transient {
                    backoff_secs(failures, interval)
                } else {
                    interval
                },
            )
        }
    };
    let result = TestResult {
        status,
        started_at,
        duration_ms,
        problem,
        failure_count,
        next_check_at,
    };
    if !store::record_test(&app.pool, id, &versions, &result).await? {
        tracing::info!(
            connection_id = %id,
            "connection changed during its test; result dropped"
        );
        return Ok(store::find_connection(&app.pool, id)
            .await?
            .map(|c| c.status));
    }
    let line = AuditLine {
        connection_id: id,
        account: &connection.account_id,
        actor,
        action: AuditAction::Tested,
        detail: AuditDetail {
            status: Some(status),
            problem,
            duration_ms: Some(duration_ms),
            ..AuditDetail::default()
        },
    };
    store::audit(&app.pool, &line, now).await?;
    Ok(Some(status))
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
    fn refusals_need_reauthentication_and_faults_are_transient() {
        let unauthorized = StripeError::Unauthorized {
            code: None,
            message: String::new(),
        };
        assert_eq!(classify(&unauthorized).0, ConnectionStatus::NeedsReauth);
        assert_eq!(
            classify(&StripeError::Unreachable("timeout".into())),
            (ConnectionStatus::Error, Problem::Unreachable)
        );
        assert_eq!(
            classify(&StripeError::Malformed("500".into())),
            (ConnectionStatus::Error, Problem::BadAnswer)
        );
    }

    #[test]
    fn apps_connections_are_tested_at_least_daily() {
        assert_eq!(check_interval(AuthKind::Apps, 7 * 86_400), KEEP_ALIVE_SECS);
        assert_eq!(check_interval(AuthKind::Apps, 3600), 3600);
        assert_eq!(check_interval(AuthKind::Connect, 7 * 86_400), 7 * 86_400);
    }
}
