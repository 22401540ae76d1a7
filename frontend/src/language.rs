//! The app's language: set once before it renders — the signed-in user's choice as kept on this
//! device, else the browser's — and, when the signed-in user's choice turns out different, kept
//! and the page loaded again in it. (A reactive root rendering the whole app again on a change
//! cost ~0.8 KB gzip of the wasm budget; a change of language is rare.)

use shared::{Locale, User};

use crate::strings;

/// Where this device keeps the signed-in user's choice.
const KEY: &str = "connections.locale";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Sets the language before anything renders; `<html lang>` and the title follow.
pub fn start() {
    let kept = storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|v| Locale::from_wire(&v));
    let locale = kept.unwrap_or_else(strings::browser_locale);
    strings::set_locale(locale);
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        if let Some(html) = doc.document_element() {
            let _ = html.set_attribute("lang", locale.as_str());
        }
        doc.set_title(strings::connections());
    }
}

/// Follows the signed-in `user`'s choice (none: the browser's): kept on this device, and when the
/// page is in another language, the page is loaded again in this one.
pub fn follow(user: &User) {
    if let Some(s) = storage() {
        let _ = match user.locale {
            Some(l) => s.set_item(KEY, l.as_str()),
            None => s.remove_item(KEY),
        };
    }
    if user.locale.unwrap_or_else(strings::browser_locale) != strings::locale() {
        if let Some(w) = web_sys::window() {
            let _ = w.location().reload();
        }
    }
}
