//! End-to-end: the real backend binary (built beforehand by the test command, never here) serving
//! the built SPA from `dist/`, driven in headless Chromium through the whole seed flow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

const WAIT: Duration = Duration::from_secs(20);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn backend_binary() -> PathBuf {
    let path = std::env::var_os("BACKEND_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/debug/backend"));
    assert!(
        path.is_file(),
        "{} is missing: run the README's test command (scripts/test.sh), which builds it",
        path.display()
    );
    path
}

fn dist() -> PathBuf {
    let dist = workspace().join("dist");
    assert!(
        dist.join("index.html").is_file(),
        "dist/ is missing: run the README's test command (scripts/test.sh), which builds the SPA"
    );
    dist
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed on drop, with everything it printed.
struct Process {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts `command`, collects stdout and stderr, and waits for its "listening on http://…" line.
    fn start(mut command: Command) -> (Self, String) {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(addr) = line.strip_prefix("listening on http://") {
                        let _ = tx.send(addr.to_owned());
                    }
                    let mut out = output.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        let process = Self { child, output };
        match rx.recv_timeout(WAIT) {
            Ok(addr) => (process, addr),
            Err(_) => panic!("did not start; it printed:\n{}", process.output()),
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

fn backend(envs: &[(&str, &str)]) -> (Process, String, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let (process, addr) = backend_in(data.path(), envs);
    (process, addr, data)
}

/// The backend binary over the state in `data` (a second start over the same `data` is a restart).
fn backend_in(data: &std::path::Path, envs: &[(&str, &str)]) -> (Process, String) {
    let mut command = Command::new(backend_binary());
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("BIND", "127.0.0.1:0")
        .env("DATA_DIR", data)
        .env("STATIC_DIR", dist())
        .env("RUST_LOG", "debug")
        .current_dir(data);
    for (k, v) in envs {
        command.env(k, v);
    }
    Process::start(command)
}

/// A separate "Stripe": the emulator binary on its own port, for a backend at `public`.
fn separate_stripe(client_id: &str, secret: &str, public: &str) -> (Process, String) {
    let mut command = Command::new(backend_binary());
    command
        .arg("stripe-emulator")
        .env("BIND", "127.0.0.1:0")
        .env("EMULATOR_CLIENT_ID", client_id)
        .env("EMULATOR_SECRET_KEY", secret)
        .env(
            "EMULATOR_REDIRECT_URI",
            format!("{public}/oauth/stripe/callback"),
        );
    Process::start(command)
}

struct Browser {
    client: Option<Client>,
    _driver: Process,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill_browser();
    }
}

impl Browser {
    async fn start() -> Self {
        let port = free_port();
        let mut command = Command::new("chromedriver");
        command.arg(format!("--port={port}"));
        // chromedriver prints "ChromeDriver was started successfully on port N."
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver on PATH (scripts/setup.sh installs it)");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.stdout.take();
        let driver = Process {
            child,
            output: Arc::default(),
        };
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]}),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Self {
            client: Some(client),
            _driver: driver,
            _profile: profile,
        }
    }

    /// Ends any Chromium process of this test's profile, whatever happened to the session (a
    /// panicking test never reaches `close`, and chromedriver's own exit can orphan the browser).
    fn kill_browser(&self) {
        let _ = Command::new("pkill")
            .arg("-9")
            .arg("-f")
            .arg(self._profile.path())
            .status();
    }

    fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Waits for an element, printing the page when it never comes.
    async fn wait_for(&self, xpath: &str) -> fantoccini::elements::Element {
        // Polls with `find` rather than `wait()`: a navigation in flight aborts a WebDriver command,
        // which is "not there yet", not a failure.
        let deadline = Instant::now() + WAIT;
        loop {
            match self.c().find(Locator::XPath(xpath)).await {
                Ok(el) => return el,
                Err(e) if Instant::now() > deadline => {
                    let source = self.c().source().await.unwrap_or_default();
                    let url = self
                        .c()
                        .current_url()
                        .await
                        .map(|u| u.to_string())
                        .unwrap_or_default();
                    panic!("{xpath} never appeared ({e}) at {url}; page:\n{source}");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn click(&self, xpath: &str) {
        self.wait_for(xpath).await.click().await.unwrap();
    }

    async fn type_into(&self, id: &str, text: &str) {
        let el = self.wait_for(&format!("//input[@id='{id}']")).await;
        el.send_keys(text).await.unwrap();
    }

    async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

/// Waits until the process has printed a line starting with `prefix`; returns the rest of it.
fn printed_line(process: &Process, prefix: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(line) = process
            .output()
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
        {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "never printed {prefix:?}:\n{}",
            process.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Signs in on the SPA's sign-in page (where any signed-out visit lands).
async fn sign_in(browser: &Browser, base: &str, email: &str, password: &str) {
    browser.c().goto(base).await.unwrap();
    browser.wait_for("//h1[normalize-space()='Sign in']").await;
    let email_input = browser
        .wait_for("//input[@id=//label[normalize-space()='Email']/@for]")
        .await;
    email_input.send_keys(email).await.unwrap();
    let password_input = browser
        .wait_for("//input[@id=//label[normalize-space()='Password']/@for]")
        .await;
    password_input.send_keys(password).await.unwrap();
    browser.click(&button("Sign in")).await;
    browser
        .wait_for("//button[normalize-space()='Sign out']")
        .await;
}

const ADMIN_EMAIL: &str = "owner@bi.test";
const ADMIN_PASSWORD: &str = "e2e admin password";

fn button(name: &str) -> String {
    format!("//button[normalize-space()='{name}']")
}

/// The seed flow: Admin > Connections > Add a Data Source > Stripe > Connect with Stripe > sign in.
async fn connect_stripe(browser: &Browser, base: &str, email: &str, password: &str) {
    browser.c().goto(&format!("{base}/")).await.unwrap();
    browser.click(&button("Admin")).await;
    browser.click("//a[normalize-space()='Connections']").await;
    browser
        .wait_for("//h2[normalize-space()='Data Sources']")
        .await;
    browser.click(&button("Add a Data Source")).await;
    browser.click(&button("Stripe")).await;
    browser
        .wait_for("//h1[contains(normalize-space(), 'Stripe authorization')]")
        .await;
    browser.click(&button("Connect with Stripe")).await;
    // The emulator's pages.
    browser
        .wait_for("//*[contains(., 'Local Stripe emulator')]")
        .await;
    stripe_sign_in(browser, email, password).await;
}

/// Stripe's (the emulator's) access-request page: continue, enter credentials, sign in.
async fn stripe_sign_in(browser: &Browser, email: &str, password: &str) {
    browser
        .click(&button("Sign in with Stripe to Continue"))
        .await;
    browser.type_into("email", email).await;
    browser.type_into("password", password).await;
    browser.click(&button("Sign in to your account")).await;
}

/// Waits for the success banner at the top of the Connections page.
async fn connection_successful(browser: &Browser) {
    browser
        .wait_for("//*[@role='status']//p[normalize-space()='Connection Successful!']")
        .await;
}

#[tokio::test]
async fn an_admin_connects_stripe_in_demo_mode_through_the_whole_seed_flow() {
    // Demo mode exactly as the README's run command starts it: a demo Admin is created and the
    // console says how to sign in.
    let (backend, addr, _data) = backend(&[]);
    let base = format!("http://{addr}");
    let credentials = printed_line(&backend, "sign in to the app as ");
    let (email, rest) = credentials.split_once(" / ").unwrap();
    let password = rest.split(' ').next().unwrap();
    let browser = Browser::start().await;
    sign_in(&browser, &base, email, password).await;

    connect_stripe(&browser, &base, "demo@example.com", "demo-password").await;

    connection_successful(&browser).await;
    let row = browser
        .wait_for("//table[contains(@class,'data-sources')]//tbody//th[contains(normalize-space(), 'Acme Corp')]")
        .await;
    let row_text = row.text().await.unwrap();
    assert!(row_text.contains("Acme Corp"));
    browser
        .wait_for("//tbody//tr[th[contains(., 'Acme Corp')]]//td[normalize-space()='Stripe']")
        .await;
    browser
        .wait_for("//tbody//tr[th[contains(., 'Acme Corp')]]//*[contains(@class,'status')][normalize-space()='Success']")
        .await;
    // The outcome is dropped from the address bar.
    let url = browser.c().current_url().await.unwrap();
    assert_eq!(url.path(), "/admin/connections");
    assert_eq!(url.query(), None);
    browser.close().await;
    drop(backend);
}

#[tokio::test]
async fn a_refusal_on_stripes_page_shows_an_error_banner_and_adds_nothing() {
    let (_backend, addr, _data) = backend(&[
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]);
    let base = format!("http://{addr}");
    let browser = Browser::start().await;
    sign_in(&browser, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser
        .c()
        .goto(&format!("{base}/admin/connections/new/stripe"))
        .await
        .unwrap();
    browser.click(&button("Connect with Stripe")).await;
    browser.click(&button("Deny access")).await;
    browser
        .wait_for("//*[@role='alert']//p[contains(., 'Access to Stripe was not granted')]")
        .await;
    browser
        .wait_for("//tbody/tr[contains(@class,'empty-state')]")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn the_same_flow_works_against_any_stripe_compatible_server_and_never_leaks_the_key() {
    const SECRET: &str = "sk_test_E2ePlatformSecretNeverShown42";
    const CLIENT: &str = "ca_E2eClient0001";
    let backend_port = free_port();
    let public = format!("http://127.0.0.1:{backend_port}");
    // A separate "Stripe": the emulator binary, reached only through the documented variables.
    let (stripe, stripe_addr) = separate_stripe(CLIENT, SECRET, &public);
    let stripe_url = format!("http://{stripe_addr}");
    let (backend, _addr, data) = backend(&[
        ("BIND", &format!("127.0.0.1:{backend_port}")),
        ("STRIPE_CLIENT_ID", CLIENT),
        ("STRIPE_SECRET_KEY", SECRET),
        ("STRIPE_CONNECT_URL", &stripe_url),
        ("STRIPE_API_URL", &stripe_url),
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]);
    let browser = Browser::start().await;
    sign_in(&browser, &public, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    connect_stripe(&browser, &public, "globex@example.com", "demo-password").await;
    connection_successful(&browser).await;
    browser
        .wait_for("//tbody//th[contains(., 'Globex Ltd')]")
        .await;
    let page = browser.c().source().await.unwrap();

    // Every API answer, as the browser sees it.
    let mut api = String::new();
    for path in ["/api/connections", "/api/meta"] {
        browser.c().goto(&format!("{public}{path}")).await.unwrap();
        api.push_str(&browser.c().source().await.unwrap());
    }
    assert!(api.contains("Globex Ltd"));
    browser.close().await;
    drop(backend_guard(backend, &data, SECRET, &page, &api));
    drop(stripe);
}

/// Asserts the platform key and every token stay out of logs, pages, API answers, `dist/` and the
/// database file.
fn backend_guard(
    backend: Process,
    data: &tempfile::TempDir,
    secret: &str,
    page: &str,
    api: &str,
) -> Process {
    let log = backend.output();
    assert!(log.contains("stripe account connected"), "log:\n{log}");
    for (what, text) in [
        ("log", &log),
        ("page", &page.to_owned()),
        ("API", &api.to_owned()),
    ] {
        assert!(
            !text.contains(secret),
            "the secret key appears in the {what}"
        );
        assert!(
            !text.contains("sk_test_emu"),
            "an access token appears in the {what}"
        );
        assert!(
            !text.contains("code=ac_"),
            "an authorization code appears in the {what}"
        );
    }
    for entry in std::fs::read_dir(dist()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(secret), "{} holds the key", path.display());
            assert!(
                !text.contains("sk_test_"),
                "{} holds a key-like string",
                path.display()
            );
        }
    }
    // A copy of the database file holds no plaintext token.
    let mut db = Vec::new();
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("connections.db") {
            db.extend(std::fs::read(path).unwrap());
        }
    }
    let db = String::from_utf8_lossy(&db);
    assert!(db.contains("acct_1DemoGlobexLtd002"), "the row was stored");
    assert!(
        !db.contains("sk_test_emu"),
        "plaintext access token in the database"
    );
    backend
}

#[tokio::test]
async fn a_standard_user_sees_no_admin_menu_and_is_refused_at_admin_pages() {
    let data = tempfile::tempdir().unwrap();
    // The operator's command, password on stdin.
    let mut create = Command::new(backend_binary())
        .args([
            "create-user",
            "--email",
            "Sam@BI.test",
            "--role",
            "standard",
            "--name",
            "Sam",
        ])
        .env("DATA_DIR", data.path())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = create.stdin.take().unwrap();
        stdin.write_all(b"standard user password\n").unwrap();
    }
    let out = create.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created sam@bi.test (standard)"));

    let (_backend, addr) = backend_in(data.path(), &[]);
    let base = format!("http://{addr}");
    let browser = Browser::start().await;
    sign_in(&browser, &base, "sam@bi.test", "standard user password").await;
    browser.wait_for("//h1[normalize-space()='Welcome']").await;
    assert!(
        browser
            .c()
            .find(Locator::XPath(&button("Admin")))
            .await
            .is_err(),
        "no Admin menu for a Standard user"
    );
    browser
        .c()
        .goto(&format!("{base}/admin/connections"))
        .await
        .unwrap();
    browser
        .wait_for("//h1[normalize-space()='Requires Admin permissions']")
        .await;
    // Signing out really ends the session: the page sends the user back to sign in.
    browser.click(&button("Sign out")).await;
    browser.wait_for("//h1[normalize-space()='Sign in']").await;
    browser
        .c()
        .goto(&format!("{base}/admin/users"))
        .await
        .unwrap();
    browser.wait_for("//h1[normalize-space()='Sign in']").await;
    // Signing in again returns to where the user was going.
    browser
        .wait_for("//input[@id=//label[normalize-space()='Email']/@for]")
        .await
        .send_keys("sam@bi.test")
        .await
        .unwrap();
    browser
        .wait_for("//input[@id=//label[normalize-space()='Password']/@for]")
        .await
        .send_keys("standard user password")
        .await
        .unwrap();
    browser.click(&button("Sign in")).await;
    browser
        .wait_for("//h1[normalize-space()='Requires Admin permissions']")
        .await;
    let url = browser.c().current_url().await.unwrap();
    assert_eq!(url.path(), "/admin/users");
    browser.close().await;
}

async fn signed_in_admin_with_acme() -> (Process, String, tempfile::TempDir, Browser) {
    let (backend, addr, data) = backend(&[
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]);
    let base = format!("http://{addr}");
    let browser = Browser::start().await;
    sign_in(&browser, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    connect_stripe(&browser, &base, "demo@example.com", "demo-password").await;
    connection_successful(&browser).await;
    (backend, base, data, browser)
}

const ACME_ROW: &str = "//tbody/tr[@data-connection-id='1']";

#[tokio::test]
async fn access_revoked_in_stripe_is_fixed_by_clicking_the_name_and_keeps_the_row() {
    let (_backend, base, _data, browser) = signed_in_admin_with_acme().await;
    // The user revokes our access in "Stripe": the emulator sends the signed webhook.
    browser
        .c()
        .goto(&format!("{base}/stripe-emulator/"))
        .await
        .unwrap();
    browser.click(&button("Revoke access for Acme Corp")).await;
    browser
        .wait_for("//h1[normalize-space()='Access revoked']")
        .await;

    browser
        .c()
        .goto(&format!("{base}/admin/connections"))
        .await
        .unwrap();
    browser
        .wait_for(&format!(
            "{ACME_ROW}//*[contains(@class,'status')][normalize-space()='Needs re-authentication']"
        ))
        .await;
    // The admin clicks the name of the broken integration and signs in again.
    browser
        .click(&format!(
            "{ACME_ROW}/th//button[contains(normalize-space(), 'Acme Corp')]"
        ))
        .await;
    stripe_sign_in(&browser, "demo@example.com", "demo-password").await;
    connection_successful(&browser).await;
    browser
        .wait_for(&format!(
            "{ACME_ROW}//*[contains(@class,'status')][normalize-space()='Success']"
        ))
        .await;
    let rows = browser
        .c()
        .find_all(Locator::XPath("//tbody/tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the same row, not a new one");
    // Its history shows what happened.
    browser.click(&format!("{ACME_ROW}/th//a")).await;
    browser
        .wait_for("//table[contains(@class,'audit')]//th[normalize-space()='access revoked']")
        .await;
    browser
        .wait_for("//table[contains(@class,'audit')]//th[normalize-space()='re-authenticated']")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn an_admin_deletes_a_connection_after_confirming_it() {
    let (_backend, _base, _data, browser) = signed_in_admin_with_acme().await;
    browser
        .click(&format!(
            "{ACME_ROW}//button[@aria-label='Delete Acme Corp']"
        ))
        .await;
    browser
        .wait_for("//dialog[@open]//h2[normalize-space()='Delete Acme Corp?']")
        .await;
    browser
        .click("//dialog[@open]//button[normalize-space()='Cancel']")
        .await;
    browser.wait_for("//dialog[not(@open)]").await;
    browser.wait_for(ACME_ROW).await;

    browser
        .click(&format!(
            "{ACME_ROW}//button[@aria-label='Delete Acme Corp']"
        ))
        .await;
    browser
        .click("//dialog[@open]//button[normalize-space()='Delete']")
        .await;
    browser
        .wait_for("//*[@role='status']//p[normalize-space()='Acme Corp was deleted.']")
        .await;
    browser
        .wait_for("//tbody/tr[contains(@class,'empty-state')]")
        .await;
    browser.close().await;
}

/// A form POST over a plain socket (the emulator's fault switch), returning the status line.
fn post_form(addr: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_backend_killed_in_the_middle_of_a_callback_leaves_no_half_connection() {
    const SECRET: &str = "sk_test_CrashPlatformSecret0001";
    const CLIENT: &str = "ca_CrashClient0001";
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (_stripe, stripe_addr) = separate_stripe(CLIENT, SECRET, &public);
    let data = tempfile::tempdir().unwrap();
    let (bind, stripe_url) = (format!("127.0.0.1:{port}"), format!("http://{stripe_addr}"));
    let start_backend = || {
        backend_in(
            data.path(),
            &[
                ("BIND", &bind),
                ("STRIPE_CLIENT_ID", CLIENT),
                ("STRIPE_SECRET_KEY", SECRET),
                ("STRIPE_CONNECT_URL", &stripe_url),
                ("STRIPE_API_URL", &stripe_url),
                ("ADMIN_EMAIL", ADMIN_EMAIL),
                ("ADMIN_PASSWORD", ADMIN_PASSWORD),
            ],
        )
        .0
    };
    let backend = start_backend();
    let browser = Browser::start().await;
    sign_in(&browser, &public, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // Stripe's token endpoint hangs: the callback is in flight when the backend dies.
    assert!(post_form(&stripe_addr, "/faults", "endpoint=token&fault=slow").contains("200"));
    connect_stripe(&browser, &public, "demo@example.com", "demo-password").await;
    let deadline = Instant::now() + WAIT;
    while !backend.output().contains("path=/oauth/stripe/callback") {
        assert!(
            Instant::now() < deadline,
            "the callback never started:\n{}",
            backend.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(backend); // SIGKILL

    let _restarted = start_backend();
    browser
        .c()
        .goto(&format!("{public}/api/connections"))
        .await
        .unwrap();
    let listed = browser.c().source().await.unwrap();
    assert!(
        listed.contains("[]"),
        "no half connection after the crash: {listed}"
    );

    // The admin simply tries again.
    assert!(post_form(&stripe_addr, "/faults", "endpoint=token&fault=none").contains("200"));
    connect_stripe(&browser, &public, "demo@example.com", "demo-password").await;
    connection_successful(&browser).await;
    browser
        .wait_for("//tbody//th[contains(., 'Acme Corp')]")
        .await;
    browser.close().await;
}
