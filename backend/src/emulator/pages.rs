//! The emulator's HTML pages and their forms: the home page (demo accounts, "Revoke access",
//! "Create a restricted key"), the Connect authorize page, the Stripe Apps install page, and the
//! sign-in form both flows share (same labels, so browser tests share their steps).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect};

use super::api::RESTRICTED_KEY_PERMISSIONS;
use super::apps::APP_PERMISSIONS;
use super::frame::{error_page, page, Italian, ENGLISH};
use super::wire::{form_body, html_escape, Refusal};
use super::{Emulator, Reply};

/// Which flow a sign-in or deny form belongs to (each has its own path).
#[derive(Debug, Clone, Copy)]
pub(super) enum Page {
    /// Classic Connect: `/oauth/sign-in`, `/oauth/deny`.
    Connect,
    /// Stripe Apps: `/oauth/v2/sign-in`, `/oauth/v2/deny`.
    Apps,
}

impl Emulator {
    fn check_page(&self, page: Page, query: &str) -> Result<(), Refusal> {
        match page {
            Page::Connect => self.check_authorize(query).map(|_| ()),
            Page::Apps => self.check_install(query).map(|_| ()),
        }
    }
}

/// A restricted-key permission as the Dashboard names it.
fn permission_label(permission: &str) -> &'static str {
    match permission {
        "rak_customer_read" => "Customers: read",
        "rak_charge_read" => "Charges: read",
        "rak_coupon_read" => "Coupons: read",
        "rak_invoice_read" => "Invoices: read",
        "rak_plan_read" => "Products and plans: read",
        "rak_subscription_read" => "Subscriptions: read",
        "rak_event_read" => "Events: read",
        "rak_account_read" => "Account: read",
        _ => "Unknown permission",
    }
}

/// `GET /`: the demo accounts, with "Revoke access" and "Create a restricted key" for each.
pub(super) async fn index_page(State(emu): State<Emulator>) -> Html<String> {
    let accounts: String = emu
        .config
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let checkboxes: String = RESTRICTED_KEY_PERMISSIONS
                .iter()
                .map(|p| {
                    format!(
                        "<div class=\"perm\"><input type=\"checkbox\" id=\"rk-{i}-{p}\" name=\"permission\" value=\"{p}\" checked>\
                         <label for=\"rk-{i}-{p}\">{} (<code>{p}</code>)</label></div>",
                        permission_label(p)
                    )
                })
                .collect();
            format!(
                "<li>{name} — <code>{}</code> / <code>{}</code> \
                 <form method=\"post\" action=\"revoke\" class=\"inline\">\
                 <input type=\"hidden\" name=\"account\" value=\"{id}\">\
                 <button type=\"submit\" class=\"secondary\">Revoke access for {name}</button></form>\
                 {changes}\
                 <form method=\"post\" action=\"restricted-keys\"><fieldset>\
                 <legend>Create a restricted key for {name}</legend>\
                 <input type=\"hidden\" name=\"account\" value=\"{id}\">{checkboxes}\
                 <p><button type=\"submit\" class=\"secondary\">Create a restricted key for {name}</button></p>\
                 </fieldset></form></li>",
                html_escape(&a.email),
                html_escape(&a.password),
                id = html_escape(&a.id),
                name = html_escape(&a.display_name),
                changes = super::demo_changes::form(i, a),
            )
        })
        .collect();
    page(
        ENGLISH,
        "Local Stripe emulator",
        &format!(
            "<h1>Local Stripe emulator</h1><p>Demo accounts you can sign in with. \
                  <strong>Revoke access</strong> does what a user does in Stripe's dashboard: the \
                  application's tokens stop working and Stripe sends it a signed \
                  <code>account.application.deauthorized</code> webhook. \
                  <strong>Make a change</strong> changes the account's data as its owner would, \
                  and Stripe sends the application the change's event as a signed webhook. \
                  <strong>Create a restricted key</strong> makes an <code>rk_test_…</code> key \
                  with the permissions you tick, as the Dashboard does.</p><ul>{accounts}</ul>"
        ),
    )
}

