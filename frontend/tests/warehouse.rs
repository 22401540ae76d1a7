//! The Data Warehouse Manager (`frontend::components::warehouse_manager`) in headless Chromium,
//! against a stubbed `fetch`: what it shows from `GET /api/connections/{id}/warehouse`, the `PUT`
//! body a save sends, and how a refusal is shown (worded, with the edits kept). And the Data
//! section's preview, which shows a table as the warehouse holds it
//! (`GET /api/connections/{id}/warehouse/{table}`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontend::components::warehouse_manager::WarehouseManager;
use frontend::strings;
use leptos::mount::mount_to;
use leptos::prelude::*;
use serde::Serialize;
use shared::{
    ApiError, ColumnChange, ColumnType, ErrorCode, ErrorReason, Locale, SyncState, SyncStatus,
    TableChange, TableSync, Warehouse, WarehouseChange, WarehouseColumn, WarehouseRows,
    WarehouseTable,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

fn document() -> web_sys::Document {
    window().document().unwrap()
}

fn column(name: &str, kind: ColumnType, tracked: bool) -> WarehouseColumn {
    WarehouseColumn {
        name: name.into(),
        kind,
        tracked,
    }
}

/// Two tables: customers with `created` untracked, charges all tracked.
fn warehouse() -> Warehouse {
    Warehouse {
        schema: "stripe_acme".into(),
        tables: vec![
            WarehouseTable {
                name: "customers".into(),
                columns: vec![
                    column("id", ColumnType::Text, true),
                    column("email", ColumnType::Text, true),
                    column("created", ColumnType::Timestamp, false),
                    column("deleted", ColumnType::Boolean, true),
                ],
                misfits: 0,
            },
            WarehouseTable {
                name: "charges".into(),
                columns: vec![
                    column("id", ColumnType::Text, true),
                    column("amount", ColumnType::Integer, true),
                    column("deleted", ColumnType::Boolean, true),
                ],
                misfits: 0,
            },
        ],
    }
}

/// Replaces `window.fetch`: `GET` answers 200 with `get`, anything else `status` with `body`. Each
/// call is recorded in `window.__calls` as `[method, url, body]` (`null` when there is none).
fn stub_fetch(get: &impl Serialize, status: u16, body: &str) {
    let make = js_sys::Function::new_with_args(
        "get, status, body",
        "window.__calls = []; \
         window.fetch = async function (input, init) { \
           var req = new Request(input, init); \
           var sent = await req.clone().text(); \
           window.__calls.push([req.method, req.url, sent || null]); \
           var answer = req.method === 'GET' ? [200, get] : [status, body]; \
           var res = new Response(answer[1], \
             { status: answer[0], headers: { 'content-type': 'application/json' } }); \
           Object.defineProperty(res, 'url', { value: req.url }); \
           return res; \
         };",
    );
    let get = serde_json::to_string(get).unwrap();
    make.call3(&JsValue::NULL, &get.into(), &status.into(), &body.into())
        .unwrap();
}

/// The recorded calls: method, url, body.
fn calls() -> Vec<(String, String, Option<String>)> {
    let calls: js_sys::Array = js_sys::Reflect::get(&window(), &"__calls".into())
        .unwrap()
        .into();
    calls
        .iter()
        .map(|c| {
            let c: js_sys::Array = c.into();
            (
                c.get(0).as_string().unwrap(),
                c.get(1).as_string().unwrap(),
                c.get(2).as_string(),
            )
        })
        .collect()
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Waits (up to ~2 s) until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        sleep(20).await;
    }
    panic!("timed out waiting for {what}");
}

fn all(root: &web_sys::HtmlElement, selector: &str) -> Vec<web_sys::Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

fn one(root: &web_sys::HtmlElement, selector: &str) -> web_sys::Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector} in {}", root.inner_html()))
}

fn text(el: &web_sys::Element) -> String {
    el.text_content().unwrap_or_default().trim().to_owned()
}

fn input(root: &web_sys::HtmlElement, selector: &str) -> web_sys::HtmlInputElement {
    one(root, selector).unchecked_into()
}

