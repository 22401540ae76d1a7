//! Persistence: the SQLite pool, migrations, OAuth states and connections. SQL is kept portable
//! (no SQLite-only syntax beyond `RETURNING`, which PostgreSQL shares).

use std::str::FromStr;

use sha2::{Digest, Sha256};
use shared::{Connection, ConnectionStatus, IntegrationKind};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

use crate::crypto::{CryptoError, Sealed, TokenCipher};

/// How long an OAuth `state` stays valid.
pub const STATE_TTL_SECS: i64 = 10 * 60;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not run.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row holds a value we do not understand.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Tokens could not be decrypted.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Opens (creating if missing) the SQLite database and runs the migrations.
pub async fn connect(database_url: &str) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(database_url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5));
    // An in-memory database exists per connection: keep one (tests).
    let max = if database_url.contains(":memory:") {
        1
    } else {
        8
    };
    let pool = SqlitePoolOptions::new()
        .max_connections(max)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    tower_sessions_sqlx_store::SqliteStore::new(pool.clone())
        .migrate()
        .await?;
    Ok(pool)
}

fn state_hash(state: &str) -> String {
    Sha256::digest(state.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Remembers a freshly issued `state`, bound to a session, until `now + STATE_TTL_SECS`, and
/// forgets expired ones.
pub async fn save_state(
    pool: &SqlitePool,
    state: &str,
    session_binding: &str,
    connection_id: Option<i64>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM oauth_states WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO oauth_states (state_hash, session_binding, connection_id, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(state_hash(state))
    .bind(session_binding)
    .bind(connection_id)
    .bind(now)
    .bind(now + STATE_TTL_SECS)
    .execute(pool)
    .await?;
    Ok(())
}

/// Consumes `state`: its session binding, exactly once, for a state issued less than
/// `STATE_TTL_SECS` ago. The row is deleted in the same statement that finds it, so two concurrent
/// callbacks cannot both succeed.
pub async fn consume_state(
    pool: &SqlitePool,
    state: &str,
    now: i64,
) -> Result<Option<ConsumedState>, StoreError> {
    let row: Option<(i64, String, Option<i64>)> = sqlx::query_as(
        "DELETE FROM oauth_states WHERE state_hash = $1 \
         RETURNING expires_at, session_binding, connection_id",
    )
    .bind(state_hash(state))
    .fetch_optional(pool)
    .await?;
    Ok(
        row.and_then(|(expires_at, session_binding, connection_id)| {
            (expires_at > now).then_some(ConsumedState {
                session_binding,
                connection_id,
            })
        }),
    )
}

/// What a consumed `state` was bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedState {
    /// Hash of the starting session's nonce.
    pub session_binding: String,
    /// The connection being re-authenticated, if any.
    pub connection_id: Option<i64>,
}

/// What the callback learned about a newly authorized account.
#[derive(Debug, Clone)]
pub struct NewConnection {
    /// `acct_…`.
    pub stripe_user_id: String,
    /// Live or test data.
    pub livemode: bool,
    /// The account's display name.
    pub display_name: String,
    /// Granted scope.
    pub scope: String,
    /// The account's publishable key, if Stripe sent one.
    pub publishable_key: Option<String>,
    /// The access token (plaintext only in memory).
    pub access_token: String,
    /// The refresh token, if any.
    pub refresh_token: Option<String>,
    /// When the connection check started (Unix seconds).
    pub started_at: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// When the background checker should test it next.
    pub next_check_at: i64,
}

fn token_context(stripe_user_id: &str, field: &str) -> String {
    format!("connections/{stripe_user_id}/{field}")
}

/// Inserts the connection, or updates the existing one for the same Stripe account (same id), in one
/// transaction. Returns the connection's id.
pub async fn upsert_connection(
    pool: &SqlitePool,
    cipher: &TokenCipher,
    new: &NewConnection,
    now: i64,
) -> Result<i64, StoreError> {
    let access = cipher.seal(
        &new.access_token,
        &token_context(&new.stripe_user_id, "access_token"),
    );
    let refresh = new
        .refresh_token
        .as_deref()
        .map(|t| cipher.seal(t, &token_context(&new.stripe_user_id, "refresh_token")));
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO connections (kind, stripe_user_id, livemode, display_name, scope, \
             publishable_key, access_token_ct, refresh_token_ct, token_key_id, status, \
             last_started_at, last_duration_ms, created_at, updated_at, next_check_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) \
         ON CONFLICT (stripe_user_id) DO UPDATE SET \
             livemode = excluded.livemode, display_name = excluded.display_name, \
             scope = excluded.scope, publishable_key = excluded.publishable_key, \
             access_token_ct = excluded.access_token_ct, \
             refresh_token_ct = excluded.refresh_token_ct, \
             token_key_id = excluded.token_key_id, status = excluded.status, \
             last_started_at = excluded.last_started_at, \
             last_duration_ms = excluded.last_duration_ms, updated_at = excluded.updated_at, \
             last_error = NULL, failure_count = 0, next_check_at = excluded.next_check_at \
         RETURNING id",
    )
    .bind("stripe")
    .bind(&new.stripe_user_id)
    .bind(new.livemode)
    .bind(&new.display_name)
    .bind(&new.scope)
    .bind(&new.publishable_key)
    .bind(&access.ciphertext)
    .bind(refresh.as_ref().map(|s| s.ciphertext.clone()))
    .bind(&access.key_id)
    .bind(ConnectionStatus::Success.as_str())
    .bind(new.started_at)
    .bind(new.duration_ms)
    .bind(now)
    .bind(new.next_check_at)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The columns a `Connection` is read from.
const CONNECTION_SELECT: &str = "SELECT id, kind, stripe_user_id, livemode, display_name, status, \
     last_started_at, last_duration_ms, created_at, last_error FROM connections";

/// Every connection, oldest first, as the Data Sources table shows them.
pub async fn list_connections(pool: &SqlitePool) -> Result<Vec<Connection>, StoreError> {
    let rows = sqlx::query(&format!("{CONNECTION_SELECT} ORDER BY created_at, id"))
        .fetch_all(pool)
        .await?;
    rows.iter().map(connection_from_row).collect()
}

/// One connection.
pub async fn find_connection(pool: &SqlitePool, id: i64) -> Result<Option<Connection>, StoreError> {
    let row = sqlx::query(&format!("{CONNECTION_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(connection_from_row).transpose()
}

fn connection_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Connection, StoreError> {
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    Ok(Connection {
        id: row.try_get("id")?,
        name: row.try_get("display_name")?,
        kind: match kind.as_str() {
            "stripe" => IntegrationKind::Stripe,
            other => return Err(StoreError::Corrupt(format!("unknown kind {other}"))),
        },
        account_id: row.try_get("stripe_user_id")?,
        livemode: row.try_get("livemode")?,
        status: ConnectionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown status {status}")))?,
        last_started_at: row.try_get("last_started_at")?,
        last_duration_ms: row.try_get("last_duration_ms")?,
        created_at: row.try_get("created_at")?,
        last_error: row.try_get("last_error")?,
    })
}

/// The decrypted access token of a connection, for calls to Stripe on its behalf.
pub async fn access_token(
    pool: &SqlitePool,
    cipher: &TokenCipher,
    id: i64,
) -> Result<Option<String>, StoreError> {
    Ok(access_token_versioned(pool, cipher, id)
        .await?
        .map(|(token, _)| token))
}

/// The decrypted access token and its stored ciphertext (which identifies this very grant).
pub async fn access_token_versioned(
    pool: &SqlitePool,
    cipher: &TokenCipher,
    id: i64,
) -> Result<Option<(String, String)>, StoreError> {
    let row = sqlx::query(
        "SELECT stripe_user_id, access_token_ct, token_key_id FROM connections WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let account: String = row.try_get("stripe_user_id")?;
    let sealed = Sealed {
        ciphertext: row.try_get("access_token_ct")?,
        key_id: row.try_get("token_key_id")?,
    };
    let token = cipher.open(&sealed, &token_context(&account, "access_token"))?;
    Ok(Some((token, sealed.ciphertext)))
}

/// The outcome of a connection test, to store.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// New status.
    pub status: ConnectionStatus,
    /// When the test started.
    pub started_at: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// Why it failed, for the admin.
    pub error: Option<String>,
    /// Consecutive failures after this test.
    pub failure_count: i64,
    /// When to test again.
    pub next_check_at: i64,
}

/// Marks a connection as being tested.
pub async fn mark_testing(pool: &SqlitePool, id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE connections SET status = $1 WHERE id = $2")
        .bind(ConnectionStatus::Testing.as_str())
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Records a test's outcome — only if the connection still holds the token that was tested and is
/// still marked as being tested. A re-authentication, a webhook or another test that landed
/// meanwhile wins; returns whether the outcome was recorded.
pub async fn record_test(
    pool: &SqlitePool,
    id: i64,
    tested_token: &str,
    result: &TestResult,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE connections SET status = $1, last_started_at = $2, last_duration_ms = $3, \
         last_error = $4, failure_count = $5, next_check_at = $6 \
         WHERE id = $7 AND access_token_ct = $8 AND status = 'testing'",
    )
    .bind(result.status.as_str())
    .bind(result.started_at)
    .bind(result.duration_ms)
    .bind(&result.error)
    .bind(result.failure_count)
    .bind(result.next_check_at)
    .bind(id)
    .bind(tested_token)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Consecutive failures so far.
pub async fn failure_count(pool: &SqlitePool, id: i64) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT failure_count FROM connections WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
            .unwrap_or(0),
    )
}

/// Claims the connections due for a background test: each is pushed to `lease_until` in the same
/// statement, so two instances never test the same one at once. Those needing re-authentication
/// wait for an admin.
pub async fn claim_due(
    pool: &SqlitePool,
    now: i64,
    lease_until: i64,
) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE connections SET next_check_at = $2 \
         WHERE next_check_at <= $1 AND status <> 'needs_reauth' RETURNING id",
    )
    .bind(now)
    .bind(lease_until)
    .fetch_all(pool)
    .await?)
}

