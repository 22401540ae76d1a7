//! The accounts of the Stripe-conditions server: an account is named by its key
//! (`rk_live_bench_<name>_<n>` or `rk_test_bench_<name>_<n>`, `n` objects in each of the seven
//! lists), so any number of them exist without being set up. Object `i` of a list is the lab's
//! object `i` (`objects.rs`) with the account's mode and creation time; creation times spread over
//! the two years before the server started, rising with the index, three objects to a second.

use backend::stripe::lists::StripeList;
use serde_json::Value;

use crate::objects::object;
use crate::spec::{id, spec_of};

/// The objects' creation times span this long, ending when the server started.
const SPAN_SECS: u64 = 2 * 365 * 86_400;
/// Consecutive objects sharing one `created` second.
const SAME_SECOND: u64 = 3;
/// The ids have eight digits (`cus_1Bench00000042`).
const MAX_OBJECTS: u64 = 100_000_000;

/// One account, as its key describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// Live mode (`rk_live_…`), else test mode.
    pub live: bool,
    /// Objects in each list.
    pub per_list: u64,
}

/// The key of the account `name` (letters, digits, `_`) in the given mode with `per_list` objects
/// in each list.
pub fn key(live: bool, name: &str, per_list: u64) -> String {
    let mode = if live { "live" } else { "test" };
    format!("rk_{mode}_bench_{name}_{per_list}")
}

impl Account {
    /// The account a key names, if it is one of [`key`]'s.
    pub fn from_key(key: &str) -> Option<Self> {
        let (live, rest) = if let Some(rest) = key.strip_prefix("rk_live_bench_") {
            (true, rest)
        } else {
            (false, key.strip_prefix("rk_test_bench_")?)
        };
        let (name, n) = rest.rsplit_once('_')?;
        let valid_name =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let per_list: u64 = n.parse().ok()?;
        (valid_name && n.bytes().all(|b| b.is_ascii_digit()) && per_list < MAX_OBJECTS)
            .then_some(Self { live, per_list })
    }

    /// Creation time of object `i` (of any list) when the server started at `end`: never less than
    /// the one before it.
    pub fn created(&self, end: i64, i: u64) -> i64 {
        let group = i / SAME_SECOND * SAME_SECOND;
        let offset = group * SPAN_SECS / self.per_list.max(1);
        end - i64::try_from(SPAN_SECS - offset.min(SPAN_SECS)).expect("span")
    }

    /// The first index in `0..per_list` whose creation time makes `past` false (`past` is true
    /// for a prefix of the indexes: creation times rise with the index). A binary search.
    pub fn first_index(&self, end: i64, past: impl Fn(i64) -> bool) -> u64 {
        let (mut lo, mut hi) = (0, self.per_list);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if past(self.created(end, mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The index of `id` in `list`, if this account has such an object.
    pub fn index(&self, list: StripeList, id: &str) -> Option<u64> {
        let digits = id
            .strip_prefix(spec_of(list).prefix)?
            .strip_prefix("_1Bench")?;
        let i: u64 = digits.parse().ok()?;
        (digits.len() == 8 && i < self.per_list).then_some(i)
    }

    /// The id of object `i` of `list`.
    pub fn id(&self, list: StripeList, i: u64) -> String {
        id(spec_of(list).prefix, i)
    }

    /// Object `i` of `list` as Stripe answers it.
    pub fn object(&self, end: i64, list: StripeList, i: u64) -> Value {
        let mut object = object(list, i);
        object["created"] = self.created(end, i).into();
        object["livemode"] = self.live.into();
        object
    }
}
