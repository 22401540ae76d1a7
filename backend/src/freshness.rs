//! When this instance may reuse what it read from the database without asking again.
//!
//! The tables whose changes matter to a request's snapshot (users, sessions, connections) move
//! trigger-kept versions in `change_counters`. This instance learns of a change two ways:
//! - **its own writes**, at once: an SQLite update hook on every pooled connection sees the
//!   counters move inside the writing transaction and closes reuse until that transaction has
//!   settled and the watcher has read the committed counters;
//! - **other processes' writes** (another instance, the CLI): the watcher reads the counters every
//!   [`TICK`].
//!
//! A *generation* names one state of the counters; anything built under a generation may be reused
//! while [`Freshness::generation`] still returns it. Reuse is off (every request reads the
//! database) while a write is in flight, and whenever the watcher has not ticked lately (not
//! started, or stalled), so a stopped watcher can never serve stale answers. The price: another
//! process's change is seen here up to one [`TICK`] late.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteOperation;
use sqlx::SqliteConnection;

/// How often the counters are read.
pub const TICK: Duration = Duration::from_millis(100);
/// The table the hooks watch.
const COUNTERS: &str = "change_counters";

/// Shared by the hooks of every pooled connection, the watcher task and the readers.
#[derive(Debug)]
pub struct Freshness {
    /// The current generation.
    generation: AtomicU64,
    /// Transactions that changed the counters (counted when their first change is made).
    opened: AtomicU64,
    /// Of those, how many have passed their commit or rollback.
    settled: AtomicU64,
    /// `opened` as of the last time the watcher saw all of them settled and visible.
    cleared: AtomicU64,
    /// Milliseconds after `origin` of the watcher's last tick; 0 → never.
    ticked_at: AtomicU64,
    origin: Instant,
}

impl Default for Freshness {
    fn default() -> Self {
        Self {
            generation: AtomicU64::new(1),
            opened: AtomicU64::new(0),
            settled: AtomicU64::new(0),
            cleared: AtomicU64::new(0),
            ticked_at: AtomicU64::new(0),
            origin: Instant::now(),
        }
    }
}

impl Freshness {
    /// The generation under which a reader may reuse what it built, or `None` when it must read
    /// the database (a write in flight, or no recent tick). Read it *before* reading the database:
    /// what is built after a change began is then filed under an older generation, never reused.
    pub fn generation(&self) -> Option<u64> {
        let tick = u64::try_from(TICK.as_millis()).unwrap_or(u64::MAX);
        let ticked_at = self.ticked_at.load(Ordering::Acquire);
        let live = ticked_at != 0 && self.now_ms().saturating_sub(ticked_at) <= 3 * tick;
        let quiet = self.opened.load(Ordering::Acquire) == self.cleared.load(Ordering::Acquire);
        (live && quiet).then(|| self.generation.load(Ordering::Acquire))
    }

    /// Ends the reuse of everything read so far: called after a write that must show on the very
    /// next request (sign-out, a role change, disabling), once it has committed — the commit hook
    /// alone runs just before a commit is durable, which a slow disk can stretch past a tick.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Installs the hooks on one connection (the pool's `after_connect`).
    pub async fn watch_connection(
        self: &Arc<Self>,
        conn: &mut SqliteConnection,
    ) -> Result<(), sqlx::Error> {
        let mut handle = conn.lock_handle().await?;
        // Whether this connection's open transaction has changed the counters.
        let in_tx = Arc::new(AtomicBool::new(false));
        let (me, flag) = (self.clone(), in_tx.clone());
        handle.set_update_hook(move |change| {
            if change.table == COUNTERS
                && !matches!(change.operation, SqliteOperation::Unknown(_))
                && !flag.swap(true, Ordering::AcqRel)
            {
                me.opened.fetch_add(1, Ordering::AcqRel);
            }
        });
        let (me, flag) = (self.clone(), in_tx.clone());
        handle.set_commit_hook(move || {
            if flag.swap(false, Ordering::AcqRel) {
                me.settled.fetch_add(1, Ordering::AcqRel);
            }
            true
        });
        let (me, flag) = (self.clone(), in_tx);
        handle.set_rollback_hook(move || {
            if flag.swap(false, Ordering::AcqRel) {
                me.settled.fetch_add(1, Ordering::AcqRel);
            }
        });
        Ok(())
    }

