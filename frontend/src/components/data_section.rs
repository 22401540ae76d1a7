//! The **Data** section of a connection's page: each synced Stripe table with **Rows** and **Last
//! synced**, a progress bar while a sync runs, errors in plain words, **Force an update**, and a
//! preview of each table's first rows as the warehouse holds them (its tracked columns, scrolling
//! sideways), and how fresh the data is ("Fresh as of 12:03:07"). The status is polled twice a
//! second while the page is open — webhooks bring changes within seconds — and the page renders
//! again only when the answer changed; the polling stops with the page.

use std::time::Duration;

use leptos::prelude::*;

use shared::{SyncState, SyncStatus, TableSync, WarehouseRows};

use crate::api::{self, ApiFailure};
use crate::components::data_sources_table::TimeAgo;
use crate::remote::{run, Remote};
use crate::strings;

/// An answer from the API, `None` while on its way.
type Loaded<T> = Option<Result<T, ApiFailure>>;

/// The table being previewed and, once loaded, its first rows.
type Preview = RwSignal<Option<(String, Loaded<WarehouseRows>)>>;

/// Rows a preview shows.
const PREVIEW_ROWS: u32 = 5;

/// Bytes past which a cell wraps in a wide column rather than stretching the row (JSON, long
/// texts); shorter cells stay on one line, so the table scrolls sideways instead of squeezing.
const LONG_CELL: usize = 40;

fn busy(status: &Loaded<SyncStatus>) -> bool {
    matches!(status, Some(Ok(s)) if matches!(s.status, SyncState::Queued | SyncState::Running))
}

fn open_preview(id: i64, table: String, preview: Preview) {
    preview.set(Some((table.clone(), None)));
    api::warehouse_rows(id, &table, PREVIEW_ROWS).send(move |answer| {
        // Only if that table is still the one asked for (and the page is still there).
        let _ = preview.try_update(|p| {
            if p.as_ref().is_some_and(|(t, _)| *t == table) {
                *p = Some((table, Some(answer)));
            }
        });
    });
}

fn table_row(t: TableSync, id: i64, preview: Preview) -> impl IntoView {
    let name = t.name;
    // Rows of rows expected once a pass completed; before, Stripe has not said how many there
    // are: an indeterminate bar and what was read.
    let progress = t.progress.map(|p| {
        if p.expected {
            view! {
                <progress aria-label=strings::progress_of(&name) value=p.done max=p.total.max(1)></progress>
                " "<small>{strings::progress_text(p.done, p.total)}</small>
            }
            .into_any()
        } else {
            view! {
                <progress aria-label=strings::progress_of(&name)></progress>
                " "<small>{strings::progress_read(p.done, p.pages)}</small>
            }
            .into_any()
        }
    });
    let error = t
        .error
        .map(|e| view! { <span class="status status-error">{strings::sync_error(&e)}</span> });
    let label = strings::action_for(strings::preview(), &name);
    let csv_label = strings::csv_of(&name);
    let csv_url = api::table_csv_url(id, &name);
    let (for_preview, key) = (name.clone(), name.clone());
    view! {
        <tr data-table=key>
            <th scope="row"><code>{name}</code></th>
            <td class="number">{t.rows}</td>
            <td>{match t.synced_at {
                Some(at) => view! { <TimeAgo unix_seconds=at/> }.into_any(),
                None => strings::never().into_any(),
            }}</td>
            <td>{progress}{error}</td>
            <td>
                <button type="button" class="button button-small" aria-label=label
                    on:click=move |_| open_preview(id, for_preview.clone(), preview)>{strings::preview()}</button>
                " "
                <a class="button button-small" href=csv_url download="" aria-label=csv_label>{strings::csv()}</a>
            </td>
        </tr>
    }
}

/// Cell `i` of a row: the id heads its row; a null reads "empty" (a dash to the eye).
fn cell(i: usize, value: Option<String>) -> impl IntoView {
    match (i, value) {
        (0, id) => view! { <th scope="row"><code>{id}</code></th> }.into_any(),
        (_, Some(v)) => {
            let long = v.len() > LONG_CELL;
            view! { <td class:long=long>{v}</td> }.into_any()
        }
        (_, None) => view! {
            <td class="null">
                <span aria-hidden="true">"—"</span>
                <span class="visually-hidden">{strings::empty_cell()}</span>
            </td>
        }
        .into_any(),
    }
}

