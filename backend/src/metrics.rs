//! The Prometheus metrics of `GET /metrics` (SPEC.md §6.1): what this process counts as it works
//! (Stripe requests, rows the sync wrote, requests in flight) and what the shared database says at
//! scrape time (sync jobs, each connection's lag), rendered together in Prometheus' text format.
//! The instruments are `prometheus-client`'s; this module only names them and keeps them.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{prometheus_text, DescriptorEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::ids::ConnectionId;

/// The `Content-Type` of [`Metrics::render`]'s text: Prometheus' text exposition format 0.0.4,
/// the one every Prometheus version scrapes.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// How one request to Stripe's REST API ended: the `outcome` label of `stripe_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StripeOutcome {
    /// A 2xx answer that could be read.
    Ok,
    /// Stripe's rate limiter refused it (429, or 400 `rate_limit`).
    RateLimited,
    /// Anything else: another status, an unreadable answer, a transport failure or a timeout.
    Error,
}

impl StripeOutcome {
    /// Every outcome, so each series exists (at 0) from the start.
    pub const ALL: [Self; 3] = [Self::Ok, Self::RateLimited, Self::Error];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::RateLimited => "rate_limited",
            Self::Error => "error",
        }
    }
}

/// One label whose value is one of a few fixed words.
type WordLabel = [(&'static str, &'static str); 1];

/// What the database holds at scrape time: the same for every instance that shares it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Sync jobs waiting to run.
    pub queued_jobs: i64,
    /// Sync jobs an instance holds the lease of.
    pub running_jobs: i64,
    /// Each connection with the moment (Unix seconds) its synced data is fresh as of.
    pub fresh_as_of: Vec<(ConnectionId, i64)>,
    /// Now (Unix seconds).
    pub now: i64,
}

/// This process's instruments; clones share them (cheap: one `Arc`).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    instruments: Arc<Instruments>,
}

#[derive(Debug)]
struct Instruments {
    rows_written: Counter,
    stripe_requests: Family<WordLabel, Counter>,
    in_flight: Gauge,
}

impl Default for Instruments {
    fn default() -> Self {
        let stripe_requests = Family::<WordLabel, Counter>::default();
        for outcome in StripeOutcome::ALL {
            stripe_requests
                .get_or_create(&[("outcome", outcome.label())])
                .inc_by(0);
        }
        Self {
            rows_written: Counter::default(),
            stripe_requests,
            in_flight: Gauge::default(),
        }
    }
}

/// `sync_lag_seconds`, one series per connection. A collector rather than a `Family` because the
/// registry leaves an empty family out altogether, and the series should be described (`# HELP`,
/// `# TYPE`) even before the first connection.
#[derive(Debug)]
struct Lags(Vec<(String, i64)>);

impl Collector for Lags {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut series = encoder.encode_descriptor(
            "sync_lag_seconds",
            "Seconds since the moment each connection's synced data is fresh as of",
            None,
            MetricType::Gauge,
        )?;
        for (connection, lag) in &self.0 {
            series
                .encode_family(&[("connection", connection.as_str())])?
                .encode_gauge(lag)?;
        }
        Ok(())
    }
}

