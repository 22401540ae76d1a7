//! Two backend processes behind one (imaginary) load balancer, sharing one PostgreSQL database
//! (SPEC.md §5.4): a session, an OAuth flow and a sync job are the database's, not an instance's.
//!
//! Both instances get the same configuration — `DATABASE_URL`, `ENCRYPTION_KEY`, `PUBLIC_URL` (the
//! load balancer's origin, which neither listens on) and Stripe — and each its own `DATA_DIR`.
//! Stripe is ONE emulator process on its own port: the demo mode's built-in emulator would give each
//! instance a different Stripe. Every request is plain HTTP against one instance or the other;
//! state-changing ones carry the browser's `Origin: PUBLIC_URL`.
//!
//! Needs a PostgreSQL server: `TEST_POSTGRES_URL` (a superuser URL, which `scripts/test.sh` and
//! `source scripts/postgres.sh` export); each test makes its own database there.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use sqlx::PgConnection;

use crate::api::*;
use crate::harness::*;
use crate::postgres::TestDb;

const SECRET: &str = "sk_test_E2eInstancesPlatformKey77";
const CLIENT: &str = "ca_E2eInstances0001";
/// The key both instances encrypt tokens at rest with (base64 of 32 bytes).
const ENCRYPTION_KEY: &str = "ZTJlIGluc3RhbmNlcyBzaGFyZWQga2V5IDMyYnl0ZSE=";
/// The load balancer: both instances' `PUBLIC_URL`, the `Origin` of every state-changing request.
const PUBLIC: &str = "http://lb.e2e.test";
/// How long a sync at the normal rate, or a takeover after a kill, may take.
const SYNC_WAIT: Duration = Duration::from_secs(30);
const TAKEOVER_WAIT: Duration = Duration::from_secs(60);

/// One backend process, with the instance id it logged at start.
struct Instance {
    process: Process,
    addr: String,
    id: String,
    _data: tempfile::TempDir,
}

impl Instance {
    /// How many `sync run started` lines this instance logged for `job`.
    fn runs_of(&self, job: i64) -> usize {
        let job = format!("job={job}");
        self.process
            .output()
            .lines()
            .filter(|l| l.contains("sync run started") && l.split_whitespace().any(|w| w == job))
            .count()
    }

