//! A backend killed (SIGKILL) in the middle of its first sync and started again on the same data
//! finishes that sync with every Stripe object stored exactly once: no duplicates, no gaps.
//!
//! Stripe is the emulator on its own socket (a separate process, as Stripe is): the demo mode's
//! built-in emulator keeps its state in the backend's memory, so a killed backend would take its
//! "Stripe" — and the restricted key it issued — down with it. The account is connected the quickest
//! way the product offers, over HTTP: a restricted key made on the emulator, pasted into
//! `POST /api/connections/stripe/key` as the signed-in Admin.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::api::*;
use crate::harness::*;

const SECRET: &str = "sk_test_E2eSyncRestartPlatformKey4";
const CLIENT: &str = "ca_E2eSyncRestart0001";
/// How long the first run may take to store a page, and the restarted one to finish.
const SYNC_WAIT: Duration = Duration::from_secs(30);
/// The lease a dead worker leaves behind (`backend::sync::engine::LEASE_SECS`).
const LEASE_SECS: u64 = 120;

/// The backend over `data`, Stripe being the emulator at `stripe`.
fn start_backend(data: &Path, stripe: &str, extra: &[(&str, &str)]) -> (Process, String) {
    let api_url = format!("http://{stripe}");
    let mut envs = vec![
        ("STRIPE_CLIENT_ID", CLIENT),
        ("STRIPE_SECRET_KEY", SECRET),
        ("STRIPE_API_URL", api_url.as_str()),
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    envs.extend_from_slice(extra);
    backend_in(data, &envs)
}

/// Whether the restarted backend must wait out the dead worker's lease for real.
fn real_lease() -> bool {
    std::env::var_os("E2E_REAL_LEASE").is_some_and(|v| v == "1")
}

/// The extra time the restarted backend may take to resume.
fn lease_wait() -> Duration {
    if real_lease() {
        Duration::from_secs(LEASE_SECS)
    } else {
        Duration::ZERO
    }
}

/// The killed worker's lease, still holding the job in the database (the backend is down): the
/// job must still be running (the kill came mid-sync). Unless `E2E_REAL_LEASE=1`, the lease is moved
/// into the past — what the passing of its two minutes does — so the restarted backend resumes at
/// its first tick rather than two minutes later.
async fn dead_workers_job(data: &Path) -> i64 {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};

    let mut db = SqliteConnectOptions::new()
        .filename(data.join("connections.db"))
        .connect()
        .await
        .unwrap();
    let jobs: Vec<(i64, String)> = sqlx::query_as("SELECT id, status FROM sync_jobs ORDER BY id")
        .fetch_all(&mut db)
        .await
        .unwrap();
    let running: Vec<i64> = jobs
        .iter()
        .filter(|(_, s)| s == "running")
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(
        running.len(),
        1,
        "the kill did not come mid-sync: jobs {jobs:?}"
    );
    let checkpoints: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sync_tables WHERE progress_pages > 0 OR done_job_id IS NOT NULL",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert!(checkpoints > 0, "no page was stored before the kill");
    if !real_lease() {
        let moved = sqlx::query("UPDATE sync_jobs SET lease_until = 0 WHERE id = $1")
            .bind(running[0])
            .execute(&mut db)
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(moved, 1);
    }
    db.close().await.unwrap();
    running[0]
}

#[tokio::test]
async fn a_backend_killed_mid_sync_finishes_it_after_a_restart_with_no_duplicates_and_no_gaps() {
    let started = Instant::now();
    let (_stripe, stripe) = separate_stripe(CLIENT, SECRET, "http://127.0.0.1:9");
    let data = tempfile::tempdir().unwrap();

    // A slow sync (2 requests/s toward Stripe), so the kill lands between its pages.
    let (mut backend, addr) = start_backend(data.path(), &stripe, &[("SYNC_RATE_LIMIT", "2")]);
    let cookie = sign_in_api(&addr, None);
    let key = restricted_key(&stripe);
    let connection = connect_with_key(&addr, &cookie, None, &key);

    // At least one full page of a table stored, that table not finished: SIGKILL.
    let before = wait_for_sync(
        SYNC_WAIT,
        &addr,
        &cookie,
        connection,
        "a page stored mid-table",
        &backend,
        |s| {
            s["status"] == "running"
                && s["tables"].as_array().unwrap().iter().any(|t| {
                    t["progress"]["done"]
                        .as_i64()
                        .is_some_and(|done| done >= 100)
                })
        },
    );
    backend.child.kill().unwrap();
    backend.child.wait().unwrap();
    let killed_at = started.elapsed();
    let job = dead_workers_job(data.path()).await;

    // Started again on the same data, at the normal rate: the same job resumes and completes.
    let (backend, addr) = start_backend(data.path(), &stripe, &[]);
    let cookie = sign_in_api(&addr, None);
    let after = wait_for_sync(
        SYNC_WAIT + lease_wait(),
        &addr,
        &cookie,
        connection,
        "the resumed sync done",
        &backend,
        all_synced,
    );
    let log = backend.output();
    assert!(
        log.contains(&format!("job={job} outcome=Done")),
        "the killed job {job} was not the one resumed and finished:\n{log}"
    );

    assert_synced_like_stripe(&stripe, &key, &addr, &cookie, connection, &after);
    // The table cut short by the kill was completed past the page it had stored.
    for cut in before["tables"].as_array().unwrap() {
        if let Some(done) = cut["progress"]["done"].as_i64() {
            let name = cut["name"].as_str().unwrap();
            let rows = table(&after, name)["rows"].as_i64().unwrap();
            assert!(
                rows > done,
                "{name}: {done} stored before the kill, {rows} after"
            );
        }
    }
    let progress: Vec<String> = before["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{} {}/{}", t["name"], t["rows"], t["progress"]))
        .collect();
    eprintln!(
        "killed after {killed_at:?} at [{}]; all synced after {:?} (real lease wait: {})",
        progress.join(", "),
        started.elapsed(),
        real_lease()
    );
}
