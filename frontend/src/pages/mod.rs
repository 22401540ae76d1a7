//! One module per page.

pub mod add_source;
pub mod connection_detail;
pub mod connections;
pub mod host_keys;
pub mod not_found;
pub mod requires_admin;
pub mod sign_in;
pub mod stripe_authorize;
pub mod users;
