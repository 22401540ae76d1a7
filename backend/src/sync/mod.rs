//! The Stripe data sync: a backfill of the seven lists into the product's database (`engine`),
//! run by durable, leased, retried jobs (`jobs`).

pub mod engine;
pub mod jobs;
pub mod ratelimit;

pub use engine::SyncOptions;
pub use jobs::{run_due_jobs, spawn_worker};
