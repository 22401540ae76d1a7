//! Configuration read from the environment (SPEC.md §3). Secrets are wrapped so that `Debug` and
//! logs never print them.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use shared::AuthKind;
use url::Url;

use crate::client_ip::TrustedProxies;

/// A string that must never be printed: `Debug` and `Display` show a redaction marker.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the backend finds Stripe, and with which platform credentials.
#[derive(Debug, Clone)]
pub enum StripeMode {
    /// Real (or Stripe-compatible) endpoints with the platform's credentials.
    Live(Box<StripeSettings>),
    /// Asked for with `DEMO=1`: the built-in emulator is mounted and the flow points at it.
    Demo,
    /// Neither credentials nor `DEMO=1`: `serve` refuses to start (operator commands still work).
    Unconfigured,
}

/// Platform credentials and endpoint bases for Stripe.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// The app's (or Connect application's) client id (`ca_…`).
    pub client_id: String,
    /// Secret key of the account that owns the app or platform (`sk_…`).
    pub secret_key: Secret,
    /// Classic Connect: base of `/oauth/authorize`, `/oauth/token`, `/oauth/deauthorize`.
    pub connect_url: Url,
    /// Base of the REST API (`/v1/…`, and the Apps token endpoint `/v1/oauth/token`).
    pub api_url: Url,
    /// The Stripe Apps install link, used exactly as configured.
    pub authorize_url: Url,
}

/// The Apps install link when `STRIPE_AUTHORIZE_URL` is unset.
pub const DEFAULT_AUTHORIZE_URL: &str = "https://marketplace.stripe.com/oauth/v2/authorize";

/// Everything the backend reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address (`BIND`). Port 0 picks a free port.
    pub bind: SocketAddr,
    /// External base URL (`PUBLIC_URL`); `None` means `http://` + the bound address.
    pub public_url: Option<Url>,
    /// Local state directory (`DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` database URL (`DATABASE_URL`).
    pub database_url: String,
    /// The built SPA (`STATIC_DIR`).
    pub static_dir: PathBuf,
    /// Stripe credentials, or demo mode.
    pub stripe: StripeMode,
    /// Which OAuth flow **Connect with Stripe** starts (`STRIPE_OAUTH`): Apps or classic Connect.
    pub stripe_oauth: AuthKind,
    /// Connections one client address may hold open (`MAX_CONNECTIONS_PER_CLIENT`); a trusted
    /// proxy's connections are not capped by it.
    pub max_connections_per_client: usize,
    /// The reverse proxies whose `Forwarded`/`X-Forwarded-For` name the client (`TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
    /// Lifetime of the emulator's Apps access tokens in demo mode (`STRIPE_EMULATOR_TOKEN_TTL`).
    pub emulator_token_ttl_secs: i64,
    /// Base64 32-byte key for tokens at rest (`ENCRYPTION_KEY`); `None` → key file in `DATA_DIR`.
    pub encryption_key: Option<Secret>,
    /// First Admin to create when no user exists (`ADMIN_EMAIL`, `ADMIN_PASSWORD`).
    pub first_admin: Option<(String, Secret)>,
    /// Seconds between background connection tests (`HEALTH_CHECK_INTERVAL`).
    pub health_interval_secs: i64,
    /// Seconds between scheduled syncs of each connection fed by webhooks (`SYNC_INTERVAL`,
    /// default `1h`): the safety net behind them.
    pub sync_interval_secs: i64,
    /// Seconds between events passes of a connection no webhook feeds (`EVENTS_POLL_INTERVAL`,
    /// default `1m`).
    pub events_poll_interval_secs: i64,
    /// Seconds between full passes that reconcile every id (`RECONCILE_INTERVAL`, default `1d`).
    pub reconcile_interval_secs: i64,
    /// Requests per second a sync makes per connection (`SYNC_RATE_LIMIT`); `None` → by mode.
    pub sync_rate_limit: Option<f64>,
    /// Sync jobs one instance runs side by side (`SYNC_MAX_JOBS`, default 64).
    pub sync_max_jobs: usize,
    /// Requests to Stripe one instance's syncs have in flight at most (`SYNC_MAX_IN_FLIGHT`,
    /// default 256): what bounds the sync's memory.
    pub sync_max_in_flight: usize,
    /// Seconds a sync job stays leased to an instance that stopped heart-beating (`SYNC_LEASE`,
    /// default `2m`): after that another instance takes it over from its checkpoints.
    pub sync_lease_secs: i64,
    /// `whsec_…` secrets accepted on `POST /webhooks/stripe` (several during a roll); empty → refused.
    pub webhook_secrets: Vec<Secret>,
    /// The bearer token `GET /metrics` asks for (`METRICS_TOKEN`); `None` → the route answers 404.
    pub metrics_token: Option<Secret>,
    /// The ceilings of the waits before a failed Stripe call is tried again: the first retry's and
    /// the longest (not read from the environment: the product keeps [`STRIPE_RETRY_BASE`] and
    /// [`STRIPE_RETRY_CAP`]; tests shorten them).
    pub stripe_retry: (Duration, Duration),
}