/// A request to Stripe under way: counted in `stripe_requests_in_flight` until dropped.
#[derive(Debug)]
#[must_use = "the request counts as in flight only while the guard lives"]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    /// Counts one request to Stripe's REST API that ended with `outcome`.
    pub fn stripe_request(&self, outcome: StripeOutcome) {
        self.instruments
            .stripe_requests
            .get_or_create(&[("outcome", outcome.label())])
            .inc();
    }

    /// Counts a request to Stripe as in flight until the guard is dropped.
    pub fn in_flight(&self) -> InFlight {
        let gauge = self.instruments.in_flight.clone();
        gauge.inc();
        InFlight(gauge)
    }

    /// Counts `n` Stripe objects the sync stored.
    pub fn rows_written(&self, n: u64) {
        self.instruments.rows_written.inc_by(n);
    }

    /// Every series in Prometheus' text format ([`CONTENT_TYPE`]): this process's counters and
    /// gauge, and `observed`'s jobs and lags (a lag is never negative).
    pub fn render(&self, observed: &Observed) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::default();
        // Counters are registered without `_total`: the encoder adds it.
        registry.register(
            "sync_rows_written",
            "Stripe objects the sync stored (inserted or updated), by this instance",
            self.instruments.rows_written.clone(),
        );
        registry.register(
            "stripe_requests",
            "Requests this instance made to Stripe's REST API, by outcome (ok, rate_limited, error)",
            self.instruments.stripe_requests.clone(),
        );
        registry.register(
            "stripe_requests_in_flight",
            "Requests to Stripe's REST API this instance is waiting on",
            self.instruments.in_flight.clone(),
        );
        let jobs = Family::<WordLabel, Gauge>::default();
        jobs.get_or_create(&[("state", "queued")])
            .set(observed.queued_jobs);
        jobs.get_or_create(&[("state", "running")])
            .set(observed.running_jobs);
        registry.register(
            "sync_jobs",
            "Sync jobs in the shared database, by state (queued, running)",
            jobs,
        );
        registry.register_collector(Box::new(Lags(
            observed
                .fresh_as_of
                .iter()
                .map(|(connection, fresh_as_of)| {
                    let lag = observed.now.saturating_sub(*fresh_as_of).max(0);
                    (connection.to_string(), lag)
                })
                .collect(),
        )));
        let mut text = String::new();
        prometheus_text::encode(&mut text, &registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `series` (name and labels exactly as exposed).
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn every_series_is_exposed_under_its_contract_name_and_counts_what_it_is_told() {
        let metrics = Metrics::default();
        let shared = metrics.clone();
        shared.stripe_request(StripeOutcome::Ok);
        shared.stripe_request(StripeOutcome::Ok);
        shared.stripe_request(StripeOutcome::RateLimited);
        shared.rows_written(100);
        shared.rows_written(7);
        let guard = shared.in_flight();
        let _second = shared.in_flight();
        drop(guard);
        let observed = Observed {
            queued_jobs: 3,
            running_jobs: 1,
            fresh_as_of: vec![(ConnectionId(7), 940), (ConnectionId(9), 1_200)],
            now: 1_000,
        };

        let text = metrics.render(&observed).unwrap();

        assert_eq!(sample(&text, "sync_rows_written_total"), Some(107.0));
        assert_eq!(
            sample(&text, "stripe_requests_total{outcome=\"ok\"}"),
            Some(2.0)
        );
        assert_eq!(
            sample(&text, "stripe_requests_total{outcome=\"rate_limited\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, "stripe_requests_total{outcome=\"error\"}"),
            Some(0.0),
            "every outcome exists from the start"
        );
        assert_eq!(sample(&text, "stripe_requests_in_flight"), Some(1.0));
        assert_eq!(sample(&text, "sync_jobs{state=\"queued\"}"), Some(3.0));
        assert_eq!(sample(&text, "sync_jobs{state=\"running\"}"), Some(1.0));
        assert_eq!(
            sample(&text, "sync_lag_seconds{connection=\"7\"}"),
            Some(60.0)
        );
        assert_eq!(
            sample(&text, "sync_lag_seconds{connection=\"9\"}"),
            Some(0.0),
            "a freshness ahead of the clock is no lag, never a negative one"
        );
        for (name, kind) in [
            ("sync_rows_written_total", "counter"),
            ("stripe_requests_total", "counter"),
            ("stripe_requests_in_flight", "gauge"),
            ("sync_jobs", "gauge"),
            ("sync_lag_seconds", "gauge"),
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} {kind}\n")),
                "{name} is a {kind}:\n{text}"
            );
        }
        assert!(!text.contains("_total_total"), "{text}");
    }

    #[test]
    fn a_dropped_guard_leaves_nothing_in_flight() {
        let metrics = Metrics::default();
        drop(metrics.in_flight());
        let text = metrics.render(&Observed::default()).unwrap();
        assert_eq!(sample(&text, "stripe_requests_in_flight"), Some(0.0));
        assert!(
            text.contains("# TYPE sync_lag_seconds gauge"),
            "described even with no connection:\n{text}"
        );
    }
}
