//! The router: API, OAuth callback, webhooks, metrics, the emulator in demo mode, and the SPA with
//! fallback to `index.html`, with the security headers. Separate from start-up so tests drive it
//! with `oneshot` and no socket.

use std::path::Path;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Request};
use axum::middleware;
use axum::routing::{any, get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth;
use crate::emulator::Emulator;
use crate::routes::{meta, metrics, oauth, webhooks, widget, widget_authorize};
use crate::state::AppState;

/// The longest a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Where demo mode mounts the emulator.
pub const EMULATOR_PATH: &str = "/stripe-emulator";

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

/// CORS for the widget: an origin a live host key lists may call the API with a bearer credential
/// (never with cookies); every other origin gets no CORS headers, so browsers refuse it.
fn widget_cors(state: &AppState) -> tower_http::cors::CorsLayer {
    use axum::http::Method;
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let pool = state.pool.clone();
    let ours = state.settings.public_origin.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(move |origin, _| {
            let pool = pool.clone();
            // The app's own requests (a POST carries `Origin`) need no CORS and no query.
            let own = origin.as_bytes() == ours.as_bytes();
            async move {
                match origin.to_str() {
                    Ok(origin) if !own => crate::store::origin_allowed(&pool, origin)
                        .await
                        .unwrap_or(false),
                    _ => false,
                }
            }
        }))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600))
}

/// Whether `path` is one of the widget's static files (`/widget.js`, `/widget/…` from `dist/`).
pub fn is_widget_asset(path: &str) -> bool {
    path == "/widget.js" || path.starts_with("/widget/")
}

/// The widget's static files are loaded by host pages of other origins (its glue as a module
/// script, its wasm with `fetch`), so their answers may be read by any origin: they are public
/// and no credentials go with them. Only those files: not the SPA, not the widget's routes
/// (`/widget/authorize`, `/widget/callback.js` are routes, never reach this), not the `index.html`
/// fallback for a missing file.
async fn widget_assets_cors(
    request: Request<Body>,
    next: middleware::Next,
) -> axum::response::Response {
    let widget = is_widget_asset(request.uri().path());
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if widget && response.status().is_success() && !html {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}

/// The router: API, OAuth callback, optional emulator, and the SPA with fallback to `index.html`.
pub fn app(state: AppState, static_dir: &Path, emulator: Option<&Emulator>) -> Router {
    let (api, document) = crate::api::router();
    let api = api
        .layer(axum::Extension(document))
        .fallback(meta::not_found)
        .method_not_allowed_fallback(meta::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::same_origin_only,
        ))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(widget_cors(&state));
    let csp = std::fs::read_to_string(static_dir.join("index.html"))
        .map(|html| content_security_policy(&html))
        .unwrap_or_else(|_| content_security_policy(""));
    let spa = ServeDir::new(static_dir).fallback(ServeFile::new(static_dir.join("index.html")));
    let spa = tower::ServiceBuilder::new()
        .layer(middleware::from_fn(widget_assets_cors))
        .service(spa);
    let webhooks = Router::new()
        .route("/webhooks/stripe", post(webhooks::stripe_webhook))
        .layer(DefaultBodyLimit::max(webhooks::MAX_BODY));
    let mut router = Router::new()
        .nest(crate::api::API_PATH, api)
        .route("/oauth/stripe/callback", get(oauth::stripe_callback))
        .route("/oauth/{*rest}", any(meta::not_found))
        .merge(webhooks)
        // Prometheus' scrape: not under /api (no session, no Origin), its own bearer token.
        .route("/metrics", get(metrics::scrape))
        .route(
            "/widget/authorize",
            get(widget_authorize::authorize_page)
                .post(widget_authorize::authorize_go)
                // Its policy names the configured Stripe, worked out once here.
                .layer(axum::Extension(widget_authorize::PagePolicy::for_flows(
                    &state.flows,
                ))),
        )
        .route(
            "/widget/authorize.js",
            get(widget_authorize::authorize_script),
        )
        .route("/widget/callback.js", get(widget::callback_script));
    if let Some(emulator) = emulator {
        router = router.nest_service(
            EMULATOR_PATH,
            emulator.router_at(Some(&state.settings.public_origin)),
        );
    }
    router
        .fallback_service(spa)
        .with_state(state)
        // The emulator sets its own policy; everything else gets the app's.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
        ))
        // A request is answered (or refused with 408) within this long; work that must finish
        // (an OAuth callback, a test) runs in its own task and completes anyway.
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
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
