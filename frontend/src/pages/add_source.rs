//! The integration picker: a grid of tiles; the **Stripe** tile opens the Stripe authorization page.

use crate::router::{use_nav, Link};
use leptos::prelude::*;

use crate::components::stripe_mark::StripeMark;
use crate::strings;

/// The integration picker.
#[component]
pub fn AddSourcePage() -> impl IntoView {
    let nav = use_nav();
    let open_stripe = move |_| nav.navigate(crate::STRIPE_AUTHORIZE_PATH);
    view! {
        <section class="page add-source-page" aria-labelledby="add-source-title">
            <p class="breadcrumb"><Link href=shared::CONNECTIONS_PAGE>{strings::back_to_connections()}</Link></p>
            <h1 id="add-source-title">{strings::add_data_source()}</h1>
            <p class="lead">{strings::choose_integration()}</p>
            <ul class="integration-grid" aria-label=strings::integrations()>
                <li>
                    <button type="button" class="integration-tile" on:click=open_stripe>
                        <StripeMark size=48/>
                        <span>{strings::stripe()}</span>
                    </button>
                </li>
            </ul>
        </section>
    }
}
