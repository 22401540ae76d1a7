//! The **Organization** filter above the Data Sources table, shown once host products' organizations
//! have connections: every organization, the app's own, or one of them.

use leptos::prelude::*;

use shared::Connection;

use crate::strings;

/// The filter's value for the app's own connections (not a name a host can give: it has a NUL).
const OWN: &str = "\u{0}own";

/// Whether any connection belongs to a host's organization (then the column and filter show) —
/// never inside the widget, which shows one organization's only.
pub fn has_organizations(rows: &[Connection]) -> bool {
    crate::embed::use_embed().is_none() && rows.iter().any(|c| c.organization.is_some())
}

/// Whether `c` passes the filter value `chosen` (empty: every organization).
pub fn passes(chosen: &str, c: &Connection) -> bool {
    match (chosen, c.organization.as_deref()) {
        ("", _) => true,
        (OWN, None) => true,
        (name, Some(org)) => name == org,
        _ => false,
    }
}

/// The select, over the organizations of `rows`.
#[component]
pub fn OrganizationFilter(rows: Vec<Connection>, chosen: RwSignal<String>) -> impl IntoView {
    // Kept in order as they come (binary search + insert: no sort routine in the wasm).
    let mut names: Vec<String> = Vec::new();
    for name in rows.iter().filter_map(|c| c.organization.as_ref()) {
        if let Err(at) = names.binary_search(name) {
            names.insert(at, name.clone());
        }
    }
    let own = rows.iter().any(|c| c.organization.is_none());
    view! {
        <p class="filter">
            <label for="organization-filter">{strings::col_organization()}</label>" "
            <select id="organization-filter"
                on:change=move |ev| chosen.set(event_target_value(&ev))
                prop:value=move || chosen.get()>
                <option value="">{strings::all_organizations()}</option>
                {own.then(|| view! { <option value=OWN>{strings::own_organization()}</option> })}
                {names.into_iter().map(|n| {
                    let value = n.clone();
                    view! { <option value=value>{n}</option> }
                }).collect_view()}
            </select>
        </p>
    }
}
