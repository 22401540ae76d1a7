//! What the demo accounts hold once something changed: the fixtures, materialised per account on
//! its first change, then created, changed and deleted objects, each change with its event (as
//! Stripe emits them: `customer.updated`, `customer.subscription.deleted`, …). Tests and the
//! emulator's own `/changes` hook make the changes; the lists and reads serve the result.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use super::fixtures::{objects, ListKind};
use super::{DemoAccount, Emulator};

/// One account's objects after changes.
#[derive(Debug, Clone, Default)]
pub(super) struct AccountData {
    lists: HashMap<&'static str, Vec<Value>>,
    /// Ids of deleted customers (Stripe still answers a read of one, with a stub).
    deleted_customers: HashSet<String>,
    next_event: u64,
}

/// A change to make to a demo account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new object (its `created` is set to now).
    Create,
    /// Top-level fields replaced.
    Update,
    /// A charge refunded in full (`charge.refunded`).
    Refund,
    /// Deleted (a subscription: canceled, as Stripe ends one).
    Delete,
    /// Deleted without any event (Stripe's events are not a complete log).
    DeleteSilently,
}

const ALL: [ListKind; 7] = [
    ListKind::Customers,
    ListKind::Charges,
    ListKind::Coupons,
    ListKind::Invoices,
    ListKind::Plans,
    ListKind::Subscriptions,
    ListKind::Events,
];

impl AccountData {
    fn new(account: &DemoAccount) -> Self {
        Self {
            lists: ALL
                .into_iter()
                .map(|kind| (kind.name(), objects(account, kind)))
                .collect(),
            ..Self::default()
        }
    }

    fn list(&self, kind: ListKind) -> &[Value] {
        self.lists.get(kind.name()).map_or(&[], Vec::as_slice)
    }

    fn list_mut(&mut self, kind: ListKind) -> &mut Vec<Value> {
        self.lists.entry(kind.name()).or_default()
    }

    /// Adds an event about `object` (newest first, like every list).
    fn emit(&mut self, account: &str, kind: &str, object: &Value, now: i64) -> Value {
        self.next_event += 1;
        let event = json!({
            "id": format!("evt_change{:06}{}", self.next_event, &account[account.len().saturating_sub(6)..]),
            "object": "event", "type": kind, "created": now, "livemode": false,
            "account": account, "api_version": crate::stripe::client::STRIPE_VERSION,
            "pending_webhooks": 0, "request": { "id": null, "idempotency_key": null },
            "data": { "object": object },
        });
        self.list_mut(ListKind::Events).insert(0, event.clone());
        event
    }
}

/// The event type prefix of a list's objects.
fn event_prefix(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Subscriptions => "customer.subscription",
        other => other.object(),
    }
}

impl Emulator {
    /// All objects of `kind` in `account` as they are now, newest first.
    pub(super) fn current_objects(&self, account: &DemoAccount, kind: ListKind) -> Vec<Value> {
        match self.lock().data.get(&account.id) {
            Some(data) => data.list(kind).to_vec(),
            None => objects(account, kind),
        }
    }

    /// One object by id: `Ok(object)`, a deleted customer's stub, or `Err(())` when unknown.
    pub(super) fn current_object(
        &self,
        account: &DemoAccount,
        kind: ListKind,
        id: &str,
    ) -> Result<Value, ()> {
        let state = self.lock();
        let data = state.data.get(&account.id);
        if kind == ListKind::Customers && data.is_some_and(|d| d.deleted_customers.contains(id)) {
            return Ok(json!({ "id": id, "object": "customer", "deleted": true }));
        }
        let found = match data {
            Some(d) => d.list(kind).iter().find(|o| o["id"] == id).cloned(),
            None => objects(account, kind).into_iter().find(|o| o["id"] == id),
        };
        found.ok_or(())
    }

    /// Changes a demo account's data as its owner would in the Dashboard, with the event Stripe
    /// emits. `list` is a list name (`customers`, …; not `events`); `fields` are the new object's
    /// top-level fields (`Create`, with an `id`) or the fields to replace (`Update`).
    pub fn change_object(
        &self,
        account_id: &str,
        list: &str,
        id: &str,
        change: ChangeKind,
        fields: Value,
    ) -> Result<Value, String> {
        self.change_with_event(account_id, list, id, change, fields)
            .map(|(object, _)| object)
    }

    /// [`Self::change_object`], and the event Stripe made of the change (none for a silent one).
    pub fn change_with_event(
        &self,
        account_id: &str,
        list: &str,
        id: &str,
        change: ChangeKind,
        fields: Value,
    ) -> Result<(Value, Option<Value>), String> {
        let account = self
            .demo_account(account_id)
            .ok_or_else(|| format!("No such account: '{account_id}'"))?
            .clone();
        let kind = ListKind::parse(list)
            .filter(|k| *k != ListKind::Events)
            .ok_or_else(|| format!("Not a list of objects: '{list}'"))?;
        let now = self.now();
        let mut state = self.lock();
        let data = state
            .data
            .entry(account.id.clone())
            .or_insert_with(|| AccountData::new(&account));
        let prefix = event_prefix(kind);
        let position = data.list(kind).iter().position(|o| o["id"] == id);
        let object = match (change, position) {
            (ChangeKind::Create, None) => {
                let mut object = fields;
                object["id"] = json!(id);
                object["object"] = json!(kind.object());
                object["created"] = json!(now);
                object["livemode"] = json!(false);
                data.list_mut(kind).insert(0, object.clone());
                let event = data.emit(&account.id, &format!("{prefix}.created"), &object, now);
                (object, Some(event))
            }
            (ChangeKind::Create, Some(_)) => return Err(format!("'{id}' exists")),
            (_, None) => return Err(format!("No such {}: '{id}'", kind.object())),
            (ChangeKind::Refund, Some(_)) if kind != ListKind::Charges => {
                return Err("Only a charge is refunded".into());
            }
            (ChangeKind::Update | ChangeKind::Refund, Some(at)) => {
                let object = &mut data.list_mut(kind)[at];
                let fields = if change == ChangeKind::Refund {
                    json!({"refunded": true, "amount_refunded": object["amount"].clone()})
                } else {
                    fields
                };
                if let (Some(target), Value::Object(new)) = (object.as_object_mut(), fields) {
                    for (k, v) in new {
                        if k != "id" && k != "object" {
                            target.insert(k, v);
                        }
                    }
                }
                let object = object.clone();
                let verb = match change {
                    ChangeKind::Refund => "refunded",
                    _ => "updated",
                };
                let event = data.emit(&account.id, &format!("{prefix}.{verb}"), &object, now);
                (object, Some(event))
            }
            (ChangeKind::Delete | ChangeKind::DeleteSilently, Some(at))
                if kind == ListKind::Subscriptions =>
            {
                let object = &mut data.list_mut(kind)[at];
                object["status"] = json!("canceled");
                object["canceled_at"] = json!(now);
                object["ended_at"] = json!(now);
                let object = object.clone();
                let event = (change == ChangeKind::Delete)
                    .then(|| data.emit(&account.id, &format!("{prefix}.deleted"), &object, now));
                (object, event)
            }
            (_, Some(at)) => {
                let object = data.list_mut(kind).remove(at);
                if kind == ListKind::Customers {
                    data.deleted_customers.insert(id.to_owned());
                }
                let event = (change == ChangeKind::Delete)
                    .then(|| data.emit(&account.id, &format!("{prefix}.deleted"), &object, now));
                (object, event)
            }
        };
        Ok(object)
    }
}
