//! Admin > Host keys: the host products that embed the Connections widget — their keys (shown once,
//! at creation), allowed origins, and revoking.

use leptos::prelude::*;

use shared::{HostKey, NewHostKey};

use crate::api;
use crate::components::banner::{use_banner, Banner, Banners};
use crate::remote::{run, Remote};
use crate::strings;

fn key_row(key: HostKey, banners: Banners, keys: Remote<Vec<HostKey>>) -> impl IntoView {
    let (id, name) = (key.id, key.name.clone());
    let revoked = key.revoked_at.is_some();
    let revoke = move |_| {
        banners.0.set(None);
        api::revoke_host_key(id).send(move |answer| {
            match answer {
                Ok(()) => banners
                    .0
                    .set(Some(Banner::success(strings::host_key_revoked()))),
                Err(e) => banners.0.set(Some(Banner::error(e.message()))),
            }
            keys.reload();
        });
    };
    view! {
        <tr>
            <th scope="row">{key.name.clone()}</th>
            <td>{key.origins.join(", ")}</td>
            <td><code>{format!("hk_…{}", key.key_last4)}</code></td>
            <td>{if revoked { strings::revoked() } else { strings::active() }}</td>
            <td>
                {(!revoked).then(|| view! {
                    <button type="button" class="button button-small button-danger"
                        aria-label=strings::action_for(strings::revoke(), &name) on:click=revoke>
                        {strings::revoke()}
                    </button>
                })}
            </td>
        </tr>
    }
}

/// The Host keys page.
#[component]
pub fn HostKeysPage() -> impl IntoView {
    let banners = use_banner();
    let keys = Remote::new(api::list_host_keys);
    let name = RwSignal::new(String::new());
    let origins = RwSignal::new(String::new());
    let adding = RwSignal::new(false);
    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        banners.0.set(None);
        let call = api::create_host_key(NewHostKey {
            name: name.get_untracked(),
            origins: origins
                .get_untracked()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        });
        run(adding, call, move |answer| match answer {
            Ok(created) => {
                banners
                    .0
                    .set(Some(Banner::success(strings::host_key_created(
                        &created.host_key.name,
                        &created.key,
                    ))));
                name.set(String::new());
                origins.set(String::new());
                keys.reload();
            }
            Err(e) => banners.0.set(Some(Banner::error(e.message()))),
        });
    };
    view! {
        <section class="page host-keys-page" aria-labelledby="host-keys-title">
            <h1 id="host-keys-title">{strings::host_keys()}</h1>
            <p class="lead">{strings::host_keys_intro()}</p>
            {move || match keys.value.get() {
                None => view! { <p class="loading">{strings::loading()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p>{strings::no_host_keys()}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="data-sources">
                        <caption class="visually-hidden">{strings::host_keys()}</caption>
                        <thead><tr>
                            <th scope="col">{strings::col_name()}</th>
                            <th scope="col">{strings::col_origins()}</th>
                            <th scope="col">{strings::col_key()}</th>
                            <th scope="col">{strings::col_user_status()}</th>
                            <th scope="col">{strings::col_action()}</th>
                        </tr></thead>
                        <tbody>{list.into_iter().map(|k| key_row(k, banners, keys)).collect_view()}</tbody>
                    </table>
                }.into_any(),
                Some(Err(e)) => view! { <p class="load-error" role="alert">{e.message()}</p> }.into_any(),
            }}
            <h2 id="add-host-key-title">{strings::add_host_key()}</h2>
            <form class="form" aria-labelledby="add-host-key-title" on:submit=on_submit>
                <label for="host-key-name">{strings::host_product()}</label>
                <input id="host-key-name" type="text" required autocomplete="off" bind:value=name/>
                <label for="host-key-origins">{strings::allowed_origins()}</label>
                <textarea id="host-key-origins" required rows="3" aria-describedby="host-key-origins-hint"
                    prop:value=move || origins.get()
                    on:input=move |ev| origins.set(event_target_value(&ev))></textarea>
                <p id="host-key-origins-hint" class="hint">{strings::allowed_origins_hint()}</p>
                <button type="submit" class="button button-primary" disabled=move || adding.get()>{strings::add_host_key()}</button>
            </form>
        </section>
    }
}
