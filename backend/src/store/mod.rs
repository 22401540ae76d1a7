//! Persistence, and the only place SQL lives. The database (`db`: SQLite or PostgreSQL, chosen
//! once at start-up from `DATABASE_URL`) and one module per aggregate — its repository: users and
//! their sign-in throttling, sessions, connections and their credentials, OAuth states, pending
//! grants, the audit log, webhook events, sync jobs, cursors and tables, host keys and
//! organizations, encryption keys. Each writes its SQL once in the dialects' common ground
//! (`$1` placeholders, `ON CONFLICT`, `RETURNING`, BIGINT/BOOLEAN columns) and runs it through one
//! layer (`query`, `args`: `pool.fetch_optional::<Row>("SELECT … WHERE id = $1", args![id])`, the
//! only code that matches on the database); it asks the dialect only where they differ (row locks,
//! JSON arrays, an unbounded `OFFSET`). The rest of the code calls these functions with a [`Db`]
//! and never learns which database it runs on.

mod audit;
mod connections;
mod credentials;
mod filter_columns;
mod hosts;
mod keys;
mod pending;
mod pool;
mod prepared;
mod states;
mod sync_cursors;
mod sync_data;
mod sync_jobs;
mod sync_ranges;
mod sync_rows;
mod throttle;
mod users;
mod warehouse;
mod webhooks;

mod args;
mod db;
mod query;
mod sessions;

pub use args::{args, Arg, Args};
pub use db::{Conn, Db, Dialect, Tx};
pub use query::{Record, Scalar};
pub use sessions::{
    delete_expired_sessions, delete_session, insert_session, put_callback_notice, session_binding,
    signed_in, take_callback_notice, touch_session, SignedIn,
};

use crate::crypto::CryptoError;

use keys::token_context;

pub use audit::{audit, audit_log, AuditLine};
pub use connections::{
    account_is_connected, adopt_grant, check_soon, claim_due, delete_connection, failure_count,
    find_by_account, find_connection, list_connections, list_organization_connections,
    mark_testing, record_sync_run, record_test, restore_status, upsert_connection, NewConnection,
    TestResult,
};
pub use credentials::{
    claim_refresh_lease, credential, mark_refresh_refused, release_refresh_lease, store_refreshed,
    HeldRefresh, StoredCredential,
};
pub use hosts::{
    active_host_key, connect_session, connection_organization, consume_widget_flow,
    create_connect_session, create_host_key, create_widget_flow, list_host_keys, origin_allowed,
    peek_widget_flow, revoke_host_key, upsert_organization, ConnectSession, WidgetFlow,
    DEFAULT_ORGANIZATION,
};
pub use keys::{
    announce_key, check_key, key_ids_in_use, keys_of_live_instances, reencrypt_all, verify_all,
};
pub use pending::{journal_account, journal_grant, settle_grant, unsettled_grants, PendingGrant};
pub use pool::{connect, migrate, ping};
pub use prepared::Prepared;
pub use states::{
    consume_state, save_state, ConsumedState, StateOwner, WidgetTarget, STATE_TTL_SECS,
};
pub use sync_cursors::{advance_events, begin_full_pass, sync_cursor, SyncCursor};
pub use sync_data::{
    commit_pages, connection_freshness, finish_events_pass, finish_table, mark_deleted,
    set_table_error, store_objects, table_rows, table_state, Lease, RangePage, TableState,
};
pub use sync_jobs::{
    claim_events_job, claim_sync_job, count_sync_jobs, enqueue_due_syncs, enqueue_sync,
    finish_sync_job, latest_sync_job, take_wanted_pass, want_pass, ClaimedJob, JobCounts, JobEnd,
    JobState, SyncSchedule,
};
pub use sync_ranges::{
    begin_ranges, restart_list, restart_range, split_range, SyncRange, UNBOUNDED_HI, UNBOUNDED_LO,
};
pub use throttle::{cap_throttle_rows, charge_sign_in, refund_sign_in};
pub use users::{
    count_users, find_user, insert_user, list_users, set_locale, set_password, touch_sign_in,
    update_user, user_credentials, Credentials, UserUpdate,
};
pub use warehouse::{
    change_warehouse, create_reader, organizations_named, relation_name, relation_rows, warehouse,
    ReaderRefusal, RelationPage, Warehouse, WarehouseColumn, WarehouseRefusal,
};
pub use webhooks::{
    apply_deauthorization, apply_webhooks, drop_queued, first_delivery, queue_event, queued_events,
    QueuedEvent, ReceivedEvent, WebhookBatch,
};

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
    /// The database was migrated by a newer version of the product than this one.
    #[error(
        "the database has migration {0}, which this version does not know: it was upgraded by a \
         newer version of the product — run that version (or restore a backup from before it)"
    )]
    NewerDatabase(i64),
    /// The Stripe account is connected in another organization: nothing was changed.
    #[error("the account is connected in another organization")]
    OtherOrganization,
}

