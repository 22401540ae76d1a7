//! `/widget/authorize`: where a widget's flow goes on to Stripe — only from the popup the widget
//! opened (its page asks the widget, through `window.opener`, for the flow's proof, which never
//! travels in a URL), or, for a full-page flow, only once the user has read which organization and
//! host product the Stripe account will be connected to and clicked on. A link forwarded to someone
//! else therefore connects nothing. Going on binds the flow to this browser with a cookie that only
//! the callback gets back.

use std::sync::{Arc, LazyLock};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use shared::CallbackError;

use super::widget::{escape, html_page, refused, script};
use crate::cookies;
use crate::services::widget_flows::{self, WIDGET_COOKIE, WIDGET_FLOW_TTL_SECS};
use crate::state::AppState;
use crate::stripe::flows::Flows;

/// The pages' script. In the popup (`data-origin`: the host page's origin) it asks the widget — its
/// opener, on that origin only — for the proof and goes on with it. On either page, every way of
/// not getting to Stripe ends in a sentence in the live region `#note`, never a page that waits:
/// no opener or no answer within [`PROOF_WAIT_MS`] (`data-fail`); the navigation to Stripe blocked
/// by the page's policy (a `securitypolicyviolation` event), or this page still here
/// [`GO_WAIT_MS`] after the form went (`data-blocked`).
pub const AUTHORIZE_SCRIPT: &str = r#"(function () {
  var me = document.currentScript;
  var origin = me.getAttribute("data-origin");
  var note = document.getElementById("note");
  var form = document.getElementById("go");
  var stage = "waiting";
  function say(which) {
    if (stage === "over") return;
    stage = "over";
    note.textContent = note.getAttribute(which);
  }
  function going() {
    stage = "going";
    setTimeout(function () { if (stage === "going") say("data-blocked"); }, GO_WAIT_MS);
  }
  document.addEventListener("securitypolicyviolation", function (ev) {
    if (ev.effectiveDirective === "form-action") say("data-blocked");
  });
  if (!origin) {
    form.addEventListener("submit", function () { if (stage === "waiting") going(); });
    return;
  }
  if (!window.opener) { say("data-fail"); return; }
  window.addEventListener("message", function (ev) {
    var d = ev.data || {};
    if (stage !== "waiting" || ev.origin !== origin || ev.source !== window.opener) return;
    if (d.source !== "stripe-connections" || d.type !== "proof" || typeof d.proof !== "string") return;
    form.elements.proof.value = d.proof;
    going();
    form.submit();
  });
  window.opener.postMessage({ source: "stripe-connections", type: "proof-request" }, origin);
  setTimeout(function () { if (stage === "waiting") say("data-fail"); }, PROOF_WAIT_MS);
})();
"#;

/// How long the popup waits for the widget's proof before saying where to start instead.
pub const PROOF_WAIT_MS: u32 = 5_000;
/// How long a page whose form went to Stripe may still be there before it says Stripe did not open
/// (a blocked navigation is told at once; this is for one the browser gives no event for).
pub const GO_WAIT_MS: u32 = 6_000;

/// [`AUTHORIZE_SCRIPT`] with its waits.
static SCRIPT: LazyLock<String> = LazyLock::new(|| {
    AUTHORIZE_SCRIPT
        .replace("PROOF_WAIT_MS", &PROOF_WAIT_MS.to_string())
        .replace("GO_WAIT_MS", &GO_WAIT_MS.to_string())
});

/// The pages' policy, fixed at start-up: our own script, and a form that may go to our origin and,
/// by the redirect its answer makes, to the origin of the configured Stripe authorize page —
/// exactly that one (a browser checks every redirect of a form's navigation against
/// `form-action`), whether it is `https://marketplace.stripe.com` or a developer's Stripe on
/// `http://127.0.0.1:12111`, and nothing broader.
#[derive(Debug, Clone)]
pub struct PagePolicy(Arc<str>);

impl PagePolicy {
    /// The policy for a Stripe whose authorize page is on `stripe_origin` (`None`: our origin only).
    pub fn new(stripe_origin: Option<&str>) -> Self {
        let form_action = match stripe_origin {
            Some(origin) => format!("'self' {origin}"),
            None => "'self'".to_owned(),
        };
        Self(
            format!(
                "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
                 base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
            )
            .into(),
        )
    }

    /// The policy for the configured OAuth flow's authorize page.
    pub fn for_flows(flows: &Flows) -> Self {
        Self::new(flows.authorize_origin().as_deref())
    }

