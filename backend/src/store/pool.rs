//! The database: opening it (SQLite: owner-only file, WAL; PostgreSQL: a pool) and its migrations
//! per dialect.

use std::str::FromStr;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

use super::db::Turns;
use super::{args, Db, StoreError};

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

/// Opens the database `database_url` names (`sqlite:` — created if missing, owner-only — or
/// `postgres:`) and runs the migrations.
pub async fn connect(database_url: &str) -> Result<Db, StoreError> {
    let db = if is_postgres(database_url) {
        connect_postgres(database_url).await?
    } else {
        Db::Sqlite(connect_sqlite(database_url).await?, Turns::new())
    };
    migrate(&db).await?;
    Ok(db)
}

/// Whether `database_url` names a PostgreSQL database.
pub fn is_postgres(database_url: &str) -> bool {
    database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")
}

async fn connect_sqlite(database_url: &str) -> Result<SqlitePool, StoreError> {
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
    Ok(SqlitePoolOptions::new()
        .max_connections(max)
        .connect_with(options)
        .await?)
}

/// Connections per instance to PostgreSQL (`DATABASE_MAX_CONNECTIONS`, default 10): the server's
/// `max_connections` must cover every instance's pool.
fn postgres_pool_size() -> u32 {
    std::env::var("DATABASE_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(10)
}

async fn connect_postgres(database_url: &str) -> Result<Db, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(postgres_pool_size())
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect(database_url)
        .await?;
    Ok(Db::Postgres(pool))
}

/// Runs the migrations this version has that the database lacks; refuses a database that a newer
/// version migrated further (its tables may not be what this version reads and writes). Returns
/// the database's latest migration. Instances starting together on one PostgreSQL database take
/// turns (an advisory lock).
pub async fn migrate(db: &Db) -> Result<i64, StoreError> {
    match db {
        Db::Sqlite(pool, _) => {
            let migrator = sqlx::migrate!("./migrations/sqlite");
            let applied = refuse_newer(db, &migrator).await?;
            if !applied.contains(&FIRST_WITHOUT_FORMER_SESSIONS) {
                former_sessions_table(db).await?;
            }
            migrator.run(pool).await?;
            Ok(latest(&migrator))
        }
        Db::Postgres(pool) => {
            let migrator = sqlx::migrate!("./migrations/postgres");
            // On the native pool: the advisory lock belongs to the one connection that takes it
            // and must be released on that connection, which the query layer does not hold.
            let mut lock = pool.acquire().await?;
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *lock)
                .await?;
            let result = async {
                let applied = refuse_newer(db, &migrator).await?;
                if !applied.contains(&FIRST_WITHOUT_FORMER_SESSIONS) {
                    former_sessions_table(db).await?;
                }
                migrator.run(pool).await?;
                Ok(latest(&migrator))
            }
            .await;
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *lock)
                .await?;
            result
        }
    }
}

/// The advisory lock instances take turns on while migrating (any fixed number).
const MIGRATION_LOCK: i64 = 0x5354_5249_5045;

fn latest(migrator: &sqlx::migrate::Migrator) -> i64 {
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The migration that drops the sessions table of the store used before ours (`tower-sessions`).
const FIRST_WITHOUT_FORMER_SESSIONS: i64 = 21;

/// The former session store's table, empty, as that store created it before our migrations ran:
/// migrations released before 21 put triggers on it (they cannot change: their checksums are
/// recorded), and 21 drops it again. Only made while 21 has not run.
async fn former_sessions_table(db: &Db) -> Result<(), StoreError> {
    let statements: &[&str] = match db {
        Db::Sqlite(..) => &["CREATE TABLE IF NOT EXISTS tower_sessions \
             (id TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL, expiry_date INTEGER NOT NULL)"],
        Db::Postgres(_) => &[
            "CREATE SCHEMA IF NOT EXISTS tower_sessions",
            "CREATE TABLE IF NOT EXISTS tower_sessions.session \
             (id TEXT PRIMARY KEY NOT NULL, data BYTEA NOT NULL, expiry_date TIMESTAMPTZ NOT NULL)",
        ],
    };
    for statement in statements {
        db.execute(statement, args![]).await?;
    }
    Ok(())
}

/// The database's applied migrations; [`StoreError::NewerDatabase`] when one of them is a
/// migration `migrator` does not know.
async fn refuse_newer(db: &Db, migrator: &sqlx::migrate::Migrator) -> Result<Vec<i64>, StoreError> {
    // A new database has no migrations table yet: nothing applied.
    let applied: Vec<i64> = db
        .scalar_all(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
            args![],
        )
        .await
        .unwrap_or_default();
    match applied
        .iter()
        .find(|v| !migrator.iter().any(|m| m.version == **v))
    {
        Some(unknown) => Err(StoreError::NewerDatabase(*unknown)),
        None => Ok(applied),
    }
}

/// Liveness: the database answers.
pub async fn ping(db: &Db) -> Result<(), StoreError> {
    db.execute("SELECT 1", args![]).await?;
    Ok(())
}