/// The checkbox labelled `column` in `table`'s disclosure (found through its `<label>`).
fn checkbox(root: &web_sys::HtmlElement, table: &str, column: &str) -> web_sys::HtmlInputElement {
    let label = all(root, &format!("details[data-table={table}] tbody label"))
        .into_iter()
        .find(|l| text(l) == column)
        .unwrap_or_else(|| panic!("no label {column} in {table}"));
    let id = label.get_attribute("for").unwrap();
    input(root, &format!("input[type=checkbox]#{id}"))
}

/// Mounts the manager for connection 4 with `fetch` stubbed, once its form is there.
async fn mounted(put_status: u16, put_body: &str) -> (web_sys::HtmlElement, impl Drop) {
    stub_fetch(&warehouse(), put_status, put_body);
    let root: web_sys::HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&root).unwrap();
    let handle = mount_to(root.clone(), || view! { <WarehouseManager id=4/> });
    let r = root.clone();
    until("the form", move || {
        r.query_selector("#warehouse-schema").unwrap().is_some()
    })
    .await;
    (root, handle)
}

/// Presses **Save** (the form's submit button).
fn save(root: &web_sys::HtmlElement) -> web_sys::HtmlElement {
    let button: web_sys::HtmlElement = one(root, "form button[type=submit]").unchecked_into();
    button.focus().unwrap();
    button.click();
    button
}

#[wasm_bindgen_test]
async fn the_schema_and_each_tables_columns_come_from_the_get() {
    let (root, _h) = mounted(500, "").await;
    let (method, url, _) = calls().remove(0);
    assert_eq!(method, "GET");
    assert!(url.ends_with("/api/connections/4/warehouse"), "{url}");

    one(&root, "section[aria-labelledby=warehouse-title] form");
    assert_eq!(
        text(&one(&root, "h2#warehouse-title")),
        "Data Warehouse Manager"
    );
    // The schema in a labelled field, described by its rules and by any refusal.
    assert_eq!(text(&one(&root, "label[for=warehouse-schema]")), "Schema");
    let schema = input(&root, "#warehouse-schema");
    assert_eq!(schema.type_(), "text");
    assert_eq!(schema.value(), "stripe_acme");
    for id in schema.get_attribute("aria-describedby").unwrap().split(' ') {
        one(&root, &format!("#{id}"));
    }
    assert_eq!(text(&one(&root, "form button[type=submit]")), "Save");

    // One disclosure per table, its summary counting what is tracked.
    let summaries: Vec<String> = all(&root, "details > summary").iter().map(text).collect();
    assert_eq!(
        summaries,
        [
            "customers — 3 of 4 columns tracked",
            "charges — 3 of 3 columns tracked"
        ]
    );
    let customers: web_sys::HtmlElement =
        one(&root, "details[data-table=customers]").unchecked_into();
    assert_eq!(
        text(&one(&customers, "table caption")),
        "Columns of customers"
    );
    let headers: Vec<String> = all(&customers, "thead th[scope=col]")
        .iter()
        .map(text)
        .collect();
    assert_eq!(headers, ["Column", "Type", "Tracked"]);
    let rows: Vec<Vec<String>> = all(&customers, "tbody tr")
        .iter()
        .map(|tr| {
            let tr: web_sys::HtmlElement = tr.clone().unchecked_into();
            all(&tr, "th, td").iter().map(text).collect()
        })
        .collect();
    assert_eq!(
        rows,
        [
            ["id", "Text", ""],
            ["email", "Text", ""],
            ["created", "Timestamp", ""],
            ["deleted", "Boolean", ""],
        ]
    );
    assert!(checkbox(&root, "customers", "email").checked());
    assert!(!checkbox(&root, "customers", "created").checked());
    assert!(checkbox(&root, "charges", "amount").checked());
}

