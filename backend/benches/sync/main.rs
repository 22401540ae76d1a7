//! `cargo bench -p backend --bench sync`: a backfill of 100,000 Stripe objects from a fast local
//! list server (rate limit lifted) into SQLite: rows/s, peak memory, where the time goes, and what
//! a running sync does to `GET /api/connections` under load. Numbers, not pass/fail.
//!
//! The headline backfill runs in a process of its own (this binary re-run, see `child`), which
//! holds what a product process that syncs holds and nothing else: its rows/s and peak RSS are the
//! product's. The list server (it generates each object from its index as it is asked for;
//! nothing is held) stays in this process. The other figures are this process's: they include the
//! list server, the router, the signed-in admin and the load generator, and are labelled so.
//! `SYNC_BENCH_QUICK=1` runs the backfills alone (for `perf record`). `SYNC_BENCH_STRIPE=1` runs
//! the Stripe-conditions scenarios instead (latency and Stripe's rate limits, many accounts: see
//! `stripe_conditions`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// `json!` of a whole Stripe charge nests deeper than the default limit.
#![recursion_limit = "256"]

mod backfill;
mod child;
#[path = "../common/mod.rs"]
mod common;
mod list_server;
mod measure;
mod objects;
mod spec;
mod stripe_account;
mod stripe_check;
mod stripe_conditions;
mod stripe_limits;
mod stripe_product;
mod stripe_server;
mod timed;

use backend::ids::ConnectionId;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use backend::store;
use backend::sync::{run_due_jobs, SyncOptions};

use backfill::{connect, stored_rows, sync};
use common::{bench_state, load, serve_product, sign_in, Bench};
use list_server::{check_list_server, list_server, ListServer};
use measure::{cpu_by_thread, cpu_line, loadavg, mem_mib, reset_peak};
use spec::total_objects;
use timed::{pct, timed_backfill};

/// The list server's counters at one moment: (nanoseconds building answers, bytes, requests).
fn served(server: &ListServer) -> (u64, u64, u64) {
    (
        server.nanos.load(Ordering::Relaxed),
        server.bytes.load(Ordering::Relaxed),
        server.requests.load(Ordering::Relaxed),
    )
}

/// Pages, MiB of JSON and bytes per object served since `before`, as the backfill line says them.
fn served_since(server: &ListServer, before: (u64, u64, u64)) -> String {
    let now = served(server);
    let bytes = (now.1 - before.1) as f64;
    format!(
        "{} pages, {:.1} MiB of JSON, {:.0} B/object",
        now.2 - before.2,
        bytes / (1024.0 * 1024.0),
        bytes / total_objects() as f64
    )
}

/// What the runtime's workers do in this process.
const WORKERS: &str = "runtime workers (list server, HTTP)";

