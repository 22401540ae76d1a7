//! The events pass: Stripe's events since the connection's cursor, stored in the `events` table and
//! applied to the other six. Applying is order-free: for each object the newest event wins (two
//! of the same second cannot be told apart: the object is read again); its payload is used when
//! rendered in our API version, else the object is read again by id; a deletion marks the object
//! deleted (a subscription's `customer.subscription.deleted` is its end, not a deletion: it is
//! stored canceled). Each write carries the moment it reflects, so a state stored by a webhook or
//! a list read after the event is never overwritten by it. Too many changes at once → a full pass
//! instead.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::Value;

use super::limits::Endpoint;

use super::run::{failed, not_stored, Outcome, Run, CURSOR_OVERLAP_SECS};
use crate::store;
use crate::stripe::client::STRIPE_VERSION;
use crate::stripe::lists::StripeList;

/// More changed objects than this in one pass are cheaper to list whole.
pub const MAX_CHANGED: usize = 5_000;
/// Objects written per transaction.
const BATCH: usize = 100;
/// Objects read again by id side by side (the connection's pace still applies).
const REREADS_IN_FLIGHT: usize = 16;

/// The newest news of one object.
#[derive(Debug, Clone)]
struct Change {
    /// The event that brought it.
    event: String,
    created: i64,
    object: Value,
    deleted: bool,
    /// The payload is the object as we would read it.
    current: bool,
}

/// The list an event's object belongs to, if it is one of ours (events excepted).
pub(super) fn list_of(object: &Value) -> Option<StripeList> {
    Some(match object["object"].as_str()? {
        "customer" => StripeList::Customers,
        "charge" => StripeList::Charges,
        "coupon" => StripeList::Coupons,
        "invoice" => StripeList::Invoices,
        "plan" => StripeList::Plans,
        "subscription" => StripeList::Subscriptions,
        _ => return None,
    })
}

