//! Building the application: database, key, listener, Stripe flows, state and router; then serving
//! with the background checker.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use url::Url;

use crate::app::{app, EMULATOR_PATH};
use crate::clock::Clock;
use crate::config::{join_path, Config, Secret, StripeMode, StripeSettings};
use crate::crypto::{CryptoError, TokenCipher};
use crate::emulator::{Emulator, EmulatorConfig};
use crate::metrics::Metrics;
use crate::state::{new_instance_id, stripe_key_page, AppState, Settings};
use crate::store::{self, StoreError};
use crate::stripe::flows::connect::OAuthConfigError;
use crate::stripe::flows::{AppsFlow, ConnectFlow, Flows};
use crate::stripe::{self, StripeClient};
use crate::sync::writer::Writer;
use crate::users::{self, UserError};
use shared::{AuthKind, Role};

/// Start-up failures, each with a clear message.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Data directory problems.
    #[error("data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    /// The encryption key.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listener.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// OAuth configuration.
    #[error(transparent)]
    OAuth(#[from] OAuthConfigError),
    /// The HTTP client.
    #[error("HTTP client: {0}")]
    Http(String),
    /// The configured key does not open the stored tokens.
    #[error("the encryption key does not open the stored Stripe tokens ({0}); set ENCRYPTION_KEY (or the key file in DATA_DIR) to the key they were encrypted with")]
    WrongKey(String),
    /// Neither Stripe credentials nor `DEMO=1`.
    #[error("Stripe is not configured: set STRIPE_CLIENT_ID and STRIPE_SECRET_KEY, or DEMO=1 to run with the built-in Stripe emulator (scripts/run.sh does)")]
    NoStripe,
    /// The database was used with the other kind of Stripe.
    #[error("this database holds connections made with {stored} Stripe, but this start is {now}: a connection must never meet the other one (use another DATA_DIR/DATABASE_URL)")]
    StripeModeMismatch {
        /// What the database holds.
        stored: String,
        /// What this start is.
        now: &'static str,
    },
    /// The first Admin could not be created.
    #[error("first admin: {0}")]
    FirstAdmin(UserError),
}

/// A built, bound application, ready to serve.
pub struct Application {
    state: AppState,
    max_connections_per_client: usize,
    trusted_proxies: crate::client_ip::TrustedProxies,
    listener: TcpListener,
    router: Router,
    /// The address it listens on.
    pub local_addr: SocketAddr,
    /// The external base URL.
    pub public_url: Url,
    /// The emulator, in demo mode.
    pub emulator: Option<Emulator>,
    /// The Admin created at this start, and its generated password if one was generated.
    pub first_admin: Option<(String, Option<Secret>)>,
}

/// The demo Admin's email.
pub const DEMO_ADMIN_EMAIL: &str = "admin@example.com";

/// Creates the first Admin when no user exists: from `ADMIN_EMAIL`/`ADMIN_PASSWORD`, or in demo mode
/// a demo Admin with a generated password (printed by `main`).
async fn ensure_first_admin(
    state: &AppState,
    configured: Option<(String, Secret)>,
    demo: bool,
) -> Result<Option<(String, Option<Secret>)>, StartupError> {
    if users::count(&state.pool).await? > 0 {
        return Ok(None);
    }
    let (email, password, generated) = match configured {
        Some((email, password)) => (email, password, false),
        None if demo => (
            DEMO_ADMIN_EMAIL.to_owned(),
            Secret::new(users::generate_password()),
            true,
        ),
        None => {
            tracing::warn!(
                "no users yet: set ADMIN_EMAIL and ADMIN_PASSWORD, or run `backend create-user --role admin`"
            );
            return Ok(None);
        }
    };
    users::check_new_password(password.expose()).map_err(StartupError::FirstAdmin)?;
    let to_hash = password.expose().to_owned();
    let hash = tokio::task::spawn_blocking(move || users::hash_password(&to_hash))
        .await
        .map_err(|e| StartupError::Http(e.to_string()))?
        .map_err(StartupError::FirstAdmin)?;
    match users::create(
        &state.pool,
        &email,
        "Administrator",
        Role::Admin,
        &hash,
        state.clock.now(),
    )
    .await
    {
        Ok(_) => {}
        // Another instance starting on the same database made it a moment ago.
        Err(users::UserError::DuplicateEmail) => return Ok(None),
        Err(e) => return Err(StartupError::FirstAdmin(e)),
    }
    tracing::info!(email = %email, "created the first Admin");
    Ok(Some((email, generated.then_some(password))))
}

