//! How a Stripe object becomes typed columns (SPEC §6.3): every top-level field, nested objects
//! flattened with `_` down to scalars (`address_city`, `shipping_address_line1`), arrays, lists and
//! `metadata` as JSON, an embedded object with an id (an expandable reference, expanded or not) as
//! that id, Unix times as timestamps, amounts as integers. `id` comes first and `deleted` last in a
//! relation; neither is a field here.

use serde_json::Value;
pub use shared::ColumnType;

/// Whether a flattened field's name can be a column: `[a-z0-9_]`, starting with a letter or `_`, at
/// most 63 bytes (PostgreSQL cuts longer names, so two could become one), and not `id` or
/// `deleted` (the relation's own). Stripe's fields all are; a field that is not stays in the JSON.
pub fn is_column_name(name: &str) -> bool {
    name.len() <= 63
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name != "id"
        && name != "deleted"
}

/// A flattened field's value, as the writer binds it: read from the object once (off the
/// writer), never parsed again.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    /// A number that is not an `i64` (a fraction, or beyond its range), as Stripe wrote it.
    Number(String),
    Text(String),
    /// An array or object, as JSON text.
    Json(String),
}

impl Cell {
    /// The cell of a (flattened, scalar or JSON) value.
    pub fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => n
                .as_i64()
                .map_or_else(|| Self::Number(n.to_string()), Self::Int),
            Value::String(s) => Self::Text(s.clone()),
            Value::Array(_) | Value::Object(_) => Self::Json(value.to_string()),
        }
    }

    /// Whether it can be stored in a column of type `kind`; null fits every type.
    pub fn fits(&self, kind: ColumnType) -> bool {
        matches!(
            (kind, self),
            (_, Self::Null)
                | (ColumnType::Json, _)
                | (ColumnType::Text, Self::Text(_))
                | (ColumnType::Boolean, Self::Bool(_))
                | (ColumnType::Integer | ColumnType::Timestamp, Self::Int(_))
                | (ColumnType::Numeric, Self::Int(_) | Self::Number(_))
        )
    }

    /// Its JSON text (how a JSON column holds it); `None` for null.
    pub fn json(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match self {
            Self::Null => None,
            Self::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Self::Int(i) => Some(Cow::Owned(i.to_string())),
            Self::Number(s) | Self::Json(s) => Some(Cow::Borrowed(s)),
            Self::Text(s) => Some(Cow::Owned(Value::String(s.clone()).to_string())),
        }
    }
}

/// One flattened field of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// `address_city`, `amount`, …
    pub name: Box<str>,
    /// Its type, as far as this value tells (`None`: null, and the name says nothing either).
    pub kind: Option<ColumnType>,
    /// Its value: a scalar, the JSON of an array or object, or null.
    pub cell: Cell,
}

/// Stripe's Unix-time fields whose names do not say so (`created` and `*_at` do).
const TIME_FIELDS: [&str; 14] = [
    "billing_cycle_anchor",
    "cancel_at",
    "current_period_end",
    "current_period_start",
    "date",
    "due_date",
    "end",
    "next_payment_attempt",
    "period_end",
    "period_start",
    "redeem_by",
    "start",
    "start_date",
    "trial_end",
];

/// The last words of fields that count (`trial_period_days`, `max_redemptions`, `attempt_count`):
/// integers, also while null.
const COUNT_LEAVES: [&str; 6] = [
    "count",
    "days",
    "months",
    "quantity",
    "redemptions",
    "attempts",
];

/// Fields that may hold a fraction even when Stripe sends a whole number.
const NUMERIC_FIELDS: [&str; 3] = ["percent_off", "tax_percent", "application_fee_percent"];

/// Fields kept as JSON whatever their shape: their keys are the merchant's (`metadata`) or vary from one
/// event to the next (an event's `data`).
const JSON_FIELDS: [&str; 3] = ["metadata", "data", "previous_attributes"];

/// Whether a (flattened) field name is a Unix time.
fn is_time(name: &str) -> bool {
    let last = name.rsplit('_').next().unwrap_or(name);
    name == "created"
        || name.ends_with("_at")
        || last == "created"
        || TIME_FIELDS.iter().any(|t| {
            name.strip_suffix(t)
                .is_some_and(|head| head.is_empty() || head.ends_with('_'))
        })
}

