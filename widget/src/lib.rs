//! `<stripe-connections>`: the front end's Connections pages (Data Sources table, the integration
//! picker, the Stripe authorization page) mounted in the shadow root of a custom element on a host
//! page. `widget.js` (a tiny hand-written loader) defines the element and calls [`mount`] when it is
//! connected or its attributes change; dropping the returned [`Widget`] (`free()`) unmounts it.
//!
//! The API is reached at the element's `base-url` with its `session-token` as a bearer credential;
//! **Connect with Stripe** opens Stripe in a popup on the click itself, and the popup's result comes
//! back by `postMessage`, accepted only from `base-url`'s origin and from that popup. The element
//! reports what happens with `CustomEvent`s: `ready`, `connect`, `error`, `close`.

use std::cell::RefCell;
use std::rc::Rc;

use frontend::components::banner::{provide_banner, Banner, BannerRegion, Banners};
use frontend::embed::Embed;
use frontend::pages::add_source::AddSourcePage;
use frontend::pages::connections::ConnectionsPage;
use frontend::pages::stripe_authorize::StripeAuthorizePage;
use frontend::router::{provide_memory_nav, Nav};
use frontend::{api, strings};
use leptos::prelude::*;
use shared::{ApiError, CallbackError, Connection};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// The `source` of the popup's messages.
pub const MESSAGE_SOURCE: &str = "stripe-connections";
/// How often the popup is checked for having been closed, in milliseconds.
const POLL_MS: i32 = 500;

/// The detail of an event: a plain object with these fields.
pub fn detail(fields: &[(&str, JsValue)]) -> js_sys::Object {
    let object = js_sys::Object::new();
    for (name, value) in fields {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object
}

/// Dispatches `CustomEvent(name, {detail})` on the element (not bubbling: listen on the element).
pub fn emit(host: &web_sys::HtmlElement, name: &str, detail: &js_sys::Object) {
    let init = web_sys::CustomEventInit::new();
    init.set_detail(detail);
    if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = host.dispatch_event(&event);
    }
}

/// `error` with `{code, message}`.
pub fn emit_error(host: &web_sys::HtmlElement, code: &str, message: &str) {
    let d = detail(&[("code", code.into()), ("message", message.into())]);
    emit(host, "error", &d);
}

/// `connect` with `{connection_id, account_name}`.
pub fn emit_connect(host: &web_sys::HtmlElement, connection_id: f64, account_name: &str) {
    let d = detail(&[
        ("connection_id", connection_id.into()),
        ("account_name", account_name.into()),
    ]);
    emit(host, "connect", &d);
}

/// The `code` of a failed call: the server's error code, else `network` / `unexpected`.
pub fn failure_code(failure: &api::ApiFailure) -> String {
    match failure {
        api::ApiFailure::Network => "network".into(),
        api::ApiFailure::Unexpected(_) => "unexpected".into(),
        api::ApiFailure::Server(e) => code_of(e),
    }
}

fn code_of(e: &ApiError) -> String {
    e.error.as_str().to_owned()
}

fn get(value: &JsValue, field: &str) -> JsValue {
    js_sys::Reflect::get(value, &JsValue::from_str(field)).unwrap_or(JsValue::UNDEFINED)
}

/// A popup flow under way: the window, the `message` listener and the `closed` poll.
struct Flow {
    popup: web_sys::Window,
    listener: Closure<dyn Fn(web_sys::MessageEvent)>,
    _poll: Closure<dyn Fn()>,
    interval: i32,
}

/// One mounted element's state.
struct Inner {
    host: web_sys::HtmlElement,
    /// `base-url`'s origin: the only origin the popup's messages are accepted from.
    origin: String,
    nav: Nav,
    banners: Banners,
    busy: RwSignal<bool>,
    /// A popup that was blocked or closed early: the sentence, shown with the full-page fallback.
    notice: RwSignal<Option<&'static str>>,
    flow: RefCell<Option<Flow>>,
    /// The popup flow's proof (from the start's answer): handed to our popup when it asks, so a
    /// forwarded link, opened anywhere else, goes nowhere.
    proof: RefCell<Option<String>>,
}

type Ctx = Rc<Inner>;

thread_local! {
    /// The mounted widget's state (one per page, like the API context).
    static CURRENT: RefCell<Option<Ctx>> = const { RefCell::new(None) };
}

fn with_current(f: impl FnOnce(&Ctx)) {
    if let Some(ctx) = CURRENT.with(|c| c.borrow().clone()) {
        f(&ctx);
    }
}

/// Ends the popup flow, if any: no more listening nor polling.
fn finish(ctx: &Ctx) {
    let flow = ctx.flow.borrow_mut().take();
    if let Some(flow) = flow {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                "message",
                flow.listener.as_ref().unchecked_ref(),
            );
            window.clear_interval_with_handle(flow.interval);
        }
    }
    let _ = ctx.busy.try_set(false);
}

/// The popup could not do its work: say so (live region, with the fallback) and report it.
fn popup_failed(ctx: &Ctx, code: &str, sentence: &'static str) {
    finish(ctx);
    let _ = ctx.notice.try_set(Some(sentence));
    emit_error(&ctx.host, code, sentence);
}

