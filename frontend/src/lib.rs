//! The Connections single-page app: Admin > Connections, the Data Sources table, the integration
//! picker and the Stripe authorization page. Components live here (not in `main.rs`) so tests can
//! mount them. Pages assume nothing about the shell around them, so they can be embedded.

pub mod api;
pub mod components;
pub mod pages;
pub mod strings;

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

use components::admin_menu::AdminMenu;
use components::banner::{provide_banner, BannerRegion};
use pages::add_source::AddSourcePage;
use pages::connections::ConnectionsPage;
use pages::not_found::NotFoundPage;
use pages::stripe_authorize::StripeAuthorizePage;

/// Route of the integration picker.
pub const ADD_SOURCE_PATH: &str = "/admin/connections/new";
/// Route of the Stripe authorization page.
pub const STRIPE_AUTHORIZE_PATH: &str = "/admin/connections/new/stripe";

/// The whole app: shell and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_banner();
    view! {
        <Router>
            <a class="skip-link" href="#main">{strings::SKIP_TO_CONTENT}</a>
            <header class="app-header">
                <span class="app-name">{strings::APP_NAME}</span>
                <AdminMenu/>
            </header>
            <main id="main" tabindex="-1">
                <BannerRegion/>
                <ConnectionRoutes/>
            </main>
        </Router>
    }
}

/// The Connections pages, without the shell: what a host console embeds inside its own router.
#[component]
pub fn ConnectionRoutes() -> impl IntoView {
    view! {
        <Routes fallback=NotFoundPage>
            <Route path=path!("/") view=|| view! { <Redirect path=shared::CONNECTIONS_PAGE/> }/>
            <Route path=path!("/admin/connections") view=ConnectionsPage/>
            <Route path=path!("/admin/connections/new") view=AddSourcePage/>
            <Route path=path!("/admin/connections/new/stripe") view=StripeAuthorizePage/>
        </Routes>
    }
}
