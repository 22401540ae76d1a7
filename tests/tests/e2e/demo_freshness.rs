//! Demo mode shows freshness: with the connection's page open, **Add a customer** on the
//! emulator's page reaches the page by itself — its `customers` row count goes up — within about a
//! second, without a reload.

use std::time::{Duration, Instant};

use crate::harness::*;

/// The customers row's count cell on the connection's page.
const CUSTOMERS_ROWS: &str = "//tr[@data-table='customers']/td[contains(@class,'number')]";
/// The "Fresh as of" line of the Data section.
const FRESH: &str = "//section[contains(@class,'data-section')]//p[contains(@class,'fresh-as-of')]";

async fn text_of(browser: &Browser, xpath: &str) -> String {
    browser
        .wait_for(xpath)
        .await
        .text()
        .await
        .unwrap_or_default()
}

#[tokio::test]
async fn a_change_made_on_the_emulators_page_shows_on_the_connections_page_by_itself() {
    let (backend, base, _data, browser) = signed_in_admin_with_acme().await;
    browser
        .c()
        .goto(&format!("{base}/admin/connections/1"))
        .await
        .unwrap();
    // The first sync completes: every table is fresh as of its start.
    let deadline = Instant::now() + WAIT;
    let before = loop {
        let fresh = text_of(&browser, FRESH).await;
        if fresh.starts_with("Fresh as of ") {
            break text_of(&browser, CUSTOMERS_ROWS).await;
        }
        assert!(Instant::now() < deadline, "the first sync never completed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let before: i64 = before.trim().parse().unwrap();

    // The account owner adds a customer on the emulator's page (a form post, as the page sends).
    let addr = base.trim_start_matches("http://").to_owned();
    let made = Instant::now();
    let answer = post_form(
        &addr,
        "/stripe-emulator/demo-changes",
        "account=acct_1DemoAcmeCorp0001&change=customer",
    );
    assert!(answer.contains("200"), "{answer}\n{}", backend.output());
    let shown = loop {
        let rows: i64 = text_of(&browser, CUSTOMERS_ROWS)
            .await
            .trim()
            .parse()
            .unwrap_or(before);
        if rows == before + 1 {
            break made.elapsed();
        }
        assert!(
            made.elapsed() < Duration::from_secs(10),
            "the new customer never showed\n{}",
            backend.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("a new customer showed on the open page {shown:?} after it was made");
    // Within a second and a half: a second of polling at most, plus the webhook's way (a loaded
    // CI machine gets that half second).
    assert!(shown < Duration::from_millis(1500), "{shown:?}");
    // The connection's freshness is its oldest table's: one customer moves only `customers`'.
    assert!(text_of(&browser, FRESH).await.starts_with("Fresh as of "));
    browser.close().await;
}
