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
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM oauth_states WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO oauth_states (state_hash, session_binding, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(state_hash(state))
    .bind(session_binding)
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
) -> Result<Option<String>, StoreError> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "DELETE FROM oauth_states WHERE state_hash = $1 RETURNING expires_at, session_binding",
    )
    .bind(state_hash(state))
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(expires_at, binding)| (expires_at > now).then_some(binding)))
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
             last_started_at, last_duration_ms, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
         ON CONFLICT (stripe_user_id) DO UPDATE SET \
             livemode = excluded.livemode, display_name = excluded.display_name, \
             scope = excluded.scope, publishable_key = excluded.publishable_key, \
             access_token_ct = excluded.access_token_ct, \
             refresh_token_ct = excluded.refresh_token_ct, \
             token_key_id = excluded.token_key_id, status = excluded.status, \
             last_started_at = excluded.last_started_at, \
             last_duration_ms = excluded.last_duration_ms, updated_at = excluded.updated_at \
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
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Every connection, oldest first, as the Data Sources table shows them.
pub async fn list_connections(pool: &SqlitePool) -> Result<Vec<Connection>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, kind, stripe_user_id, livemode, display_name, status, last_started_at, \
                last_duration_ms, created_at \
         FROM connections ORDER BY created_at, id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
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
            })
        })
        .collect()
}

/// The decrypted access token of a connection, for calls to Stripe on its behalf.
pub async fn access_token(
    pool: &SqlitePool,
    cipher: &TokenCipher,
    id: i64,
) -> Result<Option<String>, StoreError> {
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
    Ok(Some(
        cipher.open(&sealed, &token_context(&account, "access_token"))?,
    ))
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
        save_state(&pool, "s1", "b1", 1_000).await.unwrap();
        assert_eq!(
            consume_state(&pool, "s1", 1_001).await.unwrap().as_deref(),
            Some("b1")
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
        save_state(&pool, "old", "b", 1_000).await.unwrap();
        assert_eq!(
            consume_state(&pool, "old", 1_000 + STATE_TTL_SECS)
                .await
                .unwrap(),
            None
        );
        save_state(&pool, "fresh", "b", 1_000).await.unwrap();
        assert!(consume_state(&pool, "fresh", 1_000 + STATE_TTL_SECS - 1)
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn states_are_stored_hashed() {
        let pool = pool().await;
        save_state(&pool, "plain-state-value", "b", 1)
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
        }
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
