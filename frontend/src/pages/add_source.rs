//! The integration picker: a grid of tiles; the **Stripe** tile opens the Stripe authorization page.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::components::stripe_mark::StripeMark;
use crate::strings;

/// The integration picker.
#[component]
pub fn AddSourcePage() -> impl IntoView {
    let navigate = use_navigate();
    let open_stripe = move |_| navigate(crate::STRIPE_AUTHORIZE_PATH, Default::default());
    view! {
        <section class="page add-source-page" aria-labelledby="add-source-title">
            <p class="breadcrumb"><A href=shared::CONNECTIONS_PAGE>{strings::BACK_TO_CONNECTIONS}</A></p>
            <h1 id="add-source-title">{strings::ADD_DATA_SOURCE}</h1>
            <p class="lead">{strings::CHOOSE_INTEGRATION}</p>
            <ul class="integration-grid" aria-label=strings::INTEGRATIONS>
                <li>
                    <button type="button" class="integration-tile" on:click=open_stripe>
                        <StripeMark size=48/>
                        <span>{strings::STRIPE}</span>
                    </button>
                </li>
            </ul>
        </section>
    }
}
