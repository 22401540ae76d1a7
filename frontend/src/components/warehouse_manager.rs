//! The **Data Warehouse Manager** of a connection's page (SPEC §6.3): the schema the connection's
//! tables are written to and, per table, which columns are tracked. One **Save** sends the schema
//! and every table's flags in one `PUT`; a refusal is worded in the UI's language and the edits
//! stay on screen.

use leptos::prelude::*;

use shared::{ColumnChange, ColumnType, TableChange, Warehouse, WarehouseChange};

use crate::api::{self, ApiFailure};
use crate::remote::{run, Remote};
use crate::strings;

/// An answer from the API, `None` while on its way.
type Loaded<T> = Option<Result<T, ApiFailure>>;

/// Columns every table keeps (the server refuses to untrack them).
fn always_tracked(column: &str) -> bool {
    matches!(column, "id" | "deleted")
}

/// Whether a refusal is about the schema's name (then the field is marked invalid).
fn schema_refused(error: &Option<ApiFailure>) -> bool {
    use shared::ErrorReason as R;
    matches!(error, Some(ApiFailure::Server(e))
        if matches!(e.reason, Some(R::InvalidSchema | R::SchemaTaken)))
}

/// One column as the user is editing it.
#[derive(Clone)]
struct ColumnDraft {
    name: String,
    kind: ColumnType,
    tracked: RwSignal<bool>,
}

/// One table as the user is editing it.
#[derive(Clone)]
struct TableDraft {
    name: String,
    columns: Vec<ColumnDraft>,
}

/// The form's state: the warehouse as loaded or saved, with the user's edits since.
struct Draft {
    schema: RwSignal<String>,
    tables: Vec<TableDraft>,
}

impl Draft {
    fn new(w: Warehouse) -> Self {
        let tables = w
            .tables
            .into_iter()
            .map(|t| TableDraft {
                name: t.name,
                columns: t
                    .columns
                    .into_iter()
                    .map(|c| ColumnDraft {
                        name: c.name,
                        kind: c.kind,
                        tracked: RwSignal::new(c.tracked),
                    })
                    .collect(),
            })
            .collect();
        Self {
            schema: RwSignal::new(w.schema),
            tables,
        }
    }

    /// The `PUT` body: the schema and every column's flag.
    fn change(&self) -> WarehouseChange {
        WarehouseChange {
            schema: self.schema.get_untracked(),
            tables: self
                .tables
                .iter()
                .map(|t| TableChange {
                    name: t.name.clone(),
                    columns: t
                        .columns
                        .iter()
                        .map(|c| ColumnChange {
                            name: c.name.clone(),
                            tracked: c.tracked.get_untracked(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The state of **Save**: on its way, done, or refused.
#[derive(Clone, Copy)]
struct Saving {
    pending: RwSignal<bool>,
    saved: RwSignal<bool>,
    error: RwSignal<Option<ApiFailure>>,
}

fn column_row(table: &str, c: ColumnDraft) -> impl IntoView {
    let id = format!("warehouse-{table}-{}", c.name);
    let required = always_tracked(&c.name);
    view! {
        <tr>
            <th scope="row"><label for=id.clone()><code>{c.name}</code></label></th>
            <td>{strings::column_type(c.kind)}</td>
            <td class="tracked">
                <input type="checkbox" id=id bind:checked=c.tracked disabled=required
                    aria-describedby=required.then_some("warehouse-required-hint")/>
            </td>
        </tr>
    }
}

fn table_view(t: TableDraft) -> impl IntoView {
    let flags: Vec<RwSignal<bool>> = t.columns.iter().map(|c| c.tracked).collect();
    let name = t.name.clone();
    let summary = move || {
        let tracked = flags.iter().filter(|f| f.get()).count();
        strings::table_summary(&name, tracked, flags.len())
    };
    let caption = strings::columns_of(&t.name);
    let rows = t
        .columns
        .into_iter()
        .map(|c| column_row(&t.name, c))
        .collect_view();
    view! {
        <details class="warehouse-table" data-table=t.name>
            <summary>{summary}</summary>
            <table class="data-sources warehouse-columns">
                <caption class="visually-hidden">{caption}</caption>
                <thead><tr>
                    <th scope="col">{strings::col_column()}</th>
                    <th scope="col">{strings::col_type()}</th>
                    <th scope="col">{strings::col_tracked()}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </details>
    }
}

fn warehouse_form(
    id: i64,
    loaded: Warehouse,
    value: RwSignal<Loaded<Warehouse>>,
    saving: Saving,
) -> impl IntoView {
    let Saving {
        pending,
        saved,
        error,
    } = saving;
    let draft = Draft::new(loaded);
    let schema = draft.schema;
    let tables = draft.tables.clone();
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        // Save stays enabled (and focused) while saving; a press while one is on its way is ignored.
        if pending.get_untracked() {
            return;
        }
        saved.set(false);
        error.set(None);
        run(
            pending,
            api::put_warehouse(id, draft.change()),
            move |answer| match answer {
                // Drawn again from the answer (Leptos updates the same elements in place: the open
                // tables and the focus stay).
                Ok(w) => {
                    let _ = value.try_set(Some(Ok(w)));
                    let _ = saved.try_set(true);
                }
                // The edits stay as they are, to be corrected and saved again.
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            },
        );
    };
    let status = move || {
        if pending.get() {
            Some(strings::saving())
        } else {
            saved.get().then(strings::warehouse_saved)
        }
    };
    view! {
        <form class="warehouse-form" on:submit=submit>
            <div class="form">
                <label for="warehouse-schema">{strings::schema()}</label>
                <input id="warehouse-schema" name="schema" type="text" required maxlength="63"
                    autocomplete="off" spellcheck="false"
                    aria-describedby="warehouse-schema-hint warehouse-error"
                    aria-invalid=move || error.with(schema_refused).to_string()
                    bind:value=schema/>
                <p id="warehouse-schema-hint" class="hint">{strings::schema_hint()}</p>
            </div>
            <p id="warehouse-required-hint" class="hint">{strings::always_tracked()}</p>
            {tables.into_iter().map(table_view).collect_view()}
            <p>
                <button type="submit" class="button button-primary"
                    aria-busy=move || pending.get().to_string()>{strings::save()}</button>
            </p>
            <p class="save-status" role="status" aria-live="polite">{status}</p>
            <p id="warehouse-error" class="field-error" role="alert">
                {move || error.with(|e| e.as_ref().map(ApiFailure::message))}
            </p>
        </form>
    }
}

/// The **Data Warehouse Manager** of connection `id` (Admins only, as the page).
#[component]
pub fn WarehouseManager(id: i64) -> impl IntoView {
    let remote = Remote::new(move || api::warehouse(id));
    // Outside the form, so a form drawn again after a save keeps its message.
    let saving = Saving {
        pending: RwSignal::new(false),
        saved: RwSignal::new(false),
        error: RwSignal::new(None),
    };
    let value = remote.value;
    view! {
        <section class="warehouse-manager" aria-labelledby="warehouse-title">
            <h2 id="warehouse-title">{strings::warehouse_manager()}</h2>
            <p>{strings::warehouse_intro()}</p>
            {move || match value.get() {
                None => view! { <p class="loading">{strings::loading()}</p> }.into_any(),
                Some(Ok(w)) => warehouse_form(id, w, value, saving).into_any(),
                Some(Err(e)) => view! {
                    <p class="load-error" role="alert">
                        {format!("{} {}", strings::warehouse_load_failed(), e.message())}
                    </p>
                }
                .into_any(),
            }}
        </section>
    }
}
