//! The sealing keys: re-encrypting every credential, verifying them, which keys rows and live
//! instances still use, and the check that the configured key opens the database's credentials.

use super::{args, Db};

use super::StoreError;
use crate::crypto::{Sealed, TokenCipher};

/// The associated data binding a sealed token to its account and field.
pub(super) fn token_context(stripe_user_id: &str, field: &str) -> String {
    format!("connections/{stripe_user_id}/{field}")
}

/// Re-encrypts every token under the cipher's current key (any key of its ring may open them), in
/// one transaction. Returns how many connections were re-encrypted.
pub async fn reencrypt_all(pool: &Db, cipher: &TokenCipher) -> Result<usize, StoreError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(i64, String, String, Option<String>, String)> = tx
        .fetch_all(
            "SELECT id, stripe_user_id, access_token_ct, refresh_token_ct, token_key_id \
             FROM connections",
            args![],
        )
        .await?;
    for (id, account, access, refresh, key_id) in &rows {
        let reseal = |ciphertext: &String, field: &str| -> Result<Sealed, StoreError> {
            let context = token_context(account, field);
            let plain = cipher.open(
                &Sealed {
                    ciphertext: ciphertext.clone(),
                    key_id: key_id.clone(),
                },
                &context,
            )?;
            Ok(cipher.seal(&plain, &context)?)
        };
        let access = reseal(access, "access_token")?;
        let refresh = refresh
            .as_ref()
            .map(|r| reseal(r, "refresh_token"))
            .transpose()?;
        tx.execute(
            "UPDATE connections SET access_token_ct = $1, refresh_token_ct = $2, \
             token_key_id = $3 WHERE id = $4",
            args![
                &access.ciphertext,
                refresh.map(|r| r.ciphertext),
                &access.key_id,
                *id
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(rows.len())
}

/// Every stored credential opens with `cipher` (each row, not one per key id). Returns how many.
pub async fn verify_all(pool: &Db, cipher: &TokenCipher) -> Result<usize, StoreError> {
    let rows: Vec<(String, String, Option<String>, String)> = pool
        .fetch_all(
            "SELECT stripe_user_id, access_token_ct, refresh_token_ct, token_key_id \
             FROM connections",
            args![],
        )
        .await?;
    for (account, access, refresh, key_id) in &rows {
        for (ciphertext, field) in [
            (Some(access), "access_token"),
            (refresh.as_ref(), "refresh_token"),
        ] {
            if let Some(ciphertext) = ciphertext {
                cipher.open(
                    &Sealed {
                        ciphertext: ciphertext.clone(),
                        key_id: key_id.clone(),
                    },
                    &token_context(account, field),
                )?;
            }
        }
    }
    Ok(rows.len())
}

/// The key ids stored credentials are sealed under.
pub async fn key_ids_in_use(pool: &Db) -> Result<Vec<String>, StoreError> {
    pool.scalar_all(
        "SELECT token_key_id FROM connections UNION SELECT key_id FROM pending_grants",
        args![],
    )
    .await
}

/// A running instance says which key it seals with (every minute).
pub async fn announce_key(
    pool: &Db,
    instance_id: &str,
    key_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    pool.execute(
        "INSERT INTO key_users (instance_id, key_id, seen_at) VALUES ($1, $2, $3) \
         ON CONFLICT (instance_id) DO UPDATE SET key_id = excluded.key_id, \
             seen_at = excluded.seen_at",
        args![instance_id, key_id, now],
    )
    .await?;
    pool.execute(
        "DELETE FROM key_users WHERE seen_at < $1",
        args![now - 24 * 60 * 60],
    )
    .await?;
    Ok(())
}

/// The sealing keys of instances seen since `since`.
pub async fn keys_of_live_instances(pool: &Db, since: i64) -> Result<Vec<String>, StoreError> {
    pool.scalar_all(
        "SELECT DISTINCT key_id FROM key_users WHERE seen_at >= $1",
        args![since],
    )
    .await
}

/// Checks at start-up that the configured key opens the stored tokens (one per key id in use), so a
/// wrong key is a clear error, never garbage later.
pub async fn check_key(pool: &Db, cipher: &TokenCipher) -> Result<(), StoreError> {
    let rows: Vec<(String, String, String)> = pool
        .fetch_all(
            "SELECT stripe_user_id, access_token_ct, token_key_id FROM connections \
             WHERE id IN (SELECT MIN(id) FROM connections GROUP BY token_key_id)",
            args![],
        )
        .await?;
    for (account, ciphertext, key_id) in rows {
        cipher.open(
            &Sealed { ciphertext, key_id },
            &token_context(&account, "access_token"),
        )?;
    }
    Ok(())
}
