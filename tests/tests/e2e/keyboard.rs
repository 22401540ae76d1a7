//! The whole connect flow, and the Data Warehouse Manager of the connection's page, with the
//! keyboard alone (Tab, Shift+Tab, Enter, Space, Escape, →, typing; no pointer), every element
//! reached showing where the focus is.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;

use crate::harness::*;

/// Presses and releases `key` (with Shift held when `shift`) wherever the focus is.
async fn press(browser: &Browser, key: Key, shift: bool) {
    let mut keys = KeyActions::new("keyboard".into());
    if shift {
        keys = keys.then(KeyAction::Down {
            value: Key::Shift.into(),
        });
    }
    keys = keys
        .then(KeyAction::Down { value: key.into() })
        .then(KeyAction::Up { value: key.into() });
    if shift {
        keys = keys.then(KeyAction::Up {
            value: Key::Shift.into(),
        });
    }
    browser.c().perform_actions(keys).await.unwrap();
}

/// Types `text` into the focused element.
async fn type_text(browser: &Browser, text: &str) {
    let mut keys = KeyActions::new("keyboard".into());
    for ch in text.chars() {
        keys = keys
            .then(KeyAction::Down { value: ch })
            .then(KeyAction::Up { value: ch });
    }
    browser.c().perform_actions(keys).await.unwrap();
}

/// The focused element: its accessible text (label, value or content) and whether a focus
/// indicator is drawn (an outline or a box shadow).
async fn focused(browser: &Browser) -> (String, bool) {
    let v = browser
        .c()
        .execute(
            "const e = document.activeElement;
             if (!e || e === document.body) return ['', true];
             const s = getComputedStyle(e);
             const label = e.labels && e.labels.length ? e.labels[0].innerText : '';
             const name = (e.getAttribute('aria-label') || label || e.innerText || e.value || '')
                 .replace(/\\s+/g, ' ').trim();
             const drawn = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                 || s.boxShadow !== 'none';
             return [name, drawn];",
            vec![],
        )
        .await
        .unwrap();
    (
        v[0].as_str().unwrap_or_default().to_owned(),
        v[1].as_bool().unwrap_or(false),
    )
}

/// Presses Ctrl+A wherever the focus is (in a text field: selects all it holds).
async fn select_all(browser: &Browser) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down {
            value: Key::Control.into(),
        })
        .then(KeyAction::Down { value: 'a' })
        .then(KeyAction::Up { value: 'a' })
        .then(KeyAction::Up {
            value: Key::Control.into(),
        });
    browser.c().perform_actions(keys).await.unwrap();
}

/// Tabs forward until the focus is on an element named `name` (at most [`MAX_STOPS`] stops),
/// checking each stop on the way shows its focus.
async fn tab_to(browser: &Browser, name: &str) {
    tab_until(browser, name, false, |now| now == name).await;
}

/// Tabs backward (Shift+Tab) as [`tab_to`] forward.
async fn shift_tab_to(browser: &Browser, name: &str) {
    tab_until(browser, name, true, |now| now == name).await;
}

/// Tabs forward to the summary of `table`'s disclosure in the Data Warehouse Manager (named
/// "customers — 10 of 12 columns tracked", its counts changing with the ticks).
async fn tab_to_summary(browser: &Browser, table: &str) {
    let prefix = format!("{table} — ");
    tab_until(browser, table, false, |now| now.starts_with(&prefix)).await;
}

/// Stops Tab may pass on the way: the connection's page has three per synced table (its last
/// sync's time, Preview and CSV) before the Data Warehouse Manager and its open table's boxes.
const MAX_STOPS: usize = 80;

async fn tab_until(browser: &Browser, name: &str, shift: bool, reached: impl Fn(&str) -> bool) {
    let mut passed = Vec::new();
    for _ in 0..MAX_STOPS {
        press(browser, Key::Tab, shift).await;
        let (now, drawn) = focused(browser).await;
        assert!(drawn, "no visible focus on {now:?}");
        if reached(&now) {
            return;
        }
        passed.push(now);
    }
    panic!("Tab never reached {name:?}; it went through {passed:?}");
}

