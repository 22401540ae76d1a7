//! The frame every page of the emulator shares — its stylesheet, the "Local Stripe emulator"
//! notice, the page's language (as Stripe's own pages, the browser's: English or Italian) — and the
//! two pages that only say what went wrong: a bad request, and a form from another site.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};

use super::wire::html_escape;
use super::Reply;

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1a1f36}\
.emu{background:#fff4d6;border:1px solid #c98a00;padding:.5rem .75rem;border-radius:6px}\
button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #635bff;background:#635bff;color:#fff;cursor:pointer}\
button.secondary{background:#fff;color:#635bff}label{display:block;margin:.75rem 0 .25rem}\
input{font:inherit;width:100%;padding:.4rem;box-sizing:border-box}.error{color:#b00020}\
form.inline{display:inline;margin-left:.5rem}li{margin:.5rem 0}\
fieldset{margin:.5rem 0;border:1px solid #c1c9d2;border-radius:6px}\
.perm{display:flex;align-items:center;gap:.4rem}.perm input{width:auto}.perm label{display:inline;margin:.2rem 0}\
code#restricted-key{display:block;padding:.5rem;background:#f6f8fa;word-break:break-all}";

/// Whether the pages an account owner meets while connecting speak Italian: as Stripe's own, they
/// follow the browser's languages (`Accept-Language`, in the order sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Italian(bool);

impl Italian {
    pub(super) fn of(headers: &HeaderMap) -> Self {
        let accepted = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let tags = accepted
            .split(',')
            .map(|t| t.split(';').next().unwrap_or_default().trim());
        Self(shared::Locale::negotiate(tags) == shared::Locale::It)
    }

    /// `en`, or `it` in Italian.
    pub(super) fn say(self, en: &'static str, it: &'static str) -> &'static str {
        if self.0 {
            it
        } else {
            en
        }
    }
}

/// The developer pages (demo accounts, keys) stay English: they stand in for Stripe's Dashboard.
pub(super) const ENGLISH: Italian = Italian(false);

pub(super) fn page(lang: Italian, title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} — {emulator}</title><style>{PAGE_STYLE}</style></head><body>\
         <p class=\"emu\" role=\"note\"><strong>{emulator}</strong> — {note}</p>\
         <main>{body}</main></body></html>",
        code = lang.say("en", "it"),
        title = html_escape(title),
        emulator = lang.say("Local Stripe emulator", "Emulatore Stripe locale"),
        note = lang.say(
            "demo mode. This page is not Stripe; nothing here touches a real Stripe account.",
            "modalità demo. Questa pagina non è Stripe; nulla qui tocca un vero account Stripe."
        ),
    ))
}

pub(super) fn error_page(title: &str, message: &str) -> Reply {
    (
        StatusCode::BAD_REQUEST,
        page(
            ENGLISH,
            title,
            &format!(
                "<h1>{}</h1><p role=\"alert\">{}</p><p><a href=\"./\">Back to the emulator</a></p>",
                html_escape(title),
                html_escape(message)
            ),
        ),
    )
        .into_response()
}

/// The answer to a form posted from another site (403): the emulator's own page, in the browser's
/// language, saying what happened and what to do.
pub(super) fn form_refused(headers: &HeaderMap) -> Reply {
    let lang = Italian::of(headers);
    let title = lang.say("Form refused", "Modulo rifiutato");
    let message = lang.say(
        "This form was sent from another site than the one showing this page, so the emulator \
         refused it and nothing was changed. Open the page again from the product (the address \
         in PUBLIC_URL) and send the form from there.",
        "Questo modulo è stato inviato da un sito diverso da quello che mostra questa pagina, \
         quindi l'emulatore lo ha rifiutato e nulla è cambiato. Riapri la pagina dal prodotto \
         (l'indirizzo in PUBLIC_URL) e invia il modulo da lì.",
    );
    (
        StatusCode::FORBIDDEN,
        page(
            lang,
            title,
            &format!(
                "<h1>{}</h1><p role=\"alert\">{}</p>",
                html_escape(title),
                html_escape(message)
            ),
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(accept: Option<&str>) -> Italian {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(header::ACCEPT_LANGUAGE, a.parse().unwrap());
        }
        Italian::of(&headers)
    }

    #[test]
    fn the_pages_speak_the_first_language_of_the_browser_they_know() {
        assert_eq!(lang(Some("it-IT,it;q=0.9,en;q=0.8")), Italian(true));
        assert_eq!(lang(Some("de-CH, it;q=0.7")), Italian(true));
        assert_eq!(lang(Some("en-US,it;q=0.5")), Italian(false));
        assert_eq!(lang(None), ENGLISH);
        assert_eq!(lang(Some("fr")), ENGLISH);
    }
}
