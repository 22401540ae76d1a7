//! The one Stripe REST client: the HTTP client, where the API lives, and a credential per call. The
//! health checks, the restricted-key checks and the sync engine all read Stripe through it.

use std::time::Duration;

use oauth2::reqwest;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use super::account::Account;
use super::lists::{ChildList, StripeList};
use super::{redact_secrets, LimitReason, StripeError};
use crate::config::{join_path, Secret};
use crate::metrics::{Metrics, StripeOutcome};

/// The API version every call is pinned to, so Stripe's answers keep the shape we parse.
pub const STRIPE_VERSION: &str = "2024-06-20";

/// Reads Stripe's REST API with a given credential.
#[derive(Debug, Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    api_url: Url,
    retry: RetryPolicy,
    metrics: Metrics,
}

/// How the sync's list reads retry a rate limit, a 5xx or a timeout: exponential backoff with full
/// jitter (a random wait in `0..=min(cap, base·2ⁿ)`), at most `max_retries` times; never when Stripe
/// says `Stripe-Should-Retry: false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first retry's ceiling.
    pub base: Duration,
    /// No wait is longer.
    pub cap: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: crate::config::STRIPE_RETRY_BASE,
            cap: crate::config::STRIPE_RETRY_CAP,
            max_retries: 4,
        }
    }
}

impl RetryPolicy {
    /// The ceiling of the wait before retry number `retry` (0-based).
    pub fn ceiling(&self, retry: u32) -> Duration {
        self.base
            .saturating_mul(1u32 << retry.min(16))
            .min(self.cap)
    }

    /// A random wait before retry number `retry` (full jitter).
    pub fn delay(&self, retry: u32) -> Duration {
        use rand::Rng;
        let ceiling = self.ceiling(retry);
        ceiling.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }
}

#[derive(Deserialize)]
struct ApiErrorBody {
    error: ApiErrorDetail,
}

#[derive(Deserialize)]
struct ApiErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    param: Option<String>,
}

/// The text between `before` and the next `'` in `message`.
fn quoted_after<'a>(message: &'a str, before: &str) -> Option<&'a str> {
    let start = message.find(before)? + before.len();
    let rest = &message[start..];
    rest.find('\'').map(|end| &rest[..end])
}

/// Turns a non-2xx answer into an error, reading Stripe's `{"error":{…}}` body.
#[cfg(test)]
fn api_error(status: u16, body: &[u8]) -> StripeError {
    api_error_with(status, body, Hints::default())
}

/// What Stripe's headers say about a refused request.
#[derive(Debug, Clone, Copy, Default)]
struct Hints {
    /// `Stripe-Should-Retry` (`true`/`false`), when sent.
    should_retry: Option<bool>,
    /// `Stripe-Rate-Limited-Reason`, when sent and known.
    reason: Option<LimitReason>,
}

/// [`api_error`] with what Stripe's headers said.
fn api_error_with(status: u16, body: &[u8], hints: Hints) -> StripeError {
    let Hints {
        should_retry,
        reason,
    } = hints;
    let detail = serde_json::from_slice::<ApiErrorBody>(body)
        .ok()
        .map(|b| b.error);
    let message = redact_secrets(
        detail
            .as_ref()
            .and_then(|d| d.message.as_deref())
            .unwrap_or_default(),
    );
    match status {
        401 => StripeError::Unauthorized {
            code: detail.and_then(|d| d.code),
            message,
        },
        // "…does not have the required permissions for this endpoint on account 'acct_…'. Having
        // the 'rak_coupon_read' permission would allow this request to continue."
        403 => StripeError::Forbidden {
            permission: quoted_after(&message, "Having the '")
                .filter(|p| p.starts_with("rak_"))
                .map(str::to_owned),
            account: quoted_after(&message, "on account '")
                .filter(|a| a.starts_with("acct_"))
                .map(str::to_owned),
            message,
        },
        400 if detail.as_ref().and_then(|d| d.code.as_deref()) == Some("resource_missing") => {
            StripeError::Missing(message)
        }
        404 => StripeError::Missing(message),
        // Stripe's rate limiter answers 429 (also `lock_timeout` on a contended object) and, for
        // some endpoints, 400 `rate_limit`.
        429 => StripeError::RateLimited {
            should_retry,
            reason,
        },
        400 if detail.as_ref().and_then(|d| d.code.as_deref()) == Some("rate_limit") => {
            StripeError::RateLimited {
                should_retry,
                reason,
            }
        }
        400 => StripeError::InvalidRequest {
            param: detail.and_then(|d| d.param),
            message,
        },
        500..=599 => StripeError::ServerError {
            status,
            should_retry,
        },
        _ => StripeError::Malformed(format!("Stripe answered {status}")),
    }
}

