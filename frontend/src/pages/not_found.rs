//! Fallback for unknown addresses.

use crate::router::Link;
use leptos::prelude::*;

use crate::strings;

/// "Page not found".
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <section class="page" aria-labelledby="not-found-title">
            <h1 id="not-found-title">{strings::not_found_title()}</h1>
            <p>{strings::not_found_hint()}</p>
            <p><Link href=shared::CONNECTIONS_PAGE>{strings::back_to_connections()}</Link></p>
        </section>
    }
}
