//! The harness of the end-to-end tests: the real backend binary and a separate Stripe emulator as
//! child processes, headless Chromium through chromedriver, and the steps every test shares.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub const WAIT: Duration = Duration::from_secs(20);

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn backend_binary() -> PathBuf {
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

pub fn dist() -> PathBuf {
    let dist = workspace().join("dist");
    assert!(
        dist.join("index.html").is_file(),
        "dist/ is missing: run the README's test command (scripts/test.sh), which builds the SPA"
    );
    dist
}

/// A port nobody listens on now, for a process that must know its address before it starts.
/// Chosen at random *below* the kernel's ephemeral range (32768–60999): a port the kernel handed
/// out for `:0` was free again the moment it was dropped, and the next `:0` bind anywhere (another
/// test's emulator, a browser) could take it before our process did (seen in CI: "Address already
/// in use").
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos().into())
        ^ (u64::from(std::process::id()) << 20);
    for _ in 0..200 {
        let draw = DRAWS.fetch_add(1, Ordering::Relaxed);
        // A 64-bit mix (splitmix) of the seed and the draw: spread over 20000..32000.
        let mut z = seed.wrapping_add(draw.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let port = 20_000 + u16::try_from((z ^ (z >> 31)) % 12_000).unwrap_or(0);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below the ephemeral range");
}

/// A child process killed on drop, with everything it printed.
pub struct Process {
    pub child: Child,
    pub output: Arc<Mutex<String>>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts `command` and collects what it prints on stdout and stderr.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?} did not start: {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut out = output.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        Self { child, output }
    }

    /// Starts `command`, collects stdout and stderr, and waits for its "listening on http://…" line.
    pub fn start(command: Command) -> (Self, String) {
        let process = Self::spawn(command);
        let addr = printed_line(&process, "listening on http://");
        (process, addr)
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

pub fn backend(envs: &[(&str, &str)]) -> (Process, String, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let (process, addr) = backend_in(data.path(), envs);
    (process, addr, data)
}

/// The backend binary over the state in `data` (a second start over the same `data` is a restart).
pub fn backend_in(data: &std::path::Path, envs: &[(&str, &str)]) -> (Process, String) {
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
    // Demo mode is asked for explicitly, as `scripts/run.sh` does, unless Stripe is configured.
    if !envs.iter().any(|(k, _)| *k == "STRIPE_CLIENT_ID") {
        command.env("DEMO", "1");
    }
    for (k, v) in envs {
        command.env(k, v);
    }
    Process::start(command)
}

/// A separate "Stripe": the emulator binary on its own port, for a backend at `public`.
pub fn separate_stripe(client_id: &str, secret: &str, public: &str) -> (Process, String) {
    separate_stripe_with(client_id, secret, public, &[])
}

/// The same, with more emulator settings (`EMULATOR_INSTALL_LINK`, `EMULATOR_TOKEN_TTL`).
pub fn separate_stripe_with(
    client_id: &str,
    secret: &str,
    public: &str,
    envs: &[(&str, &str)],
) -> (Process, String) {
    let mut command = Command::new(backend_binary());
    command.envs(envs.iter().copied());
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

pub struct Browser {
    pub client: Option<Client>,
    _driver: Process,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill_browser();
    }
}

impl Browser {
    pub async fn start() -> Self {
        Self::start_preferring("en-US,en").await
    }

    /// A browser whose preferred languages (`navigator.languages`, `Accept-Language`) are
    /// `languages`, e.g. `it-IT,it`.
    pub async fn start_preferring(languages: &str) -> Self {
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
                format!("--lang={}", languages.split(',').next().unwrap_or("en-US")),
            ], "prefs": { "intl.accept_languages": languages } }),
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

    pub fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Waits for an element, printing the page when it never comes.
    pub async fn wait_for(&self, xpath: &str) -> fantoccini::elements::Element {
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

    pub async fn click(&self, xpath: &str) {
        self.wait_for(xpath).await.click().await.unwrap();
    }

    pub async fn type_into(&self, id: &str, text: &str) {
        let el = self.wait_for(&format!("//input[@id='{id}']")).await;
        el.send_keys(text).await.unwrap();
    }

    /// Types into the input whose `<label>` says `label`.
    pub async fn type_into_labelled(&self, label: &str, text: &str) {
        let el = self
            .wait_for(&format!(
                "//input[@id=//label[normalize-space()='{label}']/@for]"
            ))
            .await;
        el.send_keys(text).await.unwrap();
    }

    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

/// Waits until the process has printed a line starting with `prefix`; returns the rest of it.
pub fn printed_line(process: &Process, prefix: &str) -> String {
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
pub async fn sign_in(browser: &Browser, base: &str, email: &str, password: &str) {
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

pub const ADMIN_EMAIL: &str = "owner@bi.test";
pub const ADMIN_PASSWORD: &str = "e2e admin password";

pub fn button(name: &str) -> String {
    format!("//button[normalize-space()='{name}']")
}

/// The seed flow: Admin > Connections > Add a Data Source > Stripe > Connect with Stripe > sign in.
pub async fn connect_stripe(browser: &Browser, base: &str, email: &str, password: &str) {
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
pub async fn stripe_sign_in(browser: &Browser, email: &str, password: &str) {
    browser
        .click(&button("Sign in with Stripe to Continue"))
        .await;
    browser.type_into("email", email).await;
    browser.type_into("password", password).await;
    browser.click(&button("Sign in to your account")).await;
}

/// Waits for the success banner at the top of the Connections page.
pub async fn connection_successful(browser: &Browser) {
    browser
        .wait_for("//*[@role='status']//p[normalize-space()='Connection Successful!']")
        .await;
}

/// Asserts the platform key and every token stay out of logs, pages, API answers, `dist/` and the
/// database file.
pub fn backend_guard(
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
    let db = database_text(data.path());
    assert!(db.contains("acct_1DemoGlobexLtd002"), "the row was stored");
    assert!(
        !db.contains("sk_test_emu"),
        "plaintext access token in the database"
    );
    backend
}

/// A form POST over a plain socket (the emulator's fault switch), returning the status line.
pub fn post_form(addr: &str, path: &str, body: &str) -> String {
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

pub async fn signed_in_admin_with_acme() -> (Process, String, tempfile::TempDir, Browser) {
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

pub const ACME_ROW: &str = "//tbody/tr[@data-connection-id='1']";

/// Everything in the backend's database files (and its write-ahead log), as text.
pub fn database_text(data: &std::path::Path) -> String {
    let mut db = Vec::new();
    for entry in std::fs::read_dir(data).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("connections.db") {
            db.extend(std::fs::read(path).unwrap());
        }
    }
    String::from_utf8_lossy(&db).into_owned()
}