/// `GET /oauth/authorize`: the Connect access-request page.
pub(super) async fn connect_authorize_page(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Reply {
    let query = query.unwrap_or_default();
    if let Err(refusal) = emu.check_authorize(&query) {
        return refusal.into_response();
    }
    let lang = Italian::of(&headers);
    let title = lang.say(
        "Connect your Stripe account",
        "Collega il tuo account Stripe",
    );
    page(
        lang,
        title,
        &format!(
            "<h1>{title}</h1><p>{}</p>{}",
            lang.say(
                "An application is requesting <strong>read-only</strong> access to your Stripe data.",
                "Un'applicazione chiede l'accesso in <strong>sola lettura</strong> ai tuoi dati Stripe."
            ),
            continue_forms(lang, &query, "")
        ),
    )
    .into_response()
}

/// `GET /oauth/v2/authorize`: the Stripe Apps install page.
pub(super) async fn apps_authorize_page(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Reply {
    install_page(&emu, Italian::of(&headers), &query.unwrap_or_default(), "")
}

/// `GET /oauth/v2/{link}/authorize`: the External-test install link.
pub(super) async fn apps_link_authorize_page(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(link): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    if let Err(refusal) = emu.check_install_link(&link) {
        return refusal.into_response();
    }
    // The forms post to `/oauth/v2/…`, one level up.
    install_page(
        &emu,
        Italian::of(&headers),
        &query.unwrap_or_default(),
        "../",
    )
}

fn install_page(emu: &Emulator, lang: Italian, query: &str, base: &str) -> Reply {
    if let Err(refusal) = emu.check_install(query) {
        return refusal.into_response();
    }
    let permissions: String = APP_PERMISSIONS
        .iter()
        .map(|(name, label)| format!("<li>{label} (<code>{name}</code>)</li>"))
        .collect();
    page(
        lang,
        lang.say("Install the app", "Installa l'app"),
        &format!(
            "<h1>{}</h1><p>{}</p><ul>{permissions}</ul>{}",
            lang.say(
                "Install the app on your Stripe account",
                "Installa l'app sul tuo account Stripe"
            ),
            lang.say(
                "An application asks to be installed on your Stripe account. It requests these \
                 <strong>read-only</strong> permissions:",
                "Un'applicazione chiede di essere installata sul tuo account Stripe. Richiede \
                 questi permessi in <strong>sola lettura</strong>:"
            ),
            continue_forms(lang, query, base)
        ),
    )
    .into_response()
}

/// "Sign in with Stripe to Continue" (to `{base}sign-in`) and "Deny access" (to `{base}deny`).
fn continue_forms(lang: Italian, query: &str, base: &str) -> String {
    format!(
        "<form method=\"get\" action=\"{base}sign-in\">{hidden}\
         <button type=\"submit\">{go}</button></form>\
         <form method=\"post\" action=\"{base}deny?{q}\"><p><button class=\"secondary\" type=\"submit\">{deny}</button></p></form>",
        hidden = hidden_fields(query),
        q = html_escape(query),
        go = lang.say("Sign in with Stripe to Continue", "Accedi con Stripe per continuare"),
        deny = lang.say("Deny access", "Nega l'accesso"),
    )
}

fn hidden_fields(query: &str) -> String {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                html_escape(&k),
                html_escape(&v)
            )
        })
        .collect()
}

fn sign_in_form(lang: Italian, query: &str, refused: bool) -> Html<String> {
    let q = html_escape(query);
    let error = if refused {
        format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            lang.say("Invalid email or password.", "Email o password non validi.")
        )
    } else {
        String::new()
    };
    let sign_in = lang.say("Sign in to your account", "Accedi al tuo account");
    page(
        lang,
        lang.say("Sign in", "Accedi"),
        &format!(
            "<h1>{sign_in}</h1>{error}\
             <form method=\"post\" action=\"sign-in?{q}\">\
             <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <p><button type=\"submit\">{sign_in}</button></p></form>\
             <form method=\"post\" action=\"deny?{q}\"><button class=\"secondary\" type=\"submit\">{deny}</button></form>",
            deny = lang.say("Deny access", "Nega l'accesso"),
        ),
    )
}

