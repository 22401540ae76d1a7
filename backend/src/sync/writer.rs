//! Where full passes' pages are written: a bounded queue between the readers and the database, so
//! fetching never waits on writing (until the writer is a whole queue behind). Each shard writes
//! what is waiting in one transaction (a batch of pages, of any connections, taken one per
//! connection in turn: a small account's pages never wait behind a backfill's). SQLite has one
//! writer at a time, so it gets one shard; PostgreSQL writes in parallel, a shard per connection
//! of the pool it may use. A range's pages always go to the same shard, in order, so its checkpoint
//! only moves forward.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::fair_queue::FairQueue;
use crate::clock::Clock;
use crate::ids::{ConnectionId, JobId};
use crate::metrics::Metrics;
use crate::store::{self, Db, Lease, Prepared, RangePage};
use crate::stripe::lists::StripeList;

/// Pages waiting per shard before a reader waits for the writer.
const QUEUE: usize = 64;
/// Pages written in one transaction at most.
const BATCH: usize = 32;
/// Pages in one transaction at most on PostgreSQL, whose writers run side by side: shorter
/// transactions hold the rows they lock (a connection's, naming its schema) for less time.
const POSTGRES_BATCH: usize = 8;
/// Shards on PostgreSQL.
const POSTGRES_SHARDS: usize = 4;

/// Whether a page was written: `Ok(false)` when its job's lease was lost; `Err` when the database
/// refused it (the message is for the log).
pub type Written = Result<bool, String>;

/// One page to write.
#[derive(Debug)]
pub struct PageWrite {
    /// The job and the lease holder.
    pub job_id: JobId,
    pub owner: Arc<str>,
    pub connection_id: ConnectionId,
    pub list: StripeList,
    /// The range (its `hi`).
    pub range: i64,
    /// The objects, prepared by the reader (the writer only binds them).
    pub objects: Prepared,
    /// The range is read to its end with this page.
    pub done: bool,
}

struct Queued {
    page: PageWrite,
    reply: oneshot::Sender<Written>,
}

/// The writer's queues (cheap to clone).
#[derive(Clone)]
pub struct Writer {
    shards: Arc<Vec<mpsc::Sender<Queued>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("shards", &self.shards.len())
            .finish()
    }
}

impl Writer {
    /// Starts the writer's tasks (they end when the last `Writer` is dropped).
    pub fn start(pool: Db, clock: Clock, lease_secs: i64, metrics: Metrics) -> Self {
        let count = match pool.dialect() {
            crate::store::Dialect::Sqlite => 1,
            crate::store::Dialect::Postgres => POSTGRES_SHARDS,
        };
        let shards = (0..count)
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(shard(
                    rx,
                    pool.clone(),
                    clock.clone(),
                    lease_secs,
                    metrics.clone(),
                ));
                tx
            })
            .collect();
        Self {
            shards: Arc::new(shards),
        }
    }

    /// Queues a page; the answer comes when it is written. Waits only while the shard's queue is
    /// full.
    pub async fn write(&self, page: PageWrite) -> oneshot::Receiver<Written> {
        let (reply, answer) = oneshot::channel();
        let mut hasher = DefaultHasher::new();
        (page.connection_id, page.list.name(), page.range).hash(&mut hasher);
        let shard = usize::try_from(hasher.finish() % self.shards.len() as u64).unwrap_or(0);
        if let Err(mpsc::error::SendError(queued)) =
            self.shards[shard].send(Queued { page, reply }).await
        {
            let _ = queued
                .reply
                .send(Err("the sync writer has stopped".to_owned()));
        }
        answer
    }
}

/// One shard: takes what is waiting (up to a batch, connections in turn), writes it in one
/// transaction, answers each. What waits is bounded by the readers: each has a few pages in
/// flight at most.
async fn shard(
    mut rx: mpsc::Receiver<Queued>,
    pool: Db,
    clock: Clock,
    lease_secs: i64,
    metrics: Metrics,
) {
    let most = match pool.dialect() {
        crate::store::Dialect::Sqlite => BATCH,
        crate::store::Dialect::Postgres => POSTGRES_BATCH,
    };
    let mut batch = Vec::with_capacity(most);
    let mut waiting = FairQueue::default();
    loop {
        if waiting.is_empty() {
            match rx.recv().await {
                Some(queued) => waiting.push(queued.page.connection_id, queued),
                None => return,
            }
        }
        while let Ok(queued) = rx.try_recv() {
            waiting.push(queued.page.connection_id, queued);
        }
        waiting.take(most, &mut batch);
        let now = clock.now();
        let pages: Vec<RangePage<'_>> = batch
            .iter()
            .map(|q| RangePage {
                lease: Lease {
                    job_id: q.page.job_id,
                    owner: &q.page.owner,
                    now,
                    until: now + lease_secs,
                },
                connection_id: q.page.connection_id,
                list: q.page.list,
                range: q.page.range,
                objects: &q.page.objects,
                done: q.page.done,
            })
            .collect();
        let answers: Vec<Written> = match store::commit_pages(&pool, &pages).await {
            Ok(written) => written.into_iter().map(Ok).collect(),
            // One bad page must not fail the others: each is tried alone.
            Err(_) if pages.len() > 1 => {
                let mut answers = Vec::with_capacity(pages.len());
                for page in &pages {
                    answers.push(
                        store::commit_pages(&pool, std::slice::from_ref(page))
                            .await
                            .map(|w| w.first().copied().unwrap_or(false))
                            .map_err(|e| e.to_string()),
                    );
                }
                answers
            }
            Err(e) => vec![Err(e.to_string())],
        };
        drop(pages);
        for (queued, answer) in batch.drain(..).zip(answers) {
            if answer == Ok(true) {
                metrics.rows_written(queued.page.objects.len() as u64);
            }
            let _ = queued.reply.send(answer);
        }
    }
}
