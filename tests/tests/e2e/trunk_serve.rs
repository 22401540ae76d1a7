//! `trunk serve`, the developers' preview, as the README runs it: the backend in demo mode with
//! `PUBLIC_URL` at trunk's address, and the real `trunk serve` (the version `scripts/setup.sh`
//! installs) building the SPA and proxying `/api/`, `/oauth/` and `/stripe-emulator/` to it with
//! `Trunk.toml`'s own proxies. Through trunk: the whole seed flow to **Connection Successful!**, a
//! form from another site refused with the emulator's own page, and an edited stylesheet reloading
//! the open page by itself.
//!
//! Trunk runs from a copy of `Trunk.toml` in a scratch directory at the workspace's root
//! (`.preview-…`, ignored by git; not under `target/`, whose changes trunk's watcher ignores), with
//! only what a test must change: free ports instead of 8080/8081, its own `dist/` (never the one
//! the other tests serve), and an `index.html` beside it that is `frontend/index.html` plus one
//! stylesheet the test edits (so no tracked file is touched).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::*;

/// The first build compiles the SPA for wasm in the dev profile: minutes on two cores when cold.
const FIRST_BUILD: Duration = Duration::from_secs(900);

/// The scratch directory, removed at the end.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `trunk serve`, in the test's process group (which nextest ends whatever happens to the test).
/// On drop its children go first, so no `cargo build` it started outlives it holding `target/`'s
/// lock; then trunk itself ([`Process`]'s drop).
struct Trunk(Process);

impl Drop for Trunk {
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &self.0.child.id().to_string()])
            .status();
    }
}

/// The repository's `Trunk.toml` for a backend on `backend_port`, run from `dir`.
fn trunk_config(backend_port: u16) -> String {
    let original = std::fs::read_to_string(workspace().join("Trunk.toml")).unwrap();
    let proxies = original.matches("[[proxy]]").count();
    assert_eq!(
        proxies, 3,
        "Trunk.toml proxies /api/, /oauth/, /stripe-emulator/"
    );
    assert_eq!(
        original.matches("no_redirect = true").count(),
        proxies,
        "every proxy hands the backend's redirects to the browser"
    );
    let config = original
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{backend_port}"))
        .replace(
            "target = \"frontend/index.html\"",
            "target = \"index.html\"",
        )
        .replace(
            "watch = [\"frontend\", \"shared\", \"style\"]",
            "watch = [\"../frontend\", \"../shared\", \"../style\", \"reload.css\"]",
        );
    assert!(config.contains("target = \"index.html\""), "{config}");
    assert!(config.contains("\"reload.css\""), "{config}");
    config
}

/// `frontend/index.html` as seen from `dir`, with the test's stylesheet.
fn index_html() -> String {
    let original = std::fs::read_to_string(workspace().join("frontend/index.html")).unwrap();
    let html = original
        .replace("href=\"Cargo.toml\"", "href=\"../frontend/Cargo.toml\"")
        .replace(
            "</head>",
            "<link data-trunk rel=\"css\" href=\"reload.css\" />\n  </head>",
        );
    assert!(html.contains("../frontend/Cargo.toml") && html.contains("../style/main.css"));
    html
}

fn write_stylesheet(dir: &Path, mark: &str) {
    std::fs::write(
        dir.join("reload.css"),
        format!(":root {{ --preview-mark: \"{mark}\"; }}\n"),
    )
    .unwrap();
}

