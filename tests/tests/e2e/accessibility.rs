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

/// What the walk looks for, in one language.
struct Labels {
    languages: &'static str,
    lang: &'static str,
    sign_in_title: &'static str,
    email: &'static str,
    password: &'static str,
    sign_in: &'static str,
    sign_out: &'static str,
    add_data_source: &'static str,
    stripe_authorization: &'static str,
    use_restricted_key: &'static str,
    restricted_api_key: &'static str,
    connect_with_key: &'static str,
    connect_with_stripe: &'static str,
    access_denied: &'static str,
    connection_successful: &'static str,
    data: &'static str,
    warehouse_manager: &'static str,
    save: &'static str,
    users: &'static str,
    delete: &'static str,
    cancel: &'static str,
    /// The Stripe (emulator) pages' buttons, in the browser's language as Stripe's own.
    stripe_continue: &'static str,
    stripe_deny: &'static str,
    stripe_sign_in: &'static str,
}

const ENGLISH: Labels = Labels {
    languages: "en-US,en",
    lang: "en",
    sign_in_title: "Sign in",
    email: "Email",
    password: "Password",
    sign_in: "Sign in",
    sign_out: "Sign out",
    add_data_source: "Add a Data Source",
    stripe_authorization: "Stripe authorization",
    use_restricted_key: "Use a restricted API key",
    restricted_api_key: "Restricted API key",
    connect_with_key: "Connect with key",
    connect_with_stripe: "Connect with Stripe",
    access_denied: "Access to Stripe was not granted",
    connection_successful: "Connection Successful!",
    data: "Data",
    warehouse_manager: "Data Warehouse Manager",
    save: "Save",
    users: "Users",
    delete: "Delete",
    cancel: "Cancel",
    stripe_continue: "Sign in with Stripe to Continue",
    stripe_deny: "Deny access",
    stripe_sign_in: "Sign in to your account",
};

const ITALIAN: Labels = Labels {
    languages: "it-IT,it",
    lang: "it",
    sign_in_title: "Accedi",
    email: "Email",
    password: "Password",
    sign_in: "Accedi",
    sign_out: "Esci",
    add_data_source: "Aggiungi un'origine dati",
    stripe_authorization: "Autorizzazione Stripe",
    use_restricted_key: "Usa una chiave API con restrizioni",
    restricted_api_key: "Chiave API con restrizioni",
    connect_with_key: "Connetti con la chiave",
    connect_with_stripe: "Connetti con Stripe",
    access_denied: "L'accesso a Stripe non è stato concesso",
    connection_successful: "Connessione riuscita!",
    data: "Dati",
    warehouse_manager: "Gestione del data warehouse",
    save: "Salva",
    users: "Utenti",
    delete: "Elimina",
    cancel: "Annulla",
    stripe_continue: "Accedi con Stripe per continuare",
    stripe_deny: "Nega l'accesso",
    stripe_sign_in: "Accedi al tuo account",
};

/// English sentences and labels of the app an Italian admin must never meet (the product's
/// visible text on the pages walked; names such as Stripe, Email, Password, CSV are the same in
/// both languages and not listed).
const ENGLISH_ONLY: &[&str] = &[
    "Connections",
    "Data Sources",
    "Add a Data Source",
    "Connect with Stripe",
    "Stripe authorization",
    "Connection Successful!",
    "Sign in",
    "Sign out",
    "Loading",
    "Last Connection Started",
    "Last Connection Duration",
    "Status",
    "Action",
    "Success",
    "Test connection",
    "Delete",
    "Force an update",
    "Rows",
    "Last synced",
    "Users",
    "Host keys",
    "Role",
    "Name",
    "Never",
    "ago",
    "seconds",
    "minutes",
    "Try again",
    "Dismiss",
    "Restricted API key",
    "History",
    "Language",
    "Skip to content",
    "Preview",
    "Progress",
    "Table",
    "Up to date",
    "Data Warehouse Manager",
    "Column",
    "Tracked",
    "columns tracked",
    "Save",
];

/// `{xpath}` for an element whose normalised text is `text` (quotes in `text` handled).
fn with_text(element: &str, text: &str) -> String {
    format!("//{element}[normalize-space()={}]", xpath_literal(text))
}

