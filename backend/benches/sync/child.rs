//! The backfill measured as the product would run it: in a process of its own (this binary run
//! again with `SYNC_BENCH_CHILD=<list server URL>` and `SYNC_BENCH_CHILD_DIR=<empty directory>`)
//! that holds only the product's state over a fresh database, one connection and the sync — not
//! the list server, not the load generator, no Argon2 sign-in. It answers with one line on stdout.

use std::path::Path;
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::backfill::{connect, sync};
use crate::common::{product_state, Bench};
use crate::measure::{cpu_by_thread, cpu_line, mem_mib, reset_peak, smaps_breakdown};
use crate::spec::total_objects;

/// The list server's URL, for the child.
pub const CHILD: &str = "SYNC_BENCH_CHILD";
/// The directory the child's database goes in.
pub const CHILD_DIR: &str = "SYNC_BENCH_CHILD_DIR";
/// The start of the child's answer line.
const ANSWER: &str = "sync-bench-child ";

/// What the child measured.
#[derive(Serialize, Deserialize)]
pub struct ChildReport {
    pub objects: u64,
    pub secs: f64,
    /// `VmRSS` in MiB when `main` began, before the sync, after it; `VmHWM` after it.
    pub rss_start: f64,
    pub rss_before: f64,
    pub rss_after: f64,
    pub peak: f64,
    /// Whether the peak was reset to the RSS before the sync.
    pub peak_reset: bool,
    pub cpu: String,
    /// Where the RSS is before the sync, and after it.
    pub breakdown_before: Vec<String>,
    pub breakdown: Vec<String>,
}

/// The child's side: the product's state over a fresh database, one connection, `run_due_jobs` to
/// the end; prints its answer line.
pub async fn run(stripe: &str, dir: &Path, rss_start: f64) {
    let stripe = Url::parse(stripe).expect("list server URL");
    let Bench { state, .. } = product_state(dir, &stripe, Some(1e9), "connect").await;
    let connection = connect(&state, "acct_1SyncBenchChild").await;
    let breakdown_before = smaps_breakdown();
    let rss_before = mem_mib("VmRSS");
    let peak_reset = reset_peak();
    let cpu = cpu_by_thread();
    let took = sync(&state, connection).await;
    let peak = mem_mib("VmHWM");
    let report = ChildReport {
        objects: total_objects(),
        secs: took.as_secs_f64(),
        rss_start,
        rss_before,
        rss_after: mem_mib("VmRSS"),
        peak,
        peak_reset,
        cpu: cpu_line(&cpu, took, "runtime workers (HTTP client)"),
        breakdown_before,
        breakdown: smaps_breakdown(),
    };
    println!(
        "{ANSWER}{}",
        serde_json::to_string(&report).expect("report")
    );
}

/// The parent's side: runs the child against the list server at `stripe` over a database in
/// `dir`, with `env` added to its environment; what it measured.
pub async fn spawn(stripe: &Url, dir: &Path, env: &[(&str, &str)]) -> ChildReport {
    std::fs::create_dir_all(dir).expect("child dir");
    let output = tokio::process::Command::new(std::env::current_exe().expect("exe"))
        .env(CHILD, stripe.as_str())
        .env(CHILD_DIR, dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .await
        .expect("child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child: {}\n{stdout}",
        output.status
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(ANSWER))
        .unwrap_or_else(|| panic!("no answer from the child:\n{stdout}"));
    serde_json::from_str(line).expect("child's answer")
}
