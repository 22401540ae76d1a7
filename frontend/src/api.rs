//! Every HTTP call of the front end, through `gloo-net`. Non-2xx answers become a typed error that
//! carries the server's sentence when it sent one.

use std::cell::RefCell;

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::{
    ApiError, AuthorizeResponse, Connection, CreateUserRequest, CreateUserResponse, ServerInfo,
    SignInRequest, UpdateUserRequest, User,
};

use crate::strings;

thread_local! {
    static ON_SIGNED_OUT: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

/// What to do when the server says the session is over (the app sends the user to sign in).
pub fn on_signed_out(f: impl Fn() + 'static) {
    ON_SIGNED_OUT.with(|cell| *cell.borrow_mut() = Some(Box::new(f)));
}

/// Why a call failed, in words the UI can show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFailure {
    /// The server could not be reached.
    Network,
    /// The server answered with its error body.
    Server(ApiError),
    /// The server answered something unexpected.
    Unexpected(u16),
}

impl ApiFailure {
    /// The sentence to show.
    pub fn message(&self) -> String {
        match self {
            Self::Network => strings::NETWORK_ERROR.into(),
            Self::Server(e) => e.message.clone(),
            Self::Unexpected(_) => strings::UNEXPECTED_ERROR.into(),
        }
    }
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiFailure> {
    let status = response.status();
    if status == 401 && !response.url().ends_with("/api/auth/sign-in") {
        ON_SIGNED_OUT.with(|cell| {
            if let Some(f) = cell.borrow().as_ref() {
                f();
            }
        });
    }
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|_| ApiFailure::Unexpected(status));
    }
    match response.json::<ApiError>().await {
        Ok(body) => Err(ApiFailure::Server(body)),
        Err(_) => Err(ApiFailure::Unexpected(status)),
    }
}

/// `GET /api/connections`.
pub async fn list_connections() -> Result<Vec<Connection>, ApiFailure> {
    let response = Request::get("/api/connections")
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|_| ApiFailure::Network)?;
    read(response).await
}

/// `GET /api/meta`.
pub async fn server_info() -> Result<ServerInfo, ApiFailure> {
    let response = Request::get("/api/meta")
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|_| ApiFailure::Network)?;
    read(response).await
}

/// `POST /api/connections/stripe/authorize`: where to send the browser to connect Stripe.
pub async fn start_stripe_authorize() -> Result<AuthorizeResponse, ApiFailure> {
    let response = Request::post("/api/connections/stripe/authorize")
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|_| ApiFailure::Network)?;
    read(response).await
}

async fn send(request: RequestBuilder) -> Result<Response, ApiFailure> {
    request
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|_| ApiFailure::Network)
}

async fn send_json<B: Serialize>(
    request: RequestBuilder,
    body: &B,
) -> Result<Response, ApiFailure> {
    request
        .header("Accept", "application/json")
        .json(body)
        .map_err(|_| ApiFailure::Network)?
        .send()
        .await
        .map_err(|_| ApiFailure::Network)
}

/// `GET /api/auth/me`: the signed-in user (401 → `Err`).
pub async fn me() -> Result<User, ApiFailure> {
    read(send(Request::get("/api/auth/me")).await?).await
}

/// `POST /api/auth/sign-in`.
pub async fn sign_in(email: String, password: String) -> Result<User, ApiFailure> {
    let body = SignInRequest { email, password };
    read(send_json(Request::post("/api/auth/sign-in"), &body).await?).await
}

/// `POST /api/auth/sign-out`.
pub async fn sign_out() -> Result<(), ApiFailure> {
    let response = send(Request::post("/api/auth/sign-out")).await?;
    if response.ok() {
        Ok(())
    } else {
        Err(ApiFailure::Unexpected(response.status()))
    }
}

/// `GET /api/users`.
pub async fn list_users() -> Result<Vec<User>, ApiFailure> {
    read(send(Request::get("/api/users")).await?).await
}

/// `POST /api/users`.
pub async fn create_user(body: CreateUserRequest) -> Result<CreateUserResponse, ApiFailure> {
    read(send_json(Request::post("/api/users"), &body).await?).await
}

/// `PATCH /api/users/{id}`.
pub async fn update_user(id: i64, body: UpdateUserRequest) -> Result<User, ApiFailure> {
    read(send_json(Request::patch(&format!("/api/users/{id}")), &body).await?).await
}
