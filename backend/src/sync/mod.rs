//! The Stripe data sync: full passes of the seven lists (`full`) and events passes (`events`) into
//! the product's database, chosen per run (`engine`), run by durable, leased, retried jobs (`jobs`).

pub mod engine;
mod events;
mod full;
pub mod jobs;
pub mod ratelimit;
mod run;

pub use engine::SyncOptions;
pub use jobs::{run_due_jobs, spawn_worker};
