//! HTTP routes: the JSON API under `/api/` and the OAuth callback under `/oauth/`.

pub mod api;
pub mod auth;
pub mod oauth;
pub mod users;
pub mod webhooks;
