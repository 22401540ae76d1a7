//! `SYNC_BENCH_STRIPE=1 cargo bench -p backend --bench sync`: the sync under Stripe's conditions
//! (issue 18's benchmark). A Stripe-like server (`stripe_server.rs`: 250 ms median latency with a
//! tail, Stripe's rate limits per account, 429s counted) serves many accounts; each scenario runs
//! the product (`stripe_product.rs`: a fresh database, the product's default sync rate, its sync
//! worker) and prints one line per figure with its target:
//!
//! - a. one live account of 70,000 objects: objects/s and the share of the connection's allowance
//!   (80 req/s × 100 objects); e. the peak memory growth meanwhile;
//! - b. ten small live accounts connected while two large ones backfill: each one's time from
//!   connect to every table synced;
//! - c. sixty small live accounts connected at once: how long until all are synced;
//! - d. a test-mode account of 21,000 objects: objects/s, the share of 20 req/s × 100, the most
//!   requests in any second; and 429s as a share of every scenario's requests.
//!
//! `SYNC_BENCH_STRIPE_SCALE` (default 1) multiplies every account's size (0.1 to develop faster);
//! `SYNC_BENCH_STRIPE_TIMEOUT` (seconds, default 600) caps each scenario;
//! `SYNC_BENCH_STRIPE_ONLY` (letters, e.g. `c`) runs just those scenarios (to profile one).

use std::time::{Duration, Instant};

use url::Url;

use crate::measure::{loadavg, mem_mib, reset_peak};
use crate::stripe_account::key;
use crate::stripe_check::check_stripe_server;
use crate::stripe_limits::AccountStats;
use crate::stripe_product::{Connected, Product, WORKER_TICK};
use crate::stripe_server::{stripe_server, StripeServer};

/// Selects this mode (`1`).
pub const MODE: &str = "SYNC_BENCH_STRIPE";
/// Multiplies the accounts' sizes.
const SCALE: &str = "SYNC_BENCH_STRIPE_SCALE";
/// Seconds a scenario may take.
const TIMEOUT: &str = "SYNC_BENCH_STRIPE_TIMEOUT";
/// The scenarios to run (letters; all when unset).
const ONLY: &str = "SYNC_BENCH_STRIPE_ONLY";

/// Objects per list of a large account, a small one and the test-mode one.
const LARGE: u64 = 10_000;
const SMALL: u64 = 150;
const TEST_MODE: u64 = 3_000;
/// The product's default sync rates (requests per second per connection) and a page's objects.
const LIVE_RATE: f64 = 80.0;
const TEST_RATE: f64 = 20.0;
const PAGE: f64 = 100.0;

/// What every scenario shares: the server, the sizes, the time cap, and the requests so far.
struct Bench {
    url: Url,
    server: std::sync::Arc<StripeServer>,
    scale: f64,
    timeout: Duration,
    /// Every scenario's requests, summed when each ends.
    requests: AccountStats,
    /// The keys those requests were counted for.
    keys: Vec<String>,
}

impl Bench {
    /// `per_list` objects scaled (at least one).
    fn size(&self, per_list: u64) -> u64 {
        ((per_list as f64 * self.scale).round() as u64).max(1)
    }

    /// The key of a live (or test-mode) account of `per_list` objects a list, scaled.
    fn key(&self, live: bool, name: &str, per_list: u64) -> String {
        key(live, name, self.size(per_list))
    }

    /// What the accounts of `connections` saw; added to the run's requests.
    fn account(&mut self, connections: &[Connected]) -> AccountStats {
        let stats = self
            .server
            .total(connections.iter().map(|c| c.key.as_str()));
        self.requests += stats;
        self.keys.extend(connections.iter().map(|c| c.key.clone()));
        stats
    }

    fn did_not_finish(&self) -> String {
        format!("did not finish within {} s", self.timeout.as_secs())
    }
}