fn xpath_literal(text: &str) -> String {
    if text.contains('\'') {
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}

/// Fails when the page's visible text holds one of [`ENGLISH_ONLY`] (whole words).
async fn assert_no_english(browser: &Browser, state: &str, seen: &mut Vec<String>) {
    let text = browser
        .c()
        .execute("return document.body.innerText;", vec![])
        .await
        .unwrap();
    let text = text.as_str().unwrap_or_default();
    for phrase in ENGLISH_ONLY {
        let found = text.match_indices(phrase).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = text[i + phrase.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        });
        if found {
            seen.push(format!("{state}: English text {phrase:?}"));
        }
    }
}

/// Walks every page and state on the way to a connection in the browser's language `l`, running
/// axe-core in each (and, in Italian, looking for English words).
async fn walk(l: &Labels) {
    let (_backend, addr, _data) = backend(&[
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]);
    let base = format!("http://{addr}");
    let browser = Browser::start_preferring(l.languages).await;
    let mut seen = Vec::new();
    let english = l.lang == "en";

    browser.c().goto(&base).await.unwrap();
    browser.wait_for(&with_text("h1", l.sign_in_title)).await;
    browser
        .wait_for(&format!("/html[@lang='{}']", l.lang))
        .await;
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
    macro_rules! checked {
        ($state:expr) => {{
            let state: &str = $state;
            assert_accessible(&browser, state, &mut seen).await;
            if !english {
                assert_no_english(&browser, state, &mut seen).await;
            }
        }};
    }
    checked!("sign-in");
    // A failed sign-in: the error tied to the form.
    browser.type_into_labelled(l.email, ADMIN_EMAIL).await;
    browser
        .type_into_labelled(l.password, "not the password")
        .await;
    browser.click(&with_text("button", l.sign_in)).await;
    browser.wait_for("//*[@role='alert']").await;
    checked!("sign-in, refused");

    browser.c().goto(&base).await.unwrap();
    browser.type_into_labelled(l.email, ADMIN_EMAIL).await;
    browser.type_into_labelled(l.password, ADMIN_PASSWORD).await;
    browser.click(&with_text("button", l.sign_in)).await;
    browser.wait_for(&with_text("button", l.sign_out)).await;
    browser
        .c()
        .goto(&format!("{base}/admin/connections"))
        .await
        .unwrap();
    browser
        .wait_for("//tbody/tr[contains(@class,'empty-state')]")
        .await;
    checked!("connections, empty");

    browser.click(&with_text("button", l.add_data_source)).await;
    browser.wait_for(&button("Stripe")).await;
    checked!("the picker");

    browser.click(&button("Stripe")).await;
    browser
        .wait_for(&format!(
            "//h1[contains(normalize-space(), {})]",
            xpath_literal(l.stripe_authorization)
        ))
        .await;
    checked!("Stripe authorization");
    browser
        .click(&with_text("summary", l.use_restricted_key))
        .await;
    let field = browser
        .wait_for(&format!(
            "//input[@id=//label[normalize-space()={}]/@for]",
            xpath_literal(l.restricted_api_key)
        ))
        .await;
    checked!("Stripe authorization, restricted key");
    field
        .send_keys("sk_test_not_a_restricted_key")
        .await
        .unwrap();
    browser
        .click(&with_text("button", l.connect_with_key))
        .await;
    browser.wait_for("//*[@role='alert']").await;
    checked!("restricted key refused");

    // Denied on Stripe's page (the emulator's, English like Stripe's own): the error banner.
    browser
        .c()
        .goto(&format!("{base}/admin/connections/new/stripe"))
        .await
        .unwrap();
    browser
        .click(&with_text("button", l.connect_with_stripe))
        .await;
    browser.click(&with_text("button", l.stripe_deny)).await;
    browser
        .wait_for(&format!(
            "//*[@role='alert']//p[contains(., {})]",
            xpath_literal(l.access_denied)
        ))
        .await;
    checked!("connections, error banner");

    browser
        .c()
        .goto(&format!("{base}/admin/connections/new/stripe"))
        .await
        .unwrap();
    browser
        .click(&with_text("button", l.connect_with_stripe))
        .await;
    // Stripe's pages speak the browser's language too (the emulator's, as Stripe's own).
    browser.click(&with_text("button", l.stripe_continue)).await;
    browser.wait_for("//input[@id='email']").await;
    if !english {
        assert_no_english(&browser, "Stripe's sign-in page", &mut seen).await;
    }
    browser.type_into("email", "demo@example.com").await;
    browser.type_into("password", "demo-password").await;
    browser.click(&with_text("button", l.stripe_sign_in)).await;
    browser
        .wait_for(&format!(
            "//*[@role='status']//p[normalize-space()={}]",
            xpath_literal(l.connection_successful)
        ))
        .await;
    browser.wait_for(ACME_ROW).await;
    checked!("connections, success banner and a row");

    // The delete dialog, then Cancel.
    browser
        .click(&format!("{ACME_ROW}{}", with_text("button", l.delete)))
        .await;
    browser.wait_for("//dialog[@open]").await;
    checked!("the delete dialog");
    browser
        .click(&format!("//dialog{}", with_text("button", l.cancel)))
        .await;
    browser.wait_for("//dialog[not(@open)]").await;

    browser.click(&format!("{ACME_ROW}//th//a")).await;
    browser.wait_for(&with_text("h2", l.data)).await;
    checked!("a connection's page and its Data");

    // A table's preview once synced: the warehouse's columns in a region that scrolls sideways.
    browser
        .wait_for("//tr[@data-table='customers']//time")
        .await;
    browser.click("//tr[@data-table='customers']//button").await;
    browser
        .wait_for("//div[@role='region'][@tabindex='0']//thead//th[1][normalize-space()='id']")
        .await;
    browser
        .wait_for("//div[@role='region']//thead//th[last()][normalize-space()='deleted']")
        .await;
    checked!("a table's preview");

    // The Data Warehouse Manager: a table's columns disclosed, then a schema name refused.
    browser
        .wait_for(&with_text("h2", l.warehouse_manager))
        .await;
    let schema = browser.wait_for("//input[@id='warehouse-schema']").await;
    browser
        .click("//details[@data-table='customers']/summary")
        .await;
    browser
        .wait_for("//details[@data-table='customers'][@open]//input[@type='checkbox']")
        .await;
    checked!("the Data Warehouse Manager, a table open");
    schema.clear().await.unwrap();
    schema.send_keys("Not a schema").await.unwrap();
    browser.click(&with_text("button", l.save)).await;
    browser
        .wait_for("//p[@id='warehouse-error'][normalize-space()!='']")
        .await;
    checked!("the Data Warehouse Manager, a schema name refused");

    browser
        .c()
        .goto(&format!("{base}/admin/users"))
        .await
        .unwrap();
    browser.wait_for(&with_text("h1", l.users)).await;
    checked!("users");

    browser.close().await;
    assert!(seen.is_empty(), "found:\n{}", seen.join("\n"));
}

