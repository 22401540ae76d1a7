//! The sync's pace toward Stripe, per connection: its share of the account's allowance in total
//! and per endpoint, awaited before each request, and slowed where Stripe says it is over.
//!
//! Stripe limits each account on its own (live: 100 requests/s in total, 25/s per endpoint; test:
//! 25/s in total). The sync takes a share (`SYNC_RATE_LIMIT`, 80/s live and 20/s test by default)
//! and the same share of each endpoint's limit, leaving the rest to the merchant. Requests are
//! spaced evenly, with a bucket of a tenth of a second's worth to make up for a moment when none
//! was ready, so no second ever holds more than 110 % of the share — under Stripe's limit.
//!
//! A 429 slows the dimension its `Stripe-Rate-Limited-Reason` names — the endpoint's pace for
//! `endpoint-*` and `resource-specific`, the connection's for `global-*` or no reason — by half
//! (at most once a second, so a burst of refusals in flight halves it once), and the pace grows
//! back by a tenth of the share each second without one: additive increase, multiplicative
//! decrease.
//!
//! The buckets live in this process: a connection's job runs on one worker at a time, so one
//! process paces it. Hand-written rather than a crate: the limiter must know Stripe's dimensions
//! and adapt to its refusals, which the rate-limiting crates do not, and it is a few lines on
//! tokio's clock (which tests can pause).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::ids::ConnectionId;
use crate::stripe::lists::StripeList;
use crate::stripe::LimitReason;

/// Requests per second a sync makes by default in test mode (Stripe allows 25).
pub const TEST_MODE_RATE: f64 = 20.0;
/// Requests per second a sync makes by default in live mode (Stripe allows 100).
pub const LIVE_MODE_RATE: f64 = 80.0;
/// Stripe's live-mode limit of one endpoint as a share of the account's (25 of 100).
const ENDPOINT_SHARE: f64 = 0.25;
/// The pace never drops below this share of the configured one.
const MIN_FACTOR: f64 = 0.05;
/// The pace grows back by this share of the configured one each second.
const RECOVERY_PER_SEC: f64 = 0.1;
/// Refusals closer together than this halve the pace once.
const DECREASE_EVERY: Duration = Duration::from_secs(1);

/// A connection's share of its account's allowance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Requests per second in total.
    pub total: f64,
    /// Requests per second to one endpoint.
    pub endpoint: f64,
}

/// The rates for a connection: `SYNC_RATE_LIMIT` when set, else by its mode; an endpoint gets a
/// quarter of the total in live mode (as Stripe's 25 of 100), the total in test mode (where Stripe
/// has no endpoint limit below its 25 in total).
pub fn rates_for(livemode: bool, configured: Option<f64>) -> Rates {
    let total = configured
        .filter(|r| r.is_finite() && *r > 0.0)
        .unwrap_or(if livemode {
            LIVE_MODE_RATE
        } else {
            TEST_MODE_RATE
        });
    Rates {
        total,
        endpoint: if livemode {
            total * ENDPOINT_SHARE
        } else {
            total
        },
    }
}

/// One endpoint: a method and path template (`GET /v1/customers`, `GET /v1/customers/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /v1/{list}`.
    List(StripeList),
    /// `GET /v1/invoices/{id}/lines`, `GET /v1/subscription_items`: a list's children.
    Children(StripeList),
    /// `GET /v1/{list}/{id}`.
    Retrieve(StripeList),
}

/// Requests a bucket holds at most: a tenth of a second's worth (at least one), so a moment when
/// no request was ready to go is made up for, while no second ever holds more than 110 % of the
/// rate (88 of Stripe's 100 live, 22 of its 25 per endpoint and in test mode).
fn burst(rate: f64) -> f64 {
    (rate / 10.0).max(1.0)
}

/// A pace that halves on a refusal and grows back with time.
#[derive(Debug)]
struct Pace {
    /// Requests that may go now: at most [`burst`] of them.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
    /// The share of the configured rate right after the last decrease.
    factor: f64,
    /// When the last decrease was.
    decreased: Option<Instant>,
}

impl Pace {
    fn new(now: Instant) -> Self {
        Self {
            tokens: 1.0,
            at: now,
            factor: 1.0,
            decreased: None,
        }
    }

    /// The share of the configured rate in force now.
    fn factor(&self, now: Instant) -> f64 {
        match self.decreased {
            None => 1.0,
            Some(at) => {
                let grown = now.saturating_duration_since(at).as_secs_f64() * RECOVERY_PER_SEC;
                (self.factor + grown).min(1.0)
            }
        }
    }

    /// Brings the tokens up to `now` at `rate`; how long until one is available.
    fn wait(&mut self, now: Instant, rate: f64) -> Duration {
        let rate = rate * self.factor(now);
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst(rate));
        self.at = now;
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / rate)
        }
    }

    fn slow_down(&mut self, now: Instant) {
        if self
            .decreased
            .is_some_and(|at| now.saturating_duration_since(at) < DECREASE_EVERY)
        {
            return;
        }
        self.factor = (self.factor(now) / 2.0).max(MIN_FACTOR);
        self.decreased = Some(now);
        // The next request waits a whole interval at the new pace.
        self.tokens = self.tokens.min(0.0);
    }
}