/// Runs the Stripe-conditions scenarios and prints their figures.
pub async fn run() {
    let scale = std::env::var(SCALE)
        .ok()
        .map(|s| s.parse::<f64>().expect("SYNC_BENCH_STRIPE_SCALE: a number"))
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0);
    let timeout = std::env::var(TIMEOUT).ok().map_or(600, |s| {
        s.parse::<u64>()
            .expect("SYNC_BENCH_STRIPE_TIMEOUT: seconds")
    });
    let (url, server) = stripe_server().await;
    check_stripe_server(&url, &server).await;
    let mut bench = Bench {
        url,
        server,
        scale,
        timeout: Duration::from_secs(timeout),
        requests: AccountStats::default(),
        keys: Vec::new(),
    };
    println!(
        "sync under Stripe's conditions: a Stripe-like server (checked) answering after 250 ms at the median (log-normal, σ 0.35, at most 2 s) and holding each account to Stripe's limits (live 100 requests/s, 25/s per endpoint; test 25/s; sliding one-second window, 429 with Stripe-Rate-Limited-Reason); the product's default sync rate (80/s live, 20/s test per connection), its sync worker ({} s tick), a fresh {} database per scenario; sizes × {scale}, at most {timeout} s a scenario; {} cores, load average {}\n",
        WORKER_TICK.as_secs(),
        crate::common::database_label(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg(),
    );
    let only = std::env::var(ONLY).unwrap_or_else(|_| "abcde".to_owned());
    if only.contains(['a', 'e']) {
        one_large(&mut bench).await;
    }
    if only.contains('b') {
        small_beside_large(&mut bench).await;
    }
    if only.contains('c') {
        sixty_small(&mut bench).await;
    }
    if only.contains('d') {
        test_mode(&mut bench).await;
    }
    let total = bench.requests;
    println!(
        "d. 429s over every scenario: {} of {} requests = {:.2} % (target ≤ 1 %)",
        total.rate_limited,
        total.requests,
        100.0 * total.rate_limited as f64 / (total.requests.max(1)) as f64
    );
    // A scenario's product is dropped (its worker aborted) when it ends: nothing of it may go on
    // reading Stripe during the next one.
    let later = bench
        .server
        .total(bench.keys.iter().map(String::as_str))
        .requests
        - total.requests;
    if later > 0 {
        println!(
            "! {later} requests arrived for scenarios' accounts after their scenario ended: the sync kept running after its worker was stopped, and the figures above shared the machine with it"
        );
    }
}

/// The requests line of a scenario's accounts (`accounts` of them: the maxima are one account's).
fn requests_line(stats: &AccountStats, secs: f64, accounts: usize) -> String {
    let one = if accounts > 1 { " by one account" } else { "" };
    format!(
        "{} requests ({:.1}/s), {} × 429; at most {} in any one second{one} (to one endpoint {}), at most {} in flight{one}; {} objects served",
        stats.requests,
        stats.requests as f64 / secs,
        stats.rate_limited,
        stats.max_per_second,
        stats.max_per_second_endpoint,
        stats.max_in_flight,
        stats.objects,
    )
}

/// The `p`-th percentile (nearest rank) of sorted `values`.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// a (and e): one large live account alone.
async fn one_large(bench: &mut Bench) {
    let product = Product::start(&bench.url).await;
    let key = bench.key(true, "a_large", LARGE);
    let rss_before = mem_mib("VmRSS");
    let peak_reset = reset_peak();
    let account = product.connect(&key).await;
    let finished = product
        .wait(std::slice::from_ref(&account), account.at + bench.timeout)
        .await;
    let peak = mem_mib("VmHWM");
    let took = product.took(&account).unwrap_or(bench.timeout);
    let stats = bench.account(std::slice::from_ref(&account));
    let what = format!(
        "a. one live account, {} objects ({} a list)",
        account.objects, account.per_list
    );
    if finished {
        let rate = account.objects as f64 / took.as_secs_f64();
        println!(
            "{what}: {:.1} s from connect to every table synced = {rate:.0} objects/s = {:.1} % of the connection's allowance (80 req/s × 100 objects = 8,000 objects/s) (target ≥ 75 %)",
            took.as_secs_f64(),
            100.0 * rate / (LIVE_RATE * PAGE),
        );
    } else {
        println!(
            "{what}: {} ({} of {} rows stored)",
            bench.did_not_finish(),
            product.rows(&account).await,
            account.objects
        );
    }
    println!("   its {}", requests_line(&stats, took.as_secs_f64(), 1));
    for line in product.wrong_rows(std::slice::from_ref(&account)).await {
        println!("   {line}");
    }
    println!(
        "e. peak memory growth during a: {:.1} MiB (VmHWM {peak:.1} − RSS before {rss_before:.1}{}; this process also runs the Stripe-like server) (target ≤ 64 MiB)",
        peak - rss_before,
        if peak_reset {
            ", peak reset before"
        } else {
            "; clear_refs refused: VmHWM since start"
        },
    );
}

