//! Every HTTP call of the front end, through `gloo-net`, with the `shared` types as JSON (serde).
//! Non-2xx answers become a typed error that carries the server's error body when it sent one.

use std::cell::RefCell;
use std::marker::PhantomData;

use gloo_net::http::{Method, Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::{
    ApiError, AuthorizeRequest, AuthorizeResponse, CallbackNotice, Connection, ConnectionDetail,
    CreateUserRequest, CreateUserResponse, CreatedHostKey, DeleteOutcome, HostKey, LocaleChoice,
    NewHostKey, RestrictedKeyRequest, ServerInfo, SignInRequest, SyncStatus, UpdateUserRequest,
    User, Warehouse, WarehouseChange, WarehouseRows,
};

use crate::strings;

/// The 401 hook: gets the server's error body when it sent one.
type SignedOut = Box<dyn Fn(Option<ApiError>)>;

thread_local! {
    static ON_SIGNED_OUT: RefCell<Option<SignedOut>> = const { RefCell::new(None) };
    static CONTEXT: RefCell<ApiContext> = const { RefCell::new(ApiContext { base: String::new(), token: None }) };
}

/// Where the API is and how to authenticate: set once at start. The SPA keeps the default (same
/// origin, the session cookie); the widget sets its `base-url` and its connect session's token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiContext {
    /// Prefix of every API path, e.g. `https://connections.example` (no trailing `/`); `""` for
    /// the page's own origin.
    pub base: String,
    /// Sent as `Authorization: Bearer …` when present.
    pub token: Option<String>,
}

/// Sets the API context for every later call.
pub fn set_context(base: &str, token: Option<String>) {
    let base = base.trim_end_matches('/').to_owned();
    CONTEXT.with(|c| *c.borrow_mut() = ApiContext { base, token });
}

/// The API context in use.
pub fn context() -> ApiContext {
    CONTEXT.with(|c| c.borrow().clone())
}

/// What to do when the server answers 401 (the app sends the user to sign in; the widget reports
/// the error's code, e.g. `invalid_session` or `session_expired`). Gets the server's error body
/// when it sent one.
pub fn on_signed_out(f: impl Fn(Option<ApiError>) + 'static) {
    ON_SIGNED_OUT.with(|cell| *cell.borrow_mut() = Some(Box::new(f)));
}

/// Why a call failed, in words the UI can show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFailure {
    /// The server could not be reached.
    Network,
    /// The server answered with its error body.
    Server(ApiError),
    /// The server answered something unexpected.
    Unexpected(u16),
}

impl ApiFailure {
    /// The sentence to show.
    pub fn message(&self) -> String {
        match self {
            Self::Network => strings::network_error().into(),
            // Worded here from its code and reason (the server's sentence is English only).
            Self::Server(e) => strings::refusal(e),
            Self::Unexpected(_) => strings::unexpected_error().into(),
        }
    }
}

/// A request to `path` on the API, authenticated as the context says.
fn builder(method: Method, path: &str) -> RequestBuilder {
    let ApiContext { base, token } = context();
    let request = RequestBuilder::new(&format!("{base}{path}"))
        .method(method)
        .header("Accept", "application/json");
    match token {
        Some(token) => request.header("Authorization", &format!("Bearer {token}")),
        None => request,
    }
}

/// Sends a request; the status and body text. Not generic, so every call shares this code (the
/// wasm size budget).
async fn call(request: Request) -> Result<(u16, String), ApiFailure> {
    let response: Response = request.send().await.map_err(|_| ApiFailure::Network)?;
    let status = response.status();
    let text = response.text().await.map_err(|_| ApiFailure::Network)?;
    if status == 401 && !response.url().ends_with("/api/auth/sign-in") {
        ON_SIGNED_OUT.with(|cell| {
            if let Some(f) = cell.borrow().as_ref() {
                f(serde_json::from_str::<ApiError>(&text).ok());
            }
        });
    }
    Ok((status, text))
}

/// Reads an answer: the value on 2xx, else the server's error body.
fn decode<T: DeserializeOwned>((status, text): (u16, String)) -> Result<T, ApiFailure> {
    if (200..300).contains(&status) {
        // An answer without a body (204, 202) reads as `null`: `()`, or `None` for an `Option`.
        let text = if text.is_empty() { "null" } else { &text };
        return serde_json::from_str(text).map_err(|_| ApiFailure::Unexpected(status));
    }
    Err(serde_json::from_str(&text).map_or(ApiFailure::Unexpected(status), ApiFailure::Server))
}

