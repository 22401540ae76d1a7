//! The Data Sources table: Name, Connection, Status, Last Connection Started, Last Connection
//! Duration, Action. Status is text and colour, never colour alone.

use leptos::prelude::*;
use shared::{Connection, ConnectionStatus, IntegrationKind};

use crate::components::stripe_mark::StripeMark;
use crate::strings;

fn status_class(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Success => "status status-success",
        ConnectionStatus::NeedsReauth => "status status-needs-reauth",
        ConnectionStatus::Error => "status status-error",
        ConnectionStatus::Testing => "status status-testing",
    }
}

fn exact_time(unix_seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        unix_seconds as f64 * 1000.0,
    ));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}

fn iso_time(unix_seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        unix_seconds as f64 * 1000.0,
    ));
    String::from(date.to_iso_string())
}

fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn row(connection: Connection) -> impl IntoView {
    let kind = match connection.kind {
        IntegrationKind::Stripe => strings::STRIPE,
    };
    let started = connection.last_started_at.map(|at| {
        let exact = exact_time(at);
        view! {
            <time datetime=iso_time(at) title=exact.clone() tabindex="0" aria-label=exact.clone()>
                {strings::time_ago(now_seconds() - at)}
            </time>
        }
    });
    let duration = connection
        .last_duration_ms
        .map(strings::duration)
        .unwrap_or_else(|| strings::NEVER.into());
    view! {
        <tr data-connection-id=connection.id>
            <th scope="row" class="connection-name">
                {connection.name}
                {(!connection.livemode).then(|| view! { <span class="tag">{strings::TEST_MODE}</span> })}
            </th>
            <td class="connection-kind"><StripeMark size=20/>" "{kind}</td>
            <td><span class=status_class(connection.status)>{strings::status(connection.status)}</span></td>
            <td>{started.map(IntoAny::into_any).unwrap_or_else(|| strings::NEVER.into_any())}</td>
            <td>{duration}</td>
            <td class="connection-actions"></td>
        </tr>
    }
}

/// The table, or its empty state.
#[component]
pub fn DataSourcesTable(connections: Vec<Connection>) -> impl IntoView {
    let empty = connections.is_empty();
    view! {
        <table class="data-sources">
            <caption class="visually-hidden">{strings::DATA_SOURCES}</caption>
            <thead>
                <tr>
                    <th scope="col">{strings::COL_NAME}</th>
                    <th scope="col">{strings::COL_CONNECTION}</th>
                    <th scope="col">{strings::COL_STATUS}</th>
                    <th scope="col">{strings::COL_LAST_STARTED}</th>
                    <th scope="col">{strings::COL_LAST_DURATION}</th>
                    <th scope="col">{strings::COL_ACTION}</th>
                </tr>
            </thead>
            <tbody>
                {empty.then(|| view! {
                    <tr class="empty-state">
                        <td colspan="6">
                            <p><strong>{strings::EMPTY_TITLE}</strong></p>
                            <p>{strings::EMPTY_HINT}</p>
                        </td>
                    </tr>
                })}
                {connections.into_iter().map(row).collect_view()}
            </tbody>
        </table>
    }
}