#[wasm_bindgen_test]
async fn id_and_deleted_are_ticked_and_cannot_be_unticked() {
    let (root, _h) = mounted(500, "").await;
    for table in ["customers", "charges"] {
        for column in ["id", "deleted"] {
            let b = checkbox(&root, table, column);
            assert!(b.checked() && b.disabled(), "{table}.{column}");
            let hint = b.get_attribute("aria-describedby").unwrap();
            assert_eq!(
                text(&one(&root, &format!("#{hint}"))),
                strings::always_tracked()
            );
        }
    }
    let email = checkbox(&root, "customers", "email");
    assert!(!email.disabled());
    assert_eq!(email.get_attribute("aria-describedby"), None);
}

#[wasm_bindgen_test]
async fn unticking_a_column_and_saving_sends_the_schema_and_every_flag_in_one_put() {
    // The answer as the server has it now: a sync added `phone` to customers meanwhile.
    let mut answer = warehouse();
    answer.schema = "stripe_new".into();
    answer.tables[0].columns[1].tracked = false;
    answer.tables[0]
        .columns
        .insert(3, column("phone", ColumnType::Text, true));
    let (root, _h) = mounted(200, &serde_json::to_string(&answer).unwrap()).await;

    let customers: web_sys::HtmlElement =
        one(&root, "details[data-table=customers] summary").unchecked_into();
    customers.click();
    let email = checkbox(&root, "customers", "email");
    email.click();
    assert!(!email.checked());
    let summary = one(&root, "details[data-table=customers] summary");
    until("the count", || {
        text(&summary) == "customers — 2 of 4 columns tracked"
    })
    .await;
    let schema = input(&root, "#warehouse-schema");
    schema.set_value("stripe_new");
    schema
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    let button = save(&root);

    let status = one(&root, "form [role=status]");
    assert_eq!(status.get_attribute("aria-live").as_deref(), Some("polite"));
    until("the saved message", || {
        text(&status) == strings::warehouse_saved()
    })
    .await;
    let calls = calls();
    assert_eq!(calls.len(), 2, "one GET, one PUT: {calls:?}");
    let (method, url, body) = calls[1].clone();
    assert_eq!(method, "PUT");
    assert!(url.ends_with("/api/connections/4/warehouse"), "{url}");
    let sent: WarehouseChange = serde_json::from_str(&body.unwrap()).unwrap();
    let flags = |pairs: &[(&str, bool)]| {
        pairs
            .iter()
            .map(|(name, tracked)| ColumnChange {
                name: (*name).into(),
                tracked: *tracked,
            })
            .collect()
    };
    assert_eq!(
        sent,
        WarehouseChange {
            schema: "stripe_new".into(),
            tables: vec![
                TableChange {
                    name: "customers".into(),
                    columns: flags(&[
                        ("id", true),
                        ("email", false),
                        ("created", false),
                        ("deleted", true)
                    ]),
                },
                TableChange {
                    name: "charges".into(),
                    columns: flags(&[("id", true), ("amount", true), ("deleted", true)]),
                },
            ],
        }
    );
    // The form shows the answer, drawn in place: the same controls, the table still open, the
    // focus still on Save, no error.
    until("the answer's new column", || {
        text(&summary) == "customers — 3 of 5 columns tracked"
    })
    .await;
    assert!(checkbox(&root, "customers", "phone").checked());
    assert!(email.is_connected() && !email.checked());
    assert!(one(&root, "details[data-table=customers]").has_attribute("open"));
    assert_eq!(schema.value(), "stripe_new");
    assert_eq!(
        document().active_element(),
        Some(button.unchecked_into::<web_sys::Element>())
    );
    assert_eq!(text(&one(&root, "#warehouse-error")), "");
    assert_eq!(
        schema.get_attribute("aria-invalid").as_deref(),
        Some("false")
    );
}