/// Forgets what has expired: sign-in throttling counters whose window ended (sessions have their
/// own, [`delete_expired_sessions`]).
pub async fn purge_expired(
    pool: &Db,
    now: i64,
    window_secs: i64,
    max_throttle_rows: i64,
) -> Result<(), StoreError> {
    pool.execute(
        "DELETE FROM sign_in_failures WHERE window_start <= $1",
        args![now - window_secs],
    )
    .await?;
    cap_throttle_rows(pool, max_throttle_rows).await
}

/// Records that this database is used with `mode` Stripe (`demo` or `live`). Returns the other
/// mode when the database already holds connections made with it (the start must refuse); a
/// database without connections takes the new mode.
pub async fn claim_stripe_mode(pool: &Db, mode: &str) -> Result<Option<String>, StoreError> {
    let mut tx = pool.begin().await?;
    let stored: Option<String> = tx
        .scalar_optional(
            "SELECT value FROM instance_facts WHERE name = 'stripe'",
            args![],
        )
        .await?;
    // Exchanges still in the journal belong to that Stripe too.
    let connections: i64 = tx
        .scalar_one(
            "SELECT (SELECT COUNT(*) FROM connections) + (SELECT COUNT(*) FROM pending_grants)",
            args![],
        )
        .await?;
    // Databases from before this fact: demo connections carry the emulator's account ids.
    let stored = match stored {
        Some(s) => Some(s),
        None if connections > 0 => {
            let demo: i64 = tx
                .scalar_one(
                    "SELECT COUNT(*) FROM connections WHERE stripe_user_id LIKE 'acct_1Demo%'",
                    args![],
                )
                .await?;
            Some(if demo == connections { "demo" } else { "live" }.to_owned())
        }
        None => None,
    };
    if let Some(stored) = stored.filter(|s| s != mode) {
        if connections > 0 {
            return Ok(Some(stored));
        }
    }
    tx.execute(
        "INSERT INTO instance_facts (name, value) VALUES ('stripe', $1) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        args![mode],
    )
    .await?;
    tx.commit().await?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::pool::database_file;
    use super::*;
    use crate::config::Secret;
    use crate::crypto::TokenCipher;
    use crate::domain::Credential;
    use crate::ids::ConnectionId;

    /// The hold of refresh attempt `owner` on grant `version` of connection `id` (account acct_1).
    fn held(id: ConnectionId, owner: &str, version: i64) -> HeldRefresh<'_> {
        HeldRefresh {
            id,
            owner,
            version,
            account: "acct_1",
        }
    }
    use base64::Engine;
    use shared::{AuthKind, ConnectionStatus};

    async fn pool() -> Db {
        connect("sqlite::memory:").await.unwrap()
    }

    fn cipher(byte: u8) -> TokenCipher {
        TokenCipher::from_base64(&Secret::new(
            base64::engine::general_purpose::STANDARD.encode([byte; 32]),
        ))
        .unwrap()
    }

    fn new_conn(account: &str, name: &str, token: &str) -> NewConnection {
        NewConnection {
            stripe_user_id: account.into(),
            livemode: false,
            display_name: name.into(),
            scope: "stripe_apps".into(),
            publishable_key: Some("pk_test_1".into()),
            credential: Credential {
                kind: AuthKind::Apps,
                secret: Secret::new(token),
                refresh_token: Some(Secret::new(format!("rt_{token}"))),
                expires_at: Some(3_600),
            },
            key_last4: None,
            organization: None,
            started_at: 50,
            duration_ms: 12,
            next_check_at: 0,
        }
    }

    async fn token_of(pool: &Db, cipher: &TokenCipher, id: ConnectionId) -> String {
        credential(pool, cipher, id)
            .await
            .unwrap()
            .unwrap()
            .credential
            .secret
            .expose()
            .to_owned()
    }

    #[tokio::test]
    async fn a_database_keeps_to_the_stripe_it_was_used_with() {
        let pool = pool().await;
        assert_eq!(claim_stripe_mode(&pool, "demo").await.unwrap(), None);
        assert_eq!(
            claim_stripe_mode(&pool, "live").await.unwrap(),
            None,
            "no connections yet: free to change"
        );
        upsert_connection(&pool, &cipher(7), &new_conn("acct_1", "Acme", "sk_a"), 1)
            .await
            .unwrap();
        assert_eq!(
            claim_stripe_mode(&pool, "demo").await.unwrap().as_deref(),
            Some("live")
        );
        assert_eq!(claim_stripe_mode(&pool, "live").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_key_rotation_during_a_renewal_does_not_lose_the_renewed_pair() {
        let pool = pool().await;
        let old = cipher(7);
        let id = upsert_connection(&pool, &old, &new_conn("acct_1", "Acme", "sk_a"), 100)
            .await
            .unwrap();
        let seen = credential(&pool, &old, id).await.unwrap().unwrap();
        assert!(
            claim_refresh_lease(&pool, id, "one", seen.version, 100, 130)
                .await
                .unwrap()
        );
        // rotate-key runs while Stripe is answering the refresh.
        let b64 = |b: u8| base64::engine::general_purpose::STANDARD.encode([b; 32]);
        let ring =
            TokenCipher::from_base64(&Secret::new(format!("{},{}", b64(8), b64(7)))).unwrap();
        reencrypt_all(&pool, &ring).await.unwrap();
        let renewed = Credential {
            secret: Secret::new("sk_new"),
            refresh_token: Some(Secret::new("rt_new")),
            ..seen.credential.clone()
        };
        let version = store_refreshed(&pool, &old, held(id, "one", seen.version), &renewed, 101)
            .await
            .unwrap();
        assert_eq!(version, Some(seen.version + 1), "the renewal is kept");
        assert_eq!(
            credential(&pool, &ring, id)
                .await
                .unwrap()
                .unwrap()
                .credential,
            renewed
        );
    }

    #[test]
    fn database_files_are_found_in_urls() {
        assert_eq!(
            database_file("sqlite://data/connections.db"),
            Some("data/connections.db".into())
        );
        assert_eq!(
            database_file("sqlite:///var/x.db?mode=rwc"),
            Some("/var/x.db".into())
        );
        assert_eq!(database_file("sqlite::memory:"), None);
        assert_eq!(database_file("sqlite://x.db?mode=memory"), None);
    }

    #[tokio::test]
    async fn rotation_reencrypts_under_the_new_key_and_a_wrong_key_is_caught() {
        let pool = pool().await;
        let b64 = |b: u8| base64::engine::general_purpose::STANDARD.encode([b; 32]);
        let old = cipher(7);
        let id = upsert_connection(&pool, &old, &new_conn("acct_1", "Acme", "sk_rot"), 1)
            .await
            .unwrap();
        let wrong = cipher(8);
        assert!(
            check_key(&pool, &wrong).await.is_err(),
            "a wrong key is refused at start"
        );
        let ring =
            TokenCipher::from_base64(&Secret::new(format!("{},{}", b64(8), b64(7)))).unwrap();
        assert_eq!(reencrypt_all(&pool, &ring).await.unwrap(), 1);
        check_key(&pool, &wrong).await.unwrap();
        assert_eq!(token_of(&pool, &wrong, id).await, "sk_rot");
        assert!(
            check_key(&pool, &old).await.is_err(),
            "the old key alone no longer opens them"
        );
    }

    #[tokio::test]
    async fn upsert_keeps_the_id_and_replaces_the_credential() {
        let pool = pool().await;
        let c = cipher(7);
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
        assert_eq!(rows[0].auth_kind, AuthKind::Apps);
        let stored = credential(&pool, &c, id).await.unwrap().unwrap();
        assert_eq!(stored.credential.secret.expose(), "sk_b");
        assert_eq!(stored.credential.refresh_token.unwrap().expose(), "rt_sk_b");
        assert_eq!(stored.credential.expires_at, Some(3_600));
        let raw: String = pool
            .scalar_one(
                "SELECT access_token_ct || refresh_token_ct FROM connections",
                args![],
            )
            .await
            .unwrap();
        assert!(!raw.contains("sk_b"));
    }

    #[tokio::test]
    async fn one_refresh_lease_at_a_time_and_the_new_pair_lands_with_its_release() {
        let pool = pool().await;
        let c = cipher(7);
        let id = upsert_connection(&pool, &c, &new_conn("acct_1", "Acme", "sk_a"), 100)
            .await
            .unwrap();
        let seen = credential(&pool, &c, id).await.unwrap().unwrap();
        assert!(
            claim_refresh_lease(&pool, id, "one", seen.version, 100, 130)
                .await
                .unwrap()
        );
        assert!(
            !claim_refresh_lease(&pool, id, "two", seen.version, 101, 131)
                .await
                .unwrap(),
            "a second holder waits while the lease lives"
        );
        let renewed = Credential {
            secret: Secret::new("sk_new"),
            refresh_token: Some(Secret::new("rt_new")),
            expires_at: Some(3_700),
            ..seen.credential.clone()
        };
        assert!(
            store_refreshed(&pool, &c, held(id, "two", seen.version), &renewed, 102)
                .await
                .unwrap()
                .is_none(),
            "only the lease holder may write"
        );
        let version = store_refreshed(&pool, &c, held(id, "one", seen.version), &renewed, 102)
            .await
            .unwrap()
            .unwrap();
        let now = credential(&pool, &c, id).await.unwrap().unwrap();
        assert_eq!(now.version, version);
        assert_eq!(now.credential, renewed);
        assert_eq!(now.leased_until, None);
        assert!(
            !claim_refresh_lease(&pool, id, "two", seen.version, 103, 133)
                .await
                .unwrap(),
            "a lease on a replaced grant is refused"
        );
        assert!(claim_refresh_lease(&pool, id, "two", version, 103, 133)
            .await
            .unwrap());
        mark_refresh_refused(&pool, held(id, "two", version), 104)
            .await
            .unwrap();
        let dead = credential(&pool, &c, id).await.unwrap().unwrap();
        assert_eq!(
            dead.credential.refresh_token, None,
            "the dead token is dropped"
        );
        assert!(
            !claim_refresh_lease(&pool, id, "three", version, 200, 230)
                .await
                .unwrap(),
            "nothing left to renew"
        );
        let row = find_connection(&pool, id).await.unwrap().unwrap();
        assert_eq!(row.status, ConnectionStatus::NeedsReauth);
        assert_eq!(row.last_error, Some(shared::Problem::RefreshRefused));
        let log = audit_log(&pool, id).await.unwrap();
        assert_eq!(log[0].action, shared::AuditAction::RefreshRefused);
        assert_eq!(log[1].action, shared::AuditAction::TokenRefreshed);
    }
}
