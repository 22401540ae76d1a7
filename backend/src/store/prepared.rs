//! A page of objects made ready for the store before the writer's turn: each object's JSON text,
//! filter columns and typed rows (`warehouse::staged`), so the one writer (SQLite has one) only
//! binds them while the readers, on the other cores, do the rest. The parsed objects are not
//! kept: a page waiting for the writer holds its text and cells only.

use std::collections::HashSet;

use serde_json::Value;

use super::filter_columns::{filters, Filter};
use crate::stripe::lists::StripeList;
use crate::warehouse::staged::{self, Staged};

/// One object as its list's table stores it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stored {
    pub id: String,
    pub created: Option<i64>,
    pub deleted: bool,
    /// The moment this state of the object reflects (Unix seconds): an older one never
    /// overwrites it.
    pub version: i64,
    /// The object's JSON text.
    pub json: String,
    /// Its filter columns' values.
    pub filters: Vec<Filter>,
}

/// A page of a list's objects, ready to store.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prepared {
    /// The id of the page's last object, in Stripe's order (a range's checkpoint).
    last: Option<String>,
    /// The objects, one copy of each id, in id order.
    pub(super) stored: Vec<Stored>,
    /// Their typed rows.
    pub(super) typed: Staged,
}

impl Prepared {
    /// Prepares `objects` of `list`, read at `version` (Unix seconds). PostgreSQL refuses to
    /// update one row twice in a statement: a page naming an object twice (Stripe never should)
    /// keeps its last copy.
    pub fn new(list: StripeList, objects: &[Value], version: i64) -> Self {
        let versioned: Vec<(&Value, i64)> = objects.iter().map(|o| (o, version)).collect();
        Self::versioned(list, &versioned)
    }

    /// Prepares `objects` of `list`, each with the moment its state reflects (the `created` of
    /// the event that brought it).
    pub fn versioned(list: StripeList, objects: &[(&Value, i64)]) -> Self {
        let mut kept = last_of_each(objects);
        let last = kept.last().map(|(o, _)| id(o).to_owned());
        // In id order: every writer locks rows in one order, so none waits in a circle.
        kept.sort_by(|(a, _), (b, _)| id(a).cmp(id(b)));
        let values: Vec<&Value> = kept.iter().map(|(o, _)| *o).collect();
        let mut typed = staged::stage(list.name(), &values);
        if let Some(children) = &mut typed.children {
            children.rows.sort_by(|a, b| a.id.cmp(&b.id));
        }
        Self {
            last,
            stored: kept
                .iter()
                .map(|&(object, version)| Stored {
                    id: id(object).to_owned(),
                    created: object["created"].as_i64(),
                    deleted: object["deleted"].as_bool().unwrap_or(false),
                    version,
                    json: object.to_string(),
                    filters: filters(list, object),
                })
                .collect(),
            typed,
        }
    }

    /// How many objects there are.
    pub fn len(&self) -> usize {
        self.stored.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.stored.is_empty()
    }

    /// The id of the page's last object, in Stripe's order.
    pub fn last_id(&self) -> Option<&str> {
        self.last.as_deref()
    }
}

fn id(object: &Value) -> &str {
    object["id"].as_str().unwrap_or_default()
}

/// `objects` with only the last copy of each id, in their order.
fn last_of_each<'a>(objects: &[(&'a Value, i64)]) -> Vec<(&'a Value, i64)> {
    let mut seen = HashSet::with_capacity(objects.len());
    let mut kept: Vec<(&Value, i64)> = objects
        .iter()
        .rev()
        .filter(|(o, _)| seen.insert(id(o)))
        .copied()
        .collect();
    kept.reverse();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_page_naming_an_object_twice_keeps_its_last_copy_in_order() {
        let page = [
            json!({"id": "a", "n": 1, "email": "a@example.com"}),
            json!({"id": "b", "n": 1}),
            json!({"id": "a", "n": 2, "created": 7}),
            json!({"id": "c", "n": 1, "deleted": true}),
        ];
        let prepared = Prepared::new(StripeList::Customers, &page, 5);
        // In id order; the checkpoint stays the page's last in Stripe's order.
        let ids: Vec<&str> = prepared.stored.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(prepared.stored[0].json, page[2].to_string());
        assert_eq!(prepared.stored[0].created, Some(7));
        assert_eq!(prepared.stored[0].filters[0], Filter::Text(None));
        assert!(prepared.stored[2].deleted);
        assert!(prepared.stored.iter().all(|o| o.version == 5));
        let typed: Vec<&str> = prepared.typed.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(typed, ids);
        assert_eq!(prepared.last_id(), Some("c"));
    }

    #[test]
    fn a_page_is_written_in_id_order_and_checkpoints_at_its_last_object_in_stripes_order() {
        let page = [
            json!({"id": "cus_b"}),
            json!({"id": "cus_c"}),
            json!({"id": "cus_a"}),
        ];
        let prepared = Prepared::new(StripeList::Customers, &page, 1);
        let ids: Vec<&str> = prepared.stored.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["cus_a", "cus_b", "cus_c"]);
        assert_eq!(prepared.last_id(), Some("cus_a"));
    }
}
