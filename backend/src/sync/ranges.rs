//! The arithmetic of `created` ranges: the filters a range sends, where a range being read may be
//! split, and which objects of a page are the range's.
//!
//! A range is `[lo, hi)` in whole Unix seconds, so objects sharing a second always fall in one
//! range. Stripe lists newest first: a range being read has read everything from `hi` down to its
//! position (the `created` of the last object stored), so its unread part is `[lo, position]` and
//! it can hand `[lo, mid)` to another reader while it goes on with `[mid, hi)` from its cursor.
//! A list that comes oldest first (localstripe) is never split.

use crate::store::{UNBOUNDED_HI, UNBOUNDED_LO};

/// No Stripe object is older than Stripe (2011-01-01): where bisecting an unbounded range starts.
pub const FLOOR: i64 = 1_293_840_000;

/// The order a list's pages come in, as seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// No page has shown it yet.
    Unknown,
    /// Newest first (Stripe).
    NewestFirst,
    /// Oldest first (localstripe): ranges are not split.
    OldestFirst,
}

impl Order {
    /// What a page's `created` values (in the order listed) say, given what was known.
    pub fn learn(self, created: &[i64]) -> Self {
        match (created.first(), created.last()) {
            (Some(first), Some(last)) if first > last => Self::NewestFirst,
            (Some(first), Some(last)) if first < last => Self::OldestFirst,
            _ => self,
        }
    }
}

/// The `created` filters a read of `[lo, hi)` sends.
pub fn filters(lo: i64, hi: i64) -> Vec<(&'static str, String)> {
    let mut filters = Vec::with_capacity(2);
    if lo != UNBOUNDED_LO {
        filters.push(("created[gte]", lo.to_string()));
    }
    if hi != UNBOUNDED_HI {
        filters.push(("created[lt]", hi.to_string()));
    }
    filters
}

/// Where to split a range `[lo, …)` read newest first down to `position`: `mid` with
/// `lo < mid <= position`, halving the time left to read; `None` when too little is left.
pub fn split_point(lo: i64, position: i64) -> Option<i64> {
    let base = lo.max(FLOOR);
    if position.checked_sub(base)? < 2 {
        return None;
    }
    Some(base + (position - base) / 2)
}

/// How many of a page's objects (newest first) belong to a range whose `lo` is now `lo`: those
/// before the first one older than it. A page cut short ends the range.
pub fn kept(created: &[i64], lo: i64) -> usize {
    created.iter().take_while(|c| **c >= lo).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbounded_ends_send_no_filter() {
        assert!(filters(UNBOUNDED_LO, UNBOUNDED_HI).is_empty());
        assert_eq!(
            filters(1_700_000_000, UNBOUNDED_HI),
            [("created[gte]", "1700000000".to_owned())]
        );
        assert_eq!(
            filters(5, 9),
            [
                ("created[gte]", "5".to_owned()),
                ("created[lt]", "9".to_owned())
            ]
        );
    }

    #[test]
    fn a_split_halves_the_time_left_and_never_cuts_a_second_in_two() {
        assert_eq!(split_point(100, 200), None, "before Stripe: never split");
        assert_eq!(split_point(FLOOR + 10, FLOOR + 20), Some(FLOOR + 15));
        assert_eq!(split_point(UNBOUNDED_LO, FLOOR + 1_000), Some(FLOOR + 500));
        // Both parts are non-empty intervals: lo < mid <= position.
        assert_eq!(split_point(FLOOR, FLOOR + 2), Some(FLOOR + 1));
        assert_eq!(split_point(FLOOR, FLOOR + 1), None);
        assert_eq!(split_point(FLOOR, FLOOR), None);
        for position in FLOOR + 2..FLOOR + 40 {
            let mid = split_point(FLOOR, position).unwrap();
            assert!(FLOOR < mid && mid <= position);
        }
    }

    #[test]
    fn a_page_is_cut_where_the_range_now_ends() {
        assert_eq!(kept(&[30, 20, 20, 10], 20), 3);
        assert_eq!(kept(&[30, 20], 5), 2);
        assert_eq!(kept(&[30, 20], 31), 0);
        assert_eq!(kept(&[], 31), 0);
    }

    #[test]
    fn the_order_is_learnt_from_a_page_that_shows_it() {
        assert_eq!(Order::Unknown.learn(&[5, 5, 5]), Order::Unknown);
        assert_eq!(Order::Unknown.learn(&[9, 5]), Order::NewestFirst);
        assert_eq!(Order::Unknown.learn(&[5, 9]), Order::OldestFirst);
        assert_eq!(Order::NewestFirst.learn(&[7]), Order::NewestFirst);
    }
}
