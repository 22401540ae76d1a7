//! The Data Sources table: Name, Connection, Status, Last Connection Started, Last Connection
//! Duration, Action. Status is text and colour, never colour alone; under it, how fresh the
//! connection's data is (its oldest table's). A connection that needs
//! re-authentication is fixed by activating its name.

use leptos::prelude::*;

use shared::{Connection, ConnectionStatus, IntegrationKind};

use crate::components::organization_filter::has_organizations;
use crate::components::stripe_mark::StripeMark;
use crate::router::Link;
use crate::strings;

fn status_class(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Success => "status status-success",
        ConnectionStatus::NeedsReauth => "status status-needs-reauth",
        ConnectionStatus::Error => "status status-error",
        ConnectionStatus::Testing => "status status-testing",
    }
}

fn date(unix_seconds: i64) -> js_sys::Date {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        unix_seconds as f64 * 1000.0,
    ))
}

/// "2 hours ago" with the exact time on hover and focus.
#[component]
pub fn TimeAgo(unix_seconds: i64) -> impl IntoView {
    let exact = strings::date_time(&date(unix_seconds));
    let now = (js_sys::Date::now() / 1000.0) as i64;
    view! {
        <time datetime=String::from(date(unix_seconds).to_iso_string()) title=exact.clone() tabindex="0" aria-label=exact>
            {strings::time_ago(now - unix_seconds)}
        </time>
    }
}

/// What the row's controls do; absent in read-only renderings (tests, embeds without actions).
#[derive(Clone, Copy)]
pub struct RowActions {
    /// Test the connection now.
    pub test: Callback<Connection>,
    /// Start re-authentication.
    pub reauthorize: Callback<Connection>,
    /// Ask to delete.
    pub delete: Callback<Connection>,
}

fn row(connection: Connection, actions: Option<RowActions>, organizations: bool) -> impl IntoView {
    let kind = match connection.kind {
        IntegrationKind::Stripe => strings::stripe(),
    };
    let duration = connection
        .last_duration_ms
        .map(strings::duration)
        .unwrap_or_else(|| strings::never().into());
    let name = connection.name.clone();
    let needs_reauth = connection.status == ConnectionStatus::NeedsReauth;
    let name_cell = match actions {
        Some(a) if needs_reauth => {
            let c = connection.clone();
            let label = name.clone();
            view! {
                <button type="button" class="link-button" on:click=move |_| a.reauthorize.run(c.clone())>
                    {label}<span class="visually-hidden">" — "{strings::reauth_hint()}</span>
                </button>
            }
            .into_any()
        }
        // Embedded (the widget): a connection has no page of its own there.
        Some(_) if crate::embed::use_embed().is_some() => name.clone().into_any(),
        Some(_) => {
            let label = name.clone();
            view! { <Link href=format!("{}/{}", shared::CONNECTIONS_PAGE, connection.id)>{label}</Link> }.into_any()
        }
        None => name.clone().into_any(),
    };
    let action_cell = actions.map(|a| {
        let (t, d) = (connection.clone(), connection.clone());
        view! {
            <button type="button" class="button button-small" aria-label=strings::action_for(strings::test_connection(), &name)
                disabled=connection.status == ConnectionStatus::Testing
                on:click=move |_| a.test.run(t.clone())>{strings::test_connection()}</button>
            " "
            <button type="button" class="button button-small button-danger" aria-label=strings::action_for(strings::delete(), &name)
                on:click=move |_| a.delete.run(d.clone())>{strings::delete()}</button>
        }
    });
    view! {
        <tr data-connection-id=connection.id>
            <th scope="row" class="connection-name">
                {name_cell}
                {(!connection.livemode).then(|| view! { <span class="tag">{strings::test_mode()}</span> })}
            </th>
            {organizations.then(|| view! {
                <td>{connection.organization.clone().unwrap_or_else(|| strings::own_organization().into())}</td>
            })}
            <td class="connection-kind"><StripeMark size=20/>" "{kind}</td>
            <td>
                <span class=status_class(connection.status)>{strings::status(connection.status)}</span>
                {connection.last_error.map(|e| view! { <small class="status-reason">{strings::problem(e)}</small> })}
                {connection.fresh_as_of.map(|at| view! { <small class="fresh-as-of">{strings::fresh_as_of(at)}</small> })}
            </td>
            <td>{match connection.last_started_at {
                Some(at) => view! { <TimeAgo unix_seconds=at/> }.into_any(),
                None => strings::never().into_any(),
            }}</td>
            <td>{duration}</td>
            <td class="connection-actions">{action_cell}</td>
        </tr>
    }
}

/// The table, or its empty state.
#[component]
pub fn DataSourcesTable(
    connections: Vec<Connection>,
    #[prop(optional)] actions: Option<RowActions>,
) -> impl IntoView {
    let empty = connections.is_empty();
    let organizations = has_organizations(&connections);
    view! {
        <table class="data-sources">
            <caption class="visually-hidden">{strings::data_sources()}</caption>
            <thead>
                <tr>
                    <th scope="col">{strings::col_name()}</th>
                    {organizations.then(|| view! { <th scope="col">{strings::col_organization()}</th> })}
                    <th scope="col">{strings::col_connection()}</th>
                    <th scope="col">{strings::col_status()}</th>
                    <th scope="col">{strings::col_last_started()}</th>
                    <th scope="col">{strings::col_last_duration()}</th>
                    <th scope="col">{strings::col_action()}</th>
                </tr>
            </thead>
            <tbody>
                {empty.then(|| view! {
                    <tr class="empty-state">
                        <td colspan=if organizations { "7" } else { "6" }>
                            <p><strong>{strings::empty_title()}</strong></p>
                            <p>{strings::empty_hint()}</p>
                        </td>
                    </tr>
                })}
                {connections.into_iter().map(|c| row(c, actions, organizations)).collect_view()}
            </tbody>
        </table>
    }
}
