//! One list of a full pass, read as `created` ranges side by side: the whole list first (newest
//! first, so recent data lands first), then, while fewer ranges are being read than cover Stripe's
//! answer time at the list's rate, the range with the most time left to read is split and its
//! older half read by another reader. Each range resumes from its own checkpoint. A list Stripe
//! refuses `created` bounds on, or one that comes oldest first, is read as one range.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{oneshot, Notify};
use tokio::task::JoinSet;

use super::children;
use super::limits::Endpoint;
use super::ranges::{self, Order, FLOOR};
use super::run::{failed, not_stored, Outcome, Run};
use super::writer::{PageWrite, Written};
use crate::services::credentials::CredentialError;
use crate::store::{self, Prepared, SyncRange, UNBOUNDED_LO};
use crate::stripe::lists::StripeList;
use crate::stripe::StripeError;

/// Pages of one range read ahead of the writer.
const PIPELINE: usize = 2;
/// Whole pages a range open below must have read before it is split.
const UNBOUNDED_SPLIT_PAGES: u64 = 2;

/// Lists one table whole (from its ranges' checkpoints), then marks it synced: every change made
/// before the pass `began` is in it.
pub(super) async fn table(run: &Arc<Run>, list: StripeList, began: i64) -> Outcome {
    let (app, connection) = (&run.app, run.connection());
    let state = match store::table_state(&app.pool, connection, list).await {
        Ok(state) => state,
        Err(e) => return not_stored(connection, list, &e),
    };
    // A retried job keeps the tables its earlier runs completed.
    if state.done_job_id == Some(run.job.id) {
        return Outcome::Done;
    }
    let mut split = true;
    loop {
        match read_ranges(run, list, split).await {
            ListEnd::Done => break,
            ListEnd::Stop(outcome) => return outcome,
            // Read again as one range, unsplit (upserts make rows read twice a no-op).
            ListEnd::Refused if split => {
                tracing::info!(
                    connection_id = %connection,
                    table = list.name(),
                    "Stripe refused created ranges on this list: read as one range"
                );
                match store::restart_list(&app.pool, run.lease(), connection, list).await {
                    Ok(true) => split = false,
                    Ok(false) => return Outcome::LeaseLost,
                    Err(e) => return not_stored(connection, list, &e),
                }
            }
            ListEnd::Refused => {
                let e = CredentialError::Stripe(StripeError::Malformed(
                    "created ranges refused on an unbounded read".into(),
                ));
                return failed(connection, list, &e);
            }
        }
    }
    let reconcile = list != StripeList::Events;
    match store::finish_table(&app.pool, run.lease(), connection, list, began, reconcile).await {
        Ok(true) => Outcome::Done,
        Ok(false) => Outcome::LeaseLost,
        Err(e) => not_stored(connection, list, &e),
    }
}

/// How reading a list's ranges ended.
enum ListEnd {
    Done,
    /// Stripe refused a `created` bound.
    Refused,
    Stop(Outcome),
}

/// A range being read.
struct Slot {
    /// Its name: objects created before this second.
    hi: i64,
    state: Mutex<SlotState>,
}

struct SlotState {
    /// Objects created at or after this second (raised by a split).
    lo: i64,
    /// The last id stored.
    checkpoint: Option<String>,
    /// The `created` of the last object stored.
    position: Option<i64>,
    /// Its reader has read its last page: it is not split any more.
    finished: bool,
    /// The `created` of the first object this run stored from it, and how many it stored: the
    /// density that tells whether what is left is worth splitting.
    first: Option<i64>,
    read: u64,
}

impl SlotState {
    /// Objects left to read, as the density read so far predicts (none known: nothing).
    fn left(&self) -> f64 {
        let (Some(first), Some(position)) = (self.first, self.position) else {
            return 0.0;
        };
        let density = self.read as f64 / (first - position).max(1) as f64;
        density * (position - self.lo.max(FLOOR)).max(0) as f64
    }
}

