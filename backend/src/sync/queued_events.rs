//! Webhooks first: the data events `POST /webhooks/stripe` queued are applied to their connection's
//! tables as soon as they arrive — the payload, when Stripe rendered it in our API version and it
//! is whole; otherwise the connection runs an events pass, which reads the object again by id (and
//! its lines or items whole). Each write carries the event's `created`, so an event delivered late
//! never overwrites a newer state; a redelivery changes nothing. The events passes behind them
//! (`EVENTS_POLL_INTERVAL`, or `SYNC_INTERVAL` as a safety net) catch whatever a webhook missed.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value;

use super::events::list_of;
use crate::ids::ConnectionId;
use crate::state::AppState;
use crate::store::{self, Prepared, QueuedEvent, StoreError, WebhookBatch};
use crate::stripe::client::STRIPE_VERSION;
use crate::stripe::lists::{ChildList, StripeList};

/// Queued events read at a time.
const BATCH: i64 = 500;

/// What a connection's queued events come to.
#[derive(Debug, Default)]
struct Plan {
    batch: WebhookBatch,
    /// Some event could not be applied from its payload: an events pass must run.
    needs_pass: bool,
}

/// Objects, each with the moment its state reflects.
type Versioned = Vec<(Value, i64)>;

/// The newest news of one object in a batch.
struct Latest {
    created: i64,
    object: Value,
    deleted: bool,
}

