//! Admin > Connections: the Data Sources table and the **Add a Data Source** button. Also where the
//! OAuth callback lands: `?connected=<id>` or `?error=<code>` becomes a banner, then the query is
//! removed from the address bar so a reload does not show it again.

use leptos::html::Dialog;
use leptos::prelude::*;

use shared::{AuthKind, CallbackError, Connection, ConnectionStatus, ErrorCode};

use crate::api::{self, ApiFailure};
use crate::components::banner::{use_banner, Banner};
use crate::components::data_sources_table::{DataSourcesTable, RowActions};
use crate::components::organization_filter::{has_organizations, passes, OrganizationFilter};
use crate::remote::{run, Remote};
use crate::router::use_nav;
use crate::strings;

/// The banner a callback outcome in the query string asks for.
pub fn banner_for_outcome(connected: Option<&str>, error: Option<&str>) -> Option<Banner> {
    if let Some(code) = error {
        return Some(Banner::error(strings::callback_error(
            CallbackError::parse(code),
        )));
    }
    connected.map(|_| Banner::success(strings::connection_successful()))
}

/// Sends the browser to Stripe to re-authenticate `connection` (or, for a restricted key, to the
/// Stripe authorization page to paste a new key).
pub fn reauthorize(connection: &Connection, banners: crate::components::banner::Banners) {
    if crate::embed::use_embed().is_some() && connection.auth_kind != AuthKind::RestrictedKey {
        // Embedded: never leave the host page; Stripe's popup starts from the authorization page.
        use_nav().navigate(crate::STRIPE_AUTHORIZE_PATH);
        return;
    }
    if connection.auth_kind == AuthKind::RestrictedKey {
        use_nav().navigate(&format!(
            "{}?connection={}",
            crate::STRIPE_AUTHORIZE_PATH,
            connection.id
        ));
        return;
    }
    let pending = RwSignal::new(false);
    run(
        pending,
        api::reauthorize(connection.id),
        move |answer| match answer {
            Ok(r) => {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().assign(&r.authorize_url);
                }
            }
            Err(e) => banners.0.set(Some(Banner::error(e.message()))),
        },
    );
}

/// Runs a connection test and reports it.
pub fn test_now(
    connection: &Connection,
    banners: crate::components::banner::Banners,
    done: impl Fn() + 'static,
) {
    let pending = RwSignal::new(false);
    let name = connection.name.clone();
    run(
        pending,
        api::test_connection(connection.id),
        move |answer| {
            match answer {
                Ok(c) => {
                    let message = strings::tested(&name, c.status);
                    banners
                        .0
                        .set(Some(if c.status == ConnectionStatus::Success {
                            Banner::success(message)
                        } else {
                            Banner::error(message)
                        }));
                }
                Err(e) => banners.0.set(Some(Banner::error(e.message()))),
            }
            done();
        },
    );
}

