//! The Stripe-conditions server answers as Stripe would, checked before the scenarios run (on
//! accounts of their own, so the scenarios' counters start clean): pages and cursors newest first,
//! `created` bounds against a brute-force filter (objects sharing a second included), `status=all`,
//! retrieval, Stripe's 400s and 401, and each of the three rate limits refusing exactly the
//! requests over it, with the reason Stripe gives.

use futures::future::join_all;
use serde_json::Value;
use url::Url;

use backend::stripe::http_client;
use backend::stripe::lists::StripeList;

use crate::objects::canceled;
use crate::stripe_account::{key, Account};
use crate::stripe_limits::{LIVE_ENDPOINT, LIVE_GLOBAL, TEST_GLOBAL};
use crate::stripe_server::StripeServer;

/// One `GET` of `path?query` with `key`: the status, the rate-limit reason and the JSON body.
async fn get(
    http: &oauth2::reqwest::Client,
    base: &Url,
    key: Option<&str>,
    path: &str,
    query: Vec<(&str, String)>,
) -> (u16, Option<String>, Value) {
    let mut request = http.get(base.join(path).expect("url")).query(&query);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("answer");
    let status = response.status().as_u16();
    let reason = response
        .headers()
        .get("stripe-rate-limited-reason")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = serde_json::from_slice(&response.bytes().await.expect("body")).expect("json");
    (status, reason, body)
}

