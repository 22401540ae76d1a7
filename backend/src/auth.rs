//! Who is calling: server-side sessions (tower-sessions, stored in the database), the extractors that
//! require a signed-in user or an Admin, sign-in throttling, and the same-origin guard against CSRF.

use std::sync::OnceLock;

use crate::store::{self, Db};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::{Role, User};
use tower_sessions::Session;

use crate::crypto::sha256_hex;
use crate::error::AppError;
use crate::session_cache::SessionFacts;
use crate::state::AppState;
use crate::store::StoreError;
use crate::users;

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT_SECS: i64 = 30 * 60;
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE_TIMEOUT_SECS: i64 = 12 * 60 * 60;
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "connections_session";

const USER_ID: &str = "user_id";
const SIGNED_IN_AT: &str = "signed_in_at";
const SEEN_AT: &str = "seen_at";
const EPOCH: &str = "session_epoch";
const OAUTH_NONCE: &str = "oauth_nonce";
/// Session key of the last refused re-authentication's details.
pub const CALLBACK_NOTICE: &str = "callback_notice";

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

fn session_error(e: tower_sessions::session::Error) -> AppError {
    AppError::Internal(format!("session: {e}"))
}

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
    /// The user, freshly read from the database (role and disabled flag are current).
    pub user: User,
    /// The session.
    pub session: Session,
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
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| AppError::Internal(msg.into()))?;
        let snapshot = signed_in_snapshot(&session, state).await?;
        Ok(Self {
            user: snapshot.user,
            session,
            connections_version: snapshot.connections_version,
        })
    }
}

/// The user signed in to `session`, enforcing idle and absolute expiry and the disabled flag; an
/// ended session is deleted.
pub async fn signed_in_user(session: &Session, state: &AppState) -> Result<User, AppError> {
    Ok(signed_in_snapshot(session, state).await?.user)
}

/// The idle clock in a session is refreshed at most this often, not on every request.
const SEEN_AT_EVERY_SECS: i64 = 60;

fn expired(now: i64, facts: &SessionFacts) -> bool {
    now - facts.signed_in_at >= ABSOLUTE_TIMEOUT_SECS || now - facts.seen_at >= IDLE_TIMEOUT_SECS
}

/// [`signed_in_user`], with the rest of the request's snapshot: reused from this instance's memory
/// while nothing it depends on has changed, else read from the session and the database.
async fn signed_in_snapshot(
    session: &Session,
    state: &AppState,
) -> Result<users::RequestSnapshot, AppError> {
    let now = state.clock.now();
    let id = session.id();
    if let Some(id) = id {
        if let Some((facts, snapshot)) = state.sessions.get(id, now, SEEN_AT_EVERY_SECS) {
            if !expired(now, &facts) {
                return Ok(snapshot);
            }
        }
    }
    // Read before the session and the database: a change during the reads files this snapshot
    // under a generation already gone.
    let generation = state.sessions.generation();
    let Some(user_id) = session.get::<i64>(USER_ID).await.map_err(session_error)? else {
        return Err(AppError::Unauthorized);
    };
    let mut facts = SessionFacts {
        signed_in_at: session
            .get::<i64>(SIGNED_IN_AT)
            .await
            .map_err(session_error)?
            .unwrap_or(0),
        seen_at: session
            .get::<i64>(SEEN_AT)
            .await
            .map_err(session_error)?
            .unwrap_or(0),
    };
    let epoch = session
        .get::<i64>(EPOCH)
        .await
        .map_err(session_error)?
        .unwrap_or(0);
    let snapshot = if expired(now, &facts) {
        None
    } else {
        users::request_snapshot(&state.pool, user_id)
            .await?
            .filter(|s| s.session_epoch == epoch)
    };
    let Some(snapshot) = snapshot.filter(|s| !s.user.disabled) else {
        if let Some(id) = id {
            state.sessions.forget(id);
        }
        session.flush().await.map_err(session_error)?;
        return Err(AppError::Unauthorized);
    };
    if now - facts.seen_at >= SEEN_AT_EVERY_SECS {
        session.insert(SEEN_AT, now).await.map_err(session_error)?;
        facts.seen_at = now;
    }
    if let (Some(generation), Some(id)) = (generation, id) {
        state.sessions.put(generation, id, facts, snapshot.clone());
    }
    Ok(snapshot)
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

/// Starts a session for `user`: nothing kept from before (another user's OAuth nonce or notice),
/// a new session id (no fixation), the user's session epoch, then the sign-in times.
pub async fn start_session(
    session: &Session,
    user: &User,
    epoch: i64,
    now: i64,
) -> Result<(), AppError> {
    session.clear().await;
    session.cycle_id().await.map_err(session_error)?;
    session.insert(EPOCH, epoch).await.map_err(session_error)?;
    session
        .insert(USER_ID, user.id)
        .await
        .map_err(session_error)?;
    session
        .insert(SIGNED_IN_AT, now)
        .await
        .map_err(session_error)?;
    session.insert(SEEN_AT, now).await.map_err(session_error)?;
    Ok(())
}

/// Ends the session: its record is deleted from the store and the cookie cleared.
pub async fn end_session(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(session_error)
}

/// The binding of an OAuth flow to this session: a nonce kept in the session (created once), of
/// which only the hash is stored beside the `state`.
pub async fn oauth_binding(session: &Session) -> Result<String, AppError> {
    let nonce = match session
        .get::<String>(OAUTH_NONCE)
        .await
        .map_err(session_error)?
    {
        Some(nonce) => nonce,
        None => {
            let nonce = oauth2::CsrfToken::new_random_len(32).secret().clone();
            session
                .insert(OAUTH_NONCE, &nonce)
                .await
                .map_err(session_error)?;
            nonce
        }
    };
    Ok(sha256_hex(&nonce))
}

/// The binding of the current session, if it has one (for checking a callback).
pub async fn existing_oauth_binding(session: &Session) -> Result<Option<String>, AppError> {
    Ok(session
        .get::<String>(OAUTH_NONCE)
        .await
        .map_err(session_error)?
        .map(|n| sha256_hex(&n)))
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
    use crate::store::on;

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
        let left: Option<i64> = on!(pool, |c| sqlx::query_scalar(
            "SELECT failures FROM sign_in_failures WHERE throttle_key = $1"
        )
        .bind(&keys[1].0)
        .fetch_optional(c)
        .await)
        .unwrap();
        assert_eq!(left, None, "a success clears the account");
        let count = |pool: Db| async move {
            on!(pool, |c| sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM sign_in_failures"
            )
            .fetch_one(c)
            .await)
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
