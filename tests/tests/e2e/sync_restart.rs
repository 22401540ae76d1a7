//! A backend killed (SIGKILL) in the middle of its first sync and started again on the same data
//! finishes that sync with every Stripe object stored exactly once: no duplicates, no gaps.
//!
//! Stripe is the emulator on its own socket (a separate process, as Stripe is): the demo mode's
//! built-in emulator keeps its state in the backend's memory, so a killed backend would take its
//! "Stripe" — and the restricted key it issued — down with it. The account is connected the quickest
//! way the product offers, over HTTP: a restricted key made on the emulator, pasted into
//! `POST /api/connections/stripe/key` as the signed-in Admin.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;

const SECRET: &str = "sk_test_E2eSyncRestartPlatformKey4";
const CLIENT: &str = "ca_E2eSyncRestart0001";
const ACCOUNT: &str = "acct_1DemoAcmeCorp0001";
/// The seven lists, as the sync status names its tables.
const LISTS: [&str; 7] = [
    "customers",
    "charges",
    "coupons",
    "invoices",
    "plans",
    "subscriptions",
    "events",
];
/// Every permission the emulator's restricted keys know (the seven lists and the account).
const PERMISSIONS: [&str; 8] = [
    "rak_customer_read",
    "rak_charge_read",
    "rak_coupon_read",
    "rak_invoice_read",
    "rak_plan_read",
    "rak_subscription_read",
    "rak_event_read",
    "rak_account_read",
];
/// How long the first run may take to store a page, and the restarted one to finish.
const SYNC_WAIT: Duration = Duration::from_secs(30);
/// The lease a dead worker leaves behind (`backend::sync::engine::LEASE_SECS`).
const LEASE_SECS: u64 = 120;

/// An HTTP answer.
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.body))
    }
}

/// One HTTP/1.1 request on its own connection (`Connection: close`).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{method} {path}: reading the answer: {e}"));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: no end of headers"));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: bad status line in {head}"));
    Reply {
        status,
        head,
        body: String::from_utf8(body).unwrap(),
    }
}

/// A chunked body, decoded.
fn unchunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size_hex = size_text.split(';').next().unwrap().trim();
        let size = usize::from_str_radix(size_hex, 16).unwrap();
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// The Admin, signed in over the API: the session cookie (`name=value`).
fn sign_in_api(addr: &str) -> String {
    let body = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }).to_string();
    let reply = http(
        addr,
        "POST",
        "/api/auth/sign-in",
        &[
            ("Content-Type", "application/json"),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        &body,
    );
    assert_eq!(reply.status, 200, "sign-in: {}", reply.body);
    reply
        .head
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim())
        })
        .find(|v| v.starts_with("connections_session="))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie in:\n{}", reply.head))
        .to_owned()
}

/// `GET path` as the signed-in Admin, as JSON.
fn get_json(addr: &str, cookie: &str, path: &str) -> Value {
    let reply = http(addr, "GET", path, &[("Cookie", cookie)], "");
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.body);
    reply.json()
}

