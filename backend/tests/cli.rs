//! The operator commands, run as the real binary: `rotate-key`, and the start-up refusal of a
//! wrong key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use backend::ids::ConnectionId;
use std::process::Command;

use backend::args;
use backend::config::Secret;
use backend::crypto::{key_file, TokenCipher};
use backend::domain::Credential;
use backend::store::{self, NewConnection};
use shared::AuthKind;

fn backend() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_backend"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

/// A Connect connection of `account` (its access token `sk_test_<account>`), sealed with `cipher`.
async fn write_row_with(
    pool: &backend::store::Db,
    cipher: &TokenCipher,
    account: &str,
    refresh: Option<&str>,
) -> ConnectionId {
    store::upsert_connection(
        pool,
        cipher,
        &NewConnection {
            stripe_user_id: account.into(),
            livemode: false,
            display_name: account.into(),
            scope: "read_only".into(),
            publishable_key: None,
            credential: Credential {
                kind: AuthKind::Connect,
                secret: Secret::new(format!("sk_test_{account}")),
                refresh_token: refresh.map(Secret::new),
                expires_at: None,
            },
            key_last4: None,
            started_at: 1,
            duration_ms: 1,
            next_check_at: 0,
            organization: None,
        },
        1,
    )
    .await
    .unwrap()
}

async fn seed(dir: &std::path::Path) -> (TokenCipher, ConnectionId) {
    let cipher = TokenCipher::load_or_create(None, dir).unwrap();
    let pool = store::connect(&format!("sqlite://{}/connections.db", dir.display()))
        .await
        .unwrap();
    let id = write_row_with(&pool, &cipher, "acct_1Rotate", Some("rt_rotate_me")).await;
    pool.close().await;
    (cipher, id)
}

#[tokio::test]
async fn rotate_key_reencrypts_every_token_under_a_new_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let (old, id) = seed(dir.path()).await;
    std::fs::copy(key_file(dir.path()), dir.path().join("old.key")).unwrap();
    let out = backend()
        .arg("rotate-key")
        .env("DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("re-encrypted the tokens of 1 connection")
    );

    assert_ne!(
        TokenCipher::load_or_create(None, dir.path())
            .unwrap()
            .key_id(),
        old.key_id()
    );
    let key_text = std::fs::read_to_string(key_file(dir.path())).unwrap();
    assert_eq!(
        key_text.lines().count(),
        2,
        "the new key, then the previous one"
    );
    // A second rotation drops the oldest key.
    let out = backend()
        .arg("rotate-key")
        .env("DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let key_text = std::fs::read_to_string(key_file(dir.path())).unwrap();
    assert_eq!(key_text.lines().count(), 2);
    let original = std::fs::read_to_string(dir.path().join("old.key")).unwrap();
    assert!(
        !key_text.contains(original.trim()),
        "the original key is gone"
    );
    let first_line = key_text.lines().next().unwrap().to_owned();
    let new = TokenCipher::from_base64(&Secret::new(first_line)).unwrap();
    let pool = store::connect(&format!("sqlite://{}/connections.db", dir.path().display()))
        .await
        .unwrap();
    assert_eq!(
        store::credential(&pool, &new, id)
            .await
            .unwrap()
            .unwrap()
            .credential
            .secret
            .expose(),
        "sk_test_acct_1Rotate"
    );
    assert!(store::check_key(&pool, &old).await.is_err());
}

#[tokio::test]
async fn rotate_key_with_encryption_key_takes_the_new_key_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (old, _) = seed(dir.path()).await;
    let old_key = std::fs::read_to_string(key_file(dir.path())).unwrap();
    let new_key = backend::crypto::generate_key();
    let out = backend()
        .arg("rotate-key")
        .env("DATA_DIR", dir.path())
        .env("ENCRYPTION_KEY", old_key.trim())
        .env("NEW_ENCRYPTION_KEY", new_key.expose())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !printed.contains(new_key.expose()),
        "the key itself is never printed"
    );
    let pool = store::connect(&format!("sqlite://{}/connections.db", dir.path().display()))
        .await
        .unwrap();
    store::check_key(&pool, &TokenCipher::from_base64(&new_key).unwrap())
        .await
        .unwrap();
    assert!(store::check_key(&pool, &old).await.is_err());
}

#[tokio::test]
async fn a_wrong_key_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path()).await;
    let wrong = Secret::new(backend::crypto::generate_key().expose());
    let out = backend()
        .arg("serve")
        .env("DATA_DIR", dir.path())
        .env("BIND", "127.0.0.1:0")
        .env("ENCRYPTION_KEY", wrong.expose())
        .env("STRIPE_CLIENT_ID", "ca_WrongKeyTest")
        .env("STRIPE_SECRET_KEY", "sk_test_WrongKeyTest")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the encryption key does not open the stored Stripe tokens"),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong.expose()));
}

#[tokio::test]
async fn the_data_directory_and_database_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("state");
    let mut create = backend()
        .args(["create-user", "--email", "ops@bi.test", "--role", "admin"])
        .env("DATA_DIR", &data)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long operator password\n")
        .unwrap();
    assert!(create.wait().unwrap().success());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "DATA_DIR");
    let mut seen = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("connections.db") {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 1);
}

#[test]
fn a_start_without_stripe_credentials_or_demo_refuses() {
    let data = tempfile::tempdir().unwrap();
    let output = backend()
        .arg("serve")
        .env("DATA_DIR", data.path())
        .env("BIND", "127.0.0.1:0")
        .env("STRIPE_CLIENT_ID", "")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DEMO=1"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening"));
}

