//! Every HTTP call of the front end, through `gloo-net`. Non-2xx answers become a typed error that
//! carries the server's sentence when it sent one.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use shared::{ApiError, AuthorizeResponse, Connection, ServerInfo};

use crate::strings;

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