/// **Connect with Stripe**: opens the popup now (on the click), then asks for the authorize URL.
fn start(ctx: &Ctx) {
    finish(ctx);
    ctx.notice.set(None);
    ctx.banners.0.set(None);
    let Some(window) = web_sys::window() else {
        return;
    };
    let popup = window
        .open_with_url_and_target_and_features("", MESSAGE_SOURCE, "popup,width=600,height=760")
        .ok()
        .flatten();
    let Some(popup) = popup else {
        popup_failed(ctx, "popup_blocked", strings::popup_blocked());
        return;
    };
    ctx.busy.set(true);
    let c = ctx.clone();
    let listener = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev| on_message(&c, &ev));
    let _ = window.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
    let c = ctx.clone();
    let poll = Closure::<dyn Fn()>::new(move || {
        let closed = c
            .flow
            .borrow()
            .as_ref()
            .is_some_and(|f| f.popup.closed().unwrap_or(true));
        if closed {
            popup_failed(&c, "popup_closed", strings::popup_closed());
        }
    });
    let interval = window
        .set_interval_with_callback_and_timeout_and_arguments_0(
            poll.as_ref().unchecked_ref(),
            POLL_MS,
        )
        .unwrap_or(0);
    *ctx.flow.borrow_mut() = Some(Flow {
        popup: popup.clone(),
        listener,
        _poll: poll,
        interval,
    });
    let c = ctx.clone();
    api::start_stripe_authorize().send(move |answer| match answer {
        Ok(r) => {
            *c.proof.borrow_mut() = r.flow_proof;
            if popup.closed() == Ok(false) {
                let _ = popup.location().set_href(&r.authorize_url);
            }
        }
        Err(e) => {
            let _ = popup.close();
            finish(&c);
            let message = e.message();
            let _ = c.banners.0.try_set(Some(Banner::error(message.clone())));
            emit_error(&c.host, &failure_code(&e), &message);
        }
    });
}

/// A message from the popup: only from `base-url`'s origin and from our popup window.
fn on_message(ctx: &Ctx, ev: &web_sys::MessageEvent) {
    if ev.origin() != ctx.origin {
        return;
    }
    let from_popup = ctx.flow.borrow().as_ref().is_some_and(|f| {
        ev.source()
            .is_some_and(|s| js_sys::Object::is(&s, f.popup.as_ref()))
    });
    let data = ev.data();
    if !from_popup || get(&data, "source").as_string().as_deref() != Some(MESSAGE_SOURCE) {
        return;
    }
    // Our popup's page asks for the flow's proof before it goes on to Stripe.
    if get(&data, "type").as_string().as_deref() == Some("proof-request") {
        let proof = ctx.proof.borrow().clone();
        let popup = ctx.flow.borrow().as_ref().map(|f| f.popup.clone());
        if let (Some(proof), Some(popup)) = (proof, popup) {
            let answer = detail(&[
                ("source", MESSAGE_SOURCE.into()),
                ("type", "proof".into()),
                ("proof", proof.into()),
            ]);
            let _ = popup.post_message(&answer, &ctx.origin);
        }
        return;
    }
    let result = get(&data, "result");
    match get(&result, "type").as_string().as_deref() {
        Some("connect") => {
            finish(ctx);
            let id = get(&result, "connection_id").as_f64().unwrap_or_default();
            let name = get(&result, "account_name").as_string().unwrap_or_default();
            emit_connect(&ctx.host, id, &name);
            // The list, afresh, with "Connection Successful!".
            ctx.nav.navigate(&shared::callback_redirect(Ok(id as i64)));
        }
        Some("error") => {
            finish(ctx);
            let code = get(&result, "code").as_string().unwrap_or_default();
            let sentence = strings::callback_error(CallbackError::parse(&code));
            let message = get(&result, "message").as_string();
            let _ = ctx.banners.0.try_set(Some(Banner::error(sentence)));
            emit_error(&ctx.host, &code, message.as_deref().unwrap_or(sentence));
        }
        _ => {}
    }
}

/// The full-page fallback when the popup cannot be used: the start names this page as `return_to`,
/// this window goes to Stripe and the callback brings it back here with
/// `?stripe_connections=connect&connection_id=…&account_name=…` (or `=error&code=…`), which the
/// loader (`widget.js`) reports as `connect` / `error` and removes from the address bar.
fn full_page(ctx: &Ctx) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let here = window.location().href().unwrap_or_default();
    let c = ctx.clone();
    api::start_stripe_authorize_returning(&here).send(move |answer| match answer {
        Ok(r) => {
            let _ = window.location().assign(&r.authorize_url);
        }
        Err(e) => {
            let message = e.message();
            let _ = c.banners.0.try_set(Some(Banner::error(message.clone())));
            emit_error(&c.host, &failure_code(&e), &message);
        }
    });
}

