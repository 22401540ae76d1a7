//! The sample data each demo account holds: a small, deterministic set of customers, charges,
//! coupons, invoices, plans, subscriptions and events, generated from the account (not typed in
//! per account), with the top-level fields Stripe's objects have and consistent cross-references.

use serde_json::{json, Value};

use super::DemoAccount;

/// The seven lists the API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListKind {
    Customers,
    Charges,
    Coupons,
    Invoices,
    Plans,
    Subscriptions,
    Events,
}

impl ListKind {
    /// The list named by a `/v1/{name}` path segment.
    pub(super) fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "customers" => Self::Customers,
            "charges" => Self::Charges,
            "coupons" => Self::Coupons,
            "invoices" => Self::Invoices,
            "plans" => Self::Plans,
            "subscriptions" => Self::Subscriptions,
            "events" => Self::Events,
            _ => return None,
        })
    }

    /// The path segment.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Charges => "charges",
            Self::Coupons => "coupons",
            Self::Invoices => "invoices",
            Self::Plans => "plans",
            Self::Subscriptions => "subscriptions",
            Self::Events => "events",
        }
    }

    /// The `object` of its items (for "No such …" messages).
    pub(super) fn object(self) -> &'static str {
        match self {
            Self::Customers => "customer",
            Self::Charges => "charge",
            Self::Coupons => "coupon",
            Self::Invoices => "invoice",
            Self::Plans => "plan",
            Self::Subscriptions => "subscription",
            Self::Events => "event",
        }
    }

    /// The restricted-key permission that allows reading it.
    pub(super) fn permission(self) -> &'static str {
        match self {
            Self::Customers => "rak_customer_read",
            Self::Charges => "rak_charge_read",
            Self::Coupons => "rak_coupon_read",
            Self::Invoices => "rak_invoice_read",
            Self::Plans => "rak_plan_read",
            Self::Subscriptions => "rak_subscription_read",
            Self::Events => "rak_event_read",
        }
    }
}

/// 2025-01-01T00:00:00Z: the fixtures' epoch.
const BASE: i64 = 1_735_689_600;
const DAY: i64 = 86_400;
const CUSTOMERS: usize = 60;

const NAMES: [&str; 8] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Margaret Hamilton",
];

/// `(nickname, interval, base amount in cents)`.
const PLANS: [(&str, &str, i64); 3] = [
    ("Basic monthly", "month", 900),
    ("Pro monthly", "month", 2900),
    ("Pro yearly", "year", 29000),
];

/// Statuses of the subscriptions of customers, in turn (every fifth customer has none).
const SUBSCRIPTIONS: [&str; 4] = ["active", "trialing", "past_due", "canceled"];