    /// Reads the counters (with `read`) every [`TICK`] until the task is dropped.
    pub async fn watch<F, Fut, E>(self: Arc<Self>, read: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<BTreeMap<String, i64>, E>>,
        E: std::fmt::Display,
    {
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seen: Option<BTreeMap<String, i64>> = None;
        // `opened` at the previous tick, when every transaction opened by then had settled.
        let mut settled_before: Option<u64> = None;
        loop {
            interval.tick().await;
            let opened = self.opened.load(Ordering::Acquire);
            let all_settled = self.settled.load(Ordering::Acquire) >= opened;
            let counters = match read().await {
                Ok(counters) => counters,
                Err(e) => {
                    // No tick: reuse stops within three ticks.
                    tracing::warn!(error = %e, "reading change counters");
                    continue;
                }
            };
            if seen.as_ref() != Some(&counters) {
                self.generation.fetch_add(1, Ordering::AcqRel);
                seen = Some(counters);
            }
            // A commit hook runs just before its commit is durable and visible: clear what had
            // settled a whole tick ago, once the counters it moved have been read above.
            if let Some(before) = settled_before {
                self.cleared.fetch_max(before, Ordering::AcqRel);
            }
            settled_before = all_settled.then_some(opened);
            self.ticked_at.store(self.now_ms(), Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{on, on_tx, Db};

    async fn watched_pool(freshness: &Arc<Freshness>) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/f.db", dir.path().display());
        let pool = crate::store::connect_watched(&url, Some(freshness.clone()))
            .await
            .unwrap();
        (dir, pool)
    }

    fn watch(
        freshness: &Arc<Freshness>,
        pool: &Db,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        freshness
            .clone()
            .watch(crate::store::change_counter_reader(pool.clone()))
    }

    async fn wait_ticks(n: u32) {
        tokio::time::sleep(TICK * n + TICK / 2).await;
    }

    #[tokio::test]
    async fn no_reuse_before_the_watcher_ticks_or_after_it_stops() {
        let freshness = Arc::new(Freshness::default());
        let (_dir, pool) = watched_pool(&freshness).await;
        assert_eq!(freshness.generation(), None);
        let watcher = tokio::spawn(watch(&freshness, &pool));
        wait_ticks(2).await;
        assert!(freshness.generation().is_some());
        watcher.abort();
        wait_ticks(4).await;
        assert_eq!(freshness.generation(), None);
    }

    #[tokio::test]
    async fn a_write_by_this_instance_closes_reuse_at_once_and_moves_the_generation() {
        let freshness = Arc::new(Freshness::default());
        let (_dir, pool) = watched_pool(&freshness).await;
        let _watcher = tokio::spawn(watch(&freshness, &pool));
        wait_ticks(3).await;
        let before = freshness.generation().unwrap();
        // A trigger moves the counter inside the user's update.
        on!(pool, |c| sqlx::query(
            "INSERT INTO users (email, display_name, role, password_hash, created_at) \
             VALUES ('a@x', '', 'admin', 'h', 1)",
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        assert_eq!(
            freshness.generation(),
            Some(before),
            "inserting a user changes no session"
        );
        on!(pool, |c| sqlx::query("UPDATE users SET role = 'standard'")
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
        assert_eq!(
            freshness.generation(),
            None,
            "closed as soon as the write is made"
        );
        wait_ticks(3).await;
        let after = freshness.generation().unwrap();
        assert!(after > before);
        // A change no snapshot shows (the last sign-in time) leaves reuse open.
        on!(pool, |c| sqlx::query(
            "UPDATE users SET last_sign_in_at = 5"
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        assert_eq!(freshness.generation(), Some(after));
    }

    #[tokio::test]
    async fn a_rolled_back_write_reopens_reuse() {
        let freshness = Arc::new(Freshness::default());
        let (_dir, pool) = watched_pool(&freshness).await;
        let _watcher = tokio::spawn(watch(&freshness, &pool));
        wait_ticks(2).await;
        let mut tx = pool.begin().await.unwrap();
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE change_counters SET version = version + 1"
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        wait_ticks(2).await;
        assert_eq!(
            freshness.generation(),
            None,
            "closed while the write is open"
        );
        tx.rollback().await.unwrap();
        wait_ticks(3).await;
        assert!(freshness.generation().is_some());
    }

    #[tokio::test]
    async fn another_process_write_is_seen_within_a_tick() {
        let freshness = Arc::new(Freshness::default());
        let (dir, pool) = watched_pool(&freshness).await;
        let _watcher = tokio::spawn(watch(&freshness, &pool));
        wait_ticks(2).await;
        let before = freshness.generation().unwrap();
        let other = crate::store::connect(&format!("sqlite://{}/f.db", dir.path().display()))
            .await
            .unwrap();
        on!(other, |c| sqlx::query(
            "UPDATE change_counters SET version = version + 1 WHERE name = 'connections'"
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        assert_eq!(
            freshness.generation(),
            Some(before),
            "not hooked: seen by the watcher"
        );
        wait_ticks(2).await;
        assert!(freshness.generation().unwrap() > before);
    }
}
