//! The journal of OAuth exchanges in flight (see migration 0009).

use super::{args, Db};
use shared::AuthKind;

use super::StoreError;
use crate::config::Secret;
use crate::crypto::{Sealed, TokenCipher};

/// An exchange left in the journal.
#[derive(Debug, Clone)]
pub struct PendingGrant {
    /// Journal id.
    pub id: i64,
    /// The flow whose token endpoint got the code.
    pub kind: AuthKind,
    /// The authorization code (single-use at Stripe); `None` when it cannot be read any more.
    pub code: Option<Secret>,
    /// The account Stripe granted, once it answered.
    pub account: Option<String>,
    /// When the exchange started.
    pub created_at: i64,
}

fn code_context(id: i64) -> String {
    format!("pending_grants/{id}/code")
}

/// Journals an exchange about to start; its id.
pub async fn journal_grant(
    pool: &Db,
    cipher: &TokenCipher,
    kind: AuthKind,
    code: &str,
    now: i64,
) -> Result<i64, StoreError> {
    let mut tx = pool.begin().await?;
    let id: i64 = tx
        .scalar_one(
            "INSERT INTO pending_grants (auth_kind, code_ct, key_id, created_at) \
             VALUES ($1, '', '', $2) RETURNING id",
            args![kind.as_str(), now],
        )
        .await?;
    // Sealed under its row id, so a ciphertext cannot be moved to another row.
    let sealed = cipher.seal(code, &code_context(id))?;
    tx.execute(
        "UPDATE pending_grants SET code_ct = $1, key_id = $2 WHERE id = $3",
        args![&sealed.ciphertext, &sealed.key_id, id],
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Stripe answered: the journalled exchange granted `account`.
pub async fn journal_account(
    pool: &Db,
    id: i64,
    account: &str,
    livemode: bool,
) -> Result<(), StoreError> {
    pool.execute(
        "UPDATE pending_grants SET account = $1, livemode = $2 WHERE id = $3",
        args![account, livemode, id],
    )
    .await?;
    Ok(())
}

/// The exchange is settled (stored, handed back, or never granted).
pub async fn settle_grant(pool: &Db, id: i64) -> Result<(), StoreError> {
    pool.execute("DELETE FROM pending_grants WHERE id = $1", args![id])
        .await?;
    Ok(())
}

/// Exchanges journalled before `before` and never settled (their process died or failed).
pub async fn unsettled_grants(
    pool: &Db,
    cipher: &TokenCipher,
    before: i64,
) -> Result<Vec<PendingGrant>, StoreError> {
    let rows: Vec<(i64, String, String, String, Option<String>, i64)> = pool
        .fetch_all(
            "SELECT id, auth_kind, code_ct, key_id, account, created_at FROM pending_grants \
             WHERE created_at < $1 ORDER BY id",
            args![before],
        )
        .await?;
    // A row this key cannot open (or of an unknown kind) is left aside with its code unknown, never
    // stopping the others.
    Ok(rows
        .into_iter()
        .filter_map(|(id, kind, ciphertext, key_id, account, created_at)| {
            let code = cipher
                .open(&Sealed { ciphertext, key_id }, &code_context(id))
                .map_err(
                    |e| tracing::warn!(journal_id = id, error = %e, "journalled code unreadable"),
                )
                .ok();
            Some(PendingGrant {
                id,
                kind: AuthKind::parse(&kind)?,
                code: code.map(Secret::new),
                account,
                created_at,
            })
        })
        .collect())
}
