//! How Stripe objects become rows: one table per list keyed by (connection, Stripe id), the
//! columns a BI user filters on plus the whole object, written in multi-row upserts (a `VALUES`
//! list on SQLite, one array per column on PostgreSQL).

use std::collections::HashSet;

use crate::ids::{ConnectionId, JobId};

use super::filter_columns::{columns, Col, Filter};
use super::prepared::Prepared;
use super::{StoreError, Tx};
use crate::stripe::lists::StripeList;

/// The table holding `list`'s objects.
pub(super) fn table(list: StripeList) -> String {
    format!("stripe_{}", list.name())
}

/// Objects per multi-row `INSERT` (well under SQLite's 32,766 bound parameters).
const BATCH: usize = 100;

/// PostgreSQL's upsert of a chunk: `head`, the rows as one array per column (`$4`… after the
/// connection, the time and the job in `$1`–`$3`), then `tail`.
fn unnest_insert(head: &str, cols: &[(&str, Col)], tail: &str) -> String {
    let mut select =
        String::from("SELECT $1, u.id, u.created, u.deleted, u.object, $2, $3, u.version");
    let mut from = String::from(
        " FROM UNNEST($4::TEXT[], $5::BIGINT[], $6::BOOLEAN[], $7::TEXT[], $8::BIGINT[]",
    );
    let mut aliases = String::from("id, created, deleted, object, version");
    for (i, (_, col)) in cols.iter().enumerate() {
        let kind = match col {
            Col::Text => "TEXT",
            Col::Int => "BIGINT",
            Col::Real => "DOUBLE PRECISION",
        };
        select.push_str(&format!(", u.c{i}"));
        from.push_str(&format!(", ${}::{kind}[]", i + 9));
        aliases.push_str(&format!(", c{i}"));
    }
    format!("{head}{select}{from}) AS u({aliases}){tail}")
}

/// Upserts a page of `list` in multi-row statements, in id order (writers side by side lock rows in
/// one order). An object whose stored state is newer (its `version`) is left as it is: events
/// arrive out of order, and a list read before a change can be written after it. Of the same
/// second, a list read replaces what an event wrote (not a deletion), but an event never replaces
/// another state: which came last only Stripe knows, so the object is left for a read by id. A
/// re-run that brings the same object changes nothing of it (not even `synced_at`, the time its
/// content last changed); `seen_job` tells which full pass listed the object last, and is cleared
/// when an event or a webhook wrote it since. The typed relation gets the objects written, in the
/// same transaction. Returns how many objects were written.
pub(super) async fn upsert_objects(
    tx: &mut Tx,
    connection_id: ConnectionId,
    list: StripeList,
    page: &Prepared,
    now: i64,
    seen_job: Option<JobId>,
) -> Result<usize, StoreError> {
    let table = table(list);
    let cols = columns(list);
    let names: Vec<String> = cols.iter().map(|(c, _)| format!("\"{c}\"")).collect();
    let updates: String = names
        .iter()
        .map(|c| format!(", {c} = excluded.{c}"))
        .collect();
    let head = format!(
        "INSERT INTO {table} (connection_id, id, created, deleted, object, synced_at, seen_job, \
             version, {}) ",
        names.join(", ")
    );
    let tail = format!(
        " ON CONFLICT (connection_id, id) DO UPDATE SET created = excluded.created, \
             deleted = excluded.deleted, object = excluded.object, \
             synced_at = CASE WHEN {table}.object <> excluded.object \
                 OR {table}.deleted <> excluded.deleted THEN excluded.synced_at \
                 ELSE {table}.synced_at END, \
             seen_job = excluded.seen_job, \
             version = excluded.version{updates} \
         WHERE {table}.version < excluded.version \
            OR ({table}.version = excluded.version AND excluded.seen_job IS NOT NULL \
                AND (({table}.object = excluded.object AND {table}.deleted = excluded.deleted \
                      AND {table}.seen_job IS DISTINCT FROM excluded.seen_job) \
                  OR NOT {table}.deleted)) \
         RETURNING id"
    );
    // PostgreSQL's statement depends on the list only: built once for all the chunks.
    let unnest = match tx {
        Tx::Postgres(_) => unnest_insert(&head, cols, &tail),
        Tx::Sqlite(..) => String::new(),
    };
    // The one statement written per dialect, on the drivers themselves rather than through the query
    // layer: SQLite's is a `VALUES` list of any length, PostgreSQL's binds one array per column
    // (arrays are bound nowhere else, so `Arg` does not carry them).
    let mut written: HashSet<String> = HashSet::with_capacity(page.stored.len());
    for chunk in page.stored.chunks(BATCH) {
        let ids: Vec<String> = match &mut *tx {
            Tx::Sqlite(t, _) => {
                let mut q = sqlx::QueryBuilder::new(head.as_str());
                q.push_values(chunk, |mut row, object| {
                    row.push_bind(connection_id)
                        .push_bind(object.id.as_str())
                        .push_bind(object.created)
                        .push_bind(object.deleted)
                        .push_bind(object.json.as_str())
                        .push_bind(now)
                        .push_bind(seen_job)
                        .push_bind(object.version);
                    for filter in &object.filters {
                        match filter {
                            Filter::Text(v) => row.push_bind(v.as_deref()),
                            Filter::Int(v) => row.push_bind(*v),
                            Filter::Real(v) => row.push_bind(*v),
                        };
                    }
                });
                q.push(tail.as_str());
                q.build_query_scalar().fetch_all(&mut **t).await?
            }
            // One array per column (`UNNEST`): a dozen parameters a page instead of a thousand,
            // one statement plan for every page.
            Tx::Postgres(t) => {
                let mut q = sqlx::query_scalar(unnest.as_str())
                    .bind(connection_id)
                    .bind(now)
                    .bind(seen_job)
                    .bind(chunk.iter().map(|o| o.id.as_str()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|o| o.created).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|o| o.deleted).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|o| o.json.as_str()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|o| o.version).collect::<Vec<_>>());
                for (i, (_, col)) in cols.iter().enumerate() {
                    let values = chunk.iter().map(|o| o.filters.get(i));
                    q = match col {
                        Col::Text => q.bind(
                            values
                                .map(|f| f.and_then(Filter::as_text))
                                .collect::<Vec<_>>(),
                        ),
                        Col::Int => q.bind(
                            values
                                .map(|f| f.and_then(Filter::as_int))
                                .collect::<Vec<_>>(),
                        ),
                        Col::Real => q.bind(
                            values
                                .map(|f| f.and_then(Filter::as_real))
                                .collect::<Vec<_>>(),
                        ),
                    };
                }
                q.fetch_all(&mut **t).await?
            }
        };
        written.extend(ids);
    }
    // The typed relation, in the same transaction: never behind the JSON.
    if written.len() == page.stored.len() {
        super::warehouse::write(tx, connection_id, list.name(), &page.typed).await?;
    } else if !written.is_empty() {
        let typed = page.typed.only(&written);
        super::warehouse::write(tx, connection_id, list.name(), &typed).await?;
    }
    Ok(written.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_has_filter_columns_named_as_stripe_fields() {
        for list in StripeList::ALL {
            assert!(!columns(list).is_empty(), "{}", list.name());
            assert!(table(list).starts_with("stripe_"));
        }
    }
}