/// `GET /oauth/sign-in`, `GET /oauth/v2/sign-in`.
pub(super) async fn sign_in_page(
    flow: Page,
    State(emu): State<Emulator>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Reply {
    let query = query.unwrap_or_default();
    match emu.check_page(flow, &query) {
        Ok(()) => sign_in_form(Italian::of(&headers), &query, false).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// `POST /oauth/sign-in`, `POST /oauth/v2/sign-in`: approve, and redirect back.
pub(super) async fn sign_in(
    flow: Page,
    State(emu): State<Emulator>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Reply {
    let query = query.unwrap_or_default();
    let form = form_body(&body).unwrap_or_default();
    let email = form.get("email").map(String::as_str).unwrap_or_default();
    let password = form.get("password").map(String::as_str).unwrap_or_default();
    let approved = match flow {
        Page::Connect => emu.approve(&query, email, password),
        Page::Apps => emu.approve_install(&query, email, password),
    };
    match approved {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(Refusal::BadCredentials) => (
            StatusCode::UNAUTHORIZED,
            sign_in_form(Italian::of(&headers), &query, true),
        )
            .into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// `POST /oauth/deny`, `POST /oauth/v2/deny`.
pub(super) async fn deny(
    flow: Page,
    State(emu): State<Emulator>,
    RawQuery(query): RawQuery,
) -> Reply {
    let query = query.unwrap_or_default();
    let denied = match flow {
        Page::Connect => emu.deny(&query),
        Page::Apps => emu.deny_install(&query),
    };
    match denied {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

fn display_name(emu: &Emulator, account: &str) -> String {
    emu.demo_account(account)
        .map(|a| a.display_name.clone())
        .unwrap_or_else(|| account.to_owned())
}

/// `POST /revoke` (`account=acct_…`).
pub(super) async fn revoke(State(emu): State<Emulator>, body: Bytes) -> Reply {
    let form = form_body(&body).unwrap_or_default();
    let account = form.get("account").cloned().unwrap_or_default();
    let name = display_name(&emu, &account);
    match emu.revoke(&account).await {
        Ok(()) => page(
            ENGLISH,
            "Access revoked",
            &format!(
                "<h1>Access revoked</h1><p role=\"status\">The application can no longer read {}. \
                 Stripe notified it with an <code>account.application.deauthorized</code> event.</p>\
                 <p><a href=\"./\">Back to the emulator</a></p>",
                html_escape(&name)
            ),
        )
        .into_response(),
        Err(e) => error_page("Revoke failed", &e),
    }
}

/// `POST /restricted-keys` (`account=acct_…`, `permission=rak_…` repeated): the new key, once.
pub(super) async fn create_restricted_key(State(emu): State<Emulator>, body: Bytes) -> Reply {
    let mut account: Option<String> = None;
    let mut permissions: Vec<String> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "account" if account.is_none() => account = Some(v.into_owned()),
            "permission" => permissions.push(v.into_owned()),
            other => {
                return error_page(
                    "Restricted key not created",
                    &format!("Unexpected or repeated form field: {other}"),
                )
            }
        }
    }
    let account = account.unwrap_or_default();
    let permissions: Vec<&str> = permissions.iter().map(String::as_str).collect();
    match emu.create_restricted_key(&account, &permissions) {
        Ok(key) => {
            let granted = if permissions.is_empty() {
                "none".to_owned()
            } else {
                permissions
                    .iter()
                    .map(|p| format!("<code>{}</code>", html_escape(p)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let html = page(
                ENGLISH,
                "Restricted key created",
                &format!(
                    "<h1>Restricted key created</h1><p>A restricted key for {name} with the permissions {granted}:</p>\
                     <code id=\"restricted-key\">{key}</code>\
                     <p role=\"status\">This key is shown once: copy it now. The emulator will not show it again.</p>\
                     <p><a href=\"./\">Back to the emulator</a></p>",
                    name = html_escape(&display_name(&emu, &account)),
                    key = html_escape(&key),
                ),
            );
            ([(header::CACHE_CONTROL, "no-store")], html).into_response()
        }
        Err(e) => error_page("Restricted key not created", &e),
    }
}
