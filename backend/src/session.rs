//! The sign-in session: a random token in an HttpOnly cookie, whose SHA-256 names a row of the
//! `sessions` table. Every request that needs its user reads the session and the user together,
//! from the database, in one query: a sign-out, a reset password, a role change or a disabled
//! account made by any process (another instance, the CLI) shows on the very next request.

use crate::ids::UserId;
use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use shared::{CallbackNotice, User};

use crate::cookies;
use crate::crypto::sha256_hex;
use crate::store::{self, Db, SignedIn, StoreError};

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT_SECS: i64 = 30 * 60;
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE_TIMEOUT_SECS: i64 = 12 * 60 * 60;
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "connections_session";
/// The idle clock is moved at most this often (a write), not on every request.
const SEEN_AT_EVERY_SECS: i64 = 60;
/// Longest token looked up; ours are 43 characters.
const MAX_TOKEN_LEN: usize = 128;

/// A session, named by its token's hash (the token itself lives only in the browser's cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    /// The id of the session whose cookie holds `token`.
    fn of_token(token: &str) -> Self {
        Self(sha256_hex(token))
    }

    /// The hash, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The session a request's cookie names, if it carries one (whether or not it is still valid).
#[derive(Debug, Clone)]
pub struct SessionCookie(pub Option<SessionId>);

impl<S: Send + Sync> FromRequestParts<S> for SessionCookie {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self(
            cookies::cookie(&parts.headers, SESSION_COOKIE)
                .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN)
                .map(|t| SessionId::of_token(&t)),
        ))
    }
}

/// Why a session does not sign its request in.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No session, or one that ended (expired, signed out, password reset, user disabled).
    #[error("not signed in")]
    SignedOut,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The user session `id` signs in at `now`, as the database holds them now: idle and absolute
/// expiry, the password epoch and the disabled flag are checked on every call. An ended session's
/// row is deleted.
pub async fn signed_in_user(pool: &Db, id: &SessionId, now: i64) -> Result<User, SessionError> {
    Ok(signed_in(pool, id, now).await?.user)
}

/// [`signed_in_user`], with what was read beside the user in the same query.
pub async fn signed_in(pool: &Db, id: &SessionId, now: i64) -> Result<SignedIn, SessionError> {
    let Some(session) = store::signed_in(pool, id.as_str()).await? else {
        return Err(SessionError::SignedOut);
    };
    let expired = now - session.signed_in_at >= ABSOLUTE_TIMEOUT_SECS
        || now - session.seen_at >= IDLE_TIMEOUT_SECS;
    if expired || !session.current_epoch || session.user.disabled {
        store::delete_session(pool, id.as_str()).await?;
        return Err(SessionError::SignedOut);
    }
    if now - session.seen_at >= SEEN_AT_EVERY_SECS {
        store::touch_session(pool, id.as_str(), now).await?;
    }
    Ok(session)
}

/// A new session for `user_id` (signed in at `now` under the password `epoch` it was checked
/// against), ending `previous` (the cookie the request came with: nothing of it is kept, and a new
/// id means no fixation). Returns the session and its cookie.
pub async fn start(
    pool: &Db,
    previous: Option<&SessionId>,
    user_id: UserId,
    epoch: i64,
    now: i64,
    secure: bool,
) -> Result<(SessionId, HeaderValue), StoreError> {
    if let Some(previous) = previous {
        store::delete_session(pool, previous.as_str()).await?;
    }
    let token = oauth2::CsrfToken::new_random_len(32).secret().clone();
    let id = SessionId::of_token(&token);
    store::insert_session(pool, id.as_str(), user_id, epoch, now).await?;
    let cookie = cookies::set_cookie(SESSION_COOKIE, &token, "/", ABSOLUTE_TIMEOUT_SECS, secure)
        .ok_or_else(|| StoreError::Corrupt("session cookie".into()))?;
    Ok((id, cookie))
}

/// Ends session `id` (if any); returns the header that clears the cookie.
pub async fn end(
    pool: &Db,
    id: Option<&SessionId>,
    secure: bool,
) -> Result<Option<HeaderValue>, StoreError> {
    if let Some(id) = id {
        store::delete_session(pool, id.as_str()).await?;
    }
    Ok(cookies::set_cookie(SESSION_COOKIE, "", "/", 0, secure))
}

/// The binding of OAuth flows to session `id`: a random value kept in the session (made at its
/// first flow); only its hash is stored beside a flow's `state`.
pub async fn oauth_binding(pool: &Db, id: &SessionId) -> Result<String, SessionError> {
    let fresh = oauth2::CsrfToken::new_random_len(32).secret().clone();
    store::session_binding(pool, id.as_str(), Some(&fresh))
        .await?
        .map(|binding| sha256_hex(&binding))
        .ok_or(SessionError::SignedOut)
}

/// The binding of session `id`, if it has one (for checking a callback).
pub async fn existing_oauth_binding(
    pool: &Db,
    id: &SessionId,
) -> Result<Option<String>, StoreError> {
    Ok(store::session_binding(pool, id.as_str(), None)
        .await?
        .map(|binding| sha256_hex(&binding)))
}

/// Keeps the last refused re-authentication's details in session `id`, for its banner.
pub async fn keep_callback_notice(
    pool: &Db,
    id: &SessionId,
    notice: &CallbackNotice,
) -> Result<(), StoreError> {
    store::put_callback_notice(pool, id.as_str(), notice).await
}

/// The details kept by [`keep_callback_notice`], once.
pub async fn take_callback_notice(
    pool: &Db,
    id: &SessionId,
) -> Result<Option<CallbackNotice>, StoreError> {
    store::take_callback_notice(pool, id.as_str()).await
}

/// Forgets every session that has ended by `now` (idle or past its absolute lifetime).
pub async fn forget_ended(pool: &Db, now: i64) -> Result<(), StoreError> {
    store::delete_expired_sessions(pool, now - IDLE_TIMEOUT_SECS, now - ABSOLUTE_TIMEOUT_SECS).await
}
