//! The sync's politeness toward Stripe: a token bucket per connection, awaited before each list
//! read. Stripe allows 25 reads/s in test mode and 100 in live mode per account; the sync takes a
//! share (20 and 80 by default, `SYNC_RATE_LIMIT` overrides) and leaves the rest to the merchant.
//!
//! The buckets live in this process only: politeness, not a guarantee. Several backend processes
//! syncing one connection at once would each take the full share (jobs are leased to one worker,
//! so that happens only while a lease changes hands).
//!
//! Hand-written rather than a crate: no rate-limiting crate is in Cargo.lock, and the bucket is a
//! few lines on tokio's clock (which tests can pause).

use crate::ids::ConnectionId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Requests per second a sync makes by default in test mode (Stripe allows 25).
pub const TEST_MODE_RATE: f64 = 20.0;
/// Requests per second a sync makes by default in live mode (Stripe allows 100).
pub const LIVE_MODE_RATE: f64 = 80.0;

/// The rate for a connection: `SYNC_RATE_LIMIT` when set, else by its mode.
pub fn rate_for(livemode: bool, configured: Option<f64>) -> f64 {
    configured.unwrap_or(if livemode {
        LIVE_MODE_RATE
    } else {
        TEST_MODE_RATE
    })
}

#[derive(Debug)]
struct Bucket {
    /// Tokens available (at most one: requests are spaced evenly, no bursts).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

/// Token buckets keyed by connection id.
#[derive(Debug, Clone, Default)]
pub struct RateLimiter {
    buckets: Arc<Mutex<HashMap<ConnectionId, Bucket>>>,
}

impl RateLimiter {
    /// Waits until `connection` may make one more request at `rate` requests per second.
    pub async fn acquire(&self, connection: ConnectionId, rate: f64) {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            TEST_MODE_RATE
        };
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let bucket = buckets.entry(connection).or_insert(Bucket {
                    tokens: 1.0,
                    at: now,
                });
                let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
                bucket.tokens = (bucket.tokens + elapsed * rate).min(1.0);
                bucket.at = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - bucket.tokens) / rate)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Forgets a connection's bucket (it was deleted).
    pub fn forget(&self, connection: ConnectionId) {
        self.buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&connection);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_rate() {
        let limiter = RateLimiter::default();
        let start = Instant::now();
        for _ in 0..10 {
            limiter.acquire(ConnectionId(1), 5.0).await;
        }
        // The first goes at once, the nine others 200 ms apart.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(1790), "{took:?}");
        assert!(took < Duration::from_millis(2100), "{took:?}");
        // Another connection has its own bucket.
        let start = Instant::now();
        limiter.acquire(ConnectionId(2), 5.0).await;
        assert!(start.elapsed() < Duration::from_millis(10));
    }

    #[test]
    fn the_rate_follows_the_mode_unless_configured() {
        assert_eq!(rate_for(false, None), 20.0);
        assert_eq!(rate_for(true, None), 80.0);
        assert_eq!(rate_for(true, Some(5.0)), 5.0);
    }
}
