//! Sign-in, sign-out and "who am I".

use crate::ids::UserId;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::{LocaleChoice, SignInRequest, User};

use crate::auth::{self, CurrentUser};
use crate::client_ip::ClientAddress;
use crate::error::{ApiJson, AppError, Refused};
use crate::session::{self, SessionCookie};
use crate::state::AppState;
use crate::users;

/// `POST /api/auth/sign-in`: checks the throttle (per client: behind a trusted proxy, the client
/// its forwarding header names), verifies the password (the same work and the same answer whether
/// or not the email exists), then starts a fresh session.
#[utoipa::path(
    post, path = "/auth/sign-in", tag = "auth", security(()), request_body = SignInRequest,
    responses((status = 200, description = "Signed in: the user, and the session cookie in `Set-Cookie`", body = User,
        headers(("Set-Cookie" = String, description = "`connections_session=…; HttpOnly; SameSite=Lax; Path=/`"))), Refused)
)]
pub async fn sign_in(
    State(state): State<AppState>,
    SessionCookie(previous): SessionCookie,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<SignInRequest>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let keys = auth::throttle_keys(&body.email, &client);
    if let Some(wait) = auth::charge_attempt(&state.pool, &keys, now).await? {
        tracing::warn!(client = %client, "sign-in throttled");
        return Err(AppError::RateLimited(wait));
    }
    let credentials = users::credentials(&state.pool, &body.email).await?;
    let hash = credentials
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| auth::dummy_hash().to_owned());
    let password = body.password;
    let verified = users::verify_password_queued(password, hash).await;
    let (user, epoch) = match credentials {
        Some(c) if verified && !c.user.disabled => (c.user, c.session_epoch),
        _ => {
            // The attempt was already counted against the limits.
            // The email is logged to spot attacks; the password never is.
            tracing::warn!(email = %keys[2].0, client = %client, "failed sign-in");
            return Err(AppError::BadCredentials);
        }
    };
    auth::refund_attempt(&state.pool, &keys).await?;
    let secure = state.settings.secure_cookies();
    let (_, cookie) = session::start(
        &state.pool,
        previous.as_ref(),
        UserId(user.id),
        epoch,
        now,
        secure,
    )
    .await?;
    users::touch_sign_in(&state.pool, UserId(user.id), now).await?;
    tracing::info!(user_id = user.id, "signed in");
    let user = User {
        last_sign_in_at: Some(now),
        ..user
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(user)).into_response())
}

/// `POST /api/auth/sign-out`: deletes the session record; the cookie stops working at once.
#[utoipa::path(
    post, path = "/auth/sign-out", tag = "auth", security((), ("session" = [])),
    responses((status = 204, description = "Signed out: the session is deleted and its cookie cleared"), Refused)
)]
pub async fn sign_out(
    State(state): State<AppState>,
    SessionCookie(session): SessionCookie,
) -> Result<Response, AppError> {
    let secure = state.settings.secure_cookies();
    let clear = session::end(&state.pool, session.as_ref(), secure).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(clear) = clear {
        response.headers_mut().insert(header::SET_COOKIE, clear);
    }
    Ok(response)
}

/// `GET /api/auth/me`: the signed-in user.
#[utoipa::path(
    get, path = "/auth/me", tag = "auth", security(("session" = [])),
    responses((status = 200, description = "The signed-in user (any role)", body = User), Refused)
)]
pub async fn me(current: CurrentUser) -> Json<User> {
    Json(current.user)
}

/// `PUT /api/auth/me/locale`: the language the signed-in user picked in the user menu (`null`:
/// follow the browser again). Any role may choose its own.
#[utoipa::path(
    put, path = "/auth/me/locale", tag = "auth", security(("session" = [])), request_body = LocaleChoice,
    responses((status = 200, description = "The user with the language chosen", body = User), Refused)
)]
pub async fn set_locale(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<LocaleChoice>,
) -> Result<Json<User>, AppError> {
    crate::store::set_locale(&state.pool, UserId(current.user.id), body.locale).await?;
    Ok(Json(User {
        locale: body.locale,
        ..current.user
    }))
}
