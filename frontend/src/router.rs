//! A small client-side router: the current path in a signal, `history.pushState` to move, and
//! `popstate` to follow the Back button. Hand-written instead of `leptos_router` because the router
//! alone was ~14 % of the wasm and the SPA has a 200 KB gzip budget; the app needs four fixed paths.

use leptos::prelude::*;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// Where the app is: path and query string of the address bar.
#[derive(Debug, Clone, Copy)]
pub struct Nav {
    path: RwSignal<String>,
    search: RwSignal<String>,
    /// Whether moves go through the address bar (the SPA) or stay in memory (an embedded widget,
    /// which must not touch its host page's address).
    history: bool,
}

fn current_location() -> (String, String) {
    web_sys::window()
        .map(|w| w.location())
        .map(|l| {
            (
                l.pathname().unwrap_or_else(|_| "/".into()),
                l.search().unwrap_or_default(),
            )
        })
        .unwrap_or_else(|| ("/".into(), String::new()))
}

fn split(to: &str) -> (String, String) {
    match to.split_once('?') {
        Some((path, query)) => (path.to_owned(), format!("?{query}")),
        None => (to.to_owned(), String::new()),
    }
}

impl Nav {
    /// The current path (tracked).
    pub fn path(&self) -> String {
        self.path.get()
    }

    /// The current path, without tracking.
    pub fn path_untracked(&self) -> String {
        self.path.get_untracked()
    }

    /// Path and query string, without tracking (for "come back here" links).
    pub fn location_untracked(&self) -> String {
        format!(
            "{}{}",
            self.path.get_untracked(),
            self.search.get_untracked()
        )
    }

    /// A query-string parameter of the current address (untracked: read once by a page).
    pub fn query_param(&self, name: &str) -> Option<String> {
        let search = self.search.get_untracked();
        web_sys::UrlSearchParams::new_with_str(&search)
            .ok()
            .and_then(|p| p.get(name))
    }

    fn go(&self, to: &str, replace: bool) {
        if let Some(history) = web_sys::window()
            .filter(|_| self.history)
            .and_then(|w| w.history().ok())
        {
            let state = wasm_bindgen::JsValue::NULL;
            let _ = if replace {
                history.replace_state_with_url(&state, "", Some(to))
            } else {
                history.push_state_with_url(&state, "", Some(to))
            };
        }
        self.set(split(to));
    }

    /// Updates the signals only when they change, so replacing the query alone does not re-render
    /// the page.
    fn set(&self, (path, search): (String, String)) {
        if self.search.get_untracked() != search {
            self.search.set(search);
        }
        if self.path.get_untracked() != path {
            self.path.set(path);
        }
    }

    /// Goes to `to`, adding a history entry.
    pub fn navigate(&self, to: &str) {
        self.go(to, false);
        if let Some(window) = web_sys::window().filter(|_| self.history) {
            window.scroll_to_with_x_and_y(0.0, 0.0);
        }
    }

    /// Replaces the current address with `to` (no new history entry).
    pub fn replace(&self, to: &str) {
        self.go(to, true);
    }
}

/// Creates the router state from the address bar and follows Back/Forward.
pub fn provide_nav() -> Nav {
    let (path, search) = current_location();
    let nav = Nav {
        path: RwSignal::new(path),
        search: RwSignal::new(search),
        history: true,
    };
    if let Some(window) = web_sys::window() {
        let on_pop = Closure::<dyn Fn()>::new(move || {
            nav.set(current_location());
        });
        let _ =
            window.add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
        // The listener lives as long as the page.
        on_pop.forget();
    }
    provide_context(nav);
    nav
}

/// Router state kept in memory, starting at `start`: the address bar is never read nor written
/// (for an embedding such as the widget).
pub fn provide_memory_nav(start: &str) -> Nav {
    let (path, search) = split(start);
    let nav = Nav {
        path: RwSignal::new(path),
        search: RwSignal::new(search),
        history: false,
    };
    provide_context(nav);
    nav
}

/// The router state in context (creating it if the host did not).
pub fn use_nav() -> Nav {
    use_context::<Nav>().unwrap_or_else(provide_nav)
}

/// An in-app link: a real `<a href>` (open in new tab works), handled without a page load.
#[component]
pub fn Link(
    /// Target path.
    #[prop(into)]
    href: String,
    /// Optional extra action on click (e.g. closing a menu).
    #[prop(optional, into)]
    on_follow: Option<Callback<()>>,
    children: Children,
) -> impl IntoView {
    let nav = use_nav();
    let target = href.clone();
    let click = move |ev: web_sys::MouseEvent| {
        if ev.button() != 0 || ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() {
            return;
        }
        ev.prevent_default();
        if let Some(cb) = on_follow {
            cb.run(());
        }
        nav.navigate(&target);
    };
    view! { <a href=href on:click=click>{children()}</a> }
}
