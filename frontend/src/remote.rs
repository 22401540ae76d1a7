//! Data loaded from the API into a signal. A plain signal plus a callback instead of
//! `LocalResource`/`Suspense`/`Action`: the same behaviour here at a fraction of the wasm size
//! (each of those is generic over its value and was ~10 KB gzip apiece).

use std::sync::Arc;

use leptos::prelude::*;

use serde::de::DeserializeOwned;

use crate::api::{ApiFailure, Req};

/// The latest answer of an API call: `None` while the first one is on its way.
#[derive(Debug)]
pub struct Remote<T: Send + Sync + 'static> {
    /// The answer.
    pub value: RwSignal<Option<Result<T, ApiFailure>>>,
    /// Whether [`Self::refresh`] is waiting for an answer, and the body of the last one it got.
    last: StoredValue<(bool, String)>,
    fetch: StoredValue<Arc<dyn Fn() -> Req<T> + Send + Sync>>,
}

impl<T: Send + Sync + 'static> Clone for Remote<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Remote<T> {}

impl<T: DeserializeOwned + Send + Sync + 'static> Remote<T> {
    /// Starts loading at once.
    pub fn new(fetch: impl Fn() -> Req<T> + Send + Sync + 'static) -> Self {
        let remote = Self {
            value: RwSignal::new(None),
            last: StoredValue::new((false, String::new())),
            fetch: StoredValue::new(Arc::new(fetch)),
        };
        remote.reload();
        remote
    }

    /// Asks again and shows the answer only if its body differs from the last one this asked
    /// for (a poll that found nothing new renders nothing again: focus and scroll stay). Skipped
    /// while the previous one is on its way, so answers never arrive out of order.
    pub fn refresh(&self) {
        let (value, last) = (self.value, self.last);
        if last.try_update_value(|(busy, _)| std::mem::replace(busy, true)) != Some(false) {
            return;
        }
        let new = move |body: &str| {
            last.try_update_value(|(busy, l)| {
                *busy = false;
                let new = l != body;
                if new {
                    body.clone_into(l);
                }
                new
            })
            .unwrap_or(false)
        };
        (self.fetch.get_value())().send_if(new, move |answer| {
            let _ = value.try_set(Some(answer));
        });
    }

    /// Asks again; the old answer stays on screen until the new one arrives.
    pub fn reload(&self) {
        let value = self.value;
        (self.fetch.get_value())().send(move |answer| {
            // The page may have gone away meanwhile.
            let _ = value.try_set(Some(answer));
        });
    }
}

/// Sends `req` in the background with `pending` true meanwhile, then hands its answer to `done`.
pub fn run<T: DeserializeOwned + 'static>(
    pending: RwSignal<bool>,
    req: Req<T>,
    done: impl FnOnce(Result<T, ApiFailure>) + 'static,
) {
    pending.set(true);
    req.send(move |answer| {
        let _ = pending.try_set(false);
        done(answer);
    });
}
