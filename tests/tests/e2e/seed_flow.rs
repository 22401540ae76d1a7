//! The seed flow and a connection you can trust, in a real browser.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::Locator;

use crate::harness::*;

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
async fn classic_connect_works_against_any_stripe_compatible_server_and_never_leaks_the_key() {
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
        ("STRIPE_OAUTH", "connect"),
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
        .wait_for("//table[contains(@class,'audit')]//th[normalize-space()='Access revoked']")
        .await;
    browser
        .wait_for("//table[contains(@class,'audit')]//th[normalize-space()='Re-authenticated']")
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
        .wait_for("//*[@role='status']//p[starts-with(normalize-space(), 'Acme Corp was deleted.')][contains(., 'uninstall the app in Stripe')]")
        .await;
    browser
        .wait_for("//tbody/tr[contains(@class,'empty-state')]")
        .await;
    browser.close().await;
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
                ("STRIPE_OAUTH", "connect"),
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
