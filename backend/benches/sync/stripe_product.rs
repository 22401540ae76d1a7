//! The product as a Stripe-conditions scenario runs it: its own state over a fresh database (a
//! temporary directory) with the sync's rate at the product's defaults (80/s live, 20/s test per
//! connection), its sync worker running as `Application::run` runs it, accounts connected by
//! restricted key and queued the way the product queues a new connection, and a watcher noting when
//! each connection has every table synced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backend::args;
use backend::ids::ConnectionId;
use backend::state::AppState;
use backend::stripe::lists::StripeList;
use tokio::task::JoinHandle;
use url::Url;

use crate::backfill::{connect_key, stored_rows};
use crate::common::{product_state, Bench};
use crate::stripe_account::Account;

/// The sync worker's tick, as `Application::run` spawns it.
pub const WORKER_TICK: Duration = Duration::from_secs(5);
/// How often the watcher reads the tables' sync state.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// A product syncing from the Stripe-like server; its worker and watcher stop when it is dropped.
pub struct Product {
    pub state: AppState,
    /// When each watched connection had every table synced (first seen).
    synced: Arc<Mutex<HashMap<i64, Instant>>>,
    worker: JoinHandle<()>,
    watcher: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

/// A connection made by [`Product::connect`].
#[derive(Debug, Clone)]
pub struct Connected {
    pub id: i64,
    pub key: String,
    /// Objects in each list, and over the seven.
    pub per_list: u64,
    pub objects: u64,
    /// When the connection was about to be stored.
    pub at: Instant,
}

impl Product {
    /// The product over a fresh database reading Stripe at `stripe`, its worker past its first
    /// (idle) tick, as in a product that has been running for a while.
    pub async fn start(stripe: &Url) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let Bench { state, .. } = product_state(dir.path(), stripe, None, "connect").await;
        let worker = backend::sync::spawn_worker(state.clone(), WORKER_TICK);
        let synced = Arc::default();
        let watcher = tokio::spawn(watch(state.clone(), Arc::clone(&synced)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        Self {
            state,
            synced,
            worker,
            watcher,
            _dir: dir,
        }
    }

    /// Connects the account of `key` (as the product stores a restricted-key connection) and
    /// queues its first sync as the product does after connecting.
    pub async fn connect(&self, key: &str) -> Connected {
        let account = Account::from_key(key).expect("a bench key");
        let at = Instant::now();
        let name: String = key.chars().filter(char::is_ascii_alphanumeric).collect();
        let id = connect_key(&self.state, &format!("acct_1{name}"), key, account.live).await;
        backend::sync::jobs::enqueue(&self.state, ConnectionId(id)).await;
        Connected {
            id,
            key: key.to_owned(),
            per_list: account.per_list,
            objects: account.per_list * StripeList::ALL.len() as u64,
            at,
        }
    }

    /// When `connection` had every table synced, if it has.
    pub fn synced(&self, connection: &Connected) -> Option<Instant> {
        self.synced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&connection.id)
            .copied()
    }

    /// How long `connection` took from connect to every table synced, if it is synced.
    pub fn took(&self, connection: &Connected) -> Option<Duration> {
        self.synced(connection).map(|t| t - connection.at)
    }

    /// Waits until every one of `connections` is synced (true) or `deadline` passes (false).
    pub async fn wait(&self, connections: &[Connected], deadline: Instant) -> bool {
        loop {
            if connections.iter().all(|c| self.synced(c).is_some()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(WATCH_EVERY).await;
        }
    }

    /// Rows stored for `connection` over the seven tables.
    pub async fn rows(&self, connection: &Connected) -> u64 {
        u64::try_from(stored_rows(&self.state, connection.id).await).expect("rows")
    }

    /// The synced connections among `connections` whose rows are not the objects served, as
    /// lines to print.
    pub async fn wrong_rows(&self, connections: &[Connected]) -> Vec<String> {
        let mut wrong = Vec::new();
        for connection in connections {
            if self.synced(connection).is_none() {
                continue;
            }
            let rows = self.rows(connection).await;
            if rows != connection.objects {
                wrong.push(format!(
                    "! {}: {rows} rows stored after its sync, {} objects at the server",
                    connection.key, connection.objects
                ));
            }
        }
        wrong
    }
}

impl Drop for Product {
    fn drop(&mut self) {
        self.worker.abort();
        self.watcher.abort();
    }
}

/// Notes, every [`WATCH_EVERY`], when each connection first has all seven tables synced.
async fn watch(state: AppState, synced: Arc<Mutex<HashMap<i64, Instant>>>) {
    let tables = i64::try_from(StripeList::ALL.len()).expect("seven");
    loop {
        let done: Vec<i64> = state
            .pool
            .scalar_all(
                "SELECT connection_id FROM sync_tables WHERE synced_at IS NOT NULL \
                 GROUP BY connection_id HAVING COUNT(*) = $1",
                args![tables],
            )
            .await
            .expect("sync state");
        let now = Instant::now();
        {
            let mut synced = synced.lock().unwrap_or_else(|e| e.into_inner());
            for id in done {
                synced.entry(id).or_insert(now);
            }
        }
        tokio::time::sleep(WATCH_EVERY).await;
    }
}
