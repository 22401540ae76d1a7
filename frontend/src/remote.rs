//! Data loaded from the API into a signal. A plain signal plus `spawn_local` instead of
//! `LocalResource`/`Suspense`/`Action`: the same behaviour here at a fraction of the wasm size
//! (each of those is generic over its value and was ~10 KB gzip apiece).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use leptos::prelude::*;

use crate::api::ApiFailure;

/// A boxed API call.
pub type Call<T> = Pin<Box<dyn Future<Output = Result<T, ApiFailure>>>>;

/// The latest answer of an API call: `None` while the first one is on its way.
#[derive(Debug)]
pub struct Remote<T: Send + Sync + 'static> {
    /// The answer.
    pub value: RwSignal<Option<Result<T, ApiFailure>>>,
    fetch: StoredValue<Arc<dyn Fn() -> Call<T> + Send + Sync>>,
}

impl<T: Send + Sync + 'static> Clone for Remote<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Remote<T> {}

impl<T: Send + Sync + 'static> Remote<T> {
    /// Starts loading at once.
    pub fn new(fetch: impl Fn() -> Call<T> + Send + Sync + 'static) -> Self {
        let remote = Self {
            value: RwSignal::new(None),
            fetch: StoredValue::new(Arc::new(fetch)),
        };
        remote.reload();
        remote
    }

    /// Asks again; the old answer stays on screen until the new one arrives.
    pub fn reload(&self) {
        let fetch = self.fetch.get_value();
        let value = self.value;
        spawn(Box::pin(async move {
            let answer = fetch().await;
            // The page may have gone away meanwhile.
            let _ = value.try_set(Some(answer));
        }));
    }
}

/// Runs `call` in the background with `pending` true meanwhile, then hands its answer to `done`.
pub fn run<T: 'static>(
    pending: RwSignal<bool>,
    call: impl Future<Output = Result<T, ApiFailure>> + 'static,
    done: impl FnOnce(Result<T, ApiFailure>) + 'static,
) {
    pending.set(true);
    spawn(Box::pin(async move {
        let answer = call.await;
        let _ = pending.try_set(false);
        done(answer);
    }));
}

/// One non-generic `spawn_local` for every background task (each generic copy cost wasm size).
fn spawn(task: Pin<Box<dyn Future<Output = ()>>>) {
    leptos::task::spawn_local(task);
}
