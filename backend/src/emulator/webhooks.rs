//! Signed events to the platform's endpoint, as Stripe delivers them: the user revokes the
//! application in their dashboard (or uninstalls the app) — every token of theirs dies and a
//! `account.application.deauthorized` follows; the owner changes their data — the change's event
//! follows (the endpoint listens to events on connected accounts).

use serde_json::{json, Value};

use super::data::ChangeKind;
use super::{random_token, Emulator};

impl Emulator {
    /// The user revokes our access in their Stripe dashboard (the emulator home page's "Revoke
    /// access" button): Connect tokens, Apps access and refresh tokens die, and Stripe sends a
    /// signed `account.application.deauthorized` event to the platform's webhook endpoint.
    pub async fn revoke(&self, account: &str) -> Result<(), String> {
        {
            let mut state = self.lock();
            if !state.is_connected(account) {
                return Err(format!("{account} is not connected to the application."));
            }
            state.connected.remove(account);
            state.installs.remove(account);
            state.revoke_where(|a, _, _| a == account);
        }
        let Some((url, secret)) = self.config.webhook.clone() else {
            return Ok(());
        };
        let now = self.now();
        let event = json!({
            "id": format!("evt_{}", random_token(24)),
            "object": "event",
            "type": "account.application.deauthorized",
            "account": account,
            "livemode": false,
            "created": now,
            "data": { "object": { "id": self.config.client_id, "object": "application" } },
        })
        .to_string();
        deliver(&url, &secret, now, event).await
    }

    /// Changes a demo account's data ([`Self::change_object`]) and delivers the change's event to
    /// the platform's webhook endpoint, when one is set. The object as it is now.
    pub async fn change_and_deliver(
        &self,
        account: &str,
        list: &str,
        id: &str,
        change: ChangeKind,
        fields: Value,
    ) -> Result<Value, String> {
        let (object, event) = self.change_with_event(account, list, id, change, fields)?;
        if let (Some(event), Some((url, secret))) = (event, self.config.webhook.clone()) {
            deliver(&url, &secret, self.now(), event.to_string()).await?;
        }
        Ok(object)
    }
}

/// Posts a signed event to the platform's endpoint; `Err` unless it answers 2xx.
async fn deliver(url: &str, secret: &str, now: i64, event: String) -> Result<(), String> {
    let signature = crate::webhook::header(secret, now, event.as_bytes());
    let client = crate::stripe::http_client()
        .map_err(|e| format!("cannot build the HTTP client: {}", e.without_url()))?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(event)
        .send()
        .await
        .map_err(|e| format!("webhook delivery failed: {}", e.without_url()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "the webhook endpoint answered {}",
            response.status()
        ))
    }
}