/// A restricted key for the Acme account with every permission, made on the emulator's form.
fn restricted_key(stripe: &str) -> String {
    let mut form = format!("account={ACCOUNT}");
    for p in PERMISSIONS {
        form.push_str(&format!("&permission={p}"));
    }
    let reply = http(
        stripe,
        "POST",
        "/restricted-keys",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    let start = reply
        .body
        .find("<code id=\"restricted-key\">")
        .unwrap_or_else(|| panic!("no key on the emulator's page:\n{}", reply.body))
        + "<code id=\"restricted-key\">".len();
    let len = reply.body[start..].find('<').unwrap();
    let key = reply.body[start..start + len].to_owned();
    assert!(key.starts_with("rk_test_"), "{key}");
    key
}

/// Every id the emulator lists in `list` for the key's account, page by page as the sync reads.
fn stripe_ids(stripe: &str, key: &str, list: &str) -> Vec<String> {
    let auth = format!("Bearer {key}");
    let mut ids = Vec::new();
    loop {
        let mut path = format!("/v1/{list}?limit=100");
        if list == "subscriptions" {
            path.push_str("&status=all");
        }
        if let Some(last) = ids.last() {
            path.push_str(&format!("&starting_after={last}"));
        }
        let reply = http(stripe, "GET", &path, &[("Authorization", &auth)], "");
        assert_eq!(reply.status, 200, "emulator GET {path}: {}", reply.body);
        let page = reply.json();
        let data = page["data"].as_array().unwrap();
        ids.extend(data.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        if !page["has_more"].as_bool().unwrap() || data.is_empty() {
            return ids;
        }
    }
}

/// Every row stored in `table`, page by page through the API.
fn stored_rows(addr: &str, cookie: &str, connection: i64, table: &str) -> Vec<Value> {
    let mut rows: Vec<Value> = Vec::new();
    loop {
        let mut path = format!("/api/connections/{connection}/tables/{table}?limit=1000");
        if let Some(last) = rows.last() {
            path.push_str(&format!("&after={}", last["id"].as_str().unwrap()));
        }
        let page = get_json(addr, cookie, &path);
        rows.extend(page["rows"].as_array().unwrap().iter().cloned());
        if !page["has_more"].as_bool().unwrap() {
            return rows;
        }
    }
}

/// Polls the connection's sync status until `done` says so; panics with the last status after
/// `limit`.
fn wait_for_sync(
    limit: Duration,
    addr: &str,
    cookie: &str,
    connection: i64,
    what: &str,
    backend: &Process,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let status = get_json(addr, cookie, &format!("/api/connections/{connection}/sync"));
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; last status: {status:#}\nbackend log:\n{}",
            backend.output()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

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
        "SELECT COUNT(*) FROM sync_tables WHERE checkpoint IS NOT NULL OR done_job_id IS NOT NULL",
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

fn table<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no table {name} in {status:#}"))
}

#[tokio::test]
async fn a_backend_killed_mid_sync_finishes_it_after_a_restart_with_no_duplicates_and_no_gaps() {
    let started = Instant::now();
    let (_stripe, stripe) = separate_stripe(CLIENT, SECRET, "http://127.0.0.1:9");
    let data = tempfile::tempdir().unwrap();

    // A slow sync (2 requests/s toward Stripe), so the kill lands between its pages.
    let (mut backend, addr) = start_backend(data.path(), &stripe, &[("SYNC_RATE_LIMIT", "2")]);
    let cookie = sign_in_api(&addr);
    let key = restricted_key(&stripe);
    let reply = http(
        &addr,
        "POST",
        "/api/connections/stripe/key",
        &[
            ("Content-Type", "application/json"),
            ("Sec-Fetch-Site", "same-origin"),
            ("Cookie", &cookie),
        ],
        &json!({ "key": key }).to_string(),
    );
    assert_eq!(reply.status, 201, "connect with key: {}", reply.body);
    let connection = reply.json()["id"].as_i64().unwrap();

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
    let cookie = sign_in_api(&addr);
    let after = wait_for_sync(
        SYNC_WAIT + lease_wait(),
        &addr,
        &cookie,
        connection,
        "the resumed sync done",
        &backend,
        |s| {
            s["status"] == "idle"
                && LISTS.iter().all(|name| {
                    let t = table(s, name);
                    t["synced_at"].is_i64() && t["progress"].is_null() && t["error"].is_null()
                })
        },
    );
    let log = backend.output();
    assert!(
        log.contains(&format!("job={job} outcome=Done")),
        "the killed job {job} was not the one resumed and finished:\n{log}"
    );

    for name in LISTS {
        let expected = stripe_ids(&stripe, &key, name);
        let expected_set: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(
            expected_set.len(),
            expected.len(),
            "the emulator repeats {name} ids"
        );
        assert!(!expected.is_empty(), "the emulator lists no {name}");

        let rows = stored_rows(&addr, &cookie, connection, name);
        let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "{name}: duplicate rows stored");
        let deleted: Vec<&str> = rows
            .iter()
            .filter(|r| r["deleted"] == true)
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert!(deleted.is_empty(), "{name}: marked deleted: {deleted:?}");
        let missing: Vec<_> = expected_set.difference(&unique).collect();
        let extra: Vec<_> = unique.difference(&expected_set).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name}: {} missing {missing:?}, {} not at Stripe {extra:?}",
            missing.len(),
            extra.len()
        );
        assert_eq!(
            table(&after, name)["rows"].as_i64(),
            i64::try_from(ids.len()).ok(),
            "{name}: the status' row count"
        );
    }
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