    /// The last lines of its log, for a failure message.
    fn tail(&self) -> String {
        let log = self.process.output();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// Stripe, the database, and instances A and B (fields drop in order: processes first).
struct Cluster {
    a: Instance,
    b: Instance,
    _stripe_process: Process,
    stripe: String,
    db: TestDb,
}

impl Cluster {
    /// Starts the emulator, makes a database, and starts A then B with the same settings.
    async fn start(label: &str, extra: &[(&str, &str)]) -> Self {
        let (stripe_process, stripe) = separate_stripe(CLIENT, SECRET, PUBLIC);
        let db = TestDb::create(label).await;
        let stripe_url = format!("http://{stripe}");
        let mut envs = vec![
            ("DATABASE_URL", db.url.as_str()),
            ("ENCRYPTION_KEY", ENCRYPTION_KEY),
            ("PUBLIC_URL", PUBLIC),
            ("STRIPE_CLIENT_ID", CLIENT),
            ("STRIPE_SECRET_KEY", SECRET),
            ("STRIPE_OAUTH", "connect"),
            ("STRIPE_CONNECT_URL", stripe_url.as_str()),
            ("STRIPE_API_URL", stripe_url.as_str()),
            ("ADMIN_EMAIL", ADMIN_EMAIL),
            ("ADMIN_PASSWORD", ADMIN_PASSWORD),
        ];
        envs.extend_from_slice(extra);
        let start = || {
            let data = tempfile::tempdir().unwrap();
            let (process, addr) = backend_in(data.path(), &envs);
            let line = printed_line_containing(&process, "instance started");
            let id = field(&line, "instance").expect("instance=<id>").to_owned();
            Instance {
                process,
                addr,
                id,
                _data: data,
            }
        };
        // One after the other: the first runs the migrations on the empty database.
        let a = start();
        let b = start();
        assert_ne!(a.id, b.id, "two instances with one id");
        Self {
            a,
            b,
            _stripe_process: stripe_process,
            stripe,
            db,
        }
    }

    /// Both logs' tails, for a failure message.
    fn logs(&self) -> String {
        format!(
            "--- A ({}):\n{}\n--- B ({}):\n{}",
            self.a.id,
            self.a.tail(),
            self.b.id,
            self.b.tail()
        )
    }
}

/// The value of `name=value` in a log line.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
}

/// Waits (bounded) for a log line containing `text`; returns it.
fn printed_line_containing(process: &Process, text: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(line) = process.output().lines().find(|l| l.contains(text)) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "never logged {text:?}:\n{}",
            process.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A state-changing request from the browser: the load balancer's `Origin` and the session.
fn post(addr: &str, cookie: &str, path: &str) -> Reply {
    http(
        addr,
        "POST",
        path,
        &[("Origin", PUBLIC), ("Cookie", cookie)],
        "",
    )
}

/// The connection's sync jobs: (id, status, lease_owner, full_pass).
type Job = (i64, String, Option<String>, bool);

async fn jobs(db: &mut PgConnection, connection: i64) -> Vec<Job> {
    sqlx::query_as(
        "SELECT id, status, lease_owner, full_pass FROM sync_jobs \
         WHERE connection_id = $1 ORDER BY id",
    )
    .bind(connection)
    .fetch_all(db)
    .await
    .unwrap()
}

/// Polls the connection's jobs until `done` holds for them; panics with both logs after `limit`.
async fn wait_for_jobs(
    cluster: &Cluster,
    db: &mut PgConnection,
    connection: i64,
    limit: Duration,
    what: &str,
    done: impl Fn(&[Job]) -> bool,
) -> Vec<Job> {
    let deadline = Instant::now() + limit;
    loop {
        let jobs = jobs(db, connection).await;
        if done(&jobs) {
            return jobs;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; jobs {jobs:?}\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_session_made_on_one_instance_is_valid_on_the_other_and_ends_on_both() {
    let c = Cluster::start("session", &[]).await;
    let cookie = sign_in_api(&c.a.addr, Some(PUBLIC));

    let on_a = get_json(&c.a.addr, &cookie, "/api/auth/me");
    let on_b = get_json(&c.b.addr, &cookie, "/api/auth/me");
    assert_eq!(on_a["email"], ADMIN_EMAIL, "{on_a}");
    assert_eq!(on_b["email"], on_a["email"], "B: {on_b}");
    assert_eq!(on_b["id"], on_a["id"], "B: {on_b}");

    let out = post(&c.b.addr, &cookie, "/api/auth/sign-out");
    assert_eq!(out.status, 204, "sign-out on B: {}", out.body);
    for (name, addr) in [("A", &c.a.addr), ("B", &c.b.addr)] {
        let me = http(addr, "GET", "/api/auth/me", &[("Cookie", &cookie)], "");
        assert_eq!(
            me.status, 401,
            "signed out on B, {name} still answers {}",
            me.body
        );
    }
}

#[tokio::test]
async fn an_oauth_flow_started_on_one_instance_finishes_on_the_other() {
    let c = Cluster::start("oauth", &[]).await;
    let cookie = sign_in_api(&c.a.addr, Some(PUBLIC));

    // Connect with Stripe, on A: the emulator's authorize page, with a state bound to the session.
    let started = post(&c.a.addr, &cookie, "/api/connections/stripe/authorize");
    assert_eq!(started.status, 200, "authorize on A: {}", started.body);
    let authorize_url = started.json()["authorize_url"].as_str().unwrap().to_owned();
    let query = authorize_url
        .strip_prefix(&format!("http://{}/oauth/authorize?", c.stripe))
        .unwrap_or_else(|| panic!("not the emulator's authorize page: {authorize_url}"));

    // The person signs in to "Stripe", which redirects the browser to PUBLIC_URL's callback.
    let approved = http(
        &c.stripe,
        "POST",
        &format!("/oauth/sign-in?{query}"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "email=demo%40example.com&password=demo-password",
    );
    assert_eq!(approved.status, 303, "emulator sign-in: {}", approved.body);
    let location = approved.header("location").unwrap();
    let callback = location
        .strip_prefix(PUBLIC)
        .filter(|p| p.starts_with("/oauth/stripe/callback?"))
        .unwrap_or_else(|| panic!("not our callback: {location}"));
    assert!(callback.contains("code=") && callback.contains("state="));

    // The load balancer sends the redirect to B.
    let finished = http(&c.b.addr, "GET", callback, &[("Cookie", &cookie)], "");
    assert_eq!(finished.status, 303, "callback on B: {}", finished.body);
    let landing = finished.header("location").unwrap_or_default().to_owned();
    let id: i64 = landing
        .strip_prefix("/admin/connections?connected=")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("B did not connect: {landing}\n{}", c.logs()));
    assert!(c.b.process.output().contains("stripe account connected"));
    assert!(!c.a.process.output().contains("stripe account connected"));

    // The state was used up in the shared database: replayed on A, it connects nothing.
    let replayed = http(&c.a.addr, "GET", callback, &[("Cookie", &cookie)], "");
    let replay_landing = replayed.header("location").unwrap_or_default();
    assert!(
        !replay_landing.contains("connected="),
        "a replayed callback on A connected again: {replay_landing}"
    );

    // Stored once, listed by both.
    let mut db = c.db.connect().await;
    let stored: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, stripe_user_id FROM connections ORDER BY id")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(stored, vec![(id, ACCOUNT.to_owned())]);
    for (name, addr) in [("A", &c.a.addr), ("B", &c.b.addr)] {
        let list = get_json(addr, &cookie, "/api/connections");
        let ids: Vec<(i64, &str)> = list
            .as_array()
            .unwrap_or_else(|| panic!("{name}: not a list: {list}"))
            .iter()
            .map(|c| (c["id"].as_i64().unwrap(), c["account_id"].as_str().unwrap()))
            .collect();
        assert_eq!(ids, vec![(id, ACCOUNT)], "{name} lists {list:#}");
    }
}

#[tokio::test]
async fn a_sync_forced_on_both_instances_at_once_runs_once() {
    let c = Cluster::start("force", &[]).await;
    let cookie = sign_in_api(&c.a.addr, Some(PUBLIC));
    let key = restricted_key(&c.stripe);
    let connection = connect_with_key(&c.a.addr, &cookie, Some(PUBLIC), &key);
    let mut db = c.db.connect().await;

    // Connecting queued the first sync: let it end, so the forced one is a run of its own.
    let first = wait_for_jobs(&c, &mut db, connection, SYNC_WAIT, "first sync", |j| {
        !j.is_empty() && j.iter().all(|(_, s, _, _)| s == "done")
    })
    .await;
    let last_before = first.last().unwrap().0;

    // Force an update on A and B at the same moment.
    let barrier = Barrier::new(2);
    let path = format!("/api/connections/{connection}/sync");
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let threads: Vec<_> = [&c.a.addr, &c.b.addr]
            .map(|addr| {
                let (barrier, path, cookie) = (&barrier, &path, &cookie);
                s.spawn(move || {
                    barrier.wait();
                    post(addr, cookie, path).status
                })
            })
            .into_iter()
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(statuses, [202, 202], "A and B answer Force an update");

    let jobs = wait_for_jobs(&c, &mut db, connection, SYNC_WAIT, "forced sync", |j| {
        let new: Vec<_> = j.iter().filter(|job| job.0 > last_before).collect();
        !new.is_empty() && new.iter().all(|(_, s, _, _)| s == "done")
    })
    .await;
    let forced: Vec<&Job> = jobs.iter().filter(|job| job.0 > last_before).collect();
    assert_eq!(forced.len(), 1, "one job for two forces: {jobs:?}");
    let (job, _, _, full_pass) = forced[0];
    assert!(full_pass, "Force an update is a full pass");
    let runs = (c.a.runs_of(*job), c.b.runs_of(*job));
    assert_eq!(
        runs.0 + runs.1,
        1,
        "job {job} started on A {} and B {} times\n{}",
        runs.0,
        runs.1,
        c.logs()
    );
    let status = get_json(&c.b.addr, &cookie, &path);
    assert!(all_synced(&status), "{status:#}");
}

#[tokio::test]
async fn killing_the_instance_running_a_sync_lets_the_other_finish_it() {
    let started = Instant::now();
    // A short lease, and a slow sync (2 requests/s toward Stripe) so the kill lands mid-pass.
    let mut c = Cluster::start(
        "takeover",
        &[("SYNC_LEASE", "5s"), ("SYNC_RATE_LIMIT", "2")],
    )
    .await;
    let cookie = sign_in_api(&c.a.addr, Some(PUBLIC));
    let key = restricted_key(&c.stripe);
    let connection = connect_with_key(&c.a.addr, &cookie, Some(PUBLIC), &key);
    let forced = post(
        &c.a.addr,
        &cookie,
        &format!("/api/connections/{connection}/sync"),
    );
    assert_eq!(forced.status, 202, "force: {}", forced.body);
    let mut db = c.db.connect().await;

    // The job running, at least one page stored: whose lease is it?
    let jobs = wait_for_jobs(&c, &mut db, connection, SYNC_WAIT, "a leased job", |j| {
        j.len() == 1 && j[0].1 == "running" && j[0].2.is_some()
    })
    .await;
    let (job, _, owner, _) = jobs[0].clone();
    let deadline = Instant::now() + SYNC_WAIT;
    loop {
        let stored: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sync_tables WHERE connection_id = $1 \
             AND (progress_pages > 0 OR done_job_id IS NOT NULL)",
        )
        .bind(connection)
        .fetch_one(&mut db)
        .await
        .unwrap();
        if stored > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no page stored\n{}", c.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let owner = owner.unwrap();
    let a_holds = owner.starts_with(&format!("{}:", c.a.id));
    assert!(
        a_holds || owner.starts_with(&format!("{}:", c.b.id)),
        "lease owner {owner} is neither A ({}) nor B ({})",
        c.a.id,
        c.b.id
    );
    let (holder, survivor) = if a_holds {
        (&mut c.a, &c.b)
    } else {
        (&mut c.b, &c.a)
    };
    assert_eq!(holder.runs_of(job), 1, "{}", holder.tail());

    holder.process.child.kill().unwrap();
    holder.process.child.wait().unwrap();
    let killed_at = started.elapsed();
    let (holder_id, survivor_id) = (holder.id.clone(), survivor.id.clone());

    // The survivor takes the job over once the lease expires, and finishes it.
    let mut owners = vec![owner.clone()];
    let deadline = Instant::now() + TAKEOVER_WAIT;
    let status = loop {
        let (status, lease_owner): (String, Option<String>) =
            sqlx::query_as("SELECT status, lease_owner FROM sync_jobs WHERE id = $1")
                .bind(job)
                .fetch_one(&mut db)
                .await
                .unwrap();
        if let Some(o) = lease_owner.filter(|o| owners.last() != Some(o)) {
            owners.push(o);
        }
        if status != "running" {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "job {job} not finished {TAKEOVER_WAIT:?} after the kill; owners {owners:?}\n{}",
            survivor.tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        status,
        "done",
        "job {job}: owners {owners:?}\n{}",
        survivor.tail()
    );
    assert!(
        owners.len() == 2 && owners[1].starts_with(&format!("{survivor_id}:")),
        "the lease went from the killed {holder_id} to the survivor {survivor_id}: {owners:?}"
    );
    assert_eq!(survivor.runs_of(job), 1, "{}", survivor.tail());
    let all = self::jobs(&mut db, connection).await;
    assert_eq!(all.len(), 1, "one job, resumed: {all:?}");

    // Every table holds exactly what Stripe has, read through the survivor.
    let status = wait_for_sync(
        SYNC_WAIT,
        &survivor.addr,
        &cookie,
        connection,
        "the resumed sync done",
        &survivor.process,
        all_synced,
    );
    assert_synced_like_stripe(
        &c.stripe,
        &key,
        &survivor.addr,
        &cookie,
        connection,
        &status,
    );
    eprintln!(
        "holder {holder_id} killed after {killed_at:?}; survivor {survivor_id} done after {:?}",
        started.elapsed()
    );
}
