//! `cargo bench -p backend --bench warehouse`: the README's revenue-by-month query over 1,000,000
//! charges (Stripe-shaped, ~60 fields flattened) stored as the sync stores them — the JSON and the
//! typed relation, in one transaction per page — timed on the typed relation and, for comparison,
//! on the JSON parsed per row as a query without the warehouse must. Also the write rate of the
//! two together. SQLite by default; `BENCH_POSTGRES_URL` for PostgreSQL;
//! `WAREHOUSE_BENCH_CHARGES` for another count. Numbers, not pass/fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// `json!` of a whole Stripe charge nests deeper than the default limit.
#![recursion_limit = "256"]

#[allow(dead_code)]
#[path = "sync/backfill.rs"]
mod backfill;
#[path = "common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "sync/objects.rs"]
mod objects;
#[allow(dead_code)]
#[path = "sync/spec.rs"]
mod spec;

use std::time::{Duration, Instant};

use backend::args;
use backend::ids::ConnectionId;
use backend::store::{self, Dialect, Lease};
use backend::stripe::lists::StripeList;
use backend::warehouse::examples;
use serde_json::Value;

/// Objects per transaction, as the sync's pages of 100 batched by its writer.
const BATCH: u64 = 1_000;
/// Runs of each query (the median is printed; the first warms the cache).
const RUNS: usize = 5;

/// The same revenue by month, from the JSON: each row's object parsed once per query.
fn from_json(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "SELECT strftime('%Y-%m', json_extract(object, '$.created'), 'unixepoch') AS month, \
                 CAST(SUM(json_extract(object, '$.amount') - json_extract(object, '$.amount_refunded')) AS BIGINT) \
             FROM stripe_charges WHERE connection_id = $1 AND NOT deleted \
                 AND json_extract(object, '$.status') = 'succeeded' GROUP BY 1 ORDER BY 1"
        }
        Dialect::Postgres => {
            "SELECT to_char(to_timestamp((o->>'created')::BIGINT) AT TIME ZONE 'UTC', 'YYYY-MM') AS month, \
                 CAST(SUM((o->>'amount')::BIGINT - (o->>'amount_refunded')::BIGINT) AS BIGINT) \
             FROM (SELECT CAST(object AS JSONB) AS o FROM stripe_charges \
                   WHERE connection_id = $1 AND NOT deleted) c \
             WHERE o->>'status' = 'succeeded' GROUP BY 1 ORDER BY 1"
        }
    }
}

/// Runs `sql` `RUNS` times; its answer and the median time.
async fn timed(
    pool: &store::Db,
    sql: &str,
    connection: i64,
    bound: bool,
) -> (Vec<(String, i64)>, Duration) {
    let mut times = Vec::new();
    let mut answer = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        answer = if bound {
            pool.fetch_all(sql, args![connection]).await.expect("query")
        } else {
            pool.fetch_all(sql, args![]).await.expect("query")
        };
        times.push(t.elapsed());
    }
    times.sort();
    (answer, times[RUNS / 2])
}

#[tokio::main]
async fn main() {
    let count: u64 = std::env::var("WAREHOUSE_BENCH_CHARGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("dir");
    let nowhere = url::Url::parse("http://127.0.0.1:9/").expect("url");
    let bench = common::product_state(dir.path(), &nowhere, None, "apps").await;
    let (state, pool) = (&bench.state, &bench.state.pool);
    let connection = backfill::connect(state, "acct_1WarehouseBench").await;
    let now = state.clock.now();
    store::enqueue_sync(pool, ConnectionId(connection), now, true)
        .await
        .expect("enqueue");
    let job = store::claim_sync_job(pool, "bench", now, now + 86_400)
        .await
        .expect("claim")
        .expect("a job");
    println!(
        "warehouse bench on {}: {count} charges, {RUNS} runs of each query (median)",
        common::database_label()
    );

    let t = Instant::now();
    let mut start = 0;
    while start < count {
        let objects: Vec<Value> = (start..(start + BATCH).min(count))
            .map(objects::charge)
            .collect();
        let lease = Lease {
            job_id: job.id,
            owner: "bench",
            now,
            until: now + 86_400,
        };
        assert!(store::store_objects(
            pool,
            lease,
            ConnectionId(connection),
            StripeList::Charges,
            &store::Prepared::new(StripeList::Charges, &objects, now)
        )
        .await
        .expect("store"));
        start += BATCH;
    }
    let write = t.elapsed();
    println!(
        "  write (JSON + typed relation, {BATCH} a transaction): {:.1} s, {:.0} charges/s",
        write.as_secs_f64(),
        count as f64 / write.as_secs_f64()
    );

    let schema = store::warehouse(pool, ConnectionId(connection))
        .await
        .expect("warehouse")
        .expect("a connection")
        .schema;
    let dialect = pool.dialect();
    let typed_sql = examples::revenue_by_month(dialect, &schema);
    let (typed, typed_time) = timed(pool, &typed_sql, connection, false).await;
    let (json, json_time) = timed(pool, from_json(dialect), connection, true).await;
    assert_eq!(typed, json, "both answer the same");
    println!(
        "  revenue by month ({} months) on the typed relation: {:.0} ms",
        typed.len(),
        typed_time.as_secs_f64() * 1e3
    );
    println!(
        "  the same from the JSON, parsed per row:             {:.0} ms ({:.1}× slower)",
        json_time.as_secs_f64() * 1e3,
        json_time.as_secs_f64() / typed_time.as_secs_f64()
    );
    println!("  query: {typed_sql}");
}
