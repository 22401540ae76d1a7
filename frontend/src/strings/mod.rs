//! Every user-visible string of the front end (and so of the widget), in English and Italian, in
//! one module: the fixed texts (`texts`), the sentences made from the server's codes
//! (`sentences`), and numbers, times and durations in the UI's language through the browser's
//! `Intl` (its plural rules included). The language is set once before anything renders; a change
//! renders the app again.

mod sentences;
mod texts;

use std::sync::atomic::{AtomicBool, Ordering};

use shared::Locale;
use wasm_bindgen::JsValue;

pub use sentences::*;
pub use texts::*;

/// Whether the UI speaks Italian (English otherwise). The wasm runs on one thread.
static ITALIAN: AtomicBool = AtomicBool::new(false);

/// The UI's language.
pub fn locale() -> Locale {
    if italian() {
        Locale::It
    } else {
        Locale::En
    }
}

/// Sets the UI's language, for everything rendered from now on.
pub fn set_locale(locale: Locale) {
    ITALIAN.store(locale == Locale::It, Ordering::Relaxed);
}

/// The language the browser prefers (`navigator.languages`), among those the UI speaks.
pub fn browser_locale() -> Locale {
    web_sys::window()
        .and_then(|w| {
            w.navigator()
                .languages()
                .iter()
                .find_map(|tag| Locale::of_tag(&tag.as_string()?))
        })
        .unwrap_or(Locale::En)
}

fn italian() -> bool {
    ITALIAN.load(Ordering::Relaxed)
}

/// `en` or `it`, by the UI's language.
#[inline(always)]
fn t(en: &'static str, it: &'static str) -> &'static str {
    if italian() {
        it
    } else {
        en
    }
}

/// The `Intl` locales argument: the UI's language.
fn locales() -> js_sys::Array {
    js_sys::Array::of1(&JsValue::from_str(locale().as_str()))
}

/// An options object for `Intl` from (name, value) pairs.
fn options(pairs: &[(&str, &str)]) -> js_sys::Object {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    o
}

/// Calls an `Intl` formatter's bound `format` on `value`.
fn call_format(format: &js_sys::Function, value: f64) -> String {
    format
        .call1(&JsValue::NULL, &JsValue::from_f64(value))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// A count in the UI's language ("1,234" / "1.234").
pub fn number(n: i64) -> String {
    let f = js_sys::Intl::NumberFormat::new(&locales(), &js_sys::Object::new());
    call_format(&f.format(), n as f64)
}

/// `n` of a unit, spelled out and plural as the language wants ("2 minutes", "1 minuto").
fn unit(n: i64, unit: &str) -> String {
    let f = js_sys::Intl::NumberFormat::new(
        &locales(),
        &options(&[("style", "unit"), ("unit", unit), ("unitDisplay", "long")]),
    );
    call_format(&f.format(), n as f64)
}

/// How long ago, rounded as a person would say it: "now", "5 minutes ago", "yesterday" (Italian:
/// "ora", "5 minuti fa", "ieri").
pub fn time_ago(seconds: i64) -> String {
    let s = seconds.max(0);
    let (n, unit) = match s {
        0..=44 => (0, "second"),
        45..=3_599 => ((s + 30) / 60, "minute"),
        3_600..=86_399 => ((s + 1_800) / 3_600, "hour"),
        _ => ((s + 43_200) / 86_400, "day"),
    };
    let f = js_sys::Intl::RelativeTimeFormat::new(&locales(), &options(&[("numeric", "auto")]));
    String::from(f.format(-(n as f64), unit))
}

/// How long something took: "less than a second", "3 seconds", "4 minutes" (and in Italian).
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..=999 => t("less than a second", "meno di un secondo").into(),
        1_000..=59_999 => unit(ms / 1_000, "second"),
        _ => unit(ms / 60_000, "minute"),
    }
}

/// A moment's time of day in the UI's language ("14:05:09").
pub fn time_of_day(unix_seconds: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(unix_seconds as f64 * 1000.0));
    String::from(date.to_locale_time_string(locale().as_str()))
}

/// A moment in full, in the UI's language ("27/11/2026, 14:05:09").
pub fn date_time(date: &js_sys::Date) -> String {
    String::from(date.to_locale_string(locale().as_str(), &JsValue::UNDEFINED))
}
