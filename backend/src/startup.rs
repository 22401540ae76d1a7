//! Building the application: state, router, listener. `app()` is separate from `main` so tests can
//! drive the router with `oneshot` and no socket.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request};
use axum::routing::{any, get, post};
use axum::Router;
use sqlx::SqlitePool;
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use url::Url;

use crate::clock::Clock;
use crate::config::{join_path, Config, Secret, StripeMode};
use crate::crypto::{CryptoError, TokenCipher};
use crate::emulator::{Emulator, EmulatorConfig};
use crate::routes::{api, oauth};
use crate::store::{self, StoreError};
use crate::stripe::oauth::{OAuthConfigError, StripeOAuth};
use crate::stripe::{self, StripeEndpoints};

/// Where demo mode mounts the emulator.
pub const EMULATOR_PATH: &str = "/stripe-emulator";

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub pool: SqlitePool,
    /// Seals and opens tokens at rest.
    pub cipher: Arc<TokenCipher>,
    /// Stripe OAuth.
    pub oauth: Arc<StripeOAuth>,
    /// The one HTTP client for Stripe.
    pub http: oauth2::reqwest::Client,
    /// The emulator stands in for Stripe.
    pub demo_mode: bool,
    /// The time.
    pub clock: Clock,
}

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
}

/// The router: API, OAuth callback, optional emulator, and the SPA with fallback to `index.html`.
pub fn app(state: AppState, static_dir: &Path, emulator: Option<&Emulator>) -> Router {
    let api = Router::new()
        .route("/health", get(api::health))
        .route("/meta", get(api::meta))
        .route("/connections", get(api::list_connections))
        .route(
            "/connections/stripe/authorize",
            post(api::start_stripe_authorize),
        )
        .fallback(api::not_found)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let spa = ServeDir::new(static_dir).fallback(ServeFile::new(static_dir.join("index.html")));
    let mut router = Router::new()
        .nest("/api", api)
        .route("/oauth/stripe/callback", get(oauth::stripe_callback))
        .route("/oauth/{*rest}", any(api::not_found));
    if let Some(emulator) = emulator {
        router = router.nest_service(EMULATOR_PATH, emulator.router());
    }
    router
        .fallback_service(spa)
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // The callback URL carries a code: never send it on in a Referer.
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(
            // Spans name the path only: query strings may carry OAuth codes and states.
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        )
}

/// A built, bound application, ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// The address it listens on.
    pub local_addr: SocketAddr,
    /// The external base URL.
    pub public_url: Url,
    /// The emulator, in demo mode.
    pub emulator: Option<Emulator>,
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
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| StartupError::DataDir(config.data_dir.clone(), e))?;
        let cipher = TokenCipher::load_or_create(config.encryption_key.as_ref(), &config.data_dir)?;
        let pool = store::connect(&config.database_url).await?;
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

        let (endpoints, emulator) = match config.stripe {
            StripeMode::Live(s) => (
                StripeEndpoints {
                    client_id: s.client_id,
                    secret_key: s.secret_key,
                    browser_connect_url: s.connect_url.clone(),
                    connect_url: s.connect_url,
                    api_url: s.api_url,
                },
                None,
            ),
            StripeMode::Demo => {
                let emulator = Emulator::new(EmulatorConfig::demo(redirect_uri.as_str()));
                let internal = join_path(&http_url(loopback_of(local_addr))?, EMULATOR_PATH);
                (
                    StripeEndpoints {
                        client_id: emulator.config().client_id.clone(),
                        secret_key: Secret::new(emulator.config().secret_key.clone()),
                        browser_connect_url: join_path(&public_url, EMULATOR_PATH),
                        connect_url: internal.clone(),
                        api_url: internal,
                    },
                    Some(emulator),
                )
            }
        };
        let state = AppState {
            pool,
            cipher: Arc::new(cipher),
            oauth: Arc::new(StripeOAuth::new(endpoints, redirect_uri)?),
            http: stripe::http_client().map_err(|e| StartupError::Http(e.to_string()))?,
            demo_mode: emulator.is_some(),
            clock: Clock::default(),
        };
        if !config.static_dir.join("index.html").is_file() {
            tracing::warn!(
                static_dir = %config.static_dir.display(),
                "no index.html in STATIC_DIR: build the front end first (see README)"
            );
        }
        let router = app(state, &config.static_dir, emulator.as_ref());
        Ok(Self {
            listener,
            router,
            local_addr,
            public_url,
            emulator,
        })
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run(self) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown_signal())
            .await
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
