//! Admin > Users: list, add, change role, disable. Admin only.

use crate::ids::UserId;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use shared::{CreateUserRequest, CreateUserResponse, UpdateUserRequest, User};

use crate::auth::AdminUser;
use crate::error::{ApiJson, ApiPath, AppError, Refused};
use crate::state::AppState;
use crate::users;

/// `GET /api/users`.
#[utoipa::path(
    get, path = "/users", tag = "users", security(("session" = ["admin"])),
    responses((status = 200, description = "Every user", body = Vec<User>), Refused)
)]
pub async fn list_users(
    _admin: AdminUser,
    State(state): State<AppState>,
) -> Result<Json<Vec<User>>, AppError> {
    Ok(Json(users::list(&state.pool).await?))
}

/// `POST /api/users`: with a password the admin sets, or a generated one-time password shown once.
#[utoipa::path(
    post, path = "/users", tag = "users", security(("session" = ["admin"])), request_body = CreateUserRequest,
    responses((status = 201, description = "Created; a generated one-time password is shown this once", body = CreateUserResponse), Refused)
)]
pub async fn create_user(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<CreateUserResponse>), AppError> {
    users::normalize_email(&body.email)?;
    let (password, one_time) = match body.password.filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => (users::generate_password(), true),
    };
    users::check_new_password(&password)?;
    let to_hash = password.clone();
    let hash = users::hash_password_queued(to_hash).await?;
    let user = users::create(
        &state.pool,
        &body.email,
        &body.display_name,
        body.role,
        &hash,
        state.clock.now(),
    )
    .await?;
    tracing::info!(
        by = admin.user.id,
        user_id = user.id,
        role = user.role.as_str(),
        "user created"
    );
    Ok((
        StatusCode::CREATED,
        Json(CreateUserResponse {
            user,
            one_time_password: one_time.then_some(password),
        }),
    ))
}

/// `PATCH /api/users/{id}`: change role and/or disable; never leaves no enabled Admin.
#[utoipa::path(
    patch, path = "/users/{id}", tag = "users", security(("session" = ["admin"])), request_body = UpdateUserRequest,
    params(("id" = i64, Path, description = "The user's id")),
    responses((status = 200, description = "The changed user", body = User), Refused)
)]
pub async fn update_user(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(body): ApiJson<UpdateUserRequest>,
) -> Result<Json<User>, AppError> {
    let user = users::update(&state.pool, id, body.role, body.disabled).await?;
    tracing::info!(
        by = admin.user.id,
        user_id = %id,
        role = user.role.as_str(),
        disabled = user.disabled,
        "user changed"
    );
    Ok(Json(user))
}
