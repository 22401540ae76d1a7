//! One connection: its facts, a **Test connection** action, its **Data**, its **Data Warehouse
//! Manager**, and its audit log (Admins only).

use leptos::prelude::*;

use shared::{ConnectionDetail, ConnectionStatus};

use crate::api;
use crate::components::banner::use_banner;
use crate::components::data_section::DataSection;
use crate::components::data_sources_table::TimeAgo;
use crate::components::warehouse_manager::WarehouseManager;
use crate::pages::connections::{reauthorize, test_now};
use crate::remote::Remote;
use crate::router::Link;
use crate::strings;

fn detail_view(detail: ConnectionDetail, remote: Remote<ConnectionDetail>) -> impl IntoView {
    let banners = use_banner();
    let c = detail.connection;
    let (for_test, for_reauth) = (c.clone(), c.clone());
    let needs_reauth = c.status == ConnectionStatus::NeedsReauth;
    view! {
        <h1 id="connection-title">{c.name.clone()}</h1>
        <dl class="facts">
            <dt>{strings::account()}</dt><dd><code>{c.account_id.clone()}</code></dd>
            <dt>{strings::mode()}</dt><dd>{if c.livemode { strings::live_mode() } else { strings::test_mode() }}</dd>
            <dt>{strings::col_status()}</dt><dd>{strings::status(c.status)}</dd>
            <dt>{strings::connected_with()}</dt><dd>{strings::auth_kind(c.auth_kind)}
                {c.key_last4.clone().map(|l| view! { " "<code>{strings::key_ending(&l)}</code> })}</dd>
            {c.last_error.map(|e| view! { <dt>{strings::last_error()}</dt><dd>{strings::problem(e)}</dd> })}
        </dl>
        <p>
            <button type="button" class="button" on:click=move |_| test_now(&for_test, banners, move || remote.reload())>
                {strings::test_connection()}
            </button>
            " "
            {needs_reauth.then(|| view! {
                <button type="button" class="button button-stripe" on:click=move |_| reauthorize(&for_reauth, banners)>
                    {strings::connect_with_stripe()}
                </button>
            })}
        </p>
        <DataSection id=c.id/>
        <WarehouseManager id=c.id/>
        <h2 id="history-title">{strings::history()}</h2>
        <table class="data-sources audit" aria-labelledby="history-title">
            <thead><tr>
                <th scope="col">{strings::col_when()}</th>
                <th scope="col">{strings::col_who()}</th>
                <th scope="col">{strings::col_what()}</th>
                <th scope="col">{strings::col_details()}</th>
            </tr></thead>
            <tbody>
                {detail.audit.into_iter().map(|e| view! {
                    <tr>
                        <td><TimeAgo unix_seconds=e.created_at/></td>
                        <td>{e.actor}</td>
                        <th scope="row">{strings::audit_action(e.action)}</th>
                        <td>{strings::audit_detail(&e.detail)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The connection detail page.
#[component]
pub fn ConnectionDetailPage(id: i64) -> impl IntoView {
    let remote = Remote::new(move || api::get_connection(id));
    view! {
        <section class="page connection-page" aria-labelledby="connection-title">
            <p class="breadcrumb"><Link href=shared::CONNECTIONS_PAGE>{strings::back_to_connections()}</Link></p>
            {move || match remote.value.get() {
                None => view! { <p class="loading">{strings::loading()}</p> }.into_any(),
                Some(Ok(detail)) => detail_view(detail, remote).into_any(),
                Some(Err(e)) => view! { <p class="load-error" role="alert">{e.message()}</p> }.into_any(),
            }}
        </section>
    }
}
