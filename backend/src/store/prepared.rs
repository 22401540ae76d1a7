//! A page of objects made ready for the store before the writer's turn: each object's JSON text
//! and its typed rows (`warehouse::staged`), so the one writer (SQLite has one) only binds them
//! while the readers, on the other cores, do the rest.

use std::collections::HashSet;

use serde_json::Value;

use crate::stripe::lists::StripeList;
use crate::warehouse::staged::{self, Staged};

/// A page of a list's objects, ready to store.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prepared {
    /// The objects, one copy of each id.
    pub(super) objects: Vec<Value>,
    /// Each object's JSON text (what is stored).
    pub(super) json: Vec<String>,
    /// The typed rows.
    pub(super) typed: Staged,
}

impl Prepared {
    /// Prepares `objects` of `list`. PostgreSQL refuses to update one row twice in a statement:
    /// a page naming an object twice (Stripe never should) keeps its last copy.
    pub fn new(list: StripeList, objects: Vec<Value>) -> Self {
        let objects = last_of_each(objects);
        Self {
            json: objects.iter().map(Value::to_string).collect(),
            typed: staged::stage(list.name(), &objects),
            objects,
        }
    }

    /// The objects, in the page's order.
    pub fn objects(&self) -> &[Value] {
        &self.objects
    }

    /// How many objects there are.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

fn id(object: &Value) -> &str {
    object["id"].as_str().unwrap_or_default()
}

/// `objects` with only the last copy of each id, in their order.
fn last_of_each(objects: Vec<Value>) -> Vec<Value> {
    let unique = {
        let mut seen = HashSet::with_capacity(objects.len());
        objects.iter().all(|o| seen.insert(id(o)))
    };
    if unique {
        return objects;
    }
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(objects.len());
        let mut keep: Vec<bool> = objects.iter().rev().map(|o| seen.insert(id(o))).collect();
        keep.reverse();
        keep
    };
    objects
        .into_iter()
        .zip(keep)
        .filter_map(|(o, keep)| keep.then_some(o))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_page_naming_an_object_twice_keeps_its_last_copy_in_order() {
        let page = vec![
            json!({"id": "a", "n": 1}),
            json!({"id": "b", "n": 1}),
            json!({"id": "a", "n": 2}),
            json!({"id": "c", "n": 1}),
        ];
        let prepared = Prepared::new(StripeList::Customers, page);
        let seen: Vec<_> = prepared
            .objects()
            .iter()
            .map(|o| (o["id"].as_str().unwrap(), o["n"].as_i64().unwrap()))
            .collect();
        assert_eq!(seen, [("b", 1), ("a", 2), ("c", 1)]);
        assert_eq!(prepared.json[1], json!({"id": "a", "n": 2}).to_string());
        let ids: Vec<&str> = prepared.typed.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"]);
    }
}
