//! Deterministic Stripe-like objects: object `i` of a list is built from `i` alone, as Stripe's
//! API would answer it (field for field, close to the real sizes).

use backend::stripe::client::STRIPE_VERSION;
use backend::stripe::lists::StripeList;
use serde_json::{json, Value};

use crate::spec::{id, mix, pick, spec_of};

pub const FIRST: [&str; 12] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
    "Radia", "Niklaus",
];
pub const LAST: [&str; 12] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton",
    "Ritchie", "Perlman", "Wirth",
];
pub const PLACES: [(&str, &str, &str, &str); 6] = [
    ("San Francisco", "CA", "94103", "US"),
    ("New York", "NY", "10001", "US"),
    ("Austin", "TX", "73301", "US"),
    ("Dublin", "", "D02 X285", "IE"),
    ("Berlin", "", "10115", "DE"),
    ("Toronto", "ON", "M5V 2T6", "CA"),
];
pub const CURRENCIES: [&str; 4] = ["usd", "eur", "gbp", "cad"];

pub fn person(i: u64) -> (String, String) {
    let first = pick(&FIRST, i, 1);
    let last = pick(&LAST, i, 2);
    (
        format!("{first} {last}"),
        format!(
            "{}.{}{}@example.com",
            first.to_lowercase(),
            last.to_lowercase(),
            i
        ),
    )
}

pub fn address(i: u64) -> Value {
    let (city, state, postal, country) = PLACES[(mix(i, 3) % PLACES.len() as u64) as usize];
    json!({
        "city": city,
        "country": country,
        "line1": format!("{} Market Street", 1 + mix(i, 4) % 2000),
        "line2": if i.is_multiple_of(3) { Value::from(format!("Suite {}", 100 + i % 900)) } else { Value::Null },
        "postal_code": postal,
        "state": state,
    })
}

pub fn metadata(i: u64) -> Value {
    json!({
        "crm_id": format!("CRM-{:06}", mix(i, 5) % 1_000_000),
        "plan_tier": pick(&["starter", "growth", "enterprise"], i, 6),
        "region": pick(&["amer", "emea", "apac"], i, 7),
        "signup_source": pick(&["web", "sales", "partner", "import"], i, 8),
    })
}

pub fn customer(i: u64) -> Value {
    let (name, email) = person(i);
    let spec = spec_of(StripeList::Customers);
    json!({
        "id": spec.id(i),
        "object": "customer",
        "address": address(i),
        "balance": -((mix(i, 9) % 5) as i64) * 500,
        "created": spec.created(i),
        "currency": pick(&CURRENCIES, i, 10),
        "default_source": null,
        "delinquent": i.is_multiple_of(17),
        "description": format!("Customer since batch {}", i / 1000),
        "discount": null,
        "email": email,
        "invoice_prefix": format!("{:08X}", mix(i, 11) as u32),
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": format!("pm_1Bench{i:08}"),
            "footer": null,
            "rendering_options": null
        },
        "livemode": false,
        "metadata": metadata(i),
        "name": name,
        "next_invoice_sequence": 1 + mix(i, 12) % 40,
        "phone": format!("+1555{:07}", mix(i, 13) % 10_000_000),
        "preferred_locales": ["en-US"],
        "shipping": {
            "address": address(i + 1),
            "name": name,
            "phone": null
        },
        "tax_exempt": "none",
        "test_clock": null
    })
}

pub fn card(i: u64) -> Value {
    json!({
        "brand": pick(&["visa", "mastercard", "amex"], i, 20),
        "checks": {
            "address_line1_check": "pass",
            "address_postal_code_check": "pass",
            "cvc_check": "pass"
        },
        "country": "US",
        "exp_month": 1 + mix(i, 21) % 12,
        "exp_year": 2027 + mix(i, 22) % 5,
        "fingerprint": format!("Fp{:014x}", mix(i, 23) >> 8),
        "funding": pick(&["credit", "debit"], i, 24),
        "installments": null,
        "last4": format!("{:04}", mix(i, 25) % 10_000),
        "mandate": null,
        "network": "visa",
        "network_token": { "used": false },
        "three_d_secure": null,
        "wallet": null
    })
}