/// Whether `account` is one of our connections.
pub async fn account_is_connected(pool: &SqlitePool, account: &str) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM connections WHERE stripe_user_id = $1")
        .bind(account)
        .fetch_one(pool)
        .await?;
    Ok(n > 0)
}

/// Deletes a connection and its tokens.
pub async fn delete_connection(pool: &SqlitePool, id: i64) -> Result<bool, StoreError> {
    Ok(sqlx::query("DELETE FROM connections WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
        == 1)
}

/// Appends to the audit log.
pub async fn audit(
    pool: &SqlitePool,
    connection_id: i64,
    account: &str,
    actor: &str,
    action: &str,
    detail: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (connection_id, stripe_user_id, actor, action, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(connection_id)
    .bind(account)
    .bind(actor)
    .bind(action)
    .bind(detail)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// A connection's audit log, newest first.
pub async fn audit_log(
    pool: &SqlitePool,
    connection_id: i64,
) -> Result<Vec<shared::AuditEntry>, StoreError> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT actor, action, detail, created_at FROM audit_log WHERE connection_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT 200",
    )
    .bind(connection_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(actor, action, detail, created_at)| shared::AuditEntry {
            actor,
            action,
            detail,
            created_at,
        })
        .collect())
}

/// Applies Stripe's `account.application.deauthorized` once per event id, in one transaction: the
/// event id, the status change and the audit lines land together or not at all (a failure lets
/// Stripe's redelivery try again). Returns the affected connection ids, or `None` for a redelivery.
pub async fn apply_deauthorization(
    pool: &SqlitePool,
    event_id: &str,
    account: &str,
    livemode: bool,
    now: i64,
) -> Result<Option<Vec<i64>>, StoreError> {
    let mut tx = pool.begin().await?;
    let first = sqlx::query(
        "INSERT INTO webhook_events (event_id, event_type, account, received_at) \
         VALUES ($1, 'account.application.deauthorized', $2, $3) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(account)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !first {
        return Ok(None);
    }
    let ids: Vec<i64> = sqlx::query_scalar(
        "UPDATE connections SET status = 'needs_reauth', \
         last_error = 'Access was revoked in Stripe. Click the name to connect again.' \
         WHERE stripe_user_id = $1 AND livemode = $2 RETURNING id",
    )
    .bind(account)
    .bind(livemode)
    .fetch_all(&mut *tx)
    .await?;
    for id in &ids {
        sqlx::query(
            "INSERT INTO audit_log (connection_id, stripe_user_id, actor, action, detail, created_at) \
             VALUES ($1, $2, 'Stripe', 'access revoked', \
             'account.application.deauthorized webhook; status set to Needs re-authentication', $3)",
        )
        .bind(id)
        .bind(account)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Some(ids))
}

