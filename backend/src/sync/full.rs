//! The full pass: each of the seven lists page by page, resuming from its checkpoint. A page's rows
//! and the checkpoint commit together, so a crash anywhere resumes with no duplicates and no gaps.
//! A table listed whole marks what it did not list as deleted (events excepted: Stripe drops them
//! after 30 days, they are not deleted). When the pass completes, the events pass takes over from
//! the moment it began.

use super::run::{failed, not_stored, Outcome, Run, CURSOR_OVERLAP_SECS};
use crate::services::credentials::CredentialError;
use crate::store;
use crate::stripe::lists::StripeList;
use crate::stripe::StripeError;

/// Runs (or resumes) the job's full pass.
pub(super) async fn pass(run: &mut Run<'_>) -> Outcome {
    let (app, connection) = (run.app, run.connection());
    let started = app.clock.now() - CURSOR_OVERLAP_SECS;
    match store::begin_full_pass(&app.pool, run.lease(), connection, started).await {
        Ok(Some(_)) => {}
        Ok(None) => return Outcome::LeaseLost,
        Err(e) => return not_stored(connection, StripeList::ALL[0], &e),
    }
    for list in StripeList::ALL {
        match table(run, list).await {
            Outcome::Done => {}
            other => return other,
        }
    }
    match store::advance_events(&app.pool, run.lease(), connection, None).await {
        Ok(true) => Outcome::Done,
        Ok(false) => Outcome::LeaseLost,
        Err(e) => not_stored(connection, StripeList::Events, &e),
    }
}

/// Lists one table whole (from its checkpoint), then marks it synced.
async fn table(run: &mut Run<'_>, list: StripeList) -> Outcome {
    let (app, connection) = (run.app, run.connection());
    let state = match store::table_state(&app.pool, connection, list).await {
        Ok(state) => state,
        Err(e) => return not_stored(connection, list, &e),
    };
    // A retried job keeps the tables its earlier runs completed.
    if state.done_job_id == Some(run.job.id) {
        return Outcome::Done;
    }
    let mut after = state.checkpoint;
    let mut first = after.is_none();
    let mut restarted = false;
    let size = run.options.page_size;
    loop {
        if run.out_of_pages() {
            return Outcome::Stopped;
        }
        let cursor = after.clone();
        let read = run
            .read(|client, key| {
                let cursor = cursor.clone();
                async move {
                    client
                        .list_page_sized(list, cursor.as_deref(), size, &key)
                        .await
                }
            })
            .await;
        let page = match read {
            Ok(page) => page,
            // The checkpoint's object was deleted at Stripe: the pass starts the table over
            // (upserts make the repeated rows a no-op), once per run so it cannot loop.
            Err(CredentialError::Stripe(StripeError::Missing(_)))
                if after.is_some() && !restarted =>
            {
                tracing::info!(
                    connection_id = %connection,
                    table = list.name(),
                    "sync checkpoint gone at Stripe; restarting the table"
                );
                restarted = true;
                after = None;
                first = true;
                continue;
            }
            Err(e) => return failed(connection, list, &e),
        };
        let lease = run.lease();
        match store::commit_page(&app.pool, lease, connection, list, &page.data, first).await {
            Ok(true) => app.metrics.rows_written(page.data.len() as u64),
            Ok(false) => return Outcome::LeaseLost,
            Err(e) => return not_stored(connection, list, &e),
        }
        first = false;
        if let Some(last) = page.data.last().and_then(|o| o["id"].as_str()) {
            after = Some(last.to_owned());
        }
        if !page.has_more || page.data.is_empty() {
            let reconcile = list != StripeList::Events;
            return match store::finish_table(&app.pool, run.lease(), connection, list, reconcile)
                .await
            {
                Ok(true) => Outcome::Done,
                Ok(false) => Outcome::LeaseLost,
                Err(e) => not_stored(connection, list, &e),
            };
        }
    }
}
