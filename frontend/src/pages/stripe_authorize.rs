//! The **Stripe authorization** page: what access is requested, and the two ways to connect.
//! **Connect with Stripe** asks the backend for a fresh authorize URL (Stripe Apps or Connect) and
//! sends the browser there; **Use a restricted API key** takes a key the account owner made in
//! Stripe. With `?connection=<id>` the key re-authenticates that connection.

use crate::router::{use_nav, Link};
use leptos::prelude::*;

use crate::api;
use crate::components::banner::{use_banner, Banner};
use crate::components::stripe_mark::StripeMark;
use crate::embed::use_embed;
use crate::remote::{run, Remote};
use crate::strings;

fn go_to(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(url);
    }
}

/// The restricted-key form: which permissions to grant, where to make the key, the field.
#[component]
fn RestrictedKeyForm(key_page: Signal<String>, connection: Option<i64>) -> impl IntoView {
    let nav = use_nav();
    // Read now: the answer arrives outside any reactive owner.
    let embed = use_embed();
    let key = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        run(
            pending,
            api::connect_with_key(key.get_untracked(), name.get_untracked(), connection),
            move |answer| match answer {
                Ok(c) => {
                    key.set(String::new());
                    if let Some(embed) = embed {
                        embed.connected(&c);
                    }
                    nav.navigate(&shared::callback_redirect(Ok(c.id)));
                }
                Err(e) => error.set(Some(e.message())),
            },
        );
    };
    view! {
        <details class="restricted-key" open=connection.is_some()>
            <summary>{strings::use_restricted_key()}</summary>
            {connection.map(|_| view! { <p>{strings::replacing_key_for()}</p> })}
            <p>{strings::restricted_key_intro()}</p>
            <ul>{strings::restricted_key_permissions().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
            <p>{strings::restricted_key_account_hint()}</p>
            <p><a href=move || key_page.get() target="_blank" rel="noopener noreferrer">{strings::create_key_in_stripe()}</a></p>
            <form on:submit=submit>
                <label for="restricted-key">{strings::restricted_api_key()}</label>
                <input id="restricted-key" name="restricted-key" type="password" required
                    autocomplete="off" spellcheck="false" aria-describedby="restricted-key-hint restricted-key-error"
                    aria-invalid=move || error.with(Option::is_some).to_string()
                    prop:value=move || key.get()
                    on:input=move |ev| key.set(event_target_value(&ev))/>
                <p id="restricted-key-hint" class="hint">{strings::restricted_key_field_hint()}</p>
                <p id="restricted-key-error" class="field-error" role="alert">{move || error.get()}</p>
                <label for="restricted-key-name">{strings::connection_name()}</label>
                <input id="restricted-key-name" name="restricted-key-name" type="text" maxlength="200"
                    autocomplete="off" aria-describedby="restricted-key-name-hint"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))/>
                <p id="restricted-key-name-hint" class="hint">{strings::connection_name_hint()}</p>
                <button type="submit" class="button button-primary" disabled=move || pending.get()
                    aria-busy=move || pending.get().to_string()>
                    {strings::connect_with_key()}
                </button>
                <p class="visually-hidden" aria-live="polite">{move || pending.get().then_some(strings::checking_key())}</p>
            </form>
        </details>
    }
}

/// The Stripe authorization page.
#[component]
pub fn StripeAuthorizePage() -> impl IntoView {
    let banners = use_banner();
    let nav = use_nav();
    let connection = nav
        .query_param("connection")
        .and_then(|id| id.parse::<i64>().ok());
    let info = Remote::new(api::server_info);
    let pending = RwSignal::new(false);
    let redirecting = RwSignal::new(false);
    let embed = use_embed();
    let connect = move || {
        if let (Some(embed), None) = (embed, connection) {
            // Embedded: a popup, opened synchronously on this click.
            embed.connect();
            return;
        }
        let call = match connection {
            Some(id) => api::reauthorize(id),
            None => api::start_stripe_authorize(),
        };
        run(pending, call, move |answer| match answer {
            Ok(response) => {
                redirecting.set(true);
                go_to(&response.authorize_url);
            }
            Err(e) => banners.0.set(Some(Banner::error(e.message()))),
        })
    };
    let busy = move || pending.get() || redirecting.get() || embed.is_some_and(|e| e.busy.get());
    let demo = move || {
        info.value
            .with(|i| matches!(i, Some(Ok(info)) if info.demo_mode))
    };
    let key_page = Signal::derive(move || {
        info.value.with(|i| match i {
            Some(Ok(info)) => info.restricted_key_url.clone(),
            _ => String::new(),
        })
    });
    view! {
        <section class="page stripe-authorize-page" aria-labelledby="stripe-auth-title">
            <p class="breadcrumb"><Link href=crate::ADD_SOURCE_PATH>{strings::back_to_integrations()}</Link></p>
            <h1 id="stripe-auth-title" class="with-mark"><StripeMark size=40/>" "{strings::stripe_authorization()}</h1>
            <p>{strings::stripe_auth_what()}</p>
            <p>{strings::stripe_auth_read_only()}</p>
            <p>{strings::stripe_auth_how()}</p>
            <Show when=demo>
                <p class="note demo-note">{strings::demo_mode_note()}</p>
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
                {strings::connect_with_stripe()}
            </button>
            <p class="visually-hidden" aria-live="polite">{move || busy().then_some(strings::redirecting())}</p>
            <RestrictedKeyForm key_page=key_page connection=connection/>
        </section>
    }
}
