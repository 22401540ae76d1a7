//! The **Admin** menu of the app shell: a disclosure button and its links. Escape closes it and
//! puts the focus back on its button.

use crate::router::Link;
use leptos::prelude::*;

use crate::strings;

/// The Admin menu.
#[component]
pub fn AdminMenu() -> impl IntoView {
    let open = RwSignal::new(false);
    let button = NodeRef::<leptos::html::Button>::new();
    let on_key = move |e: leptos::ev::KeyboardEvent| {
        if open.get_untracked() && e.key() == "Escape" {
            open.set(false);
            if let Some(b) = button.get_untracked() {
                let _ = b.focus();
            }
        }
    };
    view! {
        <nav class="main-nav" aria-label=strings::main_nav() on:keydown=on_key>
            <button
                node_ref=button
                type="button"
                class="menu-button"
                aria-expanded=move || open.get().to_string()
                aria-controls="admin-menu"
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {strings::admin_menu()}
            </button>
            <ul id="admin-menu" class="menu" hidden=move || !open.get()>
                <li>
                    <Link href=shared::CONNECTIONS_PAGE on_follow=move |_| open.set(false)>
                        {strings::connections()}
                    </Link>
                </li>
                <li>
                    <Link href=crate::USERS_PATH on_follow=move |_| open.set(false)>
                        {strings::users()}
                    </Link>
                </li>
                <li>
                    <Link href=crate::HOST_KEYS_PATH on_follow=move |_| open.set(false)>
                        {strings::host_keys()}
                    </Link>
                </li>
            </ul>
        </nav>
    }
}
