//! The lists the list server serves: how many objects each, their ids and creation times, and
//! the deterministic pseudo-random numbers the objects are built from.

use backend::stripe::lists::StripeList;

/// The one key the list server accepts.
pub const KEY: &str = "rk_test_51SyncBenchKey0000000000";
/// Oldest object's `created`.
pub const EPOCH: i64 = 1_600_000_000;

/// One list the server serves: how many objects, their id prefix and Stripe's noun for them.
pub struct Spec {
    pub list: StripeList,
    pub prefix: &'static str,
    pub noun: &'static str,
    pub count: u64,
}

/// 100,000 objects over the seven lists.
pub const SPECS: [Spec; 7] = [
    Spec {
        list: StripeList::Customers,
        prefix: "cus",
        noun: "customer",
        count: 20_000,
    },
    Spec {
        list: StripeList::Charges,
        prefix: "ch",
        noun: "charge",
        count: 30_000,
    },
    Spec {
        list: StripeList::Coupons,
        prefix: "co",
        noun: "coupon",
        count: 2_500,
    },
    Spec {
        list: StripeList::Invoices,
        prefix: "in",
        noun: "invoice",
        count: 20_000,
    },
    Spec {
        list: StripeList::Plans,
        prefix: "plan",
        noun: "plan",
        count: 2_500,
    },
    Spec {
        list: StripeList::Subscriptions,
        prefix: "sub",
        noun: "subscription",
        count: 10_000,
    },
    Spec {
        list: StripeList::Events,
        prefix: "evt",
        noun: "event",
        count: 15_000,
    },
];

pub fn total_objects() -> u64 {
    SPECS.iter().map(|s| s.count).sum()
}

pub fn spec_of(list: StripeList) -> &'static Spec {
    SPECS.iter().find(|s| s.list == list).expect("spec")
}

impl Spec {
    /// The id of object `i` (ids of one list sort like their indexes).
    pub fn id(&self, i: u64) -> String {
        id(self.prefix, i)
    }

    /// The index of a well-formed id of this list below `count`.
    pub fn index(&self, id: &str) -> Option<u64> {
        let digits = id.strip_prefix(self.prefix)?.strip_prefix("_1Bench")?;
        let i: u64 = digits.parse().ok()?;
        (digits.len() == 8 && i < self.count).then_some(i)
    }

    /// Object `i`'s creation time: older objects have smaller indexes.
    pub fn created(&self, i: u64) -> i64 {
        created(i)
    }
}

pub fn id(prefix: &str, i: u64) -> String {
    format!("{prefix}_1Bench{i:08}")
}

pub fn created(i: u64) -> i64 {
    EPOCH + i64::try_from(i).expect("index") * 600 + (mix(i, 99) % 300) as i64
}

/// A deterministic pseudo-random number for (index, salt) (splitmix64).
pub fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub fn pick<'a>(items: &[&'a str], i: u64, salt: u64) -> &'a str {
    items[(mix(i, salt) % items.len() as u64) as usize]
}