/// Signs the Admin in and connects Acme Corp (Stripe's pages, the emulator's, included) by
/// keyboard; back on Connections with the connection's row shown.
async fn admin_connects_acme_by_keyboard() -> (Process, String, tempfile::TempDir, Browser) {
    let (backend, addr, data) = backend(&[
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]);
    let base = format!("http://{addr}");
    let browser = Browser::start().await;
    browser.c().goto(&base).await.unwrap();
    browser.wait_for("//h1[normalize-space()='Sign in']").await;

    tab_to(&browser, "Email").await;
    type_text(&browser, ADMIN_EMAIL).await;
    tab_to(&browser, "Password").await;
    type_text(&browser, ADMIN_PASSWORD).await;
    press(&browser, Key::Enter, false).await;
    browser.wait_for(&button("Sign out")).await;

    // Admin > Connections; Escape closes the menu and gives the focus back to its button.
    tab_to(&browser, "Admin").await;
    press(&browser, Key::Enter, false).await;
    browser
        .wait_for("//button[normalize-space()='Admin'][@aria-expanded='true']")
        .await;
    press(&browser, Key::Escape, false).await;
    browser
        .wait_for("//button[normalize-space()='Admin'][@aria-expanded='false']")
        .await;
    assert_eq!(focused(&browser).await.0, "Admin");
    press(&browser, Key::Enter, false).await;
    tab_to(&browser, "Connections").await;
    press(&browser, Key::Enter, false).await;
    browser
        .wait_for("//h2[normalize-space()='Data Sources']")
        .await;

    tab_to(&browser, "Add a Data Source").await;
    press(&browser, Key::Enter, false).await;
    tab_to(&browser, "Stripe").await;
    press(&browser, Key::Enter, false).await;
    browser
        .wait_for("//h1[contains(normalize-space(), 'Stripe authorization')]")
        .await;
    tab_to(&browser, "Connect with Stripe").await;
    press(&browser, Key::Enter, false).await;

    // Stripe's pages (the emulator's), by keyboard too.
    browser
        .wait_for(&button("Sign in with Stripe to Continue"))
        .await;
    tab_to(&browser, "Sign in with Stripe to Continue").await;
    press(&browser, Key::Enter, false).await;
    browser.wait_for("//input[@id='email']").await;
    tab_to(&browser, "Email").await;
    type_text(&browser, "demo@example.com").await;
    tab_to(&browser, "Password").await;
    type_text(&browser, "demo-password").await;
    press(&browser, Key::Enter, false).await;

    connection_successful(&browser).await;
    browser.wait_for(ACME_ROW).await;

    (backend, base, data, browser)
}

#[tokio::test]
async fn an_admin_connects_stripe_with_the_keyboard_alone() {
    let (_backend, _base, _data, browser) = admin_connects_acme_by_keyboard().await;

    // The delete dialog opens on Enter and Escape closes it, deleting nothing.
    tab_to(&browser, "Delete Acme Corp").await;
    press(&browser, Key::Enter, false).await;
    browser.wait_for("//dialog[@open]").await;
    press(&browser, Key::Escape, false).await;
    browser.wait_for("//dialog[not(@open)]").await;
    browser.wait_for(ACME_ROW).await;

    // The connection's page: a table's preview opens on Enter, and its rows, wider than the page,
    // scroll sideways from the keyboard once the focus is on them.
    shift_tab_to(&browser, "Acme Corp").await;
    press(&browser, Key::Enter, false).await;
    browser
        .wait_for("//tr[@data-table='customers']//time")
        .await;
    tab_to(&browser, "Preview customers").await;
    press(&browser, Key::Enter, false).await;
    browser
        .wait_for("//div[@role='region'][@tabindex='0']//tbody/tr")
        .await;
    tab_to_preview_rows(&browser).await;
    press(&browser, Key::Right, false).await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left = browser
            .c()
            .execute("return document.activeElement.scrollLeft;", vec![])
            .await
            .unwrap();
        if left.as_f64().unwrap_or(0.0) > 0.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "→ did not scroll the preview"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.close().await;
}

