//! Thin HTTP handlers, one module per resource: parse, call the service, answer.

pub mod auth;
pub mod connections;
pub mod hosts;
pub mod meta;
pub mod metrics;
pub mod oauth;
pub mod sync;
pub mod users;
pub mod warehouse;
pub mod webhooks;
pub mod widget;
pub mod widget_authorize;