/// Waits until trunk answers its first build's page.
async fn wait_for_trunk(trunk: &mut Trunk, base: &str) {
    let deadline = Instant::now() + FIRST_BUILD;
    loop {
        if let Ok(Some(status)) = trunk.0.child.try_wait() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            panic!(
                "trunk serve ended ({status}); it printed:\n{}",
                trunk.0.output()
            );
        }
        if let Ok(response) = http_get(&format!("{base}/admin/connections")).await {
            if response.0 == 200 && response.1.contains("frontend") {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "trunk serve never served the SPA; it printed:\n{}",
            trunk.0.output()
        );
        let printed = trunk.0.output();
        assert!(
            !printed.contains("error: could not compile") && !printed.contains(" ERROR "),
            "trunk's build failed:\n{printed}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A plain GET over HTTP/1.1, given 5 s: (status, body).
async fn http_get(url: &str) -> Result<(u16, String), std::io::Error> {
    tokio::time::timeout(Duration::from_secs(5), http_get_now(url))
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

async fn http_get_now(url: &str) -> Result<(u16, String), std::io::Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, answer))
}

#[tokio::test]
async fn the_trunk_serve_preview_runs_the_whole_seed_flow_and_reloads_on_an_edit() {
    let version = Command::new("trunk").arg("--version").output();
    let version = version.expect("trunk on PATH (scripts/setup.sh installs it)");
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(version.contains("0.21.14"), "trunk {version}");

    let backend_port = free_port();
    let trunk_port = free_port();
    let public = format!("http://127.0.0.1:{trunk_port}");
    // The README's first line: the backend in demo mode, its links pointing at trunk.
    let (backend, _addr, _data) = backend(&[
        ("BIND", &format!("127.0.0.1:{backend_port}")),
        ("PUBLIC_URL", &public),
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]);

    let dir = workspace().join(format!(".preview-{}-{trunk_port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scratch = Scratch(dir.canonicalize().unwrap());
    let dir = scratch.0.clone();
    std::fs::write(dir.join("Trunk.toml"), trunk_config(backend_port)).unwrap();
    std::fs::write(dir.join("index.html"), index_html()).unwrap();
    write_stylesheet(&dir, "first");

    // The README's second line, with the test's ports.
    let mut command = Command::new("trunk");
    command
        .arg("serve")
        .arg("--config")
        .arg(dir.join("Trunk.toml"))
        .args(["--port", &trunk_port.to_string(), "--offline"])
        .current_dir(&dir)
        .env("NO_COLOR", "true")
        .env("RUST_LOG", "info");
    let mut trunk = Trunk(Process::spawn(command));
    let started = Instant::now();
    wait_for_trunk(&mut trunk, &public).await;
    eprintln!("trunk serve's first build: {:.0?}", started.elapsed());

    let browser = Browser::start().await;
    sign_in(&browser, &public, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    connect_stripe(&browser, &public, "demo@example.com", "demo-password").await;
    connection_successful(&browser).await;
    browser
        .wait_for("//tbody//th[contains(normalize-space(), 'Acme Corp')]")
        .await;
    let url = browser.c().current_url().await.unwrap();
    assert_eq!(
        url.origin().ascii_serialization(),
        public,
        "all through trunk"
    );
    assert_eq!(url.path(), "/admin/connections");
    assert!(backend.output().contains("stripe account connected"));

    // An edit to a front-end file reloads the open page by itself, which comes back signed in.
    browser
        .c()
        .execute("window.previewNotReloaded = true;", vec![])
        .await
        .unwrap();
    // Reloaded (the mark set before is gone) with an edit's stylesheet, whichever edit it was.
    let reloaded = || async {
        let state = browser
            .c()
            .execute(
                "return [window.previewNotReloaded === undefined, \
                 getComputedStyle(document.documentElement).getPropertyValue('--preview-mark').trim()];",
                vec![],
            )
            .await;
        matches!(&state, Ok(v) if v[0] == true
            && v[1].as_str().is_some_and(|mark| mark.starts_with("\"edit-")))
    };
    // Trunk tells a page of a rebuild over a websocket the page opens once loaded; a build that
    // ends before it is open goes unannounced, so the edit is made again until one is seen.
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut edit = 0;
    'edits: loop {
        edit += 1;
        let mark = format!("edit-{edit}");
        write_stylesheet(&dir, &mark);
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if reloaded().await {
                break 'edits;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            Instant::now() < deadline,
            "the page never reloaded with the edit; trunk printed:\n{}",
            trunk.0.output()
        );
    }
    browser
        .wait_for("//h2[normalize-space()='Data Sources']")
        .await;
    browser
        .wait_for("//tbody//th[contains(normalize-space(), 'Acme Corp')]")
        .await;

    // A form sent to the emulator from another site, through trunk: the emulator's own page,
    // never the SPA's "Page not found".
    let form = format!(
        "data:text/html,<form method=post action='{public}/stripe-emulator/oauth/v2/sign-in?x=1'>\
         <input name=email value=a><button id=go>Go</button></form>"
    );
    browser.c().goto(&form).await.unwrap();
    browser.click("//button[@id='go']").await;
    browser
        .wait_for("//h1[normalize-space()='Form refused']")
        .await;
    let page = browser.c().source().await.unwrap();
    assert!(page.contains("Local Stripe emulator"), "{page}");
    assert!(!page.contains("Page not found"), "{page}");
    browser.close().await;
    drop(trunk);
    drop(scratch);
}
