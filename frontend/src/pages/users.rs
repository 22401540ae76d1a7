//! Admin > Users: the list, role changes, disabling, and adding a user.

use leptos::prelude::*;

use shared::{CreateUserRequest, Role, UpdateUserRequest, User};

use crate::api;
use crate::components::banner::{use_banner, Banner, Banners};
use crate::remote::{run, Remote};
use crate::strings;

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|r| {
            view! { <option value=r.as_str() selected=r == selected>{strings::role(r)}</option> }
        })
        .collect_view()
}

fn apply(banners: Banners, users: Remote<Vec<User>>, id: i64, change: UpdateUserRequest) {
    api::update_user(id, change).send(move |answer| {
        match answer {
            Ok(_) => banners
                .0
                .set(Some(Banner::success(strings::user_updated()))),
            Err(e) => banners.0.set(Some(Banner::error(e.message()))),
        }
        users.reload();
    });
}

fn user_row(user: User, banners: Banners, users: Remote<Vec<User>>) -> impl IntoView {
    let id = user.id;
    let disabled = user.disabled;
    let last = user
        .last_sign_in_at
        .map(|t| strings::time_ago((js_sys::Date::now() / 1000.0) as i64 - t))
        .unwrap_or_else(|| strings::never().into());
    view! {
        <tr>
            <th scope="row">{user.email.clone()}</th>
            <td>{user.display_name.clone()}</td>
            <td>
                <select
                    aria-label=strings::for_user(strings::role_for(), &user.email)
                    on:change:target=move |ev| {
                        if let Some(role) = Role::parse(&ev.target().value()) {
                            apply(banners, users, id, UpdateUserRequest { role: Some(role), disabled: None });
                        }
                    }
                >
                    {role_options(user.role)}
                </select>
            </td>
            <td>{if disabled { strings::disabled() } else { strings::active() }}</td>
            <td>{last}</td>
            <td>
                <button
                    type="button"
                    class="button"
                    aria-label=strings::for_user(if disabled { strings::enable() } else { strings::disable() }, &user.email)
                    on:click=move |_| apply(banners, users, id, UpdateUserRequest { role: None, disabled: Some(!disabled) })
                >
                    {if disabled { strings::enable() } else { strings::disable() }}
                </button>
            </td>
        </tr>
    }
}

/// The Users page.
#[component]
pub fn UsersPage() -> impl IntoView {
    let banners = use_banner();
    let users = Remote::new(api::list_users);
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Standard);
    let password = RwSignal::new(String::new());
    let adding = RwSignal::new(false);
    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        banners.0.set(None);
        let secret = password.get_untracked();
        let call = api::create_user(CreateUserRequest {
            email: email.get_untracked(),
            display_name: name.get_untracked(),
            role: role.get_untracked(),
            password: (!secret.is_empty()).then_some(secret),
        });
        run(adding, call, move |answer| match answer {
            Ok(created) => {
                let message = match created.one_time_password {
                    Some(otp) => strings::one_time_password(&created.user.email, &otp),
                    None => strings::user_added().into(),
                };
                banners.0.set(Some(Banner::success(message)));
                email.set(String::new());
                name.set(String::new());
                password.set(String::new());
                users.reload();
            }
            Err(e) => banners.0.set(Some(Banner::error(e.message()))),
        });
    };
    view! {
        <section class="page users-page" aria-labelledby="users-title">
            <h1 id="users-title">{strings::users()}</h1>
            <p class="lead">{strings::users_intro()}</p>
            {move || match users.value.get() {
                None => view! { <p class="loading">{strings::loading()}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="data-sources users">
                        <caption class="visually-hidden">{strings::users()}</caption>
                        <thead><tr>
                            <th scope="col">{strings::col_email()}</th>
                            <th scope="col">{strings::col_user_name()}</th>
                            <th scope="col">{strings::col_role()}</th>
                            <th scope="col">{strings::col_user_status()}</th>
                            <th scope="col">{strings::col_last_sign_in()}</th>
                            <th scope="col">{strings::col_action()}</th>
                        </tr></thead>
                        <tbody>{list.into_iter().map(|u| user_row(u, banners, users)).collect_view()}</tbody>
                    </table>
                }.into_any(),
                Some(Err(e)) => view! { <p class="load-error" role="alert">{e.message()}</p> }.into_any(),
            }}
            <h2 id="add-user-title">{strings::add_user()}</h2>
            <form class="form" aria-labelledby="add-user-title" on:submit=on_submit>
                <label for="new-user-email">{strings::email()}</label>
                <input id="new-user-email" type="email" required autocomplete="off" bind:value=email/>
                <label for="new-user-name">{strings::display_name()}</label>
                <input id="new-user-name" type="text" autocomplete="off" bind:value=name/>
                <label for="new-user-role">{strings::role_label()}</label>
                <select id="new-user-role" on:change:target=move |ev| {
                    if let Some(r) = Role::parse(&ev.target().value()) { role.set(r) }
                }>
                    {role_options(Role::Standard)}
                </select>
                <label for="new-user-password">{strings::password_optional()}</label>
                <input id="new-user-password" type="password" autocomplete="new-password" aria-describedby="new-user-password-hint" bind:value=password/>
                <p id="new-user-password-hint" class="hint">{strings::password_optional_hint()}</p>
                <button type="submit" class="button button-primary" disabled=move || adding.get()>{strings::add_user()}</button>
            </form>
        </section>
    }
}
