//! The sync engine against the emulator: a backfill fills the seven tables with exactly what
//! Stripe lists, a re-run changes nothing, a crash resumes from the checkpoints, jobs are never
//! duplicated, and the data routes page, refuse non-admins and go with the connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use backend::args;
use backend::emulator::{Endpoint, Fault};
use backend::ids::ConnectionId;
use backend::stripe::lists::StripeList;
use backend::sync::SyncOptions;
use serde_json::Value;
use support::sync::*;
use support::*;

#[tokio::test]
async fn connecting_fills_the_seven_tables_with_exactly_what_stripe_lists_and_a_rerun_changes_nothing(
) {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    let (status, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "queued");

    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let (_, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(body["status"], "idle", "{body}");
    let tables = body["tables"].as_array().unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        StripeList::ALL.map(StripeList::name),
        "the help page's order"
    );
    for (t, list) in tables.iter().zip(StripeList::ALL) {
        let expected = stripe_objects(&app, id, list).await.len();
        assert_eq!(t["rows"], expected as i64, "{t}");
        assert!(t["synced_at"].is_i64(), "{t}");
        // Every change made before the pass began is in the table.
        let fresh = t["fresh_as_of"].as_i64().unwrap();
        assert!(fresh <= t["synced_at"].as_i64().unwrap(), "{t}");
        assert_eq!(t["progress"], Value::Null, "{t}");
        assert_eq!(t["error"], Value::Null, "{t}");
        assert_eq!(t.as_object().unwrap().len(), 6, "{t}");
    }
    let oldest = tables
        .iter()
        .filter_map(|t| t["fresh_as_of"].as_i64())
        .min();
    assert_eq!(body["fresh_as_of"].as_i64(), oldest, "the oldest table's");
    assert_tables_match_stripe(&app, id).await;

    let before = snapshot(&app, id).await;
    let (status, _) = app
        .json("POST", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.state.clock.advance(5);
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    assert_eq!(snapshot(&app, id).await, before, "a re-run changes nothing");
    let (_, again) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    for (a, b) in again["tables"]
        .as_array()
        .unwrap()
        .iter()
        .zip(body["tables"].as_array().unwrap())
    {
        assert_eq!(a["rows"], b["rows"]);
    }
}

#[tokio::test]
async fn a_backfill_stopped_mid_way_resumes_from_its_checkpoint_without_duplicates_or_gaps() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    // Two pages of two customers, then the process "dies" holding its lease.
    let small = SyncOptions {
        page_size: 2,
        max_pages: Some(2),
    };
    assert_eq!(run(&app, small).await, 1);
    // The lists are read side by side: two pages of two objects, from whichever lists came first.
    let mut stored = 0;
    for list in StripeList::ALL {
        stored += count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM stripe_{} WHERE connection_id = $1",
                list.name()
            ),
            id,
        )
        .await;
    }
    // (A list may have fewer than two objects, or none.)
    assert!(stored <= 4, "{stored}");
    let checkpoints: Vec<(String, String)> = app
        .state
        .pool
        .fetch_all(
            "SELECT table_name, checkpoint FROM sync_ranges \
             WHERE connection_id = $1 AND checkpoint IS NOT NULL",
            args![id],
        )
        .await
        .unwrap();
    for (table, checkpoint) in &checkpoints {
        let list = StripeList::ALL
            .into_iter()
            .find(|l| l.name() == table)
            .unwrap();
        let objects = stripe_objects(&app, id, list).await;
        assert!(objects.contains_key(checkpoint.as_str()));
    }
    let customers = stripe_objects(&app, id, StripeList::Customers).await;
    let (_, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(body["status"], "running");
    // A first pass: Stripe has not said how many objects there are, so progress is what was read.
    // (A list of one page may be complete already: its rows count, it has no progress.)
    let tables = body["tables"].as_array().unwrap();
    let (in_pass, complete): (Vec<&Value>, Vec<&Value>) =
        tables.iter().partition(|t| !t["progress"].is_null());
    let sum = |tables: &[&Value], field: &dyn Fn(&Value) -> i64| -> i64 {
        tables.iter().map(|t| field(t)).sum()
    };
    let done = sum(&in_pass, &|t| t["progress"]["done"].as_i64().unwrap());
    let pages = sum(&in_pass, &|t| t["progress"]["pages"].as_i64().unwrap());
    let rows = sum(&complete, &|t| t["rows"].as_i64().unwrap());
    assert_eq!(done + rows, stored, "{body}");
    // A complete table read its rows in pages of two (a short or empty one ended it).
    let complete_pages = sum(&complete, &|t| t["rows"].as_i64().unwrap() / 2 + 1);
    assert_eq!(pages + complete_pages, 2, "{body}");
    assert!(
        in_pass.iter().all(|t| t["progress"]["expected"] == false),
        "{body}"
    );
    assert_eq!(body["tables"][0]["synced_at"], Value::Null, "{body}");

    // The lease still holds: nobody else takes the job.
    assert_eq!(run(&app, SyncOptions::default()).await, 0);
    // Once it lapses another worker resumes from the checkpoint.
    app.state
        .clock
        .advance(backend::sync::engine::LEASE_SECS + 1);
    let resume = SyncOptions {
        page_size: 2,
        max_pages: None,
    };
    assert_eq!(run(&app, resume).await, 1);
    let (_, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(body["status"], "idle", "{body}");
    assert_eq!(body["tables"][0]["rows"], customers.len() as i64, "{body}");
    assert_tables_match_stripe(&app, id).await;
    let jobs = count(
        &app,
        "SELECT COUNT(*) FROM sync_jobs WHERE connection_id = $1",
        id,
    )
    .await;
    assert_eq!(jobs, 1);
}

#[tokio::test]
async fn force_an_update_answers_202_and_never_queues_a_second_job() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    let active = "SELECT COUNT(*) FROM sync_jobs WHERE connection_id = $1 \
                  AND status IN ('queued', 'running')";
    let all = "SELECT COUNT(*) FROM sync_jobs WHERE connection_id = $1";
    let uri = format!("/api/connections/{id}/sync");
    assert_eq!(app.json("POST", &uri).await.0, StatusCode::ACCEPTED);
    assert_eq!(count(&app, all, id).await, 1, "queued once on connecting");
    // Running (a worker holds it): still one.
    let one_page = SyncOptions {
        page_size: 2,
        max_pages: Some(1),
    };
    assert_eq!(run(&app, one_page).await, 1);
    assert_eq!(app.json("POST", &uri).await.0, StatusCode::ACCEPTED);
    assert_eq!(count(&app, all, id).await, 1);
    assert_eq!(app.json("GET", &uri).await.1["status"], "running");
    app.state
        .clock
        .advance(backend::sync::engine::LEASE_SECS + 1);
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    assert_eq!(count(&app, active, id).await, 0);
    // Done: Force an update queues a new one.
    assert_eq!(app.json("POST", &uri).await.0, StatusCode::ACCEPTED);
    assert_eq!(app.json("POST", &uri).await.0, StatusCode::ACCEPTED);
    assert_eq!(count(&app, all, id).await, 2);
    assert_eq!(app.json("GET", &uri).await.1["status"], "queued");
    assert_eq!(
        app.json("POST", "/api/connections/999/sync").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_failing_stripe_is_retried_with_backoff_and_the_table_says_why() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    app.emulator
        .inject(Endpoint::Lists, Some(Fault::ServerError));
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let (attempts, run_after, status) = job_row(&app, id).await;
    assert_eq!((attempts, status.as_str()), (1, "queued"));
    assert!(run_after >= app.state.clock.now() + 25);
    let (_, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(body["status"], "queued");
    let failed = failed_table(&body, "stripe_unavailable");
    assert!(failed["error"]["message"].is_string());
    // Not before its time.
    assert_eq!(run(&app, SyncOptions::default()).await, 0);
    app.emulator.inject(Endpoint::Lists, None);
    app.state.clock.advance(31);
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let (_, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(body["status"], "idle");
    assert_eq!(body["tables"][0]["error"], Value::Null);
    assert_tables_match_stripe(&app, id).await;
}

#[tokio::test]
async fn a_rate_limit_mid_sync_is_retried_within_the_call_and_the_sync_completes() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    // A few pages in, Stripe answers 429 twice, then serves again.
    let options = SyncOptions {
        page_size: 10,
        max_pages: Some(3),
    };
    assert_eq!(run(&app, options).await, 1);
    app.emulator.inject_times(
        Endpoint::Lists,
        Fault::RateLimited { should_retry: None },
        2,
    );
    // The stopped run's lease runs out; the next run resumes the job.
    app.state.clock.advance(121);
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let status: String = app
        .state
        .pool
        .scalar_one(
            "SELECT status FROM sync_jobs WHERE connection_id = $1",
            args![id],
        )
        .await
        .unwrap();
    assert_eq!(
        status, "done",
        "no failed run: the 429s were retried within the call"
    );
    let (_, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(body["status"], "idle", "{body}");
    assert!(body["tables"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["error"].is_null()));
    assert_tables_match_stripe(&app, id).await;

    // Stripe-Should-Retry: true is retried too (within the bound).
    app.emulator.inject_times(
        Endpoint::Lists,
        Fault::RateLimited {
            should_retry: Some(true),
        },
        3,
    );
    let uri = format!("/api/connections/{id}/sync");
    assert_eq!(app.json("POST", &uri).await.0, StatusCode::ACCEPTED);
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let (_, body) = app.json("GET", &uri).await;
    assert_eq!(
        body["status"], "idle",
        "retried in the call, not rescheduled: {body}"
    );
    let queued = count(
        &app,
        "SELECT COUNT(*) FROM sync_jobs WHERE connection_id = $1 AND status = 'queued'",
        id,
    )
    .await;
    assert_eq!(queued, 0);
    assert_tables_match_stripe(&app, id).await;
}

#[tokio::test]
async fn stripe_should_retry_false_is_not_retried_in_the_call_and_the_job_is_rescheduled() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    // One refusal only: a retry within the call would have succeeded.
    app.emulator.inject_times(
        Endpoint::Lists,
        Fault::RateLimited {
            should_retry: Some(false),
        },
        1,
    );
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let (attempts, run_after, status) = job_row(&app, id).await;
    assert_eq!((attempts, status.as_str()), (1, "queued"));
    assert!(run_after >= app.state.clock.now() + 25);
    let (_, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    let failed = failed_table(&body, "rate_limited");
    assert!(failed["error"]["message"]
        .as_str()
        .unwrap()
        .contains("slow down"));
    app.state.clock.advance(31);
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    assert_tables_match_stripe(&app, id).await;
}

#[tokio::test]
async fn the_rate_limit_spaces_a_connections_list_reads() {
    let app = spawn_app_env(shared::AuthKind::Apps, &[("SYNC_RATE_LIMIT", "10".into())]).await;
    app.connect_app().await;
    let started = std::time::Instant::now();
    // Six reads at 10/s: the first at once, five more 100 ms apart.
    let options = SyncOptions {
        page_size: 10,
        max_pages: Some(6),
    };
    assert_eq!(run(&app, options).await, 1);
    let took = started.elapsed();
    assert!(took >= std::time::Duration::from_millis(480), "{took:?}");
}

#[tokio::test]
async fn the_tables_route_pages_and_refuses_bad_requests() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    run(&app, SyncOptions::default()).await;
    let all = table_objects(&app, id, "customers", 1000).await;
    assert!(all.len() >= 3);
    let (status, first) = app
        .json(
            "GET",
            &format!("/api/connections/{id}/tables/customers?limit=2"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["rows"].as_array().unwrap().len(), 2);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["rows"][0], all[0]);
    let after = all[1]["id"].as_str().unwrap();
    let (_, next) = app
        .json(
            "GET",
            &format!("/api/connections/{id}/tables/customers?limit=2&after={after}"),
        )
        .await;
    assert_eq!(next["rows"][0], all[2]);
    let last = all.last().unwrap()["id"].as_str().unwrap();
    let (_, end) = app
        .json(
            "GET",
            &format!("/api/connections/{id}/tables/customers?after={last}"),
        )
        .await;
    assert_eq!(end["rows"], serde_json::json!([]));
    assert_eq!(end["has_more"], false);
    let (_, default) = app
        .json("GET", &format!("/api/connections/{id}/tables/customers"))
        .await;
    assert_eq!(default["rows"].as_array().unwrap().len(), all.len());

    let (status, body) = app
        .json("GET", &format!("/api/connections/{id}/tables/payouts"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["error"].is_string(), "{body}");
    for bad in ["0", "1001", "-1", "many"] {
        let (status, body) = app
            .json(
                "GET",
                &format!("/api/connections/{id}/tables/customers?limit={bad}"),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    let (status, _) = app
        .json("GET", "/api/connections/999/tables/customers")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.json("GET", "/api/connections/999/sync").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_admins_see_or_start_syncs() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    for email in [STANDARD_EMAIL, READ_ONLY_EMAIL] {
        let cookie = app.sign_in(email, USER_PASSWORD).await;
        for (method, uri) in [
            ("GET", format!("/api/connections/{id}/sync")),
            ("POST", format!("/api/connections/{id}/sync")),
            ("GET", format!("/api/connections/{id}/tables/customers")),
        ] {
            let response = app.send(method, &uri, Some(&cookie), None).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{email} {method} {uri}"
            );
        }
    }
    let response = app
        .send("GET", &format!("/api/connections/{id}/sync"), None, None)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn deleting_a_connection_deletes_its_synced_data_and_jobs() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    run(&app, SyncOptions::default()).await;
    assert!(!snapshot(&app, id).await.is_empty());
    app.json("POST", &format!("/api/connections/{id}/sync"))
        .await;
    let (status, body) = app
        .json("DELETE", &format!("/api/connections/{id}?force=true"))
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert!(snapshot(&app, id).await.is_empty());
    for table in ["sync_jobs", "sync_tables"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE connection_id = $1");
        assert_eq!(count(&app, &sql, id).await, 0, "{table}");
    }
}

#[tokio::test]
async fn a_revoked_credential_fails_the_job_without_retry() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    app.emulator.revoke("acct_1AcmeTest").await.unwrap();
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let (_, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(body["status"], "error", "{body}");
    let code = body["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|t| t["error"]["code"].as_str())
        .unwrap();
    assert!(["unauthorized", "needs_reauth"].contains(&code), "{body}");
    // The background test runs at its next tick and shows re-authentication — unless a list's
    // renewal, refused by Stripe, already did (the lists are read side by side).
    let status: String = app
        .state
        .pool
        .scalar_one("SELECT status FROM connections WHERE id = $1", args![id])
        .await
        .unwrap();
    if status != "needs_reauth" {
        let due = backend::store::claim_due(&app.state.pool, app.state.clock.now(), 0)
            .await
            .unwrap();
        assert_eq!(due, [ConnectionId(id)]);
    }
    app.state.clock.advance(4000);
    assert_eq!(run(&app, SyncOptions::default()).await, 0, "no retry");
}

/// The default schedule: webhooks configured, SYNC_INTERVAL 1h, EVENTS_POLL_INTERVAL 1m,
/// RECONCILE_INTERVAL 1d.
const SCHEDULE: backend::store::SyncSchedule = backend::store::SyncSchedule {
    sync_secs: 3600,
    poll_secs: 60,
    reconcile_secs: 86_400,
    webhooks: true,
};

/// Queues what is due now; how many.
async fn due(app: &TestApp, schedule: backend::store::SyncSchedule) -> u64 {
    let now = app.state.clock.now();
    backend::store::enqueue_due_syncs(&app.state.pool, now, schedule)
        .await
        .unwrap()
}

/// Runs the connection's queued job, if any, to its end.
async fn run_one(app: &TestApp) -> usize {
    run(app, SyncOptions::default()).await
}

#[tokio::test]
async fn webhook_fed_syncs_come_every_sync_interval_others_every_poll_interval() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    run(&app, SyncOptions::default()).await;
    let key = store_key_connection(
        &app,
        "acct_1GlobexTest",
        "Globex",
        "rk_test_globex0000",
        false,
    )
    .await;
    backend::store::enqueue_sync(&app.state.pool, key, app.state.clock.now(), false)
        .await
        .unwrap();
    run(&app, SyncOptions::default()).await;
    assert_eq!(due(&app, SCHEDULE).await, 0);
    // A minute on: the restricted key is polled, the app's connection waits for the hour.
    app.state.clock.advance(61);
    assert_eq!(due(&app, SCHEDULE).await, 1);
    assert_eq!(due(&app, SCHEDULE).await, 0, "one queued job at a time");
    let job = backend::store::latest_sync_job(&app.state.pool, key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, "queued");
    assert_eq!(run_one(&app).await, 1);
    // Without webhooks configured, every connection is polled.
    app.state.clock.advance(61);
    let no_webhooks = backend::store::SyncSchedule {
        webhooks: false,
        ..SCHEDULE
    };
    assert_eq!(due(&app, no_webhooks).await, 2);
    assert_eq!(run_one(&app).await, 2);
    // An hour on, the safety net: both.
    app.state.clock.advance(3600);
    assert_eq!(due(&app, SCHEDULE).await, 2);
    // (The admin's session has idled out by now: read the jobs directly.)
    let job = backend::store::latest_sync_job(&app.state.pool, ConnectionId(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, "queued");
    let full: bool = app
        .state
        .pool
        .scalar_one(
            "SELECT full_pass FROM sync_jobs WHERE id = $1",
            args![job.id],
        )
        .await
        .unwrap();
    assert!(!full, "an events pass: the last full pass is an hour old");
}

#[tokio::test]
async fn a_full_pass_comes_every_reconcile_interval_and_old_finished_jobs_go() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    run(&app, SyncOptions::default()).await;
    let quick = backend::store::SyncSchedule {
        webhooks: false,
        ..SCHEDULE
    };
    let queued_full = || async {
        let full: Vec<bool> = app
            .state
            .pool
            .scalar_all(
                "SELECT full_pass FROM sync_jobs WHERE connection_id = $1 AND status = 'queued'",
                args![id],
            )
            .await
            .unwrap();
        full
    };
    // A day of events passes, an hour apart (the admin's session idles out: jobs are read
    // directly).
    for _ in 0..23 {
        app.state.clock.advance(3600);
        assert_eq!(due(&app, quick).await, 1);
        assert_eq!(queued_full().await, [false]);
        assert_eq!(run_one(&app).await, 1);
    }
    let jobs = || async {
        count(
            &app,
            "SELECT COUNT(*) FROM sync_jobs WHERE connection_id = $1",
            id,
        )
        .await
    };
    assert_eq!(jobs().await, 24);
    // One second past the day, so the first job is older than a day whichever wall-clock second
    // the test started in (the clock is real time plus what the test advanced).
    app.state.clock.advance(3601);
    assert_eq!(due(&app, quick).await, 1);
    assert_eq!(
        queued_full().await,
        [true],
        "a day after the last full pass, a full pass"
    );
    assert_eq!(jobs().await, 24, "the job finished a day ago is gone");
    assert_eq!(run_one(&app).await, 1);
    app.state.clock.advance(3600);
    assert_eq!(due(&app, quick).await, 1);
    assert_eq!(queued_full().await, [false], "the reconciliation just ran");
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_writes_nothing() {
    use backend::store::{claim_sync_job, commit_pages, finish_sync_job, JobEnd, Lease, RangePage};
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    let pool = &app.state.pool;
    let now = app.state.clock.now();
    let a = claim_sync_job(pool, "worker-a", now, now + 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.connection_id, ConnectionId(id));
    assert_eq!(
        claim_sync_job(pool, "worker-b", now, now + 10)
            .await
            .unwrap(),
        None
    );
    // A's lease lapses; B takes the job over.
    let later = now + 11;
    let b = claim_sync_job(pool, "worker-b", later, later + 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.id, a.id);
    let stale = Lease {
        job_id: a.id,
        owner: "worker-a",
        now: later,
        until: later + 10,
    };
    let page = backend::store::Prepared::new(
        StripeList::Customers,
        &[serde_json::json!({"id": "cus_stale", "object": "customer", "created": 1})],
        later,
    );
    let stale_page = RangePage {
        lease: stale,
        connection_id: ConnectionId(id),
        list: StripeList::Customers,
        range: backend::store::UNBOUNDED_HI,
        objects: &page,
        done: false,
    };
    assert_eq!(commit_pages(pool, &[stale_page]).await.unwrap(), [false]);
    assert!(
        !finish_sync_job(pool, a.id, "worker-a", JobEnd::Done, later)
            .await
            .unwrap()
    );
    let stored = count(
        &app,
        "SELECT COUNT(*) FROM stripe_customers WHERE connection_id = $1",
        id,
    )
    .await;
    assert_eq!(stored, 0);
    assert!(finish_sync_job(pool, b.id, "worker-b", JobEnd::Done, later)
        .await
        .unwrap());
}

#[tokio::test]
async fn a_checkpoint_deleted_at_stripe_restarts_its_table() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    let one_page = SyncOptions {
        page_size: 2,
        max_pages: Some(1),
    };
    assert_eq!(run(&app, one_page).await, 1);
    // As if the last customer stored had been deleted at Stripe since.
    app.state
        .pool
        .execute(
            "INSERT INTO sync_ranges (connection_id, table_name, hi, lo, checkpoint) \
             VALUES ($1, 'customers', $2, $3, 'cus_DeletedMeanwhile') \
             ON CONFLICT (connection_id, table_name, hi) \
             DO UPDATE SET checkpoint = excluded.checkpoint, done = FALSE",
            args![
                id,
                backend::store::UNBOUNDED_HI,
                backend::store::UNBOUNDED_LO
            ],
        )
        .await
        .unwrap();
    app.state
        .clock
        .advance(backend::sync::engine::LEASE_SECS + 1);
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    let (_, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(body["status"], "idle", "{body}");
    assert_tables_match_stripe(&app, id).await;
}

#[tokio::test]
async fn a_restricted_key_connection_is_synced_too() {
    let app = spawn_apps_app().await;
    let key = app
        .emulator
        .create_restricted_key(
            "acct_1AcmeTest",
            &backend::emulator::RESTRICTED_KEY_PERMISSIONS,
        )
        .unwrap();
    let (status, body) = to_json(
        app.send(
            "POST",
            "/api/connections/stripe/key",
            Some(&app.admin),
            Some(serde_json::json!({ "key": key })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().unwrap();
    let (_, sync) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(sync["status"], "queued");
    assert_eq!(run(&app, SyncOptions::default()).await, 1);
    assert_tables_match_stripe(&app, id).await;
}

#[tokio::test]
async fn an_apps_token_expiring_mid_sync_is_renewed_and_the_sync_goes_on() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    let one_page = SyncOptions {
        page_size: 2,
        max_pages: Some(1),
    };
    assert_eq!(run(&app, one_page).await, 1);
    let refreshes = app.emulator.refresh_requests();
    // Stripe's clock passes the token's lifetime; ours has not noticed.
    app.emulator.advance_clock(3601);
    app.state
        .clock
        .advance(backend::sync::engine::LEASE_SECS + 1);
    let resume = SyncOptions {
        page_size: 2,
        max_pages: None,
    };
    assert_eq!(run(&app, resume).await, 1);
    assert_eq!(app.emulator.refresh_requests(), refreshes + 1);
    let (_, body) = app
        .json("GET", &format!("/api/connections/{id}/sync"))
        .await;
    assert_eq!(body["status"], "idle", "{body}");
    assert_tables_match_stripe(&app, id).await;
}

#[tokio::test]
async fn last_connection_started_and_duration_describe_the_last_sync_run() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    app.state.clock.advance(120);
    let started = app.state.clock.now();
    run(&app, SyncOptions::default()).await;
    let row = &app.connection(id).await["connection"];
    assert_eq!(row["last_started_at"], started, "{row}");
    assert!(row["last_duration_ms"].as_i64().unwrap() >= 0, "{row}");
    // A connection test afterwards keeps its times to itself.
    app.state.clock.advance(60);
    let (status, tested) = app
        .json("POST", &format!("/api/connections/{id}/test"))
        .await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    assert_eq!(
        app.connection(id).await["connection"]["last_started_at"],
        started
    );
    let (_, rows) = app.json("GET", "/api/connections").await;
    assert_eq!(rows[0]["last_started_at"], started);
}

/// The table of a sync status that failed with `code` (the lists are read side by side: whichever
/// met the failure first says so).
fn failed_table<'a>(body: &'a Value, code: &str) -> &'a Value {
    body["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["error"]["code"] == code)
        .unwrap_or_else(|| panic!("no table failed with {code}: {body}"))
}

#[tokio::test]
async fn a_lease_is_extended_once_half_spent_and_a_worker_that_lost_it_writes_nothing() {
    use backend::store::{self, Lease};
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    let pool = &app.state.pool;
    let now = app.state.clock.now();
    let job = store::claim_sync_job(pool, "worker-a", now, now + 120)
        .await
        .unwrap()
        .expect("the connection's first sync is due");
    let lease = |at: i64, owner: &'static str| Lease {
        job_id: job.id,
        owner,
        now: at,
        until: at + 120,
    };
    let lease_until = || async {
        pool.scalar_one::<i64>(
            "SELECT lease_until FROM sync_jobs WHERE id = $1",
            args![job.id],
        )
        .await
        .unwrap()
    };
    let begin = |lease: Lease<'static>| async move {
        store::begin_ranges(pool, lease, ConnectionId(id), StripeList::Customers)
            .await
            .unwrap()
    };
    // Less than half spent: checked, not extended (an extension locks the job's row alone).
    assert!(begin(lease(now + 30, "worker-a")).await.is_some());
    assert_eq!(lease_until().await, now + 120);
    // Half spent: extended.
    assert!(begin(lease(now + 61, "worker-a")).await.is_some());
    assert_eq!(lease_until().await, now + 181);
    // Another worker's lease (it never claimed the job): refused, nothing changed.
    assert!(begin(lease(now + 62, "worker-b")).await.is_none());
    assert!(begin(lease(now + 170, "worker-b")).await.is_none());
    assert_eq!(lease_until().await, now + 181);
}
