//! The signed-in requests' snapshots this instance read, reused while nothing they depend on has
//! changed (see [`crate::freshness`]): a signed-in request then costs no database query at all.
//! Each entry keeps the session's own facts (user, sign-in and last-seen times, epoch) beside the
//! user's, so idle and absolute expiry are enforced on every reuse exactly as on a read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tower_sessions::session::Id;

use crate::freshness::Freshness;
use crate::users::RequestSnapshot;

/// At most this many sessions are remembered; past it the memory starts over (a miss only costs
/// the queries every request made before).
pub const MAX_ENTRIES: usize = 10_000;

/// What a session held when its snapshot was read.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    /// When the user signed in (Unix seconds).
    pub signed_in_at: i64,
    /// The session's last-seen time as stored (Unix seconds).
    pub seen_at: i64,
}

#[derive(Debug, Clone)]
struct Entry {
    facts: SessionFacts,
    snapshot: RequestSnapshot,
}

#[derive(Debug, Default)]
struct Entries {
    generation: u64,
    by_session: HashMap<Id, Entry>,
}

/// Snapshots by session id, for one generation at a time.
#[derive(Debug, Clone, Default)]
pub struct SessionCache {
    freshness: Arc<Freshness>,
    entries: Arc<Mutex<Entries>>,
}

impl SessionCache {
    /// A cache that follows `freshness` (whose watcher must run for anything to be reused).
    pub fn new(freshness: Arc<Freshness>) -> Self {
        Self {
            freshness,
            entries: Arc::default(),
        }
    }

    /// What decides reuse.
    pub fn freshness(&self) -> &Arc<Freshness> {
        &self.freshness
    }

    /// The snapshot of session `id` if it may be reused at `now`: read under the current
    /// generation, and the session needs no write (idle clock refreshed under a minute ago).
    pub fn get(
        &self,
        id: Id,
        now: i64,
        fresh_for_secs: i64,
    ) -> Option<(SessionFacts, RequestSnapshot)> {
        let generation = self.freshness.generation()?;
        let entries = self.entries.lock().ok()?;
        if entries.generation != generation {
            return None;
        }
        let entry = entries.by_session.get(&id)?;
        (now >= entry.facts.seen_at && now - entry.facts.seen_at < fresh_for_secs)
            .then(|| (entry.facts.clone(), entry.snapshot.clone()))
    }

    /// The generation to file a snapshot under: read it *before* reading the database.
    pub fn generation(&self) -> Option<u64> {
        self.freshness.generation()
    }

    /// Files a snapshot read under `generation` (from [`Self::generation`]).
    pub fn put(&self, generation: u64, id: Id, facts: SessionFacts, snapshot: RequestSnapshot) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.generation != generation {
            if entries.generation > generation {
                // Read before a change this cache already knows of.
                return;
            }
            entries.generation = generation;
            entries.by_session.clear();
        }
        if entries.by_session.len() >= MAX_ENTRIES {
            entries.by_session.clear();
        }
        entries.by_session.insert(id, Entry { facts, snapshot });
    }

    /// Ends the reuse of every snapshot read so far (see [`Freshness::invalidate`]).
    pub fn invalidate(&self) {
        self.freshness.invalidate();
    }

    /// Forgets session `id` (it ended here).
    pub fn forget(&self, id: Id) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.by_session.remove(&id);
        }
    }
}
