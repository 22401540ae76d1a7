//! Admin > Connections: the Data Sources table and the **Add a Data Source** button. Also where the
//! OAuth callback lands: `?connected=<id>` or `?error=<code>` becomes a banner, then the query is
//! removed from the address bar so a reload does not show it again.

use leptos::prelude::*;
use shared::CallbackError;

use crate::api;
use crate::components::banner::{use_banner, Banner};
use crate::components::data_sources_table::DataSourcesTable;
use crate::remote::Remote;
use crate::router::use_nav;
use crate::strings;

/// The banner a callback outcome in the query string asks for.
pub fn banner_for_outcome(connected: Option<&str>, error: Option<&str>) -> Option<Banner> {
    if let Some(code) = error {
        return Some(Banner::error(strings::callback_error(
            CallbackError::parse(code),
        )));
    }
    connected.map(|_| Banner::success(strings::CONNECTION_SUCCESSFUL))
}

/// The Connections page.
#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let banners = use_banner();
    let nav = use_nav();
    let outcome = banner_for_outcome(
        nav.query_param("connected").as_deref(),
        nav.query_param("error").as_deref(),
    );
    if let Some(banner) = outcome {
        // Set after mount, so the live region exists first and the message is announced; then
        // drop the outcome from the address bar so a reload does not show it again.
        Effect::new(move |_| {
            banners.0.set(Some(banner.clone()));
            nav.replace(shared::CONNECTIONS_PAGE);
        });
    }
    let connections = Remote::new(|| Box::pin(api::list_connections()));
    let add = move |_| {
        banners.0.set(None);
        nav.navigate(crate::ADD_SOURCE_PATH);
    };
    view! {
        <section class="page connections-page" aria-labelledby="connections-title">
            <h1 id="connections-title">{strings::CONNECTIONS}</h1>
            <p class="lead">{strings::CONNECTIONS_INTRO}</p>
            <div class="section-header">
                <h2 id="data-sources-title">{strings::DATA_SOURCES}</h2>
                <button type="button" class="button button-primary" on:click=add>
                    {strings::ADD_DATA_SOURCE}
                </button>
            </div>
            {move || match connections.value.get() {
                None => view! { <p class="loading" aria-busy="true">{strings::LOADING}</p> }.into_any(),
                Some(Ok(rows)) => view! { <DataSourcesTable connections=rows/> }.into_any(),
                Some(Err(e)) => view! {
                    <div class="load-error" role="alert">
                        <p>{strings::LOAD_FAILED}" "{e.message()}</p>
                        <button type="button" class="button" on:click=move |_| connections.reload()>
                            {strings::RETRY}
                        </button>
                    </div>
                }
                .into_any(),
            }}
        </section>
    }
}