#[tokio::test]
async fn every_page_and_state_on_the_way_to_a_connection_meets_wcag_2_2_aa() {
    walk(&ENGLISH).await;
}

#[tokio::test]
async fn a_browser_preferring_italian_gets_every_page_in_italian_and_still_wcag_2_2_aa() {
    walk(&ITALIAN).await;
}

#[tokio::test]
async fn the_language_picked_in_the_user_menu_is_kept_for_the_user_across_browsers() {
    let (_backend, addr, _data) = backend(&[
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]);
    let base = format!("http://{addr}");
    let browser = Browser::start().await;
    sign_in(&browser, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.wait_for("/html[@lang='en']").await;
    // Italiano in the user menu: the app comes back in Italian.
    browser
        .click("//select[@id=//label[normalize-space()='Language']/@for]/option[@value='it']")
        .await;
    browser.wait_for("/html[@lang='it']").await;
    browser.wait_for(&with_text("button", "Esci")).await;
    browser
        .wait_for("//select[@id='language']/option[@value='it'][@selected]")
        .await;
    browser.close().await;
    // Another browser, preferring English: the user's choice wins once signed in.
    let other = Browser::start().await;
    other.c().goto(&base).await.unwrap();
    other.wait_for(&with_text("h1", "Sign in")).await;
    other.type_into_labelled("Email", ADMIN_EMAIL).await;
    other.type_into_labelled("Password", ADMIN_PASSWORD).await;
    other.click(&with_text("button", "Sign in")).await;
    other.wait_for("/html[@lang='it']").await;
    other
        .c()
        .goto(&format!("{base}/admin/connections"))
        .await
        .unwrap();
    other.wait_for(&with_text("h2", "Origini dati")).await;
    // Back to the browser's language.
    other
        .click("//select[@id=//label[normalize-space()='Lingua']/@for]/option[@value='']")
        .await;
    other.wait_for("/html[@lang='en']").await;
    other.wait_for(&with_text("h2", "Data Sources")).await;
    other.close().await;
}
