//! The API-level steps the tests without a browser share: plain HTTP/1.1 requests, signing in,
//! a restricted key made on the emulator, and the check that every synced table holds exactly
//! what the emulator lists.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{Process, ADMIN_EMAIL, ADMIN_PASSWORD};

/// The demo account the restricted keys are made for (Acme Corp).
pub const ACCOUNT: &str = "acct_1DemoAcmeCorp0001";
/// The seven lists, as the sync status names its tables.
pub const LISTS: [&str; 7] = [
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

/// An HTTP answer.
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.body))
    }

    /// The value of the first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One HTTP/1.1 request on its own connection (`Connection: close`).
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
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

/// The header that lets a state-changing request through the backend's same-origin check: the
/// browser's `Origin` when `origin` is given, else `Sec-Fetch-Site: same-origin`.
pub fn same_origin(origin: Option<&str>) -> (&str, &str) {
    match origin {
        Some(origin) => ("Origin", origin),
        None => ("Sec-Fetch-Site", "same-origin"),
    }
}

/// The Admin, signed in over the API: the session cookie (`name=value`).
pub fn sign_in_api(addr: &str, origin: Option<&str>) -> String {
    let body = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }).to_string();
    let reply = http(
        addr,
        "POST",
        "/api/auth/sign-in",
        &[("Content-Type", "application/json"), same_origin(origin)],
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
pub fn get_json(addr: &str, cookie: &str, path: &str) -> Value {
    let reply = http(addr, "GET", path, &[("Cookie", cookie)], "");
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.body);
    reply.json()
}

/// Connects the Acme account with `key` (`POST /api/connections/stripe/key`); the connection id.
pub fn connect_with_key(addr: &str, cookie: &str, origin: Option<&str>, key: &str) -> i64 {
    let reply = http(
        addr,
        "POST",
        "/api/connections/stripe/key",
        &[
            ("Content-Type", "application/json"),
            same_origin(origin),
            ("Cookie", cookie),
        ],
        &json!({ "key": key }).to_string(),
    );
    assert_eq!(reply.status, 201, "connect with key: {}", reply.body);
    reply.json()["id"].as_i64().unwrap()
}

/// A restricted key for the Acme account with every permission, made on the emulator's form.
pub fn restricted_key(stripe: &str) -> String {
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
pub fn stripe_ids(stripe: &str, key: &str, list: &str) -> Vec<String> {
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
pub fn stored_rows(addr: &str, cookie: &str, connection: i64, table: &str) -> Vec<Value> {
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

/// The table `name` in a sync status.
pub fn table<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no table {name} in {status:#}"))
}

/// Polls the connection's sync status until `done` says so; panics with the last status after
/// `limit`.
pub fn wait_for_sync(
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

/// Whether the sync status says every table is synced, with no run in progress and no error.
pub fn all_synced(status: &Value) -> bool {
    status["status"] == "idle"
        && LISTS.iter().all(|name| {
            let t = table(status, name);
            t["synced_at"].is_i64() && t["progress"].is_null() && t["error"].is_null()
        })
}

/// Every table of `connection` (read through the backend at `addr`) holds each object the
/// emulator lists for `key`'s account exactly once, none marked deleted and none extra, and the
/// sync status `status` counts them right.
pub fn assert_synced_like_stripe(
    stripe: &str,
    key: &str,
    addr: &str,
    cookie: &str,
    connection: i64,
    status: &Value,
) {
    for name in LISTS {
        let expected = stripe_ids(stripe, key, name);
        let expected_set: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(
            expected_set.len(),
            expected.len(),
            "the emulator repeats {name} ids"
        );
        assert!(!expected.is_empty(), "the emulator lists no {name}");

        let rows = stored_rows(addr, cookie, connection, name);
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
            table(status, name)["rows"].as_i64(),
            i64::try_from(ids.len()).ok(),
            "{name}: the status' row count"
        );
    }
}
