//! The database the product runs on, chosen once at start-up from `DATABASE_URL`: SQLite (the
//! default, one machine) or PostgreSQL (several instances sharing it) — its pool ([`Db`]), a
//! transaction ([`Tx`]) and either ([`Conn`]). Each aggregate's module writes its SQL once where the
//! dialects agree — `$1` placeholders, `ON CONFLICT`, `RETURNING`, BIGINT and BOOLEAN columns read
//! as `i64` and `bool` — and runs it with the methods of `store/query.rs`; where they differ a
//! module asks [`Db::dialect`].

use std::sync::Arc;
use std::time::Duration;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The two dialects the store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.35+ (embedded, the default).
    Sqlite,
    /// PostgreSQL 13+.
    Postgres,
}

impl Dialect {
    /// A claim's row lock: PostgreSQL skips rows another instance is claiming at this moment
    /// (`FOR UPDATE SKIP LOCKED`); SQLite has one writer at a time and needs none.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// A read that a change depends on: PostgreSQL locks the rows read until the transaction ends
    /// (`FOR UPDATE`); SQLite's one writer at a time already serialises such changes.
    pub fn for_update(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }
}

/// SQLite's transactions take turns, in the order they asked. SQLite itself lets one writer in at
/// a time and makes the others poll, sleeping longer and longer (up to 100 ms) between tries: a
/// writer that begins again the moment it commits (the sync's, while a backfill has pages waiting)
/// would almost always win, and a sign-in's or a small account's transaction would wait for the
/// whole backfill. Here each waits its turn instead (a fair queue), and only the transaction
/// holding the turn meets SQLite's lock. Statements outside a transaction do not take turns.
#[derive(Debug, Clone)]
pub struct Turns(Arc<Semaphore>);

/// How long a transaction waits for its turn before it begins anyway (SQLite's own wait then
/// applies): never a deadlock when a task holding a turn begins a second transaction.
const TURN_WAIT: Duration = Duration::from_secs(5);

impl Turns {
    /// One transaction at a time.
    pub fn new() -> Self {
        Self(Arc::new(Semaphore::new(1)))
    }

    /// Waits for the turn (`None` when it took longer than [`TURN_WAIT`]).
    async fn take(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(TURN_WAIT, self.0.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
    }
}

impl Default for Turns {
    fn default() -> Self {
        Self::new()
    }
}

/// A pool of either database. Cloning shares the pool.
#[derive(Debug, Clone)]
pub enum Db {
    /// SQLite, and its transactions' turns.
    Sqlite(SqlitePool, Turns),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// An open transaction on either database; dropped without [`Tx::commit`] it rolls back.
#[derive(Debug)]
pub enum Tx {
    /// SQLite, and the turn it holds until it ends.
    Sqlite(Transaction<'static, Sqlite>, Option<OwnedSemaphorePermit>),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

/// Where a statement runs: on the pool, or inside a caller's transaction.
#[derive(Debug)]
pub enum Conn<'a> {
    /// Any pooled connection.
    Pool(&'a Db),
    /// The caller's transaction.
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Db> for Conn<'a> {
    fn from(db: &'a Db) -> Self {
        Self::Pool(db)
    }
}

impl<'a> From<&'a mut Tx> for Conn<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        Self::Tx(tx)
    }
}

/// PostgreSQL's `BEGIN`, carried to its end even when the caller is cancelled (a sync reader
/// aborted because another list failed): sqlx counts the transaction only once the server answered,
/// so a `begin` dropped in between hands the connection back to the pool inside a transaction that
/// nothing ends, and the next borrower's statements run in it and are never committed
/// (launchbadge/sqlx#4393, in 0.8.6 and 0.9.0). In a task of its own the `BEGIN` completes, and a
/// transaction nobody awaits any more is dropped there, which rolls it back.
async fn begin_postgres(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin().await })
        .await
        .map_err(|_| sqlx::Error::WorkerCrashed)?
}

impl Db {
    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        match self {
            Self::Sqlite(..) => Dialect::Sqlite,
            Self::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Opens a transaction (on SQLite, when its turn comes).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(p, turns) => {
                let turn = turns.take().await;
                Tx::Sqlite(p.begin().await?, turn)
            }
            Self::Postgres(p) => Tx::Postgres(begin_postgres(p).await?),
        })
    }

    /// Begins a transaction that will write after reading: on SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`, waiting its turn like any writer), since a transaction that read
    /// first cannot start writing while another writer went on meanwhile (SQLite answers "database
    /// is locked" without waiting); on PostgreSQL an ordinary transaction.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(p, turns) => {
                let turn = turns.take().await;
                Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Self::Postgres(p) => Tx::Postgres(begin_postgres(p).await?),
        })
    }

    /// Closes every pooled connection (waits for those in use).
    pub async fn close(&self) {
        match self {
            Self::Sqlite(p, _) => p.close().await,
            Self::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    /// Which database the transaction is on.
    pub fn dialect(&self) -> Dialect {
        match self {
            Self::Sqlite(..) => Dialect::Sqlite,
            Self::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Makes the transaction's writes durable and visible.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(t, _) => t.commit().await,
            Self::Postgres(t) => t.commit().await,
        }
    }

    /// Lets the commit return before it is flushed to disk (PostgreSQL's `synchronous_commit =
    /// off` for this transaction alone; SQLite in WAL mode syncs at checkpoints anyway). For
    /// writes a crash may lose *whole*: a sync page and its checkpoint go together, so a lost one
    /// is fetched again after the restart. Never half-applied: only the last moments' commits can
    /// be lost, each entirely.
    pub async fn relax_durability(&mut self) -> Result<(), sqlx::Error> {
        if let Self::Postgres(t) = self {
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// Undoes the transaction's writes.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(t, _) => t.rollback().await,
            Self::Postgres(t) => t.rollback().await,
        }
    }
}