/// The Connections page.
#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let banners = use_banner();
    let nav = use_nav();
    let error = nav.query_param("error");
    let outcome = banner_for_outcome(nav.query_param("connected").as_deref(), error.as_deref());
    if error.as_deref() == Some("account_mismatch") {
        // The names come from the server-side session, never from the address bar.
        let pending = RwSignal::new(false);
        run(pending, api::callback_notice(), move |answer| {
            if let Ok(Some(n)) = answer {
                banners.0.set(Some(Banner::error(strings::account_mismatch(
                    &n.expected,
                    &n.other,
                ))));
            }
        });
    }
    if let Some(banner) = outcome {
        // Set after mount, so the live region exists first and the message is announced; then
        // drop the outcome from the address bar so a reload does not show it again.
        Effect::new(move |_| {
            banners.0.set(Some(banner.clone()));
            nav.replace(shared::CONNECTIONS_PAGE);
        });
    }
    let connections = Remote::new(api::list_connections);
    let add = move |_| {
        banners.0.set(None);
        nav.navigate(crate::ADD_SOURCE_PATH);
    };

    let confirm = RwSignal::new(None::<Connection>);
    let delete_error = RwSignal::new(None::<String>);
    let deleting = RwSignal::new(false);
    let dialog = NodeRef::<Dialog>::new();
    Effect::new(move |_| {
        if let Some(d) = dialog.get() {
            if confirm.with(Option::is_some) {
                if !d.open() {
                    let _ = d.show_modal();
                }
            } else {
                d.close();
            }
        }
    });
    let delete = move |force: bool| {
        let Some(c) = confirm.get_untracked() else {
            return;
        };
        run(
            deleting,
            api::delete_connection(c.id, force),
            move |answer| match answer {
                Ok(outcome) => {
                    confirm.set(None);
                    delete_error.set(None);
                    let mut message = strings::deleted(&c.name);
                    if let Some(o) = outcome {
                        message = format!("{message} {}", strings::finish_in_stripe(o.auth_kind));
                    }
                    banners.0.set(Some(Banner::success(message)));
                    connections.reload();
                }
                Err(ApiFailure::Server(e)) if e.error == ErrorCode::UpstreamFailed => {
                    delete_error.set(Some(e.message));
                }
                Err(e) => delete_error.set(Some(e.message())),
            },
        );
    };
    // "" shows every organization's connections.
    let organization = RwSignal::new(String::new());
    let actions = RowActions {
        test: Callback::new(move |c: Connection| {
            connections.value.update(|rows| {
                if let Some(Ok(rows)) = rows {
                    for r in rows.iter_mut().filter(|r| r.id == c.id) {
                        r.status = ConnectionStatus::Testing;
                    }
                }
            });
            test_now(&c, banners, move || connections.reload());
        }),
        reauthorize: Callback::new(move |c: Connection| reauthorize(&c, banners)),
        delete: Callback::new(move |c: Connection| {
            delete_error.set(None);
            confirm.set(Some(c));
        }),
    };
    view! {
        <section class="page connections-page" aria-labelledby="connections-title">
            <h1 id="connections-title">{strings::connections()}</h1>
            <p class="lead">{strings::connections_intro()}</p>
            <div class="section-header">
                <h2 id="data-sources-title">{strings::data_sources()}</h2>
                <button type="button" class="button button-primary" on:click=add>
                    {strings::add_data_source()}
                </button>
            </div>
            {move || match connections.value.get() {
                None => view! { <p class="loading" aria-busy="true">{strings::loading()}</p> }.into_any(),
                Some(Ok(rows)) => {
                    let filter = has_organizations(&rows)
                        .then(|| view! { <OrganizationFilter rows=rows.clone() chosen=organization/> });
                    let chosen = organization.get();
                    let shown: Vec<Connection> = rows.into_iter().filter(|c| passes(&chosen, c)).collect();
                    view! { {filter}<DataSourcesTable connections=shown actions=actions/> }.into_any()
                }
                Some(Err(e)) => view! {
                    <div class="load-error" role="alert">
                        <p>{strings::load_failed()}" "{e.message()}</p>
                        <button type="button" class="button" on:click=move |_| connections.reload()>
                            {strings::retry()}
                        </button>
                    </div>
                }
                .into_any(),
            }}
            <dialog node_ref=dialog class="dialog" aria-labelledby="delete-title" aria-describedby="delete-body"
                on:close=move |_| confirm.set(None)>
                {move || confirm.get().map(|c| view! {
                    <h2 id="delete-title">{strings::delete_title(&c.name)}</h2>
                    <p id="delete-body">{strings::delete_body(&c.name, &c.account_id)}</p>
                    {move || delete_error.get().map(|e| view! { <p class="load-error" role="alert">{e}</p> })}
                    <div class="dialog-actions">
                        <button type="button" class="button button-danger" disabled=move || deleting.get()
                            on:click=move |_| delete(false)>{strings::delete()}</button>
                        {move || delete_error.with(Option::is_some).then(|| view! {
                            <button type="button" class="button" disabled=move || deleting.get()
                                on:click=move |_| delete(true)>{strings::remove_here_only()}</button>
                        })}
                        <button type="button" class="button" autofocus on:click=move |_| confirm.set(None)>{strings::cancel()}</button>
                    </div>
                })}
            </dialog>
        </section>
    }
}
