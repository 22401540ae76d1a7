//! Running one statement on whichever database: `execute`, `fetch_*` (rows) and `scalar_*` (one
//! column) on a [`Db`] (any pooled connection), a [`Tx`] (the transaction) and a [`Conn`] (either).
//! The SQL text is the dialects' common ground, bound with [`Args`]; the match on the database
//! happens here, in the [`Db`] and [`Tx`] methods, and nowhere else.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Decode, FromRow, Postgres, Sqlite, Type};

use super::{Args, Conn, Db, StoreError, Tx};

/// A row type both drivers read: a `#[derive(sqlx::FromRow)]` struct, or a tuple of [`Scalar`]s.
pub trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<T> Record for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A column value both drivers decode (`i64`, `String`, `bool`, `Option` of them…).
pub trait Scalar:
    for<'r> Decode<'r, Sqlite>
    + Type<Sqlite>
    + for<'r> Decode<'r, Postgres>
    + Type<Postgres>
    + Send
    + Unpin
{
}

impl<T> Scalar for T where
    T: for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
        + Send
        + Unpin
{
}

/// Runs `$body` with `$e` bound to the executor — a pool (`pool $db`, a [`Db`]) or a
/// transaction's connection (`tx $tx`, a [`Tx`]) — and `$a` to `$args` bound for that database.
/// The one dialect switch: two arms per use, as the macros at each call site had before.
macro_rules! dispatch {
    (pool $db:expr, $args:expr, |$e:ident, $a:ident| $body:expr) => {
        match $db {
            Db::Sqlite($e, _) => {
                let $a = $args.bind::<SqliteArguments<'_>>()?;
                $body
            }
            Db::Postgres($e) => {
                let $a = $args.bind::<PgArguments>()?;
                $body
            }
        }
    };
    (tx $tx:expr, $args:expr, |$e:ident, $a:ident| $body:expr) => {
        match $tx {
            Tx::Sqlite(t, _) => {
                let $e = &mut **t;
                let $a = $args.bind::<SqliteArguments<'_>>()?;
                $body
            }
            Tx::Postgres(t) => {
                let $e = &mut **t;
                let $a = $args.bind::<PgArguments>()?;
                $body
            }
        }
    };
}

impl Db {
    /// Runs a statement on any pooled connection; the rows it changed.
    pub async fn execute(&self, sql: &str, args: Args<'_>) -> Result<u64, StoreError> {
        Ok(dispatch!(pool self, args, |e, a| {
            sqlx::query_with(sql, a).execute(e).await?.rows_affected()
        }))
    }

    /// The one row a query returns on any pooled connection (an error when there is none).
    pub async fn fetch_one<T: Record>(&self, sql: &str, args: Args<'_>) -> Result<T, StoreError> {
        Ok(dispatch!(pool self, args, |e, a| {
            sqlx::query_as_with(sql, a).fetch_one(e).await?
        }))
    }

