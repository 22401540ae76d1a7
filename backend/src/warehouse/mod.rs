//! Stripe data as a warehouse (issue 19, under way): the rules by which an object becomes typed
//! columns (`columns`) and a connection's schema gets its name (`schema`). The relations built on
//! them, the Data Warehouse Manager and the reader login come next.

pub mod children;
pub mod columns;
pub mod examples;
pub mod schema;
pub mod staged;

/// The relations of a connection's schema: the seven lists' tables and the child tables.
pub const TABLES: [&str; 9] = [
    "customers",
    "charges",
    "coupons",
    "invoices",
    "plans",
    "subscriptions",
    "events",
    "invoice_lines",
    "subscription_items",
];
