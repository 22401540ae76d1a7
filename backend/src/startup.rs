//! Building the application: state, router, listener. `app()` is separate from `main` so tests can
//! drive the router with `oneshot` and no socket.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Request};
use axum::middleware;
use axum::routing::{any, get, patch, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;
use url::Url;

use crate::auth;
use crate::clock::Clock;
use crate::config::{join_path, Config, Secret, StripeMode};
use crate::crypto::{CryptoError, TokenCipher};
use crate::emulator::{Emulator, EmulatorConfig};
use crate::routes::{api, auth as auth_routes, oauth, users as user_routes, webhooks};
use crate::store::{self, StoreError};
use crate::stripe::oauth::{OAuthConfigError, StripeOAuth};
use crate::stripe::{self, StripeEndpoints};
use crate::users::{self, UserError};
use shared::Role;

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
    /// Our origin (`scheme://host[:port]` of `PUBLIC_URL`): the only one allowed to change state.
    pub public_origin: String,
    /// Seconds between background connection tests.
    pub health_interval_secs: i64,
    /// Accepted webhook signing secrets; empty → webhooks refused.
    pub webhook_secrets: Arc<Vec<Secret>>,
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
    /// The configured key does not open the stored tokens.
    #[error("the encryption key does not open the stored Stripe tokens ({0}); set ENCRYPTION_KEY (or the key file in DATA_DIR) to the key they were encrypted with")]
    WrongKey(String),
    /// The first Admin could not be created.
    #[error("first admin: {0}")]
    FirstAdmin(UserError),
}

/// The Content-Security-Policy of the app: our own scripts and wasm, plus the hash of each inline
/// script trunk writes into `index.html` (its loader), and nothing else.
pub fn content_security_policy(index_html: &str) -> String {
    let mut hashes = String::new();
    let mut rest = index_html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !after[..open_end].contains("src=") {
            let digest = Sha256::digest(&body.as_bytes()[..close]);
            hashes.push_str(&format!(" 'sha256-{}'", B64.encode(digest)));
        }
        rest = &body[close..];
    }
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'self'"
    )
}

/// The router: API, OAuth callback, optional emulator, and the SPA with fallback to `index.html`.
pub fn app(state: AppState, static_dir: &Path, emulator: Option<&Emulator>) -> Router {
    let api = Router::new()
        .route("/health", get(api::health))
        .route("/meta", get(api::meta))
        .route("/auth/sign-in", post(auth_routes::sign_in))
        .route("/auth/sign-out", post(auth_routes::sign_out))
        .route("/auth/me", get(auth_routes::me))
        .route(
            "/users",
            get(user_routes::list_users).post(user_routes::create_user),
        )
        .route("/users/{id}", patch(user_routes::update_user))
        .route("/connections", get(api::list_connections))
        .route(
            "/connections/stripe/authorize",
            post(api::start_stripe_authorize),
        )
        .route(
            "/connections/callback-notice",
            get(api::take_callback_notice),
        )
        .route(
            "/connections/{id}",
            get(api::get_connection).delete(api::delete_connection),
        )
        .route("/connections/{id}/test", post(api::test_connection))
        .route(
            "/connections/{id}/reauthorize",
            post(api::start_reauthorize),
        )
        .fallback(api::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::same_origin_only,
        ))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let sessions = SessionManagerLayer::new(SqliteStore::new(state.pool.clone()))
        .with_name(auth::SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.public_origin.starts_with("https://"))
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            auth::IDLE_TIMEOUT_SECS,
        )));
    let csp = std::fs::read_to_string(static_dir.join("index.html"))
        .map(|html| content_security_policy(&html))
        .unwrap_or_else(|_| content_security_policy(""));
    let spa = ServeDir::new(static_dir).fallback(ServeFile::new(static_dir.join("index.html")));
    let webhooks = Router::new()
        .route("/webhooks/stripe", post(webhooks::stripe_webhook))
        .layer(DefaultBodyLimit::max(256 * 1024));
    let mut router = Router::new()
        .nest("/api", api)
        .route("/oauth/stripe/callback", get(oauth::stripe_callback))
        .route("/oauth/{*rest}", any(api::not_found))
        .layer(sessions)
        .merge(webhooks);
    if let Some(emulator) = emulator {
        router = router.nest_service(EMULATOR_PATH, emulator.router());
    }
    router
        .fallback_service(spa)
        .with_state(state)
        // The emulator sets its own policy; everything else gets the app's.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
        ))
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
    state: AppState,
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
    users::create(
        &state.pool,
        &email,
        "Administrator",
        Role::Admin,
        &hash,
        state.clock.now(),
    )
    .await
    .map_err(StartupError::FirstAdmin)?;
    tracing::info!(email = %email, "created the first Admin");
    Ok(Some((email, generated.then_some(password))))
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
                let mut emulator_config = EmulatorConfig::demo(redirect_uri.as_str());
                // The emulator signs its webhooks with a secret it shares with us.
                let secret = format!("whsec_demo{}", users::generate_password());
                emulator_config.webhook = Some((
                    join_path(&http_url(loopback_of(local_addr))?, "/webhooks/stripe").to_string(),
                    secret.clone(),
                ));
                webhook_secrets.push(Secret::new(secret));
                let emulator = Emulator::new(emulator_config);
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
            public_origin: public_url.origin().ascii_serialization(),
            health_interval_secs: config.health_interval_secs,
            webhook_secrets: Arc::new(webhook_secrets),
        };
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
            listener,
            router,
            local_addr,
            public_url,
            emulator,
            first_admin,
        })
    }

    /// Serves until Ctrl-C or SIGTERM, testing connections in the background meanwhile.
    pub async fn run(self) -> std::io::Result<()> {
        let checker = crate::health::spawn_checker(
            self.state.clone(),
            std::time::Duration::from_secs(
                u64::try_from(self.state.health_interval_secs.clamp(10, 60)).unwrap_or(60),
            ),
        );
        let _abort_on_exit = AbortOnDrop(checker);
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
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
