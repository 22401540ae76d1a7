//! Stripe's rate limits, enforced per account as Stripe states them (SPEC §6.1): live mode 100
//! requests/s in total and 25/s per endpoint (method + path template), test mode 25/s in total.
//! A sliding window: a request is refused when the account (or the account's endpoint) already
//! had as many *accepted* requests within the last 1,000 ms. Refused requests do not count toward
//! the window (a client that backs off gets its allowance back a second later; whether Stripe
//! counts them is not documented). Also what each account saw: requests, 429s, the most requests
//! that arrived within any one second (refused ones included), the most in flight.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use backend::stripe::lists::StripeList;

/// Live mode: requests per second per account.
pub const LIVE_GLOBAL: usize = 100;
/// Live mode: requests per second per account and endpoint.
pub const LIVE_ENDPOINT: usize = 25;
/// Test mode: requests per second per account.
pub const TEST_GLOBAL: usize = 25;
/// The window.
const WINDOW: Duration = Duration::from_secs(1);

/// An endpoint: `GET /v1/{list}` or `GET /v1/{list}/{id}` (every id is one endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub list: StripeList,
    pub retrieve: bool,
}

/// Why a request was refused, as `Stripe-Rate-Limited-Reason` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Global,
    Endpoint,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Self::Global => "global-rate",
            Self::Endpoint => "endpoint-rate",
        }
    }
}

/// What one account saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountStats {
    /// Requests that reached the account (refused ones included).
    pub requests: u64,
    /// Requests refused with 429.
    pub rate_limited: u64,
    /// The most requests that arrived within one second (sliding), refused ones included.
    pub max_per_second: usize,
    /// The same for the busiest endpoint.
    pub max_per_second_endpoint: usize,
    /// Requests in flight now, and the most at once.
    pub in_flight: usize,
    pub max_in_flight: usize,
    /// Objects answered (pages' objects and retrieved objects).
    pub objects: u64,
}

impl std::ops::AddAssign for AccountStats {
    fn add_assign(&mut self, other: Self) {
        self.requests += other.requests;
        self.rate_limited += other.rate_limited;
        self.max_per_second = self.max_per_second.max(other.max_per_second);
        self.max_per_second_endpoint = self
            .max_per_second_endpoint
            .max(other.max_per_second_endpoint);
        self.in_flight += other.in_flight;
        self.max_in_flight = self.max_in_flight.max(other.max_in_flight);
        self.objects += other.objects;
    }
}

/// Arrival times within the last second.
#[derive(Debug, Default)]
struct Window(VecDeque<Instant>);

impl Window {
    /// How many arrived within the window ending `now`, after forgetting older ones.
    fn count(&mut self, now: Instant) -> usize {
        while self
            .0
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            self.0.pop_front();
        }
        self.0.len()
    }

    /// Records an arrival at `now`; how many arrived within the window ending then.
    fn record(&mut self, now: Instant) -> usize {
        self.0.push_back(now);
        self.count(now)
    }
}

/// One account's windows and counters.
#[derive(Debug, Default)]
pub struct AccountLimits {
    accepted: Window,
    accepted_by_endpoint: HashMap<Endpoint, Window>,
    arrived: Window,
    arrived_by_endpoint: HashMap<Endpoint, Window>,
    stats: AccountStats,
}

impl AccountLimits {
    /// Admits a request to `endpoint` arriving at `now`, or says why not; either way it is in
    /// flight until [`Self::answered`].
    pub fn admit(&mut self, live: bool, endpoint: Endpoint, now: Instant) -> Result<(), Refusal> {
        let stats = &mut self.stats;
        stats.requests += 1;
        stats.in_flight += 1;
        stats.max_in_flight = stats.max_in_flight.max(stats.in_flight);
        stats.max_per_second = stats.max_per_second.max(self.arrived.record(now));
        let arrived = self.arrived_by_endpoint.entry(endpoint).or_default();
        stats.max_per_second_endpoint = stats.max_per_second_endpoint.max(arrived.record(now));

        let global = if live { LIVE_GLOBAL } else { TEST_GLOBAL };
        let accepted = self.accepted_by_endpoint.entry(endpoint).or_default();
        let refusal = if self.accepted.count(now) >= global {
            Some(Refusal::Global)
        } else if live && accepted.count(now) >= LIVE_ENDPOINT {
            Some(Refusal::Endpoint)
        } else {
            None
        };
        match refusal {
            Some(refusal) => {
                stats.rate_limited += 1;
                Err(refusal)
            }
            None => {
                self.accepted.record(now);
                accepted.record(now);
                Ok(())
            }
        }
    }

    /// A request's answer left, with `objects` objects in it.
    pub fn answered(&mut self, objects: u64) {
        self.stats.in_flight -= 1;
        self.stats.objects += objects;
    }

    pub fn stats(&self) -> AccountStats {
        self.stats
    }
}
