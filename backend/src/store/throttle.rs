//! Sign-in throttling: failure counters per key (an address, an account at an address, an account)
//! in a fixed window, shared by every instance on the database.

use super::{args, Db, Dialect, StoreError};

/// Counts a sign-in attempt against the keys in order *before* the password is checked, in one
/// statement per key, so a burst of parallel guesses cannot all slip under the limit. Stops at the
/// first key over its limit and returns the seconds to wait (a new window starts when the old one
/// is over): a refused address adds no counters, so it cannot flood the table.
pub async fn charge_sign_in(
    pool: &Db,
    keys: &[(String, i64)],
    now: i64,
    window_secs: i64,
) -> Result<Option<i64>, StoreError> {
    for (key, limit) in keys {
        let (attempts, window_start): (i64, i64) = pool
            .fetch_one(
                "INSERT INTO sign_in_failures (throttle_key, failures, window_start) \
                 VALUES ($1, 1, $2) \
                 ON CONFLICT (throttle_key) DO UPDATE SET \
                   failures = CASE WHEN sign_in_failures.window_start + $3 <= $2 THEN 1 \
                                   ELSE sign_in_failures.failures + 1 END, \
                   window_start = CASE WHEN sign_in_failures.window_start + $3 <= $2 THEN $2 \
                                       ELSE sign_in_failures.window_start END \
                 RETURNING failures, window_start",
                args![key, now, window_secs],
            )
            .await?;
        if attempts > *limit {
            return Ok(Some((window_start + window_secs - now).max(1)));
        }
    }
    Ok(None)
}

/// A successful sign-in: the account's counts are cleared and the attempt is given back to the
/// client address (only failures count against it).
pub async fn refund_sign_in(pool: &Db, keys: &[(String, i64)]) -> Result<(), StoreError> {
    for (account, _) in keys.iter().filter(|(k, _)| k.starts_with("account:")) {
        pool.execute(
            "DELETE FROM sign_in_failures WHERE throttle_key = $1",
            args![account],
        )
        .await?;
    }
    for (key, _) in keys.iter().filter(|(k, _)| k.starts_with("client:")) {
        pool.execute(
            "UPDATE sign_in_failures SET failures = failures - 1 \
             WHERE throttle_key = $1 AND failures > 0",
            args![key],
        )
        .await?;
    }
    Ok(())
}

/// Keeps at most `max` sign-in counters, dropping the oldest windows first.
pub async fn cap_throttle_rows(pool: &Db, max: i64) -> Result<(), StoreError> {
    // SQLite needs a LIMIT before an OFFSET (-1: none); PostgreSQL refuses a negative one.
    let all = match pool.dialect() {
        Dialect::Sqlite => "LIMIT -1 ",
        Dialect::Postgres => "",
    };
    pool.execute(
        &format!(
            "DELETE FROM sign_in_failures WHERE throttle_key IN (SELECT throttle_key FROM \
             sign_in_failures ORDER BY window_start DESC {all}OFFSET $1)",
        ),
        args![max],
    )
    .await?;
    Ok(())
}
