//! A copy of the engine's page loop with a stopwatch around each step: where a backfill's time
//! goes (fetch, parse, commit, finish), and what reading the next page during a commit would give.

use backend::ids::ConnectionId;
use std::time::{Duration, Instant};

use backend::state::AppState;
use backend::store::{self, JobEnd, Lease};
use backend::stripe::client::STRIPE_VERSION;
use backend::stripe::lists::StripeList;
use backend::sync::engine::{CURSOR_OVERLAP_SECS, LEASE_SECS};
use serde_json::Value;
use url::Url;

use crate::spec::KEY;

/// The answer to a list read, as the client parses it.
#[derive(serde::Deserialize)]
pub struct PageAnswer {
    pub data: Vec<Value>,
    pub has_more: bool,
}

/// Where a backfill's time goes.
#[derive(Default)]
pub struct Split {
    /// Sending the request and reading the answer's bytes (includes the server's work).
    pub fetch: Duration,
    /// Parsing the answer into `serde_json::Value`s.
    pub parse: Duration,
    /// `store::Prepared::new`: each object's JSON text and typed row (the sync's readers do it).
    pub prepare: Duration,
    /// `store::commit_pages` (SQL text, the multi-row upserts of the JSON and the typed rows, the
    /// checkpoint, the commit).
    pub commit: Duration,
    /// `store::finish_table`.
    pub finish: Duration,
    pub pages: u64,
    pub objects: u64,
}

/// One page of `list` after `after`, as the client reads it (the answer's bytes).
pub async fn fetch_page(
    http: oauth2::reqwest::Client,
    api: Url,
    list: StripeList,
    after: Option<String>,
) -> axum::body::Bytes {
    let url = api.join(&list.path()[1..]).expect("url");
    let mut query = vec![("limit", "100")];
    query.extend_from_slice(list.base_query());
    if let Some(after) = &after {
        query.push(("starting_after", after));
    }
    http.get(url)
        .query(&query)
        .bearer_auth(KEY)
        .header("Stripe-Version", STRIPE_VERSION)
        .send()
        .await
        .expect("answer")
        .error_for_status()
        .expect("status")
        .bytes()
        .await
        .expect("body")
}

/// The engine's page loop, copied with a stopwatch around each step (same client, same store
/// calls, same lease): a backfill of `connection`. `prefetch`: the next page is read while this one
/// commits (not what the engine does; what it could do), and `fetch` is then the wait for it.
pub async fn timed_backfill(
    state: &AppState,
    connection: i64,
    prefetch: bool,
) -> (Duration, Split) {
    store::enqueue_sync(
        &state.pool,
        ConnectionId(connection),
        state.clock.now(),
        true,
    )
    .await
    .expect("enqueue");
    let owner = "bench:timed";
    let now = state.clock.now();
    let job = store::claim_sync_job(&state.pool, owner, now, now + LEASE_SECS)
        .await
        .expect("claim")
        .expect("a job");
    let lease = |now: i64| Lease {
        job_id: job.id,
        owner,
        now,
        until: now + LEASE_SECS,
    };
    let mut split = Split::default();
    let started = Instant::now();
    let began = now;
    store::begin_full_pass(
        &state.pool,
        lease(now),
        ConnectionId(connection),
        now - CURSOR_OVERLAP_SECS,
    )
    .await
    .expect("begin")
    .expect("lease held");
    for list in StripeList::ALL {
        let mut after: Option<String> = None;
        store::begin_ranges(
            &state.pool,
            lease(state.clock.now()),
            ConnectionId(connection),
            list,
        )
        .await
        .expect("ranges")
        .expect("lease held");
        let mut next: Option<tokio::task::JoinHandle<axum::body::Bytes>> = None;
        loop {
            let t = Instant::now();
            let bytes = match next.take() {
                Some(prefetched) => prefetched.await.expect("prefetch"),
                None => {
                    fetch_page(
                        state.http().clone(),
                        state.stripe.api_url().clone(),
                        list,
                        after.clone(),
                    )
                    .await
                }
            };
            split.fetch += t.elapsed();
            let t = Instant::now();
            let page: PageAnswer = serde_json::from_slice(&bytes).expect("page");
            drop(bytes);
            split.parse += t.elapsed();
            after = page
                .data
                .last()
                .and_then(|o| o["id"].as_str())
                .map(str::to_owned);
            if prefetch && page.has_more && after.is_some() {
                next = Some(tokio::spawn(fetch_page(
                    state.http().clone(),
                    state.stripe.api_url().clone(),
                    list,
                    after.clone(),
                )));
            }
            let t = Instant::now();
            let done = !page.has_more || page.data.is_empty();
            let objects = store::Prepared::new(list, &page.data, state.clock.now());
            drop(page.data);
            split.prepare += t.elapsed();
            let t = Instant::now();
            let lease = lease(state.clock.now());
            let written = store::commit_pages(
                &state.pool,
                &[store::RangePage {
                    lease,
                    connection_id: ConnectionId(connection),
                    list,
                    range: store::UNBOUNDED_HI,
                    objects: &objects,
                    done,
                }],
            )
            .await
            .expect("commit");
            assert_eq!(written, [true], "lease held");
            split.commit += t.elapsed();
            split.pages += 1;
            split.objects += objects.len() as u64;
            if done {
                let t = Instant::now();
                let reconcile = list != StripeList::Events;
                assert!(store::finish_table(
                    &state.pool,
                    lease,
                    ConnectionId(connection),
                    list,
                    began,
                    reconcile
                )
                .await
                .expect("finish"));
                split.finish += t.elapsed();
                break;
            }
        }
    }
    assert!(store::advance_events(
        &state.pool,
        lease(state.clock.now()),
        ConnectionId(connection),
        None
    )
    .await
    .expect("advance"));
    let took = started.elapsed();
    let now = state.clock.now();
    store::finish_sync_job(&state.pool, job.id, owner, JobEnd::Done, now)
        .await
        .expect("finish job");
    (took, split)
}

pub fn pct(part: Duration, whole: Duration) -> f64 {
    100.0 * part.as_secs_f64() / whole.as_secs_f64()
}
