//! The **Stripe authorization** page: what access is requested, and **Connect with Stripe**, which
//! asks the backend for a fresh authorize URL and sends the browser there.

use crate::router::Link;
use leptos::prelude::*;

use crate::api;
use crate::components::banner::{use_banner, Banner};
use crate::components::stripe_mark::StripeMark;
use crate::remote::{run, Remote};
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
    let info = Remote::new(|| Box::pin(api::server_info()));
    let pending = RwSignal::new(false);
    let redirecting = RwSignal::new(false);
    let connect = move || {
        run(
            pending,
            api::start_stripe_authorize(),
            move |answer| match answer {
                Ok(response) => {
                    redirecting.set(true);
                    go_to(&response.authorize_url);
                }
                Err(e) => banners.0.set(Some(Banner::error(e.message()))),
            },
        )
    };
    let busy = move || pending.get() || redirecting.get();
    let demo = move || {
        info.value
            .with(|i| matches!(i, Some(Ok(info)) if info.demo_mode))
    };
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
                    connect();
                }
            >
                {strings::CONNECT_WITH_STRIPE}
            </button>
            <p class="visually-hidden" aria-live="polite">{move || busy().then_some(strings::REDIRECTING)}</p>
        </section>
    }
}
