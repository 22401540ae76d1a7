//! Event handlers boxed to one type per event. With a closure type of its own, every `on:click`
//! made tachys build its own copy of the event glue (attach, the JS closure, the erased
//! attribute's build/rebuild/clone); boxed, all handlers of an event share one copy (the wasm
//! size budget). Write `on:click=handler(move |_| …)`.

/// `f` as the one handler type for events of type `E`.
pub fn handler<E: 'static>(f: impl FnMut(E) + 'static) -> Box<dyn FnMut(E)> {
    Box::new(f)
}

/// A reactive child that switches between views: one boxed type for all of them (the same
/// reasoning as [`handler`], for tachys' render-effect glue). `{switch(move || match … {…})}`.
pub fn switch(
    f: impl FnMut() -> leptos::prelude::AnyView + Send + 'static,
) -> Box<dyn FnMut() -> leptos::prelude::AnyView + Send> {
    Box::new(f)
}