pub fn charge(i: u64) -> Value {
    let spec = spec_of(StripeList::Charges);
    let (name, email) = person(i % 20_000);
    let amount = 500 + (mix(i, 30) % 200) * 100;
    let failed = i.is_multiple_of(23);
    let customer = id("cus", i % 20_000);
    json!({
        "id": spec.id(i),
        "object": "charge",
        "amount": amount,
        "amount_captured": if failed { 0 } else { amount },
        "amount_refunded": 0,
        "application": null,
        "application_fee": null,
        "application_fee_amount": null,
        "balance_transaction": format!("txn_1Bench{i:08}"),
        "billing_details": {
            "address": address(i % 20_000),
            "email": email,
            "name": name,
            "phone": null
        },
        "calculated_statement_descriptor": "BENCH.TEST",
        "captured": !failed,
        "created": spec.created(i),
        "currency": pick(&CURRENCIES, i % 20_000, 10),
        "customer": customer,
        "description": format!("Subscription update #{i}"),
        "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": if failed { Value::from("card_declined") } else { Value::Null },
        "failure_message": if failed { Value::from("Your card was declined.") } else { Value::Null },
        "fraud_details": {},
        "invoice": id("in", i % 20_000),
        "livemode": false,
        "metadata": metadata(i),
        "on_behalf_of": null,
        "outcome": {
            "network_status": if failed { "declined_by_network" } else { "approved_by_network" },
            "reason": null,
            "risk_level": "normal",
            "risk_score": mix(i, 31) % 100,
            "seller_message": if failed { "The bank did not return any further details with this decline." } else { "Payment complete." },
            "type": if failed { "issuer_declined" } else { "authorized" }
        },
        "paid": !failed,
        "payment_intent": format!("pi_1Bench{i:08}"),
        "payment_method": format!("pm_1Bench{:08}", i % 20_000),
        "payment_method_details": { "card": card(i % 20_000), "type": "card" },
        "receipt_email": email,
        "receipt_number": null,
        "receipt_url": format!("https://pay.stripe.com/receipts/invoices/CAcQARoXChVhY2N0XzFCZW5jaA{i:08}?s=ap"),
        "refunded": false,
        "review": null,
        "shipping": null,
        "source_transfer": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": if failed { "failed" } else { "succeeded" },
        "transfer_data": null,
        "transfer_group": null
    })
}

pub fn coupon(i: u64) -> Value {
    let spec = spec_of(StripeList::Coupons);
    let percent = i.is_multiple_of(2);
    json!({
        "id": spec.id(i),
        "object": "coupon",
        "amount_off": if percent { Value::Null } else { Value::from(100 * (1 + i % 50)) },
        "created": spec.created(i),
        "currency": if percent { Value::Null } else { Value::from("usd") },
        "duration": pick(&["once", "repeating", "forever"], i, 40),
        "duration_in_months": if i % 3 == 1 { Value::from(3) } else { Value::Null },
        "livemode": false,
        "max_redemptions": null,
        "metadata": metadata(i),
        "name": format!("Promo {i}"),
        "percent_off": if percent { Value::from(5.0 + (i % 10) as f64 * 2.5) } else { Value::Null },
        "redeem_by": null,
        "times_redeemed": mix(i, 41) % 500,
        "valid": true
    })
}

pub fn plan_json(i: u64) -> Value {
    let spec = spec_of(StripeList::Plans);
    json!({
        "id": spec.id(i),
        "object": "plan",
        "active": !i.is_multiple_of(11),
        "aggregate_usage": null,
        "amount": 900 + (i % 40) * 100,
        "amount_decimal": format!("{}", 900 + (i % 40) * 100),
        "billing_scheme": "per_unit",
        "created": spec.created(i),
        "currency": "usd",
        "interval": pick(&["month", "year"], i, 50),
        "interval_count": 1,
        "livemode": false,
        "metadata": metadata(i),
        "meter": null,
        "nickname": format!("Plan {i}"),
        "product": format!("prod_1Bench{:08}", i / 4),
        "tiers_mode": null,
        "transform_usage": null,
        "trial_period_days": null,
        "usage_type": "licensed"
    })
}

