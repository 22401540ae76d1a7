//! The Stripe data sync: full passes of the seven lists side by side, each read as `created` ranges
//! (`full`, `list_pass`, `ranges`), and events passes (`events`) into the product's database,
//! chosen per run (`engine`), paced per connection (`limits`), written through one bounded queue
//! (`writer`, connections in turn: `fair_queue`), run by durable, leased, retried jobs side by side
//! (`jobs`); webhooks' data events applied as they arrive (`queued_events`).

mod children;
pub mod engine;
mod events;
mod fair_queue;
mod full;
pub mod jobs;
pub mod limits;
mod list_pass;
pub mod queued_events;
mod ranges;
mod run;
pub mod writer;

pub use engine::SyncOptions;
pub use jobs::{run_due_jobs, spawn_worker};
pub use queued_events::{apply_queued, spawn_applier};
