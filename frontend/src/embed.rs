//! What an embedding of the pages (the `<stripe-connections>` widget) changes in them: **Connect
//! with Stripe** opens a popup instead of leaving the page, a connection made with a restricted key
//! is reported to the host, and a connection has no page of its own. Absent in the SPA, which keeps
//! its behaviour. The hooks are per page (like the API context): one embedding at a time.

use std::cell::RefCell;

use leptos::prelude::*;
use shared::Connection;

struct Hooks {
    connect: Box<dyn Fn()>,
    connected: Box<dyn Fn(&Connection)>,
}

thread_local! {
    static HOOKS: RefCell<Option<Hooks>> = const { RefCell::new(None) };
}

/// The embedding, in context.
#[derive(Debug, Clone, Copy)]
pub struct Embed {
    /// True while the popup's flow is under way.
    pub busy: RwSignal<bool>,
}

impl Embed {
    /// Sets the hooks and puts the embedding in context. `connect` is called synchronously on the
    /// click (a popup opened later would be blocked); `connected` when a connection was made with
    /// a restricted key.
    pub fn provide(
        connect: impl Fn() + 'static,
        connected: impl Fn(&Connection) + 'static,
    ) -> Self {
        HOOKS.with(|h| {
            *h.borrow_mut() = Some(Hooks {
                connect: Box::new(connect),
                connected: Box::new(connected),
            });
        });
        let embed = Self {
            busy: RwSignal::new(false),
        };
        provide_context(embed);
        embed
    }

    /// Starts Stripe's authorization the embedding's way.
    pub fn connect(&self) {
        HOOKS.with(|h| {
            if let Some(h) = h.borrow().as_ref() {
                (h.connect)();
            }
        });
    }

    /// Reports a connection made inside the embedding.
    pub fn connected(&self, connection: &Connection) {
        HOOKS.with(|h| {
            if let Some(h) = h.borrow().as_ref() {
                (h.connected)(connection);
            }
        });
    }
}

/// The embedding in context, if the pages are embedded.
pub fn use_embed() -> Option<Embed> {
    use_context::<Embed>()
}
