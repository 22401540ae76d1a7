//! The API helper (`frontend::api`) against a stubbed `fetch` in headless Chromium: request bodies
//! are the `shared` types as serde writes them, 2xx answers decode into them, and every other
//! answer becomes a typed failure carrying the server's error body when it sent one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::rc::Rc;

use frontend::api::{self, ApiFailure, Req};
use serde::de::DeserializeOwned;
use shared::{
    ApiError, ColumnType, DeleteOutcome, ErrorCode, ErrorReason, Locale, SignInRequest, User,
    WarehouseColumn, WarehouseRows,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

/// Replaces `window.fetch`: every call answers `status` with `body` (none for 204), or fails like
/// an unreachable server when `status` is 0. Each call is recorded in `window.__calls` as
/// `[method, url, content-type, body]` (`null` when there is none).
fn stub_fetch(status: u16, body: &str) {
    let make = js_sys::Function::new_with_args(
        "status, body",
        "window.__calls = []; \
         window.fetch = async function (input, init) { \
           var req = new Request(input, init); \
           var sent = await req.clone().text(); \
           window.__calls.push([req.method, req.url, req.headers.get('content-type'), sent || null]); \
           if (status === 0) { throw new TypeError('Failed to fetch'); } \
           var res = new Response(status === 204 ? null : body, \
             { status: status, headers: { 'content-type': 'application/json' } }); \
           Object.defineProperty(res, 'url', { value: req.url }); \
           return res; \
         };",
    );
    make.call2(&JsValue::NULL, &status.into(), &body.into())
        .unwrap();
}

/// The one recorded call: method, url, content type, body.
fn only_call() -> (String, String, Option<String>, Option<String>) {
    let calls: js_sys::Array = js_sys::Reflect::get(&window(), &"__calls".into())
        .unwrap()
        .into();
    assert_eq!(calls.length(), 1);
    let call: js_sys::Array = calls.get(0).into();
    (
        call.get(0).as_string().unwrap(),
        call.get(1).as_string().unwrap(),
        call.get(2).as_string(),
        call.get(3).as_string(),
    )
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Sends `req` and waits (up to ~2 s) for its answer.
async fn answer<T: DeserializeOwned + 'static>(req: Req<T>) -> Result<T, ApiFailure> {
    // Requests run on Leptos' executor, which mounting starts.
    let el = window().document().unwrap().create_element("div").unwrap();
    drop(leptos::mount::mount_to(el.unchecked_into(), || ()));
    let slot = Rc::new(RefCell::new(None));
    let sink = slot.clone();
    req.send(move |answer| *sink.borrow_mut() = Some(answer));
    for _ in 0..100 {
        if let Some(answer) = slot.borrow_mut().take() {
            return answer;
        }
        sleep(20).await;
    }
    panic!("no answer");
}

fn ada() -> User {
    User {
        id: 3,
        email: "ada@example.com".into(),
        display_name: "Ada".into(),
        role: shared::Role::Admin,
        disabled: false,
        created_at: 1,
        last_sign_in_at: None,
        locale: Some(Locale::It),
    }
}

#[wasm_bindgen_test]
async fn a_body_is_the_shared_type_as_json_and_the_answer_decodes_into_one() {
    stub_fetch(200, &serde_json::to_string(&ada()).unwrap());
    let user = answer(api::sign_in(
        "ada@example.com".into(),
        "p\"w\\ \u{1}é".into(),
    ))
    .await;
    assert_eq!(user, Ok(ada()));
    let (method, url, content_type, body) = only_call();
    assert_eq!(method, "POST");
    assert!(url.ends_with("/api/auth/sign-in"), "{url}");
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let sent: SignInRequest = serde_json::from_str(&body.unwrap()).unwrap();
    assert_eq!(sent.password, "p\"w\\ \u{1}é");

    // A blank connection name is left out.
    stub_fetch(500, "");
    let _ = answer(api::connect_with_key(
        "rk_test_1".into(),
        "  ".into(),
        Some(4),
    ))
    .await;
    let (_, url, _, body) = only_call();
    assert!(url.ends_with("/api/connections/4/key"), "{url}");
    assert_eq!(body.as_deref(), Some(r#"{"key":"rk_test_1"}"#));
}

#[wasm_bindgen_test]
async fn an_answer_without_a_body_is_null() {
    stub_fetch(204, "");
    assert_eq!(answer(api::sign_out()).await, Ok(()));
    let (method, _, content_type, body) = only_call();
    assert_eq!((method.as_str(), content_type, body), ("POST", None, None));
    stub_fetch(204, "");
    assert_eq!(answer(api::delete_connection(1, false)).await, Ok(None));
    let outcome = DeleteOutcome {
        removal: shared::Removal::CredentialDropped,
        auth_kind: shared::AuthKind::Apps,
    };
    stub_fetch(200, &serde_json::to_string(&outcome).unwrap());
    assert_eq!(
        answer(api::delete_connection(1, true)).await,
        Ok(Some(outcome))
    );
    assert!(only_call().1.ends_with("/api/connections/1?force=true"));
}

#[wasm_bindgen_test]
async fn warehouse_rows_read_as_columns_and_text_cells_with_nulls() {
    stub_fetch(
        200,
        r#"{"columns":[{"name":"id","type":"text","tracked":true},
                       {"name":"created","type":"timestamp","tracked":true},
                       {"name":"deleted","type":"boolean","tracked":true}],
            "rows":[["cus_1","2024-01-31T12:00:00Z","false"],["cus_2",null,"true"]],
            "has_more":true}"#,
    );
    let page = answer(api::warehouse_rows(2, "customers", 5))
        .await
        .unwrap();
    let column = |name: &str, kind| WarehouseColumn {
        name: name.into(),
        kind,
        tracked: true,
    };
    let cells = |cells: [Option<&str>; 3]| cells.map(|c| c.map(str::to_owned)).to_vec();
    assert_eq!(
        page,
        WarehouseRows {
            columns: vec![
                column("id", ColumnType::Text),
                column("created", ColumnType::Timestamp),
                column("deleted", ColumnType::Boolean),
            ],
            rows: vec![
                cells([Some("cus_1"), Some("2024-01-31T12:00:00Z"), Some("false")]),
                cells([Some("cus_2"), None, Some("true")]),
            ],
            has_more: true,
        }
    );
    assert!(only_call()
        .1
        .ends_with("/api/connections/2/warehouse/customers?limit=5"));
}

#[wasm_bindgen_test]
async fn a_refusal_carries_the_error_body_and_anything_else_is_unexpected() {
    let refusal = ApiError {
        error: ErrorCode::RateLimited,
        message: "Too many attempts.".into(),
        missing: Vec::new(),
        reason: Some(ErrorReason::BadCredentials),
        retry_after: Some(30),
    };
    stub_fetch(429, &serde_json::to_string(&refusal).unwrap());
    assert_eq!(
        answer(api::list_users()).await,
        Err(ApiFailure::Server(refusal))
    );
    // A reason this version does not know reads as `Other`.
    stub_fetch(
        409,
        r#"{"error":"conflict","message":"x","reason":"from_the_future"}"#,
    );
    let Err(ApiFailure::Server(e)) = answer(api::list_users()).await else {
        panic!("not a refusal");
    };
    assert_eq!(
        (e.error, e.reason),
        (ErrorCode::Conflict, Some(ErrorReason::Other))
    );
    stub_fetch(502, "<html>Bad gateway</html>");
    assert_eq!(
        answer(api::list_users()).await,
        Err(ApiFailure::Unexpected(502))
    );
    stub_fetch(200, r#"[{"id":"7"}]"#);
    assert_eq!(
        answer(api::list_users()).await,
        Err(ApiFailure::Unexpected(200))
    );
    stub_fetch(0, "");
    assert_eq!(answer(api::list_users()).await, Err(ApiFailure::Network));
}

#[wasm_bindgen_test]
async fn a_401_tells_the_signed_out_hook_its_error_body() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    api::on_signed_out(move |e| sink.borrow_mut().push(e.map(|e| e.error)));
    stub_fetch(401, r#"{"error":"session_expired","message":"x"}"#);
    let failure = answer(api::list_connections()).await;
    assert!(matches!(failure, Err(ApiFailure::Server(_))), "{failure:?}");
    stub_fetch(401, "");
    assert_eq!(
        answer(api::list_connections()).await,
        Err(ApiFailure::Unexpected(401))
    );
    // A refused sign-in is not a session ending.
    stub_fetch(401, r#"{"error":"unauthorized","message":"x"}"#);
    let _ = answer(api::sign_in("a@b.c".into(), "x".into())).await;
    assert_eq!(*seen.borrow(), [Some(ErrorCode::SessionExpired), None]);
}
