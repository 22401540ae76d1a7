//! The OAuth round trip: starting it (`POST /api/connections/stripe/authorize`, `…/{id}/reauthorize`)
//! and Stripe's redirect back (`GET /oauth/stripe/callback`), which always ends on the Connections
//! page with a code for the banner.

use crate::ids::ConnectionId;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use shared::{
    callback_redirect, AuthorizeRequest, AuthorizeResponse, CallbackError, CallbackNotice,
};

use super::widget;
use crate::actor::Actor;
use crate::auth::AdminUser;
use crate::cookies;
use crate::error::{ApiBytes, ApiPath, AppError, Refused};
use crate::services::authorize::{self, CallbackBrowser, Completion, Failure};
use crate::services::widget_flows;
use crate::session::{self, SessionCookie};
use crate::state::AppState;

/// `POST /api/connections/stripe/authorize`: for an Admin, a single-use `state` bound to this
/// session and the URL of Stripe's authorize page; for a widget, the URL of our
/// `/widget/authorize` page for its popup (the flow is bound to the popup's browser there).
#[utoipa::path(
    post, path = "/connections/stripe/authorize", tag = "connections", security(("session" = ["admin"]), ("connect_session" = [])),
    request_body(content = Option<AuthorizeRequest>, description = "Empty, or (a widget) the host page a full-page flow returns to"),
    responses((status = 200, description = "Where to send the browser: Stripe's authorize page (an Admin) or the widget's popup page", body = AuthorizeResponse), Refused)
)]
pub async fn start_stripe_authorize(
    actor: Actor,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Json<AuthorizeResponse>, AppError> {
    let (authorize_url, flow_proof) = start(&state, &actor, &headers, &body, None).await?;
    Ok(Json(AuthorizeResponse {
        authorize_url,
        flow_proof,
    }))
}

/// `POST /api/connections/{id}/reauthorize`: the Stripe flow for *that* connection; on success the
/// same row gets the new credential.
#[utoipa::path(
    post, path = "/connections/{id}/reauthorize", tag = "connections", security(("session" = ["admin"]), ("connect_session" = [])), params(("id" = i64, Path, description = "The connection's id")),
    request_body(content = Option<AuthorizeRequest>, description = "Empty, or (a widget) the host page a full-page flow returns to"),
    responses((status = 200, description = "Where to send the browser to authorize this connection again", body = AuthorizeResponse), Refused)
)]
pub async fn start_reauthorize(
    actor: Actor,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<ConnectionId>,
    ApiBytes(body): ApiBytes,
) -> Result<Json<AuthorizeResponse>, AppError> {
    actor.may_use(&state, id).await?;
    let (authorize_url, flow_proof) = start(&state, &actor, &headers, &body, Some(id)).await?;
    Ok(Json(AuthorizeResponse {
        authorize_url,
        flow_proof,
    }))
}

async fn start(
    state: &AppState,
    actor: &Actor,
    headers: &HeaderMap,
    body: &[u8],
    connection_id: Option<ConnectionId>,
) -> Result<(String, Option<String>), AppError> {
    Ok(match actor {
        Actor::Admin(admin) => (
            authorize::start(state, &admin.session, connection_id).await?,
            None,
        ),
        Actor::Widget(session) => {
            // The host page the outcome goes back to (its key allows it: the extractor checked).
            let origin = headers
                .get(header::ORIGIN)
                .and_then(|v| v.to_str().ok())
                .filter(|o| session.origins.iter().any(|allowed| allowed == o))
                .ok_or_else(|| {
                    AppError::BadRequest("a widget starts a flow from its host page".into())
                })?;
            // The optional body of a widget's start: the host page a full-page flow comes back to.
            let start: AuthorizeRequest = if body.iter().all(u8::is_ascii_whitespace) {
                AuthorizeRequest::default()
            } else {
                serde_json::from_slice(body)
                    .map_err(|e| AppError::BadRequest(format!("invalid body: {e}")))?
            };
            let return_to = start
                .return_to
                .map(|to| widget::return_address(&to, &session.origins))
                .transpose()?;
            let flow = crate::store::WidgetFlow {
                organization_id: session.organization_id,
                origin: origin.to_owned(),
                connection_id,
                actor: actor.audit_actor().wire(),
                return_to,
                proof_hash: None,
            };
            widget_flows::start_widget(state, flow).await?
        }
    })
}

/// `GET /api/connections/callback-notice`: the details of the last refused re-authentication in this
/// session, once (`null` when there are none).
#[utoipa::path(
    get, path = "/connections/callback-notice", tag = "connections", security(("session" = ["admin"])),
    responses((status = 200, description = "The last refused re-authentication of this session, once; `null` when none", body = Option<CallbackNotice>), Refused)
)]
pub async fn take_callback_notice(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
) -> Result<Json<Option<CallbackNotice>>, AppError> {
    Ok(Json(
        session::take_callback_notice(&state.pool, &admin.session).await?,
    ))
}

/// `GET /oauth/stripe/callback`.
pub async fn stripe_callback(
    State(state): State<AppState>,
    SessionCookie(session): SessionCookie,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    // Finished in its own task: if the browser goes away mid-way, the exchange still completes
    // (or hands its grant back) instead of being dropped half-done.
    let notice_session = session.clone();
    let nonce = cookies::cookie(&headers, widget_flows::WIDGET_COOKIE);
    let task_state = state.clone();
    let completion = tokio::spawn(async move {
        let browser = CallbackBrowser {
            session: session.as_ref(),
            widget_nonce: nonce.as_deref(),
        };
        authorize::complete(&task_state, browser, query.as_deref().unwrap_or_default()).await
    })
    .await
    .unwrap_or_else(|_| Completion {
        outcome: Err(CallbackError::StorageFailed.into()),
        widget: None,
    });
    if let Some(target) = completion.widget {
        return widget::result_page(&state, &target, completion.outcome).await;
    }
    let location = match completion.outcome {
        Ok(id) => callback_redirect(Ok(id.into())),
        Err(Failure { error, notice }) => {
            if let (Some(notice), Some(session)) = (notice, notice_session) {
                if let Err(e) = session::keep_callback_notice(&state.pool, &session, &notice).await
                {
                    tracing::warn!(error = %e, "could not keep the callback notice");
                }
            }
            callback_redirect(Err(error))
        }
    };
    (
        [(header::CACHE_CONTROL, "no-store")],
        Redirect::to(&location),
    )
        .into_response()
}
