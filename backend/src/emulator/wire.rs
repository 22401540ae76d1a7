//! Stripe's wire details shared by every endpoint: form and query parsing that refuses duplicate
//! names, the key a request presents, the OAuth and API error shapes, key masking, HTML escaping.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};
use url::Url;

use super::random_token;

/// Why the emulator refuses a request, rendered exactly as Stripe renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An OAuth error: `{"error": code, "error_description": …}`.
    OAuth {
        /// HTTP status (400, 401 for `invalid_client`, 404 for an unknown install link).
        status: StatusCode,
        /// The OAuth error code.
        error: &'static str,
        /// The description.
        description: String,
    },
    /// The sign-in form got a wrong email or password.
    BadCredentials,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::OAuth {
                status,
                error,
                description,
            } => oauth_error(status, error, description),
            Self::BadCredentials => {
                (StatusCode::UNAUTHORIZED, "Invalid email or password.").into_response()
            }
        }
    }
}

/// An OAuth refusal.
pub(super) fn refuse(
    status: StatusCode,
    error: &'static str,
    description: impl Into<String>,
) -> Refusal {
    Refusal::OAuth {
        status,
        error,
        description: description.into(),
    }
}

/// A 400 OAuth refusal.
pub(super) fn bad_request(error: &'static str, description: impl Into<String>) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, error, description)
}

/// The OAuth error body: `error` is a string.
pub(super) fn oauth_error(
    status: StatusCode,
    error: &str,
    description: impl Into<String>,
) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description.into() })),
    )
        .into_response()
}

/// The API error body: `error` is an object of type `invalid_request_error`.
pub(super) fn api_error(status: StatusCode, message: impl Into<String>) -> Response {
    api_error_with(status, message, None, None)
}

/// The API error body with an optional `code` and `param`.
pub(super) fn api_error_with(
    status: StatusCode,
    message: impl Into<String>,
    code: Option<&str>,
    param: Option<&str>,
) -> Response {
    let mut error = Map::new();
    error.insert("type".into(), "invalid_request_error".into());
    if let Some(code) = code {
        error.insert("code".into(), code.into());
    }
    if let Some(param) = param {
        error.insert("param".into(), param.into());
    }
    error.insert("message".into(), message.into().into());
    (status, Json(json!({ "error": Value::Object(error) }))).into_response()
}

/// An API refusal, answered with [`api_error_with`]'s body.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
    code: Option<&'static str>,
    param: Option<String>,
}

impl ApiError {
    /// A refusal with a status and a message.
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            code: None,
            param: None,
        }
    }

    /// With Stripe's `code`.
    pub(super) fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// With the `param` at fault.
    pub(super) fn param(mut self, param: &str) -> Self {
        self.param = Some(param.to_owned());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        api_error_with(self.status, self.message, self.code, self.param.as_deref())
    }
}

/// Stripe masks keys in messages: the type prefix (`sk_test_`, `rk_live_`, `rt_`), stars, the
/// last four characters.
pub(super) fn mask(key: &str) -> String {
    let prefix_len = match key.find('_') {
        Some(i) => {
            let rest = &key[i + 1..];
            if rest.starts_with("test_") || rest.starts_with("live_") {
                i + 6
            } else {
                i + 1
            }
        }
        None => 0,
    };
    let chars: Vec<char> = key.chars().collect();
    let prefix: String = key.get(..prefix_len).unwrap_or_default().to_owned();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{prefix}****{tail}")
}

/// Escapes text for HTML content and attribute values.
pub(super) fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

/// Parses a form or query string, refusing duplicate names (Stripe answers them with an error).
pub(super) fn unique_pairs(raw: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(format!("Duplicate parameter: {k}"));
        }
    }
    Ok(out)
}

/// A form-encoded body, UTF-8 and without duplicate names.
pub(super) fn form_body(body: &[u8]) -> Result<HashMap<String, String>, String> {
    std::str::from_utf8(body)
        .map_err(|e| e.to_string())
        .and_then(unique_pairs)
}

/// The key in the `Authorization` header: `Bearer <key>`, or HTTP Basic with the key as user name.
/// `None` when there is no header or it cannot be read.
pub(super) fn header_key(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())?;
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Some(token.trim().to_owned());
    }
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = B64.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    Some(decoded.split(':').next().unwrap_or_default().to_owned())
}

/// The key a Connect request authenticates with: `Authorization: Bearer`, HTTP Basic (key as user
/// name), or `client_secret` in the form body, in Stripe's order of precedence.
pub(super) fn presented_key(headers: &HeaderMap, form: &HashMap<String, String>) -> Option<String> {
    if headers.contains_key(header::AUTHORIZATION) {
        return header_key(headers);
    }
    form.get("client_secret").cloned()
}

/// Checks a redirect URI against the registered ones (exact match; none given: the first).
pub(super) fn registered_redirect(
    registered: &[String],
    requested: Option<&String>,
) -> Result<Url, Refusal> {
    let uri = match requested {
        Some(uri) if registered.contains(uri) => uri,
        Some(_) => {
            return Err(bad_request(
                "invalid_redirect_uri",
                "Invalid redirect URI: it does not match one of the URIs registered for this application.",
            ))
        }
        None => registered
            .first()
            .ok_or_else(|| bad_request("invalid_redirect_uri", "No redirect URI registered."))?,
    };
    Url::parse(uri).map_err(|_| {
        bad_request(
            "invalid_redirect_uri",
            "The registered redirect URI is not a valid URL.",
        )
    })
}

/// `redirect` with `pairs` appended to its query, then `state` when there is one.
pub(super) fn redirect_with(redirect: &Url, state: Option<&str>, pairs: &[(&str, &str)]) -> Url {
    let mut url = redirect.clone();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(state) = state {
            q.append_pair("state", state);
        }
    }
    url
}

/// A token endpoint's success body (no `expires_in`, for either flow).
pub(super) fn token_response(access: &str, refresh: &str, account: &str, scope: &str) -> Response {
    Json(json!({
        "access_token": access,
        "scope": scope,
        "livemode": false,
        "token_type": "bearer",
        "refresh_token": refresh,
        "stripe_user_id": account,
        "stripe_publishable_key": format!("pk_test_emu{}", random_token(24)),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_the_type_prefix_and_last_four() {
        assert_eq!(mask("sk_test_abcdefgh1234"), "sk_test_****1234");
        assert_eq!(mask("rk_live_abcdefgh1234"), "rk_live_****1234");
        assert_eq!(mask("rt_abcdefgh1234"), "rt_****1234");
        assert_eq!(mask("nounderscore"), "****core");
        assert_eq!(mask("é"), "****é");
    }
}
