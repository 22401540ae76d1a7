//! Who is calling: the extractors that require a signed-in user or an Admin (their session and
//! user read from the database on every request, see [`crate::session`]), the metrics scraper's
//! token, sign-in throttling, and the same-origin guard against CSRF.

use std::sync::OnceLock;

use crate::store::{self, Db};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::{Role, User};

use crate::error::AppError;
use crate::session::{self, SessionCookie, SessionId};
use crate::state::AppState;
use crate::store::StoreError;
use crate::users;

/// Failed sign-ins allowed per account from one client address in a window: a guesser is stopped
/// at their own address, never the account's rightful user at theirs.
pub const ACCOUNT_FAILURE_LIMIT: i64 = 5;
/// Failed sign-ins allowed per account from all addresses together in a window: a backstop against
/// guessing spread over many addresses, high enough that one attacker cannot reach it alone.
pub const ACCOUNT_TOTAL_FAILURE_LIMIT: i64 = 100;
/// At most this many throttle counters are kept; the oldest go first (each address can add only
/// [`CLIENT_FAILURE_LIMIT`] a window, so this only bites under a spread-out flood).
pub const MAX_THROTTLE_ROWS: i64 = 50_000;
/// Failed sign-ins allowed per client address in a window.
pub const CLIENT_FAILURE_LIMIT: i64 = 20;
/// The throttling window.
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;

/// The bearer credential of a request (`Authorization: Bearer …`), if it has one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The signed-in user of this request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user, read from the database with the session (role and disabled flag are current).
    pub user: User,
    /// The session.
    pub session: SessionId,
    /// The connections table's version, read with the user (before the handler runs).
    pub connections_version: i64,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        // A request with a bearer credential acts with it alone, never as a cookie's user.
        if bearer(&parts.headers).is_some() {
            return Err(AppError::Unauthorized);
        }
        let Ok(SessionCookie(Some(session))) =
            SessionCookie::from_request_parts(parts, state).await
        else {
            return Err(AppError::Unauthorized);
        };
        let signed_in = session::signed_in(&state.pool, &session, state.clock.now()).await?;
        Ok(Self {
            user: signed_in.user,
            session,
            connections_version: signed_in.connections_version,
        })
    }
}

/// A signed-in Admin (403 for other roles, 401 when signed out).
#[derive(Debug, Clone)]
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        if current.user.role != Role::Admin {
            return Err(AppError::Forbidden);
        }
        Ok(Self(current))
    }
}

/// A Prometheus scraper holding `METRICS_TOKEN` as its bearer token (`GET /metrics`). Without a
/// configured token the route is as absent (404); a missing or wrong token is refused (401), the
/// token compared in constant time.
#[derive(Debug, Clone, Copy)]
pub struct MetricsScraper;

impl FromRequestParts<AppState> for MetricsScraper {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(expected) = &state.settings.metrics_token else {
            return Err(AppError::NotFound);
        };
        match bearer(&parts.headers) {
            Some(token) if crate::crypto::secrets_equal(token, expected) => Ok(Self),
            _ => Err(AppError::MetricsToken),
        }
    }
}

/// A hash to verify against when the email is unknown, so both cases cost the same time.
pub fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| users::hash_password("no-such-user-placeholder").unwrap_or_default())
}

/// Throttle keys for a sign-in attempt, in the order they are charged: the address, the account at
/// this address, the account everywhere. A success clears the account's.
pub fn throttle_keys(email: &str, client: &str) -> [(String, i64); 3] {
    let email: String = email.trim().to_lowercase().chars().take(254).collect();
    [
        (format!("client:{client}"), CLIENT_FAILURE_LIMIT),
        (format!("account:{email}|{client}"), ACCOUNT_FAILURE_LIMIT),
        (format!("account:{email}"), ACCOUNT_TOTAL_FAILURE_LIMIT),
    ]
}

