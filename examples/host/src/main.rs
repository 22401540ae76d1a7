//! An example host product, "Acme BI", embedding the Connections widget (SPEC §5.3).
//!
//! Its page (on its own origin) loads `{CONNECTIONS_URL}/widget.js`, asks this server for a
//! connect session and shows `<stripe-connections>` with the events it emits. This server holds the
//! host key (`HOST_KEY`, never sent to the browser) and opens sessions with
//! `POST {CONNECTIONS_URL}/api/connect-sessions` for a fixed demo organization and user; the page
//! gets the `cs_…` token only. Every page is sent with a strict Content-Security-Policy.
//!
//! Environment: `CONNECTIONS_URL` (the Connections backend, e.g. `http://127.0.0.1:8080`),
//! `HOST_KEY` (`hk_…`, from `backend create-host-key`), `BIND` (default `127.0.0.1:8090`),
//! `PUBLIC_URL` (the address people open, one of the key's origins; default `http://` + `BIND`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use shared::{ConnectSessionRequest, ConnectSessionToken, EndUser, OrganizationRef};

/// The demo organizations (Acme BI's customers): host id, name, and the end user who is signed in.
/// The first is the default; `?org=` on the page picks another.
const ORGANIZATIONS: [(&str, &str, &str, &str); 2] = [
    (
        "org_northwind",
        "Northwind Traders",
        "user_ada",
        "ada@northwind.example",
    ),
    (
        "org_contoso",
        "Contoso Ltd",
        "user_grace",
        "grace@contoso.example",
    ),
];

const PAGE: &str = include_str!("../static/index.html");
const SCRIPT: &str = include_str!("../static/app.js");
const STYLE: &str = include_str!("../static/style.css");

struct Config {
    /// The Connections backend's origin (`scheme://host[:port]`).
    connections: String,
    host_key: String,
    bind: SocketAddr,
    public_url: Option<String>,
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

impl Config {
    fn from_env() -> Result<Self, AnyError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let raw = var("CONNECTIONS_URL").ok_or(
            "CONNECTIONS_URL is required: the Connections backend, e.g. http://127.0.0.1:8080",
        )?;
        let url = reqwest::Url::parse(raw.trim())
            .map_err(|_| format!("CONNECTIONS_URL is not a URL: {raw:?}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("CONNECTIONS_URL must be http(s)://host[:port]: {raw:?}").into());
        }
        let host_key = var("HOST_KEY")
            .ok_or("HOST_KEY is required: the hk_… key printed by `backend create-host-key`")?;
        if !host_key.starts_with("hk_") {
            return Err("HOST_KEY must be a host key (hk_…)".into());
        }
        let bind = var("BIND")
            .unwrap_or_else(|| "127.0.0.1:8090".into())
            .parse()
            .map_err(|_| "BIND must be an address such as 127.0.0.1:8090")?;
        Ok(Self {
            connections: url.origin().ascii_serialization(),
            host_key: host_key.trim().to_owned(),
            bind,
            public_url: var("PUBLIC_URL").map(|u| u.trim().trim_end_matches('/').to_owned()),
        })
    }
}

#[derive(Clone)]
struct AppState {
    config: Arc<Config>,
    client: reqwest::Client,
    page: Arc<String>,
    policy: HeaderValue,
}

/// The page's Content-Security-Policy: scripts from this origin and the widget's (plus compiling
/// the widget's WebAssembly), requests to the same two, stylesheets from the same two (the widget
/// links its own in its shadow root), images from this origin only; no inline script or style,
/// nothing framed, no forms, no `<base>`. `examples/host/README.md` explains each part.
fn policy(connections: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' {connections} 'wasm-unsafe-eval'; \
         connect-src 'self' {connections}; style-src 'self' {connections}; img-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route(
            "/app.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route(
            "/style.css",
            get(|| asset("text/css; charset=utf-8", STYLE)),
        )
        .route("/session", post(open_session))
        .with_state(state)
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

async fn page(State(state): State<AppState>) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        state.page.as_str().to_owned(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, state.policy.clone());
    response
}

