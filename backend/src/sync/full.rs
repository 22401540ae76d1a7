//! The full pass: the seven lists side by side, each read as ranges (`list_pass`) from their
//! checkpoints. A page's rows and its range's checkpoint commit together, so a crash anywhere
//! resumes with no duplicates and no gaps. A table listed whole marks what it did not list as
//! deleted (events excepted: Stripe drops them after 30 days, they are not deleted). When the pass
//! completes, the events pass takes over from the moment it began.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::list_pass;
use super::run::{not_stored, Outcome, Run, CURSOR_OVERLAP_SECS};
use crate::store;
use crate::stripe::lists::StripeList;

/// Runs (or resumes) the job's full pass.
pub(super) async fn pass(run: &Arc<Run>) -> Outcome {
    let (app, connection) = (&run.app, run.connection());
    let started = app.clock.now() - CURSOR_OVERLAP_SECS;
    // A resumed pass keeps the cursor of its first run, and the moment that run began.
    let began = match store::begin_full_pass(&app.pool, run.lease(), connection, started).await {
        Ok(Some(cursor)) => cursor + CURSOR_OVERLAP_SECS,
        Ok(None) => return Outcome::LeaseLost,
        Err(e) => return not_stored(connection, StripeList::ALL[0], &e),
    };
    let mut lists: FuturesUnordered<_> = StripeList::ALL
        .into_iter()
        .map(|list| async move {
            let outcome = list_pass::table(run, list, began).await;
            run.lists_left.fetch_sub(1, Ordering::Relaxed);
            outcome
        })
        .collect();
    // The first list that cannot go on ends the pass (the others stop where they are); a spent
    // page budget (a crash played by tests) lets every list reach it, so what was read is written.
    let mut stopped = false;
    while let Some(outcome) = lists.next().await {
        match outcome {
            Outcome::Done => {}
            Outcome::Stopped => stopped = true,
            other => return other,
        }
    }
    drop(lists);
    if stopped {
        return Outcome::Stopped;
    }
    match store::advance_events(&app.pool, run.lease(), connection, None).await {
        Ok(true) => Outcome::Done,
        Ok(false) => Outcome::LeaseLost,
        Err(e) => not_stored(connection, StripeList::Events, &e),
    }
}
