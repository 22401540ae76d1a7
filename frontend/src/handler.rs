//! Event handlers boxed to one type per event. With a closure type of its own, every `on:click`
//! got its own copy of tachys' generic event code (attach, the wasm-bindgen closure and its
//! invoke shim); boxed, all handlers of an event share one (measured: −4.4 KB gzip SPA, −1.8 KB
//! widget). Write `on:click=handler(move |_| …)`.

/// `f` as the one handler type for events of type `E`.
pub fn handler<E: 'static>(f: impl FnMut(E) + 'static) -> Box<dyn FnMut(E)> {
    Box::new(f)
}

/// A reactive child that switches between views: one boxed type for all of them (the same
/// reasoning as [`handler`], for tachys' render-effect glue; −241 B gzip SPA).
/// `{switch(move || match … {…})}`.
pub fn switch(
    f: impl FnMut() -> leptos::prelude::AnyView + Send + 'static,
) -> Box<dyn FnMut() -> leptos::prelude::AnyView + Send> {
    Box::new(f)
}
