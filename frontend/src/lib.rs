//! The Connections single-page app: Admin > Connections, the Data Sources table, the integration
//! picker and the Stripe authorization page. Components live here (not in `main.rs`) so tests can
//! mount them. Pages assume nothing about the shell around them, so they can be embedded.

pub mod api;
pub mod components;
pub mod embed;
pub mod language;
pub mod pages;
pub mod remote;
pub mod router;
pub mod session;
pub mod strings;

use leptos::prelude::*;

// Talc instead of Rust's default dlmalloc: smaller in the wasm (and faster). Single-threaded wasm
// only (no `atomics`), as the crate requires; the SPA and the widget both get it through this crate.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

use components::admin_menu::AdminMenu;
use components::banner::{provide_banner, BannerRegion};
use pages::add_source::AddSourcePage;
use pages::connection_detail::ConnectionDetailPage;
use pages::connections::ConnectionsPage;
use pages::host_keys::HostKeysPage;
use pages::not_found::NotFoundPage;
use pages::requires_admin::{HomePage, RequiresAdminPage};
use pages::sign_in::SignInPage;
use pages::stripe_authorize::StripeAuthorizePage;
use pages::users::UsersPage;
use router::{provide_nav, use_nav};
use session::{provide_auth, use_auth, SIGN_IN_PATH};

/// Route of the integration picker.
pub const ADD_SOURCE_PATH: &str = "/admin/connections/new";
/// Route of the Stripe authorization page.
pub const STRIPE_AUTHORIZE_PATH: &str = "/admin/connections/new/stripe";
/// Route of Admin > Users.
pub const USERS_PATH: &str = "/admin/users";
/// Route of Admin > Host keys.
pub const HOST_KEYS_PATH: &str = "/admin/host-keys";

/// The whole app: shell, session and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_banner();
    let nav = provide_nav();
    let auth = provide_auth();
    language::start();
    // Any 401 from the API means the session is over.
    api::on_signed_out(move |_| auth.user.set(None));
    api::me().send(move |answer| {
        if let Ok(user) = &answer {
            language::follow(user);
        }
        auth.user.set(answer.ok());
        auth.checked.set(true);
    });
    // Signed-out users land on sign-in and come back afterwards.
    Effect::new(move |_| {
        if auth.checked.get() && auth.user.with(Option::is_none) && nav.path() != SIGN_IN_PATH {
            let here = nav.location_untracked();
            let next = String::from(js_sys::encode_uri_component(&here));
            nav.replace(&format!("{SIGN_IN_PATH}?next={next}"));
        }
    });
    view! {
        <a class="skip-link" href="#main">{strings::skip_to_content()}</a>
        <header class="app-header">
            <span class="app-name">{strings::app_name()}</span>
            <Show when=move || auth.is_admin()>
                <AdminMenu/>
            </Show>
            <Show when=move || auth.user.with(Option::is_some)>
                <UserMenu/>
            </Show>
        </header>
        <main id="main" tabindex="-1">
            <BannerRegion/>
            <ConnectionRoutes/>
        </main>
    }
}

/// The signed-in user's name and **Sign out**.
#[component]
fn UserMenu() -> impl IntoView {
    let auth = use_auth();
    let nav = use_nav();
    let name = move || {
        auth.user
            .with(|u| u.as_ref().map(|u| u.display_name.clone()))
    };
    let sign_out = move |_| {
        api::sign_out().send(move |_| {
            nav.replace(SIGN_IN_PATH);
            auth.user.set(None);
        });
    };
    // The whole shell renders again when the language changes: no need to track the choice.
    let chosen = auth
        .user
        .with_untracked(|u| u.as_ref().and_then(|u| u.locale));
    let choose = move |e: leptos::ev::Event| {
        let value = event_target_value(&e);
        api::set_locale(shared::Locale::from_wire(&value)).send(move |answer| {
            if let Ok(user) = answer {
                language::follow(&user);
                auth.user.set(Some(user));
            }
        });
    };
    view! {
        <div class="user-menu" role="group" aria-label=strings::user_menu()>
            <span class="user-name">{name}</span>
            <label for="language" class="language-label">{strings::language()}</label>
            <select id="language" class="language" on:change=choose>
                <option value="" selected=chosen.is_none()>{strings::browser_language()}</option>
                // Each language by its own name, as people look for it.
                <option value="en" lang="en" selected=chosen == Some(shared::Locale::En)>"English"</option>
                <option value="it" lang="it" selected=chosen == Some(shared::Locale::It)>"Italiano"</option>
            </select>
            <button type="button" class="menu-button" on:click=sign_out>{strings::sign_out()}</button>
        </div>
    }
}

/// The pages, without the shell: what a host console embeds inside its own layout. Admin pages
/// show "Requires Admin permissions" to other roles (the API refuses them anyway).
#[component]
pub fn ConnectionRoutes() -> impl IntoView {
    let nav = use_nav();
    let auth = use_auth();
    move || {
        if !auth.checked.get() {
            return view! { <p class="loading">{strings::loading()}</p> }.into_any();
        }
        let path = nav.path();
        let path = path.trim_end_matches('/');
        if path == SIGN_IN_PATH {
            return SignInPage().into_any();
        }
        if auth.user.with(Option::is_none) {
            return ().into_any();
        }
        let admin = auth.is_admin();
        match path {
            "" if admin => ConnectionsPage().into_any(),
            "" => HomePage().into_any(),
            p if p.starts_with("/admin") && !admin => RequiresAdminPage().into_any(),
            shared::CONNECTIONS_PAGE => ConnectionsPage().into_any(),
            ADD_SOURCE_PATH => AddSourcePage().into_any(),
            STRIPE_AUTHORIZE_PATH => StripeAuthorizePage().into_any(),
            USERS_PATH => UsersPage().into_any(),
            HOST_KEYS_PATH => HostKeysPage().into_any(),
            p => match p
                .strip_prefix(shared::CONNECTIONS_PAGE)
                .and_then(|rest| rest.strip_prefix('/'))
                .and_then(|id| id.parse::<i64>().ok())
            {
                Some(id) => view! { <ConnectionDetailPage id=id/> }.into_any(),
                None => NotFoundPage().into_any(),
            },
        }
    }
}
