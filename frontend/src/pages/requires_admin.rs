//! What a signed-in user without the Admin role sees at an admin address, and the landing page.

use leptos::prelude::*;

use crate::session::use_auth;
use crate::strings;

/// "Requires Admin permissions".
#[component]
pub fn RequiresAdminPage() -> impl IntoView {
    view! {
        <section class="page" aria-labelledby="requires-admin-title">
            <h1 id="requires-admin-title">{strings::requires_admin()}</h1>
            <p>{strings::requires_admin_hint()}</p>
        </section>
    }
}

/// Landing page for users who are not Admins.
#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    let who = move || {
        auth.user.with(|u| {
            u.as_ref()
                .map(|u| {
                    format!(
                        "{} {} ({})",
                        strings::signed_in_as(),
                        u.display_name,
                        strings::role(u.role)
                    )
                })
                .unwrap_or_default()
        })
    };
    view! {
        <section class="page" aria-labelledby="home-title">
            <h1 id="home-title">{strings::home_title()}</h1>
            <p>{who}</p>
            <p>{strings::home_hint()}</p>
        </section>
    }
}
