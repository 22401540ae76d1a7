//! The rows of a child table (`invoice_lines`, `subscription_items`) as they follow from their
//! parents' stored JSON: each item of the parent's embedded list (read whole by the sync), with
//! the parent's id in `invoice_id` or `subscription_id`.

use serde_json::Value;

use crate::stripe::lists::ChildList;

/// The child list whose parents are in `table`, if any.
pub fn child_of(table: &str) -> Option<ChildList> {
    ChildList::ALL
        .into_iter()
        .find(|c| c.parent().name() == table)
}

/// The child list that `table` is, if any.
pub fn as_child(table: &str) -> Option<ChildList> {
    ChildList::ALL.into_iter().find(|c| c.table() == table)
}

/// The children of `parent`, each with its parent's id; `None` when the parent carries no such
/// list (a deleted object's stub): its children are left as they are.
pub fn children(child: ChildList, parent: &Value) -> Option<Vec<Value>> {
    let parent_id = parent["id"].as_str()?;
    let list = &parent[child.field()];
    if list["object"] != "list" {
        return None;
    }
    let items = list["data"].as_array()?;
    Some(
        items
            .iter()
            .filter(|item| item["id"].is_string())
            .map(|item| {
                let mut item = item.clone();
                item[child.parent_key()] = Value::String(parent_id.to_owned());
                item
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_invoices_lines_carry_its_id_and_a_stub_has_none() {
        let invoice = json!({"id": "in_1", "object": "invoice", "lines": {"object": "list",
            "data": [{"id": "il_1", "amount": 5}, {"id": "il_2", "amount": 7}, {"amount": 1}],
            "has_more": false}});
        let lines = children(ChildList::InvoiceLines, &invoice).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["invoice_id"], "in_1");
        assert_eq!(lines[1]["amount"], 7);
        let stub = json!({"id": "in_2", "object": "invoice", "deleted": true});
        assert_eq!(children(ChildList::InvoiceLines, &stub), None);
        assert_eq!(
            child_of("subscriptions"),
            Some(ChildList::SubscriptionItems)
        );
        assert_eq!(child_of("customers"), None);
        assert_eq!(as_child("invoice_lines"), Some(ChildList::InvoiceLines));
    }
}