/// Tabs forward until the focus is on the preview's scrolling region (at most 40 stops), checking
/// each stop shows its focus, that the region is wider than it shows and that the page is not.
async fn tab_to_preview_rows(browser: &Browser) {
    for _ in 0..40 {
        press(browser, Key::Tab, false).await;
        let (_, drawn) = focused(browser).await;
        let at = browser
            .c()
            .execute(
                "const e = document.activeElement, page = document.documentElement;
                 return e.matches('.preview [role=region]')
                     ? [e.scrollWidth > e.clientWidth, page.scrollWidth > page.clientWidth]
                     : null;",
                vec![],
            )
            .await
            .unwrap();
        assert!(drawn, "no visible focus on the way to the preview");
        if let Some(widths) = at.as_array() {
            assert_eq!(widths[0], true, "the preview's rows fit: nothing to scroll");
            assert_eq!(widths[1], false, "the preview widens the page");
            return;
        }
    }
    panic!("Tab never reached the preview's rows");
}

/// The Data Warehouse Manager's live status once a save went through.
const SAVED: &str = "//form[@class='warehouse-form']//p[@role='status'][@aria-live='polite']\
                     [normalize-space()='Data Warehouse settings saved.']";

/// The schema field as a refused name leaves it: marked invalid and described by the refusal.
const SCHEMA_REFUSED: &str = "//input[@id='warehouse-schema'][@aria-invalid='true']\
                              [contains(concat(' ', @aria-describedby, ' '), ' warehouse-error ')]";

/// The preview of customers once loaded, its header `email` shown or not.
fn customers_preview(email: bool) -> String {
    let has = if email { "" } else { "not" };
    format!(
        "//div[@class='preview'][h3[normalize-space()='First rows of customers']]\
         //thead[tr/th[normalize-space()='id']][{has}(tr/th[normalize-space()='email'])]"
    )
}

/// The JSON `GET path` answers, read from the page with the Admin's session (changing nothing).
async fn read_api(browser: &Browser, path: &str) -> serde_json::Value {
    browser
        .c()
        .execute_async(
            "const [path, done] = arguments;
             fetch(path, {headers: {Accept: 'application/json'}})
               .then(r => r.json())
               .then(done, e => done({failed: String(e)}));",
            vec![path.into()],
        )
        .await
        .unwrap()
}

