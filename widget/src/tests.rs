//! The widget in headless Chromium (`wasm-bindgen-test`): mounted on an element with `fetch`
//! stubbed, it renders the Data Sources table in its shadow root from the API at `base-url` with
//! the bearer token, and reports `ready`, `error` (401 codes) and `connect` with the documented
//! detail shapes.
//! (Unit tests of the crate: it is a `cdylib` only — an `rlib` beside it made the wasm ~35 KB gzip
//! bigger.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::rc::Rc;

use shared::{Connection, ConnectionStatus, IntegrationKind};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

use crate as widget;

const BASE: &str = "https://connections.example";

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

fn element() -> web_sys::HtmlElement {
    let document = window().document().unwrap();
    let el: web_sys::HtmlElement = document
        .create_element("stripe-connections-test")
        .unwrap()
        .unchecked_into();
    document.body().unwrap().append_child(&el).unwrap();
    el
}

/// Replaces `window.fetch`: every call answers `status` with `body`, and is recorded in
/// `window.__calls` as `[url, authorization]`.
fn stub_fetch(status: u16, body: &str) {
    let make = js_sys::Function::new_with_args(
        "status, body",
        "window.__calls = []; \
         window.fetch = function (input, init) { \
           var req = new Request(input, init); \
           window.__calls.push([req.url, req.headers.get('authorization')]); \
           return Promise.resolve(new Response(body, { status: status, headers: { 'content-type': 'application/json' } })); \
         };",
    );
    make.call2(&JsValue::NULL, &status.into(), &body.into())
        .unwrap();
}

fn calls() -> Vec<(String, Option<String>)> {
    let calls: js_sys::Array = js_sys::Reflect::get(&window(), &"__calls".into())
        .unwrap()
        .unchecked_into();
    calls
        .iter()
        .map(|c| {
            let c: js_sys::Array = c.unchecked_into();
            (c.get(0).as_string().unwrap(), c.get(1).as_string())
        })
        .collect()
}

/// Records the `detail` of each `name` event on `el`.
fn record(el: &web_sys::HtmlElement, name: &str) -> Rc<RefCell<Vec<JsValue>>> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    let listener = Closure::<dyn Fn(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
        sink.borrow_mut().push(e.detail());
    });
    el.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref())
        .unwrap();
    listener.forget();
    seen
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Waits (up to ~2 s) for `done`.
async fn until(done: impl Fn() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        sleep(20).await;
    }
}

/// The widget mounted on `el`, talking to [`BASE`] with the token `cs_test`.
fn mount_on(el: &web_sys::HtmlElement) -> widget::Widget {
    widget::mount(
        el.clone(),
        BASE.into(),
        BASE.into(),
        "cs_test".into(),
        format!("{BASE}/widget/"),
    )
    .unwrap()
}

fn field(value: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(value, &name.into()).unwrap()
}

fn shadow_text(el: &web_sys::HtmlElement, selector: &str) -> Vec<String> {
    let root = el.shadow_root().expect("an open shadow root");
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().text_content().unwrap_or_default())
        .map(|t| t.trim().to_owned())
        .collect()
}

fn connection(id: i64, name: &str) -> Connection {
    Connection {
        id,
        name: name.into(),
        kind: IntegrationKind::Stripe,
        account_id: format!("acct_{id}"),
        livemode: true,
        status: ConnectionStatus::Success,
        last_started_at: None,
        last_duration_ms: Some(1_500),
        created_at: 0,
        last_error: None,
        auth_kind: shared::AuthKind::Apps,
        key_last4: None,
        organization: Some("Acme Host".into()),
        fresh_as_of: None,
    }
}