pub fn invoice(i: u64) -> Value {
    let spec = spec_of(StripeList::Invoices);
    let (name, email) = person(i);
    let amount = 900 + (i % 40) * 100;
    let paid = !i.is_multiple_of(13);
    let start = spec.created(i) - 30 * 86_400;
    json!({
        "id": spec.id(i),
        "object": "invoice",
        "account_country": "US",
        "account_name": "Bench Inc.",
        "amount_due": amount,
        "amount_paid": if paid { amount } else { 0 },
        "amount_remaining": if paid { 0 } else { amount },
        "attempt_count": 1,
        "attempted": true,
        "auto_advance": !paid,
        "billing_reason": "subscription_cycle",
        "charge": id("ch", i),
        "collection_method": "charge_automatically",
        "created": spec.created(i),
        "currency": "usd",
        "customer": id("cus", i % 20_000),
        "customer_address": address(i),
        "customer_email": email,
        "customer_name": name,
        "description": null,
        "hosted_invoice_url": format!("https://invoice.stripe.com/i/acct_1Bench/test_{i:08}?s=ap"),
        "invoice_pdf": format!("https://pay.stripe.com/invoice/acct_1Bench/test_{i:08}/pdf?s=ap"),
        "lines": {
            "object": "list",
            "data": [{
                "id": format!("il_1Bench{i:08}"),
                "object": "line_item",
                "amount": amount,
                "currency": "usd",
                "description": format!("1 × Plan {} (at ${}.00 / month)", i % 2500, amount / 100),
                "livemode": false,
                "metadata": {},
                "period": { "end": spec.created(i), "start": start },
                "plan": { "id": id("plan", i % 2500), "object": "plan", "amount": amount, "interval": "month" },
                "proration": false,
                "quantity": 1,
                "subscription": id("sub", i % 10_000),
                "type": "subscription"
            }],
            "has_more": false,
            "total_count": 1,
            "url": format!("/v1/invoices/{}/lines", spec.id(i))
        },
        "livemode": false,
        "metadata": metadata(i),
        "number": format!("{:08X}-{:04}", mix(i, 11) as u32, 1 + i % 40),
        "paid": paid,
        "period_end": spec.created(i),
        "period_start": start,
        "status": if paid { "paid" } else { "open" },
        "status_transitions": {
            "finalized_at": spec.created(i),
            "marked_uncollectible_at": null,
            "paid_at": if paid { Value::from(spec.created(i) + 60) } else { Value::Null },
            "voided_at": null
        },
        "subscription": id("sub", i % 10_000),
        "subtotal": amount,
        "tax": null,
        "total": amount,
        "webhooks_delivered_at": spec.created(i) + 5
    })
}

/// Every 7th subscription is canceled (listed only with `status=all`).
pub fn canceled(i: u64) -> bool {
    i.is_multiple_of(7)
}

pub fn subscription(i: u64) -> Value {
    let spec = spec_of(StripeList::Subscriptions);
    let start = spec.created(i);
    let end = start + 30 * 86_400;
    let status = if canceled(i) {
        "canceled"
    } else {
        pick(
            &["active", "active", "active", "past_due", "trialing"],
            i,
            60,
        )
    };
    json!({
        "id": spec.id(i),
        "object": "subscription",
        "application": null,
        "billing_cycle_anchor": start,
        "cancel_at": null,
        "cancel_at_period_end": false,
        "canceled_at": if canceled(i) { Value::from(end) } else { Value::Null },
        "collection_method": "charge_automatically",
        "created": start,
        "currency": "usd",
        "current_period_end": end,
        "current_period_start": start,
        "customer": id("cus", i % 20_000),
        "days_until_due": null,
        "default_payment_method": format!("pm_1Bench{:08}", i % 20_000),
        "discount": null,
        "ended_at": if canceled(i) { Value::from(end) } else { Value::Null },
        "items": {
            "object": "list",
            "data": [{
                "id": format!("si_1Bench{i:08}"),
                "object": "subscription_item",
                "created": start,
                "metadata": {},
                "price": {
                    "id": format!("price_1Bench{:08}", i % 2500),
                    "object": "price",
                    "active": true,
                    "currency": "usd",
                    "product": format!("prod_1Bench{:08}", (i % 2500) / 4),
                    "recurring": { "interval": "month", "interval_count": 1, "usage_type": "licensed" },
                    "type": "recurring",
                    "unit_amount": 900 + (i % 40) * 100
                },
                "quantity": 1,
                "subscription": spec.id(i)
            }],
            "has_more": false,
            "total_count": 1,
            "url": format!("/v1/subscription_items?subscription={}", spec.id(i))
        },
        "latest_invoice": id("in", i % 20_000),
        "livemode": false,
        "metadata": metadata(i),
        "pause_collection": null,
        "start_date": start,
        "status": status,
        "trial_end": null,
        "trial_start": null
    })
}

pub fn event(i: u64) -> Value {
    let spec = spec_of(StripeList::Events);
    let (kind, object) = match i % 3 {
        0 => ("customer.updated", customer(i % 20_000)),
        1 => ("charge.succeeded", charge(i % 30_000)),
        _ => ("invoice.paid", invoice(i % 20_000)),
    };
    json!({
        "id": spec.id(i),
        "object": "event",
        "account": "acct_1SyncBench",
        "api_version": STRIPE_VERSION,
        "created": spec.created(i),
        "data": { "object": object },
        "livemode": false,
        "pending_webhooks": 0,
        "request": { "id": format!("req_{:014x}", mix(i, 70) >> 8), "idempotency_key": null },
        "type": kind
    })
}

pub fn object(list: StripeList, i: u64) -> Value {
    match list {
        StripeList::Customers => customer(i),
        StripeList::Charges => charge(i),
        StripeList::Coupons => coupon(i),
        StripeList::Invoices => invoice(i),
        StripeList::Plans => plan_json(i),
        StripeList::Subscriptions => subscription(i),
        StripeList::Events => event(i),
    }
}
