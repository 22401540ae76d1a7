//! Reactive children boxed to one type.

/// A reactive child that switches between views: one boxed type for all of them, so tachys'
/// render-effect glue is compiled once instead of per closure (−241 B gzip SPA).
/// `{switch(move || match … {…})}`.
pub fn switch(
    f: impl FnMut() -> leptos::prelude::AnyView + Send + 'static,
) -> Box<dyn FnMut() -> leptos::prelude::AnyView + Send> {
    Box::new(f)
}
