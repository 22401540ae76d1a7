//! A page's typed rows, made before the writer's turn: each object flattened into cells (and,
//! for invoices and subscriptions, their lines and items into rows of the child table), so the
//! one writer only binds them.

use std::borrow::Borrow;
use std::collections::HashSet;

use serde_json::Value;

use super::children;
use super::columns::{self, Cell, Field};
use crate::stripe::lists::ChildList;

/// One object's row: its id, whether it is deleted, its flattened fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub deleted: bool,
    pub fields: Vec<Field>,
}

impl Row {
    /// The row of `object`.
    pub fn of(object: &Value) -> Self {
        Self {
            id: object["id"].as_str().unwrap_or_default().to_owned(),
            deleted: object["deleted"].as_bool().unwrap_or(false),
            fields: columns::fields(object),
        }
    }
}

/// The rows a page's parents give a child table.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildRows {
    pub child: ChildList,
    /// The parents that list their children (a deleted stub lists none): their children not in
    /// `rows` are gone.
    pub parents: Vec<String>,
    /// One row per child id (the last listed wins).
    pub rows: Vec<Row>,
}

/// A page of `table`'s objects as rows of its relation and of its child table's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Staged {
    pub rows: Vec<Row>,
    pub children: Option<ChildRows>,
}

impl Staged {
    /// Only the rows of the objects `kept`, and their children.
    pub fn only(&self, kept: &HashSet<String>) -> Self {
        Self {
            rows: self
                .rows
                .iter()
                .filter(|r| kept.contains(&r.id))
                .cloned()
                .collect(),
            children: self.children.as_ref().and_then(|c| c.only(kept)),
        }
    }
}

impl ChildRows {
    /// Only the children of the parents `kept` (`None` when none is left).
    fn only(&self, kept: &HashSet<String>) -> Option<Self> {
        let parents: Vec<String> = self
            .parents
            .iter()
            .filter(|p| kept.contains(*p))
            .cloned()
            .collect();
        if parents.is_empty() {
            return None;
        }
        let key = self.child.parent_key();
        let of_kept = |row: &Row| {
            row.fields.iter().any(|f| {
                &*f.name == key && matches!(&f.cell, Cell::Text(parent) if kept.contains(parent))
            })
        };
        Some(Self {
            child: self.child,
            parents,
            rows: self.rows.iter().filter(|r| of_kept(r)).cloned().collect(),
        })
    }
}

/// Stages `objects` of `table` (one row each, in order).
pub fn stage<V: Borrow<Value>>(table: &str, objects: &[V]) -> Staged {
    Staged {
        rows: objects.iter().map(|o| Row::of(o.borrow())).collect(),
        children: children::child_of(table).and_then(|child| child_rows(child, objects)),
    }
}

/// The child rows of `parents`; `None` when none of them lists its children.
pub fn child_rows<V: Borrow<Value>>(child: ChildList, parents: &[V]) -> Option<ChildRows> {
    let mut listed = Vec::new();
    let mut items = Vec::new();
    for parent in parents {
        let parent = parent.borrow();
        if let Some(children) = children::children(child, parent) {
            listed.push(parent["id"].as_str().unwrap_or_default().to_owned());
            items.extend(children);
        }
    }
    if listed.is_empty() {
        return None;
    }
    // One row per id (PostgreSQL refuses to upsert a row twice in a statement): the last wins.
    let mut seen = HashSet::new();
    let mut rows: Vec<Row> = items
        .iter()
        .rev()
        .filter(|item| seen.insert(item["id"].as_str().unwrap_or_default()))
        .map(Row::of)
        .collect();
    rows.reverse();
    Some(ChildRows {
        child,
        parents: listed,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_invoice_stages_its_row_and_its_lines_once_each() {
        let lines = |ids: &[&str]| {
            json!({"object": "list", "has_more": false,
                "data": ids.iter().map(|id| json!({"id": id, "amount": 5})).collect::<Vec<_>>()})
        };
        let page = [
            json!({"id": "in_1", "object": "invoice", "lines": lines(&["il_1", "il_2"])}),
            json!({"id": "in_2", "object": "invoice", "deleted": true}),
            json!({"id": "in_3", "object": "invoice", "lines": lines(&["il_2"])}),
        ];
        let staged = stage("invoices", &page);
        assert_eq!(staged.rows.len(), 3);
        assert!(staged.rows[1].deleted && !staged.rows[0].deleted);
        let children = staged.children.unwrap();
        assert_eq!(children.child, ChildList::InvoiceLines);
        assert_eq!(children.parents, ["in_1", "in_3"]);
        let ids: Vec<&str> = children.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["il_1", "il_2"]);
        let parent = |row: &Row| {
            row.fields
                .iter()
                .find(|f| &*f.name == "invoice_id")
                .map(|f| f.cell.clone())
        };
        assert_eq!(parent(&children.rows[1]), Some(Cell::Text("in_3".into())));
        assert_eq!(stage("customers", &page).children, None);
    }

    #[test]
    fn only_the_kept_objects_keep_their_rows_and_children() {
        let lines = |ids: &[&str]| {
            json!({"object": "list", "has_more": false,
                "data": ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>()})
        };
        let page = [
            json!({"id": "in_1", "object": "invoice", "lines": lines(&["il_1"])}),
            json!({"id": "in_2", "object": "invoice", "lines": lines(&["il_2", "il_3"])}),
        ];
        let staged = stage("invoices", &page);
        let kept: HashSet<String> = ["in_2".to_owned()].into();
        let only = staged.only(&kept);
        let ids: Vec<&str> = only.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["in_2"]);
        let children = only.children.unwrap();
        assert_eq!(children.parents, ["in_2"]);
        let ids: Vec<&str> = children.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["il_2", "il_3"]);
        assert_eq!(staged.only(&HashSet::new()), Staged::default());
    }
}