/// Runs the events pass from `from` (inclusive).
pub(super) async fn pass(run: &Arc<Run>, from: i64) -> Outcome {
    let (app, connection) = (&run.app, run.connection());
    // Every change made before this moment will be in the tables.
    let began = app.clock.now();
    let from_param = from.to_string();
    let size = run.options.page_size;
    let mut after: Option<String> = None;
    let mut changes: BTreeMap<(&'static str, String), (StripeList, Change)> = BTreeMap::new();
    let mut newest = from;
    loop {
        if !run.take_page() {
            return Outcome::Stopped;
        }
        let cursor = after.clone();
        let filter = [("created[gte]", from_param.as_str())];
        let read = run
            .read(Endpoint::List(StripeList::Events), |client, key| {
                let cursor = cursor.clone();
                async move {
                    client
                        .list_page_once(StripeList::Events, &filter, cursor.as_deref(), size, &key)
                        .await
                }
            })
            .await;
        let page = match read {
            Ok(page) => page,
            Err(e) => return failed(connection, StripeList::Events, &e),
        };
        // Nothing new (most polls): one request, no write.
        if !page.data.is_empty() {
            let events: Vec<(&Value, i64)> = page
                .data
                .iter()
                .map(|e| (e, e["created"].as_i64().unwrap_or(from)))
                .collect();
            let events = store::Prepared::versioned(StripeList::Events, &events);
            let lease = run.lease();
            match store::store_objects(&app.pool, lease, connection, StripeList::Events, &events)
                .await
            {
                Ok(true) => app.metrics.rows_written(page.data.len() as u64),
                Ok(false) => return Outcome::LeaseLost,
                Err(e) => return not_stored(connection, StripeList::Events, &e),
            }
        }
        for event in &page.data {
            let created = event["created"].as_i64().unwrap_or(from);
            newest = newest.max(created);
            note(&mut changes, event, created);
        }
        if changes.len() > MAX_CHANGED {
            tracing::info!(
                connection_id = %connection,
                changed = changes.len(),
                "many changes since the last sync: a full pass instead"
            );
            return super::full::pass(run).await;
        }
        after = page
            .data
            .last()
            .and_then(|o| o["id"].as_str())
            .map(str::to_owned);
        if !page.has_more || after.is_none() {
            break;
        }
    }
    let mut changed: Vec<StripeList> = changes.values().map(|(list, _)| *list).collect();
    changed.dedup();
    changed.push(StripeList::Events);
    if let Some(outcome) = apply(run, changes).await {
        return outcome;
    }
    let next = (newest - CURSOR_OVERLAP_SECS).max(from);
    let lease = run.lease();
    match store::finish_events_pass(&app.pool, lease, connection, &changed, began, next).await {
        Ok(true) => Outcome::Done,
        Ok(false) => Outcome::LeaseLost,
        Err(e) => not_stored(connection, StripeList::Events, &e),
    }
}

/// Keeps the event's news of its object when it is the newest seen.
fn note(
    changes: &mut BTreeMap<(&'static str, String), (StripeList, Change)>,
    event: &Value,
    created: i64,
) {
    let object = &event["data"]["object"];
    let (Some(list), Some(id)) = (list_of(object), object["id"].as_str()) else {
        return;
    };
    let kind = event["type"].as_str().unwrap_or_default();
    let event_id = event["id"].as_str().unwrap_or_default();
    let change = Change {
        event: event_id.to_owned(),
        created,
        object: object.clone(),
        deleted: kind.ends_with(".deleted") && list != StripeList::Subscriptions,
        current: event["api_version"].as_str() == Some(STRIPE_VERSION),
    };
    let key = (list.name(), id.to_owned());
    match changes.get_mut(&key) {
        // A deletion is final, whatever the order events are listed in.
        Some((_, seen)) if seen.deleted || seen.created > created => {}
        // Two changes in the same second: which came last only Stripe knows now.
        Some((_, seen)) if seen.created == created && seen.event != change.event => {
            if change.deleted {
                *seen = change;
            } else {
                seen.current = false;
            }
        }
        _ => {
            changes.insert(key, (list, change));
        }
    }
}

/// Objects deleted at Stripe, each with the moment it was known to be.
type Deletions = Vec<(Value, i64)>;

/// Objects to write and the moment each reflects.
#[derive(Default)]
struct Upserts {
    objects: Vec<Value>,
    versions: Vec<i64>,
}

impl Upserts {
    fn push(&mut self, object: Value, version: i64) {
        self.objects.push(object);
        self.versions.push(version);
    }

    fn versioned(&self) -> Vec<(&Value, i64)> {
        self.objects
            .iter()
            .zip(self.versions.iter().copied())
            .collect()
    }
}

/// Writes the changes: payloads as they are, others read again (side by side, at the
/// connection's pace), deletions marked. `Some` when the run must end.
async fn apply(
    run: &Run,
    changes: BTreeMap<(&'static str, String), (StripeList, Change)>,
) -> Option<Outcome> {
    let (app, connection) = (&run.app, run.connection());
    let mut by_list: BTreeMap<&'static str, (StripeList, Upserts, Deletions)> = BTreeMap::new();
    let mut stale: Vec<(&'static str, StripeList, String, Change)> = Vec::new();
    for ((name, id), (list, change)) in changes {
        let (_, upserts, deletions) = by_list
            .entry(name)
            .or_insert_with(|| (list, Upserts::default(), Vec::new()));
        if change.deleted {
            deletions.push((change.object, change.created));
        } else if change.current {
            upserts.push(change.object, change.created);
        } else {
            stale.push((name, list, id, change));
        }
    }
    let reread = |(name, list, id, seen): (&'static str, StripeList, String, Change)| async move {
        if !run.take_page() {
            return Err(Outcome::Stopped);
        }
        // As a list page: the second before it was asked for (an event of that second wins).
        let read_at = run.app.clock.now() - 1;
        let read = run
            .read(Endpoint::Retrieve(list), |client, key| {
                let id = id.clone();
                async move { client.retrieve_once(list, &id, &key).await }
            })
            .await;
        match read {
            Ok(found) => Ok((name, found, read_at, seen)),
            Err(e) => Err(failed(connection, list, &e)),
        }
    };
    // Made before streaming them: a stream of a closure's futures trips the compiler's `Send`
    // check on the worker's future (rust-lang/rust#64552).
    let rereads: Vec<_> = stale.into_iter().map(reread).collect();
    let mut reads = futures_util::stream::iter(rereads).buffer_unordered(REREADS_IN_FLIGHT);
    while let Some(read) = reads.next().await {
        let (name, found, read_at, seen) = match read {
            Ok(read) => read,
            Err(outcome) => return Some(outcome),
        };
        if let Some((_, upserts, deletions)) = by_list.get_mut(name) {
            match found {
                Some(object) => upserts.push(object, read_at),
                // Gone by now: deleted at the latest when it was looked for.
                None => deletions.push((seen.object, read_at)),
            }
        }
    }
    drop(reads);
    for (list, mut upserts, deletions) in by_list.into_values() {
        if let Err(e) = super::children::complete(run, list, &mut upserts.objects).await {
            return Some(failed(connection, list, &e));
        }
        let versioned = upserts.versioned();
        for chunk in versioned.chunks(BATCH) {
            let page = store::Prepared::versioned(list, chunk);
            match store::store_objects(&app.pool, run.lease(), connection, list, &page).await {
                Ok(true) => app.metrics.rows_written(chunk.len() as u64),
                Ok(false) => return Some(Outcome::LeaseLost),
                Err(e) => return Some(not_stored(connection, list, &e)),
            }
        }
        for chunk in deletions.chunks(BATCH) {
            match store::mark_deleted(&app.pool, run.lease(), connection, list, chunk).await {
                Ok(true) => {}
                Ok(false) => return Some(Outcome::LeaseLost),
                Err(e) => return Some(not_stored(connection, list, &e)),
            }
        }
    }
    None
}