    /// The first row a query returns on any pooled connection, if any.
    pub async fn fetch_optional<T: Record>(
        &self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Option<T>, StoreError> {
        Ok(dispatch!(pool self, args, |e, a| {
            sqlx::query_as_with(sql, a).fetch_optional(e).await?
        }))
    }

    /// Every row a query returns on any pooled connection.
    pub async fn fetch_all<T: Record>(
        &self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Vec<T>, StoreError> {
        Ok(dispatch!(pool self, args, |e, a| {
            sqlx::query_as_with(sql, a).fetch_all(e).await?
        }))
    }

    /// The first column of the one row a query returns on any pooled connection (an error when
    /// there is none).
    pub async fn scalar_one<T: Scalar>(&self, sql: &str, args: Args<'_>) -> Result<T, StoreError> {
        Ok(dispatch!(pool self, args, |e, a| {
            sqlx::query_scalar_with(sql, a).fetch_one(e).await?
        }))
    }

    /// The first column of the first row a query returns on any pooled connection, if any.
    pub async fn scalar_optional<T: Scalar>(
        &self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Option<T>, StoreError> {
        Ok(dispatch!(pool self, args, |e, a| {
            sqlx::query_scalar_with(sql, a).fetch_optional(e).await?
        }))
    }

    /// Every row a query returns on any pooled connection, each column read as text (a query of
    /// columns not known until run time: cast each to text in the SQL).
    pub async fn fetch_text_rows(
        &self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        use sqlx::Row;
        Ok(dispatch!(pool self, args, |e, a| {
            sqlx::query_with(sql, a)
                .fetch_all(e)
                .await?
                .iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| row.try_get::<Option<String>, _>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .collect::<Result<Vec<_>, _>>()?
        }))
    }

    /// The first column of every row a query returns on any pooled connection.
    pub async fn scalar_all<T: Scalar>(
        &self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Vec<T>, StoreError> {
        Ok(dispatch!(pool self, args, |e, a| {
            sqlx::query_scalar_with(sql, a).fetch_all(e).await?
        }))
    }
}

impl Tx {
    /// Runs a statement in the transaction; the rows it changed.
    pub async fn execute(&mut self, sql: &str, args: Args<'_>) -> Result<u64, StoreError> {
        Ok(dispatch!(tx self, args, |e, a| {
            sqlx::query_with(sql, a).execute(e).await?.rows_affected()
        }))
    }

    /// [`Tx::execute`] for a statement seldom run again: not kept prepared on the connection
    /// (the connection's cache holds the statements run often).
    pub async fn execute_once(&mut self, sql: &str, args: Args<'_>) -> Result<u64, StoreError> {
        Ok(dispatch!(tx self, args, |e, a| {
            sqlx::query_with(sql, a)
                .persistent(false)
                .execute(e)
                .await?
                .rows_affected()
        }))
    }

    /// The one row a query returns in the transaction (an error when there is none).
    pub async fn fetch_one<T: Record>(
        &mut self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<T, StoreError> {
        Ok(dispatch!(tx self, args, |e, a| {
            sqlx::query_as_with(sql, a).fetch_one(e).await?
        }))
    }

    /// The first row a query returns in the transaction, if any.
    pub async fn fetch_optional<T: Record>(
        &mut self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Option<T>, StoreError> {
        Ok(dispatch!(tx self, args, |e, a| {
            sqlx::query_as_with(sql, a).fetch_optional(e).await?
        }))
    }

    /// Every row a query returns in the transaction.
    pub async fn fetch_all<T: Record>(
        &mut self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Vec<T>, StoreError> {
        Ok(dispatch!(tx self, args, |e, a| {
            sqlx::query_as_with(sql, a).fetch_all(e).await?
        }))
    }

    /// The first column of the one row a query returns in the transaction (an error when there is
    /// none).
    pub async fn scalar_one<T: Scalar>(
        &mut self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<T, StoreError> {
        Ok(dispatch!(tx self, args, |e, a| {
            sqlx::query_scalar_with(sql, a).fetch_one(e).await?
        }))
    }

    /// The first column of the first row a query returns in the transaction, if any.
    pub async fn scalar_optional<T: Scalar>(
        &mut self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Option<T>, StoreError> {
        Ok(dispatch!(tx self, args, |e, a| {
            sqlx::query_scalar_with(sql, a).fetch_optional(e).await?
        }))
    }

    /// The first column of every row a query returns in the transaction.
    pub async fn scalar_all<T: Scalar>(
        &mut self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Vec<T>, StoreError> {
        Ok(dispatch!(tx self, args, |e, a| {
            sqlx::query_scalar_with(sql, a).fetch_all(e).await?
        }))
    }
}

impl Conn<'_> {
    /// Runs a statement; the rows it changed.
    pub async fn execute(self, sql: &str, args: Args<'_>) -> Result<u64, StoreError> {
        match self {
            Conn::Pool(db) => db.execute(sql, args).await,
            Conn::Tx(tx) => tx.execute(sql, args).await,
        }
    }

    /// The one row a query returns (an error when there is none).
    pub async fn fetch_one<T: Record>(self, sql: &str, args: Args<'_>) -> Result<T, StoreError> {
        match self {
            Conn::Pool(db) => db.fetch_one(sql, args).await,
            Conn::Tx(tx) => tx.fetch_one(sql, args).await,
        }
    }

    /// The first row a query returns, if any.
    pub async fn fetch_optional<T: Record>(
        self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Option<T>, StoreError> {
        match self {
            Conn::Pool(db) => db.fetch_optional(sql, args).await,
            Conn::Tx(tx) => tx.fetch_optional(sql, args).await,
        }
    }

    /// Every row a query returns.
    pub async fn fetch_all<T: Record>(
        self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Conn::Pool(db) => db.fetch_all(sql, args).await,
            Conn::Tx(tx) => tx.fetch_all(sql, args).await,
        }
    }

    /// The first column of the one row a query returns (an error when there is none).
    pub async fn scalar_one<T: Scalar>(self, sql: &str, args: Args<'_>) -> Result<T, StoreError> {
        match self {
            Conn::Pool(db) => db.scalar_one(sql, args).await,
            Conn::Tx(tx) => tx.scalar_one(sql, args).await,
        }
    }

    /// The first column of the first row a query returns, if any.
    pub async fn scalar_optional<T: Scalar>(
        self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Option<T>, StoreError> {
        match self {
            Conn::Pool(db) => db.scalar_optional(sql, args).await,
            Conn::Tx(tx) => tx.scalar_optional(sql, args).await,
        }
    }

    /// The first column of every row a query returns.
    pub async fn scalar_all<T: Scalar>(
        self,
        sql: &str,
        args: Args<'_>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Conn::Pool(db) => db.scalar_all(sql, args).await,
            Conn::Tx(tx) => tx.scalar_all(sql, args).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{args, connect};
    use super::*;

    #[tokio::test]
    async fn one_text_runs_on_the_pool_in_a_transaction_and_through_a_conn() {
        let db = connect("sqlite::memory:").await.unwrap();
        db.execute(
            "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, on_ BOOLEAN NOT NULL, b BLOB)",
            args![],
        )
        .await
        .unwrap();
        let insert = "INSERT INTO t (id, name, on_, b) VALUES ($1, $2, $3, $4)";
        let name = String::from("one");
        assert_eq!(
            db.execute(insert, args![1, &name, true, vec![1u8]])
                .await
                .unwrap(),
            1
        );
        let mut tx = db.begin().await.unwrap();
        tx.execute(insert, args![2, None::<String>, false, vec![]])
            .await
            .unwrap();
        let seen: i64 = tx
            .scalar_one("SELECT COUNT(*) FROM t", args![])
            .await
            .unwrap();
        assert_eq!(seen, 2, "the transaction sees its own write");
        tx.rollback().await.unwrap();
        let rows: Vec<(i64, Option<String>, bool)> = Conn::from(&db)
            .fetch_all("SELECT id, name, on_ FROM t ORDER BY id", args![])
            .await
            .unwrap();
        assert_eq!(rows, [(1, Some("one".to_owned()), true)]);
        let missing: Option<Option<String>> = db
            .scalar_optional("SELECT name FROM t WHERE id = $1", args![2])
            .await
            .unwrap();
        assert_eq!(missing, None, "rolled back");
        let ids: Vec<i64> = db
            .scalar_all("SELECT id FROM t WHERE name = $1", args!["one"])
            .await
            .unwrap();
        assert_eq!(ids, [1]);
        assert!(db
            .fetch_one::<(i64,)>("SELECT id FROM t WHERE id = $1", args![9])
            .await
            .is_err());
    }
}
