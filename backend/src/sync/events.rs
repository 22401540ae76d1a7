//! The events pass: Stripe's events since the connection's cursor, stored in the `events` table and
//! applied to the other six. Applying is order-free: for each object the newest event wins; its
//! payload is used when rendered in our API version, else the object is read again by id; a
//! deletion marks the object deleted (a subscription's `customer.subscription.deleted` is its end,
//! not a deletion: it is stored canceled). Too many changes at once → a full pass instead.

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
    created: i64,
    object: Value,
    deleted: bool,
    /// The payload is the object as we would read it.
    current: bool,
}

/// The list an event's object belongs to, if it is one of ours (events excepted).
fn list_of(object: &Value) -> Option<StripeList> {
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
        match store::store_objects(
            &app.pool,
            run.lease(),
            connection,
            StripeList::Events,
            &page.data,
        )
        .await
        {
            Ok(true) => app.metrics.rows_written(page.data.len() as u64),
            Ok(false) => return Outcome::LeaseLost,
            Err(e) => return not_stored(connection, StripeList::Events, &e),
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
    if let Some(outcome) = apply(run, changes).await {
        return outcome;
    }
    for list in StripeList::ALL {
        match store::finish_table(&app.pool, run.lease(), connection, list, false).await {
            Ok(true) => {}
            Ok(false) => return Outcome::LeaseLost,
            Err(e) => return not_stored(connection, list, &e),
        }
    }
    let next = (newest - CURSOR_OVERLAP_SECS).max(from);
    match store::advance_events(&app.pool, run.lease(), connection, Some(next)).await {
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
    let change = Change {
        created,
        object: object.clone(),
        deleted: kind.ends_with(".deleted") && list != StripeList::Subscriptions,
        current: event["api_version"].as_str() == Some(STRIPE_VERSION),
    };
    let key = (list.name(), id.to_owned());
    match changes.get(&key) {
        // A deletion is final, whatever the order events are listed in.
        Some((_, seen)) if seen.deleted || seen.created > created => {}
        _ => {
            changes.insert(key, (list, change));
        }
    }
}

/// Writes the changes: payloads as they are, others read again (side by side, at the
/// connection's pace), deletions marked. `Some` when the run must end.
async fn apply(
    run: &Run,
    changes: BTreeMap<(&'static str, String), (StripeList, Change)>,
) -> Option<Outcome> {
    let (app, connection) = (&run.app, run.connection());
    let mut by_list: BTreeMap<&'static str, (StripeList, Vec<Value>, Vec<Value>)> = BTreeMap::new();
    let mut stale: Vec<(&'static str, StripeList, String, Value)> = Vec::new();
    for ((name, id), (list, change)) in changes {
        let (_, upserts, deletions) = by_list
            .entry(name)
            .or_insert_with(|| (list, Vec::new(), Vec::new()));
        if change.deleted {
            deletions.push(change.object);
        } else if change.current {
            upserts.push(change.object);
        } else {
            stale.push((name, list, id, change.object));
        }
    }
    let reread = |(name, list, id, seen): (&'static str, StripeList, String, Value)| async move {
        if !run.take_page() {
            return Err(Outcome::Stopped);
        }
        let read = run
            .read(Endpoint::Retrieve(list), |client, key| {
                let id = id.clone();
                async move { client.retrieve_once(list, &id, &key).await }
            })
            .await;
        match read {
            Ok(found) => Ok((name, found, seen)),
            Err(e) => Err(failed(connection, list, &e)),
        }
    };
    // Made before streaming them: a stream of a closure's futures trips the compiler's `Send`
    // check on the worker's future (rust-lang/rust#64552).
    let rereads: Vec<_> = stale.into_iter().map(reread).collect();
    let mut reads = futures_util::stream::iter(rereads).buffer_unordered(REREADS_IN_FLIGHT);
    while let Some(read) = reads.next().await {
        let (name, found, seen) = match read {
            Ok(read) => read,
            Err(outcome) => return Some(outcome),
        };
        if let Some((_, upserts, deletions)) = by_list.get_mut(name) {
            match found {
                Some(object) => upserts.push(object),
                None => deletions.push(seen),
            }
        }
    }
    drop(reads);
    for (list, mut upserts, deletions) in by_list.into_values() {
        if let Err(e) = super::children::complete(run, list, &mut upserts).await {
            return Some(failed(connection, list, &e));
        }
        for chunk in upserts.chunks(BATCH) {
            match store::store_objects(&app.pool, run.lease(), connection, list, chunk).await {
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
