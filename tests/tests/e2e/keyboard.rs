//! The whole connect flow with the keyboard alone (Tab, Shift+Tab, Enter, Escape, →; no pointer),
//! every element reached showing where the focus is.

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

/// Tabs forward until the focus is on an element named `name` (at most 40 stops), checking each
/// stop on the way shows its focus.
async fn tab_to(browser: &Browser, name: &str) {
    tab_until(browser, name, false).await;
}

/// Tabs backward (Shift+Tab) as [`tab_to`] forward.
async fn shift_tab_to(browser: &Browser, name: &str) {
    tab_until(browser, name, true).await;
}

async fn tab_until(browser: &Browser, name: &str, shift: bool) {
    let mut passed = Vec::new();
    for _ in 0..40 {
        press(browser, Key::Tab, shift).await;
        let (now, drawn) = focused(browser).await;
        assert!(drawn, "no visible focus on {now:?}");
        if now == name {
            return;
        }
        passed.push(now);
    }
    panic!("Tab never reached {name:?}; it went through {passed:?}");
}

#[tokio::test]
async fn an_admin_connects_stripe_with_the_keyboard_alone() {
    let (_backend, addr, _data) = backend(&[
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