impl Slot {
    fn new(range: SyncRange) -> Arc<Self> {
        Arc::new(Self {
            hi: range.hi,
            state: Mutex::new(SlotState {
                lo: range.lo,
                checkpoint: range.checkpoint,
                position: None,
                finished: false,
                first: None,
                read: 0,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a list's readers share.
struct ListShared {
    order: Mutex<Order>,
    /// A reader stored a page: a range may now be worth splitting.
    progress: Notify,
}

impl ListShared {
    fn learn(&self, created: &[i64]) -> Order {
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        *order = order.learn(created);
        *order
    }

    fn order(&self) -> Order {
        *self.order.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads every range not yet done, splitting while more readers are wanted. Each range's reader is
/// a task of its own: none holds a database connection while waiting for another to be polled.
async fn read_ranges(run: &Arc<Run>, list: StripeList, split: bool) -> ListEnd {
    let (app, connection) = (&run.app, run.connection());
    let ranges = match store::begin_ranges(&app.pool, run.lease(), connection, list).await {
        Ok(Some(ranges)) => ranges,
        Ok(None) => return ListEnd::Stop(Outcome::LeaseLost),
        Err(e) => return ListEnd::Stop(not_stored(connection, list, &e)),
    };
    let shared = Arc::new(ListShared {
        order: Mutex::new(Order::Unknown),
        progress: Notify::new(),
    });
    let mut pending: VecDeque<Arc<Slot>> = ranges
        .into_iter()
        .filter(|r| !r.done)
        .map(Slot::new)
        .collect();
    let mut active: Vec<Arc<Slot>> = Vec::new();
    // Dropped (a list that cannot go on), it aborts the readers still running.
    let mut readers = JoinSet::new();
    loop {
        while readers.len() < run.ranges_wanted() {
            let slot = match pending.pop_front() {
                Some(slot) => slot,
                None if split => match split_one(run, list, &shared, &active).await {
                    Ok(Some(slot)) => slot,
                    Ok(None) => break,
                    Err(outcome) => return ListEnd::Stop(outcome),
                },
                None => break,
            };
            active.push(slot.clone());
            let (run, shared) = (run.clone(), shared.clone());
            readers.spawn(async move {
                let end = read_range(&run, list, &shared, &slot).await;
                (slot, end)
            });
        }
        tokio::select! {
            next = readers.join_next() => match next {
                None => return ListEnd::Done,
                Some(Ok((slot, end))) => {
                    active.retain(|s| !Arc::ptr_eq(s, &slot));
                    match end {
                        ListEnd::Done => {}
                        // A spent page budget (a crash played by tests): every reader reaches
                        // it, and what they read is written before the run ends.
                        ListEnd::Stop(Outcome::Stopped) => {
                            while readers.join_next().await.is_some() {}
                            return ListEnd::Stop(Outcome::Stopped);
                        }
                        other => return other,
                    }
                }
                Some(Err(e)) => {
                    tracing::error!(connection_id = %connection, table = list.name(), error = %e, "a range reader failed");
                    return ListEnd::Stop(Outcome::Transient(list, "stripe_unavailable"));
                }
            },
            () = shared.progress.notified() => {}
        }
    }
}

/// Splits the active range with the most time left to read; the new range below it, or `None`
/// when none can be split.
async fn split_one(
    run: &Run,
    list: StripeList,
    shared: &ListShared,
    active: &[Arc<Slot>],
) -> Result<Option<Arc<Slot>>, Outcome> {
    if shared.order() != Order::NewestFirst {
        return Ok(None);
    }
    let best = active
        .iter()
        .filter_map(|slot| {
            let state = slot.state();
            // Each half must be worth a page at least (a split costs a partial last page). A
            // range open below (`lo` unknown) is guessed to reach back to Stripe's beginning:
            // only one that has read whole pages is split, never a small account's list.
            let size = run.options.page_size as f64;
            if state.finished
                || state.left() < 2.0 * size
                || (state.lo == UNBOUNDED_LO
                    && state.read < UNBOUNDED_SPLIT_PAGES * run.options.page_size as u64)
            {
                return None;
            }
            let mid = ranges::split_point(state.lo, state.position?)?;
            let left = state.position? - state.lo.max(FLOOR);
            Some((left, slot, state.lo, mid))
        })
        .max_by_key(|(left, ..)| *left);
    let Some((_, slot, lo, mid)) = best else {
        return Ok(None);
    };
    let (app, connection) = (&run.app, run.connection());
    match store::split_range(&app.pool, run.lease(), connection, list, (lo, mid, slot.hi)).await {
        Ok(true) => {}
        Ok(false) => return Err(Outcome::LeaseLost),
        Err(e) => return Err(not_stored(connection, list, &e)),
    }
    // Stored first: a crash from here on resumes both halves.
    slot.state().lo = mid;
    Ok(Some(Slot::new(SyncRange {
        hi: mid,
        lo,
        checkpoint: None,
        done: false,
    })))
}

/// Waits for a range's pages to be written; `Some` when the run must end.
async fn settle(
    run: &Run,
    list: StripeList,
    acks: &mut VecDeque<oneshot::Receiver<Written>>,
    keep: usize,
) -> Option<ListEnd> {
    while acks.len() > keep {
        let ack = acks.pop_front()?;
        match ack.await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return Some(ListEnd::Stop(Outcome::LeaseLost)),
            Ok(Err(message)) => {
                tracing::warn!(connection_id = %run.connection(), table = list.name(), error = %message, "storing sync data failed");
                return Some(ListEnd::Stop(Outcome::Transient(list, "storage_failed")));
            }
            Err(_) => return Some(ListEnd::Stop(Outcome::Transient(list, "storage_failed"))),
        }
    }
    None
}

/// Reads one range to its end (or its `lo`, raised by a split), page after page, each page handed
/// to the writer while the next is read.
async fn read_range(run: &Run, list: StripeList, shared: &ListShared, slot: &Slot) -> ListEnd {
    let (app, connection) = (&run.app, run.connection());
    let size = run.options.page_size;
    let mut acks = VecDeque::new();
    let mut restarted = false;
    loop {
        if !run.take_page() {
            return settle(run, list, &mut acks, 0)
                .await
                .unwrap_or(ListEnd::Stop(Outcome::Stopped));
        }
        let (lo, cursor) = {
            let state = slot.state();
            (state.lo, state.checkpoint.clone())
        };
        let filters = ranges::filters(lo, slot.hi);
        // The page's version: the objects are as they were at least when it was asked for — the
        // second before, so that an event of that very second (which may have come after the
        // read) wins over it; a later change of the same second has its own event.
        let read_at = app.clock.now() - 1;
        let read = run
            .read(Endpoint::List(list), |client, key| {
                let (filters, cursor) = (filters.clone(), cursor.clone());
                async move {
                    let filters: Vec<(&str, &str)> =
                        filters.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    client
                        .list_page_once(list, &filters, cursor.as_deref(), size, &key)
                        .await
                }
            })
            .await;
        let page = match read {
            Ok(page) => page,
            // The checkpoint's object was deleted at Stripe: the range starts over (upserts make
            // the repeated rows a no-op), once per run so it cannot loop.
            Err(CredentialError::Stripe(StripeError::Missing(_)))
                if cursor.is_some() && !restarted =>
            {
                if let Some(end) = settle(run, list, &mut acks, 0).await {
                    return end;
                }
                tracing::info!(connection_id = %connection, table = list.name(), "sync checkpoint gone at Stripe; restarting its range");
                match store::restart_range(&app.pool, run.lease(), connection, list, slot.hi).await
                {
                    Ok(true) => {}
                    Ok(false) => return ListEnd::Stop(Outcome::LeaseLost),
                    Err(e) => return ListEnd::Stop(not_stored(connection, list, &e)),
                }
                let mut state = slot.state();
                state.checkpoint = None;
                state.position = None;
                restarted = true;
                continue;
            }
            Err(CredentialError::Stripe(StripeError::InvalidRequest { .. }))
                if !filters.is_empty() =>
            {
                return settle(run, list, &mut acks, 0)
                    .await
                    .unwrap_or(ListEnd::Refused);
            }
            Err(e) => {
                return settle(run, list, &mut acks, 0)
                    .await
                    .unwrap_or_else(|| ListEnd::Stop(failed(connection, list, &e)));
            }
        };
        let created: Vec<Option<i64>> = page.data.iter().map(|o| o["created"].as_i64()).collect();
        let known: Vec<i64> = created.iter().flatten().copied().collect();
        let order = shared.learn(&known);
        let listed = page.data.len();
        let (objects, done) = {
            let mut state = slot.state();
            let keep = if order == Order::NewestFirst {
                let times: Vec<i64> = created.iter().map(|c| c.unwrap_or(i64::MAX)).collect();
                ranges::kept(&times, state.lo)
            } else {
                listed
            };
            let mut objects = page.data;
            objects.truncate(keep);
            if let Some(last) = objects.last() {
                state.checkpoint = last["id"].as_str().map(str::to_owned);
                state.position = created[keep - 1].or(state.position);
                state.first = state.first.or(created[0]);
                state.read += keep as u64;
            }
            let done = keep < listed || !page.has_more || listed == 0;
            state.finished = done;
            (objects, done)
        };
        // Cut child lists read whole first (a failure here is the page's).
        let mut objects = objects;
        if let Err(e) = children::complete(run, list, &mut objects).await {
            return settle(run, list, &mut acks, 0)
                .await
                .unwrap_or_else(|| ListEnd::Stop(failed(connection, list, &e)));
        }
        let written = app
            .sync_writer
            .write(PageWrite {
                job_id: run.job.id,
                owner: run.owner.clone(),
                connection_id: connection,
                list,
                range: slot.hi,
                // Made ready here, on the reader's core: the writer only binds.
                objects: Prepared::new(list, &objects, read_at),
                done,
            })
            .await;
        acks.push_back(written);
        shared.progress.notify_one();
        if let Some(end) = settle(run, list, &mut acks, if done { 0 } else { PIPELINE }).await {
            return end;
        }
        if done {
            return ListEnd::Done;
        }
    }
}