/// Remembers a webhook event id; false if it was already seen.
pub async fn first_delivery(
    pool: &SqlitePool,
    event_id: &str,
    event_type: &str,
    account: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO webhook_events (event_id, event_type, account, received_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(event_type)
    .bind(account)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// Re-encrypts every token under the cipher's current key (any key of its ring may open them), in
/// one transaction. Returns how many connections were re-encrypted.
pub async fn reencrypt_all(pool: &SqlitePool, cipher: &TokenCipher) -> Result<usize, StoreError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(i64, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT id, stripe_user_id, access_token_ct, refresh_token_ct, token_key_id FROM connections",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (id, account, access, refresh, key_id) in &rows {
        let open = |ciphertext: &String, field: &str| {
            cipher.open(
                &Sealed {
                    ciphertext: ciphertext.clone(),
                    key_id: key_id.clone(),
                },
                &token_context(account, field),
            )
        };
        let access = cipher.seal(
            &open(access, "access_token")?,
            &token_context(account, "access_token"),
        );
        let refresh = match refresh {
            Some(r) => Some(cipher.seal(
                &open(r, "refresh_token")?,
                &token_context(account, "refresh_token"),
            )),
            None => None,
        };
        sqlx::query(
            "UPDATE connections SET access_token_ct = $1, refresh_token_ct = $2, token_key_id = $3 \
             WHERE id = $4",
        )
        .bind(&access.ciphertext)
        .bind(refresh.map(|r| r.ciphertext))
        .bind(&access.key_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(rows.len())
}

/// Checks at start-up that the configured key opens the stored tokens (one per key id in use), so a
/// wrong key is a clear error, never garbage later.
pub async fn check_key(pool: &SqlitePool, cipher: &TokenCipher) -> Result<(), StoreError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT stripe_user_id, access_token_ct, token_key_id FROM connections \
         WHERE id IN (SELECT MIN(id) FROM connections GROUP BY token_key_id)",
    )
    .fetch_all(pool)
    .await?;
    for (account, ciphertext, key_id) in rows {
        cipher.open(
            &Sealed { ciphertext, key_id },
            &token_context(&account, "access_token"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use base64::Engine;

    async fn pool() -> SqlitePool {
        connect("sqlite::memory:").await.unwrap()
    }

    fn cipher() -> TokenCipher {
        TokenCipher::from_base64(&Secret::new(
            base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn a_state_is_consumed_exactly_once() {
        let pool = pool().await;
        save_state(&pool, "s1", "b1", Some(4), 1_000).await.unwrap();
        assert_eq!(
            consume_state(&pool, "s1", 1_001).await.unwrap(),
            Some(ConsumedState {
                session_binding: "b1".into(),
                connection_id: Some(4)
            })
        );
        assert_eq!(consume_state(&pool, "s1", 1_002).await.unwrap(), None);
        assert_eq!(
            consume_state(&pool, "never-issued", 1_002).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn an_expired_state_is_refused_and_removed() {
        let pool = pool().await;
        save_state(&pool, "old", "b", None, 1_000).await.unwrap();
        assert_eq!(
            consume_state(&pool, "old", 1_000 + STATE_TTL_SECS)
                .await
                .unwrap(),
            None
        );
        save_state(&pool, "fresh", "b", None, 1_000).await.unwrap();
        assert!(consume_state(&pool, "fresh", 1_000 + STATE_TTL_SECS - 1)
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn states_are_stored_hashed() {
        let pool = pool().await;
        save_state(&pool, "plain-state-value", "b", None, 1)
            .await
            .unwrap();
        let stored: String = sqlx::query_scalar("SELECT state_hash FROM oauth_states")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_ne!(stored, "plain-state-value");
        assert_eq!(stored.len(), 64);
    }

    fn new_conn(account: &str, name: &str, token: &str) -> NewConnection {
        NewConnection {
            stripe_user_id: account.into(),
            livemode: false,
            display_name: name.into(),
            scope: "read_only".into(),
            publishable_key: Some("pk_test_1".into()),
            access_token: token.into(),
            refresh_token: Some(format!("rt_{token}")),
            started_at: 50,
            duration_ms: 12,
            next_check_at: 0,
        }
    }

    #[tokio::test]
    async fn rotation_reencrypts_under_the_new_key_and_a_wrong_key_is_caught() {
        let pool = pool().await;
        let b64 = |b: u8| base64::engine::general_purpose::STANDARD.encode([b; 32]);
        let old = TokenCipher::from_base64(&Secret::new(b64(7))).unwrap();
        let id = upsert_connection(&pool, &old, &new_conn("acct_1", "Acme", "sk_rot"), 1)
            .await
            .unwrap();
        let wrong = TokenCipher::from_base64(&Secret::new(b64(8))).unwrap();
        assert!(
            check_key(&pool, &wrong).await.is_err(),
            "a wrong key is refused at start"
        );
        let ring =
            TokenCipher::from_base64(&Secret::new(format!("{},{}", b64(8), b64(7)))).unwrap();
        assert_eq!(reencrypt_all(&pool, &ring).await.unwrap(), 1);
        check_key(&pool, &wrong).await.unwrap();
        assert_eq!(
            access_token(&pool, &wrong, id).await.unwrap().unwrap(),
            "sk_rot"
        );
        assert!(
            check_key(&pool, &old).await.is_err(),
            "the old key alone no longer opens them"
        );
    }

    #[tokio::test]
    async fn upsert_keeps_the_id_and_replaces_tokens() {
        let pool = pool().await;
        let c = cipher();
        let id = upsert_connection(&pool, &c, &new_conn("acct_1", "Acme", "sk_a"), 100)
            .await
            .unwrap();
        let again = upsert_connection(&pool, &c, &new_conn("acct_1", "Acme Inc", "sk_b"), 200)
            .await
            .unwrap();
        assert_eq!(id, again);
        let rows = list_connections(&pool).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].name, "Acme Inc");
        assert_eq!(rows[0].created_at, 100);
        assert_eq!(rows[0].status, ConnectionStatus::Success);
        assert_eq!(access_token(&pool, &c, id).await.unwrap().unwrap(), "sk_b");
        let raw: String = sqlx::query_scalar("SELECT access_token_ct FROM connections")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(!raw.contains("sk_b"));
    }
}
