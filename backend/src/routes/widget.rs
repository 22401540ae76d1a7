//! The widget's popup on our origin: `/widget/authorize` binds a widget's flow to the popup's
//! browser (a cookie only the callback gets back) and goes on to Stripe; after the callback, a small
//! page posts the outcome to the widget's window — to the host page's origin only — and closes.

use crate::ids::ConnectionId;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use shared::CallbackError;

use crate::cookies;
use crate::services::authorize::Failure;
use crate::services::widget_flows::{self, WIDGET_COOKIE};
use crate::state::AppState;
use crate::store;

/// The script of the result page (a file, so the page's policy allows no inline script).
pub const CALLBACK_SCRIPT: &str = r#"(function () {
  var me = document.currentScript;
  var result = JSON.parse(me.getAttribute("data-result"));
  var origin = me.getAttribute("data-origin");
  if (window.opener && origin) {
    window.opener.postMessage({ source: "stripe-connections", result: result }, origin);
    window.close();
  }
})();
"#;

/// The pages' policy: our own script only, nothing framed, nothing else loaded.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /widget/callback.js`.
pub async fn callback_script() -> Response {
    script(CALLBACK_SCRIPT)
}

/// One of the widget pages' scripts.
pub(super) fn script(body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// One of the widget's pages on our origin (never cached, under `policy`).
pub(super) fn html_page(status: StatusCode, policy: &str, title: &str, body: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, policy),
            (header::CACHE_CONTROL, "no-store"),
        ],
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>{title}</title></head><body><main>{body}</main></body></html>"
        ),
    )
        .into_response()
}

/// A page saying why a flow cannot go on (`storage_failed`: our fault, 500).
pub(super) fn refused(status: StatusCode, error: CallbackError) -> Response {
    let status = if error == CallbackError::StorageFailed {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        status
    };
    page(status, None, &error_result(error))
}

fn error_result(error: CallbackError) -> serde_json::Value {
    serde_json::json!({
        "type": "error",
        "code": error.as_str(),
        "message": widget_flows::widget_message(error),
    })
}

/// The host page a full-page flow returns to: an absolute http(s) URL on one of the key's origins.
pub fn return_address(to: &str, origins: &[String]) -> Result<String, crate::error::AppError> {
    let bad = || crate::error::AppError::BadRequest("return_to must be a page of the host".into());
    let url = url::Url::parse(to).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
        || !origins.contains(&url.origin().ascii_serialization())
    {
        return Err(bad());
    }
    Ok(url.to_string())
}

/// The end of a widget's flow: in a popup, a page whose script posts the outcome to the host page's
/// origin; in a full-page flow, back to the host page with the outcome in its query
/// (`stripe_connections=connect&connection_id=…&account_name=…`, or `=error&code=…`).
pub async fn result_page(
    state: &AppState,
    target: &store::WidgetTarget,
    outcome: Result<ConnectionId, Failure>,
) -> Response {
    let origin = target.origin.as_str();
    let result = match outcome {
        Ok(id) => match store::find_connection(&state.pool, id).await {
            Ok(Some(c)) => serde_json::json!({
                "type": "connect", "connection_id": id, "account_name": c.name,
            }),
            _ => {
                serde_json::json!({ "type": "connect", "connection_id": id, "account_name": null })
            }
        },
        Err(Failure { error, .. }) => error_result(error),
    };
    let mut response = match &target.return_to {
        Some(to) => back_to(to, &result),
        None => page(StatusCode::OK, Some(origin), &result),
    };
    // The flow's cookie has done its job.
    let secure = state.settings.secure_cookies();
    if let Some(value) = cookies::set_cookie(WIDGET_COOKIE, "", "/oauth/stripe/callback", 0, secure)
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// A redirect to the host page with the outcome in its query.
fn back_to(to: &str, result: &serde_json::Value) -> Response {
    let Ok(mut url) = url::Url::parse(to) else {
        return page(StatusCode::OK, None, result);
    };
    {
        let mut query = url.query_pairs_mut();
        query.append_pair(
            "stripe_connections",
            result["type"].as_str().unwrap_or("error"),
        );
        for key in ["connection_id", "account_name", "code"] {
            match &result[key] {
                serde_json::Value::String(s) => {
                    query.append_pair(key, s);
                }
                serde_json::Value::Number(n) => {
                    query.append_pair(key, &n.to_string());
                }
                _ => {}
            }
        }
    }
    (
        [(header::CACHE_CONTROL, "no-store")],
        Redirect::to(url.as_str()),
    )
        .into_response()
}

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(super) fn page(
    status: StatusCode,
    origin: Option<&str>,
    result: &serde_json::Value,
) -> Response {
    let message = match result["type"].as_str() {
        Some("connect") => "Connection Successful! You can close this window.".to_owned(),
        _ => result["message"].as_str().unwrap_or_default().to_owned(),
    };
    let body = format!(
        "<p role=\"status\">{}</p>\
         <script src=\"/widget/callback.js\" data-origin=\"{}\" data-result=\"{}\"></script>",
        escape(&message),
        escape(origin.unwrap_or_default()),
        escape(&result.to_string()),
    );
    html_page(status, PAGE_POLICY, "Stripe", &body)
}