/// A request not sent yet; a 2xx answer decodes to `T`. Sent by [`Req::send`] (or
/// [`crate::remote::run`], [`crate::remote::Remote`]) through one non-generic future, so no call
/// has its own copy of the async machinery (the wasm size budget).
pub struct Req<T> {
    request: Result<Request, ApiFailure>,
    answer: PhantomData<fn() -> T>,
}

/// A request without a body.
fn req<T>(method: Method, path: &str) -> Req<T> {
    Req::new(builder(method, path).build())
}

/// A request with `body` as JSON.
fn req_with<T>(method: Method, path: &str, body: &impl Serialize) -> Req<T> {
    Req::new(builder(method, path).json(body))
}

impl<T> Req<T> {
    /// A request that could not even be built fails as if the network had failed.
    fn new(request: Result<Request, gloo_net::Error>) -> Self {
        Self {
            request: request.map_err(|_| ApiFailure::Network),
            answer: PhantomData,
        }
    }
}

impl<T: DeserializeOwned + 'static> Req<T> {
    /// Sends the request in the background and hands the decoded answer to `done`.
    pub fn send(self, done: impl FnOnce(Result<T, ApiFailure>) + 'static) {
        send(
            self.request,
            Box::new(move |answer| done(answer.and_then(decode))),
        );
    }

    /// [`Self::send`], the answer's body first shown to `new`: `false` drops the answer unread
    /// (a poll that found nothing new).
    pub fn send_if(
        self,
        new: impl FnOnce(&str) -> bool + 'static,
        done: impl FnOnce(Result<T, ApiFailure>) + 'static,
    ) {
        send(
            self.request,
            Box::new(move |answer| {
                let body = answer.as_ref().map_or("", |(_, body)| body.as_str());
                if new(body) {
                    done(answer.and_then(decode));
                }
            }),
        );
    }
}

type Answer = Result<(u16, String), ApiFailure>;

fn send(request: Result<Request, ApiFailure>, done: Box<dyn FnOnce(Answer)>) {
    leptos::task::spawn_local(async move {
        done(match request {
            Ok(request) => call(request).await,
            Err(e) => Err(e),
        })
    });
}

/// `GET /api/connections`.
pub fn list_connections() -> Req<Vec<Connection>> {
    req(Method::GET, "/api/connections")
}

/// `GET /api/meta`.
pub fn server_info() -> Req<ServerInfo> {
    req(Method::GET, "/api/meta")
}

/// `POST /api/connections/stripe/authorize`: where to send the browser to connect Stripe.
pub fn start_stripe_authorize() -> Req<AuthorizeResponse> {
    req(Method::POST, "/api/connections/stripe/authorize")
}

/// `POST /api/connections/stripe/authorize` with `{"return_to": page}`: the full-page flow of an
/// embedding whose popup was blocked; the callback comes back to `page` (a page of the host).
pub fn start_stripe_authorize_returning(page: &str) -> Req<AuthorizeResponse> {
    let body = AuthorizeRequest {
        return_to: Some(page.to_owned()),
    };
    req_with(Method::POST, "/api/connections/stripe/authorize", &body)
}

/// `GET /api/auth/me`: the signed-in user (401 → `Err`).
pub fn me() -> Req<User> {
    req(Method::GET, "/api/auth/me")
}

/// `POST /api/auth/sign-in`.
pub fn sign_in(email: String, password: String) -> Req<User> {
    let body = SignInRequest { email, password };
    req_with(Method::POST, "/api/auth/sign-in", &body)
}

/// `PUT /api/auth/me/locale`: the language picked (`None`: the browser's).
pub fn set_locale(locale: Option<shared::Locale>) -> Req<User> {
    req_with(Method::PUT, "/api/auth/me/locale", &LocaleChoice { locale })
}

/// `POST /api/auth/sign-out`.
pub fn sign_out() -> Req<()> {
    req(Method::POST, "/api/auth/sign-out")
}

/// `GET /api/users`.
pub fn list_users() -> Req<Vec<User>> {
    req(Method::GET, "/api/users")
}

