//! What an embedding of the pages (the `<stripe-connections>` widget) changes in them, through
//! context: **Connect with Stripe** opens a popup instead of leaving the page, and a connection made
//! with a restricted key is reported to the host. Absent in the SPA, which keeps its behaviour.

use leptos::prelude::*;
use shared::Connection;

/// Told of a connection made inside the embedding.
pub type Connected = Box<dyn Fn(&Connection)>;

/// The embedding's hooks.
#[derive(Clone, Copy)]
pub struct Embed {
    /// Starts Stripe's authorization; called synchronously on the click (a popup opened later
    /// would be blocked).
    pub connect: StoredValue<Box<dyn Fn()>, LocalStorage>,
    /// A connection was made (restricted key) inside the embedding.
    pub connected: StoredValue<Connected, LocalStorage>,
    /// True while the popup's flow is under way.
    pub busy: RwSignal<bool>,
}

impl Embed {
    /// Puts the hooks in context.
    pub fn provide(
        connect: impl Fn() + 'static,
        connected: impl Fn(&Connection) + 'static,
    ) -> Self {
        let embed = Self {
            connect: StoredValue::new_local(Box::new(connect)),
            connected: StoredValue::new_local(Box::new(connected)),
            busy: RwSignal::new(false),
        };
        provide_context(embed);
        embed
    }
}

/// The hooks in context, if the pages are embedded.
pub fn use_embed() -> Option<Embed> {
    use_context::<Embed>()
}