/// The type a field's name and value call for (`None`: a null the name says nothing about).
pub fn kind_of(name: &str, value: &Value) -> Option<ColumnType> {
    let leaf = name.rsplit('_').next().unwrap_or(name);
    if JSON_FIELDS.contains(&name) {
        return Some(ColumnType::Json);
    }
    match value {
        Value::Null if is_time(name) => Some(ColumnType::Timestamp),
        Value::Null if NUMERIC_FIELDS.contains(&name) => Some(ColumnType::Numeric),
        Value::Null if leaf == "amount" || name.starts_with("amount_") => Some(ColumnType::Integer),
        Value::Null if COUNT_LEAVES.contains(&leaf) => Some(ColumnType::Integer),
        Value::Null => None,
        Value::Bool(_) => Some(ColumnType::Boolean),
        Value::String(_) => Some(ColumnType::Text),
        Value::Number(n) if NUMERIC_FIELDS.contains(&name) || !n.is_i64() => {
            Some(ColumnType::Numeric)
        }
        Value::Number(_) if is_time(name) => Some(ColumnType::Timestamp),
        Value::Number(_) => Some(ColumnType::Integer),
        Value::Array(_) | Value::Object(_) => Some(ColumnType::Json),
    }
}

/// An embedded object that names another Stripe object (it has an id): a reference.
fn reference_id(object: &serde_json::Map<String, Value>) -> Option<&str> {
    if object.get("object").and_then(Value::as_str) == Some("list") {
        return None;
    }
    object.get("id").and_then(Value::as_str)
}

/// The object's fields, flattened, in the order Stripe sent them; `id` and `deleted` are left
/// out (the relation puts them first and last).
pub fn fields(object: &Value) -> Vec<Field> {
    let mut out = Vec::with_capacity(object.as_object().map_or(0, |m| m.len()));
    if let Value::Object(map) = object {
        for (name, value) in map {
            if name == "id" || name == "deleted" {
                continue;
            }
            flatten(name, value, &mut out);
        }
    }
    out
}