/// The first retry's ceiling of a failed Stripe call.
pub const STRIPE_RETRY_BASE: Duration = Duration::from_millis(250);
/// The longest wait before a failed Stripe call is tried again.
pub const STRIPE_RETRY_CAP: Duration = Duration::from_secs(8);

/// Sync jobs one instance runs side by side without `SYNC_MAX_JOBS`.
pub const DEFAULT_SYNC_MAX_JOBS: usize = 64;
/// Requests in flight to Stripe of one instance's syncs without `SYNC_MAX_IN_FLIGHT`.
pub const DEFAULT_SYNC_MAX_IN_FLIGHT: usize = 256;

/// A sync job's lease without `SYNC_LEASE`: two minutes without a heartbeat (one per page).
pub const DEFAULT_SYNC_LEASE_SECS: i64 = 120;

/// Parses a duration of at least `min` seconds: plain seconds (`3600`) or a humantime duration
/// (`90s`, `15m`, `1h`, `1d`, `1h 30m`).
pub fn parse_duration_secs(var: &'static str, raw: &str, min: i64) -> Result<i64, ConfigError> {
    let raw = raw.trim();
    let secs = match raw.parse::<u64>() {
        Ok(n) => n,
        Err(_) => humantime::parse_duration(raw)
            .map_err(|_| invalid(var, "must be a duration such as 3600, 90s, 15m or 1h"))?
            .as_secs(),
    };
    let secs = i64::try_from(secs).map_err(|_| invalid(var, "is too long"))?;
    if secs < min {
        return Err(invalid(var, format!("must be at least {min} seconds")));
    }
    Ok(secs)
}

/// A configuration value that cannot be used, with the variable's name.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

/// Parses a base URL, requiring http(s) and dropping a trailing slash so paths can be appended.
pub fn parse_base_url(var: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim()).map_err(|e| invalid(var, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(
            var,
            "must be an http:// or https:// URL with a host",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(var, "must not have a query or fragment"));
    }
    Ok(url)
}

/// Parses the Apps install link: an http(s) URL kept exactly as given (its path may be the
/// External-test form `…/oauth/v2/chnlink_…/authorize`); only a fragment is refused.
pub fn parse_authorize_url(raw: &str) -> Result<Url, ConfigError> {
    const VAR: &str = "STRIPE_AUTHORIZE_URL";
    let url = Url::parse(raw.trim()).map_err(|e| invalid(VAR, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(
            VAR,
            "must be an http:// or https:// URL with a host",
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid(VAR, "must not have a fragment"));
    }
    Ok(url)
}

/// Parses `TRUSTED_PROXIES`: comma-separated CIDR ranges (`10.0.0.0/8,2001:db8::/32`), a bare
/// address meaning itself alone (/32 or /128). A range with bits set past its prefix
/// (`10.0.0.1/8`) is refused rather than widened: it may have been meant as one address.
pub fn parse_trusted_proxies(raw: &str) -> Result<TrustedProxies, ConfigError> {
    const VAR: &str = "TRUSTED_PROXIES";
    let mut ranges = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let range = match entry.parse::<IpNet>() {
            Ok(range) => range,
            Err(_) => match entry.parse::<std::net::IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => {
                    return Err(invalid(
                        VAR,
                        format!(
                            "{entry:?} is not an address or CIDR range \
                             (such as 10.0.0.0/8, 127.0.0.1/32 or 2001:db8::/32)"
                        ),
                    ))
                }
            },
        };
        if range.trunc() != range {
            return Err(invalid(
                VAR,
                format!(
                    "{entry:?} has bits set past its /{} prefix: write {} for the range, or {}/{} \
                     for the one address",
                    range.prefix_len(),
                    range.trunc(),
                    range.addr(),
                    range.max_prefix_len()
                ),
            ));
        }
        ranges.push(range);
    }
    Ok(TrustedProxies::new(ranges))
}