impl StripeClient {
    /// A client for the API at `api_url`.
    pub fn new(http: reqwest::Client, api_url: Url) -> Self {
        Self {
            http,
            api_url,
            retry: RetryPolicy::default(),
            metrics: Metrics::default(),
        }
    }

    /// The same client counting its requests in `metrics` (the app's, shown by `GET /metrics`).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The same client retrying list reads by `policy` (tests shrink the waits).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How list reads retry.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The HTTP client (for the OAuth endpoints, which are not REST reads).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The API base.
    pub fn api_url(&self) -> &Url {
        &self.api_url
    }

    /// `GET {api}{path}?query` with `key` as the API key; the parsed JSON answer. Every REST read
    /// goes through here, so here it is counted: in flight while under way, then by outcome.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        key: &Secret,
    ) -> Result<T, StripeError> {
        let _in_flight = self.metrics.in_flight();
        let answer = self.get_uncounted(path, query, key).await;
        self.metrics.stripe_request(match &answer {
            Ok(_) => StripeOutcome::Ok,
            Err(StripeError::RateLimited { .. }) => StripeOutcome::RateLimited,
            Err(_) => StripeOutcome::Error,
        });
        answer
    }

    /// [`Self::get`] without the metrics.
    #[tracing::instrument(skip(self, key, query))]
    async fn get_uncounted<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        key: &Secret,
    ) -> Result<T, StripeError> {
        let response = self
            .http
            .get(join_path(&self.api_url, path))
            .query(query)
            .bearer_auth(key.expose())
            .header("Stripe-Version", STRIPE_VERSION)
            .send()
            .await?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let hints = Hints {
            should_retry: match header("stripe-should-retry") {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            },
            reason: header("stripe-rate-limited-reason").and_then(LimitReason::parse),
        };
        let body = response.bytes().await?;
        if status.is_success() {
            return serde_json::from_slice::<T>(&body)
                .map_err(|e| StripeError::Malformed(format!("{path}: {e}")));
        }
        Err(api_error_with(status.as_u16(), &body, hints))
    }

    /// The account the key belongs to.
    pub async fn account(&self, key: &Secret) -> Result<Account, StripeError> {
        self.get("/v1/account", &[], key).await
    }

    /// Reads one object of `list` (`limit=1`): proves the key may read it.
    pub async fn probe_list(&self, list: StripeList, key: &Secret) -> Result<(), StripeError> {
        let mut query = vec![("limit", "1")];
        query.extend_from_slice(list.base_query());
        let answer: ListAnswer = self.get(&list.path(), &query, key).await?;
        if answer.object != "list" {
            return Err(StripeError::Malformed(format!(
                "{} is not a list",
                list.name()
            )));
        }
        Ok(())
    }

    /// One page (`limit=100`) of `list` after `starting_after`.
    pub async fn list_page(
        &self,
        list: StripeList,
        starting_after: Option<&str>,
        key: &Secret,
    ) -> Result<ListPage, StripeError> {
        self.list_page_sized(list, starting_after, LIST_PAGE_LIMIT, key)
            .await
    }

    /// One page of at most `limit` (1..=100) objects of `list` after `starting_after`, retried by
    /// the client's [`RetryPolicy`] on a rate limit, a 5xx or a timeout.
    pub async fn list_page_sized(
        &self,
        list: StripeList,
        starting_after: Option<&str>,
        limit: usize,
        key: &Secret,
    ) -> Result<ListPage, StripeError> {
        self.list_page_filtered(list, &[], starting_after, limit, key)
            .await
    }

    /// [`Self::list_page_sized`] with more parameters (`created[gte]` on events, say).
    pub async fn list_page_filtered(
        &self,
        list: StripeList,
        filters: &[(&str, &str)],
        starting_after: Option<&str>,
        limit: usize,
        key: &Secret,
    ) -> Result<ListPage, StripeError> {
        self.retrying(list, || {
            self.list_page_once(list, filters, starting_after, limit, key)
        })
        .await
    }

    /// One object of `list` by id, retried like a page; `None` when Stripe no longer has it (or
    /// answers with a deleted stub, `"deleted": true`).
    pub async fn retrieve(
        &self,
        list: StripeList,
        id: &str,
        key: &Secret,
    ) -> Result<Option<serde_json::Value>, StripeError> {
        self.retrying(list, || self.retrieve_once(list, id, key))
            .await
    }

    /// [`Self::retrieve`] without retrying: one request (the sync paces and retries its own).
    pub async fn retrieve_once(
        &self,
        list: StripeList,
        id: &str,
        key: &Secret,
    ) -> Result<Option<serde_json::Value>, StripeError> {
        // Ids come from Stripe's answers: only Stripe's id alphabet goes into a path.
        if id.is_empty()
            || id.len() > 255
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(StripeError::Malformed(format!(
                "{}: an id that is not Stripe's",
                list.name()
            )));
        }
        let path = format!("{}/{id}", list.path());
        match self.get::<serde_json::Value>(&path, &[], key).await {
            Ok(object) if object["deleted"].as_bool() == Some(true) => Ok(None),
            Ok(object) if object["id"].as_str() == Some(id) => Ok(Some(object)),
            Ok(_) => Err(StripeError::Malformed(format!(
                "{}: another object than asked for",
                list.name()
            ))),
            Err(StripeError::Missing(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Runs `call` again on a rate limit, a 5xx or a timeout, by the client's [`RetryPolicy`].
    async fn retrying<T, F, Fut>(&self, list: StripeList, call: F) -> Result<T, StripeError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, StripeError>>,
    {
        let mut retry = 0;
        loop {
            match call().await {
                Err(e) if e.is_retryable() && retry < self.retry.max_retries => {
                    let wait = self.retry.delay(retry);
                    tracing::info!(table = list.name(), error = %e, retry = retry + 1, wait_ms = wait.as_millis() as u64, "Stripe read retried");
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                answer => return answer,
            }
        }
    }

    /// One attempt at a page, no retry (the sync paces and retries its own).
    pub async fn list_page_once(
        &self,
        list: StripeList,
        filters: &[(&str, &str)],
        starting_after: Option<&str>,
        limit: usize,
        key: &Secret,
    ) -> Result<ListPage, StripeError> {
        let limit = limit.clamp(1, LIST_PAGE_LIMIT).to_string();
        let mut query = vec![("limit", limit.as_str())];
        query.extend_from_slice(list.base_query());
        query.extend_from_slice(filters);
        if let Some(after) = starting_after {
            query.push(("starting_after", after));
        }
        let answer: ListPageAnswer = self.get(&list.path(), &query, key).await?;
        if answer.object != "list" {
            return Err(StripeError::Malformed(format!(
                "{} is not a list",
                list.name()
            )));
        }
        // The sync keys every row by its id: an object without one cannot be stored.
        if answer.data.iter().any(|o| !o["id"].is_string()) {
            return Err(StripeError::Malformed(format!(
                "{}: an object without an id",
                list.name()
            )));
        }
        Ok(ListPage {
            data: answer.data,
            has_more: answer.has_more,
        })
    }

    /// One page of a parent's children (`parent`: its id), no retry; refused without a request
    /// when the id could reach another path.
    pub async fn child_page_once(
        &self,
        child: ChildList,
        parent: &str,
        starting_after: Option<&str>,
        key: &Secret,
    ) -> Result<ListPage, StripeError> {
        if parent.is_empty()
            || !parent
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(StripeError::Malformed(format!(
                "{}: a parent id that is not an id",
                child.table()
            )));
        }
        let (path, params) = child.request(parent);
        let limit = LIST_PAGE_LIMIT.to_string();
        let mut query: Vec<(&str, &str)> = vec![("limit", limit.as_str())];
        query.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
        if let Some(after) = starting_after {
            query.push(("starting_after", after));
        }
        let answer: ListPageAnswer = self.get(&path, &query, key).await?;
        if answer.object != "list" || answer.data.iter().any(|o| !o["id"].is_string()) {
            return Err(StripeError::Malformed(format!(
                "{}: not a list of objects with ids",
                child.table()
            )));
        }
        Ok(ListPage {
            data: answer.data,
            has_more: answer.has_more,
        })
    }
}

#[derive(Deserialize)]
struct ListAnswer {
    object: String,
}

/// Stripe's page size limit: the sync reads full pages.
pub const LIST_PAGE_LIMIT: usize = 100;

/// One page of a Stripe list.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// The objects, in Stripe's order; each has a string `id`.
    pub data: Vec<serde_json::Value>,
    /// More objects follow the last one.
    pub has_more: bool,
}

#[derive(Deserialize)]
struct ListPageAnswer {
    object: String,
    data: Vec<serde_json::Value>,
    has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_grow_exponentially_up_to_the_cap_with_jitter_below_the_ceiling() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.ceiling(0), Duration::from_millis(250));
        assert_eq!(policy.ceiling(1), Duration::from_millis(500));
        assert_eq!(policy.ceiling(3), Duration::from_secs(2));
        assert_eq!(policy.ceiling(10), Duration::from_secs(8));
        for retry in 0..6 {
            assert!(policy.delay(retry) <= policy.ceiling(retry));
        }
    }

    #[test]
    fn errors_are_classified_and_a_forbidden_read_names_its_permission_and_account() {
        let e = api_error(
            401,
            br#"{"error":{"type":"invalid_request_error","code":"api_key_expired","message":"Expired API Key provided: sk_test_****abcd"}}"#,
        );
        assert!(e.is_expired_key());
        let e = api_error(
            401,
            br#"{"error":{"message":"Invalid API Key provided: sk_live_zzz"}}"#,
        );
        assert!(!e.is_expired_key());
        assert!(!e.to_string().contains("sk_live_zzz"));
        let e = api_error(
            403,
            br#"{"error":{"type":"invalid_request_error","message":"The provided key 'rk_test_****abcd' does not have the required permissions for this endpoint on account 'acct_1Abc'. Having the 'rak_coupon_read' permission would allow this request to continue."}}"#,
        );
        let StripeError::Forbidden {
            permission,
            account,
            ..
        } = e
        else {
            panic!("expected forbidden")
        };
        assert_eq!(permission.as_deref(), Some("rak_coupon_read"));
        assert_eq!(account.as_deref(), Some("acct_1Abc"));
        assert!(matches!(
            api_error(
                400,
                br#"{"error":{"code":"resource_missing","message":"No such customer: 'cus_1'"}}"#
            ),
            StripeError::Missing(_)
        ));
        assert!(matches!(
            api_error(500, b"<html>"),
            StripeError::ServerError { status: 500, .. }
        ));
        assert!(api_error(503, b"").is_retryable());
        let limited = br#"{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Request rate limit exceeded."}}"#;
        assert!(matches!(
            api_error(429, limited),
            StripeError::RateLimited {
                should_retry: None,
                ..
            }
        ));
        assert!(matches!(
            api_error(400, limited),
            StripeError::RateLimited { .. }
        ));
        assert!(matches!(
            api_error(429, br#"{"error":{"code":"lock_timeout","message":"x"}}"#),
            StripeError::RateLimited { .. }
        ));
        let should_retry = |retry: bool| Hints {
            should_retry: Some(retry),
            reason: None,
        };
        assert!(!api_error_with(429, limited, should_retry(false)).is_retryable());
        assert!(api_error_with(500, b"", should_retry(true)).is_retryable());
        assert!(!api_error_with(500, b"", should_retry(false)).is_retryable());
        let endpoint = Hints {
            should_retry: None,
            reason: LimitReason::parse("endpoint-rate"),
        };
        assert!(matches!(
            api_error_with(429, limited, endpoint),
            StripeError::RateLimited {
                reason: Some(LimitReason::EndpointRate),
                ..
            }
        ));
        assert!(matches!(
            api_error(
                400,
                br#"{"error":{"type":"invalid_request_error","message":"Received unknown parameter: created[lt]","param":"created[lt]"}}"#
            ),
            StripeError::InvalidRequest { param: Some(p), .. } if p == "created[lt]"
        ));
        assert!(matches!(
            api_error(403, b"{}"),
            StripeError::Forbidden {
                permission: None,
                account: None,
                ..
            }
        ));
    }
}
