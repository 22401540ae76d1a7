//! Fallback for unknown addresses.

use crate::router::Link;
use leptos::prelude::*;

use crate::strings;

/// "Page not found".
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <section class="page" aria-labelledby="not-found-title">
            <h1 id="not-found-title">{strings::NOT_FOUND_TITLE}</h1>
            <p>{strings::NOT_FOUND_HINT}</p>
            <p><Link href=shared::CONNECTIONS_PAGE>{strings::BACK_TO_CONNECTIONS}</Link></p>
        </section>
    }
}