#[wasm_bindgen_test]
async fn a_schema_taken_refusal_is_worded_and_the_edits_stay() {
    let refusal = ApiError {
        error: ErrorCode::Conflict,
        message: "Another connection uses this schema.".into(),
        missing: Vec::new(),
        reason: Some(ErrorReason::SchemaTaken),
        retry_after: None,
    };
    let (root, _h) = mounted(409, &serde_json::to_string(&refusal).unwrap()).await;
    let created = checkbox(&root, "customers", "created");
    created.click();
    let schema = input(&root, "#warehouse-schema");
    schema.set_value("stripe_globex");
    schema
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    save(&root);

    let error = one(&root, "#warehouse-error");
    assert_eq!(error.get_attribute("role").as_deref(), Some("alert"));
    until("the refusal", || !text(&error).is_empty()).await;
    assert_eq!(text(&error), strings::refusal(&refusal));
    assert_eq!(
        text(&error),
        "Another connection already uses this schema name."
    );
    // The field is marked and described by the refusal; nothing the user did is undone.
    assert_eq!(
        schema.get_attribute("aria-invalid").as_deref(),
        Some("true")
    );
    assert!(schema
        .get_attribute("aria-describedby")
        .unwrap()
        .contains("warehouse-error"));
    assert_eq!(schema.value(), "stripe_globex");
    assert!(created.is_connected() && created.checked());
    assert_eq!(
        text(&one(&root, "details[data-table=customers] summary")),
        "customers — 4 of 4 columns tracked"
    );
    assert_eq!(text(&one(&root, "form [role=status]")), "");
}

/// Puts the UI back in English when a test ends, passed or not.
struct English;

impl Drop for English {
    fn drop(&mut self) {
        strings::set_locale(Locale::En);
    }
}

#[wasm_bindgen_test]
async fn an_italian_admin_reads_the_manager_in_italian() {
    let _english_after = English;
    strings::set_locale(Locale::It);
    let (root, _h) = mounted(500, "").await;
    assert_eq!(
        text(&one(&root, "h2#warehouse-title")),
        "Gestione del data warehouse"
    );
    assert_eq!(text(&one(&root, "label[for=warehouse-schema]")), "Schema");
    assert_eq!(text(&one(&root, "form button[type=submit]")), "Salva");
    assert_eq!(
        text(&one(&root, "details[data-table=customers] summary")),
        "customers — 3 di 4 colonne monitorate"
    );
    let customers: web_sys::HtmlElement =
        one(&root, "details[data-table=customers]").unchecked_into();
    assert_eq!(text(&one(&customers, "caption")), "Colonne di customers");
    let headers: Vec<String> = all(&customers, "thead th").iter().map(text).collect();
    assert_eq!(headers, ["Colonna", "Tipo", "Monitorata"]);
    let types: Vec<String> = all(&customers, "tbody td:nth-of-type(1)")
        .iter()
        .map(text)
        .collect();
    assert_eq!(types, ["Testo", "Testo", "Data e ora", "Booleano"]);
    assert_eq!(
        text(&one(&root, "#warehouse-required-hint")),
        "Le colonne id e deleted sono sempre monitorate."
    );
}

/// The Data section of connection 4 listing customers, with `fetch` stubbed to answer `rows`.
fn data_section(rows: &WarehouseRows) -> (web_sys::HtmlElement, impl Drop) {
    use frontend::components::data_section::SyncView;
    stub_fetch(rows, 500, "");
    let status = SyncStatus {
        status: SyncState::Idle,
        fresh_as_of: Some(1_700_000_000),
        tables: vec![TableSync {
            name: "customers".into(),
            rows: 2,
            synced_at: Some(1_700_000_000),
            fresh_as_of: Some(1_700_000_000),
            progress: None,
            error: None,
        }],
    };
    let root: web_sys::HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&root).unwrap();
    let status = RwSignal::new(Some(Ok(status)));
    let handle = mount_to(root.clone(), move || view! { <SyncView id=4 status/> });
    (root, handle)
}