#[wasm_bindgen_test]
async fn the_element_renders_the_table_from_the_api_at_its_base_url_with_its_token() {
    let rows = vec![connection(1, "Acme Corp"), connection(2, "Globex")];
    stub_fetch(200, &serde_json::to_string(&rows).unwrap());
    let el = element();
    let ready = record(&el, "ready");
    let widget = mount_on(&el);
    assert_eq!(ready.borrow().len(), 1, "ready once mounted");
    until(|| shadow_text(&el, "tbody th.connection-name").len() == 2).await;

    let names = shadow_text(&el, "tbody th.connection-name");
    assert_eq!(names, ["Acme Corp", "Globex"]);
    assert_eq!(
        shadow_text(&el, "button.button-primary"),
        ["Add a Data Source"]
    );
    // The stylesheet lives in the shadow root, from the widget's own directory.
    let root = el.shadow_root().unwrap();
    let link = root
        .query_selector("link[rel=stylesheet]")
        .unwrap()
        .unwrap();
    assert_eq!(
        link.get_attribute("href").unwrap(),
        format!("{BASE}/widget/widget.css")
    );
    // Nothing of the widget leaks into the host page's light DOM.
    assert_eq!(el.child_element_count(), 0);
    assert!(calls().contains(&(
        format!("{BASE}/api/connections"),
        Some("Bearer cs_test".into())
    )));

    // Add a Data Source → the picker → Stripe → the authorization page, all in the shadow root.
    let add: web_sys::HtmlElement = root
        .query_selector("button.button-primary")
        .unwrap()
        .unwrap()
        .unchecked_into();
    add.click();
    until(|| !shadow_text(&el, ".integration-tile").is_empty()).await;
    let tile: web_sys::HtmlElement = root
        .query_selector(".integration-tile")
        .unwrap()
        .unwrap()
        .unchecked_into();
    tile.click();
    until(|| !shadow_text(&el, "button.button-stripe").is_empty()).await;
    assert_eq!(
        shadow_text(&el, "button.button-stripe"),
        ["Connect with Stripe"]
    );
    drop(widget);
    assert!(root.query_selector("table").unwrap().is_none(), "unmounted");
}

#[wasm_bindgen_test]
async fn an_expired_token_is_an_error_event_with_the_servers_code() {
    stub_fetch(
        401,
        r#"{"error":"session_expired","message":"This connect session has expired."}"#,
    );
    let el = element();
    let errors = record(&el, "error");
    let _widget = widget::mount(
        el.clone(),
        BASE.into(),
        BASE.into(),
        "cs_old".into(),
        format!("{BASE}/widget/"),
    )
    .unwrap();
    until(|| !errors.borrow().is_empty()).await;
    let errors = errors.borrow();
    let detail = errors.first().expect("an error event");
    assert_eq!(
        field(detail, "code").as_string().unwrap(),
        "session_expired"
    );
    assert_eq!(
        field(detail, "message").as_string().unwrap(),
        "This connect session has expired."
    );
}

#[wasm_bindgen_test]
fn the_events_details_have_the_documented_shapes() {
    let el = element();
    let connects = record(&el, "connect");
    let errors = record(&el, "error");
    widget::emit_connect(&el, 7.0, "Acme Corp");
    widget::emit_error(&el, "popup_blocked", "blocked");
    let connect = connects.borrow()[0].clone();
    assert_eq!(field(&connect, "connection_id").as_f64(), Some(7.0));
    assert_eq!(
        field(&connect, "account_name").as_string().as_deref(),
        Some("Acme Corp")
    );
    let error = errors.borrow()[0].clone();
    assert_eq!(
        field(&error, "code").as_string().as_deref(),
        Some("popup_blocked")
    );
    assert_eq!(
        field(&error, "message").as_string().as_deref(),
        Some("blocked")
    );
}

#[wasm_bindgen_test]
async fn the_locale_attribute_picks_the_language_and_marks_it_for_assistive_technology() {
    stub_fetch(
        200,
        &serde_json::to_string(&vec![connection(1, "Acme Corp")]).unwrap(),
    );
    let el = element();
    el.set_attribute("locale", "it-CH").unwrap();
    let widget = mount_on(&el);
    until(|| shadow_text(&el, "tbody th.connection-name").len() == 1).await;
    assert_eq!(
        shadow_text(&el, "button.button-primary"),
        ["Aggiungi un'origine dati"]
    );
    let root = el.shadow_root().unwrap();
    let marked = root.query_selector("div[lang='it']").unwrap();
    assert!(marked.is_some(), "the widget's content says it is Italian");
    assert!(
        el.get_attribute("lang").is_none(),
        "the host's element keeps its own lang"
    );
    drop(widget);
    // A language the UI does not speak falls back to English.
    el.set_attribute("locale", "de").unwrap();
    let widget = mount_on(&el);
    until(|| shadow_text(&el, "tbody th.connection-name").len() == 1).await;
    assert_eq!(
        shadow_text(&el, "button.button-primary"),
        ["Add a Data Source"]
    );
    drop(widget);
    el.remove();
}
