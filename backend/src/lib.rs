//! The Connections backend: the only holder of the Stripe secret key. It does the OAuth code
//! exchange, stores connections with their tokens encrypted, and serves the SPA and its JSON API.

pub mod actor;
pub mod api;
pub mod app;
pub mod auth;
pub mod checker;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod cookies;
pub mod crypto;
pub mod domain;
pub mod emulator;
pub mod error;
pub mod ids;
pub mod metrics;
pub mod routes;
pub mod server;
pub mod services;
pub mod session;
pub mod startup;
pub mod state;
pub mod store;
pub mod stripe;
pub mod sync;
pub mod users;
pub mod warehouse;
pub mod webhook;