/// b: ten small live accounts connected one every 500 ms from 3 s after two large ones began.
async fn small_beside_large(bench: &mut Bench) {
    let product = Product::start(&bench.url).await;
    let started = Instant::now();
    let mut large = Vec::new();
    for n in 1..=2 {
        large.push(
            product
                .connect(&bench.key(true, &format!("b_large_{n}"), LARGE))
                .await,
        );
    }
    let deadline = started + bench.timeout;
    let mut small = Vec::new();
    for n in 0..10u32 {
        let at = started + Duration::from_millis(3_000 + 500 * u64::from(n));
        tokio::time::sleep_until(at.into()).await;
        small.push(
            product
                .connect(&bench.key(true, &format!("b_small_{n:02}"), SMALL))
                .await,
        );
    }
    let last_connect = small.last().expect("ten").at - started;
    let finished = product.wait(&small, deadline).await;
    let mut took: Vec<Duration> = small.iter().filter_map(|c| product.took(c)).collect();
    took.sort();
    let within = took
        .iter()
        .filter(|t| **t <= Duration::from_secs(5))
        .count();
    let what = format!(
        "b. ten small live accounts ({} objects a list) connected 3.0–{:.1} s after two large ones ({} objects each) began",
        small[0].per_list,
        last_connect.as_secs_f64(),
        large[0].objects
    );
    if finished {
        println!(
            "{what}: from connect to every table synced median {:.1} s, slowest {:.1} s; {within} of 10 within 5 s (target ≤ 5 s each)",
            percentile(&took, 0.5).as_secs_f64(),
            took.last().expect("ten").as_secs_f64(),
        );
    } else {
        println!(
            "{what}: {} ({} of 10 synced, {within} of them within 5 s)",
            bench.did_not_finish(),
            took.len()
        );
    }
    let mut large_state = Vec::new();
    for connection in &large {
        large_state.push(match product.took(connection) {
            Some(t) => format!("synced {:.1} s after connect", t.as_secs_f64()),
            None => format!(
                "{} of {} rows stored",
                product.rows(connection).await,
                connection.objects
            ),
        });
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "   the large ones by then: {}; their {}",
        large_state.join(", "),
        requests_line(&bench.account(&large), elapsed, large.len())
    );
    println!(
        "   the small ones' {}",
        requests_line(&bench.account(&small), elapsed, small.len())
    );
    for line in product.wrong_rows(&[large, small].concat()).await {
        println!("   {line}");
    }
}

/// c: sixty small live accounts connected at once.
async fn sixty_small(bench: &mut Bench) {
    let product = Product::start(&bench.url).await;
    let started = Instant::now();
    // Sixty admins connecting at the same moment: their requests run side by side.
    let keys: Vec<String> = (0..60)
        .map(|n| bench.key(true, &format!("c_small_{n:02}"), SMALL))
        .collect();
    let small: Vec<Connected> =
        futures::future::join_all(keys.iter().map(|key| product.connect(key))).await;
    let last = Instant::now();
    let finished = product.wait(&small, started + bench.timeout).await;
    let mut took: Vec<Duration> = small.iter().filter_map(|c| product.took(c)).collect();
    took.sort();
    let what = format!(
        "c. sixty small live accounts ({} objects a list) connected at once (in {:.2} s)",
        small[0].per_list,
        (last - started).as_secs_f64()
    );
    if finished {
        let all = small
            .iter()
            .filter_map(|c| product.synced(c))
            .max()
            .expect("sixty")
            - last;
        println!(
            "{what}: from connect to every table synced p50 {:.1} s, p95 {:.1} s, slowest {:.1} s; all synced {:.1} s after the last connect (target ≤ 10 s)",
            percentile(&took, 0.5).as_secs_f64(),
            percentile(&took, 0.95).as_secs_f64(),
            took.last().expect("sixty").as_secs_f64(),
            all.as_secs_f64(),
        );
    } else {
        println!(
            "{what}: {} ({} of 60 synced)",
            bench.did_not_finish(),
            took.len()
        );
    }
    println!(
        "   their {}",
        requests_line(
            &bench.account(&small),
            started.elapsed().as_secs_f64(),
            small.len()
        )
    );
    for line in product.wrong_rows(&small).await {
        println!("   {line}");
    }
}

/// d: one test-mode account alone.
async fn test_mode(bench: &mut Bench) {
    let product = Product::start(&bench.url).await;
    let account = product
        .connect(&bench.key(false, "d_test", TEST_MODE))
        .await;
    let finished = product
        .wait(std::slice::from_ref(&account), account.at + bench.timeout)
        .await;
    let took = product.took(&account).unwrap_or(bench.timeout);
    let stats = bench.account(std::slice::from_ref(&account));
    let what = format!(
        "d. one test-mode account, {} objects ({} a list)",
        account.objects, account.per_list
    );
    if finished {
        let rate = account.objects as f64 / took.as_secs_f64();
        println!(
            "{what}: {:.1} s from connect to every table synced = {rate:.0} objects/s = {:.1} % of the connection's allowance (20 req/s × 100 objects = 2,000 objects/s) (target ≥ 75 %); at most {} requests in any one second (target ≤ 25)",
            took.as_secs_f64(),
            100.0 * rate / (TEST_RATE * PAGE),
            stats.max_per_second,
        );
    } else {
        println!(
            "{what}: {} ({} of {} rows stored); at most {} requests in any one second (target ≤ 25)",
            bench.did_not_finish(),
            product.rows(&account).await,
            account.objects,
            stats.max_per_second,
        );
    }
    println!("   its {}", requests_line(&stats, took.as_secs_f64(), 1));
    for line in product.wrong_rows(std::slice::from_ref(&account)).await {
        println!("   {line}");
    }
}