    /// The header's value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Query of `GET /widget/authorize`.
#[derive(Debug, Deserialize)]
pub struct FlowQuery {
    flow: Option<String>,
}

/// Form of `POST /widget/authorize`.
#[derive(Debug, Deserialize)]
pub struct GoForm {
    flow: String,
    #[serde(default)]
    proof: Option<String>,
}

fn html(policy: &PagePolicy, body: String) -> Response {
    html_page(StatusCode::OK, policy.as_str(), "Connect Stripe", &body)
}

/// `GET /widget/authorize?flow=…`: the popup's page (which asks the widget for the proof) or, for a
/// full-page flow, the confirmation naming the organization and the host product.
pub async fn authorize_page(
    State(state): State<AppState>,
    Extension(policy): Extension<PagePolicy>,
    Query(query): Query<FlowQuery>,
) -> Response {
    let flow = query.flow.unwrap_or_default();
    let described = match widget_flows::describe_widget_flow(&state, &flow).await {
        Ok(Some(described)) => described,
        Ok(None) => return refused(StatusCode::BAD_REQUEST, CallbackError::InvalidState),
        Err(e) => {
            tracing::error!(error = %e, "reading a widget flow failed");
            return refused(StatusCode::BAD_REQUEST, CallbackError::StorageFailed);
        }
    };
    let (organization, host, origin, popup) = described;
    let form = |button: &str| {
        format!(
            "<form id=\"go\" method=\"post\" action=\"/widget/authorize\">\
             <input type=\"hidden\" name=\"flow\" value=\"{}\">\
             <input type=\"hidden\" name=\"proof\" value=\"\">{button}</form>",
            escape(&flow)
        )
    };
    if popup {
        let blocked = format!(
            "Stripe did not open. Close this window and start again from the Connections widget \
             in {}.",
            escape(&host)
        );
        html(
            &policy,
            format!(
                "<p id=\"note\" role=\"status\" aria-live=\"polite\" data-fail=\"Start from the \
                 Connections widget in {} to connect Stripe.\" data-blocked=\"{blocked}\">Opening \
                 Stripe…</p>{}<script src=\"/widget/authorize.js\" data-origin=\"{}\"></script>",
                escape(&host),
                form(""),
                escape(&origin),
            ),
        )
    } else {
        let blocked = format!(
            "Stripe did not open. Go back to {} and start again from its Connections widget.",
            escape(&host)
        );
        html(
            &policy,
            format!(
                "<h1>Connect Stripe</h1><p>Connect a Stripe account to <strong>{}</strong> in \
                 <strong>{}</strong> ({}). Continue only if you started this there.</p>{}\
                 <p id=\"note\" role=\"status\" aria-live=\"polite\" data-blocked=\"{blocked}\"></p>\
                 <script src=\"/widget/authorize.js\"></script>",
                escape(&organization),
                escape(&host),
                escape(&origin),
                form("<button type=\"submit\">Continue to Stripe</button>"),
            ),
        )
    }
}

/// `POST /widget/authorize`: goes on to Stripe (the proof, or the click on our own page: the form
/// must come from our origin), binding the flow to this browser.
pub async fn authorize_go(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<GoForm>,
) -> Response {
    // Our own page's form only. Under `Referrer-Policy: no-referrer` a browser sends
    // `Origin: null` with a form post: then `Sec-Fetch-Site` tells.
    let origin = headers.get(header::ORIGIN).map(HeaderValue::as_bytes);
    let ours = match origin {
        Some(o) if o != b"null" => o == state.settings.public_origin.as_bytes(),
        _ => headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"same-origin"),
    };
    if !ours {
        return refused(StatusCode::FORBIDDEN, CallbackError::SessionMismatch);
    }
    let proof = form.proof.as_deref().filter(|p| !p.is_empty());
    match widget_flows::open_widget_flow(&state, &form.flow, proof).await {
        Ok(Some((nonce, stripe_url))) => {
            let cookie = cookies::set_cookie(
                WIDGET_COOKIE,
                &nonce,
                "/oauth/stripe/callback",
                WIDGET_FLOW_TTL_SECS,
                state.settings.secure_cookies(),
            );
            let mut response = Redirect::to(&stripe_url).into_response();
            if let Some(value) = cookie {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Ok(None) => refused(StatusCode::BAD_REQUEST, CallbackError::InvalidState),
        Err(e) => {
            tracing::error!(error = %e, "opening a widget flow failed");
            refused(StatusCode::BAD_REQUEST, CallbackError::StorageFailed)
        }
    }
}

/// `GET /widget/authorize.js`.
pub async fn authorize_script() -> Response {
    script(SCRIPT.as_str())
}