/// The ids of a list answer.
fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|o| o["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Sends `count` requests to each path at once; the reasons of the 429s (one per refusal).
async fn burst(
    http: &oauth2::reqwest::Client,
    base: &Url,
    key: &str,
    paths: &[(&str, usize)],
) -> Vec<String> {
    let requests = paths.iter().flat_map(|(path, count)| {
        (0..*count).map(move |_| get(http, base, Some(key), path, vec![]))
    });
    join_all(requests)
        .await
        .into_iter()
        .filter(|(status, ..)| *status == 429)
        .map(|(_, reason, body)| {
            assert_eq!(body["error"]["code"], "rate_limit");
            reason.expect("Stripe-Rate-Limited-Reason")
        })
        .collect()
}

/// Which objects (index, creation time) a query should list.
type Keep = Box<dyn Fn(u64, i64) -> bool>;

/// Checks the server at `base`; panics on the first wrong answer.
pub async fn check_stripe_server(base: &Url, server: &StripeServer) {
    let http = http_client().expect("client");
    let (end, n) = (server.end, 250);
    let live = key(true, "check_pages", n);
    let account = Account::from_key(&live).expect("account");

    let (status, _, body) = get(&http, base, None, "v1/customers", vec![]).await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (401, Some("invalid_request_error"))
    );
    let (status, ..) = get(
        &http,
        base,
        Some("rk_live_bench_nobody"),
        "v1/customers",
        vec![],
    )
    .await;
    assert_eq!(status, 401);

    // Brute force: the ids of `list` newest first whose creation time passes `keep`.
    let expected = |list: StripeList, keep: &dyn Fn(u64, i64) -> bool, limit: usize| {
        (0..n)
            .rev()
            .filter(|i| keep(*i, account.created(end, *i)))
            .take(limit)
            .map(|i| account.id(list, i))
            .collect::<Vec<_>>()
    };
    // Object 100 shares its second with 99 and 101.
    let at = account.created(end, 100);
    assert_eq!(at, account.created(end, 99));
    assert_eq!(at, account.created(end, 101));
    let cases: Vec<(Vec<(&str, String)>, Keep)> = vec![
        (vec![], Box::new(|_, _| true)),
        (
            vec![("starting_after", account.id(StripeList::Customers, 150))],
            Box::new(|i, _| i < 150),
        ),
        (
            vec![("created[lte]", at.to_string())],
            Box::new(move |_, c| c <= at),
        ),
        (
            vec![("created[lt]", at.to_string())],
            Box::new(move |_, c| c < at),
        ),
        (
            vec![("created[gte]", at.to_string())],
            Box::new(move |_, c| c >= at),
        ),
        (
            vec![("created[gt]", at.to_string())],
            Box::new(move |_, c| c > at),
        ),
        (
            vec![("created", at.to_string())],
            Box::new(move |_, c| c == at),
        ),
        (
            vec![
                ("created[gte]", at.to_string()),
                ("created[lt]", (at + 30 * 86_400).to_string()),
                ("starting_after", account.id(StripeList::Customers, 105)),
            ],
            Box::new(move |i, c| i < 105 && c >= at && c < at + 30 * 86_400),
        ),
    ];
    let (client, live_key) = (&http, live.as_str());
    let answers = join_all(cases.iter().map(|(query, _)| {
        let mut query = query.clone();
        query.push(("limit", "100".to_owned()));
        get(client, base, Some(live_key), "v1/customers", query)
    }))
    .await;
    for ((query, keep), (status, _, body)) in cases.iter().zip(&answers) {
        assert_eq!(*status, 200, "{query:?}: {body}");
        let want = expected(StripeList::Customers, keep.as_ref(), 101);
        assert_eq!(ids(body), want[..want.len().min(100)], "{query:?}");
        assert_eq!(body["has_more"], want.len() > 100, "{query:?}");
    }
    let last_page = get(
        &http,
        base,
        Some(&live),
        "v1/customers",
        vec![
            ("limit", "100".into()),
            ("starting_after", account.id(StripeList::Customers, 50)),
        ],
    );
    let active = get(
        &http,
        base,
        Some(&live),
        "v1/subscriptions",
        vec![("limit", "100".into())],
    );
    let all = get(
        &http,
        base,
        Some(&live),
        "v1/subscriptions",
        vec![("limit", "100".into()), ("status", "all".into())],
    );
    let charge = get(
        &http,
        base,
        Some(&live),
        "v1/charges/ch_1Bench00000007",
        vec![],
    );
    let missing = get(
        &http,
        base,
        Some(&live),
        "v1/charges/ch_1Bench00000250",
        vec![],
    );
    let unknown = get(
        &http,
        base,
        Some(&live),
        "v1/charges",
        vec![("expand[]", "data.customer".into())],
    );
    let too_many = get(
        &http,
        base,
        Some(&live),
        "v1/charges",
        vec![("limit", "101".into())],
    );
    let (last_page, active, all, charge, missing, unknown, too_many) =
        tokio::join!(last_page, active, all, charge, missing, unknown, too_many);
    assert_eq!(ids(&last_page.2).len(), 50);
    assert_eq!(last_page.2["has_more"], false);
    assert!(ids(&active.2).iter().all(|id| {
        let i = account.index(StripeList::Subscriptions, id).expect("index");
        !canceled(i)
    }));
    assert_eq!(
        ids(&all.2),
        expected(StripeList::Subscriptions, &|_, _| true, 100)
    );
    assert_eq!(
        (charge.0, charge.2["id"].as_str()),
        (200, Some("ch_1Bench00000007"))
    );
    assert_eq!(charge.2["livemode"], true);
    assert_eq!(charge.2["created"], account.created(end, 7));
    assert_eq!(
        (missing.0, missing.2["error"]["code"].as_str()),
        (404, Some("resource_missing"))
    );
    assert_eq!(
        (unknown.0, unknown.2["error"]["code"].as_str()),
        (400, Some("parameter_unknown"))
    );
    assert_eq!(too_many.0, 400);

    // The limits: exactly the requests over each are refused, for the reason it names.
    let test = key(false, "check_test_rate", 10);
    let endpoint = key(true, "check_endpoint_rate", 10);
    let global = key(true, "check_global_rate", 10);
    let refused = tokio::join!(
        burst(&http, base, &test, &[("v1/customers", TEST_GLOBAL + 5)]),
        burst(&http, base, &endpoint, &[("v1/charges", LIVE_ENDPOINT + 5)]),
        burst(
            &http,
            base,
            &global,
            &[
                ("v1/customers", LIVE_ENDPOINT),
                ("v1/charges", LIVE_ENDPOINT),
                ("v1/coupons", LIVE_ENDPOINT),
                ("v1/invoices", LIVE_ENDPOINT),
                ("v1/plans", 5),
            ],
        ),
    );
    for (key, sent, refused, reason) in [
        (&test, TEST_GLOBAL + 5, refused.0, "global-rate"),
        (&endpoint, LIVE_ENDPOINT + 5, refused.1, "endpoint-rate"),
        (&global, LIVE_GLOBAL + 5, refused.2, "global-rate"),
    ] {
        assert_eq!(refused, vec![reason; 5], "{key}");
        let stats = server.stats(key);
        assert_eq!(stats.requests, sent as u64, "{key}");
        assert_eq!(stats.rate_limited, 5, "{key}: {stats:?}");
        assert_eq!(stats.in_flight, 0, "{key}");
    }
    // A second later the window is open again.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (status, reason, body) = get(&http, base, Some(&test), "v1/customers", vec![]).await;
    assert_eq!((status, reason), (200, None), "{body}");
}
