//! The **Stripe authorization** page: what access is requested, and **Connect with Stripe**, which
//! asks the backend for a fresh authorize URL and sends the browser there.

use crate::router::Link;
use leptos::prelude::*;

use crate::api;
use crate::components::banner::{use_banner, Banner};
use crate::components::stripe_mark::StripeMark;
use crate::strings;

fn go_to(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(url);
    }
}

/// The Stripe authorization page.
#[component]
pub fn StripeAuthorizePage() -> impl IntoView {
    let banners = use_banner();
    let info = LocalResource::new(api::server_info);
    let connect = Action::new_local(|_: &()| api::start_stripe_authorize());
    let redirecting = RwSignal::new(false);
    Effect::new(move |_| match connect.value().get() {
        Some(Ok(response)) => {
            redirecting.set(true);
            go_to(&response.authorize_url);
        }
        Some(Err(e)) => banners.0.set(Some(Banner::error(e.message()))),
        None => {}
    });
    let busy = move || connect.pending().get() || redirecting.get();
    let demo = move || info.get().and_then(Result::ok).is_some_and(|i| i.demo_mode);
    view! {
        <section class="page stripe-authorize-page" aria-labelledby="stripe-auth-title">
            <p class="breadcrumb"><Link href=crate::ADD_SOURCE_PATH>{strings::BACK_TO_INTEGRATIONS}</Link></p>
            <h1 id="stripe-auth-title" class="with-mark"><StripeMark size=40/>" "{strings::STRIPE_AUTHORIZATION}</h1>
            <p>{strings::STRIPE_AUTH_WHAT}</p>
            <p>{strings::STRIPE_AUTH_READ_ONLY}</p>
            <p>{strings::STRIPE_AUTH_HOW}</p>
            <Show when=demo>
                <p class="note demo-note">{strings::DEMO_MODE_NOTE}</p>
            </Show>
            <button
                type="button"
                class="button button-stripe"
                aria-busy=move || busy().to_string()
                disabled=busy
                on:click=move |_| {
                    banners.0.set(None);
                    connect.dispatch_local(());
                }
            >
                {strings::CONNECT_WITH_STRIPE}
            </button>
            <p class="visually-hidden" aria-live="polite">{move || busy().then_some(strings::REDIRECTING)}</p>
        </section>
    }
}
