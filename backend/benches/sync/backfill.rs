//! The backfill as the product runs it: a restricted-key connection stored as the product stores
//! it, a sync queued and `run_due_jobs` run to the end, and the rows it stored.

use std::time::{Duration, Instant};

use backend::args;
use backend::state::AppState;
use backend::store;
use backend::stripe::lists::StripeList;
use backend::sync::{run_due_jobs, SyncOptions};

pub use crate::common::connect_key;
use crate::spec::{total_objects, KEY};

/// Connects a test-mode account by the list server's restricted key, stored as the product
/// stores it.
pub async fn connect(state: &AppState, account: &str) -> i64 {
    connect_key(state, account, KEY, false).await
}

/// Rows stored for a connection over the seven tables.
pub async fn stored_rows(state: &AppState, connection: i64) -> i64 {
    let mut n = 0;
    for list in StripeList::ALL {
        let rows: i64 = state
            .pool
            .scalar_one(
                &format!(
                    "SELECT COUNT(*) FROM stripe_{} WHERE connection_id = $1",
                    list.name()
                ),
                args![connection],
            )
            .await
            .expect("count");
        n += rows;
    }
    n
}

/// Queues a sync of `connection` and runs due jobs to the end; the time it took.
pub async fn sync(state: &AppState, connection: i64) -> Duration {
    store::enqueue_sync(
        &state.pool,
        backend::ids::ConnectionId(connection),
        state.clock.now(),
        true,
    )
    .await
    .expect("enqueue");
    let t = Instant::now();
    let runs = run_due_jobs(state, SyncOptions::default())
        .await
        .expect("sync");
    let took = t.elapsed();
    assert_eq!(runs, 1, "one run");
    assert_eq!(
        stored_rows(state, connection).await,
        total_objects() as i64,
        "every object stored"
    );
    took
}