#[derive(Debug, Deserialize)]
struct SessionQuery {
    org: Option<String>,
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Whether the request comes from this server's own page (a browser says so in `Sec-Fetch-Site`,
/// or in an `Origin` naming the `Host` it asked); a request without either is a tool such as curl.
fn from_own_page(headers: &HeaderMap) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => {
            origin.strip_prefix("http://") == Some(host)
                || origin.strip_prefix("https://") == Some(host)
        }
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// `POST /session[?org=…]`: opens a connect session for the demo organization with the host key
/// and answers the token only (and what the page shows: the organization's name, the expiry).
async fn open_session(
    State(state): State<AppState>,
    Query(query): Query<SessionQuery>,
    headers: HeaderMap,
) -> Response {
    if !from_own_page(&headers) {
        return refuse(StatusCode::FORBIDDEN, "only this site's own page may ask");
    }
    let wanted = query.org.as_deref().unwrap_or(ORGANIZATIONS[0].0);
    let Some(&(org_id, org_name, user_id, email)) =
        ORGANIZATIONS.iter().find(|(id, ..)| *id == wanted)
    else {
        return refuse(StatusCode::NOT_FOUND, "no such organization");
    };
    let request = ConnectSessionRequest {
        organization: OrganizationRef {
            id: org_id.to_owned(),
            name: org_name.to_owned(),
        },
        end_user: EndUser {
            id: user_id.to_owned(),
            email: email.to_owned(),
        },
    };
    let body = match serde_json::to_string(&request) {
        Ok(body) => body,
        Err(_) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, "could not encode"),
    };
    let answer = state
        .client
        .post(format!("{}/api/connect-sessions", state.config.connections))
        .bearer_auth(&state.config.host_key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            eprintln!("connect session: the Connections backend is unreachable: {e}");
            return refuse(
                StatusCode::BAD_GATEWAY,
                "the Connections backend is unreachable",
            );
        }
    };
    let status = answer.status();
    let text = answer.text().await.unwrap_or_default();
    if status != reqwest::StatusCode::CREATED {
        // The backend's answer names the problem (a revoked key, say); the key itself is not in it.
        eprintln!("connect session refused: {status} {text}");
        return refuse(
            StatusCode::BAD_GATEWAY,
            &format!("the Connections backend refused the session ({status})"),
        );
    }
    match serde_json::from_str::<ConnectSessionToken>(&text) {
        Ok(session) => {
            println!("connect session opened for {org_name}");
            Json(json!({
                "token": session.token,
                "expires_at": session.expires_at,
                "organization": org_name,
            }))
            .into_response()
        }
        Err(_) => refuse(
            StatusCode::BAD_GATEWAY,
            "the Connections backend answered something unexpected",
        ),
    }
}

async fn run() -> Result<(), AnyError> {
    let config = Config::from_env()?;
    let page = PAGE.replace("{connections}", &escape(&config.connections));
    let policy = HeaderValue::from_str(&policy(&config.connections))?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    let public = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    println!(
        "Acme BI's admin page, embedding the widget of {}: open {public}/",
        config.connections
    );
    let state = AppState {
        config: Arc::new(config),
        client,
        page: Arc::new(page),
        policy,
    };
    axum::serve(listener, app(state)).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn only_the_own_page_or_a_tool_may_open_a_session() {
        assert!(from_own_page(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!from_own_page(&headers(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
        assert!(!from_own_page(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(from_own_page(&headers(&[
            ("origin", "http://127.0.0.1:8090"),
            ("host", "127.0.0.1:8090"),
        ])));
        assert!(!from_own_page(&headers(&[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:8090"),
        ])));
        assert!(from_own_page(&headers(&[])));
    }

    #[test]
    fn the_policy_allows_the_widgets_origin_and_nothing_inline() {
        let policy = policy("https://connections.example");
        assert!(
            policy.contains("script-src 'self' https://connections.example 'wasm-unsafe-eval';")
        );
        assert!(policy.contains("connect-src 'self' https://connections.example;"));
        assert!(policy.contains("style-src 'self' https://connections.example;"));
        assert!(!policy.contains("unsafe-inline") && !policy.contains("'unsafe-eval'"));
        assert!(policy.starts_with("default-src 'none';"));
    }

    #[test]
    fn the_page_names_the_widget_and_has_no_inline_script() {
        let page = PAGE.replace("{connections}", &escape("https://connections.example"));
        assert!(page.contains("<script src=\"https://connections.example/widget.js\" defer>"));
        assert!(!page.contains("{connections}"));
        assert_eq!(
            page.matches("<script").count(),
            page.matches("<script src=").count()
        );
        assert!(page.contains("aria-live=\"polite\""));
    }
}