/// Stable 64-bit FNV-1a, so an account's data never changes between runs.
fn seed(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// All objects of `kind` in `account`, newest first (ties: greater id first).
pub(super) fn objects(account: &DemoAccount, kind: ListKind) -> Vec<Value> {
    let data = Dataset::new(account);
    let mut list = match kind {
        ListKind::Customers => data.customers,
        ListKind::Charges => data.charges,
        ListKind::Coupons => data.coupons,
        ListKind::Invoices => data.invoices,
        ListKind::Plans => data.plans,
        ListKind::Subscriptions => data.subscriptions,
        ListKind::Events => data.events,
    };
    list.sort_by(|a, b| {
        let key = |v: &Value| (v["created"].as_i64(), v["id"].as_str().map(str::to_owned));
        key(b).cmp(&key(a))
    });
    list
}

#[derive(Default)]
struct Dataset {
    customers: Vec<Value>,
    charges: Vec<Value>,
    coupons: Vec<Value>,
    invoices: Vec<Value>,
    plans: Vec<Value>,
    subscriptions: Vec<Value>,
    events: Vec<Value>,
}

impl Dataset {
    fn new(account: &DemoAccount) -> Self {
        let seed = seed(&account.id);
        // A short per-account tag keeps ids unique across accounts.
        let tag: String = format!("{seed:016X}").chars().take(8).collect();
        let offset = i64::try_from(seed % 3600).unwrap_or_default();
        let bump = i64::try_from(seed % 5).unwrap_or_default() * 100;
        let mut d = Self::default();
        let mut events: Vec<(&str, i64, Value)> = Vec::new();

        for (j, (pct, off, duration, months)) in [
            (Some(25), None, "once", None),
            (Some(10), None, "repeating", Some(3)),
            (None, Some(500), "forever", None),
        ]
        .into_iter()
        .enumerate()
        {
            let created = BASE + offset + i64::try_from(j).unwrap_or_default() * 3600;
            let coupon = json!({
                "id": format!("{tag}C{j}"), "object": "coupon", "created": created,
                "livemode": false, "name": match (pct, off) {
                    (Some(p), _) => format!("{p}% off"),
                    (_, o) => format!("${} off", o.unwrap_or_default() / 100),
                },
                "percent_off": pct, "amount_off": off, "currency": off.map(|_| "usd"),
                "duration": duration, "duration_in_months": months, "max_redemptions": null,
                "redeem_by": null, "times_redeemed": j + 1, "valid": true, "metadata": {},
            });
            events.push(("coupon.created", created, coupon.clone()));
            d.coupons.push(coupon);
        }

        for (j, (nickname, interval, amount)) in PLANS.into_iter().enumerate() {
            let created = BASE + offset + DAY + i64::try_from(j).unwrap_or_default() * 3600;
            let plan = json!({
                "id": format!("plan_{tag}{j:02}"), "object": "plan", "created": created,
                "livemode": false, "active": true, "amount": amount + bump,
                "amount_decimal": (amount + bump).to_string(), "billing_scheme": "per_unit",
                "currency": "usd", "interval": interval, "interval_count": 1,
                "nickname": nickname, "product": format!("prod_{tag}{j:02}"),
                "trial_period_days": null, "usage_type": "licensed", "metadata": {},
            });
            events.push(("plan.created", created, plan.clone()));
            d.plans.push(plan);
        }

        for i in 0..CUSTOMERS {
            let n = i64::try_from(i).unwrap_or_default();
            let name = NAMES[(usize::try_from(seed % 8).unwrap_or_default() + i) % NAMES.len()];
            let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
            let created = BASE + offset + (n + 1) * 3 * DAY;
            let customer_id = format!("cus_{tag}{i:04}");
            let customer = json!({
                "id": customer_id, "object": "customer", "created": created, "livemode": false,
                "email": email, "name": name, "description": null, "currency": "usd",
                "balance": 0, "delinquent": SUBSCRIPTIONS.get(i % (SUBSCRIPTIONS.len() + 1)) == Some(&"past_due"),
                "address": null, "phone": null, "metadata": {},
            });
            events.push(("customer.created", created, customer.clone()));
            d.customers.push(customer);

            let charge = |id: String,
                          created: i64,
                          amount: i64,
                          invoice: Option<&str>,
                          ok: bool| {
                json!({
                    "id": id, "object": "charge", "created": created, "livemode": false,
                    "amount": amount, "amount_captured": if ok { amount } else { 0 },
                    "amount_refunded": 0, "captured": ok, "currency": "usd",
                    "customer": customer_id, "description": invoice.map_or("One-off purchase", |_| "Subscription payment"),
                    "invoice": invoice, "paid": ok, "refunded": false,
                    "status": if ok { "succeeded" } else { "failed" },
                    "failure_code": if ok { Value::Null } else { "card_declined".into() },
                    "failure_message": if ok { Value::Null } else { "Your card was declined.".into() },
                    "receipt_email": email, "billing_details": { "email": email, "name": name },
                    "payment_method": format!("pm_{tag}{i:04}"), "metadata": {},
                })
            };

            let Some(status) = SUBSCRIPTIONS.get(i % (SUBSCRIPTIONS.len() + 1)).copied() else {
                let id = format!("ch_{tag}{:04}", 90 + i);
                let one_off = charge(id, created + DAY, 4900 + bump, None, true);
                events.push(("charge.succeeded", created + DAY, one_off.clone()));
                d.charges.push(one_off);
                continue;
            };
            let plan = d.plans[i % PLANS.len()].clone();
            let period = if plan["interval"] == "year" {
                365 * DAY
            } else {
                30 * DAY
            };
            let sub_created = created + 600;
            let sub_id = format!("sub_{tag}{i:04}");
            let invoice_id = format!("in_{tag}{i:04}");
            let canceled_at = (status == "canceled").then_some(sub_created + 20 * DAY);
            let trial_end = (status == "trialing").then_some(sub_created + 14 * DAY);
            let subscription = json!({
                "id": sub_id, "object": "subscription", "created": sub_created,
                "livemode": false, "customer": customer_id, "status": status, "currency": "usd",
                "start_date": sub_created, "current_period_start": sub_created,
                "current_period_end": sub_created + period, "cancel_at_period_end": false,
                "canceled_at": canceled_at, "ended_at": canceled_at,
                "trial_start": trial_end.map(|_| sub_created), "trial_end": trial_end,
                "plan": plan, "quantity": 1, "latest_invoice": invoice_id,
                "items": { "object": "list", "has_more": false, "data": [{
                    "id": format!("si_{tag}{i:04}"), "object": "subscription_item",
                    "created": sub_created, "plan": plan, "quantity": 1, "subscription": sub_id,
                }], "url": format!("/v1/subscription_items?subscription={sub_id}") },
                "discount": null, "metadata": {},
            });
            events.push((
                "customer.subscription.created",
                sub_created,
                subscription.clone(),
            ));
            if let Some(at) = canceled_at {
                events.push(("customer.subscription.deleted", at, subscription.clone()));
            }
            d.subscriptions.push(subscription);

            let due = if trial_end.is_some() {
                0
            } else {
                plan["amount"].as_i64().unwrap_or_default()
            };
            let paid = status != "past_due";
            let inv_created = sub_created + 60;
            let charge_id = (due > 0).then(|| format!("ch_{tag}{i:04}"));
            let line = json!({
                "id": format!("il_{tag}{i:04}"), "object": "line_item", "amount": due,
                "currency": "usd", "livemode": false, "quantity": 1, "subscription": sub_id,
                "type": "subscription", "plan": plan, "metadata": {},
                "description": format!("1 × {}", plan["nickname"].as_str().unwrap_or("plan")),
                "period": { "start": sub_created, "end": sub_created + period },
            });
            let invoice = json!({
                "id": invoice_id, "object": "invoice", "created": inv_created,
                "livemode": false, "customer": customer_id, "customer_email": email,
                "customer_name": name, "subscription": sub_id, "account_name": account.display_name,
                "number": format!("{tag}-{:04}", i + 1), "currency": "usd",
                "status": if paid { "paid" } else { "open" }, "paid": paid,
                "amount_due": due, "amount_paid": if paid { due } else { 0 },
                "amount_remaining": if paid { 0 } else { due }, "subtotal": due, "total": due,
                "billing_reason": "subscription_create", "collection_method": "charge_automatically",
                "period_start": sub_created, "period_end": sub_created, "charge": charge_id,
                "lines": { "object": "list", "has_more": false, "total_count": 1,
                    "data": [line], "url": format!("/v1/invoices/{invoice_id}/lines") },
                "metadata": {},
            });
            let kind = if paid {
                "invoice.paid"
            } else {
                "invoice.payment_failed"
            };
            events.push((kind, inv_created + 120, invoice.clone()));
            d.invoices.push(invoice);
            if let Some(id) = charge_id {
                let c = charge(id, inv_created + 120, due, Some(&invoice_id), paid);
                let kind = if paid {
                    "charge.succeeded"
                } else {
                    "charge.failed"
                };
                events.push((kind, inv_created + 120, c.clone()));
                d.charges.push(c);
            }
        }

        events.sort_by_key(|(_, created, _)| *created);
        d.events = events
            .into_iter()
            .enumerate()
            .map(|(n, (kind, created, object))| {
                json!({
                    "id": format!("evt_{tag}{n:04}"), "object": "event", "type": kind,
                    "created": created, "livemode": false, "account": account.id,
                    "api_version": "2024-06-20", "pending_webhooks": 0,
                    "request": { "id": null, "idempotency_key": null },
                    "data": { "object": object },
                })
            })
            .collect();
        d
    }
}
