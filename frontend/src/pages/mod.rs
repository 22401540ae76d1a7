//! One module per page.

pub mod add_source;
pub mod connections;
pub mod not_found;
pub mod stripe_authorize;
