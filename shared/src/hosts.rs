//! Host products that embed the Connections widget: their keys, and the connect sessions their
//! backends open for one organization and end user.

use serde::{Deserialize, Serialize};

/// A host product's key as the Admin app lists it (the key itself is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostKey {
    /// Id.
    pub id: i64,
    /// The host product's name.
    pub name: String,
    /// Origins allowed to embed the widget (`https://host.example[:port]`).
    pub origins: Vec<String>,
    /// The key's last four characters.
    pub key_last4: String,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// When it was revoked, if it was.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(default)]
    pub revoked_at: Option<i64>,
}

/// `POST /api/host-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewHostKey {
    /// The host product's name.
    pub name: String,
    /// Origins allowed to embed the widget.
    pub origins: Vec<String>,
}

/// The answer to `POST /api/host-keys`: the key, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedHostKey {
    /// `hk_…`: the host's backend keeps it secret.
    pub key: String,
    /// The stored key.
    pub host_key: HostKey,
}

/// An organization as a host names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationRef {
    /// The host's id of the organization.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// The host's end user the session is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndUser {
    /// The host's id of the user.
    pub id: String,
    /// Their email.
    pub email: String,
}

/// `POST /api/connect-sessions` (with `Authorization: Bearer hk_…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectSessionRequest {
    /// The organization whose Connections the session opens.
    pub organization: OrganizationRef,
    /// Who will use it.
    pub end_user: EndUser,
}

/// The answer: a token for the widget, valid until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectSessionToken {
    /// `cs_…`: the widget's `session-token`.
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
}
