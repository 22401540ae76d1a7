//! The ways Stripe allows today, in a real browser: a Stripe App installed from its External-test
//! link against a separate Stripe-compatible server, its one-hour tokens renewed (once, even when
//! two tests race), a refresh token already used → Needs re-authentication, and restricted keys
//! made on the emulator's page.

use std::path::Path;
use std::time::Duration;

use crate::harness::*;

const SECRET: &str = "sk_test_E2eAppOwnerSecretNeverShown7";
const CLIENT: &str = "ca_E2eApp0001";
const LINK: &str = "chnlink_E2eExternalTest";

/// A backend on a fixed port whose Stripe is the separate emulator at `stripe_url`, Apps flow.
fn apps_backend(data: &Path, port: u16, stripe_url: &str) -> Process {
    backend_in(
        data,
        &[
            ("BIND", &format!("127.0.0.1:{port}")),
            ("STRIPE_CLIENT_ID", CLIENT),
            ("STRIPE_SECRET_KEY", SECRET),
            ("STRIPE_API_URL", stripe_url),
            (
                "STRIPE_AUTHORIZE_URL",
                &format!("{stripe_url}/oauth/v2/{LINK}/authorize"),
            ),
            ("ADMIN_EMAIL", ADMIN_EMAIL),
            ("ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    )
    .0
}

/// The separate Stripe, with access tokens that live `ttl`.
fn apps_stripe(public: &str, ttl: &str) -> (Process, String) {
    separate_stripe_with(
        CLIENT,
        SECRET,
        public,
        &[("EMULATOR_INSTALL_LINK", LINK), ("EMULATOR_TOKEN_TTL", ttl)],
    )
}

/// Admin > Connections > Add a Data Source > Stripe > Connect with Stripe: the install page must be
/// the configured External-test link; then Stripe's sign-in.
async fn install_app(browser: &Browser, base: &str, email: &str) {
    browser
        .c()
        .goto(&format!("{base}/admin/connections"))
        .await
        .unwrap();
    browser.click(&button("Add a Data Source")).await;
    browser.click(&button("Stripe")).await;
    browser.click(&button("Connect with Stripe")).await;
    browser
        .wait_for("//*[contains(., 'Local Stripe emulator')]")
        .await;
    let url = browser.c().current_url().await.unwrap();
    assert_eq!(url.path(), format!("/oauth/v2/{LINK}/authorize"));
    assert!(url
        .query()
        .unwrap()
        .contains(&format!("client_id={CLIENT}")));
    stripe_sign_in(browser, email, "demo-password").await;
}

/// Runs `POST /api/connections/1/test` `n` times at once from the page; their statuses.
async fn race_tests(browser: &Browser, n: usize) -> Vec<String> {
    let answer = browser
        .c()
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const n = arguments[0];
             Promise.all(Array.from({length: n}, () =>
                 fetch('/api/connections/1/test', {method: 'POST', headers: {Accept: 'application/json'}})
                     .then(r => r.json()).then(b => b.status)))
               .then(done, e => done(['failed: ' + e]));",
            vec![serde_json::json!(n)],
        )
        .await
        .unwrap();
    answer
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The audit actions of connection 1, newest first.
async fn audit_actions(browser: &Browser, base: &str) -> Vec<String> {
    browser
        .c()
        .goto(&format!("{base}/api/connections/1"))
        .await
        .unwrap();
    let text = browser
        .c()
        .find(fantoccini::Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&text).unwrap();
    detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

/// Lets the emulator's short-lived access tokens expire (the passing of time is the condition).
async fn let_tokens_expire() {
    tokio::time::sleep(Duration::from_millis(2_500)).await;
}

#[tokio::test]
async fn a_stripe_app_installed_from_its_external_test_link_stays_connected_as_tokens_expire() {
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (stripe, stripe_addr) = apps_stripe(&public, "2");
    let stripe_url = format!("http://{stripe_addr}");
    let data = tempfile::tempdir().unwrap();
    let backend = apps_backend(data.path(), port, &stripe_url);
    let browser = Browser::start().await;
    sign_in(&browser, &public, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    install_app(&browser, &public, "globex@example.com").await;
    connection_successful(&browser).await;
    browser
        .wait_for("//tbody//th[contains(., 'Globex Ltd')]")
        .await;
    let page = browser.c().source().await.unwrap();

    // The token expires at Stripe: a Test connection renews it once and passes.
    let_tokens_expire().await;
    browser
        .click("//tbody/tr[@data-connection-id='1']//button[starts-with(normalize-space(), 'Test connection')]")
        .await;
    browser
        .wait_for(
            "//*[@role='status']//p[normalize-space()='Connection test for Globex Ltd: Success.']",
        )
        .await;

    // Expired again, two tests race: exactly one refresh, both pass.
    let_tokens_expire().await;
    assert_eq!(race_tests(&browser, 2).await, ["success", "success"]);
    let actions = audit_actions(&browser, &public).await;
    let refreshes = actions.iter().filter(|a| *a == "token_refreshed").count();
    assert_eq!(
        refreshes, 2,
        "one per expiry, never two at once: {actions:?}"
    );

    let mut api = String::new();
    for path in ["/api/connections", "/api/connections/1", "/api/meta"] {
        browser.c().goto(&format!("{public}{path}")).await.unwrap();
        api.push_str(&browser.c().source().await.unwrap());
    }
    browser.close().await;
    let backend = backend_guard(backend, &data, SECRET, &page, &api);
    assert!(backend.output().contains("access token renewed"));
    drop(stripe);
}

/// Copies the backend's database files (the backend is stopped).
fn copy_db(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("connections.db") {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

#[tokio::test]
async fn a_refresh_token_already_used_needs_re_authentication_and_clicking_the_name_fixes_it() {
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (_stripe, stripe_addr) = apps_stripe(&public, "2");
    let stripe_url = format!("http://{stripe_addr}");
    let data = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let backend = apps_backend(data.path(), port, &stripe_url);
    let browser = Browser::start().await;
    sign_in(&browser, &public, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    install_app(&browser, &public, "demo@example.com").await;
    connection_successful(&browser).await;

    // A backup is taken; then the token is renewed (Stripe rotates the refresh token).
    drop(backend);
    copy_db(data.path(), backup.path());
    let backend = apps_backend(data.path(), port, &stripe_url);
    let_tokens_expire().await;
    assert_eq!(race_tests(&browser, 1).await, ["success"]);
    // The backup is restored: it holds the refresh token Stripe already retired.
    drop(backend);
    copy_db(backup.path(), data.path());
    let _backend = apps_backend(data.path(), port, &stripe_url);
    let_tokens_expire().await;
    browser
        .c()
        .goto(&format!("{public}/admin/connections"))
        .await
        .unwrap();
    browser
        .click("//tbody/tr[@data-connection-id='1']//button[starts-with(normalize-space(), 'Test connection')]")
        .await;
    let row = "//tbody/tr[@data-connection-id='1']";
    browser
        .wait_for(&format!(
            "{row}//*[contains(@class,'status')][normalize-space()='Needs re-authentication']"
        ))
        .await;
    browser
        .wait_for(&format!("{row}//*[contains(., 'refused to renew')]"))
        .await;
    // The admin clicks the name and installs again: the same row is back.
    browser
        .click(&format!(
            "{row}/th//button[contains(normalize-space(), 'Acme Corp')]"
        ))
        .await;
    stripe_sign_in(&browser, "demo@example.com", "demo-password").await;
    connection_successful(&browser).await;
    browser
        .wait_for(&format!(
            "{row}//*[contains(@class,'status')][normalize-space()='Success']"
        ))
        .await;
    browser.close().await;
}

/// Makes a restricted key on the emulator's home page, unticking `without`; returns it.
async fn make_key(browser: &Browser, base: &str, without: &[&str]) -> String {
    browser
        .c()
        .goto(&format!("{base}/stripe-emulator/"))
        .await
        .unwrap();
    for permission in without {
        browser
            .click(&format!("//input[@id='rk-0-{permission}']"))
            .await;
    }
    browser
        .click(&button("Create a restricted key for Acme Corp"))
        .await;
    browser
        .wait_for("//code[@id='restricted-key']")
        .await
        .text()
        .await
        .unwrap()
        .trim()
        .to_owned()
}

/// The Stripe authorization page's restricted-key form: paste `key`, **Connect with key**.
async fn connect_with_key(browser: &Browser, base: &str, key: &str) {
    browser
        .c()
        .goto(&format!("{base}/admin/connections/new/stripe"))
        .await
        .unwrap();
    browser
        .click("//summary[normalize-space()='Use a restricted API key']")
        .await;
    browser
        .wait_for("//a[contains(., 'Create a restricted key in Stripe')][contains(@href, '/stripe-emulator/')]")
        .await;
    let field = browser
        .wait_for("//input[@id=//label[normalize-space()='Restricted API key']/@for]")
        .await;
    field.clear().await.unwrap();
    field.send_keys(key).await.unwrap();
    browser.click(&button("Connect with key")).await;
}

#[tokio::test]
async fn a_restricted_key_made_on_the_emulator_connects_and_bad_keys_are_refused_with_reasons() {
    let (backend, addr, data) = backend(&[
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]);
    let base = format!("http://{addr}");
    let browser = Browser::start().await;
    sign_in(&browser, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let partial = make_key(&browser, &base, &["rak_coupon_read"]).await;
    assert!(partial.starts_with("rk_test_"), "{partial}");
    connect_with_key(&browser, &base, &partial).await;
    browser
        .wait_for("//*[@id='restricted-key-error'][contains(., 'coupons (rak_coupon_read)')]")
        .await;

    connect_with_key(&browser, &base, "sk_test_51ThisIsAFullSecretKey").await;
    browser
        .wait_for("//*[@id='restricted-key-error'][contains(., 'full write access')]")
        .await;

    let key = make_key(&browser, &base, &[]).await;
    connect_with_key(&browser, &base, &key).await;
    connection_successful(&browser).await;
    browser
        .wait_for("//tbody//th[contains(., 'Acme Corp')]")
        .await;
    let page = browser.c().source().await.unwrap();
    browser
        .click("//tbody/tr[@data-connection-id='1']/th//a")
        .await;
    browser
        .wait_for(&format!(
            "//dd[contains(., 'Restricted API key')]//code[normalize-space()='rk_…{}']",
            &key[key.len() - 4..]
        ))
        .await;
    let detail_page = browser.c().source().await.unwrap();

    let mut api = String::new();
    for path in ["/api/connections", "/api/connections/1"] {
        browser.c().goto(&format!("{base}{path}")).await.unwrap();
        api.push_str(&browser.c().source().await.unwrap());
    }
    assert!(api.contains("restricted_key"));
    browser.close().await;
    let log = backend.output();
    for secret in [&key, &partial] {
        for (what, text) in [
            ("log", &log),
            ("page", &page),
            ("detail", &detail_page),
            ("API", &api),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "a restricted key appears in the {what}"
            );
        }
    }
    assert!(
        !database_text(data.path()).contains(key.as_str()),
        "plaintext key in the database"
    );
}
