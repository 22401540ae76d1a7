//! Host products embedding the widget: creating and revoking their keys, opening connect sessions
//! for their backends, and reading a widget request's session token. Keys and tokens are random
//! (256 bits), shown once, stored as SHA-256 hashes.

use crate::ids::HostKeyId;
use rand::RngCore;
use shared::{ConnectSessionRequest, ConnectSessionToken, CreatedHostKey, HostKey, NewHostKey};

use crate::crypto::sha256_hex;
use crate::state::AppState;
use crate::store::{self, ConnectSession, StoreError};

/// How long a connect session lasts.
pub const SESSION_TTL_SECS: i64 = 30 * 60;
/// Origins a key may list.
pub const MAX_ORIGINS: usize = 20;

/// Why a host request was refused.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The request is malformed (a sentence for the developer).
    #[error("{0}")]
    Invalid(String),
    /// The host key is unknown or revoked.
    #[error("unknown or revoked host key")]
    BadKey,
    /// The session token is unknown, revoked, or used from an origin its key does not allow.
    #[error("unknown session")]
    BadSession,
    /// The session token is past its 30 minutes.
    #[error("expired session")]
    Expired,
    /// No such host key.
    #[error("no such host key")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new secret: `prefix` and 256 random bits, URL-safe.
fn secret(prefix: &str) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// `scheme://host[:port]` exactly, http(s) only: what browsers send as `Origin`.
fn origin(value: &str) -> Result<String, HostError> {
    let bad = || {
        HostError::Invalid(format!(
            "not an https origin (https://host[:port]; http only for localhost): {value:?}"
        ))
    };
    let url = url::Url::parse(value.trim()).map_err(|_| bad())?;
    // Plain http only on this machine (development): a token must not cross a network in clear.
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !(url.scheme() == "https" || (url.scheme() == "http" && local))
        || url.host_str().is_none()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
    {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
}

/// Checks a new key's name and origins; the origins normalised, without repeats.
pub fn validate(new: &NewHostKey) -> Result<(String, Vec<String>), HostError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(HostError::Invalid(
            "a host key needs a name of 1 to 100 characters".into(),
        ));
    }
    if new.origins.is_empty() || new.origins.len() > MAX_ORIGINS {
        return Err(HostError::Invalid(format!(
            "a host key needs 1 to {MAX_ORIGINS} origins"
        )));
    }
    let mut origins = Vec::new();
    for o in &new.origins {
        let o = origin(o)?;
        if !origins.contains(&o) {
            origins.push(o);
        }
    }
    Ok((name.to_owned(), origins))
}

/// Creates a host key: the key itself is in the answer only (the app's Admin, or the
/// `create-host-key` command on the database).
pub async fn create_key(
    pool: &crate::store::Db,
    now: i64,
    new: &NewHostKey,
) -> Result<CreatedHostKey, HostError> {
    let (name, origins) = validate(new)?;
    let key = secret("hk_");
    let last4: String = key[key.len() - 4..].to_owned();
    let host_key =
        store::create_host_key(pool, &name, &origins, &sha256_hex(&key), &last4, now).await?;
    tracing::info!(host_key = host_key.id, name = %host_key.name, "host key created");
    Ok(CreatedHostKey { key, host_key })
}

/// Every host key.
pub async fn list_keys(app: &AppState) -> Result<Vec<HostKey>, HostError> {
    Ok(store::list_host_keys(&app.pool).await?)
}

/// Revokes a host key; its connect sessions end at once.
pub async fn revoke_key(app: &AppState, id: HostKeyId) -> Result<(), HostError> {
    if !store::revoke_host_key(&app.pool, id, app.clock.now()).await? {
        return Err(HostError::NotFound);
    }
    tracing::info!(host_key = %id, "host key revoked");
    Ok(())
}

fn text(value: &str, what: &str, max: usize) -> Result<String, HostError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(HostError::Invalid(format!(
            "{what} must be 1 to {max} printable characters"
        )));
    }
    Ok(value.to_owned())
}

/// Opens a connect session for the host whose key is `key` (from `Authorization: Bearer`).
pub async fn open_session(
    app: &AppState,
    key: &str,
    request: &ConnectSessionRequest,
) -> Result<ConnectSessionToken, HostError> {
    let host = store::active_host_key(&app.pool, &sha256_hex(key))
        .await?
        .ok_or(HostError::BadKey)?;
    let organization_id = text(&request.organization.id, "organization.id", 200)?;
    let organization_name = text(&request.organization.name, "organization.name", 200)?;
    let end_user = shared::EndUser {
        id: text(&request.end_user.id, "end_user.id", 200)?,
        email: text(&request.end_user.email, "end_user.email", 254)?,
    };
    if !end_user.email.contains('@') {
        return Err(HostError::Invalid("end_user.email must be an email".into()));
    }
    let now = app.clock.now();
    let organization = store::upsert_organization(
        &app.pool,
        HostKeyId(host.id),
        &organization_id,
        &organization_name,
        now,
    )
    .await?;
    let token = secret("cs_");
    let expires_at = now + SESSION_TTL_SECS;
    store::create_connect_session(
        &app.pool,
        &sha256_hex(&token),
        HostKeyId(host.id),
        organization,
        &end_user,
        now,
        expires_at,
    )
    .await?;
    Ok(ConnectSessionToken { token, expires_at })
}

/// The session a widget request's token opens, used from `origin` (the request's `Origin`, if
/// any: a browser always sends one on a cross-origin call).
pub async fn session(
    app: &AppState,
    token: &str,
    origin: Option<&str>,
) -> Result<ConnectSession, HostError> {
    let session = store::connect_session(&app.pool, &sha256_hex(token))
        .await?
        .ok_or(HostError::BadSession)?;
    if session.expires_at <= app.clock.now() {
        return Err(HostError::Expired);
    }
    if let Some(origin) = origin {
        let ours = origin == app.settings.public_origin;
        if !ours && !session.origins.iter().any(|o| o == origin) {
            return Err(HostError::BadSession);
        }
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_http_origins() {
        assert_eq!(
            origin("https://host.example").unwrap(),
            "https://host.example"
        );
        assert_eq!(
            origin("https://host.example/").unwrap(),
            "https://host.example"
        );
        assert_eq!(
            origin("http://127.0.0.1:8081").unwrap(),
            "http://127.0.0.1:8081"
        );
        assert_eq!(
            origin("HTTPS://Host.Example").unwrap(),
            "https://host.example"
        );
        assert_eq!(
            origin("https://host.example:443").unwrap(),
            "https://host.example"
        );
        assert_eq!(
            origin("http://localhost:8090").unwrap(),
            "http://localhost:8090"
        );
        for bad in [
            "http://host.example",
            "host.example",
            "https://host.example/path",
            "https://host.example?x=1",
            "https://user@host.example",
            "ftp://host.example",
            "javascript:alert(1)",
            "*",
            "",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_long_random_and_prefixed() {
        let (a, b) = (secret("hk_"), secret("hk_"));
        assert!(a.starts_with("hk_") && a.len() == 46, "{a}");
        assert_ne!(a, b);
    }
}
