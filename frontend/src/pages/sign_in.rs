//! The sign-in page: **Email**, **Password**, **Sign in**; afterwards, back to where the user was going.

use leptos::prelude::*;

use crate::api;
use crate::components::banner::{use_banner, Banner};
use crate::remote::run;
use crate::router::use_nav;
use crate::session::{safe_next, use_auth};
use crate::strings;

/// The sign-in page.
#[component]
pub fn SignInPage() -> impl IntoView {
    let auth = use_auth();
    let nav = use_nav();
    let banners = use_banner();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let next = nav.query_param("next");
    let pending = RwSignal::new(false);
    let next = StoredValue::new(next);
    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        banners.0.set(None);
        let call = api::sign_in(email.get_untracked(), password.get_untracked());
        run(pending, call, move |answer| match answer {
            Ok(user) => {
                password.set(String::new());
                nav.replace(
                    next.with_value(|n| safe_next(n.as_deref()).to_owned())
                        .as_str(),
                );
                // Their language, if it is not this page's, loads the page again there.
                crate::language::follow(&user);
                auth.user.set(Some(user));
            }
            Err(e) => banners.0.set(Some(Banner::error(e.message()))),
        });
    };
    view! {
        <section class="page sign-in-page" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">{strings::sign_in_title()}</h1>
            <form class="form" on:submit=on_submit>
                <label for="sign-in-email">{strings::email()}</label>
                <input id="sign-in-email" name="email" type="email" autocomplete="username" required bind:value=email/>
                <label for="sign-in-password">{strings::password()}</label>
                <input id="sign-in-password" name="password" type="password" autocomplete="current-password" required bind:value=password/>
                <button type="submit" class="button button-primary" disabled=move || pending.get() aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { strings::signing_in() } else { strings::sign_in() }}
                </button>
            </form>
        </section>
    }
}
