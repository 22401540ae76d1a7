//! The writer's waiting pages, taken in turns across connections: a batch takes one page of each
//! connection in turn, so a small account's pages never wait behind a large backfill's queue.
//! Each connection's pages keep their order (a range's checkpoint only moves forward).

use std::collections::VecDeque;

/// Items queued per key, taken round-robin.
#[derive(Debug)]
pub struct FairQueue<K, T> {
    /// The keys with items waiting, in turn order, each with its items in arrival order.
    queues: VecDeque<(K, VecDeque<T>)>,
    len: usize,
}

impl<K: PartialEq, T> Default for FairQueue<K, T> {
    fn default() -> Self {
        Self {
            queues: VecDeque::new(),
            len: 0,
        }
    }
}

impl<K: PartialEq, T> FairQueue<K, T> {
    /// Queues `item` behind `key`'s others (a new key takes its turn last).
    pub fn push(&mut self, key: K, item: T) {
        self.len += 1;
        match self.queues.iter_mut().find(|(k, _)| *k == key) {
            Some((_, items)) => items.push_back(item),
            None => self.queues.push_back((key, VecDeque::from([item]))),
        }
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Up to `max` items, one per key in turn; the key after the last served goes first next time.
    pub fn take(&mut self, max: usize, out: &mut Vec<T>) {
        while out.len() < max {
            let Some((key, mut items)) = self.queues.pop_front() else {
                return;
            };
            if let Some(item) = items.pop_front() {
                self.len -= 1;
                out.push(item);
            }
            if !items.is_empty() {
                self.queues.push_back((key, items));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_take_turns_and_each_keeps_its_order() {
        let mut queue = FairQueue::default();
        for i in 0..5 {
            queue.push("large", i);
        }
        queue.push("small", 100);
        queue.push("small", 101);
        let mut batch = Vec::new();
        queue.take(3, &mut batch);
        assert_eq!(batch, [0, 100, 1]);
        batch.clear();
        queue.push("other", 200);
        queue.take(10, &mut batch);
        assert_eq!(batch, [101, 2, 200, 3, 4]);
        assert!(queue.is_empty());
        queue.take(10, &mut batch);
        assert_eq!(batch.len(), 5);
    }
}
