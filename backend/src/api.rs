//! The `/api` router and its OpenAPI 3.1 description (`GET /api/openapi.json`, SPEC §6.4), made
//! together: every route is registered through `utoipa_axum::routes!` from a handler annotated with
//! `#[utoipa::path]`, so a route cannot be served undescribed nor described unserved. The bodies'
//! schemas are the `shared` types' own (`ToSchema`, derived under its `openapi` feature).

use std::sync::Arc;

use axum::Router;
use shared::ApiError;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::routes::{
    auth as auth_routes, connections, hosts as host_routes, meta, oauth, sync as sync_routes,
    users as user_routes, warehouse,
};
use crate::session::SESSION_COOKIE;
use crate::state::AppState;

/// Where the API is mounted.
pub const API_PATH: &str = "/api";

/// The security schemes' names, as operations list them.
pub const SESSION: &str = "session";
/// A host product's key (`hk_…`), only for opening connect sessions.
pub const HOST_KEY: &str = "host_key";
/// A widget's connect session token (`cs_…`).
pub const CONNECT_SESSION: &str = "connect_session";

/// The document's fixed parts; the paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stripe Connections API",
        description = "Connect Stripe accounts as data sources and read what is synced from them. \
            Every answer that is not 2xx carries the `ApiError` body: a stable `error` code, an \
            English `message`, and a `reason` where one code covers several cases. A request that \
            changes something (POST, PUT, PATCH, DELETE) without a bearer credential, signing in \
            included, must carry `Origin` equal to this server's public origin (`PUBLIC_URL`), or \
            else `Sec-Fetch-Site: same-origin`; otherwise it is refused (403 `forbidden`, reason \
            `cross_site`). The session scheme's scope `admin` marks what only an Admin may do.",
    ),
    modifiers(&SecuritySchemes),
    components(schemas(ApiError)),
    tags(
        (name = "meta", description = "The server and this document."),
        (name = "auth", description = "Signing in and out; the signed-in user."),
        (name = "users", description = "Admin > Users (Admins)."),
        (name = "host keys", description = "Host products that embed the widget, and their connect sessions."),
        (name = "connections", description = "The Data Sources: connecting Stripe accounts, testing, re-authenticating, deleting."),
        (name = "sync", description = "The synced Stripe data: each table's state and rows."),
        (name = "warehouse", description = "The Data Warehouse Manager: the typed relations' schema and columns."),
    )
)]
struct ApiDoc;

/// The three ways to authenticate.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The session cookie `POST /api/auth/sign-in` sets (HttpOnly, SameSite=Lax). A \
                 request that changes something must also carry `Origin` equal to this server's \
                 public origin (`PUBLIC_URL`), else it is refused with `forbidden`/`cross_site`.",
            ))),
        );
        components.add_security_scheme(
            HOST_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A host product's key (`hk_…`, made in Admin > Connections > Host \
                         products), sent by the host's backend only.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            CONNECT_SESSION,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A connect session token (`cs_…`, from `POST /api/connect-sessions`), sent \
                         by the widget from an origin its host key allows; valid 30 minutes, for \
                         one organization's connections.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The `/api` routes with their description: the router (paths relative to [`API_PATH`]) and the
/// document (paths under it), which `GET /api/openapi.json` serves.
pub fn router() -> (Router<AppState>, Arc<Document>) {
    let (router, paths) = OpenApiRouter::new()
        .routes(routes!(meta::health))
        .routes(routes!(meta::meta))
        .routes(routes!(meta::openapi_json))
        .routes(routes!(auth_routes::sign_in))
        .routes(routes!(auth_routes::sign_out))
        .routes(routes!(auth_routes::me))
        .routes(routes!(auth_routes::set_locale))
        .routes(routes!(user_routes::list_users, user_routes::create_user))
        .routes(routes!(user_routes::update_user))
        .routes(routes!(
            host_routes::list_host_keys,
            host_routes::create_host_key
        ))
        .routes(routes!(host_routes::revoke_host_key))
        .routes(routes!(host_routes::open_connect_session))
        .routes(routes!(connections::list_connections))
        .routes(routes!(oauth::start_stripe_authorize))
        .routes(routes!(connections::connect_with_key))
        .routes(routes!(oauth::take_callback_notice))
        .routes(routes!(
            connections::get_connection,
            connections::delete_connection
        ))
        .routes(routes!(connections::test_connection))
        .routes(routes!(connections::replace_key))
        .routes(routes!(sync_routes::sync_status, sync_routes::force_sync))
        .routes(routes!(sync_routes::table_rows))
        .routes(routes!(warehouse::get_warehouse, warehouse::put_warehouse))
        .routes(routes!(warehouse::warehouse_rows))
        .routes(routes!(oauth::start_reauthorize))
        .split_for_parts();
    let document = ApiDoc::openapi().nest(API_PATH, paths);
    (router, Arc::new(document))
}