/// Joins a base URL (which may carry a path prefix) with an absolute path.
pub fn join_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}{path}"));
    url
}

impl Config {
    /// Reads the configuration through `get` (the process environment in production, a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());

        let bind = match var("BIND") {
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| invalid("BIND", "must be an address such as 127.0.0.1:8080"))?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let public_url = var("PUBLIC_URL")
            .map(|raw| parse_base_url("PUBLIC_URL", &raw))
            .transpose()?;
        let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/connections.db", data_dir.display()));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "DATABASE_URL",
                "must be a sqlite:// or postgres:// URL",
            ));
        }
        let static_dir = PathBuf::from(var("STATIC_DIR").unwrap_or_else(|| "dist".into()));

        let demo = match var("DEMO").as_deref().map(str::trim) {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(_) => return Err(invalid("DEMO", "must be 1 or 0")),
        };
        let stripe = match (var("STRIPE_CLIENT_ID"), var("STRIPE_SECRET_KEY")) {
            (None, None) if demo => StripeMode::Demo,
            (None, None) => StripeMode::Unconfigured,
            (Some(_), Some(_)) if demo => {
                return Err(invalid(
                    "DEMO",
                    "DEMO=1 runs the built-in Stripe emulator: unset DEMO, or STRIPE_CLIENT_ID and STRIPE_SECRET_KEY",
                ))
            }
            (Some(client_id), Some(secret_key)) => {
                let client_id = client_id.trim().to_owned();
                if !client_id.starts_with("ca_") {
                    return Err(invalid("STRIPE_CLIENT_ID", "must start with ca_"));
                }
                let secret_key = secret_key.trim().to_owned();
                if !(secret_key.starts_with("sk_") || secret_key.starts_with("rk_")) {
                    return Err(invalid("STRIPE_SECRET_KEY", "must start with sk_ or rk_"));
                }
                StripeMode::Live(Box::new(StripeSettings {
                    client_id,
                    secret_key: Secret::new(secret_key),
                    connect_url: parse_base_url(
                        "STRIPE_CONNECT_URL",
                        &var("STRIPE_CONNECT_URL")
                            .unwrap_or_else(|| "https://connect.stripe.com".into()),
                    )?,
                    api_url: parse_base_url(
                        "STRIPE_API_URL",
                        &var("STRIPE_API_URL").unwrap_or_else(|| "https://api.stripe.com".into()),
                    )?,
                    authorize_url: parse_authorize_url(
                        &var("STRIPE_AUTHORIZE_URL")
                            .unwrap_or_else(|| DEFAULT_AUTHORIZE_URL.into()),
                    )?,
                }))
            }
            (Some(_), None) => {
                return Err(invalid(
                    "STRIPE_SECRET_KEY",
                    "is required when STRIPE_CLIENT_ID is set (unset both for demo mode)",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "STRIPE_CLIENT_ID",
                    "is required when STRIPE_SECRET_KEY is set (unset both for demo mode)",
                ))
            }
        };

        let first_admin = match (var("ADMIN_EMAIL"), var("ADMIN_PASSWORD")) {
            (Some(email), Some(password)) => Some((email.trim().to_owned(), Secret::new(password))),
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid("ADMIN_PASSWORD", "is required with ADMIN_EMAIL"))
            }
            (None, Some(_)) => {
                return Err(invalid("ADMIN_EMAIL", "is required with ADMIN_PASSWORD"))
            }
        };

        let health_interval_secs = match var("HEALTH_CHECK_INTERVAL") {
            Some(raw) => parse_duration_secs("HEALTH_CHECK_INTERVAL", &raw, 10)?,
            None => 3600,
        };
        let sync_interval_secs = match var("SYNC_INTERVAL") {
            Some(raw) => parse_duration_secs("SYNC_INTERVAL", &raw, 60)?,
            None => 3600,
        };
        let events_poll_interval_secs = match var("EVENTS_POLL_INTERVAL") {
            Some(raw) => parse_duration_secs("EVENTS_POLL_INTERVAL", &raw, 1)?,
            None => 60,
        };
        let reconcile_interval_secs = match var("RECONCILE_INTERVAL") {
            Some(raw) => parse_duration_secs("RECONCILE_INTERVAL", &raw, 60)?,
            None => 86_400,
        };
        let sync_lease_secs = match var("SYNC_LEASE") {
            Some(raw) => parse_duration_secs("SYNC_LEASE", &raw, 5)?,
            None => DEFAULT_SYNC_LEASE_SECS,
        };
        let sync_rate_limit = match var("SYNC_RATE_LIMIT") {
            Some(raw) => Some(
                raw.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .ok_or_else(|| invalid("SYNC_RATE_LIMIT", "must be a positive number"))?,
            ),
            None => None,
        };
        let stripe_oauth = match var("STRIPE_OAUTH").as_deref().map(str::trim) {
            None | Some("apps") => AuthKind::Apps,
            Some("connect") => AuthKind::Connect,
            Some(_) => return Err(invalid("STRIPE_OAUTH", "must be apps or connect")),
        };
        let emulator_token_ttl_secs = match var("STRIPE_EMULATOR_TOKEN_TTL") {
            Some(raw) => parse_duration_secs("STRIPE_EMULATOR_TOKEN_TTL", &raw, 1)?,
            None => 3600,
        };
        let webhook_secrets = var("STRIPE_WEBHOOK_SECRET")
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        if s.starts_with("whsec_") {
                            Ok(Secret::new(s))
                        } else {
                            Err(invalid(
                                "STRIPE_WEBHOOK_SECRET",
                                "each secret must start with whsec_",
                            ))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();

        let count = |name: &'static str, default: usize| -> Result<usize, ConfigError> {
            match var(name) {
                Some(raw) => raw
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| invalid(name, "must be a positive number")),
                None => Ok(default),
            }
        };
        let max_connections_per_client = count("MAX_CONNECTIONS_PER_CLIENT", 64)?;
        let sync_max_jobs = count("SYNC_MAX_JOBS", DEFAULT_SYNC_MAX_JOBS)?;
        let sync_max_in_flight = count("SYNC_MAX_IN_FLIGHT", DEFAULT_SYNC_MAX_IN_FLIGHT)?;
        let trusted_proxies = match var("TRUSTED_PROXIES") {
            Some(raw) => parse_trusted_proxies(&raw)?,
            None => TrustedProxies::default(),
        };
        Ok(Self {
            max_connections_per_client,
            trusted_proxies,
            stripe_oauth,
            emulator_token_ttl_secs,
            health_interval_secs,
            sync_interval_secs,
            events_poll_interval_secs,
            reconcile_interval_secs,
            sync_lease_secs,
            sync_rate_limit,
            sync_max_jobs,
            sync_max_in_flight,
            webhook_secrets,
            first_admin,
            bind,
            public_url,
            data_dir,
            database_url,
            static_dir,
            stripe,
            encryption_key: var("ENCRYPTION_KEY").map(Secret::new),
            // Trimmed like the bearer token it is compared with (a secrets file's newline).
            metrics_token: var("METRICS_TOKEN").map(|raw| Secret::new(raw.trim())),
            stripe_retry: (STRIPE_RETRY_BASE, STRIPE_RETRY_CAP),
        })
    }

    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_documented_ones_and_demo_mode_is_asked_for() {
        let c = config(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert!(c.public_url.is_none());
        assert_eq!(c.database_url, "sqlite://data/connections.db");
        assert_eq!(c.static_dir, PathBuf::from("dist"));
        assert!(
            matches!(c.stripe, StripeMode::Unconfigured),
            "never demo by accident"
        );
        assert!(matches!(
            config(&[("STRIPE_CLIENT_ID", "  ")]).unwrap().stripe,
            StripeMode::Unconfigured
        ));
        assert!(matches!(
            config(&[("DEMO", "1")]).unwrap().stripe,
            StripeMode::Demo
        ));
        assert_eq!(
            config(&[
                ("DEMO", "1"),
                ("STRIPE_CLIENT_ID", "ca_1"),
                ("STRIPE_SECRET_KEY", "sk_test_1")
            ])
            .unwrap_err()
            .var,
            "DEMO"
        );
        assert_eq!(config(&[("DEMO", "yes")]).unwrap_err().var, "DEMO");
    }

    #[test]
    fn database_url_follows_data_dir() {
        let c = config(&[("DATA_DIR", "/var/lib/x")]).unwrap();
        assert_eq!(c.database_url, "sqlite:///var/lib/x/connections.db");
    }

    #[test]
    fn live_mode_needs_both_credentials() {
        assert_eq!(
            config(&[("STRIPE_CLIENT_ID", "ca_1")]).unwrap_err().var,
            "STRIPE_SECRET_KEY"
        );
        assert_eq!(
            config(&[("STRIPE_SECRET_KEY", "sk_test_1")])
                .unwrap_err()
                .var,
            "STRIPE_CLIENT_ID"
        );
        let c = config(&[
            ("STRIPE_CLIENT_ID", "ca_1"),
            ("STRIPE_SECRET_KEY", "sk_test_1"),
        ])
        .unwrap();
        let StripeMode::Live(s) = c.stripe else {
            panic!("expected live mode")
        };
        assert_eq!(s.connect_url.as_str(), "https://connect.stripe.com/");
        assert_eq!(s.api_url.as_str(), "https://api.stripe.com/");
        assert_eq!(s.authorize_url.as_str(), DEFAULT_AUTHORIZE_URL);
        assert_eq!(c.stripe_oauth, AuthKind::Apps, "apps is the default flow");
    }

    #[test]
    fn the_oauth_flow_and_install_link_are_configurable() {
        let c = config(&[
            ("STRIPE_CLIENT_ID", "ca_1"),
            ("STRIPE_SECRET_KEY", "sk_test_1"),
            ("STRIPE_OAUTH", "connect"),
            (
                "STRIPE_AUTHORIZE_URL",
                "https://marketplace.stripe.com/oauth/v2/chnlink_61abc/authorize",
            ),
        ])
        .unwrap();
        assert_eq!(c.stripe_oauth, AuthKind::Connect);
        let StripeMode::Live(s) = c.stripe else {
            panic!("expected live mode")
        };
        assert_eq!(
            s.authorize_url.as_str(),
            "https://marketplace.stripe.com/oauth/v2/chnlink_61abc/authorize"
        );
        assert_eq!(
            config(&[("STRIPE_OAUTH", "legacy")]).unwrap_err().var,
            "STRIPE_OAUTH"
        );
        assert_eq!(
            config(&[("STRIPE_EMULATOR_TOKEN_TTL", "2m")])
                .unwrap()
                .emulator_token_ttl_secs,
            120
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let c = config(&[
            ("STRIPE_CLIENT_ID", "ca_1"),
            ("STRIPE_SECRET_KEY", "sk_test_very_secret"),
            ("ENCRYPTION_KEY", "a2V5a2V5"),
            ("ADMIN_EMAIL", "a@b.co"),
            ("ADMIN_PASSWORD", "admin-password-secret"),
            ("METRICS_TOKEN", "metrics-token-secret"),
        ])
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("metrics-token-secret"));
        assert!(!printed.contains("sk_test_very_secret"));
        assert!(!printed.contains("a2V5a2V5"));
        assert!(!printed.contains("admin-password-secret"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(config(&[("BIND", "nonsense")]).unwrap_err().var, "BIND");
        assert_eq!(
            config(&[("PUBLIC_URL", "ftp://x")]).unwrap_err().var,
            "PUBLIC_URL"
        );
        assert_eq!(
            config(&[
                ("STRIPE_CLIENT_ID", "ca_1"),
                ("STRIPE_SECRET_KEY", "pk_test_1")
            ])
            .unwrap_err()
            .var,
            "STRIPE_SECRET_KEY"
        );
        assert_eq!(
            config(&[("DATABASE_URL", "mysql://x")]).unwrap_err().var,
            "DATABASE_URL"
        );
        // PostgreSQL (SPEC.md §5.4) is accepted as it is.
        let pg = "postgres://u:p@db.internal/connections";
        assert_eq!(config(&[("DATABASE_URL", pg)]).unwrap().database_url, pg);
    }

    #[test]
    fn durations_and_webhook_secrets() {
        assert_eq!(config(&[]).unwrap().sync_rate_limit, None);
        assert_eq!(
            config(&[("SYNC_RATE_LIMIT", "2.5")])
                .unwrap()
                .sync_rate_limit,
            Some(2.5)
        );
        for bad in ["0", "-1", "fast", "inf"] {
            assert_eq!(
                config(&[("SYNC_RATE_LIMIT", bad)]).unwrap_err().var,
                "SYNC_RATE_LIMIT"
            );
        }
        assert_eq!(config(&[]).unwrap().health_interval_secs, 3600);
        assert_eq!(config(&[]).unwrap().sync_interval_secs, 3600);
        assert_eq!(config(&[]).unwrap().events_poll_interval_secs, 60);
        assert_eq!(config(&[]).unwrap().reconcile_interval_secs, 86_400);
        let c = config(&[
            ("EVENTS_POLL_INTERVAL", "5s"),
            ("RECONCILE_INTERVAL", "12h"),
        ])
        .unwrap();
        assert_eq!(
            (c.events_poll_interval_secs, c.reconcile_interval_secs),
            (5, 43_200)
        );
        assert!(config(&[("EVENTS_POLL_INTERVAL", "0s")]).is_err());
        assert_eq!(
            config(&[("SYNC_INTERVAL", "15m")])
                .unwrap()
                .sync_interval_secs,
            900
        );
        assert_eq!(parse_duration_secs("X", "90s", 10).unwrap(), 90);
        assert_eq!(parse_duration_secs("X", "15m", 10).unwrap(), 900);
        assert_eq!(parse_duration_secs("X", "2h", 10).unwrap(), 7200);
        assert_eq!(parse_duration_secs("X", "1h 30m", 10).unwrap(), 5400);
        assert_eq!(parse_duration_secs("X", "1d", 10).unwrap(), 86_400);
        assert_eq!(parse_duration_secs("X", "120", 10).unwrap(), 120);
        assert!(parse_duration_secs("X", "5", 10).is_err());
        assert!(parse_duration_secs("X", "soon", 10).is_err());
        let c = config(&[("STRIPE_WEBHOOK_SECRET", "whsec_a, whsec_b")]).unwrap();
        assert_eq!(c.webhook_secrets.len(), 2);
        assert!(config(&[("STRIPE_WEBHOOK_SECRET", "sk_x")]).is_err());
    }

    #[test]
    fn the_metrics_token_is_optional_and_trimmed() {
        assert!(
            config(&[]).unwrap().metrics_token.is_none(),
            "unset: no /metrics"
        );
        assert!(config(&[("METRICS_TOKEN", "  ")])
            .unwrap()
            .metrics_token
            .is_none());
        let c = config(&[("METRICS_TOKEN", " s3cret-scrape-token\n")]).unwrap();
        assert_eq!(
            c.metrics_token.as_ref().map(Secret::expose),
            Some("s3cret-scrape-token")
        );
    }

    #[test]
    fn trusted_proxies_are_cidr_ranges_or_single_addresses() {
        assert!(
            config(&[]).unwrap().trusted_proxies.is_empty(),
            "unset: none"
        );
        let c = config(&[(
            "TRUSTED_PROXIES",
            " 10.0.0.0/8, 127.0.0.1/32,192.0.2.7 ,2001:db8::/32, ::1,",
        )])
        .unwrap();
        let shown: Vec<String> = c
            .trusted_proxies
            .ranges()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "10.0.0.0/8",
                "127.0.0.1/32",
                "192.0.2.7/32",
                "2001:db8::/32",
                "::1/128"
            ]
        );
        assert!(c.trusted_proxies.contains("10.200.3.4".parse().unwrap()));
        assert!(!c.trusted_proxies.contains("192.0.2.8".parse().unwrap()));
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "proxy.internal",
            "10.0.0.0/8;127.0.0.1",
            "2001:db8::/129",
            "*",
        ] {
            let e = config(&[("TRUSTED_PROXIES", bad)]).unwrap_err();
            assert_eq!(e.var, "TRUSTED_PROXIES");
            assert!(
                e.to_string().contains("not an address or CIDR range"),
                "{e}"
            );
        }
        let e = config(&[("TRUSTED_PROXIES", "10.0.0.0/8,10.1.2.3/8")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "TRUSTED_PROXIES: \"10.1.2.3/8\" has bits set past its /8 prefix: write 10.0.0.0/8 \
             for the range, or 10.1.2.3/32 for the one address"
        );
    }

    #[test]
    fn join_path_keeps_a_base_prefix() {
        let base = parse_base_url("X", "http://h:1/stripe-emulator/").unwrap();
        assert_eq!(
            join_path(&base, "/oauth/token").as_str(),
            "http://h:1/stripe-emulator/oauth/token"
        );
        let root = parse_base_url("X", "https://connect.stripe.com").unwrap();
        assert_eq!(
            join_path(&root, "/oauth/token").as_str(),
            "https://connect.stripe.com/oauth/token"
        );
    }
}
