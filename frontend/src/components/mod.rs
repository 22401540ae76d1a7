//! Small reusable pieces.

pub mod admin_menu;
pub mod banner;
pub mod data_section;
pub mod data_sources_table;
pub mod organization_filter;
pub mod stripe_mark;
pub mod warehouse_manager;