/// Forgets what has ended by `now`: sessions, and throttle counters whose window is over.
pub async fn forget_expired(pool: &Db, now: i64) -> Result<(), StoreError> {
    session::forget_ended(pool, now).await?;
    store::purge_expired(pool, now, FAILURE_WINDOW_SECS, MAX_THROTTLE_ROWS).await
}

/// Counts this attempt against the keys in order *before* the password is checked (see
/// [`store::charge_sign_in`]); the seconds to wait when a key is over its limit.
pub async fn charge_attempt(
    pool: &Db,
    keys: &[(String, i64)],
    now: i64,
) -> Result<Option<i64>, StoreError> {
    store::charge_sign_in(pool, keys, now, FAILURE_WINDOW_SECS).await
}

/// A successful sign-in: the account's counts are cleared and the attempt is given back to the
/// client address (only failures count against it).
pub async fn refund_attempt(pool: &Db, keys: &[(String, i64)]) -> Result<(), StoreError> {
    store::refund_sign_in(pool, keys).await
}

/// CSRF guard for the API: a state-changing request must come from our own origin (`Origin`, or
/// when a browser sends none, `Sec-Fetch-Site: same-origin`). The SameSite=Lax cookie is the
/// second layer. A request with a bearer credential (a host's key, a widget's session token) is
/// not ambient — a browser never adds one by itself — so it passes: it acts with its bearer
/// credential alone (the signed-in user extractor refuses it; its own extractor checks origins).
pub async fn same_origin_only(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if bearer(request.headers()).is_some() {
        return next.run(request).await;
    }
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let allowed = match headers.get(header::ORIGIN) {
        Some(origin) => origin.as_bytes() == state.settings.public_origin.as_bytes(),
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"same-origin"),
    };
    if allowed {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "cross-site request refused");
        AppError::CrossSite.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::args;

    #[tokio::test]
    async fn attempts_are_charged_first_and_reset_after_the_window() {
        let pool = crate::store::connect("sqlite::memory:").await.unwrap();
        let keys = throttle_keys("A@x.com", "1.2.3.4");
        assert_eq!(keys[0].0, "client:1.2.3.4");
        assert_eq!(keys[1].0, "account:a@x.com|1.2.3.4");
        assert_eq!(keys[2].0, "account:a@x.com");
        for i in 0..ACCOUNT_FAILURE_LIMIT {
            assert_eq!(charge_attempt(&pool, &keys, 1_000 + i).await.unwrap(), None);
        }
        assert_eq!(
            charge_attempt(&pool, &keys, 1_010).await.unwrap(),
            Some(FAILURE_WINDOW_SECS - 10)
        );
        let later = 1_000 + FAILURE_WINDOW_SECS;
        assert_eq!(
            charge_attempt(&pool, &keys, later).await.unwrap(),
            None,
            "a new window"
        );
        refund_attempt(&pool, &keys).await.unwrap();
        let left: Option<i64> = pool
            .scalar_optional(
                "SELECT failures FROM sign_in_failures WHERE throttle_key = $1",
                args![&keys[1].0],
            )
            .await
            .unwrap();
        assert_eq!(left, None, "a success clears the account");
        let count = |pool: Db| async move {
            pool.scalar_one::<i64>("SELECT COUNT(*) FROM sign_in_failures", args![])
                .await
                .unwrap()
        };
        assert_eq!(count(pool.clone()).await, 1, "the client counter is left");
        // The table is bounded: past the cap the oldest counters go first.
        for i in 0..5 {
            charge_attempt(
                &pool,
                &throttle_keys(&format!("x{i}@y.z"), "9.9.9.9")[1..2],
                later + i,
            )
            .await
            .unwrap();
        }
        crate::store::cap_throttle_rows(&pool, 3).await.unwrap();
        assert_eq!(count(pool.clone()).await, 3);
        crate::store::purge_expired(
            &pool,
            later + FAILURE_WINDOW_SECS + 10,
            FAILURE_WINDOW_SECS,
            MAX_THROTTLE_ROWS,
        )
        .await
        .unwrap();
        assert_eq!(count(pool.clone()).await, 0, "old counters are forgotten");
    }
}
