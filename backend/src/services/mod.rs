//! The work behind the routes: starting and completing authorizations, keeping credentials alive,
//! testing and deleting connections, answering the metrics. Handlers parse and answer; tests call
//! these directly.

pub mod authorize;
pub mod connection_check;
pub mod connections;
pub mod credentials;
pub mod export;
pub mod hosts;
pub mod metrics;
pub mod reconcile;
pub mod sync;
pub mod warehouse;
pub mod widget_flows;
