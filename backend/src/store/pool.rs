//! The database: opening it (owner-only file, WAL, migrations, optional write hooks) and the
//! trigger-kept change counters.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

use super::StoreError;

/// The file behind a `sqlite:` URL, unless the database lives in memory.
pub(super) fn database_file(database_url: &str) -> Option<std::path::PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path.contains(":memory:") || query.contains("mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// The database holds session ids and sealed credentials: readable by its owner only (0600).
/// SQLite gives its `-wal` and `-shm` files the same mode as the database file.
fn make_private(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Opens (creating if missing, owner-only) the SQLite database and runs the migrations.
pub async fn connect(database_url: &str) -> Result<SqlitePool, StoreError> {
    connect_watched(database_url, None).await
}

/// [`connect`], with every pooled connection reporting its writes to `freshness`.
pub async fn connect_watched(
    database_url: &str,
    freshness: Option<std::sync::Arc<crate::freshness::Freshness>>,
) -> Result<SqlitePool, StoreError> {
    if let Some(path) = database_file(database_url) {
        make_private(&path).map_err(|e| {
            StoreError::Database(sqlx::Error::Configuration(
                format!("database file {}: {e}", path.display()).into(),
            ))
        })?;
    }
    let options = SqliteConnectOptions::from_str(database_url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5));
    // An in-memory database exists per connection: keep one (tests). SQLite runs one writer at a
    // time and sqlx gives each connection a thread: a few connections serve more requests per
    // second on a small machine than many (measured under load: 8 → 4 raised throughput ~35 %).
    let max = if database_url.contains(":memory:") {
        1
    } else {
        4
    };
    let mut pool_options = SqlitePoolOptions::new().max_connections(max);
    if let Some(freshness) = freshness {
        pool_options = pool_options.after_connect(move |conn, _| {
            let freshness = freshness.clone();
            Box::pin(async move { freshness.watch_connection(conn).await })
        });
    }
    let pool = pool_options.connect_with(options).await?;
    // The sessions' table first: our migrations put triggers on it.
    tower_sessions_sqlx_store::SqliteStore::new(pool.clone())
        .migrate()
        .await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Runs the migrations this version has that the database lacks; refuses a database that a newer
/// version migrated further (its tables may not be what this version reads and writes). Returns
/// the database's latest migration.
pub async fn migrate(pool: &SqlitePool) -> Result<i64, StoreError> {
    let migrator = sqlx::migrate!("./migrations");
    let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    // A new database has no migrations table yet: nothing applied.
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await
            .unwrap_or_default();
    if let Some(unknown) = applied.iter().find(|v| !known.contains(v)) {
        return Err(StoreError::NewerDatabase(*unknown));
    }
    migrator.run(pool).await?;
    Ok(known.iter().copied().max().unwrap_or(0))
}

/// Every trigger-kept change counter, by name.
pub async fn change_counters(
    pool: &SqlitePool,
) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT name, version FROM change_counters")
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Reads `pool`'s change counters each time it is called (what the freshness watcher polls).
pub fn change_counter_reader(
    pool: SqlitePool,
) -> impl Fn() -> futures_util::future::BoxFuture<
    'static,
    Result<std::collections::BTreeMap<String, i64>, StoreError>,
> + Send
       + Sync
       + 'static {
    move || {
        let pool = pool.clone();
        Box::pin(async move { change_counters(&pool).await })
    }
}

/// Liveness: the database answers.
pub async fn ping(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}
