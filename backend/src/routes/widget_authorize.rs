//! `/widget/authorize`: where a widget's flow goes on to Stripe — only from the popup the widget
//! opened (its page asks the widget, through `window.opener`, for the flow's proof, which never
//! travels in a URL), or, for a full-page flow, only once the user has read which organization and
//! host product the Stripe account will be connected to and clicked on. A link forwarded to someone
//! else therefore connects nothing. Going on binds the flow to this browser with a cookie that only
//! the callback gets back.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use shared::CallbackError;

use super::widget::{escape, html_page, refused, script};
use crate::services::widget_flows::{self, WIDGET_COOKIE, WIDGET_FLOW_TTL_SECS};
use crate::state::AppState;

/// The popup page's script: asks the widget (its opener, on the host page's origin only) for the
/// proof and goes on with it; without an opener or an answer, says where to start instead.
pub const AUTHORIZE_SCRIPT: &str = r#"(function () {
  var me = document.currentScript;
  var origin = me.getAttribute("data-origin");
  var note = document.getElementById("note");
  var done = false;
  function fail() { if (!done) { done = true; note.textContent = note.getAttribute("data-fail"); } }
  if (!window.opener) { fail(); return; }
  window.addEventListener("message", function (ev) {
    var d = ev.data || {};
    if (done || ev.origin !== origin || ev.source !== window.opener) return;
    if (d.source !== "stripe-connections" || d.type !== "proof" || typeof d.proof !== "string") return;
    done = true;
    var form = document.getElementById("go");
    form.elements.proof.value = d.proof;
    form.submit();
  });
  window.opener.postMessage({ source: "stripe-connections", type: "proof-request" }, origin);
  setTimeout(fail, 5000);
})();
"#;

/// The pages' policy: our own script, our own form (which redirects on to Stripe).
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
     base-uri 'none'; form-action 'self' https:; frame-ancestors 'none'";

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

fn html(body: String) -> Response {
    html_page(StatusCode::OK, PAGE_POLICY, "Connect Stripe", &body)
}

/// `GET /widget/authorize?flow=…`: the popup's page (which asks the widget for the proof) or, for a
/// full-page flow, the confirmation naming the organization and the host product.
pub async fn authorize_page(
    State(state): State<AppState>,
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
        html(format!(
            "<p id=\"note\" role=\"status\" data-fail=\"Start from the Connections widget in {} to \
             connect Stripe.\">Opening Stripe…</p>{}\
             <script src=\"/widget/authorize.js\" data-origin=\"{}\"></script>",
            escape(&host),
            form(""),
            escape(&origin),
        ))
    } else {
        html(format!(
            "<h1>Connect Stripe</h1><p>Connect a Stripe account to <strong>{}</strong> in \
             <strong>{}</strong> ({}). Continue only if you started this there.</p>{}",
            escape(&organization),
            escape(&host),
            escape(&origin),
            form("<button type=\"submit\">Continue to Stripe</button>"),
        ))
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
            let secure = if state.settings.public_origin.starts_with("https://") {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{WIDGET_COOKIE}={nonce}; Path=/oauth/stripe/callback; Max-Age={WIDGET_FLOW_TTL_SECS}; HttpOnly; SameSite=Lax{secure}"
            );
            let mut response = Redirect::to(&stripe_url).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
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
    script(AUTHORIZE_SCRIPT)
}
