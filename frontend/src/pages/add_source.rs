//! The integration picker: a grid of tiles; the **Stripe** tile opens the Stripe authorization page.

use crate::router::{use_nav, Link};
use leptos::prelude::*;

use crate::handler::handler;

use crate::components::stripe_mark::StripeMark;
use crate::strings;

/// The integration picker.
#[component]
pub fn AddSourcePage() -> impl IntoView {
    let nav = use_nav();
    let open_stripe = move |_| nav.navigate(crate::STRIPE_AUTHORIZE_PATH);
    view! {
        <section class="page add-source-page" aria-labelledby="add-source-title">
            <p class="breadcrumb"><Link href=shared::CONNECTIONS_PAGE>{strings::BACK_TO_CONNECTIONS}</Link></p>
            <h1 id="add-source-title">{strings::ADD_DATA_SOURCE}</h1>
            <p class="lead">{strings::CHOOSE_INTEGRATION}</p>
            <ul class="integration-grid" aria-label=strings::INTEGRATIONS>
                <li>
                    <button type="button" class="integration-tile" on:click=handler(open_stripe)>
                        <StripeMark size=48/>
                        <span>{strings::STRIPE}</span>
                    </button>
                </li>
            </ul>
        </section>
    }
}
