//! Banners at the top of the page, announced to screen readers: a polite live region for success,
//! an alert for errors. Any page can raise one through the context.

use leptos::prelude::*;

use crate::strings;

/// Success or error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BannerKind {
    /// Something worked.
    Success,
    /// Something failed.
    Error,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// Success or error.
    pub kind: BannerKind,
    /// The sentence.
    pub message: String,
}

impl Banner {
    /// A success banner.
    pub fn success(message: impl Into<String>) -> Self {
        Self {
            kind: BannerKind::Success,
            message: message.into(),
        }
    }

    /// An error banner.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            kind: BannerKind::Error,
            message: message.into(),
        }
    }
}

/// The current banner, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct Banners(pub RwSignal<Option<Banner>>);

/// Puts an empty banner slot in context (done by the app, or by a host embedding the pages).
pub fn provide_banner() -> Banners {
    let banners = Banners(RwSignal::new(None));
    provide_context(banners);
    banners
}

/// The banner slot in context, creating one if the host did not.
pub fn use_banner() -> Banners {
    use_context::<Banners>().unwrap_or_else(provide_banner)
}

/// The live regions. They exist before any message, so assistive technology announces changes.
#[component]
pub fn BannerRegion() -> impl IntoView {
    let Banners(banner) = use_banner();
    let message_of =
        move |kind: BannerKind| banner.get().filter(|b| b.kind == kind).map(|b| b.message);
    let dismiss = move |_| banner.set(None);
    view! {
        <div class="banners">
            <div role="status" aria-live="polite" aria-atomic="true">
                {move || message_of(BannerKind::Success).map(|message| view! {
                    <div class="banner banner-success">
                        <p>{message}</p>
                        <button type="button" class="banner-dismiss" aria-label=strings::dismiss() on:click=dismiss>"×"</button>
                    </div>
                })}
            </div>
            <div role="alert" aria-atomic="true">
                {move || message_of(BannerKind::Error).map(|message| view! {
                    <div class="banner banner-error">
                        <p>{message}</p>
                        <button type="button" class="banner-dismiss" aria-label=strings::dismiss() on:click=dismiss>"×"</button>
                    </div>
                })}
            </div>
        </div>
    }
}
