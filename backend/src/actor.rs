//! Who acts on connections: a signed-in Admin of the app (every organization), or a host's widget
//! with a connect session token (`Authorization: Bearer cs_…`: its organization only, from the
//! origins its host key allows). A connection outside the actor's organization does not exist for it.

use crate::ids::{ConnectionId, OrganizationId};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

pub use crate::auth::bearer;
use crate::auth::{AdminUser, CurrentUser};
use crate::domain::AuditActor;
use crate::error::AppError;
use crate::services::hosts;
use crate::state::AppState;
use crate::store::{self, ConnectSession};

/// A signed-in Admin or a widget's connect session.
#[derive(Debug, Clone)]
pub enum Actor {
    /// The app's Admin: every organization.
    Admin(CurrentUser),
    /// A host's widget: one organization.
    Widget(ConnectSession),
}

impl Actor {
    /// The organization the actor is limited to; `None`: every one.
    pub fn organization(&self) -> Option<OrganizationId> {
        match self {
            Self::Admin(_) => None,
            Self::Widget(session) => Some(session.organization_id),
        }
    }

    /// Who the audit log says acted.
    pub fn audit_actor(&self) -> AuditActor {
        match self {
            Self::Admin(admin) => AuditActor::User(admin.user.email.clone()),
            Self::Widget(session) => AuditActor::WidgetUser(session.end_user_email.clone()),
        }
    }

    /// `Ok` when connection `id` exists for this actor; `NotFound` otherwise (another
    /// organization's connection is not told apart from a missing one).
    pub async fn may_use(&self, state: &AppState, id: ConnectionId) -> Result<(), AppError> {
        let found = store::connection_organization(&state.pool, id).await?;
        match (found, self.organization()) {
            (Some(_), None) => Ok(()),
            (Some(org), Some(mine)) if org == mine => Ok(()),
            _ => Err(AppError::NotFound),
        }
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(token) = bearer(&parts.headers) {
            let origin = parts
                .headers
                .get(header::ORIGIN)
                .and_then(|v| v.to_str().ok());
            return Ok(Self::Widget(hosts::session(state, token, origin).await?));
        }
        let AdminUser(admin) = AdminUser::from_request_parts(parts, state).await?;
        Ok(Self::Admin(admin))
    }
}

/// The key of a host's backend (`Authorization: Bearer hk_…`), for opening connect sessions.
#[derive(Debug, Clone)]
pub struct HostKeyBearer(pub String);

impl FromRequestParts<AppState> for HostKeyBearer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, AppError> {
        bearer(&parts.headers)
            .filter(|k| k.starts_with("hk_"))
            .map(|k| Self(k.to_owned()))
            .ok_or(AppError::Host(hosts::HostError::BadKey))
    }
}