#[wasm_bindgen_test]
async fn the_preview_shows_the_warehouse_columns_and_cells_in_a_named_scrolling_region() {
    let metadata = r#"{"plan":"enterprise","region":"eu-west","seats":"250","owner":"ada"}"#;
    let rows = WarehouseRows {
        columns: vec![
            column("id", ColumnType::Text, true),
            column("email", ColumnType::Text, true),
            column("created", ColumnType::Timestamp, true),
            column("metadata", ColumnType::Json, true),
            column("deleted", ColumnType::Boolean, true),
        ],
        rows: vec![
            [
                "cus_1",
                "ada@example.com",
                "2024-01-31T12:00:00Z",
                metadata,
                "false",
            ]
            .map(|c| Some(c.to_owned()))
            .to_vec(),
            vec![
                Some("cus_2".into()),
                None,
                Some("2024-02-01T08:30:00Z".into()),
                Some("{}".into()),
                Some("true".into()),
            ],
        ],
        has_more: true,
    };
    let (root, _h) = data_section(&rows);

    let button: web_sys::HtmlElement =
        one(&root, "button[aria-label='Preview customers']").unchecked_into();
    button.click();
    let r = root.clone();
    until("the preview's rows", move || {
        r.query_selector(".preview tbody tr").unwrap().is_some()
    })
    .await;

    let calls = calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, "GET");
    assert!(
        calls[0]
            .1
            .ends_with("/api/connections/4/warehouse/customers?limit=5"),
        "{}",
        calls[0].1
    );
    // A region a keyboard can focus and scroll, named by the preview's title.
    let region: web_sys::HtmlElement = one(&root, ".preview [role=region]").unchecked_into();
    assert_eq!(region.get_attribute("tabindex").as_deref(), Some("0"));
    let title = region.get_attribute("aria-labelledby").unwrap();
    assert_eq!(
        text(&one(&root, &format!("h3#{title}"))),
        "First rows of customers"
    );
    // (That it scrolls sideways is the stylesheet's, checked end to end.)
    assert!(region.class_list().contains("table-scroll"));
    // One header per column, named as the warehouse names it, in order.
    let table: web_sys::HtmlElement = one(&region, "table").unchecked_into();
    let headers: Vec<String> = all(&table, "thead th[scope=col] code")
        .iter()
        .map(text)
        .collect();
    assert_eq!(headers, ["id", "email", "created", "metadata", "deleted"]);
    // The cells in order, the id heading its row, times as they come.
    let cells: Vec<Vec<String>> = all(&table, "tbody tr")
        .iter()
        .map(|tr| {
            let tr: web_sys::HtmlElement = tr.clone().unchecked_into();
            all(&tr, "th, td").iter().map(text).collect()
        })
        .collect();
    assert_eq!(
        cells,
        [
            [
                "cus_1",
                "ada@example.com",
                "2024-01-31T12:00:00Z",
                metadata,
                "false"
            ],
            ["cus_2", "—empty", "2024-02-01T08:30:00Z", "{}", "true"],
        ]
    );
    let ids: Vec<String> = all(&table, "tbody th[scope=row]")
        .iter()
        .map(text)
        .collect();
    assert_eq!(ids, ["cus_1", "cus_2"]);
    // A null: a dash to the eye, "empty" to a screen reader.
    let null: web_sys::HtmlElement = one(&table, "td.null").unchecked_into();
    assert_eq!(text(&one(&null, "[aria-hidden=true]")), "—");
    assert_eq!(text(&one(&null, ".visually-hidden")), strings::empty_cell());
    // A long value wraps in a wide column; the others stay on one line.
    assert_eq!(all(&table, "td.long").len(), 1);
    assert!(text(&root).contains(strings::more_rows()));
}

#[wasm_bindgen_test]
async fn a_preview_of_a_table_without_rows_says_so() {
    let rows = WarehouseRows {
        columns: vec![column("id", ColumnType::Text, true)],
        rows: Vec::new(),
        has_more: false,
    };
    let (root, _h) = data_section(&rows);
    let button: web_sys::HtmlElement =
        one(&root, "button[aria-label='Preview customers']").unchecked_into();
    button.click();
    let r = root.clone();
    until("the empty preview", move || {
        text(&r).contains(strings::no_rows())
    })
    .await;
    assert!(root.query_selector(".preview table").unwrap().is_none());
}