/// `POST /api/users`.
pub fn create_user(body: CreateUserRequest) -> Req<CreateUserResponse> {
    req_with(Method::POST, "/api/users", &body)
}

/// `PATCH /api/users/{id}`.
pub fn update_user(id: i64, body: UpdateUserRequest) -> Req<User> {
    req_with(Method::PATCH, &format!("/api/users/{id}"), &body)
}

/// `GET /api/host-keys`.
pub fn list_host_keys() -> Req<Vec<HostKey>> {
    req(Method::GET, "/api/host-keys")
}

/// `POST /api/host-keys`: the key is in this answer only.
pub fn create_host_key(body: NewHostKey) -> Req<CreatedHostKey> {
    req_with(Method::POST, "/api/host-keys", &body)
}

/// `DELETE /api/host-keys/{id}`.
pub fn revoke_host_key(id: i64) -> Req<()> {
    req(Method::DELETE, &format!("/api/host-keys/{id}"))
}

/// `GET /api/connections/{id}`: the row and its audit log.
pub fn get_connection(id: i64) -> Req<ConnectionDetail> {
    req(Method::GET, &format!("/api/connections/{id}"))
}

/// `POST /api/connections/{id}/test`: tests now; the updated row.
pub fn test_connection(id: i64) -> Req<Connection> {
    req(Method::POST, &format!("/api/connections/{id}/test"))
}

/// `POST /api/connections/{id}/reauthorize`: where to send the browser to re-authenticate.
pub fn reauthorize(id: i64) -> Req<AuthorizeResponse> {
    req(Method::POST, &format!("/api/connections/{id}/reauthorize"))
}

/// `POST /api/connections/stripe/key`, or `…/{id}/key` to give that connection a new key.
pub fn connect_with_key(key: String, name: String, connection: Option<i64>) -> Req<Connection> {
    let url = match connection {
        Some(id) => format!("/api/connections/{id}/key"),
        None => "/api/connections/stripe/key".to_owned(),
    };
    let name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
    req_with(Method::POST, &url, &RestrictedKeyRequest { key, name })
}

/// `DELETE /api/connections/{id}[?force=true]`: what the admin still has to do in Stripe, if
/// anything (`None` when Stripe revoked our access).
pub fn delete_connection(id: i64, force: bool) -> Req<Option<DeleteOutcome>> {
    let url = format!(
        "/api/connections/{id}{}",
        if force { "?force=true" } else { "" }
    );
    req(Method::DELETE, &url)
}

/// `GET /api/connections/callback-notice`: details of a refused re-authentication, once.
pub fn callback_notice() -> Req<Option<CallbackNotice>> {
    req(Method::GET, "/api/connections/callback-notice")
}

/// `GET /api/connections/{id}/sync`: each synced table's state.
pub fn sync_status(id: i64) -> Req<SyncStatus> {
    req(Method::GET, &format!("/api/connections/{id}/sync"))
}

/// `POST /api/connections/{id}/sync`: **Force an update** (202).
pub fn force_sync(id: i64) -> Req<()> {
    req(Method::POST, &format!("/api/connections/{id}/sync"))
}

/// Where a synced table downloads as CSV (`GET /api/connections/{id}/tables/{table}.csv`).
pub fn table_csv_url(id: i64, table: &str) -> String {
    let base = CONTEXT.with(|c| c.borrow().base.clone());
    format!("{base}/api/connections/{id}/tables/{table}.csv")
}

/// `GET /api/connections/{id}/warehouse/{table}?limit=N`: the table's first rows as the warehouse
/// holds them (its tracked columns, each cell as text or null).
pub fn warehouse_rows(id: i64, table: &str, limit: u32) -> Req<WarehouseRows> {
    let url = format!("/api/connections/{id}/warehouse/{table}?limit={limit}");
    req(Method::GET, &url)
}

/// `GET /api/connections/{id}/warehouse`: the schema and each table's columns.
pub fn warehouse(id: i64) -> Req<Warehouse> {
    req(Method::GET, &format!("/api/connections/{id}/warehouse"))
}

/// `PUT /api/connections/{id}/warehouse`: a new schema name and tracked flags; the warehouse as
/// it is now.
pub fn put_warehouse(id: i64, change: WarehouseChange) -> Req<Warehouse> {
    req_with(
        Method::PUT,
        &format!("/api/connections/{id}/warehouse"),
        &change,
    )
}