#[tokio::test]
async fn a_database_with_live_connections_never_meets_the_emulator() {
    let data = tempfile::tempdir().unwrap();
    let (_, _) = seed(data.path()).await;
    let output = backend()
        .arg("serve")
        .env("DATA_DIR", data.path())
        .env("BIND", "127.0.0.1:0")
        .env("DEMO", "1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("live Stripe"), "{stderr}");
}

fn rotate(dir: &std::path::Path) -> std::process::Output {
    backend()
        .arg("rotate-key")
        .env("DATA_DIR", dir)
        .output()
        .unwrap()
}

/// Runs `rotate-key` with this process's pool closed (its connections hold no snapshot the other
/// process must wait for), then opens it again.
async fn rotate_between(
    dir: &std::path::Path,
    pool: backend::store::Db,
) -> (std::process::Output, backend::store::Db) {
    pool.close().await;
    let out = rotate(dir);
    (out, open_db(dir).await)
}

fn key_ring(dir: &std::path::Path) -> TokenCipher {
    TokenCipher::load_or_create(None, dir).unwrap()
}

async fn open_db(dir: &std::path::Path) -> backend::store::Db {
    store::connect(&format!("sqlite://{}/connections.db", dir.display()))
        .await
        .unwrap()
}

/// A connection written by an instance sealing with `cipher`.
async fn write_row(pool: &backend::store::Db, cipher: &TokenCipher, account: &str) {
    write_row_with(pool, cipher, account, None).await;
}

#[tokio::test]
async fn two_rotations_with_an_instance_left_running_leave_every_token_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (original, _) = seed(dir.path()).await;
    // An instance keeps running with the original key, announcing it as it does every minute.
    let pool = open_db(dir.path()).await;
    let now = backend::clock::Clock::default().now();
    store::announce_key(&pool, "still-running", original.key_id(), now)
        .await
        .unwrap();
    let (out, pool) = rotate_between(dir.path(), pool).await;
    assert!(out.status.success());
    write_row(&pool, &original, "acct_1Late").await;
    let (out, pool) = rotate_between(dir.path(), pool).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    write_row(&pool, &original, "acct_1Later").await;
    // Every credential, old and new, opens with the key file as it now is.
    assert_eq!(
        store::verify_all(&pool, &key_ring(dir.path()))
            .await
            .unwrap(),
        3
    );
    let lines = std::fs::read_to_string(key_file(dir.path())).unwrap();
    assert_eq!(
        lines.lines().count(),
        3,
        "new, previous, and the running instance's"
    );
}

#[tokio::test]
async fn a_rotation_retried_after_a_failure_leaves_every_token_readable() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path()).await;
    let pool = open_db(dir.path()).await;
    // A row no key opens makes the re-encryption fail half-way.
    pool.execute(
        "INSERT INTO connections (kind, stripe_user_id, livemode, display_name, scope, \
         access_token_ct, token_key_id, status, created_at, updated_at) \
         VALUES ('stripe', 'acct_1Broken', false, 'Broken', 'read_only', 'AAAA', 'ffffffffffff', \
         'success', 1, 1)",
        args![],
    )
    .await
    .unwrap();
    let (out, pool) = rotate_between(dir.path(), pool).await;
    assert!(!out.status.success());
    pool.execute(
        "DELETE FROM connections WHERE stripe_user_id = 'acct_1Broken'",
        args![],
    )
    .await
    .unwrap();
    assert_eq!(
        store::verify_all(&pool, &key_ring(dir.path()))
            .await
            .unwrap(),
        1
    );
    let (out, pool) = rotate_between(dir.path(), pool).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        store::verify_all(&pool, &key_ring(dir.path()))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn two_rotations_never_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path()).await;
    let before = std::fs::read_to_string(key_file(dir.path())).unwrap();
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path().join("rotate-key.lock"))
        .unwrap();
    held.lock().unwrap();
    let out = rotate(dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another rotate-key is running"));
    assert_eq!(
        std::fs::read_to_string(key_file(dir.path())).unwrap(),
        before,
        "untouched"
    );
    held.unlock().unwrap();
    assert!(rotate(dir.path()).status.success());
}

#[tokio::test]
async fn migrate_runs_the_migrations_alone_and_a_newer_database_is_refused_clearly() {
    // SQLite in the data directory, or PostgreSQL when the suite runs there.
    let dir = tempfile::tempdir().unwrap();
    let url = support::test_database_url(dir.path()).await;
    let out = backend()
        .arg("migrate")
        .env("DATA_DIR", dir.path())
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("the database is at migration"), "{said}");
    // A newer version migrated the database further: this one refuses rather than guess.
    let pool = store::connect(&url).await.unwrap();
    pool.execute(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, \
         execution_time) VALUES (9999, 'from the future', CURRENT_TIMESTAMP, TRUE, $1, 1)",
        args![vec![0u8]],
    )
    .await
    .unwrap();
    pool.close().await;
    for command in ["migrate", "serve"] {
        let out = backend()
            .arg(command)
            .env("DATA_DIR", dir.path())
            .env("DATABASE_URL", &url)
            .env("DEMO", "1")
            .env("BIND", "127.0.0.1:0")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{command}");
        assert!(
            said.contains("migration 9999") && said.contains("newer version"),
            "{command}: {said}"
        );
    }
}
