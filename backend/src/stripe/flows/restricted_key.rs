//! Restricted API keys (`rk_live_…`, `rk_test_…`): the account owner makes one in the Dashboard with
//! read permissions for the seven lists and pastes it here. It is checked before it is stored — the
//! account, and a `limit=1` read of every list — and never expires or refreshes; deleting the
//! connection drops it (the owner deletes the key in Stripe).

use shared::{AuthKind, MissingPermission};

use super::{AuthFlow, Revocation, Start};
use crate::config::Secret;
use crate::domain::{Credential, StripeAccountId};
use crate::stripe::lists::StripeList;
use crate::stripe::{StripeClient, StripeError};

/// The restricted-key flow.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestrictedKeyFlow;

/// Why a key was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum KeyRefusal {
    /// A full secret key: it can change and move money, more than a reporting tool may hold.
    #[error("a secret key (sk_) has full write access")]
    FullAccess,
    /// Not shaped like a restricted key.
    #[error("not a restricted key")]
    Malformed,
    /// Stripe does not know the key, or it was deleted or rolled.
    #[error("Stripe refused the key")]
    Invalid,
    /// The key cannot read these lists.
    #[error("the key cannot read {}", .0.iter().map(|m| m.list.as_str()).collect::<Vec<_>>().join(", "))]
    MissingPermissions(Vec<MissingPermission>),
    /// Stripe failed otherwise.
    #[error(transparent)]
    Stripe(#[from] StripeError),
}

/// A key that passed every check.
#[derive(Debug, Clone)]
pub struct KeyCheck {
    /// The key's account.
    pub account: StripeAccountId,
    /// Its display name, when the key may read the account.
    pub display_name: Option<String>,
    /// Live or test data (from the key's prefix).
    pub livemode: bool,
}

/// Parses a pasted key: trimmed, `rk_live_`/`rk_test_` and 8–255 letters, digits or `_`.
pub fn parse_key(raw: &str) -> Result<(Secret, bool), KeyRefusal> {
    let key = raw.trim();
    if key.starts_with("sk_") {
        return Err(KeyRefusal::FullAccess);
    }
    let (livemode, rest) = if let Some(rest) = key.strip_prefix("rk_live_") {
        (true, rest)
    } else if let Some(rest) = key.strip_prefix("rk_test_") {
        (false, rest)
    } else {
        return Err(KeyRefusal::Malformed);
    };
    if rest.len() < 8
        || key.len() > 255
        || !rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(KeyRefusal::Malformed);
    }
    Ok((Secret::new(key), livemode))
}

/// The last four characters, the only part of a key ever shown again.
pub fn last4(key: &Secret) -> String {
    let k = key.expose();
    k[k.len().saturating_sub(4)..].to_owned()
}

/// Checks a key against Stripe: its account (`/v1/account` where permitted, else the account the
/// refusal names) and a `limit=1` read of each of the seven lists. Every missing permission is
/// collected, not just the first.
pub async fn check(
    client: &StripeClient,
    key: &Secret,
    livemode: bool,
) -> Result<KeyCheck, KeyRefusal> {
    // The account and the seven lists are read side by side: one round trip of latency.
    let (answer, probes) = futures_util::future::join(
        client.account(key),
        futures_util::future::join_all(StripeList::ALL.map(|list| client.probe_list(list, key))),
    )
    .await;
    let (mut account, display_name) = match answer {
        Ok(a) => (Some(a.id.clone()), Some(a.display_name())),
        Err(StripeError::Forbidden { account: named, .. }) => (named, None),
        Err(StripeError::Unauthorized { .. }) => return Err(KeyRefusal::Invalid),
        Err(e) => return Err(e.into()),
    };
    let mut missing = Vec::new();
    for (list, probe) in StripeList::ALL.into_iter().zip(probes) {
        match probe {
            Ok(()) => {}
            Err(StripeError::Forbidden {
                permission,
                account: named,
                ..
            }) => {
                account = account.or(named);
                missing.push(MissingPermission {
                    list: list.name().to_owned(),
                    permission: permission.unwrap_or_else(|| list.permission().to_owned()),
                });
            }
            Err(StripeError::Unauthorized { .. }) => return Err(KeyRefusal::Invalid),
            Err(e) => return Err(e.into()),
        }
    }
    if !missing.is_empty() {
        return Err(KeyRefusal::MissingPermissions(missing));
    }
    let account = account
        .as_deref()
        .map(StripeAccountId::parse)
        .transpose()
        .map_err(|e| StripeError::Malformed(format!("account id: {e}")))?
        .ok_or_else(|| {
            StripeError::Malformed("Stripe did not say which account the key belongs to".into())
        })?;
    Ok(KeyCheck {
        account,
        display_name,
        livemode,
    })
}

impl AuthFlow for RestrictedKeyFlow {
    fn kind(&self) -> AuthKind {
        AuthKind::RestrictedKey
    }

    /// The key is pasted into our own page.
    fn start(&self, _state: &str) -> Start {
        Start::Form
    }

    /// A restricted key lives until its owner deletes it: nothing to renew.
    async fn refresh(
        &self,
        _http: &oauth2::reqwest::Client,
        credential: &Credential,
        _now: i64,
    ) -> Result<Credential, StripeError> {
        Ok(credential.clone())
    }

    /// No API revokes a key from outside: the owner deletes it in the Dashboard.
    async fn revoke(
        &self,
        _http: &oauth2::reqwest::Client,
        _account: &StripeAccountId,
    ) -> Result<Revocation, StripeError> {
        Ok(Revocation::NotAvailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_parsed_and_secret_keys_refused_with_their_reason() {
        assert!(matches!(
            parse_key("sk_live_abcdefgh123"),
            Err(KeyRefusal::FullAccess)
        ));
        assert!(matches!(
            parse_key("pk_test_abcdefgh123"),
            Err(KeyRefusal::Malformed)
        ));
        assert!(matches!(
            parse_key("rk_test_short"),
            Err(KeyRefusal::Malformed)
        ));
        assert!(matches!(
            parse_key("rk_test_abc def123"),
            Err(KeyRefusal::Malformed)
        ));
        let (key, live) = parse_key("  rk_test_51Abcdefgh1234  ").unwrap();
        assert_eq!(key.expose(), "rk_test_51Abcdefgh1234");
        assert!(!live);
        assert!(parse_key("rk_live_51Abcdefgh1234").unwrap().1);
        assert_eq!(last4(&key), "1234");
    }
}
