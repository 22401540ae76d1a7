//! The Stripe mark, drawn inline (decorative: the text beside it names the control).

use leptos::prelude::*;

/// A small Stripe "S" mark.
#[component]
pub fn StripeMark(#[prop(default = 32)] size: u32) -> impl IntoView {
    view! {
        <svg
            class="stripe-mark"
            width=size
            height=size
            viewBox="0 0 32 32"
            aria-hidden="true"
            focusable="false"
            inner_html=r##"<rect width="32" height="32" rx="7" fill="#635BFF"/><path fill="#fff" d="M14.9 12.6c0-.9.7-1.2 1.9-1.2 1.7 0 3.8.5 5.5 1.4V7.7a14.6 14.6 0 0 0-5.5-1c-4.5 0-7.5 2.3-7.5 6.2 0 6.1 8.4 5.1 8.4 7.7 0 1-.9 1.4-2.2 1.4-1.9 0-4.3-.8-6.2-1.8v5.2c2.1.9 4.2 1.3 6.2 1.3 4.6 0 7.8-2.3 7.8-6.2 0-6.6-8.4-5.4-8.4-7.9z"/>"##
        ></svg>
    }
}
