//! A connection's credential, decrypted for use, and its renewal: one refresh per connection at a
//! time across every instance, through a lease in the row (never a process-local lock), and the
//! new pair written in one transaction before anyone uses it.

use crate::ids::ConnectionId;

use super::{args, Db};
use shared::{AuditAction, AuditDetail, AuthKind, ConnectionStatus, Problem};

use super::{audit, token_context, AuditLine, StoreError};
use crate::config::Secret;
use crate::crypto::{Sealed, TokenCipher};
use crate::domain::AuditActor;
use crate::domain::Credential;

/// A credential as stored, with what identifies this very grant.
#[derive(Debug, Clone)]
pub struct StoredCredential {
    /// The connection's account.
    pub account: String,
    /// The credential, decrypted.
    pub credential: Credential,
    /// The grant's version: moves with every re-authentication or refresh (not with re-encryption).
    pub version: i64,
    /// Whether another holder's refresh lease is running at the time of reading.
    pub leased_until: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    stripe_user_id: String,
    auth_kind: String,
    access_token_ct: String,
    refresh_token_ct: Option<String>,
    token_key_id: String,
    access_expires_at: Option<i64>,
    refresh_lease_until: Option<i64>,
    credential_version: i64,
}

/// The decrypted credential of a connection.
pub async fn credential(
    pool: &Db,
    cipher: &TokenCipher,
    id: ConnectionId,
) -> Result<Option<StoredCredential>, StoreError> {
    let row: Option<CredentialRow> = pool
        .fetch_optional(
            "SELECT stripe_user_id, auth_kind, access_token_ct, refresh_token_ct, token_key_id, \
             access_expires_at, refresh_lease_until, credential_version FROM connections \
             WHERE id = $1",
            args![id],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let open = |ciphertext: &str, field: &str| {
        cipher
            .open(
                &Sealed {
                    ciphertext: ciphertext.to_owned(),
                    key_id: row.token_key_id.clone(),
                },
                &token_context(&row.stripe_user_id, field),
            )
            .map(Secret::new)
    };
    let credential = Credential {
        kind: AuthKind::parse(&row.auth_kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown auth kind {}", row.auth_kind)))?,
        secret: open(&row.access_token_ct, "access_token")?,
        refresh_token: row
            .refresh_token_ct
            .as_deref()
            .map(|ct| open(ct, "refresh_token"))
            .transpose()?,
        expires_at: row.access_expires_at,
    };
    Ok(Some(StoredCredential {
        account: row.stripe_user_id,
        credential,
        version: row.credential_version,
        leased_until: row.refresh_lease_until,
    }))
}

/// Takes the refresh lease of a connection until `until`, if nobody holds a live one, the row still
/// holds the grant `version` the caller saw, and it still has a refresh token. Exactly one caller
/// across every process wins.
pub async fn claim_refresh_lease(
    pool: &Db,
    id: ConnectionId,
    owner: &str,
    version: i64,
    now: i64,
    until: i64,
) -> Result<bool, StoreError> {
    let done = pool
        .execute(
            "UPDATE connections SET refresh_lease_owner = $1, refresh_lease_until = $2 \
             WHERE id = $3 AND credential_version = $4 AND refresh_token_ct IS NOT NULL \
             AND (refresh_lease_until IS NULL OR refresh_lease_until <= $5)",
            args![owner, until, id, version, now],
        )
        .await?;
    Ok(done == 1)
}

/// Gives a lease back without changing the credential (the refresh failed transiently).
pub async fn release_refresh_lease(
    pool: &Db,
    id: ConnectionId,
    owner: &str,
) -> Result<(), StoreError> {
    pool.execute(
        "UPDATE connections SET refresh_lease_owner = NULL, refresh_lease_until = NULL \
         WHERE id = $1 AND refresh_lease_owner = $2",
        args![id, owner],
    )
    .await?;
    Ok(())
}

/// One refresh attempt's hold on a connection's grant: the lease `owner` took on grant `version`
/// of connection `id` (Stripe account `account`).
#[derive(Debug, Clone, Copy)]
pub struct HeldRefresh<'a> {
    /// The connection.
    pub id: ConnectionId,
    /// The attempt holding the lease.
    pub owner: &'a str,
    /// The grant version the lease was taken on.
    pub version: i64,
    /// The connection's Stripe account (for the audit line and the token contexts).
    pub account: &'a str,
}

/// Stores a renewed credential and releases the lease, with its audit line, in one transaction —
/// only while the attempt still holds the lease on the grant it renewed. Returns the new version,
/// or `None` if the lease was lost (a re-authentication replaced the grant meanwhile).
pub async fn store_refreshed(
    pool: &Db,
    cipher: &TokenCipher,
    held: HeldRefresh<'_>,
    renewed: &Credential,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let HeldRefresh {
        id,
        owner,
        version,
        account,
    } = held;
    let access = cipher.seal(
        renewed.secret.expose(),
        &token_context(account, "access_token"),
    )?;
    let refresh = renewed
        .refresh_token
        .as_ref()
        .map(|t| cipher.seal(t.expose(), &token_context(account, "refresh_token")))
        .transpose()?;
    let mut tx = pool.begin().await?;
    let renewed_version: Option<i64> = tx
        .scalar_optional(
            "UPDATE connections SET access_token_ct = $1, refresh_token_ct = $2, \
             token_key_id = $3, access_expires_at = $4, refresh_lease_owner = NULL, \
             refresh_lease_until = NULL, updated_at = $5, \
             credential_version = credential_version + 1 \
             WHERE id = $6 AND refresh_lease_owner = $7 AND credential_version = $8 \
             RETURNING credential_version",
            args![
                &access.ciphertext,
                refresh.map(|r| r.ciphertext),
                &access.key_id,
                renewed.expires_at,
                now,
                id,
                owner,
                version
            ],
        )
        .await?;
    let Some(renewed_version) = renewed_version else {
        return Ok(None);
    };
    let line = AuditLine {
        connection_id: id,
        account,
        actor: &AuditActor::System,
        action: AuditAction::TokenRefreshed,
        detail: AuditDetail {
            auth_kind: Some(renewed.kind),
            ..AuditDetail::default()
        },
    };
    audit(&mut tx, &line, now).await?;
    tx.commit().await?;
    Ok(Some(renewed_version))
}

/// Stripe refused to renew (`invalid_grant`): the connection needs re-authentication and the dead
/// refresh token is dropped, so nobody tries it again. Releases the lease and audits, in one
/// transaction, only while the attempt holds the lease on that grant.
pub async fn mark_refresh_refused(
    pool: &Db,
    held: HeldRefresh<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let HeldRefresh {
        id,
        owner,
        version,
        account,
    } = held;
    let mut tx = pool.begin().await?;
    let done = tx
        .execute(
            "UPDATE connections SET status = $1, last_error = $2, refresh_token_ct = NULL, \
             refresh_lease_owner = NULL, refresh_lease_until = NULL \
             WHERE id = $3 AND refresh_lease_owner = $4 AND credential_version = $5",
            args![
                ConnectionStatus::NeedsReauth.as_str(),
                Problem::RefreshRefused.as_str(),
                id,
                owner,
                version
            ],
        )
        .await?;
    if done == 1 {
        let line = AuditLine {
            connection_id: id,
            account,
            actor: &AuditActor::System,
            action: AuditAction::RefreshRefused,
            detail: AuditDetail {
                status: Some(ConnectionStatus::NeedsReauth),
                problem: Some(Problem::RefreshRefused),
                ..AuditDetail::default()
            },
        };
        audit(&mut tx, &line, now).await?;
    }
    tx.commit().await?;
    Ok(())
}