fn flatten(name: &str, value: &Value, out: &mut Vec<Field>) {
    match value {
        Value::Object(map) if !JSON_FIELDS.contains(&name) => {
            if let Some(id) = reference_id(map) {
                out.push(Field {
                    name: name.into(),
                    kind: Some(ColumnType::Text),
                    cell: Cell::Text(id.to_owned()),
                });
            } else if map.get("object").and_then(Value::as_str) == Some("list") {
                out.push(Field {
                    name: name.into(),
                    kind: Some(ColumnType::Json),
                    cell: Cell::of(value),
                });
            } else {
                let mut inner_name = String::with_capacity(name.len() + 16);
                for (key, inner) in map {
                    inner_name.clear();
                    inner_name.push_str(name);
                    inner_name.push('_');
                    inner_name.push_str(key);
                    flatten(&inner_name, inner, out);
                }
            }
        }
        _ => out.push(Field {
            kind: kind_of(name, value),
            name: name.into(),
            cell: Cell::of(value),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn named(fields: &[Field], name: &str) -> Field {
        fields
            .iter()
            .find(|f| &*f.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no field {name} in {fields:?}"))
    }

    #[test]
    fn a_customer_flattens_to_scalars_references_ids_and_json() {
        let customer = json!({
            "id": "cus_1",
            "object": "customer",
            "address": {"city": "Dublin", "line1": "1 Main St", "postal_code": null},
            "balance": 0,
            "created": 1_700_000_000,
            "default_source": {"id": "card_1", "object": "card", "last4": "4242"},
            "delinquent": false,
            "email": "ada@example.com",
            "invoice_settings": {"custom_fields": null, "default_payment_method": "pm_1", "footer": null},
            "metadata": {"crm_id": "7"},
            "preferred_locales": ["en"],
            "shipping": {"address": {"line1": "2 Side St"}, "name": "Ada"},
            "sources": {"object": "list", "data": [], "has_more": false},
            "deleted": false,
        });
        let fields = fields(&customer);
        let names: Vec<&str> = fields.iter().map(|f| &*f.name).collect();
        assert!(!names.contains(&"id") && !names.contains(&"deleted"));
        assert_eq!(
            named(&fields, "address_city").cell,
            Cell::Text("Dublin".into())
        );
        assert_eq!(named(&fields, "address_city").kind, Some(ColumnType::Text));
        assert_eq!(named(&fields, "address_postal_code").kind, None);
        assert_eq!(
            named(&fields, "shipping_address_line1").cell,
            Cell::Text("2 Side St".into())
        );
        assert_eq!(
            named(&fields, "shipping_name").cell,
            Cell::Text("Ada".into())
        );
        assert_eq!(named(&fields, "created").kind, Some(ColumnType::Timestamp));
        assert_eq!(named(&fields, "balance").kind, Some(ColumnType::Integer));
        assert_eq!(named(&fields, "delinquent").kind, Some(ColumnType::Boolean));
        // An expanded reference is its id.
        assert_eq!(
            named(&fields, "default_source").cell,
            Cell::Text("card_1".into())
        );
        assert_eq!(
            named(&fields, "invoice_settings_default_payment_method").cell,
            Cell::Text("pm_1".into())
        );
        // Arrays, lists and metadata stay JSON.
        assert_eq!(named(&fields, "metadata").kind, Some(ColumnType::Json));
        assert_eq!(
            named(&fields, "metadata").cell,
            Cell::Json(json!({"crm_id": "7"}).to_string())
        );
        assert_eq!(
            named(&fields, "preferred_locales").kind,
            Some(ColumnType::Json)
        );
        assert_eq!(named(&fields, "sources").kind, Some(ColumnType::Json));
    }

    #[test]
    fn times_amounts_and_fractions_are_typed_by_name_when_null() {
        assert_eq!(
            kind_of("canceled_at", &Value::Null),
            Some(ColumnType::Timestamp)
        );
        assert_eq!(
            kind_of("trial_end", &Value::Null),
            Some(ColumnType::Timestamp)
        );
        assert_eq!(
            kind_of("status_transitions_paid_at", &json!(1_700_000_000)),
            Some(ColumnType::Timestamp)
        );
        assert_eq!(
            kind_of("current_period_end", &json!(1)),
            Some(ColumnType::Timestamp)
        );
        assert_eq!(
            kind_of("amount_off", &Value::Null),
            Some(ColumnType::Integer)
        );
        assert_eq!(kind_of("amount", &json!(2000)), Some(ColumnType::Integer));
        assert_eq!(
            kind_of("percent_off", &json!(25)),
            Some(ColumnType::Numeric)
        );
        assert_eq!(kind_of("ratio", &json!(0.5)), Some(ColumnType::Numeric));
        assert_eq!(kind_of("description", &Value::Null), None);
        assert_eq!(
            kind_of("trial_period_days", &Value::Null),
            Some(ColumnType::Integer)
        );
        assert_eq!(
            kind_of("max_redemptions", &Value::Null),
            Some(ColumnType::Integer)
        );
        assert_eq!(kind_of("metadata", &json!({})), Some(ColumnType::Json));
    }

    #[test]
    fn only_snake_case_names_become_columns() {
        assert!(is_column_name("address_city"));
        assert!(is_column_name("_x"));
        assert!(!is_column_name("id"));
        assert!(!is_column_name("deleted"));
        assert!(!is_column_name("Email"));
        assert!(!is_column_name("a\"; DROP TABLE users; --"));
        assert!(!is_column_name("1st"));
        assert!(!is_column_name(""));
        assert!(!is_column_name(&"a".repeat(64)));
    }

    #[test]
    fn a_value_fits_its_column_or_is_a_misfit() {
        let fits = |kind, value: Value| Cell::of(&value).fits(kind);
        assert!(fits(ColumnType::Integer, json!(5)));
        assert!(!fits(ColumnType::Integer, json!(5.5)));
        assert!(!fits(ColumnType::Integer, json!(u64::MAX)));
        assert!(!fits(ColumnType::Integer, json!("5")));
        assert!(fits(ColumnType::Numeric, json!(5)));
        assert!(fits(ColumnType::Numeric, json!(5.5)));
        assert!(fits(ColumnType::Text, Value::Null));
        assert!(fits(ColumnType::Json, json!([1])));
        assert!(!fits(ColumnType::Boolean, json!(1)));
        assert!(!fits(ColumnType::Timestamp, json!("2024-01-01")));
        assert_eq!(Cell::of(&json!("a\"b")).json().unwrap(), r#""a\"b""#);
        assert_eq!(Cell::of(&json!(2.5)).json().unwrap(), "2.5");
    }
}