/// The three ways to connect, for Stripe (or a stand-in) at `settings`; the browser reaches
/// Connect's authorize page under `browser_connect_url`.
pub fn flows(
    settings: &StripeSettings,
    browser_connect_url: &Url,
    configured: AuthKind,
    redirect_uri: &Url,
) -> Result<Flows, OAuthConfigError> {
    Ok(Flows {
        connect: ConnectFlow::new(
            &settings.client_id,
            &settings.secret_key,
            browser_connect_url,
            &settings.connect_url,
            redirect_uri,
        )?,
        apps: AppsFlow::new(
            &settings.client_id,
            &settings.secret_key,
            &settings.authorize_url,
            &settings.api_url,
            redirect_uri,
        )?,
        configured,
    })
}

/// Creates `DATA_DIR` readable by its owner only (0700); an existing one open to others is
/// reported, not changed (an operator may share it on purpose).
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.is_dir() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(dir = %dir.display(), mode = format!("{:o}", mode & 0o777), "DATA_DIR is readable by other users; chmod 700 it");
            }
        }
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn loopback_of(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

fn http_url(addr: SocketAddr) -> Result<Url, StartupError> {
    Url::parse(&format!("http://{addr}/")).map_err(|e| StartupError::Http(e.to_string()))
}

impl Application {
    /// Opens the database, loads the key, binds the listener and builds the router.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        create_private_dir(&config.data_dir)
            .map_err(|e| StartupError::DataDir(config.data_dir.clone(), e))?;
        let mode = match config.stripe {
            StripeMode::Live(_) => "live",
            StripeMode::Demo => "demo",
            StripeMode::Unconfigured => return Err(StartupError::NoStripe),
        };
        let cipher = TokenCipher::load_or_create(config.encryption_key.as_ref(), &config.data_dir)?;
        let pool = store::connect(&config.database_url).await?;
        if let Some(stored) = store::claim_stripe_mode(&pool, mode).await? {
            return Err(StartupError::StripeModeMismatch { stored, now: mode });
        }
        store::check_key(&pool, &cipher)
            .await
            .map_err(|e| StartupError::WrongKey(e.to_string()))?;
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|e| StartupError::Bind(config.bind, e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| StartupError::Bind(config.bind, e))?;
        let public_url = match config.public_url {
            Some(url) => url,
            None => http_url(loopback_of(local_addr))?,
        };
        let redirect_uri = join_path(&public_url, "/oauth/stripe/callback");

        let mut webhook_secrets = config.webhook_secrets;
        let http = stripe::http_client().map_err(|e| StartupError::Http(e.to_string()))?;
        let (flows, api_url, restricted_key_url, emulator) = match config.stripe {
            StripeMode::Live(s) => {
                let flows = flows(&s, &s.connect_url, config.stripe_oauth, &redirect_uri)?;
                let key_page = stripe_key_page(s.secret_key.expose().contains("_live_"));
                (flows, s.api_url, key_page.to_owned(), None)
            }
            StripeMode::Demo => {
                let mut emulator_config = EmulatorConfig::demo(redirect_uri.as_str());
                emulator_config.access_token_ttl_secs =
                    u64::try_from(config.emulator_token_ttl_secs).unwrap_or(3600);
                // The emulator signs its webhooks with a secret it shares with us.
                let secret = format!("whsec_demo{}", users::generate_password());
                let internal_base = http_url(loopback_of(local_addr))?;
                emulator_config.webhook = Some((
                    join_path(&internal_base, "/webhooks/stripe").to_string(),
                    secret.clone(),
                ));
                webhook_secrets.push(Secret::new(secret));
                let emulator = Emulator::new(emulator_config);
                // This server reaches the emulator on loopback; the browser at the public URL.
                let internal = join_path(&internal_base, EMULATOR_PATH);
                let browser = join_path(&public_url, EMULATOR_PATH);
                let settings = StripeSettings {
                    client_id: emulator.config().client_id.clone(),
                    secret_key: Secret::new(emulator.config().secret_key.clone()),
                    connect_url: internal.clone(),
                    api_url: internal.clone(),
                    authorize_url: join_path(
                        &browser,
                        &format!("/oauth/v2/{}/authorize", emulator.config().install_link),
                    ),
                };
                let flows = flows(&settings, &browser, config.stripe_oauth, &redirect_uri)?;
                let key_page = join_path(&browser, "/").to_string();
                (flows, internal, key_page, Some(emulator))
            }
            StripeMode::Unconfigured => return Err(StartupError::NoStripe),
        };
        let clock = Clock::default();
        let metrics = Metrics::default();
        let sync_writer = Writer::start(
            pool.clone(),
            clock.clone(),
            config.sync_lease_secs,
            metrics.clone(),
        );
        let state = AppState {
            pool,
            cipher: Arc::new(cipher),
            stripe: StripeClient::new(http, api_url)
                .with_retry(stripe::RetryPolicy {
                    base: config.stripe_retry.0,
                    cap: config.stripe_retry.1,
                    ..stripe::RetryPolicy::default()
                })
                .with_metrics(metrics.clone()),
            flows: Arc::new(flows),
            clock,
            settings: Arc::new(Settings {
                demo_mode: emulator.is_some(),
                public_origin: public_url.origin().ascii_serialization(),
                health_interval_secs: config.health_interval_secs,
                sync_schedule: crate::store::SyncSchedule {
                    sync_secs: config.sync_interval_secs,
                    poll_secs: config.events_poll_interval_secs,
                    reconcile_secs: config.reconcile_interval_secs,
                    webhooks: !webhook_secrets.is_empty(),
                },
                sync_lease_secs: config.sync_lease_secs,
                sync_rate_limit: config.sync_rate_limit,
                sync_max_jobs: config.sync_max_jobs,
                restricted_key_url,
                instance_id: new_instance_id(),
                trusted_proxies: config.trusted_proxies.clone(),
                metrics_token: config.metrics_token,
            }),
            webhook_secrets: Arc::new(webhook_secrets),
            connections_answer: Arc::default(),
            sync_limits: Default::default(),
            sync_requests: Arc::new(tokio::sync::Semaphore::new(config.sync_max_in_flight)),
            sync_writer,
            sync_wake: Arc::default(),
            webhook_wake: Arc::default(),
            metrics,
        };
        tracing::info!(
            instance = %state.settings.instance_id,
            database = ?state.pool.dialect(),
            "instance started"
        );
        let first_admin =
            ensure_first_admin(&state, config.first_admin, emulator.is_some()).await?;
        if !config.static_dir.join("index.html").is_file() {
            tracing::warn!(
                static_dir = %config.static_dir.display(),
                "no index.html in STATIC_DIR: build the front end first (see README)"
            );
        }
        let router = app(state.clone(), &config.static_dir, emulator.as_ref());
        Ok(Self {
            state,
            max_connections_per_client: config.max_connections_per_client,
            trusted_proxies: config.trusted_proxies,
            listener,
            router,
            local_addr,
            public_url,
            emulator,
            first_admin,
        })
    }

    /// What every handler shares (tests and benchmarks drive the app through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The router [`Self::run`] serves (tests call it without a socket).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves until Ctrl-C or SIGTERM, testing connections in the background meanwhile.
    pub async fn run(self) -> std::io::Result<()> {
        let checker = crate::checker::spawn_checker(
            self.state.clone(),
            std::time::Duration::from_secs(
                u64::try_from(self.state.settings.health_interval_secs.clamp(10, 60)).unwrap_or(60),
            ),
        );
        let _abort_on_exit = AbortOnDrop(checker);
        let _announcer = AbortOnDrop(crate::checker::spawn_key_announcer(self.state.clone()));
        // Syncs run on their own task: a long backfill never delays connection tests.
        let _sync = AbortOnDrop(crate::sync::spawn_worker(
            self.state.clone(),
            std::time::Duration::from_secs(5),
        ));
        let _webhooks = AbortOnDrop(crate::sync::spawn_applier(
            self.state.clone(),
            std::time::Duration::from_secs(5),
        ));
        crate::server::serve(
            self.listener,
            self.router,
            crate::server::Limits {
                max_connections_per_client: self.max_connections_per_client,
                trusted_proxies: self.trusted_proxies,
                ..crate::server::Limits::default()
            },
            shutdown_signal(),
        )
        .await
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