#[tokio::main]
async fn main() {
    let rss_start = mem_mib("VmRSS");
    if let Some(stripe) = std::env::var_os(child::CHILD) {
        let dir = std::env::var_os(child::CHILD_DIR).expect("SYNC_BENCH_CHILD_DIR");
        child::run(
            stripe.to_str().expect("URL"),
            std::path::Path::new(&dir),
            rss_start,
        )
        .await;
        return;
    }
    if std::env::var(stripe_conditions::MODE).as_deref() == Ok("1") {
        stripe_conditions::run().await;
        return;
    }
    let quick = std::env::var_os("SYNC_BENCH_QUICK").is_some();
    let (stripe, server) = list_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let Bench { state, router } = bench_state(dir.path(), &stripe, Some(1e9), "connect").await;
    let cookie = sign_in(&router).await;
    // The five synced connections, and idle ones up to the 100 rows of the flow bench's table.
    let a = connect(&state, "acct_1SyncBenchA").await;
    let b = connect(&state, "acct_1SyncBenchB").await;
    let c = connect(&state, "acct_1SyncBenchC").await;
    let d = connect(&state, "acct_1SyncBenchD").await;
    let e = connect(&state, "acct_1SyncBenchE").await;
    for i in 0..95 {
        connect(&state, &format!("acct_1SyncIdle{i:03}")).await;
    }

    check_list_server(&state).await;
    let total = total_objects();
    println!(
        "sync benchmark: {total} objects over the seven lists from a local list server, rate limit lifted, into {} ({}); {} cores, load average {}\n",
        common::database_label(),
        dir.path().display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg(),
    );

    // 1. The backfill as the product would run it: in a process that only syncs.
    let before = served(&server);
    let alone = child::spawn(&stripe, &dir.path().join("child"), &[]).await;
    let server_time = Duration::from_nanos(served(&server).0 - before.0);
    println!(
        "backfill (run_due_jobs) in a process of its own (this binary re-run: the product's state over a fresh database, one connection; no list server, load generator or sign-in): {} objects in {:.2} s = {:.0} rows/s ({})",
        alone.objects,
        alone.secs,
        alone.objects as f64 / alone.secs,
        served_since(&server, before),
    );
    println!(
        "memory of the syncing process: RSS at start {:.1} MiB, before the sync {:.1} MiB, peak during the sync {:.1} MiB (VmHWM{}), after it {:.1} MiB",
        alone.rss_start,
        alone.rss_before,
        alone.peak,
        if alone.peak_reset {
            ", reset before the sync"
        } else {
            " since start: clear_refs refused"
        },
        alone.rss_after,
    );
    for line in &alone.breakdown_before {
        println!("  before the sync: {line}");
    }
    for line in &alone.breakdown {
        println!("  after the sync: {line}");
    }
    println!(
        "  the list server (this process) building and serialising its answers: {:.2} s ({:.0} % of the wall time)",
        server_time.as_secs_f64(),
        100.0 * server_time.as_secs_f64() / alone.secs
    );
    println!("  the syncing process's {}", alone.cpu);
    if !quick {
        let arenas = child::spawn(
            &stripe,
            &dir.path().join("child-arenas"),
            &[("MALLOC_ARENA_MAX", "2")],
        )
        .await;
        println!(
            "  for comparison, the same process with MALLOC_ARENA_MAX=2 (not how the product runs): {:.0} rows/s, RSS before the sync {:.1} MiB, peak {:.1} MiB",
            arenas.objects as f64 / arenas.secs,
            arenas.rss_before,
            arenas.peak,
        );
    }
    println!();

    // 2. The same backfill in this process (which also holds the list server, the router, the
    // signed-in admin's Argon2 buffer in glibc's heap, and the pool).
    let rss_before = mem_mib("VmRSS");
    let peak_reset = reset_peak();
    let (nanos, bytes, requests) = served(&server);
    let cpu = cpu_by_thread();
    let took = sync(&state, a).await;
    let peak = mem_mib("VmHWM");
    let cpu = cpu_line(&cpu, took, WORKERS);
    let served = server.bytes.load(Ordering::Relaxed) - bytes;
    let server_time = Duration::from_nanos(server.nanos.load(Ordering::Relaxed) - nanos);
    let pages = server.requests.load(Ordering::Relaxed) - requests;
    println!(
        "in-process backfill (run_due_jobs in the bench's own process): {total} objects in {:.2} s = {:.0} rows/s ({pages} pages, {:.1} MiB of JSON, {:.0} B/object)",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        served as f64 / (1024.0 * 1024.0),
        served as f64 / total as f64,
    );
    println!(
        "in-process memory: RSS at start {rss_start:.1} MiB, before the sync {rss_before:.1} MiB, peak during the sync {peak:.1} MiB (VmHWM{}; the process also holds the list server, the router and the database pool)",
        if peak_reset {
            ", reset before the sync"
        } else {
            " since start: clear_refs refused"
        }
    );
    println!(
        "  of which the in-process list server building and serialising its answers: {:.2} s ({:.0} % of the wall time)",
        server_time.as_secs_f64(),
        pct(server_time, took)
    );
    println!("  {cpu}");

    // 3. The same backfill, timed step by step (in this process).
    let nanos = server.nanos.load(Ordering::Relaxed);
    let cpu = cpu_by_thread();
    let (took, split) = timed_backfill(&state, b, false).await;
    let cpu = cpu_line(&cpu, took, WORKERS);
    let server_time = Duration::from_nanos(server.nanos.load(Ordering::Relaxed) - nanos);
    assert_eq!(split.objects, total);
    let rest = took
        .saturating_sub(split.fetch)
        .saturating_sub(split.parse)
        .saturating_sub(split.prepare)
        .saturating_sub(split.commit)
        .saturating_sub(split.finish);
    println!(
        "timed copy of the page loop: {total} objects in {:.2} s = {:.0} rows/s, {} pages:",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        split.pages
    );
    for (name, part) in [
        ("HTTP fetch (request → body bytes)", split.fetch),
        ("  of which the list server building the JSON", server_time),
        ("JSON parse (bytes → serde_json::Value)", split.parse),
        ("store::Prepared (JSON text, typed rows)", split.prepare),
        ("store::commit_pages (SQLite, one tx/page)", split.commit),
        ("store::finish_table", split.finish),
        ("the rest", rest),
    ] {
        println!(
            "  {name:<46} {:>7.2} s {:>5.1} %  {:>7.1} µs/object",
            part.as_secs_f64(),
            pct(part, took),
            part.as_secs_f64() * 1e6 / total as f64
        );
    }
    println!("  {cpu}");

    // 4. The same with the next page read while this one commits.
    let cpu = cpu_by_thread();
    let (took, split) = timed_backfill(&state, d, true).await;
    let cpu = cpu_line(&cpu, took, WORKERS);
    assert_eq!(split.objects, total);
    println!(
        "the copy reading the next page while this one commits: {total} objects in {:.2} s = {:.0} rows/s (waiting for pages {:.2} s, parse {:.2} s, prepare {:.2} s, commit_pages {:.2} s)",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        split.fetch.as_secs_f64(),
        split.parse.as_secs_f64(),
        split.prepare.as_secs_f64(),
        split.commit.as_secs_f64(),
    );
    println!("  {cpu}");
    if quick {
        return;
    }

    // 5. `GET /api/connections` (100 rows) under load, without and then during a sync.
    let product = serve_product(router).await;
    let url = format!("{product}/api/connections");
    println!();
    let (rps, p99) = load(&url, Some(&cookie)).await;
    println!("under load: GET /api/connections {rps:.0} req/s p99 {p99:.1?} (no sync running)");
    store::enqueue_sync(&state.pool, ConnectionId(c), state.clock.now(), true)
        .await
        .expect("enqueue");
    let sync_task = {
        let state = state.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            run_due_jobs(&state, SyncOptions::default())
                .await
                .expect("sync");
            t.elapsed()
        })
    };
    // The sync is under way (its first pages in) before the load starts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (rps_sync, p99_sync) = load(&url, Some(&cookie)).await;
    let rows_at_load_end = stored_rows(&state, c).await;
    let sync_took = sync_task.await.expect("sync task");
    assert_eq!(stored_rows(&state, c).await, total as i64);
    println!(
        "under load: GET /api/connections {rps_sync:.0} req/s p99 {p99_sync:.1?} while a sync runs = {:.0} % of the throughput without ({rows_at_load_end} rows synced by the load's end; the whole sync took {:.2} s = {:.0} rows/s)",
        100.0 * rps_sync / rps,
        sync_took.as_secs_f64(),
        total as f64 / sync_took.as_secs_f64()
    );

    // The same with the sync at the product's default rate (test mode), stopped after the load.
    // The product started again over the same database, with its default rate.
    let Bench { state: paced, .. } =
        common::product_state(dir.path(), &stripe, None, "connect").await;
    store::enqueue_sync(&state.pool, ConnectionId(e), state.clock.now(), true)
        .await
        .expect("enqueue");
    let paced_start = Instant::now();
    let sync_task = tokio::spawn(async move {
        run_due_jobs(&paced, SyncOptions::default())
            .await
            .expect("sync")
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (rps_paced, p99_paced) = load(&url, Some(&cookie)).await;
    let rows = stored_rows(&state, e).await;
    let paced_took = paced_start.elapsed();
    sync_task.abort();
    println!(
        "under load: GET /api/connections {rps_paced:.0} req/s p99 {p99_paced:.1?} while a sync at the default test-mode rate runs = {:.0} % of the throughput without ({rows} rows synced in {:.1} s)",
        100.0 * rps_paced / rps,
        paced_took.as_secs_f64()
    );
    // Once more without a sync: how much the figures move between runs on this machine.
    let (rps_again, p99_again) = load(&url, Some(&cookie)).await;
    println!(
        "under load: GET /api/connections {rps_again:.0} req/s p99 {p99_again:.1?} (no sync running, again: the spread between runs)"
    );
}
