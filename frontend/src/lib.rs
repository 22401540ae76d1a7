//! The Connections single-page app: Admin > Connections, the Data Sources table, the integration
//! picker and the Stripe authorization page. Components live here (not in `main.rs`) so tests can
//! mount them. Pages assume nothing about the shell around them, so they can be embedded.

pub mod api;
pub mod components;
pub mod pages;
pub mod router;
pub mod strings;

use leptos::prelude::*;

use components::admin_menu::AdminMenu;
use components::banner::{provide_banner, BannerRegion};
use pages::add_source::AddSourcePage;
use pages::connections::ConnectionsPage;
use pages::not_found::NotFoundPage;
use pages::stripe_authorize::StripeAuthorizePage;
use router::{provide_nav, use_nav};

/// Route of the integration picker.
pub const ADD_SOURCE_PATH: &str = "/admin/connections/new";
/// Route of the Stripe authorization page.
pub const STRIPE_AUTHORIZE_PATH: &str = "/admin/connections/new/stripe";

/// The whole app: shell and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_banner();
    let nav = provide_nav();
    if nav.path_untracked() == "/" {
        nav.replace(shared::CONNECTIONS_PAGE);
    }
    view! {
            <a class="skip-link" href="#main">{strings::SKIP_TO_CONTENT}</a>
            <header class="app-header">
                <span class="app-name">{strings::APP_NAME}</span>
                <AdminMenu/>
            </header>
            <main id="main" tabindex="-1">
                <BannerRegion/>
                <ConnectionRoutes/>
            </main>
    }
}

/// The Connections pages, without the shell: what a host console embeds inside its own router.
#[component]
pub fn ConnectionRoutes() -> impl IntoView {
    let nav = use_nav();
    move || match nav.path().trim_end_matches('/') {
        "" | shared::CONNECTIONS_PAGE => ConnectionsPage().into_any(),
        ADD_SOURCE_PATH => AddSourcePage().into_any(),
        STRIPE_AUTHORIZE_PATH => StripeAuthorizePage().into_any(),
        _ => NotFoundPage().into_any(),
    }
}