/// The rows under their columns' names, in a region that scrolls sideways: focusable and named
/// by the preview's title, so a keyboard can scroll it and a screen reader names it.
fn preview_rows(page: WarehouseRows) -> impl IntoView {
    if page.rows.is_empty() {
        return view! { <p>{strings::no_rows()}</p> }.into_any();
    }
    view! {
        <div class="table-scroll" role="region" tabindex="0" aria-labelledby="preview-title">
            <table class="data-sources preview-rows" aria-labelledby="preview-title">
                <thead><tr>
                    {page.columns.into_iter().map(|c| view! {
                        <th scope="col"><code>{c.name}</code></th>
                    }).collect_view()}
                </tr></thead>
                <tbody>
                    {page.rows.into_iter().map(|row| view! {
                        <tr>{row.into_iter().enumerate().map(|(i, v)| cell(i, v)).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {page.has_more.then(|| view! { <p><small>{strings::more_rows()}</small></p> })}
    }
    .into_any()
}

fn preview_view(preview: Preview) -> impl IntoView {
    move || {
        preview.get().map(|(table, rows)| {
            view! {
                <div class="preview">
                    <h3 id="preview-title">{strings::preview_title(&table)}</h3>
                    {match rows {
                        None => view! { <p class="loading">{strings::loading()}</p> }.into_any(),
                        Some(Ok(page)) => preview_rows(page).into_any(),
                        Some(Err(e)) => view! { <p class="load-error" role="alert">{e.message()}</p> }.into_any(),
                    }}
                </div>
            }
        })
    }
}

/// The section for a sync status held in `status` (a plain view, so tests need no server).
/// `force` runs **Force an update**; `pending` is true while it is on its way.
#[component]
pub fn SyncView(
    id: i64,
    status: RwSignal<Loaded<SyncStatus>>,
    #[prop(optional)] force: Option<Callback<()>>,
    #[prop(optional)] pending: Option<RwSignal<bool>>,
    #[prop(optional)] force_error: Option<RwSignal<Option<String>>>,
) -> impl IntoView {
    let preview: Preview = RwSignal::new(None);
    let fresh = move || match status.get() {
        Some(Ok(SyncStatus {
            fresh_as_of: Some(at),
            ..
        })) => strings::fresh_as_of(at),
        _ => String::new(),
    };
    let disabled = move || pending.is_some_and(|p| p.get()) || status.with(busy);
    let state_line = move || {
        if let Some(e) = force_error.and_then(|e| e.get()) {
            return e;
        }
        match status.get() {
            None => strings::loading().to_owned(),
            Some(Ok(s)) => strings::sync_state(s.status).to_owned(),
            Some(Err(e)) => format!("{} {}", strings::sync_load_failed(), e.message()),
        }
    };
    let tables = move || match status.get() {
        Some(Ok(s)) => s
            .tables
            .into_iter()
            .map(|t| table_row(t, id, preview))
            .collect_view()
            .into_any(),
        _ => ().into_any(),
    };
    view! {
        <section class="data-section" aria-labelledby="data-title">
            <h2 id="data-title">{strings::data()}</h2>
            <p>
                <button type="button" class="button" disabled=disabled
                    on:click=move |_| { if let Some(f) = force { f.run(()) } }>{strings::force_update()}</button>
            </p>
            <p class="sync-state" aria-live="polite">{state_line}</p>
            <p class="fresh-as-of">{fresh}</p>
            <table class="data-sources sync-tables">
                <caption class="visually-hidden">{strings::data()}</caption>
                <thead><tr>
                    <th scope="col">{strings::col_table()}</th>
                    <th scope="col">{strings::col_rows()}</th>
                    <th scope="col">{strings::col_last_synced()}</th>
                    <th scope="col">{strings::col_progress()}</th>
                    <th scope="col">{strings::preview()}</th>
                </tr></thead>
                <tbody>{tables}</tbody>
            </table>
            {preview_view(preview)}
        </section>
    }
}

/// The **Data** section of connection `id`, loaded from the API and polled twice a second.
#[component]
pub fn DataSection(id: i64) -> impl IntoView {
    let remote = Remote::new(move || api::sync_status(id));
    let pending = RwSignal::new(false);
    let force_error = RwSignal::new(None::<String>);
    let handle =
        set_interval_with_handle(move || remote.refresh(), Duration::from_millis(500)).ok();
    on_cleanup(move || {
        if let Some(h) = handle {
            h.clear();
        }
    });
    let force = Callback::new(move |()| {
        force_error.set(None);
        run(pending, api::force_sync(id), move |answer| {
            if let Err(e) = answer {
                let _ = force_error.try_set(Some(e.message()));
            }
            remote.reload();
        });
    });
    view! { <SyncView id status=remote.value force pending force_error/> }
}