/// The pages, routed in memory (the host page's address is never touched). A connection's own
/// page (its Data section) stays in the app: the widget's size budget.
fn pages(nav: Nav) -> impl IntoView {
    move || {
        let path = nav.path();
        match path.trim_end_matches('/') {
            frontend::ADD_SOURCE_PATH => AddSourcePage().into_any(),
            frontend::STRIPE_AUTHORIZE_PATH => StripeAuthorizePage().into_any(),
            _ => ConnectionsPage().into_any(),
        }
    }
}

/// The widget's view, in its reactive owner: state, hooks, the pages.
fn shell(host: web_sys::HtmlElement, origin: String, closable: bool) -> (impl IntoView, Ctx) {
    let banners = provide_banner();
    let nav = provide_memory_nav(shared::CONNECTIONS_PAGE);
    let ctx: Ctx = Rc::new(Inner {
        host,
        origin,
        nav,
        banners,
        busy: RwSignal::new(false),
        notice: RwSignal::new(None),
        flow: RefCell::new(None),
        proof: RefCell::new(None),
    });
    let (for_connect, for_key) = (ctx.clone(), ctx.clone());
    let embed = Embed::provide(
        move || start(&for_connect),
        move |c: &Connection| emit_connect(&for_key.host, c.id as f64, &c.name),
    );
    // The popup's busy state shows on **Connect with Stripe**.
    let busy = ctx.busy;
    Effect::new(move |_| embed.busy.set(busy.get()));
    let host = ctx.host.clone();
    api::on_signed_out(move |e| {
        let (code, message) = match e {
            Some(e) => (code_of(&e), e.message),
            None => (
                "invalid_session".to_owned(),
                strings::unexpected_error().to_owned(),
            ),
        };
        emit_error(&host, &code, &message);
    });
    let notice = ctx.notice;
    CURRENT.with(|c| *c.borrow_mut() = Some(ctx.clone()));
    let host = ctx.host.clone();
    let view = view! {
        <div class="stripe-connections">
            {closable.then(|| view! {
                <p class="widget-close">
                    <button type="button" class="button button-small" on:click=move |_| emit(&host, "close", &detail(&[]))>
                        {strings::close()}
                    </button>
                </p>
            })}
            <BannerRegion/>
            <div class="widget-notice" role="status" aria-live="polite" aria-atomic="true">
                {move || notice.get().map(|sentence| {
                    view! {
                        <div class="banner banner-error">
                            <p>{sentence}" "
                                <button type="button" class="link-button" on:click=move |_| with_current(full_page)>
                                    {strings::continue_in_this_window()}
                                </button>
                            </p>
                        </div>
                    }
                })}
            </div>
            {move || busy.get().then(|| view! { <p class="note">{strings::stripe_window_open()}</p> })}
            {pages(nav)}
        </div>
    };
    (view, ctx)
}

/// A mounted `<stripe-connections>`; `free()` unmounts it and ends a popup flow under way.
#[wasm_bindgen]
pub struct Widget {
    ctx: Option<Ctx>,
    _view: Box<dyn std::any::Any>,
}

impl Drop for Widget {
    fn drop(&mut self) {
        if let Some(ctx) = self.ctx.take() {
            finish(&ctx);
            CURRENT.with(|c| {
                let mut c = c.borrow_mut();
                if c.as_ref().is_some_and(|current| Rc::ptr_eq(current, &ctx)) {
                    *c = None;
                }
            });
        }
    }
}

/// Mounts the widget in `host`'s open shadow root (attached on first use): the stylesheet
/// `{assets}widget.css`, then the pages, talking to `base` (whose origin, as `new URL(base).origin`
/// gives it, is `origin`) with `token`. Emits `ready`.
#[wasm_bindgen]
pub fn mount(
    host: web_sys::HtmlElement,
    base: String,
    origin: String,
    token: String,
    assets: String,
) -> Result<Widget, JsValue> {
    let root = match host.shadow_root() {
        Some(root) => root,
        None => host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))?,
    };
    root.set_inner_html("");
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let link = document.create_element("link")?;
    link.set_attribute("rel", "stylesheet")?;
    link.set_attribute("href", &format!("{assets}widget.css"))?;
    root.append_child(&link)?;
    let container: web_sys::HtmlElement = document.create_element("div")?.unchecked_into();
    // The element's `locale`, else the browser's languages; the host page's own `lang` is theirs.
    let locale = match host.get_attribute("locale") {
        Some(tag) => shared::Locale::negotiate([tag.as_str()]),
        None => strings::browser_locale(),
    };
    strings::set_locale(locale);
    container.set_attribute("lang", locale.as_str())?;
    root.append_child(&container)?;

    api::set_context(&base, Some(token).filter(|t| !t.is_empty()));
    let closable = host.has_attribute("closable");
    let slot = Rc::new(RefCell::new(None::<Ctx>));
    let for_view = slot.clone();
    let for_shell = host.clone();
    let handle = leptos::mount::mount_to(container, move || {
        let (view, ctx) = shell(for_shell, origin, closable);
        *for_view.borrow_mut() = Some(ctx);
        view
    });
    emit(&host, "ready", &detail(&[]));
    let ctx = slot.borrow_mut().take();
    Ok(Widget {
        ctx,
        _view: Box::new(handle),
    })
}

#[cfg(test)]
mod tests;