/// A connection's paces: in total and per endpoint.
#[derive(Debug)]
struct Connection {
    total: Pace,
    endpoints: HashMap<Endpoint, Pace>,
}

/// The paces of every connection syncing in this process.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    connections: Arc<Mutex<HashMap<ConnectionId, Connection>>>,
}

impl Limits {
    fn with<T>(
        &self,
        connection: ConnectionId,
        f: impl FnOnce(&mut Connection, Instant) -> T,
    ) -> T {
        let mut all = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let entry = all.entry(connection).or_insert_with(|| Connection {
            total: Pace::new(now),
            endpoints: HashMap::new(),
        });
        f(entry, now)
    }

    /// Waits until `connection` may make one more request to `endpoint` at `rates`.
    pub async fn acquire(&self, connection: ConnectionId, endpoint: Endpoint, rates: Rates) {
        loop {
            let wait = self.with(connection, |c, now| {
                let pace = c
                    .endpoints
                    .entry(endpoint)
                    .or_insert_with(|| Pace::new(now));
                let wait = c
                    .total
                    .wait(now, rates.total)
                    .max(pace.wait(now, rates.endpoint));
                if wait.is_zero() {
                    c.total.tokens -= 1.0;
                    pace.tokens -= 1.0;
                }
                wait
            });
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Stripe refused a request to `endpoint` for `reason`: the dimension it names slows down.
    pub fn refused(
        &self,
        connection: ConnectionId,
        endpoint: Endpoint,
        reason: Option<LimitReason>,
    ) {
        self.with(connection, |c, now| match reason {
            Some(r) if r.is_endpoint() => c
                .endpoints
                .entry(endpoint)
                .or_insert_with(|| Pace::new(now))
                .slow_down(now),
            _ => c.total.slow_down(now),
        });
    }

    /// The share of the configured pace in force for `connection` in total (1 when never slowed).
    pub fn total_factor(&self, connection: ConnectionId) -> f64 {
        self.with(connection, |c, now| c.total.factor(now))
    }

    /// Forgets a connection's paces (it was deleted).
    pub fn forget(&self, connection: ConnectionId) {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&connection);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUSTOMERS: Endpoint = Endpoint::List(StripeList::Customers);
    const CHARGES: Endpoint = Endpoint::List(StripeList::Charges);

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_total_and_by_the_endpoint() {
        let limits = Limits::default();
        let rates = Rates {
            total: 10.0,
            endpoint: 5.0,
        };
        let start = Instant::now();
        for _ in 0..10 {
            limits.acquire(ConnectionId(1), CUSTOMERS, rates).await;
        }
        // One endpoint alone: its 5/s, the first at once, the nine others 200 ms apart.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(1790), "{took:?}");
        assert!(took < Duration::from_millis(2100), "{took:?}");
        // Two endpoints side by side: the total's 10/s.
        let start = Instant::now();
        let a = async {
            for _ in 0..10 {
                limits.acquire(ConnectionId(1), CUSTOMERS, rates).await;
            }
        };
        let b = async {
            for _ in 0..10 {
                limits.acquire(ConnectionId(1), CHARGES, rates).await;
            }
        };
        futures_util::future::join(a, b).await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(1850), "{took:?}");
        assert!(took < Duration::from_millis(2200), "{took:?}");
        // Another connection has its own paces.
        let start = Instant::now();
        limits.acquire(ConnectionId(2), CUSTOMERS, rates).await;
        assert!(start.elapsed() < Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_halves_the_dimension_it_names_once_a_second_and_the_pace_grows_back() {
        let limits = Limits::default();
        let id = ConnectionId(1);
        limits.refused(id, CUSTOMERS, Some(LimitReason::GlobalRate));
        assert_eq!(limits.total_factor(id), 0.5);
        // A burst of refusals in flight halves it once.
        limits.refused(id, CUSTOMERS, None);
        assert_eq!(limits.total_factor(id), 0.5);
        tokio::time::advance(Duration::from_millis(1100)).await;
        limits.refused(id, CUSTOMERS, None);
        let halved = limits.total_factor(id);
        assert!((0.29..0.31).contains(&halved), "{halved}");
        // An endpoint's refusal leaves the total alone.
        tokio::time::advance(Duration::from_secs(2)).await;
        let before = limits.total_factor(id);
        limits.refused(id, CHARGES, Some(LimitReason::EndpointRate));
        assert_eq!(limits.total_factor(id), before);
        // Additive recovery: a tenth a second, back to the whole share.
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(limits.total_factor(id), 1.0);
    }

    #[test]
    fn the_rates_follow_the_mode_unless_configured() {
        assert_eq!(
            rates_for(false, None),
            Rates {
                total: 20.0,
                endpoint: 20.0
            }
        );
        assert_eq!(
            rates_for(true, None),
            Rates {
                total: 80.0,
                endpoint: 20.0
            }
        );
        assert_eq!(rates_for(true, Some(40.0)).endpoint, 10.0);
        assert_eq!(rates_for(false, Some(-1.0)).total, 20.0);
    }
}
