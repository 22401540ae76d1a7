//! The columns a BI user filters on, kept beside each synced object in its list's table: which
//! top-level fields of each list they are, and their values read from an object.

use serde_json::Value;

use crate::stripe::lists::StripeList;

/// How a filter column is read from the Stripe object.
#[derive(Debug, Clone, Copy)]
pub(super) enum Col {
    Text,
    Int,
    Real,
}

/// The filter columns of each list's table (the object's top-level fields of the same name).
pub(super) fn columns(list: StripeList) -> &'static [(&'static str, Col)] {
    use Col::{Int, Real, Text};
    match list {
        StripeList::Customers => &[("email", Text), ("name", Text), ("currency", Text)],
        StripeList::Charges => &[
            ("amount", Int),
            ("currency", Text),
            ("status", Text),
            ("customer", Text),
        ],
        StripeList::Coupons => &[
            ("percent_off", Real),
            ("amount_off", Int),
            ("duration", Text),
        ],
        StripeList::Invoices => &[
            ("amount_due", Int),
            ("currency", Text),
            ("status", Text),
            ("customer", Text),
            ("subscription", Text),
        ],
        StripeList::Plans => &[
            ("amount", Int),
            ("currency", Text),
            ("interval", Text),
            ("product", Text),
        ],
        StripeList::Subscriptions => &[
            ("status", Text),
            ("customer", Text),
            ("current_period_end", Int),
        ],
        StripeList::Events => &[("type", Text), ("account", Text)],
    }
}

/// A text column: a string, or the id of an expanded object.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// One filter column's value, read from the object.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Filter {
    Text(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
}

impl Filter {
    /// The value when it is text (else NULL: bound in a column of another kind).
    pub(super) fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(v) => v.as_deref(),
            _ => None,
        }
    }

    /// The value when it is an integer.
    pub(super) fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(v) => *v,
            _ => None,
        }
    }

    /// The value when it is a real number.
    pub(super) fn as_real(&self) -> Option<f64> {
        match self {
            Self::Real(v) => *v,
            _ => None,
        }
    }
}

/// The values of `list`'s filter columns in `object`, in the columns' order.
pub(super) fn filters(list: StripeList, object: &Value) -> Vec<Filter> {
    columns(list)
        .iter()
        .map(|(name, col)| {
            let v = &object[*name];
            match col {
                Col::Text => Filter::Text(text(v)),
                Col::Int => Filter::Int(v.as_i64()),
                Col::Real => Filter::Real(v.as_f64()),
            }
        })
        .collect()
}
