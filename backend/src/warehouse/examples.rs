//! Two queries an analyst runs first, written for a connection's schema on either database: the
//! README shows them, the tests check them against the JSON and the benchmark times them.

use crate::store::{relation_name, Dialect};

/// A relation of `schema`, quoted for a query.
fn quoted(dialect: Dialect, schema: &str, table: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("\"{schema}\".\"{table}\""),
        Dialect::Sqlite => format!("\"{}\"", relation_name(dialect, schema, table)),
    }
}

/// Revenue by month (UTC): succeeded charges less refunds, in minor units; rows `(month
/// "YYYY-MM", revenue)`.
pub fn revenue_by_month(dialect: Dialect, schema: &str) -> String {
    let month = match dialect {
        Dialect::Postgres => "to_char(created AT TIME ZONE 'UTC', 'YYYY-MM')",
        Dialect::Sqlite => "strftime('%Y-%m', created)",
    };
    format!(
        "SELECT {month} AS month, CAST(SUM(amount - amount_refunded) AS BIGINT) AS revenue \
         FROM {} WHERE status = 'succeeded' AND NOT deleted GROUP BY 1 ORDER BY 1",
        quoted(dialect, schema, "charges")
    )
}

/// Monthly recurring revenue now, in minor units (rounded): each item of an active or past-due
/// subscription at its plan's price, a year's worth counted as a twelfth; one row `(mrr)`.
pub fn mrr(dialect: Dialect, schema: &str) -> String {
    format!(
        "SELECT CAST(ROUND(COALESCE(SUM(p.amount * COALESCE(si.quantity, 1) * \
             CASE p.\"interval\" WHEN 'year' THEN 1.0 / 12 WHEN 'week' THEN 52.0 / 12 \
                 WHEN 'day' THEN 365.0 / 12 ELSE 1.0 END / p.interval_count), 0)) AS BIGINT) AS mrr \
         FROM {} si JOIN {} s ON s.id = si.subscription_id JOIN {} p ON p.id = si.plan \
         WHERE s.status IN ('active', 'past_due') AND NOT s.deleted AND NOT si.deleted",
        quoted(dialect, schema, "subscription_items"),
        quoted(dialect, schema, "subscriptions"),
        quoted(dialect, schema, "plans"),
    )
}
