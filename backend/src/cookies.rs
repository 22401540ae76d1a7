//! Cookies: reading one from a request, and writing ours (HttpOnly, SameSite=Lax, `Secure` when the
//! public URL is https). Two cookies exist: the sign-in session's and a widget flow's nonce.

use axum::http::{header, HeaderMap, HeaderValue};

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// `Set-Cookie` for cookie `name` = `value` (URL-safe) on `path`, for `max_age` seconds (`0`:
/// deleted); `None` when the value cannot be a header.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
    secure: bool,
) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}
