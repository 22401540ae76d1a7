//! **Make a change** on the emulator's home page: what an account owner does in Stripe's
//! Dashboard — a new customer, a charge, a refund, a canceled subscription, a deleted coupon — made
//! to a demo account, with the event Stripe emits delivered as a signed webhook to the platform's
//! endpoint. A newcomer sees the row reach the connection's page within a second.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{json, Value};

use super::data::ChangeKind;
use super::fixtures::ListKind;
use super::frame::{error_page, page, ENGLISH};
use super::wire::{form_body, html_escape};
use super::{random_token, DemoAccount, Emulator, Reply};

/// The changes offered, as `(value, button label)`.
const CHANGES: [(&str, &str); 5] = [
    ("customer", "Add a customer"),
    ("charge", "Make a charge"),
    ("refund", "Refund the latest charge"),
    ("cancel", "Cancel a subscription"),
    ("delete_coupon", "Delete a coupon"),
];

/// The **Make a change** form of one demo account (its index `i` on the page).
pub(super) fn form(i: usize, account: &DemoAccount) -> String {
    let buttons: String = CHANGES
        .iter()
        .map(|(value, label)| {
            format!(
                "<button type=\"submit\" name=\"change\" value=\"{value}\" class=\"secondary\">{label}</button> "
            )
        })
        .collect();
    format!(
        "<form method=\"post\" action=\"demo-changes\"><fieldset>\
         <legend id=\"change-{i}\">Make a change in {name}</legend>\
         <input type=\"hidden\" name=\"account\" value=\"{id}\">{buttons}</fieldset></form>",
        name = html_escape(&account.display_name),
        id = html_escape(&account.id),
    )
}

/// The change `what` to `account`, as (list, object id, kind, fields); `Err` when there is nothing
/// to change (no charge to refund, no subscription to cancel, no coupon left).
fn plan(emu: &Emulator, account: &DemoAccount, what: &str) -> Result<Change, String> {
    let newest = |kind: ListKind, pred: &dyn Fn(&Value) -> bool| {
        emu.current_objects(account, kind)
            .into_iter()
            .find(|o| pred(o))
            .and_then(|o| o["id"].as_str().map(str::to_owned))
    };
    let tag = random_token(8);
    Ok(match what {
        "customer" => Change {
            list: "customers",
            id: format!("cus_demo{tag}"),
            kind: ChangeKind::Create,
            fields: json!({
                "email": format!("new.customer.{}@example.com", tag.to_lowercase()),
                "name": "New Customer", "currency": "usd", "balance": 0, "delinquent": false,
                "address": null, "phone": null, "metadata": {},
            }),
        },
        "charge" => {
            let customer =
                newest(ListKind::Customers, &|_| true).ok_or("The account has no customer.")?;
            Change {
                list: "charges",
                id: format!("ch_demo{tag}"),
                kind: ChangeKind::Create,
                fields: json!({
                    "amount": 2500, "amount_captured": 2500, "amount_refunded": 0,
                    "captured": true, "currency": "usd", "customer": customer,
                    "description": "Demo purchase", "invoice": null, "paid": true,
                    "refunded": false, "status": "succeeded", "metadata": {},
                }),
            }
        }
        "refund" => Change {
            list: "charges",
            id: newest(ListKind::Charges, &|c| {
                c["status"] == "succeeded" && c["refunded"] != true
            })
            .ok_or("No charge is left to refund.")?,
            kind: ChangeKind::Refund,
            fields: json!({}),
        },
        "cancel" => Change {
            list: "subscriptions",
            id: newest(ListKind::Subscriptions, &|s| s["status"] != "canceled")
                .ok_or("No subscription is left to cancel.")?,
            kind: ChangeKind::Delete,
            fields: json!({}),
        },
        "delete_coupon" => Change {
            list: "coupons",
            id: newest(ListKind::Coupons, &|_| true).ok_or("No coupon is left to delete.")?,
            kind: ChangeKind::Delete,
            fields: json!({}),
        },
        _ => return Err("Unknown change.".into()),
    })
}

/// One change to a demo account.
struct Change {
    list: &'static str,
    id: String,
    kind: ChangeKind,
    fields: Value,
}

/// `POST /demo-changes` (`account=acct_…`, `change=customer|charge|refund|cancel|delete_coupon`).
pub(super) async fn make(State(emu): State<Emulator>, body: Bytes) -> Reply {
    let form = form_body(&body).unwrap_or_default();
    let account_id = form.get("account").cloned().unwrap_or_default();
    let what = form.get("change").cloned().unwrap_or_default();
    let Some(account) = emu.demo_account(&account_id).cloned() else {
        return error_page(
            "No such account",
            &format!("No demo account '{account_id}'."),
        );
    };
    let change = match plan(&emu, &account, &what) {
        Ok(change) => change,
        Err(e) => return error_page("Nothing to change", &e),
    };
    let made = emu
        .change_and_deliver(
            &account.id,
            change.list,
            &change.id,
            change.kind,
            change.fields,
        )
        .await;
    match made {
        Ok(object) => page(
            ENGLISH,
            "Change made",
            &format!(
                "<h1>Change made</h1><p role=\"status\">{} <code>{}</code> in {}: Stripe sent the \
                 application the event as a signed webhook. Its connection's page shows it within a \
                 second.</p><p><a href=\"./\">Back to the emulator</a></p>",
                html_escape(object["object"].as_str().unwrap_or("object")),
                html_escape(object["id"].as_str().unwrap_or_default()),
                html_escape(&account.display_name),
            ),
        )
        .into_response(),
        Err(e) => error_page("The change was made, its webhook was not delivered", &e),
    }
}
