//! The sync at Stripe's speed, against a Stripe-like server that answers slowly and enforces
//! Stripe's rate limits per account: lists read side by side in `created` ranges store every object
//! once and never exceed a limit; a killed pass resumes each range; a small account completes while
//! a large one still syncs; two instances split a fleet without running a job twice; 429s slow the
//! pace down instead of failing the sync.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use backend::args;
use backend::emulator::Emulator;
use backend::ids::ConnectionId;
use backend::store;
use backend::stripe::lists::StripeList;
use backend::sync::{run_due_jobs, SyncOptions};
use shared::AuthKind;
use support::stripe_like::{Account, StripeLike};
use support::sync::{run, store_key_connection};
use support::*;

/// The seven lists' names.
fn lists() -> impl Iterator<Item = &'static str> {
    StripeList::ALL.into_iter().map(StripeList::name)
}

/// The product at the server's address with the rates it keeps by default (80/s live, 20/s test).
async fn app_on(server: &StripeLike) -> TestApp {
    app_on_with(server, &[]).await
}

/// [`app_on`] with more settings.
async fn app_on_with(server: &StripeLike, extra: &[(&str, String)]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
    let mut config = test_config(
        AuthKind::Connect,
        &server.url,
        &server.url,
        SECRET_KEY,
        dir.path(),
        extra,
    )
    .await;
    config.sync_rate_limit = None;
    build_app_from(config, Emulator::new(emulator_config()), dir, true).await
}

fn account(key: &str, livemode: bool, per_list: u64) -> Account {
    Account {
        key: key.to_owned(),
        livemode,
        per_list,
    }
}

/// Stores a connection for `account` as the restricted-key flow would; `enqueue` queues its sync.
async fn connect(app: &TestApp, account: &Account, enqueue: bool) -> i64 {
    let stripe_account = format!("acct_1{}", account.key.replace('_', ""));
    let id = store_key_connection(
        app,
        &stripe_account,
        &account.key,
        &account.key,
        account.livemode,
    )
    .await;
    if enqueue {
        backend::sync::jobs::enqueue(&app.state, id).await;
    }
    id.into()
}