/// What the queued `events` of one connection do to its tables.
fn plan(events: &[QueuedEvent]) -> Plan {
    let mut plan = Plan::default();
    let mut stored_events: Vec<(Value, i64)> = Vec::new();
    let mut latest: BTreeMap<(&'static str, String), (StripeList, Latest)> = BTreeMap::new();
    let mut fresh: HashMap<StripeList, i64> = HashMap::new();
    let mut unapplied: Vec<StripeList> = Vec::new();
    for queued in events {
        plan.batch.done.push(queued.id);
        let Ok(event) = serde_json::from_str::<Value>(&queued.event) else {
            continue;
        };
        let Some(created) = event["created"].as_i64() else {
            continue;
        };
        let object = event["data"]["object"].clone();
        let events_fresh = fresh.entry(StripeList::Events).or_insert(created);
        *events_fresh = (*events_fresh).max(created);
        stored_events.push((event.clone(), created));
        let (Some(list), Some(id)) = (list_of(&object), object["id"].as_str()) else {
            continue;
        };
        let truncated = ChildList::of(list).is_some_and(|c| object[c.field()]["has_more"] == true);
        if event["api_version"].as_str() != Some(STRIPE_VERSION) || truncated {
            plan.needs_pass = true;
            unapplied.push(list);
            continue;
        }
        let kind = event["type"].as_str().unwrap_or_default();
        // A subscription's `customer.subscription.deleted` is its end: it is stored canceled.
        let deleted = kind.ends_with(".deleted") && list != StripeList::Subscriptions;
        let table_fresh = fresh.entry(list).or_insert(created);
        *table_fresh = (*table_fresh).max(created);
        let key = (list.name(), id.to_owned());
        let news = Latest {
            created,
            object,
            deleted,
        };
        match latest.get(&key) {
            // Older than what the batch already has (a deletion wins a tie).
            Some((_, seen))
                if seen.created > created || (seen.created == created && seen.deleted) => {}
            _ => {
                latest.insert(key, (list, news));
            }
        }
    }
    let mut upserts: BTreeMap<&'static str, (StripeList, Versioned)> = BTreeMap::new();
    let mut deletions: BTreeMap<&'static str, (StripeList, Versioned)> = BTreeMap::new();
    for ((name, _), (list, news)) in latest {
        let into = if news.deleted {
            &mut deletions
        } else {
            &mut upserts
        };
        into.entry(name)
            .or_insert_with(|| (list, Vec::new()))
            .1
            .push((news.object, news.created));
    }
    let events: Vec<(&Value, i64)> = stored_events.iter().map(|(e, c)| (e, *c)).collect();
    plan.batch.upserts = upserts
        .into_values()
        .map(|(list, objects)| {
            let objects: Vec<(&Value, i64)> = objects.iter().map(|(o, c)| (o, *c)).collect();
            (list, Prepared::versioned(list, &objects))
        })
        .collect();
    if !events.is_empty() {
        plan.batch.upserts.push((
            StripeList::Events,
            Prepared::versioned(StripeList::Events, &events),
        ));
    }
    plan.batch.deletions = deletions.into_values().collect();
    // A table with an event left to the events pass is not fresher than before it.
    plan.batch.fresh = fresh
        .into_iter()
        .filter(|(list, _)| !unapplied.contains(list))
        .collect();
    plan.batch.fresh.sort_by_key(|(list, _)| list.name());
    plan
}

/// Applies every queued event, oldest first; returns how many were taken. A connection whose batch
/// cannot be written (a conflict with a sync's writer, a database error) runs an events pass
/// instead, which reads the same events from Stripe: nothing acknowledged is lost either way.
pub async fn apply_queued(app: &AppState) -> Result<usize, StoreError> {
    let mut taken = 0;
    loop {
        let queued = store::queued_events(&app.pool, BATCH).await?;
        let n = queued.len();
        let mut by_connection: BTreeMap<ConnectionId, Vec<QueuedEvent>> = BTreeMap::new();
        for event in queued {
            by_connection
                .entry(event.connection_id)
                .or_default()
                .push(event);
        }
        for (connection, events) in by_connection {
            let plan = plan(&events);
            let now = app.clock.now();
            let written = store::apply_webhooks(&app.pool, connection, &plan.batch, now).await;
            match written {
                Err(e) => {
                    tracing::warn!(connection_id = %connection, error = %e, "webhooks not applied: an events pass instead");
                    super::jobs::want_pass(app, connection).await;
                    store::drop_queued(&app.pool, &plan.batch.done).await?;
                }
                // An event of the same second as the state stored, another version, cut lines.
                Ok(all_written) if plan.needs_pass || !all_written => {
                    super::jobs::want_pass(app, connection).await;
                }
                Ok(_) => {}
            }
            app.metrics.rows_written(
                plan.batch
                    .upserts
                    .iter()
                    .map(|(_, page)| page.len() as u64)
                    .sum(),
            );
        }
        taken += n;
        if i64::try_from(n).unwrap_or(i64::MAX) < BATCH {
            return Ok(taken);
        }
    }
}

/// Applies queued events whenever `POST /webhooks/stripe` queues some in this process, and every
/// `tick` (events queued by another instance, or left by a restart).
pub fn spawn_applier(state: AppState, tick: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = state.webhook_wake.notified() => {}
            }
            if let Err(e) = apply_queued(&state).await {
                tracing::error!(error = %e, "applying webhooks failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn queued(id: i64, event: Value) -> QueuedEvent {
        QueuedEvent {
            id,
            connection_id: ConnectionId(1),
            event: event.to_string(),
        }
    }

    fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
        json!({"id": id, "object": "event", "type": kind, "created": created,
            "api_version": STRIPE_VERSION, "data": {"object": object}})
    }

    #[test]
    fn the_newest_event_of_an_object_wins_whatever_the_order_and_a_deletion_is_final() {
        let events = [
            queued(
                1,
                event(
                    "evt_b",
                    "customer.updated",
                    20,
                    json!({"id": "cus_1", "object": "customer", "name": "new"}),
                ),
            ),
            queued(
                2,
                event(
                    "evt_a",
                    "customer.updated",
                    10,
                    json!({"id": "cus_1", "object": "customer", "name": "old"}),
                ),
            ),
            queued(
                3,
                event(
                    "evt_c",
                    "coupon.deleted",
                    5,
                    json!({"id": "SPRING", "object": "coupon"}),
                ),
            ),
            queued(
                4,
                event(
                    "evt_d",
                    "coupon.updated",
                    5,
                    json!({"id": "SPRING", "object": "coupon"}),
                ),
            ),
        ];
        let plan = plan(&events);
        assert!(!plan.needs_pass);
        assert_eq!(plan.batch.done, [1, 2, 3, 4]);
        let customers = &plan
            .batch
            .upserts
            .iter()
            .find(|(l, _)| *l == StripeList::Customers)
            .unwrap()
            .1;
        assert_eq!(customers.len(), 1);
        let deletions = &plan.batch.deletions;
        assert_eq!(deletions.len(), 1);
        assert_eq!(deletions[0].0, StripeList::Coupons);
        assert_eq!(deletions[0].1[0].1, 5);
        let events = &plan
            .batch
            .upserts
            .iter()
            .find(|(l, _)| *l == StripeList::Events)
            .unwrap()
            .1;
        assert_eq!(events.len(), 4, "every event is stored");
        assert!(plan.batch.fresh.contains(&(StripeList::Customers, 20)));
        assert!(plan.batch.fresh.contains(&(StripeList::Events, 20)));
    }

    #[test]
    fn an_event_in_another_version_or_with_lines_cut_calls_for_an_events_pass() {
        let mut other = event(
            "evt_1",
            "customer.updated",
            10,
            json!({"id": "cus_1", "object": "customer"}),
        );
        other["api_version"] = json!("2019-01-01");
        let cut = event(
            "evt_2",
            "invoice.updated",
            11,
            json!({"id": "in_1", "object": "invoice", "lines": {"object": "list", "has_more": true, "data": []}}),
        );
        let plan = plan(&[queued(1, other), queued(2, cut)]);
        assert!(plan.needs_pass);
        assert!(plan
            .batch
            .upserts
            .iter()
            .all(|(l, _)| *l == StripeList::Events));
        assert_eq!(plan.batch.fresh, [(StripeList::Events, 11)]);
    }
}
