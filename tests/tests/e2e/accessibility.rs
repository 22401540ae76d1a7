//! WCAG 2.2 AA, checked by axe-core (npm `axe-core`, installed by `scripts/setup.sh` into `.tools/`)
//! run inside the page on every page and state an admin meets on the way to a connection.

use crate::harness::*;

/// axe-core's tags for the WCAG 2.0, 2.1 and 2.2 A and AA rules.
const WCAG_AA: &str = "['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22a','wcag22aa']";

/// axe-core's source, as `scripts/setup.sh` installs it.
fn axe_source() -> String {
    let path = workspace().join(".tools/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} — run scripts/setup.sh (it installs axe-core)",
            path.display()
        )
    })
}

/// The WCAG A/AA violations axe-core finds in the page as it is now, one line per element.
pub async fn axe_violations(browser: &Browser) -> Vec<String> {
    let c = browser.c();
    c.execute(&axe_source(), vec![]).await.unwrap();
    let script = format!(
        "const done = arguments[arguments.length - 1];
         axe.run(document, {{ runOnly: {{ type: 'tag', values: {WCAG_AA} }},
                             resultTypes: ['violations'] }})
           .then(r => done(r.violations.flatMap(v => v.nodes.map(n =>
               v.id + ' (' + v.impact + '): ' + v.help + ' — ' + n.target.join(' ') + ' — '
               + (n.failureSummary || '').replace(/\\s+/g, ' ')))))
           .catch(e => done(['axe failed: ' + e]));"
    );
    let found = c.execute_async(&script, vec![]).await.unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Fails with every violation of the page, named by `state`.
pub async fn assert_accessible(browser: &Browser, state: &str, seen: &mut Vec<String>) {
    for v in axe_violations(browser).await {
        seen.push(format!("{state}: {v}"));
    }
}

#[tokio::test]
async fn every_page_and_state_on_the_way_to_a_connection_meets_wcag_2_2_aa() {
    let (_backend, addr, _data) = backend(&[
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]);
    let base = format!("http://{addr}");
    let browser = Browser::start().await;
    let mut seen = Vec::new();

    browser.c().goto(&base).await.unwrap();
    browser.wait_for("//h1[normalize-space()='Sign in']").await;
    // The checker itself: an image without a text alternative, put in and taken out again.
    browser
        .c()
        .execute(
            "const i = document.createElement('img'); i.id = 'axe-probe'; i.src = 'data:,';
             document.body.appendChild(i);",
            vec![],
        )
        .await
        .unwrap();
    let probe = axe_violations(&browser).await;
    assert!(
        probe
            .iter()
            .any(|v| v.starts_with("image-alt") && v.contains("#axe-probe")),
        "axe-core does not run: {probe:?}"
    );
    browser
        .c()
        .execute("document.getElementById('axe-probe').remove();", vec![])
        .await
        .unwrap();
    assert_accessible(&browser, "sign-in", &mut seen).await;
    // A failed sign-in: the error tied to the form.
    browser.type_into_labelled("Email", ADMIN_EMAIL).await;
    browser
        .type_into_labelled("Password", "not the password")
        .await;
    browser.click(&button("Sign in")).await;
    browser.wait_for("//*[@role='alert']").await;
    assert_accessible(&browser, "sign-in, refused", &mut seen).await;

    sign_in(&browser, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser
        .c()
        .goto(&format!("{base}/admin/connections"))
        .await
        .unwrap();
    browser
        .wait_for("//tbody/tr[contains(@class,'empty-state')]")
        .await;
    assert_accessible(&browser, "connections, empty", &mut seen).await;

    browser.click(&button("Add a Data Source")).await;
    browser.wait_for(&button("Stripe")).await;
    assert_accessible(&browser, "the picker", &mut seen).await;

    browser.click(&button("Stripe")).await;
    browser
        .wait_for("//h1[contains(normalize-space(), 'Stripe authorization')]")
        .await;
    assert_accessible(&browser, "Stripe authorization", &mut seen).await;
    browser
        .click("//summary[normalize-space()='Use a restricted API key']")
        .await;
    let field = browser
        .wait_for("//input[@id=//label[normalize-space()='Restricted API key']/@for]")
        .await;
    assert_accessible(&browser, "Stripe authorization, restricted key", &mut seen).await;
    field
        .send_keys("sk_test_not_a_restricted_key")
        .await
        .unwrap();
    browser.click(&button("Connect with key")).await;
    browser.wait_for("//*[@role='alert']").await;
    assert_accessible(&browser, "restricted key refused", &mut seen).await;

    // Denied on Stripe's page: the error banner.
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
    assert_accessible(&browser, "connections, error banner", &mut seen).await;

    connect_stripe(&browser, &base, "demo@example.com", "demo-password").await;
    connection_successful(&browser).await;
    browser.wait_for(ACME_ROW).await;
    assert_accessible(&browser, "connections, success banner and a row", &mut seen).await;

    browser.click(&format!("{ACME_ROW}//th//a")).await;
    browser.wait_for("//h2[normalize-space()='Data']").await;
    assert_accessible(&browser, "a connection's page and its Data", &mut seen).await;

    browser
        .c()
        .goto(&format!("{base}/admin/users"))
        .await
        .unwrap();
    browser.wait_for("//h1[normalize-space()='Users']").await;
    assert_accessible(&browser, "users", &mut seen).await;

    browser.close().await;
    assert!(seen.is_empty(), "axe-core found:\n{}", seen.join("\n"));
}