/// Every stored id of a table, sorted.
async fn stored_ids(app: &TestApp, id: i64, list: &str) -> Vec<String> {
    let rows: Vec<(String,)> = app
        .state
        .pool
        .fetch_all(
            &format!("SELECT id FROM stripe_{list} WHERE connection_id = $1 ORDER BY id"),
            args![id],
        )
        .await
        .unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

/// Each table holds exactly the server's objects of the account: none missing, none twice.
async fn assert_same(app: &TestApp, server: &StripeLike, id: i64, key: &str) {
    for list in lists() {
        assert_eq!(
            stored_ids(app, id, list).await,
            server.ids(key, list),
            "{key} {list}"
        );
    }
}

async fn job_status(app: &TestApp, id: i64) -> String {
    store::latest_sync_job(&app.state.pool, ConnectionId(id))
        .await
        .unwrap()
        .map(|j| j.status)
        .unwrap_or_default()
}

#[tokio::test]
async fn ranges_side_by_side_store_every_object_once_within_stripes_limits() {
    let live = account("rk_live_SideBySide00", true, 1_200);
    let test = account("rk_test_SideBySide00", false, 600);
    let server = StripeLike::start(
        &[live.clone(), test.clone()],
        Duration::from_millis(150),
        1.0,
    )
    .await;
    let app = app_on(&server).await;
    let a = connect(&app, &live, true).await;
    let b = connect(&app, &test, true).await;
    assert_eq!(
        run_due_jobs(&app.state, SyncOptions::default())
            .await
            .unwrap(),
        2
    );
    assert_same(&app, &server, a, &live.key).await;
    assert_same(&app, &server, b, &test.key).await;
    {
        let seen = server.seen.lock().unwrap();
        assert!(
            seen.bounded.get(&live.key).copied().unwrap_or(0) > 0,
            "the live lists were split into created ranges"
        );
        assert_eq!(seen.refused.get(&live.key), None, "{seen:?}");
        assert_eq!(seen.refused.get(&test.key), None, "{seen:?}");
        assert!(seen.busiest[&live.key] <= 100, "{seen:?}");
        assert!(seen.busiest[&test.key] <= 25, "{seen:?}");
        assert!(
            seen.busiest_endpoint
                .iter()
                .all(|((key, _), n)| *n <= 25 || key == &test.key),
            "{seen:?}"
        );
        // More than one request was in flight: 84 pages of the live account at 150 ms each one after
        // another would take 12 s.
        for list in lists() {
            assert_eq!(seen.first_pages[&(live.key.clone(), list.to_owned())], 1);
        }
    }
    let (_, body) = app.json("GET", &format!("/api/connections/{a}/sync")).await;
    assert_eq!(body["status"], "idle", "{body}");
    for table in body["tables"].as_array().unwrap() {
        assert_eq!(table["rows"], 1_200, "{table}");
    }
}

#[tokio::test]
async fn a_list_of_a_page_and_a_half_is_read_whole_never_split() {
    // Where a list begins is unknown: a range open below is split only once it has read two whole
    // pages, so a small account costs one request a page, not a bisection back to 2011 (which
    // lengthened the sync of sixty new connections at once).
    let small = account("rk_live_PageAndHalf0", true, 150);
    let server = StripeLike::start(
        std::slice::from_ref(&small),
        Duration::from_millis(250),
        1.0,
    )
    .await;
    let app = app_on(&server).await;
    let id = connect(&app, &small, true).await;
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    assert_same(&app, &server, id, &small.key).await;
    // Stripe's latency lets a list's second page be asked while the first is stored: the moment a
    // split was tried (without the rule this account took 42 requests, 28 of them bounded).
    let seen = server.seen.lock().unwrap();
    assert_eq!(
        seen.bounded.get(&small.key),
        None,
        "no created-bounded read"
    );
    assert_eq!(seen.requests[&small.key], 14, "two pages a list");
}

#[tokio::test]
async fn a_kill_in_the_middle_of_concurrent_ranges_resumes_with_no_duplicate_and_no_gap() {
    let live = account("rk_live_KilledRanges", true, 600);
    let server =
        StripeLike::start(std::slice::from_ref(&live), Duration::from_millis(200), 1.0).await;
    let app = app_on(&server).await;
    let id = connect(&app, &live, true).await;
    let killed = SyncOptions {
        page_size: 20,
        max_pages: Some(90),
    };
    assert_eq!(run_due_jobs(&app.state, killed).await.unwrap(), 1);
    let ranges: i64 = app
        .state
        .pool
        .scalar_one(
            "SELECT COUNT(*) FROM sync_ranges WHERE connection_id = $1",
            args![id],
        )
        .await
        .unwrap();
    assert!(
        ranges > 7,
        "lists were split before the kill: {ranges} ranges"
    );
    let mut stored = 0;
    for list in lists() {
        let ids = stored_ids(&app, id, list).await;
        let all = server.ids(&live.key, list);
        assert!(ids.iter().all(|i| all.contains(i)));
        stored += ids.len();
    }
    assert!(stored > 0 && stored < 7 * 600, "{stored}");
    assert_eq!(job_status(&app, id).await, "running");
    // The dead worker's lease lapses; another run resumes every range from its checkpoint.
    app.state
        .clock
        .advance(backend::sync::engine::LEASE_SECS + 1);
    let resume = SyncOptions {
        page_size: 20,
        max_pages: None,
    };
    assert_eq!(run_due_jobs(&app.state, resume).await.unwrap(), 1);
    assert_same(&app, &server, id, &live.key).await;
    assert_eq!(job_status(&app, id).await, "done");
    let left: i64 = app
        .state
        .pool
        .scalar_one(
            "SELECT COUNT(*) FROM sync_ranges WHERE connection_id = $1",
            args![id],
        )
        .await
        .unwrap();
    assert_eq!(left, 0, "a completed pass leaves no ranges");
}

#[tokio::test]
async fn a_small_account_completes_while_a_large_one_is_still_syncing() {
    let large = account("rk_live_LargeAccount", true, 3_000);
    let small = account("rk_test_SmallAccount", false, 5);
    let server = StripeLike::start(
        &[large.clone(), small.clone()],
        Duration::from_millis(100),
        1.0,
    )
    .await;
    let app = app_on(&server).await;
    let worker = backend::sync::spawn_worker(app.state.clone(), Duration::from_secs(3600));
    let big = connect(&app, &large, true).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(job_status(&app, big).await, "running");
    let started = Instant::now();
    let little = connect(&app, &small, true).await;
    // Issue 18's target: within 5 s of connecting (typically well under 2 s; its pages share the
    // one SQLite writer with the large account's, each also written as typed rows).
    while job_status(&app, little).await != "done" {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the small account waited behind the large one"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(job_status(&app, big).await, "running");
    assert_same(&app, &server, little, &small.key).await;
    worker.abort();
}

#[tokio::test]
async fn two_instances_split_a_fleet_without_running_one_twice() {
    let fleet: Vec<Account> = (0..12)
        .map(|i| account(&format!("rk_test_Fleet{i:012}"), false, 30))
        .collect();
    let server = StripeLike::start(&fleet, Duration::from_millis(50), 1.0).await;
    let app = app_on(&server).await;
    let mut ids = Vec::new();
    for account in &fleet {
        ids.push(connect(&app, account, true).await);
    }
    let other = backend::startup::Application::build(app.config.clone())
        .await
        .unwrap();
    let options = SyncOptions {
        page_size: 10,
        max_pages: None,
    };
    let (here, there) = tokio::join!(
        run_due_jobs(&app.state, options),
        run_due_jobs(other.state(), options)
    );
    assert_eq!(here.unwrap() + there.unwrap(), 12);
    {
        let seen = server.seen.lock().unwrap();
        for account in &fleet {
            for list in lists() {
                assert_eq!(
                    seen.first_pages[&(account.key.clone(), list.to_owned())],
                    1,
                    "{} {list} was read by one run only",
                    account.key
                );
            }
            assert!(seen.busiest[&account.key] <= 25);
        }
    }
    for (account, id) in fleet.iter().zip(ids) {
        assert_same(&app, &server, id, &account.key).await;
        assert_eq!(job_status(&app, id).await, "done");
    }
}

#[tokio::test]
async fn rate_limits_slow_the_sync_down_and_it_still_completes() {
    // The account allows a fifth of Stripe's limits: 20 requests/s, 5 per endpoint.
    let tight = account("rk_live_TightLimits0", true, 100);
    let server =
        StripeLike::start(std::slice::from_ref(&tight), Duration::from_millis(20), 0.2).await;
    let app = app_on(&server).await;
    let id = connect(&app, &tight, true).await;
    // Retries wait as they do in the product (full jitter up to 250 ms, doubling).
    let app_state = {
        let mut state = app.state.clone();
        state.stripe = state
            .stripe
            .clone()
            .with_retry(backend::stripe::RetryPolicy {
                base: Duration::from_millis(250),
                cap: Duration::from_secs(4),
                max_retries: 6,
            });
        state
    };
    let options = SyncOptions {
        page_size: 10,
        max_pages: None,
    };
    assert_eq!(run_due_jobs(&app_state, options).await.unwrap(), 1);
    assert_eq!(job_status(&app, id).await, "done");
    assert_same(&app, &server, id, &tight.key).await;
    let seen = server.seen.lock().unwrap();
    let refused = seen.refused.get(&tight.key).copied().unwrap_or(0);
    let served = seen.requests[&tight.key];
    assert!(refused > 0, "the limits were met");
    assert!(refused < served, "{refused} refused of {served}");
}

#[tokio::test]
async fn an_events_pass_never_waits_for_a_free_slot_behind_backfills() {
    let large = account("rk_live_FillsTheSlot", true, 2_000);
    let synced = account("rk_test_HasACursor00", false, 5);
    let server = StripeLike::start(
        &[large.clone(), synced.clone()],
        Duration::from_millis(100),
        1.0,
    )
    .await;
    let app = app_on_with(&server, &[("SYNC_MAX_JOBS", "1".to_owned())]).await;
    // A first full pass gives this connection its events cursor.
    let id = connect(&app, &synced, true).await;
    assert_eq!(
        run_due_jobs(&app.state, SyncOptions::default())
            .await
            .unwrap(),
        1
    );
    let worker = backend::sync::spawn_worker(app.state.clone(), Duration::from_secs(3600));
    let big = connect(&app, &large, true).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        job_status(&app, big).await,
        "running",
        "the one slot is taken"
    );
    let started = Instant::now();
    backend::sync::jobs::enqueue(&app.state, ConnectionId(id)).await;
    while job_status(&app, id).await != "done" {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the events pass waited for the backfill's slot"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(job_status(&app, big).await, "running");
    worker.abort();
}