/// What `GET /api/connections/1/warehouse` says now: the schema, and whether customers' `email`
/// is tracked (`None`: no such column yet).
async fn customers_email(browser: &Browser) -> (String, Option<bool>) {
    let w = read_api(browser, "/api/connections/1/warehouse").await;
    let tracked = w["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["name"] == "customers")
        .flat_map(|t| t["columns"].as_array().into_iter().flatten())
        .find(|c| c["name"] == "email")
        .and_then(|c| c["tracked"].as_bool());
    (w["schema"].as_str().unwrap_or_default().to_owned(), tracked)
}

/// What the focused text field holds.
async fn focused_value(browser: &Browser) -> String {
    let value = browser
        .c()
        .execute("return document.activeElement.value;", vec![])
        .await
        .unwrap();
    value.as_str().unwrap_or_default().to_owned()
}

/// The focused element is a checkbox, ticked or not.
async fn focused_box_ticked(browser: &Browser) -> bool {
    let ticked = browser
        .c()
        .execute(
            "const e = document.activeElement;
             return e.type === 'checkbox' ? e.checked : null;",
            vec![],
        )
        .await
        .unwrap();
    ticked.as_bool().expect("the focus is not on a checkbox")
}

#[tokio::test]
async fn an_admin_untracks_and_tracks_a_column_with_the_keyboard_alone() {
    let (_backend, _base, _data, browser) = admin_connects_acme_by_keyboard().await;

    // The manager loads the columns once, with the page: wait (reading the API, changing nothing)
    // until the first sync is over and has registered customers' `email`.
    let deadline = std::time::Instant::now() + WAIT;
    let schema = loop {
        let sync = read_api(&browser, "/api/connections/1/sync").await;
        match customers_email(&browser).await {
            (schema, Some(true)) if sync["status"] == "idle" => break schema,
            seen => assert!(
                std::time::Instant::now() < deadline,
                "no idle sync with customers.email tracked: {seen:?}, {sync}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };

    // The connection's page; customers' preview shows `email`.
    tab_to(&browser, "Acme Corp").await;
    press(&browser, Key::Enter, false).await;
    browser
        .wait_for("//tr[@data-table='customers']//time")
        .await;
    browser
        .wait_for("//details[@data-table='customers']//label[normalize-space()='email']")
        .await;
    tab_to(&browser, "Preview customers").await;
    press(&browser, Key::Enter, false).await;
    browser.wait_for(&customers_preview(true)).await;

    // 1. Customers' disclosure opens on Enter.
    tab_to_summary(&browser, "customers").await;
    press(&browser, Key::Enter, false).await;
    browser
        .wait_for("//details[@data-table='customers'][@open]")
        .await;

    // 2. `email` unticked with Space and saved with Enter: the status says so, the API says it is
    // untracked, and customers' preview (asked again) no longer has it.
    tab_to(&browser, "email").await;
    assert!(focused_box_ticked(&browser).await);
    press(&browser, Key::Space, false).await;
    assert!(!focused_box_ticked(&browser).await, "Space did not untick");
    tab_to(&browser, "Save").await;
    press(&browser, Key::Enter, false).await;
    browser.wait_for(SAVED).await;
    assert_eq!(focused(&browser).await, ("Save".to_owned(), true));
    assert_eq!(
        customers_email(&browser).await,
        (schema.clone(), Some(false))
    );
    shift_tab_to(&browser, "Preview customers").await;
    press(&browser, Key::Enter, false).await;
    browser.wait_for(&customers_preview(false)).await;

    // 3. A schema name the server refuses: worded in the error, the field marked invalid and
    // described by it, the focus still drawn on Save; nothing changed.
    tab_to(&browser, "Schema").await;
    select_all(&browser).await;
    type_text(&browser, "Bad Name!").await;
    assert_eq!(focused_value(&browser).await, "Bad Name!");
    tab_to(&browser, "Save").await;
    press(&browser, Key::Enter, false).await;
    browser
        .wait_for(
            "//p[@id='warehouse-error'][@role='alert']\
             [normalize-space()='A schema name uses lowercase letters, digits and underscores, \
             does not start with a digit and has at most 63 characters.']",
        )
        .await;
    browser.wait_for(SCHEMA_REFUSED).await;
    assert_eq!(focused(&browser).await, ("Save".to_owned(), true));
    browser
        .wait_for("//form[@class='warehouse-form']//p[@role='status'][normalize-space()='']")
        .await;
    assert_eq!(
        customers_email(&browser).await,
        (schema.clone(), Some(false))
    );

    // 4. The name put back, `email` ticked again and saved: the refusal goes, the API and the
    // preview have `email` again.
    shift_tab_to(&browser, "Schema").await;
    select_all(&browser).await;
    type_text(&browser, &schema).await;
    assert_eq!(focused_value(&browser).await, schema);
    tab_to(&browser, "email").await;
    assert!(!focused_box_ticked(&browser).await);
    press(&browser, Key::Space, false).await;
    assert!(focused_box_ticked(&browser).await, "Space did not tick");
    tab_to(&browser, "Save").await;
    press(&browser, Key::Enter, false).await;
    browser.wait_for(SAVED).await;
    browser
        .wait_for("//p[@id='warehouse-error'][normalize-space()='']")
        .await;
    browser
        .wait_for("//input[@id='warehouse-schema'][@aria-invalid='false']")
        .await;
    assert_eq!(customers_email(&browser).await, (schema, Some(true)));
    shift_tab_to(&browser, "Preview customers").await;
    press(&browser, Key::Enter, false).await;
    browser.wait_for(&customers_preview(true)).await;
    browser.close().await;
}
